"""When a batch of changes is due: after `quiet` seconds without a change, or `longest` seconds after the
first change of the batch (so a folder that never goes quiet is still read). Which paths are noise.

Pure: the clock is passed in, so the batching of a burst of 1,000 files is tested without waiting.

    batches = Debouncer(quiet=1.0)
    batches.add("a.md", now)            # each change seen by the watcher
    if batches.due(now):
        paths = batches.take()          # one ingest for all of them
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

# What editors, browsers and office programs write beside a file while saving it: never a document.
TEMP_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".tmp", ".temp", ".part", ".partial", ".crdownload", ".download",
                 ".kate-swp", ".bak")
KEPT_HIDDEN = frozenset({".ragignore"})   # a hidden file whose change does change what is ingested


def is_noise(relative: str) -> bool:
    """Whether a change to this path (relative to the watched folder, "/"-separated) can be ignored:
    hidden files and folders (vim's .x.swp, .git/), editor and download temporaries (x~, x.tmp, x.part,
    ~$x.docx, #x#, vim's 4913 probe)."""
    parts = PurePosixPath(relative).parts
    if not parts:
        return False
    name = parts[-1]
    if any(p.startswith(".") for p in parts[:-1]) or (name.startswith(".") and name not in KEPT_HIDDEN):
        return True
    lowered = name.lower()
    return (lowered.endswith(TEMP_SUFFIXES) or name.startswith(("~$", ".~lock")) or
            (name.startswith("#") and name.endswith("#")) or name == "4913")


@dataclass
class Debouncer:
    quiet: float = 1.0      # seconds without a change before a batch starts
    longest: float = 10.0   # a batch starts at the latest this long after its first change
    pending: set[str] = field(default_factory=set)
    first: float | None = None
    last: float | None = None
    not_before: float = 0.0   # set by `later` (the index was busy): no batch before then

    def add(self, path: str, now: float) -> None:
        if self.first is None:
            self.first = now
        self.last = now
        self.pending.add(path)

    def due(self, now: float) -> bool:
        if not self.pending or self.first is None or self.last is None or now < self.not_before:
            return False
        return now - self.last >= self.quiet or now - self.first >= self.longest

    def take(self) -> set[str]:
        """The batch's paths; the next change starts a new batch."""
        paths, self.pending, self.first, self.last = self.pending, set(), None, None
        return paths

    def later(self, paths: set[str], now: float, wait: float) -> None:
        """Put a batch back (the index was busy): it is tried again `wait` seconds from now."""
        for path in paths:
            self.add(path, now)
        self.not_before = now + wait

"""Walk a folder: which files are there, which can be loaded, and what each one's content hash is.

An unzipped Slack, Notion or Twitter/X export in the folder (or the folder itself) is one entry, read whole by its
loader: its size is the total of its files, its modification time the newest of its files and folders,
and its hash covers each file's relative name and content (so a renamed file inside counts as a change).
The top-most folder that looks like an export is its root; the files in it are not listed one by one.

What cannot be read is never taken for gone: a folder that cannot be listed, a file whose status cannot
be read, is reported as skipped with `kept` set, and the documents the index holds under it stay
(ingest/plan.py). Only a name missing from a folder that was read is gone. Links to anything outside the
ingested folder are refused, folders included; a link to a folder inside it is left out (its files are
read at their real place).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import notion, slack, twitter
from ingest.loaders.safezip import folder_files
from ingest.loaders.spec import LoaderSpec
from rag.core.errors import RagError


@dataclass(frozen=True)
class FileEntry:
    path: Path
    source: str          # path relative to the ingested folder, with "/" separators
    size: int
    mtime_ns: int
    loader: str


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str
    kept: bool = False   # could not be read: what the index holds at or under `source` is kept


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes; of a folder entry, of its files' sorted relative names, sizes and bytes."""
    h = hashlib.sha256()
    is_folder = path.is_dir()
    for name, file in folder_files(path) if is_folder else [("", path)]:
        if is_folder:
            h.update(f"{name}\0{file.stat().st_size}\0".encode("utf-8", "surrogateescape"))
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def export_key(folder: Path, registry: dict[str, LoaderSpec]) -> str | None:
    """The registry key ("slack/", "notion/", "twitter/") when `folder` is the top of an unzipped export."""
    try:
        children = [c for c in os.scandir(folder) if not c.name.startswith(".")]
        files = [c.name for c in children if c.is_file()]
        folders = [c.name for c in children if c.is_dir()]
    except OSError:
        return None
    if "slack/" in registry and slack.is_export_listing(set(files)):
        return "slack/"
    if "notion/" in registry and notion.is_export_listing(files, folders):
        return "notion/"
    if "twitter/" in registry and "data" in folders and twitter.is_export_folder(folder):
        return "twitter/"
    return None


def _export_entry(folder: Path, source: str, key: str, registry: dict[str, LoaderSpec]) -> FileEntry | Skipped:
    try:
        stats = [p.stat() for _, p in folder_files(folder)]
        times = [Path(d).stat().st_mtime_ns for d, _, _ in os.walk(folder, onerror=_raise)]
    except OSError as exc:
        return Skipped(source, f"cannot read the export folder ({_why(exc)}) — check its permissions (chmod -R "
                               "u+rX); what the index holds from it is kept", kept=True)
    return FileEntry(folder, source, sum(s.st_size for s in stats), max(times + [s.st_mtime_ns for s in stats]),
                     registry[key].name)


def _raise(exc: OSError) -> None:
    raise exc


def _why(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _outside(path: Path, root: Path) -> str | None:
    """Why a link is refused: it points outside the ingested folder (or nowhere); None when it does not.
    An OSError (the link cannot even be looked at) is the caller's: that is an unreadable name, kept."""
    if not path.is_symlink():
        return None
    try:
        target = path.resolve()
    except RuntimeError as exc:   # a loop of links
        return f"a link that cannot be followed ({exc}) — fix or remove the link"
    if not target.is_relative_to(root):
        return f"symlink points outside the folder (to {target}) — copy the file in instead"
    if not target.exists():
        return f"broken symlink (its target {target} does not exist) — fix or remove the link"
    return None


def _skip_reason(path: Path, root: Path, registry: dict[str, LoaderSpec]) -> str | None:
    outside = _outside(path, root)
    if outside:
        return outside
    if path.suffix.lower() not in registry:
        kinds = " ".join(sorted(k for k in registry if k.startswith(".")))
        shown = path.suffix or "(no extension)"
        return f"no loader for {shown} files — supported: {kinds}"
    return None


def source_name(path: Path, root: Path) -> str:
    """The path relative to the ingested folder, with "/" separators. A name that is not valid UTF-8
    (bytes from an old Latin-1 disk) keeps its odd bytes as "\\xe9" escapes, so it can be stored and shown."""
    relative = path.relative_to(root).as_posix()
    return re.sub("[\udc80-\udcff]", lambda m: f"\\x{ord(m.group()) - 0xdc00:02x}", relative)


IGNORE_FILE = ".ragignore"


def ignore_patterns(root: Path) -> list[str]:
    """Patterns from `<folder>/.ragignore` (one per line, `#` comments), matched like .gitignore globs."""
    path = root / IGNORE_FILE
    try:
        if not path.is_file():
            return []
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise RagError(f"{path}: cannot be read ({exc.strerror or exc}) — fix its permissions (chmod u+r) or "
                       "remove it; nothing was changed") from exc
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def is_ignored(source: str, patterns: list[str]) -> bool:
    parts = source.split("/")
    return any(fnmatch.fnmatch(source, p) or any(fnmatch.fnmatch(part, p) for part in parts)
               for p in patterns)


def scan_folder(folder: Path, registry: dict[str, LoaderSpec],
                exclude: tuple[Path, ...] = ()) -> tuple[list[FileEntry], list[Skipped]]:
    """Loadable files under `folder` (hidden files and `exclude` folders left out) and the skipped ones."""
    root = folder.resolve()
    if root.is_file():
        return _entries([root], root.parent, registry)
    key = export_key(root, registry)
    if key:
        found = _export_entry(root, root.name, key, registry)
        return ([found], []) if isinstance(found, FileEntry) else ([], [found])
    paths: list[Path] = []
    others: list[FileEntry | Skipped] = []   # exports (one entry each), refused links, unreadable folders
    excluded = {p.resolve() for p in exclude}
    patterns = ignore_patterns(root)

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        others.append(Skipped(source_name(where, root) if where.is_relative_to(root) else ".",
                              f"cannot read the folder ({exc.strerror or exc}) — check its permissions (chmod "
                              "u+rx); what the index holds from it is kept", kept=True))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        here = Path(dirpath)
        dirnames[:] = [d for d in sorted(dirnames) if not d.startswith(".")
                       and _walk_into(here / d, root, excluded, patterns, registry, others)]
        paths.extend(here / name for name in sorted(filenames) if not name.startswith(".")
                     and not is_ignored((here / name).relative_to(root).as_posix(), patterns))
    entries, skipped = _entries(paths, root, registry)
    entries += [e for e in others if isinstance(e, FileEntry)]
    skipped += [e for e in others if isinstance(e, Skipped)]
    return entries, skipped


def _walk_into(path: Path, root: Path, excluded: set[Path], patterns: list[str], registry: dict[str, LoaderSpec],
               others: list[FileEntry | Skipped]) -> bool:
    """Whether the walk goes into this subfolder. A link is never followed (one pointing out of the folder is
    reported); an export becomes one entry; what cannot be looked at is reported and kept."""
    source = source_name(path, root)
    if is_ignored(source, patterns):
        return False
    try:
        if path.is_symlink():
            reason = _outside(path, root)
            if reason:
                others.append(Skipped(source, reason.replace("copy the file", "copy the folder")))
            return False
        if path.resolve() in excluded:
            return False
    except OSError as exc:
        others.append(Skipped(source, f"cannot read the folder ({exc.strerror or exc}) — check its permissions "
                                      "(chmod u+rx); what the index holds from it is kept", kept=True))
        return False
    key = export_key(path, registry)
    if key:   # one entry for the whole export
        others.append(_export_entry(path, source, key, registry))
        return False
    return True


def _entries(paths: list[Path], root: Path,
             registry: dict[str, LoaderSpec]) -> tuple[list[FileEntry], list[Skipped]]:
    entries: list[FileEntry] = []
    skipped: list[Skipped] = []
    for path in paths:
        source = source_name(path, root)
        try:
            reason = _skip_reason(path, root, registry)
            st = None if reason else path.stat()
        except FileNotFoundError:
            continue   # gone since the folder was listed
        except OSError as exc:
            skipped.append(Skipped(source, f"cannot read the file ({exc.strerror or exc}) — check its permissions "
                                           "(chmod u+r); what the index holds under this name is kept", kept=True))
            continue
        if reason or st is None:
            skipped.append(Skipped(source, reason or ""))
            continue
        if not stat.S_ISREG(st.st_mode):   # a FIFO would block the read forever; a device never ends
            skipped.append(Skipped(source, "not a regular file (a FIFO, socket or device) — only regular "
                                           "files are read"))
            continue
        entries.append(FileEntry(path, source, st.st_size, st.st_mtime_ns, registry[path.suffix.lower()].name))
    return entries, skipped

"""Watch a folder and keep the index in step: an initial sync, then one incremental ingest per batch.

The watcher thread (watchdog: inotify on Linux) only notes which paths changed; the main thread runs
the ingests, one at a time, under the index's write lock, and changes made meanwhile wait for the
next batch. Each batch is a plain incremental ingest of the whole folder (rag/index.py → ingest/): it
reads only what is new or changed (by size, time and content hash), takes a renamed file's vectors
along, and removes what is gone, so a burst of 1,000 files is one ingest, and an editor's
write-temp-then-rename is one update. Another process writing the index makes the batch wait.
Ctrl-C or SIGTERM: the batch in flight is finished (a second one abandons it; every file committed so
far stays, each in its own transaction), then the watcher exits 0.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rag.core.errors import IndexLockedError, RagError
from rag.watch.debounce import Debouncer, is_noise
from rag.watch.report import change_lines, summary_lines

if TYPE_CHECKING:
    from ingest.loaders.spec import LoaderSpec
    from rag.index import Index
    from rag.store.records import DocRecord

Echo = Callable[[str], None]
BUSY_RETRY_S = 2.0
_RELEVANT = frozenset({"created", "modified", "deleted", "moved", "closed"})


class _Stop:
    """SIGINT/SIGTERM: the first asks the loop to stop after the batch in flight; a second, during a
    batch, abandons it (KeyboardInterrupt)."""

    def __init__(self, echo: Echo) -> None:
        self.echo, self.requested, self.busy = echo, False, False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested and self.busy:
            raise KeyboardInterrupt
        self.requested = True
        if self.busy:
            self.echo("stopping after the current batch — press Ctrl-C again to abandon it")

    def __exit__(self, *_: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _handler(root: Path, index_folder: Path, changes: queue.Queue[str]) -> Any:
    from watchdog.events import FileSystemEventHandler

    class Changes(FileSystemEventHandler):
        def on_any_event(self, event: Any) -> None:
            if event.event_type not in _RELEVANT:
                return
            for raw in (event.src_path, getattr(event, "dest_path", "")):
                relative = _relative(raw, root, index_folder)
                if relative is not None and not is_noise(relative):
                    changes.put(relative)

    return Changes()


def _relative(raw: str | bytes, root: Path, index_folder: Path) -> str | None:
    """The path relative to the watched folder; None for no path, the index's own files, or outside."""
    if not raw:
        return None
    path = Path(raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw)
    if path == index_folder or path.is_relative_to(index_folder) or not path.is_relative_to(root):
        return None
    return path.relative_to(root).as_posix()


class Watcher:
    """One folder kept in step with one index."""

    def __init__(self, index: Index, folder: Path, echo: Echo, registry: dict[str, LoaderSpec] | None = None,
                 quiet: float = 1.0, longest: float = 10.0) -> None:
        self.index, self.echo, self.registry = index, echo, registry
        self.folder = folder
        self.root = folder.resolve()
        self.batches = Debouncer(quiet, longest)
        self.changes: queue.Queue[str] = queue.Queue()
        self._busy_said = False
        self._before: dict[str, DocRecord] = {}

    def _records(self) -> dict[str, DocRecord]:
        return {r.source: r for r in self.index.documents() if Path(r.root) == self.root}

    def sync(self, changed: set[str] | None) -> bool:
        """One incremental ingest of the folder, a line per change; False when the index was busy."""
        before = self._before = self._records()
        started = time.monotonic()
        try:
            summary = self.index.ingest(self.folder, registry=self.registry)
        except IndexLockedError as exc:
            if not self._busy_said:
                self.echo(f"waiting: {exc}".replace(" and run the command again", ""))
            self._busy_said = True
            return False
        self._busy_said = False
        after = self._records()
        lines = change_lines(before, after) + summary_lines(summary, changed)
        for line in lines:
            self.echo(line)
        if changed is not None and len(lines) > 1:
            self.echo(f"batch: {len(lines)} changes in {time.monotonic() - started:.1f} s")
        if changed is None:
            self.echo(f"in step: {len(after)} document{'s' * (len(after) != 1)} from {self.folder} "
                      f"({time.monotonic() - started:.1f} s)")
        return True

    def _collect(self, wait: float) -> None:
        try:
            self.batches.add(self.changes.get(timeout=wait), time.monotonic())
            while True:
                self.batches.add(self.changes.get_nowait(), time.monotonic())
        except queue.Empty:
            pass

    def run(self) -> int:
        """Watch until Ctrl-C or SIGTERM; 0 when stopped by them, 1 when the folder went away."""
        from watchdog.observers import Observer

        observer = Observer()
        observer.schedule(_handler(self.root, self.index.folder.resolve(), self.changes), str(self.root),
                          recursive=True)
        try:
            observer.start()   # before the first sync, so that nothing changed during it is missed
        except OSError as exc:   # inotify's limits (watches per user) are the usual cause
            raise RagError(f"{self.folder}: cannot watch it ({exc.strerror or exc}) — if the folder is large, raise "
                           "the limit: sudo sysctl fs.inotify.max_user_watches=524288") from exc
        try:
            with _Stop(self.echo) as stop:
                return self._loop(stop)
        finally:
            observer.stop()
            observer.join(timeout=5)

    def _loop(self, stop: _Stop) -> int:
        changed: set[str] | None = None     # None: the initial sync
        while not stop.requested:
            if changed is not None:
                self._collect(0.1)
                if not self.batches.due(time.monotonic()):
                    continue
                changed = self.batches.take()
            if not self.root.is_dir():
                self.echo(f"error: {self.folder}: the watched folder is gone — stopped; the index keeps what it held")
                return 1
            stop.busy = True
            try:
                done = self.sync(changed)
            except KeyboardInterrupt:
                self._abandoned()
                return 0
            except RagError as exc:
                self.echo(f"error: {' '.join(str(exc).split())}")
                done = True
            finally:
                stop.busy = False
            if not done:   # the index was busy: this batch (or the first sync) is tried again
                self.batches.later(changed or {"."}, time.monotonic(), BUSY_RETRY_S)
            if changed is None:
                self.echo(f"watching {self.folder} (Ctrl-C stops)")
                changed = set()
        waiting = len(self.batches.take())
        later = f"; {waiting} change{'s' * (waiting != 1)} not read yet (the next rag watch or rag ingest reads " \
                f"{'them' if waiting != 1 else 'it'})" if waiting else ""
        self.echo(f"stopped: the index is in step with the folder as it was at the last batch{later}")
        return 0

    def _abandoned(self) -> None:
        try:
            for line in change_lines(self._before, self._records()):   # what the batch committed
                self.echo(line)
            self.index.vectors()   # the vector file of the last commit, so that the next search needs no rebuild
        except (RagError, KeyboardInterrupt):
            pass
        self.echo("stopped mid-batch: every file committed so far is in the index; the rest is read by the next "
                  "`rag watch` or `rag ingest`")


def watch_folder(index: Index, folder: Path, echo: Echo, registry: dict[str, LoaderSpec] | None = None,
                 quiet: float = 1.0) -> int:
    """`rag watch`: keep `index` in step with `folder` until Ctrl-C or SIGTERM; the exit code."""
    if not folder.is_dir():
        raise RagError(f"{folder}: no such folder — rag watch takes a folder (to add one file, use rag ingest)")
    return Watcher(index, folder, echo, registry, quiet, max(10.0, quiet * 10)).run()

"""Run loaders in a worker process with a time limit and a memory limit.

One hostile or broken file must never hang, crash or exhaust the ingest. Each file is loaded in a
separate process (`python -m ingest.worker`, reused from file to file while it stays healthy); a
watchdog thread kills its whole process group when the file takes longer than its time limit or the
worker's resident memory passes the memory limit. A crash (a segfault in a C parser) costs that one
file; the next file gets a fresh worker. The worker can load the next file while the ingest process
chunks and embeds the previous one.

    with LoaderWorker(LoaderLimits()) as worker:
        worker.submit(job)
        doc = worker.result()        # a Document, or LoaderError naming the file, the problem, the fix
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ingest.loaders.spec import LoaderSpec
from ingest.worker import MAX_FRAME, document_from_json, loader_name, read_frame, write_frame
from rag.core.errors import LoaderError
from rag.core.types import Document


@dataclass(frozen=True)
class LoaderLimits:
    """Per-file limits. The time limit grows with the file's size (a long recording takes longer)."""

    base_seconds: float = 120.0
    seconds_per_mb: float = 10.0
    max_seconds: float = 3600.0
    memory_mb: int = 4096
    fixed_seconds: float | None = None      # --loader-timeout: one limit for every file

    def seconds_for(self, size: int) -> float:
        if self.fixed_seconds is not None:
            return self.fixed_seconds
        return min(self.max_seconds, self.base_seconds + self.seconds_per_mb * size / 1e6)


@dataclass(frozen=True)
class LoadJob:
    spec: LoaderSpec
    path: Path
    source: str
    doc_id: str
    size: int = 0


def in_process(job: LoadJob) -> Document:
    """Run the loader here (a lambda or local function cannot be sent to a worker); errors worded alike."""
    try:
        return job.spec.load(job.path, job.source, job.doc_id)
    except LoaderError:
        raise
    except MemoryError:
        raise LoaderError(f"{job.source}: ran out of memory while reading it — split the file") from None
    except Exception as exc:  # a loader library's own error: report it, keep going with other files
        raise LoaderError(_library_error(job.source, f"{type(exc).__name__}: {exc}")) from exc


def _library_error(source: str, detail: str) -> str:
    return (f"{source}: could not be read ({detail}) — the file may be damaged; open and re-save it, "
            "or remove it from the folder")


class LoaderWorker:
    """One worker process at a time; at most one job in flight."""

    def __init__(self, limits: LoaderLimits | None = None) -> None:
        self.limits = limits or LoaderLimits()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._job: LoadJob | None = None
        self._local: Document | LoaderError | None = None
        self._killed: str | None = None
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reply: dict[str, Any] | None = None

    def submit(self, job: LoadJob) -> None:
        assert self._job is None, "one job at a time: call result() first"
        self._job, self._killed, self._local = job, None, None
        name = loader_name(job.spec.load)
        if name is None:
            try:
                self._local = in_process(job)
            except LoaderError as exc:
                self._local = exc
            return
        proc = self._ensure_worker()
        if self._stderr is not None:
            self._stderr.truncate(0)
        request = {"loader": name, "path": str(job.path), "source": job.source, "doc_id": job.doc_id}
        try:
            assert proc.stdin is not None
            write_frame(proc.stdin, request)  # type: ignore[arg-type]
        except OSError:
            pass  # the worker died: result() reports it
        self._done.clear()
        self._reply = None
        # The reply is read as soon as it is written (a big reply must not block the worker, and so run
        # into the time limit, while this process is busy embedding); the watchdog enforces the limits.
        self._threads = [threading.Thread(target=self._read, args=(proc,), daemon=True),
                         threading.Thread(target=self._watch, args=(proc, job), daemon=True)]
        for thread in self._threads:
            thread.start()

    def ready(self) -> bool:
        """Whether result() would return now, without waiting for the worker to finish reading."""
        return self._job is None or self._local is not None or self._done.is_set()

    def wait(self, timeout: float) -> bool:
        """ready(), waiting up to `timeout` seconds for it (returns as soon as the reply is in)."""
        return self.ready() or self._done.wait(timeout)

    def result(self) -> Document:
        job, self._job = self._job, None
        assert job is not None, "submit() a job first"
        if self._local is not None:
            if isinstance(self._local, LoaderError):
                raise self._local
            return self._local
        for thread in self._threads:
            thread.join()
        reply = self._reply
        if reply is None:
            raise LoaderError(self._death_message(job))
        if reply["ok"]:
            return document_from_json(reply["document"])
        if reply["loader_error"]:
            raise LoaderError(reply["message"])
        if reply["message"].startswith("MemoryError"):
            raise LoaderError(self._memory_message(job))
        raise LoaderError(_library_error(job.source, reply["message"]))

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        try:
            self._reply = read_frame(proc.stdout)  # type: ignore[arg-type]
        except ValueError:
            self._reply, self._killed = None, "size"
            self._kill(proc, "size")
        except OSError:
            self._reply = None
        finally:
            self._done.set()

    def _watch(self, proc: subprocess.Popen[bytes], job: LoadJob) -> None:
        deadline = time.monotonic() + self.limits.seconds_for(job.size)
        while not self._done.wait(0.05):
            if time.monotonic() > deadline:
                self._kill(proc, "time")
                return
            if _rss_mb(proc.pid) > self.limits.memory_mb:
                self._kill(proc, "memory")
                return

    def _kill(self, proc: subprocess.Popen[bytes], reason: str) -> None:
        self._killed = reason
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # the worker and anything it started (tesseract, ffmpeg)
        except ProcessLookupError:
            pass

    def _death_message(self, job: LoadJob) -> str:
        proc = self._proc
        self._proc = None
        code = proc.wait() if proc is not None else None
        if self._killed == "time":
            limit = self.limits.seconds_for(job.size)
            return (f"{job.source}: reading it took longer than {limit:.0f} s and was stopped — the file may be "
                    "damaged or hostile; if it is just large (a long recording or scan), raise the limit "
                    "with --loader-timeout SECONDS")
        if self._killed == "memory":
            return self._memory_message(job)
        if self._killed == "size":
            return (f"{job.source}: it holds more than {MAX_FRAME >> 20} MiB of text — split the file into "
                    "smaller files")
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return (f"{job.source}: the loader crashed while reading it ({how}{self._stderr_tail()}) — the file "
                "may be damaged or hostile; open and re-save it, or remove it from the folder")

    def _memory_message(self, job: LoadJob) -> str:
        return (f"{job.source}: reading it needed more than {self.limits.memory_mb} MiB of memory and was "
                "stopped — the file may be a decompression bomb; if it is genuine, raise the limit with "
                "--loader-memory MIB")

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 300))
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return f": {lines[-1][:200]}" if lines else ""

    def _ensure_worker(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._stderr is None:
            self._stderr = tempfile.TemporaryFile("a+b")  # O_APPEND: truncating it never leaves a hole
        self._stderr.truncate(0)
        # The worker sees the modules this process sees, so a loader registered from the user's own module
        # is found there too.
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys([root, *filter(None, sys.path)]))}
        self._proc = subprocess.Popen([sys.executable, "-m", "ingest.worker"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._stderr, env=env,
                                      start_new_session=True)
        return self._proc

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill(proc, "close")
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> LoaderWorker:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


def _rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0

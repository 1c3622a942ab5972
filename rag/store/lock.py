"""One writer at a time: an exclusive, process-wide lock on the index folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rag.core.errors import IndexLockedError

LOCK_NAME = "write.lock"


class WriteLock:
    """An exclusive, process-wide lock on the index folder (fcntl.flock on write.lock)."""

    def __init__(self, folder: Path, timeout: float) -> None:
        import fcntl

        self.path = folder / LOCK_NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "another process"
                    os.close(self._fd)
                    raise IndexLockedError(
                        f"{folder}: the index is being written by {holder} — wait for it to finish "
                        f"(or pass --wait SECONDS) and run the command again") from None
                time.sleep(0.2)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"pid {os.getpid()}".encode(), 0)

    def release(self) -> None:
        import fcntl

        if self._fd >= 0:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1

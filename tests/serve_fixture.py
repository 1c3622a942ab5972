"""The real `rag serve` for tests: a subprocess on a free 127.0.0.1 port, ready once GET /health answers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

RAG = str(Path(sys.executable).with_name("rag"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_index(built: Path, target: Path) -> Path:
    """A copy of a built index to serve (uploads and removals change it)."""
    shutil.copytree(built, target)
    return target


@contextmanager
def running(index: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60.0) -> Iterator[str]:
    """`rag serve --index INDEX --llm none ARGS` until the block ends; yields its base URL."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if k != "RAG_API_KEY"}
    environ.update(env or {})
    command = [RAG, "serve", "--index", str(index), "--port", str(port), *args]
    if "--llm" not in args:
        command += ["--llm", "none"]
    log = index.parent / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environ)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(proc, base, timeout, log)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")


def _wait(proc: subprocess.Popen[bytes], base: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"rag serve exited with {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"rag serve did not answer /health in {timeout} s: {log.read_text(errors='replace')}")

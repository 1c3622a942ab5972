"""Shared fixtures. Every test, and every process a test starts, runs with sockets blocked except to loopback."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pg_fixture import PgServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_docs"
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # llama.cpp threads must not busy-wait on 2 cores
# Every process the tests start (the CLI, the loader worker, the app) installs the same socket guard as this
# one at start (rag/core/offline.py): nothing leaves the machine from a subprocess either.
os.environ["RAG_NO_NETWORK"] = "1"

_LOOPBACK = ("127.", "::1", "localhost")


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        return host.startswith(_LOOPBACK) or host == ""
    return isinstance(address, (str, bytes))  # AF_UNIX paths


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: object) -> object:
        if not _is_loopback(address):
            raise OSError(f"network access blocked in tests: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        if not _is_loopback(address):
            raise OSError(f"network access blocked in tests: {address!r}")
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-world data folder {SHARED_DATA} is absent (it sits beside the checkout in CI)")
    return SHARED_DATA


def sample_sources() -> list[str]:
    """What an ingest of sample_docs/ adds: every sample the loaders read (.ragignore leaves out the rest)."""
    from ingest.registry import default_registry
    from ingest.scan import scan_folder

    entries, skipped = scan_folder(SAMPLES, default_registry())
    assert not skipped, skipped
    return [e.source for e in entries]


def sample_script(name: str) -> ModuleType:
    """One of sample_docs/'s generator scripts (make_samples, make_exports, make_media, make_scans), imported."""
    spec = importlib.util.spec_from_file_location(name, SAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHAT_SAMPLES = ("paper.pdf", "notes.md", "meeting.txt", "guide.html")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample files the chat tests ask about, ingested once per module (hashing embedder)."""
    from rag import Index

    base = tmp_path_factory.mktemp("built")
    (base / "docs").mkdir()
    for name in CHAT_SAMPLES:
        shutil.copy2(SAMPLES / name, base / "docs" / name)
    with Index.open(base / "index", embedder="hashing-256") as idx:
        idx.ingest(base / "docs")
    return base / "index"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL 18 + pgvector server on 127.0.0.1 for the session (tests/pg_fixture.py)."""
    from pg_fixture import start

    server = start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def pg_url(pg_server: PgServer, request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database (with `vector`) on the session's server, for one test; its URL (with the password).
    This machine's state for it goes under tmp_path ($RAG_STATE_DIR)."""
    import re

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + f"_{os.getpid()}_{id(tmp_path) % 9973}"
    monkeypatch.setenv("RAG_STATE_DIR", str(tmp_path / "state"))
    return pg_server.create_database(name)

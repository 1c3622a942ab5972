"""The network guard covers the processes the tests start: conftest sets RAG_NO_NETWORK=1, and the CLI,
the loader worker and the app install the socket guard of rag/core/offline.py when it is set.

A non-loopback address (192.0.2.1, TEST-NET-1: routed nowhere) must fail at once with the guard's message,
while a listener on 127.0.0.1 stays reachable."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import network_probe
import pytest
from conftest import ROOT, SAMPLES
from fake_openai import fake_chat_server

from ingest.loaders.spec import LoaderSpec
from ingest.registry import default_registry
from rag import Index
from rag.core.offline import ENV, guard_from_environment, is_local


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    with fake_chat_server("The annual review is on 12 June 2024 [1].") as srv:
        yield srv


def rag(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=dict(os.environ))


def test_the_tests_set_the_variable_for_every_subprocess() -> None:
    assert os.environ[ENV] == "1"
    out = subprocess.run([sys.executable, "-c", "import os; print(os.environ['RAG_NO_NETWORK'])"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_a_cli_subprocess_cannot_reach_another_host(tmp_path: Path, server: ThreadingHTTPServer) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "meeting.txt").write_bytes((SAMPLES / "meeting.txt").read_bytes())
    index = str(tmp_path / "index")
    assert rag("ingest", str(tmp_path / "docs"), "--index", index, "--embedder", "hashing-256").returncode == 0
    question = "When is the annual review?"
    here = rag("ask", question, "--index", index, "--llm", "openai", "--model", "m", "--json",
               "--base-url", f"http://127.0.0.1:{server.server_port}/v1")
    assert here.returncode == 0, here.stderr
    assert "12 June 2024" in json.loads(here.stdout)["answer"] and len(server.requests) == 1  # type: ignore[attr-defined]
    away = rag("ask", question, "--index", index, "--llm", "openai", "--model", "m", "--json",
               "--base-url", "http://192.0.2.1:9/v1")
    assert away.returncode == 1 and "Traceback" not in away.stderr
    assert "network access blocked (RAG_NO_NETWORK=1): ('192.0.2.1', 9)" in away.stderr, away.stderr
    named = rag("ask", question, "--index", index, "--llm", "openai", "--model", "m", "--json",
                "--base-url", "http://example.com/v1")
    assert named.returncode == 1 and "network access blocked" in named.stderr, named.stderr


def test_the_loader_worker_cannot_reach_another_host(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "x.probe").write_text(str(listener.getsockname()[1]), encoding="utf-8")
    registry = {**default_registry(), ".probe": LoaderSpec("probe", "text", network_probe.probes_the_network)}
    with Index.open(tmp_path / "index", embedder="hashing-256") as idx:
        summary = idx.ingest(tmp_path / "docs", registry=registry)
        assert summary.added == 1, summary.failed
        [doc] = idx.documents()
        report = idx.store.section_text(doc.doc_id, 0)
    listener.close()
    lines = report.splitlines()
    assert lines[0] == "connect 192.0.2.1: network access blocked (RAG_NO_NETWORK=1): ('192.0.2.1', 9) is not on " \
                       "this machine"
    assert lines[1].startswith("resolve example.com: ") and "network access blocked" in lines[1]
    assert lines[2] == "connect 127.0.0.1: allowed"


def test_the_guard_itself() -> None:
    assert is_local(("127.0.0.1", 80)) and is_local(("::1", 80, 0, 0)) and is_local(("localhost", 1))
    assert is_local("/tmp/socket") and not is_local(("10.0.0.1", 80)) and not is_local(("example.com", 80))
    code = ("import socket; from rag.core.offline import guard_from_environment as g\n"
            "if g():\n s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            " try:\n  s.sendto(b'x', ('192.0.2.1', 53))\n except OSError as e: print(e)\n"
            "else: print(socket.socket.sendto)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.splitlines() == ["network access blocked (RAG_NO_NETWORK=1): ('192.0.2.1', 53) is "
                                       "not on this machine"]
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={k: v for k, v in os.environ.items() if k != ENV})
    assert off.stdout.startswith("<method 'sendto' of '_socket.socket' objects>")   # unguarded without it
    assert guard_from_environment()   # in this process too (idempotent beside conftest's own guard)

"""Faults on a real PostgreSQL server: each gives one clear line naming the fix, and nothing committed is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import Index
from rag.cli import main
from rag.core.errors import IndexFormatError, RagError

ROOT = Path(__file__).resolve().parent.parent
EMBEDDER = "hashing-256"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_wrong_credentials(pg_server: object) -> None:
    url = pg_server.url(password="not-the-password")  # type: ignore[attr-defined]
    with pytest.raises(RagError, match="refused the user name or password") as caught:
        Index.open(url, embedder=EMBEDDER)
    assert "not-the-password" not in str(caught.value) and "PGPASSWORD" in str(caught.value)


def test_missing_database(pg_server: object) -> None:
    with pytest.raises(RagError, match="the database does not exist — create it"):
        Index.open(pg_server.url("no_such_db"), embedder=EMBEDDER)  # type: ignore[attr-defined]


def test_no_vector_extension(pg_server: object) -> None:
    url = pg_server.create_database("without_vector", vector=False)  # type: ignore[attr-defined]
    with pytest.raises(IndexFormatError, match="no `vector` extension — install pgvector") as caught:
        Index.open(url, embedder=EMBEDDER)
    assert "CREATE EXTENSION vector" in str(caught.value)
    code, _, err = cli("ls", "--index", url)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "CREATE EXTENSION vector" in err


def test_newer_schema_and_other_embedder_are_refused(pg_url: str, pg_server: object) -> None:
    with Index.open(pg_url, embedder=EMBEDDER) as idx:
        idx.ingest(ROOT / "sample_docs" / "notes.md")
    with pytest.raises(IndexFormatError, match="built with embedder hashing-256"):
        Index.open(pg_url, embedder="hashing-128")
    pg_server.sql("INSERT INTO rag_migrations(version) VALUES (99)", database=pg_url.rsplit("/", 1)[1])  # type: ignore
    code, _, err = cli("search", "station manager", "--index", pg_url)
    assert code == 1 and "schema is version 99, newer than this version of rag knows" in err
    assert "upgrade rag" in err and len(err.strip().splitlines()) == 1


def test_a_read_only_command_never_creates_an_index(pg_url: str) -> None:
    code, _, err = cli("search", "anything", "--index", pg_url)
    assert code == 1 and "no index there — make one with: rag ingest" in err


@pytest.fixture
def own_server() -> object:
    """A server of this test's own, to restart and stop."""
    from pg_fixture import start

    server = start()
    yield server
    server.cleanup()


def _many_files(folder: Path, count: int) -> Path:
    folder.mkdir()
    for i in range(count):
        (folder / f"note{i:03d}.md").write_text(f"# Note {i}\n\n" + " ".join(
            f"Observation {i}.{j} of the tide gauge at station {i % 7}." for j in range(40)) + "\n")
    return folder


def _documents(server: object) -> list[tuple[str, int]]:
    import psycopg

    with psycopg.connect(server.url(), connect_timeout=2) as conn:  # type: ignore[attr-defined]
        return [(str(s), int(n)) for s, n in conn.execute(
            "SELECT d.source, (SELECT COUNT(*) FROM rag_chunks c WHERE c.doc = d.id) FROM rag_documents d")]


def _ingest(folder: Path, url: str, tmp_path: Path, reconnect: float) -> subprocess.Popen[str]:
    env = {**os.environ, "RAG_PG_RECONNECT": str(reconnect), "RAG_STATE_DIR": str(tmp_path / "state")}
    return subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(folder), "--index", url, "--embedder",
                             EMBEDDER, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=env)


def _wait_for_documents(server: object, at_least: int, proc: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            found = len(_documents(server))
        except Exception:   # the schema is not there yet
            found = 0
        if found >= at_least:
            return found
        time.sleep(0.05)
    raise AssertionError(f"the ingest did not get to {at_least} documents: {proc.communicate()}")


def test_a_server_restart_mid_ingest_is_survived(own_server: object, tmp_path: Path) -> None:
    folder = _many_files(tmp_path / "docs", 120)
    proc = _ingest(folder, own_server.url(), tmp_path, reconnect=60)  # type: ignore[attr-defined]
    before = _wait_for_documents(own_server, 10, proc)
    own_server.restart()  # type: ignore[attr-defined]
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert before < 120, "the restart landed after the ingest had finished: nothing was tested"
    assert summary["failed"] == [] and summary["added"] + summary["unchanged"] == 120
    docs = _documents(own_server)
    assert len(docs) == 120 and len({n for _, n in docs}) == 1   # every file whole, none twice


def test_a_server_that_stays_down_is_one_clear_line_and_nothing_is_lost(own_server: object,
                                                                        tmp_path: Path) -> None:
    folder = _many_files(tmp_path / "docs", 120)
    url = own_server.url()  # type: ignore[attr-defined]
    proc = _ingest(folder, url, tmp_path, reconnect=2)
    _wait_for_documents(own_server, 10, proc)
    own_server.stop()  # type: ignore[attr-defined]
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: postgresql://rag@127.0.0.1") and "cannot reach the database server" in lines[-1]
    assert "run the same `rag ingest` again" in lines[-1] and "Traceback" not in err and "s3cret" not in err
    own_server.start()  # type: ignore[attr-defined]
    kept = _documents(own_server)
    assert 10 <= len(kept) < 120 and len({n for _, n in kept}) == 1   # what was committed is there, whole
    again = _ingest(folder, url, tmp_path, reconnect=30)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert json.loads(out)["unchanged"] >= len(kept) and len(_documents(own_server)) == 120

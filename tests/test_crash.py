"""kill -9 during ingest leaves an index that opens and answers, each file old or new; every file finished
before the kill stays and is not embedded again; two writers never corrupt."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import Index
from rag.core.errors import IndexLockedError

EMBEDDER = "hashing-64"
FILES = 400


def make_corpus(folder: Path, version: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        body = " ".join(f"file{i} version{version} sentence {j} about topic{i % 17}." for j in range(60))
        (folder / f"doc{i:03d}.txt").write_text(body, encoding="utf-8")


def start_ingest(folder: Path, index: Path) -> subprocess.Popen[bytes]:
    code = ("import sys; from rag import Index; "
            f"Index.open(sys.argv[2], embedder={EMBEDDER!r}).ingest(sys.argv[1])")
    return subprocess.Popen([sys.executable, "-c", code, str(folder), str(index)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_after(proc: subprocess.Popen[bytes], seconds: float) -> None:
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def check_consistent(index: Path) -> int:
    """Every document's chunks all come from the version its content hash says; returns the doc count."""
    db = sqlite3.connect(index / "rag.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    fts = db.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
    assert fts == db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    rows = db.execute("SELECT d.source, group_concat(c.text, ' ') FROM documents d "
                      "JOIN chunks c ON c.doc = d.id GROUP BY d.id").fetchall()
    for source, text in rows:
        versions = {w for w in text.split() if w.startswith("version")}
        assert len(versions) == 1, f"{source} mixes versions {versions}"
    db.close()
    return len(rows)


def versions_present(index: Path) -> set[str]:
    db = sqlite3.connect(index / "rag.sqlite")
    found = {w for (text,) in db.execute("SELECT text FROM chunks") for w in text.split()
             if w.startswith("version")}
    db.close()
    return found


def test_kill_during_ingest(tmp_path: Path) -> None:
    folder, index = tmp_path / "docs", tmp_path / "idx"
    make_corpus(folder, version=1)
    Index.open(index, embedder=EMBEDDER).ingest(folder)
    make_corpus(folder, version=2)
    began = time.monotonic()
    start_ingest(folder, index).wait()
    full = time.monotonic() - began  # a whole ingest in a fresh process, start-up included
    mixed = 0
    for version, fraction in enumerate((0.5, 0.65, 0.8, 0.95), start=3):
        make_corpus(folder, version=version)  # every file changes
        kill_after(start_ingest(folder, index), full * fraction)
        assert check_consistent(index) == FILES
        mixed += len(versions_present(index)) > 1
        idx = Index.open(index)
        assert idx.search("file7 topic7", k=3), "the index must open and answer after kill -9"
        idx.close()
    assert mixed, "no kill landed mid-ingest: the test did not test anything"
    finish = Index.open(index).ingest(folder)
    assert not finish.failed and finish.added == 0
    assert check_consistent(index) == FILES
    assert versions_present(index) == {"version6"}


def test_second_writer_fails_clearly(tmp_path: Path) -> None:
    folder, index = tmp_path / "docs", tmp_path / "idx"
    make_corpus(folder, version=1)
    Index.open(index, embedder=EMBEDDER)
    proc = start_ingest(folder, index)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lock = index / "write.lock"
            if lock.exists() and lock.read_text().startswith("pid"):
                break
            time.sleep(0.05)
        with pytest.raises(IndexLockedError, match="being written by pid"):
            Index.open(index).ingest(folder)
    finally:
        proc.wait(timeout=120)
    assert check_consistent(index) == FILES
    summary = Index.open(index).ingest(folder, lock_wait=5)
    assert summary.unchanged == FILES and summary.embedded_chunks == 0


def chunk_count(index: Path) -> int:
    db = sqlite3.connect(index / "rag.sqlite")
    try:
        return int(db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
    finally:
        db.close()


def test_a_killed_first_ingest_keeps_what_it_finished(tmp_path: Path) -> None:
    """Each file is committed on its own: a kill mid-way through a first ingest keeps every file committed
    before it, and the next run embeds only the rest."""
    folder, index = tmp_path / "docs", tmp_path / "idx"
    make_corpus(folder, version=1)
    began = time.monotonic()
    start_ingest(folder, index).wait()
    full = time.monotonic() - began  # a whole first ingest in a fresh process, start-up included
    landed = []
    for attempt, fraction in enumerate((0.35, 0.55, 0.75, 0.9)):
        target = index.with_name(f"idx{attempt}")
        kill_after(start_ingest(folder, target), full * fraction)
        if not (target / "rag.sqlite").exists():
            continue
        kept = check_consistent(target)
        if 0 < kept < FILES:
            landed.append((target, kept))
    assert landed, "no kill landed mid-ingest: the test did not test anything"
    for target, kept in landed:
        before = chunk_count(target)
        again = Index.open(target).ingest(folder)
        assert again.failed == () and (again.added, again.unchanged) == (FILES - kept, kept), again
        assert again.embedded_chunks == chunk_count(target) - before   # nothing finished is embedded again
        assert check_consistent(target) == FILES

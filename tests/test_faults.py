"""Faults from outside: bytes flipped at random offsets of every index file, a WAL deleted after a kill, a
disk that fills up (a small tmpfs), folders and indexes whose permissions were taken away (`setpriv`
drops root's power to override them, as in test_hostile.py).

The rule for a flip: either `rag check` reports damage, or every result (`rag ls`, ten searches) is
byte-identical to the intact index's. Never a traceback; a command may refuse (a RagError naming
`rag check`), but only when `rag check` reports the damage too.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from index_faults import checked, copy_index, flip, no_traceback, rag, results, same_after_repair

from rag import Index

SEED = int(os.environ.get("RAG_FLIP_SEED", "20260101"))


@pytest.mark.parametrize("pattern,flips", [("rag.sqlite", 48), ("vectors.*.faiss", 12), ("vectors.*.json", 6)])
def test_each_flip_is_reported_or_changes_nothing(built: Path, tmp_path: Path, pattern: str, flips: int) -> None:
    intact = results(built)
    rng = random.Random(f"{SEED}-{pattern}")
    outcomes = {"reported": 0, "harmless": 0}
    repaired = 0
    for n in range(flips):
        work = copy_index(built, tmp_path / f"flip{n}")
        (target,) = work.glob(pattern)
        offset, mask = rng.randrange(target.stat().st_size), rng.randrange(1, 256)
        flip(target, offset, mask)
        ok, said = checked(work)
        seen = results(work)
        where = f"{target.name} byte {offset} ^ {mask:#04x}"
        if ok:
            assert seen == intact, f"{where}: `rag check` says ok but results changed"
            outcomes["harmless"] += 1
            continue
        outcomes["reported"] += 1
        if repaired < 4:   # repairing costs a re-ingest: a few of them show it brings the results back
            with Index.open(work, create=False, read_only=False) as idx:
                outcome = idx.repair()
            assert outcome.after.ok, f"{where}: still damaged after --repair: {outcome.after.findings}"
            assert same_after_repair(results(work), intact), f"{where}: results differ after --repair"
            repaired += 1
    assert outcomes["reported"] > 0, outcomes   # the flips did land somewhere that matters
    if pattern == "rag.sqlite":
        assert outcomes["harmless"] > 0, outcomes


def _ingest_until(folder: Path, index: Path, commits: int) -> None:
    """Start an ingest in a child process and kill -9 it once the journal shows `commits` commits."""
    code = "import sys; from rag import Index; Index.open(sys.argv[2], embedder='hashing-64').ingest(sys.argv[1])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder), str(index)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = index / "commits.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and len(journal.read_bytes().splitlines()) >= commits:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_a_wal_deleted_after_a_kill_is_reported_and_repaired(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", tmp_path / "idx"
    docs.mkdir()
    for i in range(60):
        (docs / f"note{i:02d}.txt").write_text(f"Note {i} about the pier number {i}. " * 30, encoding="utf-8")
    _ingest_until(docs, index, commits=12)
    assert (index / "rag.sqlite-wal").stat().st_size > 0, "the kill left no WAL: nothing to lose"
    copy = copy_index(index, tmp_path / "copy")
    (copy / "rag.sqlite-wal").unlink()
    (copy / "rag.sqlite-shm").unlink(missing_ok=True)
    kept = len(Index.open(index).documents())              # the intact folder: SQLite replays its WAL
    assert 12 <= kept < 60, kept
    listing = rag("ls", "--index", str(copy), cwd=tmp_path)
    no_traceback(listing)
    assert listing.returncode == 1 and "committed changes were lost" in listing.stderr, listing.stderr
    report = rag("check", "--index", str(copy), "--json", cwd=tmp_path)
    lost = [f for f in json.loads(report.stdout)["findings"] if f["part"] == "rollback"]
    assert report.returncode == 1 and lost and lost[0]["documents"], report.stdout
    repaired = rag("check", "--index", str(copy), "--repair", "--json", cwd=tmp_path)
    after = json.loads(repaired.stdout)
    assert repaired.returncode == 0 and after["ok"], repaired.stdout
    assert set(lost[0]["documents"]) <= set(after["restored"]), after
    assert len(Index.open(copy).documents()) == 60          # the repair read the whole folder again


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up ({result.stderr.strip() or 'mount failed'}): needs root "
                    "in a container that allows mounts")


def test_a_full_disk_is_a_message_and_leaves_the_index_intact(tmp_path: Path) -> None:
    small = tmp_path / "small"
    _mount_tmpfs(small, "3m")
    try:
        docs, index = tmp_path / "docs", small / "idx"
        docs.mkdir()
        for i in range(400):
            (docs / f"log{i:03d}.txt").write_text(" ".join(f"entry{i}-{j} tide gauge reading {j * i % 97}."
                                                           for j in range(120)), encoding="utf-8")
        filler = small / "filler"
        filler.write_bytes(b"\0" * (2 << 20))
        full = rag("ingest", str(docs), "--index", str(index), "--embedder", "hashing-64", "--json", cwd=tmp_path)
        no_traceback(full)
        assert full.returncode == 1, full.stdout[-500:]
        assert "disk is full" in full.stderr and "move the folder aside" not in full.stderr, full.stderr
        assert len(full.stderr.strip().splitlines()) == 1, full.stderr
        assert not [p.name for p in index.iterdir() if ".tmp" in p.name or ".salvage" in p.name]
        listing = rag("ls", "--index", str(index), cwd=tmp_path)
        assert listing.returncode == 0, listing.stderr
        committed = listing.stdout.count("\t")
        check = rag("check", "--index", str(index), "--json", cwd=tmp_path)
        assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout + check.stderr
        filler.unlink()                                    # space again: the same command finishes the job
        again = rag("ingest", str(docs), "--index", str(index), "--json", cwd=tmp_path)
        no_traceback(again)
        if again.returncode == 0:
            assert json.loads(again.stdout)["unchanged"] * 2 >= committed
            assert rag("check", "--index", str(index), cwd=tmp_path).returncode == 0
        else:
            assert "disk is full" in again.stderr, again.stderr
    finally:
        subprocess.run(["umount", str(small)], check=False)


def _unprivileged_or_skip() -> None:
    if os.geteuid() == 0 and not subprocess.run(["which", "setpriv"], capture_output=True).stdout:
        pytest.skip("running as root without setpriv: permissions cannot be taken away")


def test_an_unreadable_folder_keeps_its_documents(tmp_path: Path) -> None:
    _unprivileged_or_skip()
    docs, index = tmp_path / "docs", tmp_path / "idx"
    for name in ("a.txt", "sub/b.txt", "sub/deeper/c.md", "nox/d.txt"):
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(f"The {name} file talks about buoys and {name.split('/')[-1]}.", encoding="utf-8")
    assert Index.open(index, embedder="hashing-64").ingest(docs).added == 4
    os.chmod(docs / "sub", 0)          # cannot be listed
    os.chmod(docs / "nox", 0o644)      # listed, but nothing in it can be looked at
    try:
        for dry in ([], ["--dry-run"]):
            result = rag("ingest", str(docs), "--index", str(index), "--json", *dry, cwd=tmp_path, unprivileged=True)
            no_traceback(result)
            summary = json.loads(result.stdout)
            assert result.returncode == 0 and summary["removed"] == 0 and summary["kept"] == 3, summary
            assert summary.get("plan", {}).get("remove", []) == []
            skipped = {s["source"]: s for s in summary["skipped"]}
            assert skipped["sub"]["kept"] and "permissions" in skipped["sub"]["reason"], skipped
            assert skipped["nox/d.txt"]["kept"], skipped
        listing = rag("ls", "--index", str(index), "--json", cwd=tmp_path, unprivileged=True)
        assert len(json.loads(listing.stdout)["documents"]) == 4, listing.stdout
    finally:
        os.chmod(docs / "sub", 0o755)
        os.chmod(docs / "nox", 0o755)
    (docs / "a.txt").unlink()          # really gone: that one leaves the index
    summary = Index.open(index).ingest(docs)
    assert (summary.removed, summary.unchanged, summary.kept) == (1, 3, 0)


def test_a_read_only_index_is_read_and_never_written(built: Path, tmp_path: Path) -> None:
    _unprivileged_or_skip()
    index = copy_index(built, tmp_path / "idx")
    for extra in ("rag.sqlite-wal", "rag.sqlite-shm"):
        (index / extra).unlink(missing_ok=True)
    files = {p.name: p.read_bytes() for p in index.iterdir()}
    for p in index.iterdir():
        os.chmod(p, 0o444)
    os.chmod(index, 0o555)
    try:
        for command in (["ls"], ["search", "hydrophones", "--json"], ["check"],
                        ["ask", "hydrophones", "--llm", "none"]):
            result = rag(*command, "--index", str(index), cwd=tmp_path, unprivileged=True)
            no_traceback(result)
            assert result.returncode == 0, (command, result.stderr)
        result = rag("ingest", str(built.parent / "docs"), "--index", str(index), cwd=tmp_path, unprivileged=True)
        no_traceback(result)
        assert result.returncode == 1 and "cannot open or write" in result.stderr, result.stderr
        assert {p.name: p.read_bytes() for p in index.iterdir()} == files
    finally:
        os.chmod(index, 0o755)

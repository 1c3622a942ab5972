"""Helpers for the tests that damage an index on purpose (test_check.py, test_faults.py): copy a built
index, flip bytes in its files, and read every result a user would see (ls and searches), so that a
damaged copy can be compared with the intact one."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from rag import Index
from rag.core.errors import RagError

QUERIES = ("hydrophones recalibrated", "What corpus was Lumen trained on?", "survey boat Kestrel engine",
           "Tidepool Benchmark", "field notes", "budget decision meeting", "salinity sensor", "harbor",
           "installation guide steps", "who attended")
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
               "--inh-caps=-dac_override,-dac_read_search", "--"]


def copy_index(index: Path, to: Path) -> Path:
    shutil.copytree(index, to)
    return to


def flip(path: Path, offset: int, mask: int) -> None:
    """XOR one byte of a file in place (mask 1-255)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= mask
    path.write_bytes(bytes(data))


def flip_bytes_of(path: Path, needle: bytes, mask: int = 0x20) -> int:
    """Flip the first byte of `needle` everywhere it occurs in the file (a page SQLite freed may hold an old
    copy beside the live one); how many times it occurred (at least once)."""
    data = bytearray(path.read_bytes())
    found = [i for i in range(len(data)) if data.startswith(needle, i)]
    assert found, f"{needle!r} is not in {path}"
    for offset in found:
        data[offset] ^= mask
    path.write_bytes(bytes(data))
    return len(found)


def results(index: Path) -> list[str]:
    """What `rag ls --json` and `rag search --json` show, one JSON text each; a refusal (RagError) is
    'REFUSED: …'. Any other exception propagates: that would be a traceback for the user."""
    try:
        idx = Index.open(index, create=False)
    except RagError as exc:
        return [f"REFUSED: {exc}"]
    out = []
    with idx:
        calls = [lambda: [[d.source, d.root, d.chunks, d.status, d.content_hash, d.title] for d in idx.documents()]]
        calls += [lambda q=q: [h.to_json() for h in idx.search(q, k=5)] for q in QUERIES]   # type: ignore[misc]
        for call in calls:
            try:
                out.append(json.dumps(call(), sort_keys=True))
            except RagError as exc:
                out.append(f"REFUSED: {exc}")
    return out


def same_after_repair(repaired: list[str], intact: list[str]) -> bool:
    """Results equal but for the order among hits of score 0 (ties are ranked by row id, and the rows of a
    document read again are new rows): the listing and every scored hit must be identical."""
    def scored(text: str) -> object:
        value = json.loads(text) if not text.startswith("REFUSED") else text
        return [h for h in value if h["score"] > 0] if isinstance(value, list) and value and \
            isinstance(value[0], dict) else value
    return len(repaired) == len(intact) and all(scored(a) == scored(b) and len(a) > 0
                                                for a, b in zip(repaired, intact, strict=True))


def checked(index: Path) -> tuple[bool, str]:
    """(ok, what `rag check` says) — an index that does not even open is reported (not ok)."""
    try:
        with Index.open(index, create=False) as idx:
            report = idx.check()
    except RagError as exc:
        return False, str(exc)
    return report.ok, "; ".join(f.problem for f in report.findings)


def vector_piece(index: Path, source: str, size: int = 64) -> bytes:
    """Bytes of the first stored vector of `source` that occur in no other row of rag.sqlite (hashing
    vectors are mostly zeros, so a piece is picked where it is unique)."""
    db = sqlite3.connect(index / "rag.sqlite")
    try:
        mine = bytes(db.execute("SELECT c.vector FROM chunks c JOIN documents d ON d.id = c.doc "
                                "WHERE d.source = ? ORDER BY c.id LIMIT 1", (source,)).fetchone()[0])
        others = [bytes(v) for (v,) in db.execute("SELECT vector FROM chunks")]
        others += [str(t).encode() for (t,) in db.execute("SELECT text FROM chunks")]
    finally:
        db.close()
    for start in range(0, len(mine) - size, 4):
        piece = mine[start:start + size]
        if piece.count(0) <= size - 8 and sum(piece in other for other in others) == 1:
            return piece
    raise AssertionError(f"no unique piece in the vector of {source}")


def rag(*args: str, cwd: Path, unprivileged: bool = False,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`rag ARGS` in a fresh process; `unprivileged` (as root): without the power to override permissions."""
    prefix = NO_OVERRIDE if unprivileged and os.geteuid() == 0 and shutil.which("setpriv") else []
    return subprocess.run([*prefix, sys.executable, "-c", "from rag.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=600, cwd=cwd, env={**os.environ, **(env or {})})


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]

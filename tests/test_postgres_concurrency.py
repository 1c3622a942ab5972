"""Many writers at once on one real PostgreSQL server: 4 writer processes replace the same documents over and
over while 4 readers search and read them; every document a reader sees comes whole from one version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from rag import Index

ROOT = Path(__file__).resolve().parent.parent
EMBEDDER = "hashing-256"
DOCS, ROUNDS = 4, 12

# One writer: ROUNDS versions of each of the DOCS documents, through the store's own put_document (the call
# `rag ingest` commits a file with). Version v of a document has 2 + v % 5 chunks, each saying "version v".
WRITER = """
import sys
from rag import Index
from rag.core.types import Chunk, Document, Section
url, writer, docs, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with Index.open(url, embedder="hashing-256") as idx:
    for r in range(rounds):
        for d in range(docs):
            v = writer * 1000 + r
            texts = [f"tide gauge reading {i} of document {d} version {v}" for i in range(2 + v % 5)]
            doc = Document(f"doc{d}-v{v}", f"doc{d}.md", "markdown", f"Document {d}",
                           tuple(Section(t, {"heading": f"part {i}"}) for i, t in enumerate(texts)))
            chunks = [Chunk(f"c{d}-{v}-{i}", doc.doc_id, t, {"heading": f"part {i}"}, 0, len(t), i)
                      for i, t in enumerate(texts)]
            idx.store.put_document("/shared", doc, chunks, idx.embedder.embed(texts), [f"h{v}-{i}" for i in
                                   range(len(texts))], (f"hash{v}", 1, 1), "markdown")
"""


def _version(text: str) -> int:
    return int(text.rsplit("version ", 1)[1])


def _check_snapshot(idx: Index) -> int:
    """Read every chunk (one statement) and check each document's chunks: one version, all of them."""
    store = idx.store
    _, ids, _ = store.all_vectors()
    by_doc: dict[str, set[int]] = {}
    counts: dict[str, int] = {}
    for stored in store.chunks_by_row([int(i) for i in ids]).values():
        by_doc.setdefault(stored.chunk.doc_id, set()).add(_version(stored.chunk.text))
        counts[stored.chunk.doc_id] = counts.get(stored.chunk.doc_id, 0) + 1
    for doc_id, versions in by_doc.items():
        assert len(versions) == 1, (doc_id, versions)
        assert counts[doc_id] == 2 + versions.pop() % 5, doc_id   # no chunk missing from a version
    return len(by_doc)


def _check_search(idx: Index, d: int) -> None:
    hits = idx.search(f"tide gauge reading document {d}", 20)
    seen: dict[str, set[int]] = {}
    for hit in hits:
        seen.setdefault(hit.source, set()).add(_version(hit.chunk.text))
    assert all(len(v) == 1 for v in seen.values()), seen


def test_four_writers_four_readers(pg_url: str, tmp_path: Path) -> None:
    with Index.open(pg_url, embedder=EMBEDDER):
        pass   # the schema, made once before the writers race
    env = {**os.environ, "RAG_STATE_DIR": str(tmp_path / "state")}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, pg_url, str(w), str(DOCS), str(ROUNDS)], cwd=ROOT,
                                env=env, stderr=subprocess.PIPE, text=True) for w in range(1, 5)]
    errors: list[BaseException] = []
    reads = [0] * 4

    def reader(n: int) -> None:
        try:
            with Index.open(pg_url, create=False) as idx:
                while any(w.poll() is None for w in writers):
                    _check_snapshot(idx)
                    _check_search(idx, n)
                    reads[n] += 1
        except BaseException as exc:  # noqa: BLE001 (handed to the test thread)
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    for w in writers:
        _, err = w.communicate(timeout=60)
        assert w.returncode == 0, err
    assert not errors, errors[0]
    assert all(r >= 2 for r in reads), f"readers overlapped the writers too little: {reads}"
    with Index.open(pg_url, create=False) as idx:
        assert _check_snapshot(idx) == DOCS
        docs = idx.documents()
        assert sorted(d.source for d in docs) == [f"doc{d}.md" for d in range(DOCS)]
        assert idx.store.commit_number() >= 4 * DOCS * ROUNDS
    print(f"4 writers x {DOCS * ROUNDS} commits, readers {reads} in {time.monotonic() - started:.1f} s")


def test_two_ingest_processes_at_once(pg_url: str, tmp_path: Path) -> None:
    """Two `rag ingest` processes on different folders write the one database at the same time."""
    folders = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(30):
            (folder / f"{name}{i:02d}.md").write_text(f"# {name} {i}\n\nField note {i} from folder {name}.\n")
        folders.append(folder)
    env = {**os.environ, "RAG_STATE_DIR": str(tmp_path / "state")}
    with Index.open(pg_url, embedder=EMBEDDER):
        pass
    procs = [subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(f), "--index", pg_url, "--json"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in folders]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert [json.loads(o)["added"] for o, _ in outs] == [30, 30]
    with Index.open(pg_url, create=False) as idx:
        assert len(idx.documents()) == 60
        assert idx.search("field note 7 folder b", 1)[0].source == "b07.md"

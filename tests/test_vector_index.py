"""The incremental vector index (rag/store/faiss.py): a commit writes only its own adds and removes (a
delta beside the base), chunk row ids are never used twice, damaged or missing files are rebuilt from
rag.sqlite, the delta is folded into a new base when it grows, and from ann.ANN_MIN chunks the base is
an ivf-sq8 index. Uses the hashing embedder through the real registry; the ivf-sq8 tests write vectors
through the store's own row writer, as bench/scale.py does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag import Index
from rag.core.types import Chunk, Document, Section, content_hash
from rag.store import ann, fulltext, rows
from rag.store import faiss as vector_module
from rag.store.faiss import VectorIndex

EMBEDDER = "hashing-128"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    for i, topic in enumerate(["falcons hunt over the desert", "molten salt reactors", "tide gauges in harbours",
                               "violin varnish recipes", "glacier retreat in the Alps"]):
        write(folder, f"doc{i}.md", f"# Note {i}\n\nThis note is about {topic}. " * 3)
    return folder


def files(index: Path) -> list[str]:
    return sorted(p.name for p in index.glob("vectors.*"))


def exact(idx: Index, question: str) -> set[tuple[int, float]]:
    """Every chunk in rag.sqlite with its inner product to the question: what the vector index must hold."""
    ids, vectors = idx.store.vectors_after(0, 10**9)
    scores = vectors @ idx.embedder.embed([question])[0]
    return {(int(i), round(float(s), 4)) for i, s in zip(ids, scores, strict=True)}


def dense(idx: Index, question: str) -> set[tuple[int, float]]:
    """Every chunk the vector index returns (k above the chunk count), with its score."""
    return {(i, round(s, 4)) for i, s in idx.vectors().search(idx.embedder.embed([question])[0], 1000)}


def test_adding_a_file_writes_a_delta_of_its_chunks_only(docs: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    idx = Index.open(index, embedder=EMBEDDER)
    idx.ingest(docs)
    (base,) = index.glob("vectors.*.faiss")
    before = base.stat().st_mtime_ns, base.read_bytes()
    write(docs, "late.md", "# Late\n\nOwls hunt mice in barns at night.")
    idx.ingest(docs)
    assert (base.stat().st_mtime_ns, base.read_bytes()) == before     # the base was not written again
    state = idx.vectors()
    assert state.rebuilt == "" and state.describe()["delta_added"] == 1 and state.describe()["delta_removed"] == 0
    assert idx.search("owls mice barns", k=1)[0].source == "late.md"
    assert dense(idx, "owls mice barns") == exact(idx, "owls mice barns")
    assert idx.check().ok


def test_removing_and_changing_never_reuse_a_chunk_id(docs: Path, tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    idx.ingest(docs)
    last = max(int(i) for i in idx.store.chunk_ids())
    idx.remove(str(docs / "doc4.md"))                 # the document holding the highest ids …
    write(docs, "doc4.md", "# Note 4\n\nNow about lighthouse keepers and fog horns.")
    idx.ingest(docs)                                   # … comes back changed: its new chunks get new ids
    assert min(int(i) for i in idx.store.chunk_ids() if i not in range(last + 1)) > last
    assert idx.search("lighthouse fog horns", k=1)[0].chunk.text.endswith("fog horns.")
    for question in ("glacier Alps", "lighthouse keepers", "falcons desert"):
        assert dense(idx, question) == exact(idx, question)
    assert idx.check().ok
    idx.remove(str(docs / "doc0.md"))
    assert all(h.source != "doc0.md" for h in idx.search("falcons hunt over the desert", k=5))
    assert dense(idx, "falcons desert") == exact(idx, "falcons desert")


def test_a_damaged_delta_is_reported_and_rebuilt(docs: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    idx = Index.open(index, embedder=EMBEDDER)
    idx.ingest(docs)
    write(docs, "late.md", "# Late\n\nOwls hunt mice in barns at night.")
    idx.ingest(docs)
    (delta,) = index.glob("vectors.*.delta")
    data = bytearray(delta.read_bytes())
    data[-3] ^= 0x40
    delta.write_bytes(bytes(data))
    report = idx.check()
    assert not report.ok and any("does not match its checksum" in f.problem for f in report.findings)
    fresh = Index.open(index, create=False)
    assert fresh.search("owls mice barns", k=1)[0].source == "late.md"
    assert Index.open(index, create=False).vectors().rebuilt == ""   # the rebuilt state was saved
    assert Index.open(index, create=False).check().ok


def test_a_commit_without_its_vector_files_is_derived_from_the_last_base(docs: Path, tmp_path: Path) -> None:
    """As a kill between a commit and its sidecar leaves it: the search reads the new rows from rag.sqlite."""
    index = tmp_path / "idx"
    idx = Index.open(index, embedder=EMBEDDER)
    idx.ingest(docs)
    saved = {p.name: p.read_bytes() for p in index.glob("vectors.*")}
    write(docs, "late.md", "# Late\n\nOwls hunt mice in barns at night.")
    idx.ingest(docs)
    for p in index.glob("vectors.*"):
        p.unlink()
    for name, data in saved.items():
        (index / name).write_bytes(data)
    fresh = Index.open(index, create=False)
    assert fresh.vectors().rebuilt == "" and fresh.vectors().describe()["delta_added"] == 1
    assert fresh.search("owls mice barns", k=1)[0].source == "late.md"
    assert any(name.endswith(".delta") for name in files(index))     # and saved, as the writer would have


def test_a_large_delta_is_folded_into_a_new_base(docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_module, "COMPACT_MIN", 2)
    monkeypatch.setattr(vector_module, "COMPACT_SHARE", 0.0)
    index = tmp_path / "idx"
    idx = Index.open(index, embedder=EMBEDDER)
    idx.ingest(docs)
    write(docs, "one.md", "# One\n\nOwls.")
    idx.ingest(docs)
    assert any(n.endswith(".delta") for n in files(index))
    write(docs, "two.md", "# Two\n\nBats.")
    write(docs, "three.md", "# Three\n\nMoths.")
    idx.ingest(docs)
    commit = idx.store.commit_number()
    assert files(index) == [f"vectors.{commit}.faiss", f"vectors.{commit}.ids", f"vectors.{commit}.json"]
    assert idx.vectors().describe()["delta_added"] == 0 and idx.check().ok


def test_batched_bm25_gives_each_rows_own_score(docs: Path, tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    idx.ingest(docs)
    db = idx.store.db
    match = '"falcons" OR "reactors" OR "note"'
    one = "SELECT -bm25(chunks_fts, 2.0, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid = ?"
    every = [int(r) for r in idx.store.chunk_ids()]
    expected = {r: float(s[0]) for r in every if (s := db.execute(one, (match, r)).fetchone())}
    assert len(expected) >= 5
    assert fulltext.bm25_for(db, match, every + [10**6], 2.0, idx.store.vocabularies) == expected


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    """Clustered unit vectors (like embeddings: topics, not uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim))
    x = centres[rng.integers(40, size=n)] + 0.5 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _fill(idx: Index, vectors: np.ndarray, root: str) -> None:
    with idx.store.transaction():
        for d in range(0, len(vectors), 10):
            doc_id = f"d{d:06d}"
            part = vectors[d:d + 10]
            texts = [f"passage {d + j} of {doc_id}" for j in range(len(part))]
            doc = Document(doc_id, f"{doc_id}.txt", "text", doc_id, tuple(Section(t) for t in texts))
            chunks = [Chunk(f"{doc_id}-{j}", doc_id, t, {}, 0, len(t), j) for j, t in enumerate(texts)]
            rows.write_document(idx.store.db, root, doc, chunks, part, [content_hash(t) for t in texts],
                                (content_hash(doc_id), 1, 0), "text")
        idx.store.bump_commit()


def test_from_ann_min_chunks_the_base_is_ivf_sq8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ann, "ANN_MIN", 3000)
    monkeypatch.setattr(ann, "FLAT_AGAIN", 1500)
    idx = Index.open(tmp_path / "idx", embedder="hashing-64")
    _fill(idx, _unit_rows(12_000, 64, 1), str(tmp_path / "docs"))
    VectorIndex.update(idx.store)
    state = idx.vectors()
    assert state.kind == "ivf-sq8" and state.describe()["nlist"] >= 64 and state.rebuilt == ""
    queries = _unit_rows(50, 64, 2)
    ids, vectors = idx.store.vectors_after(0, 10**9)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = [{i for i, _ in state.search(q, 10)} for q in queries]
    recall = np.mean([len(f & {int(ids[j]) for j in t}) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.9, recall
    assert idx.check().ok                     # ids exact, vectors within the 8-bit codes' error
    with idx.store.transaction():             # remove a document, add one: a delta over the ivf base
        rows.delete_documents(idx.store.db, [1])
        idx.store.bump_commit()
    _fill(idx, _unit_rows(10, 64, 3), str(tmp_path / "more"))
    VectorIndex.update(idx.store)
    state = idx.vectors()
    assert (state.kind, state.describe()["delta_added"], state.describe()["delta_removed"]) == ("ivf-sq8", 10, 10)
    newest = int(idx.store.chunk_ids()[-1])
    assert state.search(idx.store.vectors_of(np.array([newest]))[1][0], 1)[0][0] == newest
    assert all(i > 10 for q in queries for i, _ in state.search(q, 20))   # ids 1-10 were removed
    assert idx.check().ok


def test_ls_stats_names_the_vector_index_kind(docs: Path, tmp_path: Path) -> None:
    Index.open(tmp_path / "idx", embedder=EMBEDDER).ingest(docs)
    rag = Path(sys.executable).parent / "rag"
    shown = subprocess.run([str(rag), "ls", "--stats", "--index", str(tmp_path / "idx")], capture_output=True,
                           text=True, check=True).stdout
    assert "vector index: flat" in shown and "5 chunks" in shown, shown
    out = subprocess.run([str(rag), "ls", "--stats", "--json", "--index", str(tmp_path / "idx")],
                         capture_output=True, text=True, check=True).stdout
    stats = json.loads(out)["stats"]
    assert stats["vectors"]["kind"] == "flat" and stats["chunks"] == 5 and len(json.loads(out)["documents"]) == 5

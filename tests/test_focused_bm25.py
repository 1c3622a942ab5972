"""BM25 on large indexes (rag/store/focused_bm25.py): a query over more than BUDGET rows ranks the
candidates of its rarest terms, every one scored exactly as FTS5's bm25() scores it with the whole query.
The budget is lowered here so that a small index of real sample files takes that path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag import Index
from rag.retrieve.lexical import fts_query
from rag.store import focused_bm25, fulltext

SAMPLES = Path(__file__).resolve().parents[1] / "sample_docs"
WHOLE = "SELECT rowid, -bm25(chunks_fts, 2.0, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ?"
QUESTIONS = ["when is the budget review meeting and who attends", "notes of the meeting notes",
             "roadmap milestones for the next quarter and the launch", "what did the standup say about the release"]


@pytest.fixture
def idx(tmp_path: Path) -> Index:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("notes.md", "meeting.txt", "standup_transcript.txt", "guide.html", "records.jsonl"):
        shutil.copy(SAMPLES / name, docs / name)
    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    index.ingest(docs)
    return index


@pytest.fixture
def focused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(focused_bm25, "BUDGET", 1)
    monkeypatch.setattr(focused_bm25, "BUDGET_SHARE", 0.0)


def test_scores_are_fts5s_own(idx: Index, focused: None) -> None:
    db, planned = idx.store.db, 0
    for question in QUESTIONS:
        match = fts_query(question)
        whole = {int(r): float(s) for r, s in db.execute(WHOLE, (match,))}
        if focused_bm25.plan(db, match, idx.store.vocabularies) is None:
            continue
        planned += 1
        got = fulltext.bm25_for(db, match, [*whole, 10**6], 2.0, idx.store.vocabularies)
        assert got.keys() == whole.keys()
        assert all(abs(got[r] - whole[r]) < 1e-9 for r in whole)
        for row, score in fulltext.bm25(db, match, 5, 2.0, idx.store.vocabularies):
            assert abs(score - whole[row]) < 1e-9
    assert planned >= 2


def test_a_small_query_is_scored_by_fts5_whole(idx: Index) -> None:
    db = idx.store.db
    for question in QUESTIONS:
        assert focused_bm25.plan(db, fts_query(question), idx.store.vocabularies) is None
    assert focused_bm25.plan(db, '"budget" NEAR "review"', idx.store.vocabularies) is None


def test_the_focus_is_the_rarest_terms(idx: Index, focused: None) -> None:
    db = idx.store.db
    match = fts_query(QUESTIONS[0])
    plan = focused_bm25.plan(db, match, idx.store.vocabularies)
    assert plan is not None
    counts = idx.store.vocabularies.current(db).doc_counts(db, [t[1:-1] for t in match.split(" OR ")])
    kept = [t[1:-1] for t in plan.focus.split(" OR ")]
    assert max(counts[t] for t in kept) <= min(counts[t] for t in counts if t not in kept)
    assert len(plan.phrases) == len(counts)


def test_counts_follow_the_index_after_a_write(idx: Index, tmp_path: Path) -> None:
    db = idx.store.db
    before = idx.store.vocabularies.current(db).doc_counts(db, ["zeppelins"])["zeppelins"]
    (tmp_path / "docs" / "airships.md").write_text("# Airships\n\nZeppelins crossed the Atlantic in 1928.\n")
    idx.ingest(tmp_path / "docs")
    vocab = idx.store.vocabularies.current(db)
    assert (before, vocab.doc_counts(db, ["zeppelins"])["zeppelins"]) == (0, 1)
    assert vocab.rows == idx.store.chunk_count()

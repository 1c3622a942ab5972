"""A large index's own BM25 postings (rag/store/postings.py): every commit keeps them (a delta of its own adds
and removes), searches score the whole query from them exactly as FTS5's bm25() does, and a file that is
damaged or disagrees with FTS5 is never used: BM25 then comes from FTS5. POSTINGS_MIN is lowered here so that
a small index of real sample files keeps postings."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag import Index
from rag.retrieve.lexical import fts_query
from rag.store import focused_bm25, postings, postings_file

SAMPLES = Path(__file__).resolve().parents[1] / "sample_docs"
WHOLE = ("SELECT rowid, -bm25(chunks_fts, 2.0, 1.0) AS s FROM chunks_fts WHERE chunks_fts MATCH ? "
         "ORDER BY s DESC, rowid")
QUESTIONS = ["when is the budget review meeting and who attends", "notes of the meeting notes",
             "roadmap milestones for the next quarter and the launch", "what did the standup say about the release",
             "Zeppelins crossed the Atlantic", "invoice total and the receipt date", "meeting meeting notes"]


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(postings, "POSTINGS_MIN", 1)
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("notes.md", "meeting.txt", "standup_transcript.txt", "guide.html", "records.jsonl"):
        shutil.copy(SAMPLES / name, folder / name)
    return folder


def sidecar(folder: Path, index: Index) -> dict:
    meta = postings.read_sidecar(folder, index.store.commit_number())
    assert meta is not None
    return meta


def assert_fts5s_ranking(index: Index) -> None:
    """Every question's top rows and scores as FTS5 gives them scoring the whole query, and any row's score."""
    db = index.store.db
    for question in QUESTIONS:
        match = fts_query(question)
        whole = [(int(r), float(s)) for r, s in db.execute(WHOLE, (match,))]
        got = index.store.lexical(match, 5)
        assert [r for r, _ in got] == [r for r, _ in whole[:5]], question
        assert all(abs(s - dict(whole)[r]) < 1e-9 for r, s in got), (question, got, whole[:5], index.store.lexicons.why)
        asked = [r for r, _ in whole[5:]] + [10**9]
        scored = index.store.lexical_for(match, asked)
        assert scored.keys() == {r for r, _ in whole[5:]}
        assert all(abs(scored[r] - dict(whole)[r]) < 1e-9 for r in scored)


def test_postings_score_the_whole_query_as_fts5_does(docs: Path, tmp_path: Path) -> None:
    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    index.ingest(docs)
    meta = sidecar(tmp_path / "idx", index)
    assert meta["delta"] is None and meta["rows"] == index.store.chunk_count()
    assert_fts5s_ranking(index)
    assert index.store.lexicons.state is not None and not index.store.lexicons.why


def test_adds_and_removes_are_a_delta_and_searches_follow_them(docs: Path, tmp_path: Path) -> None:
    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    index.ingest(docs)
    base = sidecar(tmp_path / "idx", index)["base"]
    (docs / "airships.md").write_text("# Airships\n\nZeppelins crossed the Atlantic in 1928. The meeting "
                                      "notes say zeppelins, zeppelins.\n")
    index.ingest(docs)
    meta = sidecar(tmp_path / "idx", index)
    assert meta["base"] == base and meta["delta"]["added"] >= 1 and meta["delta"]["removed"] == 0
    assert_fts5s_ranking(index)
    assert index.store.lexical(fts_query("zeppelins"), 5)
    index.remove("notes.md", root=str(docs))
    meta = sidecar(tmp_path / "idx", index)
    assert meta["base"] == base and meta["delta"]["removed"] >= 1
    assert_fts5s_ranking(index)
    assert index.store.lexicons.state is not None and index.store.lexicons.state.dead is not None
    files = sorted(p.name for p in (tmp_path / "idx").glob("lexicon.*"))
    assert files == sorted({f"lexicon.{base['commit']}.post", f"lexicon.{meta['commit']}.post",
                            f"lexicon.{meta['commit']}.json"})


def test_a_large_delta_is_folded_into_a_new_base(docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postings, "COMPACT_MIN", 0)
    monkeypatch.setattr(postings, "COMPACT_SHARE", 0.0)
    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    index.ingest(docs)
    (docs / "airships.md").write_text("# Airships\n\nZeppelins crossed the Atlantic in 1928.\n")
    index.ingest(docs)
    meta = sidecar(tmp_path / "idx", index)
    assert meta["delta"] is None and meta["base"]["commit"] == meta["commit"]
    assert_fts5s_ranking(index)


def test_a_damaged_file_is_not_used_and_the_next_commit_rebuilds_it(docs: Path, tmp_path: Path) -> None:
    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    index.ingest(docs)
    index.close()
    path = postings.post_path(tmp_path / "idx", sidecar(tmp_path / "idx", Index.open(tmp_path / "idx"))["commit"])
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    index = Index.open(tmp_path / "idx")
    assert_fts5s_ranking(index)   # from FTS5
    assert index.store.lexicons.state is None
    assert path.name in index.store.lexicons.why and "checksum" in index.store.lexicons.why
    (docs / "airships.md").write_text("# Airships\n\nZeppelins crossed the Atlantic in 1928.\n")
    index.ingest(docs)
    meta = sidecar(tmp_path / "idx", index)
    assert meta["delta"] is None and meta["base"]["commit"] == meta["commit"]   # a new base, not a delta of it
    assert_fts5s_ranking(index)
    assert index.store.lexicons.state is not None


def test_postings_that_disagree_with_fts5_are_set_aside(docs: Path, tmp_path: Path) -> None:
    """A file its sidecar vouches for but that does not hold what FTS5 holds (here: built before a file was
    added, and named for the commit after it) is not trusted: by the digest of the FTS5 state it was made
    from, and, were that forged too, by its count of rows."""
    folder = tmp_path / "idx"
    index = Index.open(folder, embedder="hashing-128")
    index.ingest(docs)
    old = sidecar(folder, index)
    old_file = postings.post_path(folder, old["commit"]).read_bytes()
    (docs / "airships.md").write_text("# Airships\n\nZeppelins crossed the Atlantic and the meeting ended.\n")
    index.ingest(docs)
    commit = index.store.commit_number()
    index.close()
    for p in folder.glob("lexicon.*"):
        p.unlink()
    postings.post_path(folder, commit).write_bytes(old_file)
    index = Index.open(folder)
    current = postings.fts_state(index.store.db)
    index.close()
    for state, why in ((old["fts_state"], "another state"), (current, "the postings hold")):
        forged = {**old, "commit": commit, "rows": old["rows"] + 1, "base": {**old["base"], "commit": commit},
                  "fts_state": state}
        postings.sidecar_path(folder, commit).write_text(json.dumps(forged))
        index = Index.open(folder)
        assert_fts5s_ranking(index)
        assert index.store.lexicons.state is None and why in index.store.lexicons.why
        index.close()



def test_below_postings_min_there_are_no_files(docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    index.ingest(docs)
    assert list((tmp_path / "idx").glob("lexicon.*"))
    monkeypatch.setattr(postings, "POSTINGS_MIN", 10**6)
    (docs / "airships.md").write_text("# Airships\n\nZeppelins crossed the Atlantic in 1928.\n")
    index.ingest(docs)
    assert not list((tmp_path / "idx").glob("lexicon.*"))
    assert index.store.lexicons.current(index.store.commit_number()) is None
    assert_fts5s_ranking(index)


def test_a_query_of_several_tokens_a_term_goes_to_fts5(docs: Path, tmp_path: Path) -> None:
    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    index.ingest(docs)
    db = index.store.db
    assert focused_bm25.tokens(db, '"budget" NEAR "review"', index.store.vocabularies) is None
    assert focused_bm25.tokens(db, '"e-mail"', index.store.vocabularies) is None


def test_ls_stats_names_the_bm25_side(docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rag = Path(sys.executable).parent / "rag"
    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    index.ingest(docs)
    (docs / "airships.md").write_text("# Airships\n\nZeppelins crossed the Atlantic in 1928.\n")
    index.ingest(docs)
    shown = subprocess.run([str(rag), "ls", "--stats", "--index", str(tmp_path / "idx")], capture_output=True,
                           text=True, check=True).stdout
    assert "BM25: postings of its own" in shown and "since commit" in shown, shown
    stats = json.loads(subprocess.run([str(rag), "ls", "--stats", "--json", "--index", str(tmp_path / "idx")],
                                      capture_output=True, text=True, check=True).stdout)["stats"]
    assert stats["lexical"]["kind"] == "postings" and stats["lexical"]["delta_added"] >= 1
    monkeypatch.setattr(postings, "POSTINGS_MIN", 10**6)
    (docs / "airships.md").unlink()
    index.ingest(docs)
    shown = subprocess.run([str(rag), "ls", "--stats", "--index", str(tmp_path / "idx")], capture_output=True,
                           text=True, check=True).stdout
    assert "BM25: FTS5 (postings of its own from 10,000 chunks)" in shown, shown


def test_each_block_of_postings_is_checked_when_first_read(docs: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A search checks the directory when it opens the file and each block of postings the first time it reads
    it: damage in a block no query has read yet is found by the first query that reads it."""
    monkeypatch.setattr(postings_file, "BLOCK", 256)
    folder = tmp_path / "idx"
    index = Index.open(folder, embedder="hashing-128")
    index.ingest(docs)
    meta = sidecar(folder, index)
    index.close()
    path = postings.post_path(folder, meta["commit"])
    described = meta["base"]["file"]
    assert len(described["blocks"]) > 4
    data = bytearray(path.read_bytes())
    data[len(data) - 40] ^= 0xFF   # the directory's header: found when the file is opened
    path.write_bytes(bytes(data))
    index = Index.open(folder)
    assert_fts5s_ranking(index)
    assert index.store.lexicons.state is None and "checksum" in index.store.lexicons.why
    index.close()
    data[len(data) - 40] ^= 0xFF
    path.write_bytes(bytes(data))
    segment = postings_file.Segment.open(path, described)

    def blocks(token: str) -> set[int]:
        t = int(segment.order[int(np.searchsorted(segment.keys, np.uint64(postings_file.term_key(token))))])
        return set(range(int(segment.starts[t]) * 7 // 256, (int(segment.starts[t + 1]) * 7 - 1) // 256 + 1))

    meet, budget = blocks("meet"), blocks("budget") | blocks("review")
    segment.close()
    assert not meet & budget
    data[min(meet) * 256] ^= 0xFF   # a block of "meeting"'s postings
    path.write_bytes(bytes(data))
    index = Index.open(folder)
    assert index.store.lexical(fts_query("budget review"), 5)
    assert index.store.lexicons.state is not None    # the blocks it read were sound
    assert_fts5s_ranking(index)                      # the first question reads the damaged block
    assert index.store.lexicons.state is None and f"block {min(meet)}" in index.store.lexicons.why


def test_rag_check_names_damaged_postings_and_repair_rebuilds_them(docs: Path, tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    index = Index.open(folder, embedder="hashing-128")
    index.ingest(docs)
    assert index.check().ok
    path = postings.post_path(folder, sidecar(folder, index)["commit"])
    index.close()
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    index = Index.open(folder, read_only=False)
    report = index.check()
    found = [f for f in report.findings if f.part == "postings"]
    assert not report.ok and found and path.name in found[0].problem and "--repair" in found[0].problem
    index.repair()
    assert index.check().ok
    assert_fts5s_ranking(index)
    assert index.store.lexicons.state is not None


def test_a_reader_that_sees_the_commit_before_its_postings_uses_them_once_written(docs: Path, tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    index = Index.open(folder, embedder="hashing-128")
    index.ingest(docs)
    side = postings.sidecar_path(folder, index.store.commit_number())
    index.close()
    kept = side.read_bytes()
    side.unlink()   # as between the writer's commit and its sidecar
    index = Index.open(folder)
    assert_fts5s_ranking(index)
    assert index.store.lexicons.state is None and not index.store.lexicons.why
    side.write_bytes(kept)
    assert_fts5s_ranking(index)
    assert index.store.lexicons.state is not None


def test_keeping_a_commit_twice_keeps_its_state(docs: Path, tmp_path: Path) -> None:
    folder = tmp_path / "idx"
    index = Index.open(folder, embedder="hashing-128")
    index.ingest(docs)
    before = {p.name: p.read_bytes() for p in folder.glob("lexicon.*")}
    assert postings.keep(index.store) == "kept"
    (docs / "airships.md").write_text("# Airships\n\nZeppelins crossed the Atlantic in 1928.\n")
    index.ingest(docs)
    assert postings.keep(index.store) == "kept"   # its delta stays, and so does its base
    after = {p.name: p.read_bytes() for p in folder.glob("lexicon.*")}
    assert {n: b for n, b in after.items() if n in before} == {n: b for n, b in before.items() if n.endswith(".post")}
    assert_fts5s_ranking(index)
    assert index.store.lexicons.state is not None


def test_postings_that_cannot_be_written_leave_the_ingest_whole(docs: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object, **__: object) -> dict:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(postings, "build_file", fail)
    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    summary = index.ingest(docs)
    assert summary.added == 5 and not list((tmp_path / "idx").glob("lexicon.*"))
    assert_fts5s_ranking(index)
    assert index.store.lexicons.state is None


def test_an_ingest_says_when_it_builds_a_new_base(docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A new base of the vector index or of the postings takes a minute or more at 1M chunks, after the bar is
    gone: the ingest says so first. A commit that only writes deltas says nothing, nor does a small index."""
    from rag.store import derived

    index = Index.open(tmp_path / "idx", embedder="hashing-128")
    index.ingest(docs, progress=True)
    assert "building" not in capsys.readouterr().err   # below NOTE_FROM chunks: a base takes a few seconds
    monkeypatch.setattr(derived, "NOTE_FROM", 1)
    (docs / "airships.md").write_text("# Airships\n\nZeppelins crossed the Atlantic in 1928.\n")
    monkeypatch.setattr(postings, "COMPACT_MIN", 0)   # any delta is too large: a new postings base
    monkeypatch.setattr(postings, "COMPACT_SHARE", 0.0)
    index.ingest(docs, progress=True)
    err = capsys.readouterr().err
    rows = index.store.chunk_count()
    assert f"ingest: building BM25 postings of {rows:,} chunks (a new base)…" in err
    assert "vector index" not in err   # its delta was written (vectors compact past COMPACT_MIN = 5,000 rows)
    (docs / "balloons.md").write_text("# Balloons\n\nThe first crewed balloon flight was in 1783.\n")
    monkeypatch.setattr(postings, "COMPACT_MIN", 5_000)
    monkeypatch.setattr(postings, "COMPACT_SHARE", 0.05)
    index.ingest(docs, progress=True)
    assert "building" not in capsys.readouterr().err   # deltas only
    fresh = Index.open(tmp_path / "idx2", embedder="hashing-128")
    fresh.ingest(docs, progress=True)
    err = capsys.readouterr().err
    assert "ingest: building the vector index from every chunk (a new base)…" in err
    assert f"ingest: building BM25 postings of {fresh.store.chunk_count():,} chunks (a new base)…" in err

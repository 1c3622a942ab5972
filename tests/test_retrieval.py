"""Fusion, diversity and the lexical query builder, on small hand-made rankings and a real index."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import Index
from rag.core.types import Chunk, Hit
from rag.retrieve.fusion import diversify, rrf, scale
from rag.retrieve.lexical import fts_query, query_terms


def test_rrf_rewards_agreement() -> None:
    fused = rrf([[(1, 9.0), (2, 8.0)], [(2, 5.0), (3, 4.0)]], k=60)
    assert max(fused, key=lambda r: fused[r]) == 2
    assert fused[1] == 1 / 61 and fused[3] == 1 / 62


def test_scale_takes_min_and_max_from_the_reference_rows_only() -> None:
    assert scale({1: 0.9, 2: 0.5, 3: 0.1}, {1, 2}) == pytest.approx({1: 1.0, 2: 0.0, 3: -1.0})
    assert scale({1: 2.0, 2: 2.0}, {1, 2}) == {1: 0.0, 2: 0.0}  # no spread: no division by zero


def hit(source: str, locator: dict, row: int) -> Hit:
    return Hit(Chunk(str(row), "d", f"text {row}", locator, 0, 6), 1.0 / row, source)


def test_diversify_caps_passages_per_place() -> None:
    hits = [hit("a.pdf", {"page": 7}, 1), hit("a.pdf", {"page": 7}, 2), hit("a.pdf", {"page": 7}, 3),
            hit("b.txt", {}, 4), hit("b.txt", {}, 5), hit("b.txt", {}, 6), hit("a.pdf", {"page": 2}, 7)]
    kept = [int(h.chunk.chunk_id) for h in diversify(hits, 5, per_place=2)]
    assert kept == [1, 2, 4, 5, 6]


def test_fts_query_never_leaks_syntax() -> None:
    assert query_terms('What is "NEAR(x)" AND the * of S2ORC?') == ["near", "s2orc"]  # single letters dropped
    assert fts_query("the of and") == ""
    assert fts_query('C++ "quoted" -minus') == '"quoted" OR "minus"'


def test_search_survives_odd_questions(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Unicode ünïcödé text and S2ORC corpus.", encoding="utf-8")
    idx = Index.open(tmp_path / "idx", embedder="hashing-64")
    idx.ingest(folder)
    for question in ['"unbalanced', "NEAR(a b)", "*", "ünïcödé?", "a OR b AND NOT c", "s2orc:"]:
        assert isinstance(idx.search(question, k=3), list)


def test_completed_fusion_finds_what_either_side_finds_and_k_does_not_move_the_top(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    words = ["walrus", "glacier", "turbine", "orchard", "lantern", "harbour", "meadow", "quarry"]
    for i, word in enumerate(words):
        (folder / f"{word}.txt").write_text(f"Notes on the {word}: the {word} number {i} is kept here.",
                                            encoding="utf-8")
    idx = Index.open(tmp_path / "idx", embedder="hashing-64")
    idx.ingest(folder)
    assert idx.search("quarry", k=1)[0].source == "quarry.txt"
    top3 = [(h.source, h.score) for h in idx.search("turbine orchard notes", k=3)]
    top8 = [(h.source, h.score) for h in idx.search("turbine orchard notes", k=8)]
    assert top8[:3] == top3 and {s for s, _ in top3[:2]} == {"turbine.txt", "orchard.txt"}


@pytest.mark.slow
def test_a_first_search_loads_the_vectors_and_the_model_side_by_side(tmp_path: Path) -> None:
    """Index.search_parts: in a fresh process the vector file loads on a thread while the model loads here
    (both import C extensions: a race between them once broke numpy's import), and the hits are the same."""
    import subprocess
    import sys

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Harbor\n\nThe harbor master logs every tide at dawn.\n", encoding="utf-8")
    (docs / "b.md").write_text("# Bakery\n\nSourdough needs a starter fed twice a day.\n", encoding="utf-8")
    Index.open(tmp_path / "index").ingest(docs)
    code = ("import sys, rag.index as ri; from pathlib import Path; ri.spare_core = lambda: sys.argv[1] == '1'; "
            f"idx = ri.Index.open(Path({str(tmp_path / 'index')!r}), create=False); "
            "print([h.source for h in idx.search('when are tides logged?', k=2)])")
    runs = [subprocess.run([sys.executable, "-c", code, side], capture_output=True, text=True, check=True).stdout
            for side in ("1", "1", "1", "0")]
    assert runs == ["['a.md', 'b.md']\n"] * 4


def test_faiss_is_searched_beside_bm25_a_database_after_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fusion._candidates: with a core to spare, FAISS (in_process) is searched on the embedding's thread, so
    at 1M chunks it hides behind BM25; a database's vectors (in_process False: the store's connection) are
    searched on the caller's thread after BM25. The hits are the same whichever thread searched."""
    import threading

    import rag.retrieve.fusion as fusion
    from rag.store.faiss import VectorIndex

    folder = tmp_path / "docs"
    folder.mkdir()
    for word in ("walrus", "glacier", "turbine", "orchard"):
        (folder / f"{word}.txt").write_text(f"Notes on the {word}: the {word} is kept here.", encoding="utf-8")
    idx = Index.open(tmp_path / "idx", embedder="hashing-64")
    idx.ingest(folder)
    threads: list[str] = []
    search = VectorIndex.search

    def recorded(self: VectorIndex, query: object, k: int) -> list[tuple[int, float]]:
        threads.append(threading.current_thread().name)
        return search(self, query, k)  # type: ignore[arg-type]

    monkeypatch.setattr(VectorIndex, "search", recorded)
    outcomes = {}
    for spare, in_process in ((True, True), (True, False), (False, True)):
        monkeypatch.setattr(fusion, "spare_core", lambda spare=spare: spare)
        monkeypatch.setattr(VectorIndex, "in_process", in_process)
        outcomes[spare, in_process] = [(h.source, h.score) for h in idx.search("turbine orchard notes", k=3)]
    assert threads == ["rag-query-embedding", "MainThread", "MainThread"]
    assert len({tuple(o) for o in outcomes.values()}) == 1

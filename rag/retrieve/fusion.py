"""Hybrid retrieval: dense (FAISS) and lexical (BM25 over FTS5) candidates, fused into one ranking.

The candidates are the top `depth` (at least k) of each retriever. Every candidate gets both scores (its
cosine from its stored vector, its BM25 score by an indexed look-up), each min-max scaled by the top
`depth` candidates, and the two are mixed half and half. On BEIR SciFact (tuned on train only) this
"completed" fusion gives test nDCG@10 0.7415 (train 0.742), against 0.735 (train 0.732) for the same
fusion over the two top lists (a passage missing from one list scoring 0 there) and 0.726 for reciprocal
rank fusion of the same candidates (bench/scifact.py).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from rag.core.cpu import usable_cores
from rag.core.types import Chunk, Hit
from rag.retrieve.lexical import fts_query

if TYPE_CHECKING:
    import numpy as np

    from rag.embed.registry import Embedder
    from rag.store.faiss import VectorIndex
    from rag.store.protocol import Store
    from rag.store.records import StoredChunk

Ranking = list[tuple[int, float]]
T = TypeVar("T")


@dataclass(frozen=True)
class RetrievalSettings:
    depth: int = 60            # candidates taken from each retriever (at least k)
    fusion: str = "convex"     # convex (completed, min-max normalised scores) or rrf
    dense_weight: float = 0.5  # convex: the dense share; BM25 gets the rest
    rrf_k: int = 60
    title_weight: float = 2.0
    per_place: int = 2         # at most this many passages from one place (source + page/heading)


def rrf(rankings: list[Ranking], k: int = 60) -> dict[int, float]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings a candidate appears in."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (row, _) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    return fused


def scale(scores: dict[int, float], reference: set[int]) -> dict[int, float]:
    """Min-max normalisation whose min and max come from the `reference` rows only (the other rows may
    fall below 0): the top of a ranking then does not move when more candidates are asked for."""
    known = [scores[r] for r in reference if r in scores] or list(scores.values()) or [0.0]
    low, span = min(known), (max(known) - min(known)) or 1.0
    return {row: (score - low) / span for row, score in scores.items()}


def completed_convex(candidates: dict[int, StoredChunk], query: np.ndarray, lexical: dict[int, float],
                     reference: set[int], dense_weight: float) -> dict[int, float]:
    """Convex fusion over completed scores: every candidate, whichever retriever found it, has its cosine
    (from its stored vector) and its BM25 score (0 where no query word occurs), so a passage that one side
    ranked below its cut keeps its real score there instead of 0. Both are min-max scaled over the
    candidates of the first `depth` of each ranking (`reference`)."""
    import numpy as np

    rows = list(candidates)
    if not rows:
        return {}
    matrix = np.frombuffer(b"".join(candidates[r].vector for r in rows), dtype=np.float32).reshape(len(rows), -1)
    dense = scale(dict(zip(rows, (float(c) for c in matrix @ query), strict=True)), reference)
    words = scale({r: lexical.get(r, 0.0) for r in rows}, reference)
    return {r: dense_weight * dense[r] + (1.0 - dense_weight) * words[r] for r in rows}


def retrieve(store: Store, vectors: VectorIndex, embedder: Embedder, question: str, k: int,
             settings: RetrievalSettings | None = None, keep: Callable[[Chunk], bool] | None = None) -> list[Hit]:
    """The top k hits. Candidates `keep` turns away are ranked as if they were not in the index (the
    answer path leaves out passages that address the assistant: rag/answer/injection.py)."""
    settings = settings or RetrievalSettings()
    depth = max(settings.depth, k)
    extra = depth // 3 if keep else 0          # room for the candidates turned away
    match = fts_query(question)
    query, dense, lexical, stored = _candidates(store, vectors, embedder, question, match, depth + extra,
                                                settings.title_weight)
    if keep is not None:
        dense = [d for d in dense if d[0] in stored and keep(stored[d[0]].chunk)][:depth]
        lexical = [x for x in lexical if x[0] in stored and keep(stored[x[0]].chunk)][:depth]
        stored = {row: stored[row] for row in dict.fromkeys([row for row, _ in dense + lexical])}
    if settings.fusion == "convex":
        scores = dict(lexical)
        scores.update(store.lexical_for(match, [r for r in stored if r not in scores], settings.title_weight))
        reference = {row for row, _ in dense[: settings.depth] + lexical[: settings.depth]}
        fused = completed_convex(stored, query, scores, reference, settings.dense_weight)
    else:
        fused = rrf([dense, lexical], settings.rrf_k)
    top = sorted(fused.items(), key=lambda item: -item[1])[: max(k * 4, k + 20)]
    hits = [Hit(stored[row].chunk, score, stored[row].source, stored[row].title, _cosine(stored[row], query))
            for row, score in top if row in stored]
    return diversify(hits, k, settings.per_place)


def _candidates(store: Store, vectors: VectorIndex, embedder: Embedder, question: str, match: str, limit: int,
                title_weight: float) -> tuple[np.ndarray, Ranking, Ranking, dict[int, StoredChunk]]:
    """(query vector, dense top `limit`, BM25 top `limit`, their chunks by row id, ascending). With a core to
    spare the query is embedded on a thread of its own while BM25 ranks here (see started), and a vector
    index in this process's memory (FAISS: `in_process`) is searched there too: at 1M chunks BM25 takes
    longer than the embedding and the approximate search together. The results are the same either way.
    All candidates are read in one call: on a database that other processes write, two reads could see two
    versions of one document (tests/test_postgres_concurrency.py)."""
    def dense_side() -> tuple[np.ndarray, Ranking | None]:
        query = embedder.embed([question])[0]
        return query, vectors.search(query, limit) if vectors.in_process else None

    side = started(dense_side, background=spare_core())
    try:
        lexical = store.lexical(match, limit, title_weight) if match else []
    finally:
        query, found = side()
    dense = found if found is not None else vectors.search(query, limit)
    stored = store.chunks_by_row(list(dict.fromkeys(row for row, _ in dense + lexical)))
    return query, dense, lexical, dict(sorted(stored.items()))


def spare_core() -> bool:
    """Whether the machine seems to have a core with nothing to do: the load average of the last minute is
    below the number of cores this process may use. Only then does a second thread pay; on busy cores the
    two threads hand the GIL to each other through the scheduler (SciFact, load 4.2: 1.7 ms p50 slower)."""
    cores = usable_cores()
    try:
        return cores > 1 and os.getloadavg()[0] < cores
    except OSError:   # no load average to read
        return False


def started(call: Callable[[], T], background: bool = True) -> Callable[[], T]:
    """Starts `call` (on a thread of its own with `background`, else at once, here); the function returned
    waits for it and gives its result (or raises its error). The query's embedding runs there while BM25
    runs here: both spend most of their time outside the GIL (numpy's BLAS, SQLite's sqlite3_step), so on a
    second free core BM25 costs nothing. SciFact, load 1.8: embedding + BM25 + reading its 60 candidates
    23.7 ms p50 one after the other, 16.2 side by side."""
    box: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            box.append((True, call()))
        except BaseException as exc:   # handed to the caller, raised there
            box.append((False, exc))

    thread = threading.Thread(target=run, name="rag-query-embedding", daemon=True)
    if background:
        thread.start()
    else:
        run()

    def result() -> T:
        if background:
            thread.join()
        ok, value = box[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    return result


def _cosine(stored: StoredChunk, query: np.ndarray) -> float:
    import numpy as np

    return float(np.frombuffer(stored.vector, dtype=np.float32) @ query)


def diversify(hits: list[Hit], k: int, per_place: int) -> list[Hit]:
    """The best k hits with at most `per_place` from one located place (a page, a heading): five
    passages from five places tell a reader more than four neighbours on one page. Hits without a
    locator (a plain text file) are not capped."""
    out: list[Hit] = []
    seen: dict[tuple[str, str], int] = {}
    for hit in hits:
        if hit.chunk.locator:
            place = (hit.source, json.dumps(hit.chunk.locator, sort_keys=True))
            if seen.get(place, 0) >= per_place:
                continue
            seen[place] = seen.get(place, 0) + 1
        out.append(hit)
        if len(out) == k:
            break
    return out

"""Hybrid retrieval: dense (FAISS) and lexical (BM25 over FTS5) candidates, fused into one ranking."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.types import Hit

if TYPE_CHECKING:
    from rag.embedders import Embedder
    from rag.store import Store
    from rag.vectors import VectorIndex

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves also
paper papers according described describe describes use used using does did do say says said
""".split())

Ranking = list[tuple[int, float]]
Fusion = Callable[[list[Ranking]], dict[int, float]]


@dataclass(frozen=True)
class RetrievalSettings:
    depth: int = 60            # candidates taken from each retriever
    fusion: str = "convex"     # convex (min-max normalised, equal weights) or rrf
    rrf_k: int = 60
    title_weight: float = 2.0
    per_place: int = 2         # at most this many passages from one place (source + page/heading)


def query_terms(question: str) -> list[str]:
    words = re.findall(r"[^\W_]+", question.lower())
    seen: dict[str, None] = {}
    for w in words:
        if w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
            seen.setdefault(w, None)
    return list(seen)


def fts_query(question: str) -> str:
    """An FTS5 MATCH expression: any of the question's content words (quoted, so no syntax leaks)."""
    return " OR ".join(f'"{t}"' for t in query_terms(question))


def rrf(rankings: list[Ranking], k: int = 60) -> dict[int, float]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings a candidate appears in."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (row, _) in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    return fused


def convex(rankings: list[Ranking], weights: tuple[float, ...] = (0.5, 0.5)) -> dict[int, float]:
    """Weighted sum of min-max normalised scores (a candidate missing from a ranking scores 0 there)."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=False):
        if not ranking:
            continue
        scores = [s for _, s in ranking]
        low, span = min(scores), (max(scores) - min(scores)) or 1.0
        for row, score in ranking:
            fused[row] = fused.get(row, 0.0) + weight * (score - low) / span
    return fused


def fuse(rankings: list[Ranking], settings: RetrievalSettings) -> dict[int, float]:
    if settings.fusion == "convex":
        return convex(rankings)
    return rrf(rankings, settings.rrf_k)


def retrieve(store: Store, vectors: VectorIndex, embedder: Embedder, question: str, k: int,
             settings: RetrievalSettings | None = None) -> list[Hit]:
    import numpy as np

    settings = settings or RetrievalSettings()
    query = embedder.embed([question])[0]
    dense = vectors.search(query, settings.depth)
    match = fts_query(question)
    lexical = store.lexical(match, settings.depth, settings.title_weight) if match else []
    fused = fuse([dense, lexical], settings)
    top = sorted(fused.items(), key=lambda item: -item[1])[: max(k * 4, k + 20)]
    stored = store.chunks_by_row([row for row, _ in top])
    hits = [Hit(stored[row].chunk, score, stored[row].source, stored[row].title,
                float(np.frombuffer(stored[row].vector, dtype=np.float32) @ query))
            for row, score in top if row in stored]
    return diversify(hits, k, settings.per_place)


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

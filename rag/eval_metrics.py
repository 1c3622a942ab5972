"""Ranking and answer metrics, as pure functions over plain ids and strings.

Ranking metrics follow trec_eval (which BEIR uses): graded relevance, DCG = sum(rel / log2(rank + 1)),
the ideal DCG from the judged documents, Recall@k over the judged relevant documents, MRR@k the
reciprocal rank of the first relevant document in the top k.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rag.textmatch import stems, strip_citations

Qrels = dict[str, int]   # document id -> graded relevance (> 0 is relevant)


def ndcg_at(ranked: Sequence[str], qrels: Qrels, k: int = 10) -> float:
    dcg = sum(qrels.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], qrels: Qrels, k: int = 100) -> float:
    relevant = {doc for doc, g in qrels.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], qrels: Qrels, k: int = 10) -> float:
    for rank, doc in enumerate(ranked[:k], start=1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def key_tokens(answer: str) -> set[str]:
    """The tokens an answer must show to count as correct: its content words, stemmed (numbers kept);
    an answer of stop words only ("the same") keeps all its words."""
    return stems(answer) or set(re.findall(r"[^\W_]+", answer.lower()))


def answer_correct(text: str, gold: Sequence[str]) -> bool:
    """True when every key token of one of the gold answers occurs in `text` (citations ignored)."""
    shown = stems(strip_citations(text)) | set(re.findall(r"[^\W_]+", text.lower()))
    return any(key_tokens(g) and key_tokens(g) <= shown for g in gold)

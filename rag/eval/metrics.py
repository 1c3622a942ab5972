"""Ranking, answer and text metrics, as pure functions over plain ids and strings.

Ranking metrics follow trec_eval (which BEIR uses): graded relevance, DCG = sum(rel / log2(rank + 1)),
the ideal DCG from the judged documents, Recall@k over the judged relevant documents, MRR@k the
reciprocal rank of the first relevant document in the top k.

Error rates of recognised text against a reference (CER for OCR, WER for speech) compare
whitespace-normalised text (runs of spaces and line breaks count as one space), so a different line
layout is not an error. The edit distance is Hyyrö's bit-parallel form of Myers' algorithm: one pass
over the hypothesis with Python's big integers as bit vectors, fast enough for pages of text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Sequence

from rag.answer.text import stems, strip_citations

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
    plain = strip_citations(text)   # "[2]" is a citation, not the number 2
    shown = stems(plain) | set(re.findall(r"[^\W_]+", plain.lower()))
    return any(key_tokens(g) and key_tokens(g) <= shown for g in gold)

def normalise_space(text: str) -> str:
    """Runs of whitespace to one space, trimmed."""
    return " ".join(text.split())


def edit_distance(ref: Sequence[Hashable], hyp: Sequence[Hashable]) -> int:
    """Levenshtein distance (insertions, deletions, substitutions, each costing 1)."""
    if not ref:
        return len(hyp)
    if not hyp:
        return len(ref)
    masks: dict[Hashable, int] = {}
    for i, item in enumerate(ref):
        masks[item] = masks.get(item, 0) | (1 << i)
    full = (1 << len(ref)) - 1
    top = 1 << (len(ref) - 1)
    plus, minus, score = full, 0, len(ref)
    for item in hyp:
        eq = masks.get(item, 0)
        xv = eq | minus
        xh = ((((eq & plus) + plus) & full) ^ plus) | eq
        h_plus = (minus | ~(xh | plus)) & full
        h_minus = plus & xh
        if h_plus & top:
            score += 1
        elif h_minus & top:
            score -= 1
        h_plus = ((h_plus << 1) | 1) & full
        h_minus = (h_minus << 1) & full
        plus = (h_minus | ~(xv | h_plus)) & full
        minus = h_plus & xv
    return score


def cer(ref: str, hyp: str) -> float:
    """Character error rate: edits per reference character, over whitespace-normalised text."""
    ref, hyp = normalise_space(ref), normalise_space(hyp)
    return edit_distance(ref, hyp) / max(1, len(ref))


def wer(ref: str, hyp: str) -> float:
    """Word error rate: word edits per reference word (words split at whitespace, case kept)."""
    ref_words, hyp_words = ref.split(), hyp.split()
    return edit_distance(ref_words, hyp_words) / max(1, len(ref_words))

"""Error rates of recognised text against a reference: CER for OCR, WER for speech (pure functions).

Both compare whitespace-normalised text (runs of spaces and line breaks count as one space), so a
different line layout is not an error. The edit distance is Hyyrö's bit-parallel form of Myers'
algorithm: one pass over the hypothesis with Python's big integers as bit vectors, fast enough for
pages of text (a few thousand characters in milliseconds).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence


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

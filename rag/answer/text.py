"""Small lexical tools shared by retrieval checks and answers: content words, crude stems, overlap."""

from __future__ import annotations

import re

from rag.retrieve.lexical import query_terms

_SUFFIXES = ("ingly", "edly", "ings", "ing", "ied", "ies", "ed", "es", "ly", "s")
_CITE = re.compile(r"\[(\d+(?:\s*[,;–-]\s*\d+)*)\]")
_CITE_MARK = re.compile(r"\s*" + _CITE.pattern)


def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> set[str]:
    return {stem(t) for t in query_terms(text)}


def coverage(question: str, text: str) -> float:
    """The share of the question's content words (stemmed) that occur in `text`."""
    wanted = stems(question)
    return len(wanted & stems(text)) / len(wanted) if wanted else 0.0


def cited_numbers(text: str) -> list[int]:
    """Source numbers cited as [1], [1, 3] or [2-3], in order of first appearance."""
    numbers: dict[int, None] = {}
    for group in _CITE.findall(text):
        for part in re.split(r"\s*[,;]\s*", group):
            a, _, b = part.replace("–", "-").partition("-")
            lo, hi = int(a), int(b or a)
            for n in range(lo, min(hi, lo + 20) + 1):
                numbers.setdefault(n, None)
    return list(numbers)


def strip_citations(text: str) -> str:
    """`text` without its [n] markers (and the space before each)."""
    return _CITE_MARK.sub("", text)


def split_sentences(text: str) -> list[str]:
    """Sentences of a model's answer: split after . ! ? (and any citations that follow) and at line breaks."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|(?<=\])\s+(?=[A-Z])|\s*\n\s*", text.strip())
    return [p.strip() for p in parts if p and p.strip()]

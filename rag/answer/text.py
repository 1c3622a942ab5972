"""Small lexical tools shared by retrieval checks and answers: content words, crude stems, overlap."""

from __future__ import annotations

import re

from rag.retrieve.lexical import query_terms

_ENDINGS = ("ingly", "edly", "ing", "ed", "ly")
_CITE = re.compile(r"\[(\d+(?:\s*[,;–-]\s*\d+)*)\]")
_CITE_MARK = re.compile(r"\s*" + _CITE.pattern)


def stem(word: str) -> str:
    """A crude stem that maps a word and its plural or -ed/-ing/-ly form to one string: hydrophones and
    hydrophone -> hydrophon, studies and study -> studi, trained and training -> train, boxes -> box."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("es") and word[:-2].endswith(("ss", "x", "z", "ch", "sh")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]   # stopped -> stop, running -> run
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]           # hydrophone -> hydrophon, so that it meets hydrophones
    if len(word) > 3 and word.endswith("y"):
        word = word[:-1] + "i"     # study -> studi, so that it meets studies
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


def near_words(a: str, b: str) -> float:
    """How well two stems match: 1 the same; 0.9 when one is a prefix of the other (assigne/assign,
    extraction/extract, 5 letters or more); 0.8 one edit apart, both 5 letters or more (OCR: CHPNGE/change)."""
    if a == b:
        return 1.0
    if a.isdigit() or b.isdigit():
        return 0.0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 5 and long_.startswith(short) and len(long_) - len(short) <= 4:
        return 0.9
    if len(short) >= 3 and long_[len(short):] in ("er", "or", "ee") and long_.startswith(short):
        return 0.9   # own / owner, assign / assignee
    if len(short) >= 5 and len(long_) - len(short) <= 1 and _one_edit(short, long_):
        return 0.8
    return 0.0


def _one_edit(a: str, b: str) -> bool:
    """Whether b is a (len(a) <= len(b)) one substitution or one insertion away."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    for i in range(len(b)):
        if b[:i] + b[i + 1:] == a:
            return True
    return False


def fuzzy_coverage(question: str, text: str) -> float:
    """The share of the question's content words that `text` holds, tolerant of OCR noise and word forms:
    each word scores its best `near_words` match among the text's stems."""
    wanted = stems(question)
    if not wanted:
        return 0.0
    held = stems(text)
    return sum(max((near_words(w, h) for h in held), default=0.0) if w not in held else 1.0
               for w in wanted) / len(wanted)

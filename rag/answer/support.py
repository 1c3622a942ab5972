"""The sentence-by-sentence check: every sentence of a model's answer must be supported by the source it
cites (its content words, its numbers and, with an embedder, its meaning); the rest is dropped."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rag.answer.answertype import number_values
from rag.answer.settings import AnswerSettings
from rag.answer.text import cited_numbers, near_words, split_sentences, stem, stems, strip_citations
from rag.core.text import sentence_ranges
from rag.core.types import Hit

if TYPE_CHECKING:
    from rag.embed.registry import Embedder


# Words a model uses about the task itself; they say nothing about the documents.
_PROMPT_WORDS = frozenset(stem(w) for w in ("answer", "question", "source", "document", "n", "text", "passage",
                                             "information", "inform"))


def claim_stems(sentence: str) -> set[str]:
    """The content words a sentence asserts (no task words, no lone digits such as section numbers)."""
    return {s for s in stems(strip_citations(sentence)) - _PROMPT_WORDS if not (s.isdigit() and len(s) == 1)}


def meaning_similarity(sentences: list[str], sources: list[Hit], embedder: Embedder) -> list[dict[int, float]]:
    """For each sentence: source number -> the highest cosine between it and one of that source's sentences."""
    pieces = [(n, hit.chunk.text[a:b]) for n, hit in enumerate(sources, start=1)
              for a, b in sentence_ranges(hit.chunk.text)]
    if not sentences or not pieces:
        return [{} for _ in sentences]
    vectors = embedder.embed([*sentences, *(text for _, text in pieces)])
    scores = vectors[: len(sentences)] @ vectors[len(sentences):].T
    out: list[dict[int, float]] = []
    for row in scores:
        best: dict[int, float] = {}
        for (n, _), value in zip(pieces, row, strict=True):
            best[n] = max(best.get(n, -1.0), float(value))
        out.append(best)
    return out


def supported_by(claim: set[str], meaning: dict[int, float] | None, source_stems: dict[int, set[str]],
                 settings: AnswerSettings) -> dict[int, float]:
    """Source number -> support for the sources that support a claim. Without an embedder: the share of
    the claim's content words the source holds must reach `min_support`. With one, the sentence must also
    mean much the same as one of the source's sentences (cosine >= `min_meaning`), and a paraphrase
    (cosine >= `paraphrase_similarity`) needs only `paraphrase_support` of the words."""
    out: dict[int, float] = {}
    for n, words in source_stems.items():
        lexical = held_share(claim, words)
        if meaning is None:
            ok = lexical >= settings.min_support
        else:
            cosine = meaning.get(n, 0.0)
            ok = (lexical >= settings.min_support and cosine >= settings.min_meaning) or \
                 (lexical >= settings.paraphrase_support and cosine >= settings.paraphrase_similarity)
        if ok:
            out[n] = lexical + (meaning or {}).get(n, 0.0)
    return out


def held_share(claim: set[str], words: set[str]) -> float:
    """The share of the claim's stems the source holds, each exactly or as a near form (OCR noise:
    "CHPNGE" for change; word forms: "recalibration" for recalibrated)."""
    if not claim:
        return 0.0
    found = sum(1 for c in claim if c in words or any(near_words(c, w) >= 0.8 for w in words))
    return found / len(claim)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_HELD_NUMBER = re.compile(r"\d+(?:[.,]\s?\d{3}(?!\d))+(?:[.,]\d+)?|\d+(?:[.,]\d+)*")   # OCR: "25, 400"


def numbers_in(sentence: str, source: str) -> bool:
    """Whether every number the sentence states is in the source: a small model that copies the words
    of a passage but invents its amounts ("the total is 10.59") is not supported by it. Numbers are
    compared by value, so "19.400", "19,400" and "19400" are one number, "174,60" is 174.60 and OCR's
    "25, 400" is 25,400; currency signs do not matter."""
    held: set[float] = set()
    for n in _HELD_NUMBER.findall(source):
        held |= number_values(n)
    return all(number_values(n) & held for n in _NUMBER.findall(strip_citations(sentence)))


def check_support(text: str, sources: list[Hit], settings: AnswerSettings | float,
                  embedder: Embedder | None = None, given: frozenset[str] = frozenset()) -> tuple[str, tuple[str, ...]]:
    """Keep the answer's sentences that a source supports, each ending with that source's [n].

    A sentence citing a source that does not support it is re-cited to the best supporting source;
    a sentence no source supports is dropped, and so is a repeat. Returns (checked text, dropped).
    `settings` may be just the lexical bar (`min_support`); an embedder adds the check of meaning.
    `given`: stems every source counts as holding — the question's words, which an answer may restate
    ("ScienceParse gets an F1 of 85.5 on titles"); a sentence that says nothing beyond them is dropped."""
    settings = settings if isinstance(settings, AnswerSettings) else AnswerSettings(min_support=settings)
    kept: list[str] = []
    dropped: list[str] = []
    said: list[set[str]] = []
    source_stems = {n: stems(hit.chunk.text) | given for n, hit in enumerate(sources, start=1)}
    sentences = [(s, strip_citations(s).strip()) for s in split_sentences(text)]
    meanings = meaning_similarity([bare for _, bare in sentences], sources, embedder) if embedder else None
    for i, (sentence, bare) in enumerate(sentences):
        claim = claim_stems(bare)
        if len(claim) < 2 or any(claim <= earlier for earlier in said):
            continue  # nothing to check ("The answer is [n]"), or a repeat of what was said
        if given and claim <= given:
            dropped.append(bare)  # it only restates the question
            continue
        claimed = [n for n in cited_numbers(sentence) if 1 <= n <= len(sources)]
        support = supported_by(claim, meanings[i] if meanings else None, source_stems, settings)
        support = {n: v for n, v in support.items() if numbers_in(bare, sources[n - 1].chunk.text)}
        ok = sorted(support, key=lambda n: (n not in claimed, -support[n]))
        if not ok:
            dropped.append(bare)
            continue
        said.append(claim)
        marks = "".join(f"[{n}]" for n in ok if n in claimed) or f"[{ok[0]}]"
        kept.append(f"{bare.rstrip()} {marks}" if not bare.endswith((".", "!", "?")) else f"{bare[:-1]} {marks}.")
    return " ".join(kept), tuple(dropped)

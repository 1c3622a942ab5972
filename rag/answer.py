"""From retrieved hits to an Answer: pick the passages that bear on the question, prompt, cite."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from ingest.chunking import sentence_ranges
from rag.embedders import Embedder
from rag.llm import ChatBackend, Message
from rag.prompts import NOT_FOUND, SOURCE_TEMPLATE, SYSTEM_PROMPT, UNSUPPORTED_NOTE, USER_TEMPLATE
from rag.textmatch import cited_numbers, coverage, split_sentences, stems, strip_citations
from rag.types import Answer, Citation, Hit, render_locator


@dataclass(frozen=True)
class AnswerSettings:
    max_sources: int = 5
    min_similarity: float = 0.30   # cosine(question, passage) a passage needs to go into the prompt …
    min_coverage: float = 0.6      # … or this share of the question's content words
    extractive_sentences: int = 3
    min_sentence_score: float = 0.40
    min_support: float = 0.6       # share of an answer sentence's content words one cited source must contain …
    min_meaning: float = 0.35      # … and cosine(sentence, the source's closest sentence), with an embedder;
    paraphrase_similarity: float = 0.75  # a sentence this close in meaning to a source sentence …
    paraphrase_support: float = 0.34     # … needs only this share of its content words there


def relevant(question: str, hits: list[Hit], settings: AnswerSettings) -> list[Hit]:
    """The hits that clear the relevance bar: irrelevant passages distract small models."""
    keep = [h for h in hits if h.similarity >= settings.min_similarity
            or coverage(question, h.chunk.text) >= settings.min_coverage]
    return keep[: settings.max_sources]


def sources_block(sources: list[Hit]) -> str:
    return "\n\n".join(SOURCE_TEMPLATE.format(number=i, source=h.source, where=render_locator(h.chunk.locator),
                                              text=h.chunk.text.strip())
                       for i, h in enumerate(sources, start=1))


def build_messages(question: str, sources: list[Hit]) -> list[Message]:
    return [("system", SYSTEM_PROMPT),
            ("user", USER_TEMPLATE.format(sources=sources_block(sources), question=question.strip()))]


def best_quote(hit: Hit, claim: str) -> Citation:
    """The sentence of the passage that best matches `claim`, with offsets into the section text."""
    chunk = hit.chunk
    wanted = stems(claim)
    best, best_score = (0, len(chunk.text)), 0.0
    for a, b in sentence_ranges(chunk.text):
        score = len(wanted & stems(chunk.text[a:b])) / (len(wanted) or 1)
        if score > best_score:
            best, best_score = (a, b), score
    a, b = best if best_score > 0 else (0, len(chunk.text))
    return Citation(hit.source, chunk.locator, chunk.text[a:b], 0, chunk.start + a, chunk.start + b)


def citations_for(text: str, sources: list[Hit]) -> tuple[Citation, ...]:
    """A citation for every source the answer cites, quoting the sentence that supports it."""
    out: list[Citation] = []
    for number in cited_numbers(text):
        if not 1 <= number <= len(sources):
            continue
        claims = " ".join(s for s in split_sentences(text) if f"[{number}" in s or f"{number}]" in s) or text
        quote = best_quote(sources[number - 1], claims)
        out.append(Citation(quote.source, quote.locator, quote.quote, number, quote.start, quote.end))
    return tuple(out)


# Words a model uses about the task itself; they say nothing about the documents.
_PROMPT_WORDS = frozenset({"answer", "question", "source", "sourc", "document", "n", "text", "passage", "inform"})


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
        lexical = len(claim & words) / len(claim)
        if meaning is None:
            ok = lexical >= settings.min_support
        else:
            cosine = meaning.get(n, 0.0)
            ok = (lexical >= settings.min_support and cosine >= settings.min_meaning) or \
                 (lexical >= settings.paraphrase_support and cosine >= settings.paraphrase_similarity)
        if ok:
            out[n] = lexical + (meaning or {}).get(n, 0.0)
    return out


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_in(sentence: str, source: str) -> bool:
    """Whether every number the sentence states is in the source: a small model that copies the words
    of a passage but invents its amounts ("the total is 10.59") is not supported by it."""
    held = {n.replace(",", "") for n in _NUMBER.findall(source)}
    return all(n.replace(",", "") in held for n in _NUMBER.findall(strip_citations(sentence)))


def check_support(text: str, sources: list[Hit], settings: AnswerSettings | float,
                  embedder: Embedder | None = None) -> tuple[str, tuple[str, ...]]:
    """Keep the answer's sentences that a source supports, each ending with that source's [n].

    A sentence citing a source that does not support it is re-cited to the best supporting source;
    a sentence no source supports is dropped, and so is a repeat. Returns (checked text, dropped).
    `settings` may be just the lexical bar (`min_support`); an embedder adds the check of meaning."""
    settings = settings if isinstance(settings, AnswerSettings) else AnswerSettings(min_support=settings)
    kept: list[str] = []
    dropped: list[str] = []
    said: list[set[str]] = []
    source_stems = {n: stems(hit.chunk.text) for n, hit in enumerate(sources, start=1)}
    sentences = [(s, strip_citations(s).strip()) for s in split_sentences(text)]
    meanings = meaning_similarity([bare for _, bare in sentences], sources, embedder) if embedder else None
    for i, (sentence, bare) in enumerate(sentences):
        claim = claim_stems(bare)
        if len(claim) < 2 or any(claim <= earlier for earlier in said):
            continue  # nothing to check ("The answer is [n]"), or a repeat of what was said
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


def says_not_found(text: str) -> bool:
    lowered = text.lower()
    return not text.strip() or "do not contain" in lowered or "does not contain" in lowered


def not_found(question: str, hits: list[Hit], prompt: str, model: str) -> Answer:
    return Answer(question, NOT_FOUND, (), prompt, model, tuple(hits), found=False)


def answer_with_llm(question: str, hits: list[Hit], backend: ChatBackend, settings: AnswerSettings,
                    on_token: Callable[[str], None] | None = None,
                    fallback: Callable[[], Answer] | None = None, embedder: Embedder | None = None) -> Answer:
    sources = relevant(question, hits, settings)
    messages = build_messages(question, sources)
    prompt = backend.render(messages)
    if not sources:
        return not_found(question, hits, prompt + "\n\n(no passage cleared the relevance bar: not sent)",
                         backend.model)
    if on_token is None:
        text = backend.complete(messages).strip()
    else:
        pieces = []
        for piece in backend.stream(messages):
            pieces.append(piece)
            on_token(piece)
        text = "".join(pieces).strip()
    if says_not_found(text):
        return replace(not_found(question, hits, prompt, backend.model), raw=text)
    checked, dropped = check_support(text, sources, settings, embedder)
    if not checked:
        if fallback is None:
            return replace(not_found(question, hits, prompt, backend.model), raw=text, dropped=dropped)
        quoted = fallback()
        note = f"{UNSUPPORTED_NOTE}\n{quoted.text}" if quoted.found else quoted.text
        return replace(quoted, text=note, prompt=prompt, model=backend.model, raw=text, dropped=dropped)
    return Answer(question, checked, citations_for(checked, sources), prompt, backend.model, tuple(sources),
                  raw=text, dropped=dropped)

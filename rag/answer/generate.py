"""From retrieved hits to an Answer: pick the passages that bear on the question, prompt, cite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rag.answer.evidence import naming_text, question_terms, term_coverage
from rag.answer.prompts import (
    MODEL_MISSED,
    NOT_FOUND,
    SET_ASIDE,
    SOURCE_TEMPLATE,
    SYSTEM_PROMPT,
    UNSUPPORTED_NOTE,
    USER_TEMPLATE,
)
from rag.answer.settings import AnswerSettings
from rag.answer.support import check_support
from rag.answer.text import cited_numbers, split_sentences, stems
from rag.core.text import sentence_ranges
from rag.core.types import Answer, Citation, Hit, render_locator
from rag.embed.registry import Embedder
from rag.llm.protocol import ChatBackend, Message


def relevant(question: str, hits: list[Hit], settings: AnswerSettings) -> list[Hit]:
    """The hits that clear the relevance bar: irrelevant passages distract small models.

    A hit clears it by meaning (cosine to the question) or by holding enough of the question's content
    words, counted in its text and in what names it (file name, title, heading, Notion path, channel),
    tolerant of OCR noise and word forms ("CHPNGE" meets "change", "assignee" meets "assigned")."""
    terms = question_terms(question)

    def clears(hit: Hit) -> bool:
        if hit.similarity >= settings.min_similarity:
            return True
        share = term_coverage(terms, f"{hit.chunk.text}\n{naming_text(hit)}")
        named = term_coverage(terms, naming_text(hit)) >= 0.9 / max(1, len(terms))  # the question names it
        return share >= settings.min_coverage or (named and share >= settings.min_named_coverage)

    return [h for h in hits if terms and clears(h) or h.similarity >= settings.min_similarity][: settings.max_sources]


def sources_block(sources: list[Hit]) -> str:
    return "\n\n".join(SOURCE_TEMPLATE.format(number=i, source=h.source, where=render_locator(h.chunk.locator),
                                              text=h.chunk.text.strip())
                       for i, h in enumerate(sources, start=1))


def excerpts_block(shown: list[tuple[Hit, str]]) -> str:
    """The passages as the model reads them (rag.answer.context.excerpts), numbered [n]."""
    return "\n\n".join(SOURCE_TEMPLATE.format(number=i, source=h.source, where=render_locator(h.chunk.locator),
                                              text=text)
                       for i, (h, text) in enumerate(shown, start=1))


def build_messages(question: str, shown: list[tuple[Hit, str]]) -> list[Message]:
    return [("system", SYSTEM_PROMPT),
            ("user", USER_TEMPLATE.format(sources=excerpts_block(shown), question=question.strip()))]


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


def says_not_found(text: str) -> bool:
    lowered = text.lower()
    return not text.strip() or "do not contain" in lowered or "does not contain" in lowered


def not_found(question: str, hits: list[Hit], prompt: str, model: str) -> Answer:
    return Answer(question, NOT_FOUND, (), prompt, model, tuple(hits), found=False)


def answer_with_llm(question: str, hits: list[Hit], backend: ChatBackend, settings: AnswerSettings,
                    on_token: Callable[[str], None] | None = None,
                    fallback: Callable[[], Answer] | None = None, embedder: Embedder | None = None) -> Answer:
    """The model's answer, checked sentence by sentence against its sources. With `fallback` (the extractive
    reader), the reader decides first whether the documents hold an answer, and its quoted unit replaces a
    model answer that does not state the value the unit holds (rag/answer/verify.py)."""
    from rag.answer.context import excerpts

    shown = excerpts(question, relevant(question, hits, settings))
    sources = [hit for hit, _ in shown]   # numbered as the prompt numbers them
    messages = build_messages(question, shown)
    prompt = backend.render(messages)
    if not sources:
        return not_found(question, hits, prompt + "\n\n(no passage cleared the relevance bar: not sent)",
                         backend.model)
    reader = fallback() if fallback is not None else None
    if reader is not None and not reader.found:
        why = reader.prompt.rsplit("(refused: ", 1)[-1].rstrip(")") if "(refused: " in reader.prompt else ""
        return not_found(question, hits, f"{prompt}\n\n(not sent to the model: the extractive reader found no "
                                         f"answer{': ' + why if why else ''})", backend.model)
    if on_token is None:
        text = backend.complete(messages).strip()
    else:
        pieces = []
        for piece in backend.stream(messages):
            pieces.append(piece)
            on_token(piece)
        text = "".join(pieces).strip()
    checked, dropped = ("", ()) if says_not_found(text) else \
        check_support(text, sources, settings, embedder, given=frozenset(stems(question)))
    citations = citations_for(checked, sources) if checked else ()
    from rag.answer.refusal import value_held
    from rag.answer.verify import agrees

    held = bool(checked) and value_held(question, checked, [sources[c.number - 1] for c in citations])
    if reader is None:
        if not held:
            return replace(not_found(question, hits, prompt, backend.model), raw=text,
                           dropped=dropped or ((checked,) if checked else ()))
    elif not held or not agrees(question, checked, [c.quote for c in reader.citations]):
        note = MODEL_MISSED if says_not_found(text) else UNSUPPORTED_NOTE if not checked else SET_ASIDE
        return replace(reader, text=f"{reader.text}\n{note}", prompt=prompt,
                       model=f"extractive ({backend.model}'s answer set aside)",
                       raw=text, dropped=dropped or ((checked,) if checked else ()))
    answer = Answer(question, checked, citations, prompt, backend.model, tuple(sources), raw=text, dropped=dropped)
    if reader is None:
        return answer
    from rag.answer.verify import with_evidence

    return with_evidence(answer, reader)

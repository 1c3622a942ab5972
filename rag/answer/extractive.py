"""`--llm none`: answer with the passages' own best sentences, each quoted and cited. No model."""

from __future__ import annotations

from rag.answer.generate import not_found, relevant, sources_block
from rag.answer.prompts import EXTRACTIVE_HEADER
from rag.answer.settings import AnswerSettings
from rag.answer.text import coverage
from rag.core.text import sentence_ranges
from rag.core.types import Answer, Citation, Hit
from rag.embed.registry import Embedder


def _candidates(sources: list[Hit]) -> list[tuple[int, int, int]]:
    """(source index, start, end) of each sentence of each source, offsets within the chunk. A unit under
    four words (a receipt line: "TOTAL 65.84") is quoted with the next one or two, up to four words."""
    out = []
    for i, hit in enumerate(sources):
        ranges = sentence_ranges(hit.chunk.text)
        for n, (a, _) in enumerate(ranges):
            for _, b in ranges[n: n + 3]:
                if len(hit.chunk.text[a:b].split()) >= 4:
                    out.append((i, a, b))
                    break
    return out


def answer_extractive(question: str, hits: list[Hit], embedder: Embedder, settings: AnswerSettings) -> Answer:
    sources = relevant(question, hits, settings)
    prompt = f"{EXTRACTIVE_HEADER}\n\n{sources_block(sources)}\n\nQuestion: {question.strip()}"
    candidates = _candidates(sources)
    if not candidates:
        return not_found(question, hits, prompt, "extractive")
    texts = [sources[i].chunk.text[a:b] for i, a, b in candidates]
    vectors = embedder.embed([question, *texts])
    similarity = vectors[1:] @ vectors[0]
    scored = sorted(((0.6 * float(sim) + 0.4 * coverage(question, text), cand)
                     for sim, text, cand in zip(similarity, texts, candidates, strict=True)), reverse=True)
    bar = max(settings.min_sentence_score, 0.85 * scored[0][0])  # only sentences close to the best one
    chosen: list[tuple[int, int, int]] = []
    for score, (i, a, b) in scored:   # best first; a span overlapping one already chosen adds nothing
        if score >= bar and len(chosen) < settings.extractive_sentences and \
                not any(i == j and a < d and c < b for j, c, d in chosen):
            chosen.append((i, a, b))
    if not chosen:
        return not_found(question, hits, prompt, "extractive")
    parts: list[str] = []
    citations: list[Citation] = []
    for i, a, b in chosen:
        number = i + 1  # the source's number in the listing above
        hit = sources[i]
        quote = hit.chunk.text[a:b]
        parts.append(f"“{quote}” [{number}]")
        if all(c.number != number or c.quote != quote for c in citations):
            citations.append(Citation(hit.source, hit.chunk.locator, quote, number,
                                      hit.chunk.start + a, hit.chunk.start + b))
    return Answer(question, " ".join(parts), tuple(citations), prompt, "extractive", tuple(sources))

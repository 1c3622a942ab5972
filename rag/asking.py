"""`Index.ask`: retrieval, then the answer (the extractive reader and the model, rag/answer/), then self-ask
for a question that needs facts from two places."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.answer.settings import AnswerSettings
from rag.core.types import Answer, Hit
from rag.llm.protocol import LLMSettings
from rag.retrieve.fusion import retrieve

if TYPE_CHECKING:
    from rag.index import Index


def ask(index: Index, question: str, llm: LLMSettings, k: int, on_token: Callable[[str], None] | None,
        answer_settings: AnswerSettings | None, self_ask: bool) -> Answer:
    from rag.llm.registry import preload

    # The bundled 135M model is distracted by more than three passages; larger models use five.
    answer_settings = answer_settings or AnswerSettings(max_sources=3 if llm.backend == "embedded" else 5)
    loaded = preload(llm)   # the model loads while retrieval runs
    # Passages that address the assistant ("ignore previous instructions") never reach the answer: they
    # are named in `suspects`, and ranked as if they were not in the index.
    suspects = tuple(h for h in index.search(question, k) if h.suspect)
    vectors, embedder = index.search_parts()
    hits = retrieve(index.store, vectors, embedder, question, k, keep=index.screen.passes)
    loaded()
    answer = replace(index._answer(question, hits, llm, on_token, answer_settings), suspects=suspects)
    if self_ask and llm.backend != "none":
        from rag.answer.selfask import self_ask as follow_ups
        from rag.answer.selfask import two_hop
        from rag.llm.registry import make_backend

        if two_hop(question):
            return follow_ups(question, answer, make_backend(llm), lambda q: index.ask(
                q, llm, k, answer_settings=answer_settings, self_ask=False))
    return answer


def answer_hits(index: Index, question: str, hits: list[Hit], llm: LLMSettings,
                on_token: Callable[[str], None] | None, answer_settings: AnswerSettings) -> Answer:
    """The answer from these hits: the extractive reader alone (`--llm none`), or the model checked by it."""
    from rag.answer.extractive import answer_extractive
    from rag.answer.generate import answer_with_llm, not_found, relevant
    from rag.llm.registry import make_backend

    if llm.backend == "none":
        return answer_extractive(question, hits, index.embedder, answer_settings)
    if not relevant(question, hits, answer_settings):
        return not_found(question, hits, "(no passage cleared the relevance bar: the model was not called)",
                         llm.model or llm.backend)
    return answer_with_llm(question, hits, make_backend(llm), answer_settings, on_token,
                           fallback=lambda: answer_extractive(question, hits, index.embedder, answer_settings),
                           embedder=index.embedder)

"""The knobs of answering: how many passages, the relevance bar, the support check's thresholds."""

from __future__ import annotations

from dataclasses import dataclass


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

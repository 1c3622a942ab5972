"""The knobs of answering: how many passages, the relevance bar, the support check's thresholds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerSettings:
    max_sources: int = 5
    min_similarity: float = 0.30   # cosine(question, passage) a passage needs to go into the prompt …
    min_coverage: float = 0.6      # … or this share of the question's content words
    min_named_coverage: float = 0.25  # … or this share when its file name or title holds one of them
    extractive_sentences: int = 3      # --llm none: at most this many units quoted …
    extractive_keep: float = 0.85      # … each scoring at least this share of the best one's score
    min_named: float = 0.5             # --llm none refuses when the best unit's passage holds less of the names
                                       # and numbers the question states, …
    typed_window: int = 3              # … or when none of the best this many units holds a value of the asked type
    min_support: float = 0.6       # share of an answer sentence's content words one cited source must contain …
    min_meaning: float = 0.35      # … and cosine(sentence, the source's closest sentence), with an embedder;
    paraphrase_similarity: float = 0.75  # a sentence this close in meaning to a source sentence …
    paraphrase_support: float = 0.34     # … needs only this share of its content words there

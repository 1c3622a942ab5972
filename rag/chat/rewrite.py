"""Follow-up questions made stand-alone, so that retrieval can find "and how big was it?".

With a language model, the model rewrites the follow-up given the last turns (REWRITE_SYSTEM_PROMPT).
Without one (`--llm none`), or when the model's rewrite is empty or odd, a deterministic rewrite adds
the previous question's content words (and the names and figures of its answer) to a question that
refers back ("it", "they", "that", "and how …?"). A question that does not refer back is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.prompts import REWRITE_SYSTEM_PROMPT, REWRITE_USER_TEMPLATE
from rag.answer.text import stems, strip_citations
from rag.llm.protocol import ChatBackend, Message
from rag.retrieve.lexical import query_terms

HISTORY_TURNS = 3
"""How many earlier turns the rewrite sees."""

REFERRING = frozenset("""
it its it's itself they them their theirs themselves that this these those he him his she her hers
there same former latter one ones
""".split())
"""Words that point back into the conversation."""

LEADING = ("and ", "but ", "or ", "so ", "also ", "then ", "what about ", "how about ")
CONJUNCTIONS = LEADING[:6]
"""Openers dropped from a rule rewrite ("and how big was it?" -> "How big was it? (about: …)")."""

Exchange = tuple[str, str]
"""(question as searched, answer text) of one earlier turn."""


@dataclass(frozen=True)
class Rewrite:
    question: str      # as asked
    searched: str      # what retrieval and the answer use
    method: str        # "none" (unchanged), "rules" or "llm"

    @property
    def rewritten(self) -> bool:
        return self.searched != self.question


def refers_back(question: str) -> bool:
    """True when the question leans on the conversation: a pronoun, or it opens with "and", "what about", …"""
    lowered = " ".join(question.lower().split())
    words = set(re.findall(r"[a-z']+", lowered))
    return bool(words & REFERRING) or lowered.startswith(LEADING)


def rewrite(question: str, history: Sequence[Exchange], backend: ChatBackend | None = None) -> Rewrite:
    """The stand-alone form of `question` given the earlier turns (oldest first)."""
    question = question.strip()
    if not history or not refers_back(question):
        return Rewrite(question, question, "none")
    if backend is not None:
        from rag.core.errors import LLMError

        try:
            candidate = clean_rewrite(backend.complete(rewrite_messages(question, history)))
        except LLMError:
            candidate = ""  # the answer step reports the server; retrieval still gets a usable question
        if plausible(question, candidate):
            return Rewrite(question, candidate, "llm")
    return Rewrite(question, rule_rewrite(question, history), "rules")


def rewrite_messages(question: str, history: Sequence[Exchange]) -> list[Message]:
    turns = "\n".join(f"User: {q.strip()}\nAssistant: {shorten(strip_citations(a))}"
                      for q, a in history[-HISTORY_TURNS:])
    return [("system", REWRITE_SYSTEM_PROMPT),
            ("user", REWRITE_USER_TEMPLATE.format(history=turns, question=question))]


def shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def clean_rewrite(text: str) -> str:
    """The first line of the model's reply, without a label ("Stand-alone question:") or quotes."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^(stand-alone question|standalone question|rewritten question|question)\s*:\s*", "", line,
                  flags=re.IGNORECASE)
    return line.strip().strip("\"'“”").strip()


def plausible(question: str, candidate: str) -> bool:
    """A rewrite keeps most of the question's own content words, is a question, and is not an essay."""
    if not candidate or len(candidate) > max(300, 4 * len(question)) or re.search(r"\[\d+\]", candidate):
        return False
    own = stems(" ".join(w for w in question.split() if w.lower().strip("?,.!") not in REFERRING))
    kept = len(own & stems(candidate)) / len(own) if own else 1.0
    return kept >= 0.5 and candidate.lower() != question.lower()


def rule_rewrite(question: str, history: Sequence[Exchange], limit: int = 6) -> str:
    """`question` plus the content words of the previous question and the names/figures of its answer."""
    previous_question, previous_answer = history[-1]
    have = set(query_terms(question))
    words = [w for w in content_words(previous_question) if w.lower() not in have]
    words += [w for w in salient_terms(previous_answer) if w.lower() not in have and w not in words]
    if not words:
        return question
    body = question
    for lead in CONJUNCTIONS:
        if body.lower().startswith(lead):
            body = body[len(lead):]
            break
    body = body[:1].upper() + body[1:]
    return f"{body} (about: {', '.join(words[:limit])})"


def content_words(text: str) -> list[str]:
    """The words of `text` that retrieval uses, in order, as written."""
    keep = set(query_terms(text))
    seen: dict[str, None] = {}
    for word in re.findall(r"[^\W_]+(?:[-.][^\W_]+)*", text):
        if word.lower() in keep and word.lower() not in REFERRING:
            seen.setdefault(word, None)
    return list(seen)


def salient_terms(answer: str, limit: int = 3) -> list[str]:
    """Names and figures of an answer: capitalised words inside a sentence, words with digits."""
    text = strip_citations(answer).replace("“", " ").replace("”", " ")
    found: dict[str, None] = {}
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        for i, word in enumerate(re.findall(r"[^\W_]+(?:[-.][^\W_]+)*", sentence)):
            if (any(ch.isdigit() for ch in word) and len(word) > 1) or (i > 0 and word[:1].isupper()):
                found.setdefault(word, None)
    return list(found)[:limit]

"""The model's answer against the extractive reader's: which one the user reads.

The extractive reader (rag/answer/extractive.py) decides first, in milliseconds, whether the passages hold
an answer and which unit holds it; its refusal rules are the ones that held on held-out questions. Then:
- it refuses: the answer is the refusal, and the model is not called;
- the question asks for a value (number, amount, date, duration, name, place): the model's answer stands
  when it passed the support check and states a value that the reader's chosen units hold; otherwise the
  reader's answer (the value, then the unit quoted whole) is shown, with a note that the model's was set
  aside;
- any other question (a definition, a description, yes or no): the model's answer stands when it passed the
  support check, else the reader's.
Measured on bench/dev_qa.jsonl with qwen-0.5b (README "Refusals"): the model alone stated the fact for
54% of the answerable questions and wrongly refused 13%; the reader alone 71% and 4%; this arbitration
keeps the reader's accuracy and refusals and uses the model's wording where it agrees.
"""

from __future__ import annotations

from rag.answer.answertype import SPECIFIC, candidates, expected_type, number_values


def _norm(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch.isalnum() or ch == ".").rstrip(".")


def stated_values(text: str, kind: str, question: str) -> set[str]:
    """The values of `kind` that `text` states, normalised, less those the question itself states."""
    asked = {_norm(s.text) for s in candidates(question, kind)}
    return {_norm(s.text) for s in candidates(text, kind)} - asked - {""}


def agrees(question: str, model_text: str, quoted: list[str]) -> bool:
    """Whether the model's answer states a value of the asked type that the quoted units hold."""
    kind = expected_type(question)
    if kind not in SPECIFIC:
        return True
    mine = stated_values(model_text, kind, question)
    if not mine:
        return False
    theirs = {v for q in quoted for v in stated_values(q, kind, question)}
    if mine & theirs:
        return True
    flat = _norm(" ".join(quoted))
    if any(len(v) >= 2 and v in flat for v in mine):
        return True
    numbers = {n for v in mine for n in number_values(v)}
    return bool(numbers & {n for v in theirs for n in number_values(v)})

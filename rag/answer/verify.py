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
An answer of the model's that stands is followed by the reader's quoted unit (`with_evidence`), so the user
reads the passage's own words beside the model's: a small model's sentence can be supported word by word
and still miss the fact (on the SQuAD slice the quote held it where the sentence did not for 5 of 50).
Measured on bench/dev_qa.jsonl with qwen-0.5b (README "Refusals"): the model alone stated the fact for
54% of the answerable questions and wrongly refused 13%; the reader alone 71% and 4%; this arbitration
keeps the reader's accuracy and refusals and uses the model's wording where it agrees.
"""

from __future__ import annotations

from dataclasses import replace

from rag.answer.answertype import SPECIFIC, candidates, expected_type, number_values
from rag.core.types import Answer, Citation


def norm_value(value: str) -> str:
    """A value as compared: lower case, letters, digits and the decimal point ("19,400" -> "19400")."""
    return "".join(ch for ch in value.lower() if ch.isalnum() or ch == ".").rstrip(".")


def stated_values(text: str, kind: str, question: str) -> set[str]:
    """The values of `kind` that `text` states, normalised, less those the question itself states."""
    asked = {norm_value(s.text) for s in candidates(question, kind)}
    return {norm_value(s.text) for s in candidates(text, kind)} - asked - {""}


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
    flat = norm_value(" ".join(quoted))
    if any(len(v) >= 2 and v in flat for v in mine):
        return True
    numbers = {n for v in mine for n in number_values(v)}
    return bool(numbers & {n for v in theirs for n in number_values(v)})


def with_evidence(answer: Answer, reader: Answer) -> Answer:
    """`answer` (the model's, numbered by its own sources) followed by the reader's first quoted unit, cited
    by the same numbers: the reader's passage gets the number the model's sources give it, or the next one."""
    if not reader.citations:
        return answer
    quote = reader.citations[0]
    hit = reader.hits[quote.number - 1]
    sources = list(answer.hits)
    ids = [h.chunk.chunk_id for h in sources]
    if hit.chunk.chunk_id not in ids:
        sources.append(hit)
        ids.append(hit.chunk.chunk_id)
    number = ids.index(hit.chunk.chunk_id) + 1
    if quote.quote.strip() and quote.quote.strip() in answer.text:
        return answer
    cited = Citation(quote.source, quote.locator, quote.quote, number, quote.start, quote.end)
    citations = answer.citations if any(c.number == number and c.start == cited.start for c in answer.citations) \
        else (*answer.citations, cited)
    return replace(answer, text=f"{answer.text}\n“{quote.quote}” [{number}]", citations=citations,
                   hits=tuple(sources))

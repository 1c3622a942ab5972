"""Whether a model's (support-checked) answer holds the asked fact, decided by something measurable.

`value_held`: for a question that asks for a number, amount, date, duration or name, the answer must
state a value of that type (not one the question itself states) that appears in a unit (sentence, line,
row, message) of a cited source, and that unit — with its neighbours — must hold at least `MIN_TERMS`
of the question's content words. A model that answers a near miss ("the budget of Y" when X was asked)
with a value from the wrong sentence fails it. Measured against the alternatives in README "Refusals".
"""

from __future__ import annotations

from rag.answer.answertype import SPECIFIC, candidates, expected_type
from rag.answer.evidence import question_terms, term_coverage
from rag.answer.units import units
from rag.answer.verify import norm_value, stated_values
from rag.core.types import Hit

MIN_TERMS = 0.34


def value_held(question: str, answer: str, cited: list[Hit]) -> bool:
    kind = expected_type(question)
    if kind not in SPECIFIC or not cited:
        return True  # nothing typed to check (definitions, yes/no, descriptions)
    values = stated_values(answer, kind, question)
    if not values:
        return False
    terms = question_terms(question)
    for hit in cited:
        text = hit.chunk.text
        found = units(text, hit.chunk.locator)
        for n, unit in enumerate(found):
            here = {norm_value(s.text) for s in candidates(text[unit.start:unit.end], kind)}
            if not values & here and not any(v in norm_value(text[unit.start:unit.end]) for v in values):
                continue
            a, b = found[max(0, n - 1)].start, found[min(len(found) - 1, n + 1)].end
            if not terms or term_coverage(terms, f"{text[a:b]} {hit.title}") >= MIN_TERMS:
                return True
    return False

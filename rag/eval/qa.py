"""Question-answering evaluation: does the right place come back, is the answer right, and does the
system refuse exactly when the documents do not hold the answer?

A QA set is a JSON Lines file, one question a line:

    {"question": "...", "answer": "Harbor-7", "source": "paper.pdf", "locator": {"page": 2}}
    {"question": "...", "answer": "NOT_IN_DOCS"}

`answer` may be a list of accepted answers. `source` is the path as `rag ls` shows it; `locator` is
optional and matches a hit whose locator holds the same values for those keys ({"page": 2} matches
{"page": 2, "page_label": "102"}). Each question goes through `Index.search` (hit@k) and `Index.ask`
(with the LLM the settings name, exactly as `rag ask` would run it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.errors import ConfigError
from rag.eval.metrics import answer_correct

if TYPE_CHECKING:
    from rag.core.types import Hit
    from rag.index import Index
    from rag.llm.protocol import LLMSettings

NOT_IN_DOCS = "NOT_IN_DOCS"


@dataclass(frozen=True)
class QAItem:
    question: str
    answers: tuple[str, ...]          # empty: the documents do not hold the answer
    source: str = ""
    locator: dict[str, Any] | None = None


@dataclass(frozen=True)
class QAResult:
    item: QAItem
    hit: bool | None                  # None: unanswerable, or no gold source given
    correct: bool
    refused: bool
    answer: str
    seconds: float


def _item(row: dict[str, Any], where: str) -> QAItem:
    question, answer = row.get("question"), row.get("answer")
    if not isinstance(question, str) or not question.strip():
        raise ConfigError(f"{where}: no \"question\" — each line needs a question and an answer")
    answers = [answer] if isinstance(answer, str) else answer
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
        raise ConfigError(f"{where}: \"answer\" must be a string, a list of strings, or \"{NOT_IN_DOCS}\"")
    gold = () if answers == [NOT_IN_DOCS] else tuple(answers)
    locator = row.get("locator")
    return QAItem(question.strip(), gold, str(row.get("source") or ""), locator if isinstance(locator, dict) else None)


def load_qa(path: Path) -> list[QAItem]:
    items: list[QAItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not JSON ({exc.msg}) — write one JSON object per line") from None
        items.append(_item(row if isinstance(row, dict) else {}, f"{path}:{number}"))
    if not items:
        raise ConfigError(f"{path}: no questions — write one JSON object per line with question and answer")
    return items


def place_matches(hit: Hit, source: str, locator: dict[str, Any] | None) -> bool:
    """The hit comes from `source` (as `rag ls` shows it) and its locator agrees on the gold keys."""
    if hit.source != source and not hit.source.endswith("/" + source):
        return False
    return all(str(hit.chunk.locator.get(key)) == str(value) for key, value in (locator or {}).items())


def judge(item: QAItem, hits: list[Hit], answer_text: str, found: bool, seconds: float) -> QAResult:
    hit = any(place_matches(h, item.source, item.locator) for h in hits) if item.answers and item.source else None
    correct = bool(item.answers) and found and answer_correct(answer_text, item.answers)
    return QAResult(item, hit, correct, not found, answer_text, seconds)


def run_qa(index: Index, items: list[QAItem], llm: LLMSettings, k: int,
           tick: Callable[[], None] = lambda: None) -> list[QAResult]:
    import time

    results: list[QAResult] = []
    for item in items:
        started = time.perf_counter()
        hits = index.search(item.question, k)
        answer = index.ask(item.question, llm=llm)
        results.append(judge(item, hits, answer.text, answer.found, time.perf_counter() - started))
        tick()
    return results


def summarise(results: list[QAResult], k: int) -> dict[str, Any]:
    answerable = [r for r in results if r.item.answers]
    unanswerable = [r for r in results if not r.item.answers]
    located = [r for r in answerable if r.hit is not None]

    def rate(rows: list[QAResult], test: Callable[[QAResult], bool]) -> float | None:
        return round(sum(map(test, rows)) / len(rows), 4) if rows else None

    return {"questions": len(results), "answerable": len(answerable), "unanswerable": len(unanswerable),
            f"hit@{k}": rate(located, lambda r: bool(r.hit)),
            "correct": rate(answerable, lambda r: r.correct),
            "correct_refusal": rate(unanswerable, lambda r: r.refused),
            "wrong_refusal": rate(answerable, lambda r: r.refused),
            "seconds_per_question": round(sum(r.seconds for r in results) / len(results), 3) if results else 0.0}


def result_json(result: QAResult) -> dict[str, Any]:
    return {"question": result.item.question, "gold": list(result.item.answers) or NOT_IN_DOCS,
            "source": result.item.source, "hit": result.hit, "correct": result.correct,
            "refused": result.refused, "answer": result.answer, "seconds": round(result.seconds, 3)}

"""The refusal methods compared on one run of the model over the dev set, every method decided on the same
answers: the records of `bench/dev_eval_llm.py --model-alone` (the model answered every question with
only its own refusal and the support check; the extractive reader's answer recorded beside it).

    .venv/bin/python bench/dev_eval_llm.py --model-alone --out /tmp/dev_alone.jsonl
    .venv/bin/python bench/refusal_methods.py /tmp/dev_alone.jsonl

Methods (correct = the answer contains an accepted answer; a refusal is "The documents do not contain…"):
  model        the model's own refusal and the support check;
  value        model, and its value of the asked type is in a cited unit with the question's words;
  reader       the extractive reader alone (`--llm none`);
  verified     the reader decides whether there is an answer; for a value question the model's answer
               stands when it passed and agrees with the reader's unit, else the reader's (shipped);
  reader-or-model  as verified, but when the reader refuses a value question the model may still answer.
The "verified" figures take the reader's correctness where the model's answer was set aside and where
they agree (an agreeing answer states the same value).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rows(path: Path) -> list[dict[str, Any]]:
    from rag.answer.answertype import SPECIFIC, expected_type

    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out.append({"line": r["line"], "un": r["gold"] == "NOT_IN_DOCS", "specific": expected_type(r["question"])
                    in SPECIFIC, "model": (r["found"], r["text_correct"]),
                    "value": (r["found"] and r["value_held"], r["text_correct"] and r["value_held"]),
                    "reader": (r["extractive_found"], r["extractive_correct"])})
    return out


def verified(x: dict[str, Any]) -> tuple[bool, bool]:
    if not x["reader"][0]:
        return (False, False)
    return x["reader"] if x["specific"] or not x["value"][0] else (True, x["value"][1])


def reader_or_model(x: dict[str, Any]) -> tuple[bool, bool]:
    if not x["reader"][0] and x["specific"]:
        return x["value"]
    return verified(x) if x["reader"][0] else x["value"]


METHODS: dict[str, Callable[[dict[str, Any]], tuple[bool, bool]]] = {
    "model": lambda x: x["model"], "value": lambda x: x["value"], "reader": lambda x: x["reader"],
    "verified": verified, "reader-or-model": reader_or_model}


def main() -> None:
    records = rows(Path(sys.argv[1]))
    print("| method | split | correct | unanswerable refused | wrongly refused |\n|---|---|---|---|---|")
    for name, decide in METHODS.items():
        for split, keep in (("even", 0), ("odd", 1), ("all", None)):
            part = [x for x in records if keep is None or x["line"] % 2 == keep]
            answerable, unanswerable = [x for x in part if not x["un"]], [x for x in part if x["un"]]
            correct = sum(decide(x)[0] and decide(x)[1] for x in answerable)
            wrong = sum(not decide(x)[0] for x in answerable)
            refused = sum(not decide(x)[0] for x in unanswerable)
            n = max(1, len(answerable))
            print(f"| {name} | {split} | {correct}/{len(answerable)} ({correct / n:.0%}) | "
                  f"{refused}/{len(unanswerable)} | {wrong}/{len(answerable)} ({wrong / n:.0%}) |")


if __name__ == "__main__":
    main()

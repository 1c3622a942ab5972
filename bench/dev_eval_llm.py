"""The dev set (bench/dev_qa.jsonl) with the embedded model, and the refusal methods compared on one run.

    .venv/bin/python bench/dev_eval_llm.py [--model qwen-0.5b] [--split even|odd|all] [--limit N]
                                           [--out /tmp/dev_llm.jsonl] [--index /tmp/realdocs-index]

Every question goes through `Index.ask` exactly as `rag ask` runs it (seconds and first streamed token
timed in-process, the model loaded once). Each finished question is appended to --out at once, so an
interrupted run keeps what it measured; `--summary-only` re-reads --out and prints the tables. Refusal
methods, all decided on the same answers:
  support   the shipped path: the model's own refusal, then the sentence-by-sentence support check;
  value     support, and the answer's value of the asked type is in a cited unit with the question's words
            (rag/answer/refusal.py value_held);
  gate      support, and the extractive answerer (--llm none) does not refuse the same passages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
METHODS = ("support", "value", "gate")


def measure(index_dir: Path, rows: list[dict[str, Any]], model: str | None, out: Path,
            model_alone: bool = False) -> None:
    from rag.answer.refusal import value_held
    from rag.answer.text import strip_citations
    from rag.eval.metrics import answer_correct
    from rag.index import Index
    from rag.llm.protocol import LLMSettings

    index = Index.open(index_dir)
    llm = LLMSettings(backend="embedded", model=model)
    if model_alone:   # the model answers every question, with only its support check: no extractive reader
        from rag.answer.generate import answer_with_llm
        from rag.llm.registry import make_backend

        def alone(question: str, hits: Any, llm: Any, on_token: Any, settings: Any) -> Any:
            return answer_with_llm(question, hits, make_backend(llm), settings, on_token, embedder=index.embedder)

        index._answer = alone  # type: ignore[method-assign]
    index.ask("warm up the embedder", llm=LLMSettings(backend="none"))
    for row in rows:
        first: list[float] = []
        began = time.perf_counter()
        answer = index.ask(row["question"], llm=llm,
                           on_token=lambda _p, first=first: first.append(time.perf_counter()) if not first else None)
        seconds = time.perf_counter() - began
        extractive = index.ask(row["question"], llm=LLMSettings(backend="none"))
        cited = [answer.hits[c.number - 1] for c in answer.citations if 0 < c.number <= len(answer.hits)]
        gold = row["answer"]
        answers = [gold] if isinstance(gold, str) else gold
        unanswerable = gold == "NOT_IN_DOCS"
        record = {"line": row["_line"], "kind": row.get("kind", ""), "question": row["question"], "gold": gold,
                  "answer": answer.text, "raw": answer.raw, "model": answer.model, "found": answer.found,
                  "value_held": answer.found and value_held(row["question"], answer.text, cited),
                  "extractive_found": extractive.found, "seconds": round(seconds, 2),
                  "first_token": round(first[0] - began, 2) if first else None,
                  "steps": len(getattr(answer, "steps", ())),
                  "extractive_answer": extractive.text,
                  "extractive_correct": (not unanswerable) and extractive.found and answer_correct(
                      strip_citations(extractive.text), answers),
                  "prompt_chars": len(answer.prompt),
                  "text_correct": (not unanswerable) and answer_correct(strip_citations(answer.text), answers)}
        with out.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        print(f"{row['_line']:3d} {seconds:5.1f}s {'ok ' if record['text_correct'] else '-- '} {row['question'][:60]}"
              f" → {answer.text[:90]!r}", flush=True)


def decided(r: dict[str, Any], method: str) -> bool:
    """Whether the answer stands (is not a refusal) under `method`."""
    if not r["found"]:
        return False
    return {"support": True, "value": r["value_held"], "gate": r["extractive_found"]}[method]


def table(records: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}")
    print(f"{'method':<9} {'correct':>12} {'refused unans.':>15} {'wrong refusals':>15} {'median s':>9} "
          f"{'first tok':>9}")
    answerable = [r for r in records if r["gold"] != "NOT_IN_DOCS"]
    unanswerable = [r for r in records if r["gold"] == "NOT_IN_DOCS"]
    firsts = [r["first_token"] for r in records if r["first_token"] is not None]
    for method in METHODS:
        correct = sum(decided(r, method) and r["text_correct"] for r in answerable)
        refused = sum(not decided(r, method) for r in unanswerable)
        wrong = sum(not decided(r, method) for r in answerable)
        median = statistics.median(r["seconds"] for r in records) if records else 0.0
        first = statistics.median(firsts) if firsts else 0.0
        print(f"{method:<9} {correct:>5}/{len(answerable):<6} {refused:>7}/{len(unanswerable):<7} "
              f"{wrong:>7}/{len(answerable):<7} {median:>9.1f} {first:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qa", type=Path, default=ROOT / "bench" / "dev_qa.jsonl")
    parser.add_argument("--index", type=Path, default=Path("/tmp/realdocs-index"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--split", choices=("even", "odd", "all"), default="all")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--lines", default=None, help="only these 0-based lines, e.g. 28,32,83")
    parser.add_argument("--out", type=Path, default=Path("/tmp/dev_llm.jsonl"))
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--model-alone", action="store_true",
                        help="the model answers every question (no extractive reader first): the records that "
                             "bench/refusal_methods.py compares the refusal methods on")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = [json.loads(line) for line in args.qa.read_text(encoding="utf-8").splitlines() if line.strip()]
    for number, row in enumerate(rows):
        row["_line"] = number
    rows = rows[0::2] if args.split == "even" else rows[1::2] if args.split == "odd" else rows
    if args.lines:
        wanted = {int(n) for n in args.lines.split(",")}
        rows = [r for r in rows if r["_line"] in wanted]
    if not args.summary_only:
        done = {json.loads(line)["line"] for line in args.out.read_text().splitlines()} if args.out.exists() else set()
        measure(args.index, [r for r in rows if r["_line"] not in done][: args.limit], args.model, args.out,
                args.model_alone)
    records = [json.loads(line) for line in args.out.read_text().splitlines() if line.strip()]
    table([r for r in records if r["line"] % 2 == 0], f"{args.out} even lines (tuned on)")
    table([r for r in records if r["line"] % 2 == 1], f"{args.out} odd lines (held out)")


if __name__ == "__main__":
    main()

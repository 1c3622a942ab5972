"""Answers on the development set over the real documents (bench/dev_qa.jsonl, see bench/dev_qa.md).

    .venv/bin/python bench/dev_eval.py [--split even|odd|all] [--llm none] [--model NAME] [--json out.json]
                                       [--index /tmp/realdocs-index] [--without-ground-truth] [--show wrong]

The documents of ../shared/data/real_docs are ingested once into an index folder outside the repository
(default /tmp/realdocs-index, or /tmp/realdocs-nogt-index with --without-ground-truth, which ingests a
copy without the `*.gt.*` files and audio/jfk.txt so that OCR and speech are measured alone). Ingesting is
incremental, so later runs reuse the index. Every question then goes through `Index.ask` with the chosen
backend, exactly as `rag ask --llm …` runs it (default embedder, shipped answer settings), and is scored
with `rag.eval.metrics.answer_correct` on the answer text with its [n] markers stripped.

Printed: correct / answerable, unanswerable refused, answerable wrongly refused, hit@5 on the gold place,
the median seconds of `Index.ask`, overall and per kind. `--split even|odd` keeps the questions at even
or odd positions (0-based line numbers): tune on even, report odd.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOCS = ROOT.parent / "shared" / "data" / "real_docs"
OCR_KINDS = ("scan", "image", "receipt")


def rows_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pick(rows: list[Any], split: str) -> list[Any]:
    return rows[0::2] if split == "even" else rows[1::2] if split == "odd" else rows


def docs_folder(docs: Path, without_ground_truth: bool) -> Path:
    """The folder to ingest: `docs` itself, or a copy beside the index without the ground-truth files."""
    if not without_ground_truth:
        return docs
    copy = Path("/tmp/realdocs-nogt")
    if not copy.is_dir():
        shutil.copytree(docs, copy, ignore=shutil.ignore_patterns("*.gt.*", "jfk.txt", "reference_parses"))
    return copy


def run(index_dir: Path, docs: Path, rows: list[dict[str, Any]], llm: Any, k: int) -> list[dict[str, Any]]:
    from rag.eval.qa import _item, judge, result_json
    from rag.index import Index

    index = Index.open(index_dir)
    started = time.perf_counter()
    summary = index.ingest(docs, progress=True)
    if summary.failed:
        print(f"warning: {len(summary.failed)} file(s) failed to ingest: {[f.source for f in summary.failed]}")
    print(f"ingest: {summary.added + summary.changed} read, {summary.unchanged} unchanged, "
          f"{time.perf_counter() - started:.1f} s")
    index.ask("warm up the embedder", llm=llm)
    out: list[dict[str, Any]] = []
    for number, row in enumerate(rows):
        item = _item(row, f"question {number}")
        hits = index.search(item.question, k)
        began = time.perf_counter()
        answer = index.ask(item.question, llm=llm)
        seconds = time.perf_counter() - began
        result = result_json(judge(item, hits, answer.text, answer.found, seconds))
        result.update(kind=row.get("kind", ""), type=row.get("type", ""), line=row["_line"],
                      model=answer.model)
        out.append(result)
    return out


def summary_of(results: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in results if r["gold"] != "NOT_IN_DOCS"]
    unanswerable = [r for r in results if r["gold"] == "NOT_IN_DOCS"]
    located = [r for r in answerable if r["hit"] is not None]
    return {"questions": len(results), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "correct": sum(r["correct"] for r in answerable),
            "refused_unanswerable": sum(r["refused"] for r in unanswerable),
            "wrong_refusals": sum(r["refused"] for r in answerable),
            "hit@5": sum(bool(r["hit"]) for r in located), "located": len(located),
            "median_seconds": round(statistics.median(r["seconds"] for r in results), 3) if results else 0.0}


def groups(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = sorted({r["kind"] for r in results})
    table = {"all": summary_of(results)}
    if len({r["line"] % 2 for r in results}) == 2:
        table["even lines (tune)"] = summary_of([r for r in results if r["line"] % 2 == 0])
        table["odd lines (held out)"] = summary_of([r for r in results if r["line"] % 2 == 1])
    table.update({kind: summary_of([r for r in results if r["kind"] == kind]) for kind in kinds})
    ocr = [r for r in results if r["kind"] in OCR_KINDS]
    if ocr:
        table["ocr (scan+image+receipt)"] = summary_of(ocr)
    return table


def _share(count: int, total: int) -> str:
    return f"{count}/{total} ({count / total:.0%})" if total else "-"


def print_table(table: dict[str, dict[str, Any]], title: str) -> None:
    print(f"\n{title}")
    print(f"{'part':<26} {'correct':>14} {'refused unans.':>15} {'wrong refusals':>15} {'hit@5':>12} {'median s':>9}")
    for part, s in table.items():
        print(f"{part:<26} {_share(s['correct'], s['answerable']):>14} "
              f"{_share(s['refused_unanswerable'], s['unanswerable']):>15} "
              f"{_share(s['wrong_refusals'], s['answerable']):>15} {_share(s['hit@5'], s['located']):>12} "
              f"{s['median_seconds']:>9.2f}")


def show(results: list[dict[str, Any]], which: str) -> None:
    for r in results:
        bad = (not r["correct"]) if r["gold"] != "NOT_IN_DOCS" else not r["refused"]
        if which == "all" or bad:
            mark = "ok " if not bad else "BAD"
            print(f"\n{mark} line {r['line']} [{r['kind']}/{r['type']}] {r['question']}\n"
                  f"    gold: {r['gold']}  hit: {r['hit']}\n    answer: {r['answer'][:400]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qa", type=Path, default=ROOT / "bench" / "dev_qa.jsonl")
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--without-ground-truth", action="store_true",
                        help="ingest a copy without *.gt.* and jfk.txt (OCR and speech measured alone)")
    parser.add_argument("--split", choices=("even", "odd", "all"), default="all")
    parser.add_argument("--llm", default="none", help="none | embedded | openai | ollama")
    parser.add_argument("--model", default=None, help="the model name or .gguf path for --llm")
    parser.add_argument("--kind", default=None, help="only questions of this kind (paper, slack, …)")
    parser.add_argument("--show", choices=("wrong", "all", "none"), default="none")
    parser.add_argument("--json", type=Path, default=None, help="write the summary and every answer here")
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.llm.protocol import LLMSettings

    rows = rows_of(args.qa)
    for number, row in enumerate(rows):
        row["_line"] = number
    rows = [r for r in pick(rows, args.split) if args.kind is None or r.get("kind") == args.kind]
    default_index = "/tmp/realdocs-nogt-index" if args.without_ground_truth else "/tmp/realdocs-index"
    index_dir = args.index or Path(default_index)
    llm = LLMSettings(backend=args.llm, model=args.model)
    results = run(index_dir, docs_folder(args.docs, args.without_ground_truth), rows, llm, args.k)
    show(results, args.show) if args.show != "none" else None
    table = groups(results)
    print_table(table, f"{args.qa.name} --split {args.split} --llm {args.llm}"
                       f"{' --model ' + args.model if args.model else ''} (index {index_dir})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": table, "questions": results}, indent=1), encoding="utf-8")
        print(f"per-question results: {args.json}")


if __name__ == "__main__":
    main()

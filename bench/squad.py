"""Answers and refusals on the SQuAD 2.0 slice (one article of SQuAD 2.0 dev, "Normans").

    .venv/bin/python bench/squad.py [--llm none embedded] [--index DIR] [--out bench/out/squad.json]

The 39 paragraphs become 39 text files (in a temporary folder, or --docs DIR) and the 208 questions a QA
set in `rag eval`'s format: an answerable question's accepted answers with the paragraph's file as the
source; an unanswerable one (112 of them) with "NOT_IN_DOCS". The files are ingested through the normal
path and every question runs through `rag eval` (Index.search + Index.ask, the shipped defaults), once per
--llm backend. Reported: hit@5 on the paragraph, answer correctness on the answerable, correct refusals
on the unanswerable, wrong refusals on the answerable; also on the two halves of the questions (even
and odd positions: the relevance bar was tuned on the even half). Beside them, 50 SciFact claims asked of
the same paragraphs measure refusals of questions off the documents' topic.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "squad_v2_dev_normans.json"


def write_set(data: Path, docs: Path) -> Path:
    """Paragraph files under `docs` and the QA set beside them (docs/../squad-qa.jsonl); returns its path."""
    article = json.loads(data.read_text(encoding="utf-8"))["data"][0]
    docs.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for number, paragraph in enumerate(article["paragraphs"], start=1):
        name = f"{article['title'].lower()}-{number:02d}.txt"
        (docs / name).write_text(paragraph["context"] + "\n", encoding="utf-8")
        for qa in paragraph["qas"]:
            answers = sorted({a["text"] for a in qa["answers"]})
            rows.append({"question": qa["question"], "answer": answers if not qa["is_impossible"] else "NOT_IN_DOCS",
                         "source": name, "id": qa["id"]})
    qa_path = docs.parent / "squad-qa.jsonl"
    qa_path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return qa_path


def off_topic(qa_path: Path, count: int = 50) -> Path | None:
    """`count` SciFact claims asked of the Normans paragraphs: questions off the documents' topic altogether
    (the relevance bar's job), beside SQuAD's unanswerable questions written against the very paragraph."""
    claims = ROOT.parent / "shared" / "data" / "scifact" / "queries.jsonl"
    if not claims.is_file():
        return None
    rows = [json.loads(line) for line in claims.read_text(encoding="utf-8").splitlines()[:count]]
    path = qa_path.with_name("off-topic-qa.jsonl")
    path.write_text("".join(json.dumps({"question": r["text"], "answer": "NOT_IN_DOCS"}) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def halves(results: list[Any], k: int) -> dict[str, Any]:
    from rag.eval.qa import summarise

    return {"tune (even)": summarise(results[0::2], k), "held out (odd)": summarise(results[1::2], k)}


def run(index_dir: Path, docs: Path, qa_path: Path, backends: list[str], k: int, split: str = "all",
        off: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    from rag.eval.qa import load_qa, result_json, run_qa, summarise
    from rag.index import Index
    from rag.llm.protocol import LLMSettings

    index = Index.open(index_dir)
    summary = index.ingest(docs)
    items = load_qa(qa_path)
    items = items[0::2] if split == "even" else items[1::2] if split == "odd" else items
    report: dict[str, Any] = {"ingest": {"files": summary.added + summary.changed + summary.unchanged,
                                         "embedded": summary.embedded_chunks, "seconds": round(summary.seconds, 2)}}
    for backend in backends:
        with tqdm(total=len(items), desc=f"squad --llm {backend}", unit="q") as bar:
            results = run_qa(index, items, LLMSettings(backend=backend), k, bar.update)
        parts = halves(results, k) if split == "all" else {"tune (even)" if split == "even" else "held out (odd)":
                                                           summarise(results, k)}
        report[backend] = {"all": summarise(results, k), **parts,
                           "questions": [result_json(r) for r in results]}
        extra = off_topic(qa_path) if off else None
        if extra:
            others = run_qa(index, load_qa(extra), LLMSettings(backend=backend), k)
            report[backend]["off-topic"] = {**summarise(others, k), "questions": [result_json(r) for r in others]}
    return report


def print_table(report: dict[str, Any], backends: list[str]) -> None:
    print(f"{'--llm':<10} {'part':<16} {'hit@5':>6} {'correct':>8} {'refuse ok':>10} {'refuse wrong':>13} {'s/q':>6}")
    for backend in backends:
        for part in ("all", "tune (even)", "held out (odd)"):
            if part not in report[backend]:
                continue
            s = report[backend][part]
            print(f"{backend:<10} {part:<16} {s['hit@5']:>6.1%} {s['correct']:>8.1%} {s['correct_refusal']:>10.1%} "
                  f"{s['wrong_refusal']:>13.1%} {s['seconds_per_question']:>6.2f}")
        if "off-topic" in report[backend]:
            s = report[backend]["off-topic"]
            print(f"{backend:<10} {'off-topic (50)':<16} {'-':>6} {'-':>8} {s['correct_refusal']:>10.1%} {'-':>13} "
                  f"{s['seconds_per_question']:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", nargs="+", default=["none", "embedded"])
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: a temporary one)")
    parser.add_argument("--docs", type=Path, default=None, help="where to write the paragraphs (default: temporary)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "squad.json")
    parser.add_argument("--split", choices=("all", "even", "odd"), default="all",
                        help="only the even (tuned on) or odd (held out) questions")
    parser.add_argument("--no-off-topic", action="store_true", help="skip the 50 SciFact claims")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    with tempfile.TemporaryDirectory(prefix="squad-") as tmp:
        docs = args.docs or Path(tmp) / "normans"
        qa_path = write_set(DATA, docs)
        started = time.perf_counter()
        report = run(args.index or Path(tmp) / "index", docs, qa_path, args.llm, 5, args.split,
                     not args.no_off_topic)
        report["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print_table(report, args.llm)
    print(f"per-question results: {args.out}")


if __name__ == "__main__":
    main()

"""How long one question takes a user: `rag ask` from process start to the last word, and to the first
streamed token, with the default bundled model, beside `--llm none` in the same run.

    .venv/bin/python bench/ask_speed.py --index /tmp/realdocs-index [--n 8] [--models default none]

Each question runs in a fresh process (model load included), one at a time. The questions are every k-th
answerable question of bench/dev_qa.jsonl, so they cover papers, scans, Slack and Notion.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = """
import sys, time
from rag import Index
from rag.llm.protocol import LLMSettings
index, question, backend, model = sys.argv[1:5]
idx = Index.open(index, create=False)
llm = None if backend == "default" else LLMSettings(backend=backend, model=model or None)
first = []
def on_token(piece):
    if not first:
        first.append(time.time())
answer = idx.ask(question, llm=llm, on_token=on_token) if llm else idx.ask(question, on_token=on_token)
print("FIRST", first[0] if first else time.time(), "MODEL", answer.model, flush=True)
"""


def questions(path: Path, n: int) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [r["question"] for r in rows if r.get("answer") != "NOT_IN_DOCS" and r.get("kind") != "two_hop"]
    step = max(1, len(answerable) // n)
    return answerable[::step][:n]


def run(index: str, question: str, backend: str) -> tuple[float, float, str]:
    start = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, index, question, backend, ""], capture_output=True,
                         text=True, check=True)
    end = time.time()
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("FIRST"))
    parts = line.split()
    return end - start, float(parts[1]) - start, " ".join(parts[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--questions", type=Path, default=HERE / "dev_qa.jsonl")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--models", nargs="+", default=["default", "none"])
    args = parser.parse_args()
    asked = questions(args.questions, args.n)
    medians: dict[str, tuple[float, float]] = {}
    header = f"{'backend':10} {'model':12} {'median s':>9} {'p90 s':>7} {'first token s':>14}"
    print(f"{header}  (n={len(asked)}, fresh process each)")
    for backend in args.models:
        totals, firsts, model = [], [], ""
        for q in asked:
            total, first, model = run(args.index, q, backend)
            totals.append(total)
            firsts.append(first)
        totals.sort()
        medians[backend] = (statistics.median(totals), statistics.median(firsts))
        p90 = totals[min(len(totals) - 1, int(0.9 * len(totals)))]
        print(f"{backend:10} {model:12} {medians[backend][0]:9.1f} {p90:7.1f} {medians[backend][1]:14.1f}", flush=True)
    if "default" in medians and "none" in medians:
        print(f"default / none: {medians['default'][0] / medians['none'][0]:.1f}x the wall time of --llm none")


if __name__ == "__main__":
    main()

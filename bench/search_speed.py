"""How fast a search is: warm `Index.search` p50/p95 at k=5 and k=10, and `rag search` from process start.

    .venv/bin/python bench/scifact.py --index /tmp/scifact-index --no-baselines   # build the index once
    .venv/bin/python bench/search_speed.py --index /tmp/scifact-index [--queries 100] [--cold 5] [--out F]

Warm: one process, the model and the vectors loaded by a first search, then each SciFact test claim
(the first --queries of them) searched once per k through `Index.search` with the shipped defaults; each
k runs on a freshly opened index (the embedder shared), so the injection screen meets each passage
fresh, as it does for the varied questions of a real session. The query embedding alone
(`embedder.embed([q])`) is timed on the same queries and reported beside it. Cold: `rag search` run
--cold times as a new process, timed from start to exit. The load average (1 minute) is printed before
and after: on a shared machine the figures are only comparable at a similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "scifact"


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


def warm(index_dir: Path, queries: list[str]) -> dict[str, Any]:
    from rag.index import Index

    first = Index.open(index_dir, create=False)
    first.search("warm-up: what does the index hold?", k=10)
    embedder = first.embedder
    out: dict[str, Any] = {"embed": percentiles([_timed(lambda q=q: embedder.embed([q])) for q in queries])}
    for k in (5, 10):
        with Index.open(index_dir, embedder=embedder, create=False) as idx:
            idx.search("warm-up: what does the index hold?", k=k)
            out[f"k={k}"] = percentiles([_timed(lambda q=q, k=k, idx=idx: idx.search(q, k=k)) for q in queries])
    first.close()
    return out


def cold(index_dir: Path, query: str, runs: int) -> dict[str, Any]:
    rag = Path(sys.executable).parent / "rag"
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(rag), "search", query, "--index", str(index_dir)], check=True,
                       stdout=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3),
            "runs_s": [round(s, 3) for s in seconds]}


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="an index of SciFact (bench/scifact.py --index)")
    parser.add_argument("--queries", type=int, default=100, help="test claims to search (default 100)")
    parser.add_argument("--cold", type=int, default=5, help="`rag search` runs from process start (default 5)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures here as JSON")
    args = parser.parse_args()
    from rag.eval.beir import load_beir

    queries = list(load_beir(DATA, "test").queries.values())[: args.queries]
    report: dict[str, Any] = {"queries": len(queries), "load_before": round(os.getloadavg()[0], 2)}
    report.update(warm(args.index, queries))
    report["cold"] = cold(args.index, queries[0], args.cold) if args.cold else None
    report["load_after"] = round(os.getloadavg()[0], 2)
    print(f"{len(queries)} SciFact test claims, load average {report['load_before']} -> {report['load_after']}")
    e = report["embed"]
    print(f"query embedding alone      p50 {e['p50_ms']:7.2f} ms  p95 {e['p95_ms']:7.2f} ms")
    for k in (5, 10):
        s = report[f"k={k}"]
        print(f"Index.search k={k:<2} (warm)  p50 {s['p50_ms']:7.2f} ms  p95 {s['p95_ms']:7.2f} ms")
    if report["cold"]:
        c = report["cold"]
        print(f"rag search (cold)          median {c['median_s']:.3f} s  min {c['min_s']:.3f} s  runs {c['runs_s']}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

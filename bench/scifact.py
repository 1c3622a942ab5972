"""BEIR SciFact through the normal path: ingest the corpus, then nDCG@10, Recall@100, MRR@10 on the test claims.

    .venv/bin/python bench/scifact.py [--index DIR] [--train] [--no-baselines] [--out bench/out/scifact.json]

The corpus (5,183 abstracts in corpus.jsonl) is ingested with `Index.ingest` exactly as `rag ingest` does
it (the .jsonl loader: one section per record, the record's title before each of its chunks), into a
fresh temporary index unless --index names one (a second run over the same index embeds nothing, so it
reports the first run's figures as `reused`). The queries run through `Index.search` with the shipped
defaults, as `rag eval ../shared/data/scifact --split test --index DIR` runs them. Beside the shipped
fusion, the same run measures our own dense-only and BM25-only rankings and reciprocal rank fusion
(the same candidates, other settings). Settings were tuned on qrels/train.tsv only (--train reports it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "scifact"

# Published figures (BEIR paper, MTEB) and the LlamaIndex probe quoted in the issue; NOT measured here.
QUOTED = {"BM25 (BEIR paper)": 0.665, "BM25 + cross-encoder rerank (BEIR paper)": 0.688,
          "all-MiniLM-L6-v2 dense (MTEB)": 0.645, "bge-small-en-v1.5 dense (MTEB)": 0.713,
          "stock LlamaIndex fusion, same MiniLM (issue)": 0.717}


def measure(index: Any, data: Any, name: str, settings: Any = None) -> dict[str, Any]:
    from tqdm import tqdm

    from rag.eval.beir import run_beir, summarise

    with tqdm(total=len(data.queries), desc=f"{name} ({data.split})", unit="q", leave=False) as bar:
        results = run_beir(index, data, bar.update, settings)
    return summarise(results)


def ingest(index: Any, corpus: Path) -> dict[str, Any]:
    started = time.perf_counter()
    summary = index.ingest(corpus, progress=True)
    seconds = time.perf_counter() - started
    chunks = index.store.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    return {"seconds": round(seconds, 1), "chunks": chunks, "embedded": summary.embedded_chunks,
            "reused": summary.reused_chunks, "unchanged_files": summary.unchanged,
            "chunks_per_second": round(summary.embedded_chunks / seconds, 1) if summary.embedded_chunks else None}


def run(index_dir: Path, train: bool, baselines: bool) -> dict[str, Any]:
    from dataclasses import replace

    from rag.eval.beir import load_beir
    from rag.index import Index
    from rag.retrieve.fusion import RetrievalSettings

    index = Index.open(index_dir)
    report: dict[str, Any] = {"ingest": ingest(index, DATA / "corpus.jsonl")}
    test = load_beir(DATA, "test")
    report["test"] = {"shipped (completed convex fusion)": measure(index, test, "shipped")}
    if baselines:
        base = RetrievalSettings()
        for name, settings in (("dense only (ours)", replace(base, dense_weight=1.0)),
                               ("BM25 only (ours, FTS5)", replace(base, dense_weight=0.0)),
                               ("reciprocal rank fusion (ours)", replace(base, fusion="rrf"))):
            report["test"][name] = measure(index, test, name, settings)
    if train:
        report["train"] = {"shipped (completed convex fusion)": measure(index, load_beir(DATA, "train"), "shipped")}
    report["quoted, not measured"] = QUOTED
    return report


def print_report(report: dict[str, Any]) -> None:
    ing = report["ingest"]
    print(f"ingest: {ing['seconds']} s, {ing['chunks']} chunks ({ing['embedded']} embedded, {ing['reused']} reused"
          f"{', file unchanged' if ing['unchanged_files'] else ''}), {ing['chunks_per_second'] or '-'} chunks/s")
    print(f"{'split':<6} {'ranking':<40} {'nDCG@10':>8} {'R@100':>7} {'MRR@10':>7} {'ms/q':>6}")
    for split in ("test", "train"):
        for name, s in report.get(split, {}).items():
            print(f"{split:<6} {name:<40} {s['ndcg@10']:>8.4f} {s['recall@100']:>7.4f} {s['mrr@10']:>7.4f} "
                  f"{s['ms_per_query']:>6.0f}")
    for name, value in report["quoted, not measured"].items():
        print(f"{'test':<6} {name:<40} {value:>8.3f}   (quoted, not measured)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: a fresh temporary one)")
    parser.add_argument("--train", action="store_true", help="also report the train split (tuning set)")
    parser.add_argument("--no-baselines", action="store_true", help="only the shipped ranking")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scifact.json")
    args = parser.parse_args()
    if not (DATA / "corpus.jsonl").is_file():
        sys.exit(f"{DATA}: SciFact is absent — it sits beside the checkout (../shared/data/scifact)")
    with tempfile.TemporaryDirectory(prefix="scifact-") as tmp:
        report = run(args.index or Path(tmp) / "index", args.train, not args.no_baselines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print_report(report)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()

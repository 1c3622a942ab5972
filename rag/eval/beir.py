"""Retrieval evaluation on a BEIR-format set: corpus.jsonl, queries.jsonl, qrels/<split>.tsv.

The corpus goes into the index through the normal ingest path (the .jsonl loader makes each record a
section located by {"record": id}), so a second run re-embeds nothing. Each query runs through
`Index.search` with the index's own retrieval settings, exactly as `rag search` runs it; the passages
are mapped back to their records, and a record ranks where its best passage ranks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.errors import ConfigError
from rag.eval.metrics import Qrels, mrr_at, ndcg_at, recall_at

if TYPE_CHECKING:
    from rag.core.types import Hit
    from rag.index import Index
    from rag.retrieve.fusion import RetrievalSettings

DEPTH = 100   # documents ranked per query: Recall@100 needs 100


@dataclass(frozen=True)
class BeirSet:
    folder: Path
    split: str
    queries: dict[str, str]           # the judged queries of the split, id -> text
    qrels: dict[str, Qrels]

    @property
    def corpus(self) -> Path:
        return self.folder / "corpus.jsonl"


@dataclass(frozen=True)
class QueryResult:
    query_id: str
    ranked: tuple[str, ...]           # corpus ids, best first
    ndcg: float
    recall: float
    mrr: float
    seconds: float


def is_beir(folder: Path) -> bool:
    return folder.is_dir() and (folder / "corpus.jsonl").is_file() and (folder / "queries.jsonl").is_file()


def read_qrels(path: Path) -> dict[str, Qrels]:
    """query id -> {corpus id: grade}; a header line ("query-id corpus-id score") is skipped."""
    qrels: dict[str, Qrels] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) < 3 or not parts[-1].strip().lstrip("-").isdigit():
            if number == 1 or not line.strip():
                continue
            raise ConfigError(f"{path}:{number}: expected 'query-id<TAB>corpus-id<TAB>score' — fix the line")
        qrels.setdefault(parts[0], {})[parts[-2]] = int(parts[-1])
    return qrels


def load_beir(folder: Path, split: str) -> BeirSet:
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        found = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise ConfigError(f"{qrels_path}: no such qrels file — use --split with one of: "
                          f"{', '.join(found) or '(none: add qrels/<split>.tsv)'}")
    qrels = {q: r for q, r in read_qrels(qrels_path).items() if any(g > 0 for g in r.values())}
    texts: dict[str, str] = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                texts[str(row["_id"])] = str(row["text"])
    missing = [q for q in qrels if q not in texts]
    if missing:
        raise ConfigError(f"{folder / 'queries.jsonl'}: {len(missing)} judged queries are missing "
                          f"(first: {missing[0]}) — check that the qrels belong to this set")
    return BeirSet(folder, split, {q: texts[q] for q in qrels}, qrels)


def record_id(hit: Hit) -> str | None:
    record = hit.chunk.locator.get("record")
    return None if record is None else str(record)


def rank_records(hits: list[Hit], depth: int = DEPTH) -> list[str]:
    """Corpus ids in the order their best passage comes in `hits`."""
    ranked: dict[str, None] = {}
    for hit in hits:
        record = record_id(hit)
        if record is not None:
            ranked.setdefault(record, None)
            if len(ranked) == depth:
                break
    return list(ranked)


def run_beir(index: Index, data: BeirSet, tick: Callable[[], None] = lambda: None,
             settings: RetrievalSettings | None = None) -> list[QueryResult]:
    """Every judged query through `Index.search` (the index's settings unless `settings` is given)."""
    import time

    corpus_source = data.corpus.name
    results: list[QueryResult] = []
    for query_id, text in data.queries.items():
        started = time.perf_counter()
        hits = [h for h in index.search(text, k=3 * DEPTH, settings=settings) if h.source == corpus_source]
        ranked = rank_records(hits)
        seconds = time.perf_counter() - started
        rel = data.qrels[query_id]
        results.append(QueryResult(query_id, tuple(ranked), ndcg_at(ranked, rel, 10), recall_at(ranked, rel, 100),
                                   mrr_at(ranked, rel, 10), seconds))
        tick()
    return results


def summarise(results: list[QueryResult]) -> dict[str, Any]:
    n = len(results) or 1
    return {"ndcg@10": round(sum(r.ndcg for r in results) / n, 4),
            "recall@100": round(sum(r.recall for r in results) / n, 4),
            "mrr@10": round(sum(r.mrr for r in results) / n, 4), "queries": len(results),
            "ms_per_query": round(1000 * sum(r.seconds for r in results) / n, 1),
            "ms_p50": _percentile([r.seconds for r in results], 50),
            "ms_p95": _percentile([r.seconds for r in results], 95)}


def _percentile(seconds: list[float], q: int) -> float | None:
    """The q-th percentile in milliseconds (nearest rank), None without queries."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    return round(1000 * ordered[max(0, -(-q * len(ordered) // 100) - 1)], 1)


def result_json(result: QueryResult) -> dict[str, Any]:
    return {"query_id": result.query_id, "ndcg@10": round(result.ndcg, 4), "recall@100": round(result.recall, 4),
            "mrr@10": round(result.mrr, 4), "top10": list(result.ranked[:10]), "ms": round(1000 * result.seconds, 1)}

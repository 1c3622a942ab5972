"""`rag eval DATASET --index DIR`: measure retrieval (a BEIR set) or answers (a QA set) on an index.

    rag eval ../shared/data/scifact --split test --index /tmp/scifact   # BEIR: nDCG@10, Recall@100, MRR@10
    rag eval questions.jsonl --index ./my-index --llm none              # QA: hit@k, correct, refusals

A BEIR folder's corpus is ingested into the index first through the normal ingest path (incremental:
a second run embeds nothing). Per-query results go to a JSON Lines file (default
<index>/eval/<dataset>-<split>.jsonl) and the summary beside it (.json). Everything runs through
`Index.search` and `Index.ask` with the index's own settings: there are no evaluation-only settings.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.errors import ConfigError

if TYPE_CHECKING:
    from rag.index import Index
    from rag.llm.protocol import LLMSettings


@dataclass(frozen=True)
class EvalRun:
    kind: str                          # "beir" or "qa"
    summary: dict[str, Any]            # the figures `--json` prints
    details: dict[str, Any]            # ingest figures and anything else worth keeping
    results: list[dict[str, Any]]      # one row a query
    out: Path                          # where the per-query rows were written


def dataset_kind(path: Path) -> str:
    from rag.eval.beir import is_beir

    if is_beir(path):
        return "beir"
    if path.is_file() and path.suffix.lower() in (".jsonl", ".ndjson"):
        return "qa"
    raise ConfigError(f"{path}: not an evaluation set — pass a BEIR folder (corpus.jsonl, queries.jsonl, "
                      "qrels/<split>.tsv) or a QA file (.jsonl lines with question, answer, source, locator)")


def default_out(index: Index, path: Path, split: str) -> Path:
    name = path.name if path.is_dir() else path.stem
    return index.folder / "eval" / (f"{name}-{split}.jsonl" if path.is_dir() else f"{name}.jsonl")


def evaluate(index: Index, path: Path, split: str = "test", llm: LLMSettings | None = None, k: int = 5,
             out: Path | None = None, progress: bool = True) -> EvalRun:
    kind = dataset_kind(path)
    target = out or default_out(index, path, split)
    if kind == "beir":
        summary, details, rows = _beir(index, path, split, progress)
    else:
        summary, details, rows = _qa(index, path, llm or index.settings.llm, k, progress)
    _write(target, summary, details, rows)
    return EvalRun(kind, summary, details, rows, target)


def _bar(total: int, desc: str, progress: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="q", disable=not progress or None, leave=False)


def _beir(index: Index, path: Path, split: str, progress: bool) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    from rag.eval.beir import load_beir, result_json, run_beir, summarise

    data = load_beir(path, split)
    ingest = index.ingest(data.corpus, progress=progress)
    if ingest.failed:
        raise ConfigError(f"{data.corpus}: could not be ingested — {ingest.failed[0].error}")
    chunks = ingest.embedded_chunks + ingest.reused_chunks
    details = {"dataset": str(path), "split": split, "ingest_seconds": round(ingest.seconds, 2),
               "embedded_chunks": ingest.embedded_chunks,
               "chunks_per_second": round(ingest.embedded_chunks / ingest.seconds, 1) if chunks else None}
    with _bar(len(data.queries), f"eval {path.name} {split}", progress) as bar:
        results = run_beir(index, data, bar.update)
    figures = summarise(results)
    summary = {key: figures[key] for key in ("ndcg@10", "recall@100", "mrr@10", "queries")}
    timing = {key: figures[key] for key in ("ms_per_query", "ms_p50", "ms_p95")}   # each query's Index.search
    return summary, {**details, **timing}, [result_json(r) for r in results]


def _qa(index: Index, path: Path, llm: LLMSettings, k: int,
        progress: bool) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    from rag.eval.qa import load_qa, result_json, run_qa, summarise

    items = load_qa(path)
    with _bar(len(items), f"eval {path.name} --llm {llm.backend}", progress) as bar:
        results = run_qa(index, items, llm, k, bar.update)
    summary = summarise(results, k)
    return summary, {"dataset": str(path), "llm": llm.backend, "k": k}, [result_json(r) for r in results]


def _write(target: Path, summary: dict[str, Any], details: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    report = {**summary, **details, "written": time.strftime("%Y-%m-%dT%H:%M:%S"), "per_query": str(target)}
    target.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")


def table(run: EvalRun) -> str:
    """The summary as an aligned two-column table."""
    rows = [(key, _show(key, value)) for key, value in {**run.summary, **run.details}.items() if key != "dataset"]
    width = max(len(key) for key, _ in rows)
    lines = [f"{key:<{width}}  {value}" for key, value in rows]
    return "\n".join([*lines, f"{'per query':<{width}}  {run.out}"])


def _show(key: str, value: Any) -> str:
    """Ranking metrics as 0.1234, QA rates as 12.3%, everything else as it is."""
    if value is None:
        return "-"
    if isinstance(value, float) and key.startswith(("ndcg", "recall", "mrr")):
        return f"{value:.4f}"
    if isinstance(value, float) and key.startswith(("hit@", "correct", "wrong")):
        return f"{value:.1%}"
    return str(value)

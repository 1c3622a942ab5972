"""Ingest fanned out on Ray: loading (still one isolated worker process per file, with its time and memory
limits) and batched embedding run as Ray tasks; the driver commits each document as its vectors arrive.

    rag ingest FOLDER --index postgresql://… --ray local|auto|ray://host:port

The driver plans as a plain ingest does (ingest/pipeline.py; this module is its `stage`), then keeps at most
`workers` tasks in flight: a load task returns a file's Document and chunks, or its LoaderError; loaded files
are batched (up to `batch_chunks` chunks) into one embed task, texts already embedded being reused from the
store. A Ray worker that dies (killed, out of memory) costs only its task: Ray runs it once more
(max_retries=1), and a file whose second try dies too is reported as failed. Ray is imported only here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ingest.chunking import ChunkPolicy, chunk_document, embedding_text
from ingest.isolation import LoaderLimits, LoaderWorker, LoadJob
from ingest.pipeline import Failure, _job, _stat
from rag.core.errors import MissingDependency, RagError
from rag.core.types import Chunk, Document, content_hash
from rag.embed.choice import embedder_name

if TYPE_CHECKING:
    import numpy as np

    from ingest.loaders.spec import LoaderSpec
    from ingest.pipeline import IngestOptions
    from ingest.plan import Plan, Planned
    from rag.embed.registry import Embedder
    from rag.store.protocol import Store

Outcome = tuple[list[Failure], tuple[int, int, int], list[str]]   # what a stage returns (failures, counts, warnings)
_CACHE: dict[str, Any] = {}   # per Ray worker process: its embedders and its loader worker, reused across tasks


@dataclass
class _Loaded:
    planned: Planned
    doc: Document
    chunks: list[Chunk]
    hashes: list[str]
    texts: list[str]


def connect(address: str, workers: int | None = None) -> Any:
    """The `ray` module, connected: the instance this process already started, or `local` (a new one on
    127.0.0.1), `auto` (the running cluster, else a local one), or a cluster address (ray://host:port)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")   # Ray reads these itself: no usage reports sent
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    try:
        import ray
    except ImportError as exc:
        raise MissingDependency("Ray (for --ray)", pip="'ray[default]'") from exc
    if ray.is_initialized():
        return ray
    local: dict[str, Any] = {"num_cpus": workers, "include_dashboard": False, "_node_ip_address": "127.0.0.1",
                             "log_to_driver": False, "object_store_memory": 200 * 2**20}
    try:
        if address == "local":
            ray.init(**local)
        elif address == "auto":
            try:
                ray.init(address="auto", log_to_driver=False)
            except ConnectionError:
                ray.init(**local)
        else:
            ray.init(address=address, log_to_driver=False)
    except Exception as exc:  # Ray's own errors are many and unrelated (ConnectionError, RuntimeError, grpc)
        raise RagError(f"--ray {address}: cannot start or reach Ray ({type(exc).__name__}: {exc}) — start a cluster "
                       "with `ray start --head`, pass its address (ray://HOST:10001), or use --ray local") from exc
    return ray


def ray_stage(address: str, embedder_spec: str, workers: int | None = None) -> Callable[..., Any]:
    """An ingest `stage` (IngestOptions.stage) that loads and embeds on Ray."""

    def stage(store: Store, root: str, plan: Plan, registry: dict[str, LoaderSpec],
              get_embedder: Callable[[], Embedder], options: IngestOptions) -> Outcome:
        ray = connect(address, workers)
        limit = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        return _Driver(ray, store, root, embedder_spec, options, limit).run(plan, registry)

    return stage


def load_task(job: LoadJob, limits: LoaderLimits, policy: ChunkPolicy, spec: str) -> tuple[Document, list[Chunk]] | str:
    """On a Ray worker: read one file in the worker's isolated loader process, and chunk it; or the error."""
    worker = _CACHE.get("loader")
    if worker is None:
        worker = _CACHE["loader"] = LoaderWorker(limits).__enter__()
    worker.limits = limits
    worker.submit(job)
    try:
        doc = worker.result()
    except RagError as exc:
        return str(exc)
    embedder = _embedder(spec)
    return doc, chunk_document(doc, embedder.token_spans, replace(policy, window=embedder.max_tokens))


def embed_task(spec: str, texts: list[str]) -> np.ndarray:
    """On a Ray worker: one batch of texts embedded, by the embedder's bulk path. A batch of a few small files
    is below the size at which the bundled model switches to its bulk path by itself, and a worker that
    embeds once embeds again: it stayed on the one-thread small path (then numpy, about 4x slower than the
    plain ingest: bench/scale_out.py)."""
    embedder = _embedder(spec)
    warm = getattr(embedder, "warm", None)
    if warm is not None:
        warm(sys.maxsize)   # loads the bulk path once (BundledMiniLM.warm); a no-op after
    return embedder.embed(texts)


def _embedder(spec: str) -> Embedder:
    from rag.embed.registry import make_embedder

    if spec not in _CACHE:
        _CACHE[spec] = make_embedder(spec)
    return _CACHE[spec]  # type: ignore[no-any-return]


class _Driver:
    """Submits the tasks, batches loaded files for embedding, commits each file when its vectors are back."""

    def __init__(self, ray: Any, store: Store, root: str, spec: str, options: IngestOptions, limit: int) -> None:
        self.ray, self.store, self.root, self.spec, self.options, self.limit = ray, store, root, spec, options, limit
        self.name = embedder_name(spec)
        self.load = ray.remote(max_retries=1, num_cpus=1)(load_task)
        self.embed = ray.remote(max_retries=1, num_cpus=1)(embed_task)
        self.failures: list[Failure] = []
        self.warnings: list[str] = []
        self.embedded = self.reused = self.ocr_pages = 0

    def run(self, plan: Plan, registry: dict[str, LoaderSpec]) -> Outcome:
        todo = list(plan.to_load)
        loads: dict[Any, Planned] = {}
        embeds: dict[Any, tuple[list[_Loaded], list[str], dict[str, bytes]]] = {}
        batch: list[_Loaded] = []
        while todo or loads or embeds or batch:
            while todo and len(loads) + len(embeds) < self.limit:
                planned = todo.pop(0)
                ref = self.load.remote(_job(registry, planned), self.options.limits, self.options.policy, self.spec)
                loads[ref] = planned
            waiting = list(loads) + list(embeds)
            ready = self.ray.wait(waiting, num_returns=1, timeout=self.options.batch_seconds)[0] if waiting else []
            for ref in ready:
                if ref in loads:
                    self._loaded(loads.pop(ref), ref, batch)
                else:
                    self._commit(ref, *embeds.pop(ref))
            size = sum(len(b.chunks) for b in batch)
            if batch and (size >= self.options.batch_chunks or not ready or not (todo or loads)):
                embeds.update(self._submit(batch))
                batch = []
        return self.failures, (self.embedded, self.reused, self.ocr_pages), self.warnings

    def _loaded(self, planned: Planned, ref: Any, batch: list[_Loaded]) -> None:
        try:
            result = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            result = (f"{planned.entry.source}: the Ray worker reading it died twice ({type(exc).__name__}) — the file "
                      "is left out; check the worker's memory and logs, or ingest it without --ray")
        if isinstance(result, str):
            self._fail(planned, result)
            return
        doc, chunks = result
        self.warnings.extend(f"{doc.source}: {w}" for w in doc.meta.get("warnings", []))
        self.ocr_pages += int(doc.meta.get("ocr_pages", 0) or 0)
        texts = [embedding_text(doc.title, c) for c in chunks]
        batch.append(_Loaded(planned, doc, chunks, [content_hash(self.name, t) for t in texts], texts))

    def _submit(self, batch: list[_Loaded]) -> dict[Any, tuple[list[_Loaded], list[str], dict[str, bytes]]]:
        """One embed task for the texts of `batch` that have no stored vector yet."""
        known = self.store.vectors_for([h for b in batch for h in b.hashes])
        todo = {h: t for b in batch for h, t in zip(b.hashes, b.texts, strict=True) if h not in known}
        ref = self.embed.remote(self.spec, list(todo.values()))
        return {ref: (batch, list(todo), known)}

    def _commit(self, ref: Any, batch: list[_Loaded], hashes: list[str], known: dict[str, bytes]) -> None:
        import numpy as np

        try:
            fresh = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            for b in batch:
                self._fail(b.planned, f"{b.planned.entry.source}: the Ray worker embedding it died twice "
                                      f"({type(exc).__name__}) — run the ingest again")
            return
        vectors = {h: np.frombuffer(v, dtype=np.float32) for h, v in known.items()}
        vectors.update(zip(hashes, fresh, strict=True))
        self.embedded += len(hashes)
        for b in batch:
            dim = self.store.dimension()
            stacked = np.stack([vectors[h] for h in b.hashes]) if b.hashes else np.zeros((0, dim), np.float32)
            self.store.put_document(self.root, b.doc, b.chunks, stacked, b.hashes, _stat(b.planned),
                                    b.planned.entry.loader)
            self.reused += sum(h in known for h in b.hashes)

    def _fail(self, planned: Planned, error: str) -> None:
        self.failures.append(Failure(planned.entry.source, error))
        self.store.record_failure(self.root, planned.entry.source, _stat(planned), planned.entry.loader, error)

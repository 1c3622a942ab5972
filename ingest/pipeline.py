"""The ingest pipeline: scan → plan → load → chunk → embed (only what is new) → commit, file by file.

Each file is committed in its own transaction as soon as its chunks are embedded. Files that load
quickly are embedded together (up to `batch_chunks` chunks: one embed() call, sorted by length, so the
bundled model runs few, full, equal-length batches: 805 short texts took 68 s of CPU in 7 calls of 128
and 54 s in one, 2 torch threads on the loaded 2 cores), but a file waits at most `batch_seconds` for others to
join it while the worker is still reading: a kill loses only the batch in flight and what was read in the
last second or so.
Before planning, the root's rows are checked (rag/store: checksums, the full-text index); damaged
documents are set aside and read again from their files, and a damaged full-text index is rebuilt.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.chunking import ChunkPolicy, chunk_document, embedding_text
from ingest.isolation import LoaderLimits, LoaderWorker, LoadJob
from ingest.loaders.spec import LoaderSpec
from ingest.plan import Plan, Planned, make_plan
from ingest.progress import Progress, warm_embedder
from ingest.registry import spec_named
from ingest.scan import Skipped, scan_folder
from rag.core.errors import RagError
from rag.core.types import Chunk, Document, content_hash
from rag.embed.registry import Embedder
from rag.store import derived
from rag.store.protocol import Store

EMBED_SLICE = 512   # texts per embed() call in _flush (sorted by length: similar lengths together)


@dataclass(frozen=True)
class Failure:
    source: str
    error: str


@dataclass(frozen=True)
class IngestSummary:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    renamed: int = 0
    failed: tuple[Failure, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    kept: int = 0                 # documents under folders or names that could not be read: left as they were
    repaired: tuple[str, ...] = ()   # documents whose rows were damaged, read again from their files
    embedded_chunks: int = 0
    reused_chunks: int = 0
    ocr_pages: int = 0            # pages and images read by OCR in this run
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    dry_run: bool = False
    plan: dict[str, list[str]] = field(default_factory=dict)   # filled for --dry-run

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "changed": self.changed, "removed": self.removed,
                "unchanged": self.unchanged, "renamed": self.renamed,
                "failed": [{"source": f.source, "error": f.error} for f in self.failed],
                "skipped": [{"source": s.source, "reason": s.reason, "kept": s.kept} for s in self.skipped],
                "kept": self.kept, "repaired": list(self.repaired),
                "embedded_chunks": self.embedded_chunks, "reused_chunks": self.reused_chunks,
                "ocr_pages": self.ocr_pages,
                "warnings": list(self.warnings), "seconds": round(self.seconds, 3), "dry_run": self.dry_run,
                **({"plan": self.plan} if self.dry_run else {})}


@dataclass(frozen=True)
class IngestOptions:
    policy: ChunkPolicy = field(default_factory=ChunkPolicy)
    dry_run: bool = False
    retry_failed: bool = False
    progress: bool = False
    batch_chunks: int = EMBED_SLICE   # at most this many chunks wait to be embedded together
    batch_seconds: float = 1.0    # nor longer than this, while the next file is still being read
    repair: bool = False          # `rag check --repair`: add what is missing, remove nothing
    limits: LoaderLimits = field(default_factory=LoaderLimits)
    stage: Callable[..., Any] | None = None   # loads, embeds and commits plan.to_load instead of _load_and_commit
    #                                           (same arguments and result; ingest/distributed.py: on Ray)


@dataclass
class _Loaded:
    planned: Planned
    doc: Document
    chunks: list[Chunk]
    texts: list[str]


def _job(registry: dict[str, LoaderSpec], planned: Planned) -> LoadJob:
    entry = planned.entry
    spec = spec_named(registry, entry.path, entry.loader)
    return LoadJob(spec, entry.path, entry.source, planned.content_hash[:32], entry.size)


def _loaded_docs(worker: LoaderWorker, registry: dict[str, LoaderSpec], jobs: tuple[Planned, ...],
                 before_wait: Callable[[], bool]) -> Iterator[tuple[Planned, Document | RagError]]:
    """Each planned file with its Document or its error; the worker loads the next file meanwhile.
    While the next file is not read yet, `before_wait` is asked (every 10 ms) whether to stop waiting
    for it without blocking: it commits pending work once that is old enough, and then says so. A reply
    is taken as soon as it is in (no polling sleep: 800 small files would wait ~5 ms each)."""
    if jobs:
        worker.submit(_job(registry, jobs[0]))
    for i, planned in enumerate(jobs):
        while not worker.wait(0.01) and not before_wait():
            pass
        try:
            result: Document | RagError = worker.result()
        except RagError as exc:
            result = exc
        if i + 1 < len(jobs):
            worker.submit(_job(registry, jobs[i + 1]))
        yield planned, result


def ingest_folder(store: Store, folder: Path, registry: dict[str, LoaderSpec],
                  get_embedder: Callable[[], Embedder], options: IngestOptions) -> IngestSummary:
    started = time.perf_counter()
    if not folder.exists():
        raise RagError(f"{folder}: no such file or folder — check the path")
    root = str(folder.resolve() if folder.is_dir() else folder.resolve().parent)
    entries, skipped = scan_folder(folder, registry, exclude=(store.folder,))
    only = (entries[0].source if entries else None) if folder.is_file() else None
    repaired, warnings = _set_aside_damage(store, root, only, options.dry_run)
    records = store.documents(root, check=False)
    if folder.is_file():
        records = [r for r in records if r.source == only]
    plan = make_plan(entries, records, options.retry_failed, tuple(s.source for s in skipped if s.kept))
    if options.repair:   # rag check --repair adds back what is missing; it removes nothing
        plan = replace(plan, removed=())
    if options.dry_run:
        return _summary(plan, skipped, [], (0, 0, 0), [], started, dry_run=True,
                        repaired=[r.source for r in records if r.damaged])
    start_commit = store.commit_number()
    for record in plan.removed:
        store.remove(root, record.source)
    for p in plan.renamed + plan.touched:
        assert p.previous is not None
        store.update_stat(p.previous.id, p.entry.mtime_ns, p.entry.source)
    stage = options.stage or _load_and_commit
    failures, counts, load_warnings = stage(store, root, plan, registry, get_embedder, options)
    for entry, why in plan.unreadable:
        error = f"{entry.source}: cannot be read ({why}) — check the file's permissions (e.g. chmod u+r)"
        failures.append(Failure(entry.source, error))
        store.record_failure(root, entry.source, ("", entry.size, entry.mtime_ns), entry.loader, error)
    # a store that searches its own vectors (PostgreSQL) has no vector file to rebuild
    if (store.commit_number() != start_commit or repaired) and not hasattr(store, "search_vectors"):
        # the vector index and BM25 postings: only this run's adds and removes (a new base at 1M: a minute or more)
        derived.update(store, _note if options.progress else None)
    store.checkpoint()
    return _summary(plan, skipped, failures, counts, warnings + load_warnings, started, repaired=repaired)


def _note(what: str) -> None:
    """A line on stderr, where the progress bar was, for a step that may take a while after it."""
    print(f"ingest: {what}…", file=sys.stderr, flush=True)


def _set_aside_damage(store: Store, root: str, only: str | None, dry_run: bool) -> tuple[list[str], list[str]]:
    """Check the root's rows: damaged documents are deleted so that they are read again (a dry run only
    names them), stray rows dropped, a damaged full-text index rebuilt. (sources, warnings)"""
    docs, stray = store.damage(root)
    if only is not None:
        docs = {d.id for d in store.documents(root, check=False) if d.id in docs and d.source == only}
    if dry_run:
        return [], []
    warnings = []
    sources = store.discard(docs, stray) if docs or stray else []
    warnings += [f"{s}: its rows in the index were damaged — read again from the file" for s in sources]
    if store.repair_fulltext():
        warnings.append("the full-text index was damaged — rebuilt from the chunks")
    return sources, warnings


class _Batch:
    """Loaded documents waiting to be embedded together; each is committed in its own transaction."""

    def __init__(self, store: Store, root: str, get_embedder: Callable[[], Embedder], options: IngestOptions,
                 on_embedded: Callable[[int, int], None] = lambda n, q: None) -> None:
        self.store, self.root, self.get_embedder = store, root, get_embedder
        self.limit, self.seconds = options.batch_chunks, options.batch_seconds
        self.on_embedded = on_embedded
        self.pending: list[_Loaded] = []
        self.since = 0.0
        self.embedded = self.reused = 0

    def add(self, loaded: _Loaded) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append(loaded)
        if sum(len(p.chunks) for p in self.pending) >= self.limit:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            e, r = _flush(self.store, self.root, self.pending, self.get_embedder(), self.on_embedded)
            self.embedded, self.reused, self.pending = self.embedded + e, self.reused + r, []

    def flush_if_old(self) -> bool:
        """Commit what is pending once it waited `seconds`; True when nothing is pending any more."""
        if self.pending and time.monotonic() - self.since >= self.seconds:
            self.flush()
        return not self.pending


def _load_and_commit(store: Store, root: str, plan: Plan, registry: dict[str, LoaderSpec],
                     get_embedder: Callable[[], Embedder],
                     options: IngestOptions) -> tuple[list[Failure], tuple[int, int, int], list[str]]:
    from tqdm import tqdm

    failures: list[Failure] = []
    warnings: list[str] = []
    bar = tqdm(total=len(plan.to_load), desc="ingest", unit="file", disable=not options.progress or None,
               leave=False)
    progress = Progress(bar)
    batch = _Batch(store, root, get_embedder, options, progress.embedded)
    ocr_pages = 0
    warm_embedder(get_embedder, plan)
    with LoaderWorker(options.limits) as worker:
        for planned, doc in _loaded_docs(worker, registry, plan.to_load, batch.flush_if_old):
            bar.update()
            progress.show(planned.entry.source)
            if isinstance(doc, RagError):
                failures.append(Failure(planned.entry.source, str(doc)))
                store.record_failure(root, planned.entry.source, _stat(planned), planned.entry.loader, str(doc))
                continue
            warnings.extend(f"{doc.source}: {w}" for w in doc.meta.get("warnings", []))
            ocr_pages += int(doc.meta.get("ocr_pages", 0) or 0)
            embedder = get_embedder()
            chunks = chunk_document(doc, embedder.token_spans, _policy(options.policy, embedder))
            batch.add(_Loaded(planned, doc, chunks, [embedding_text(doc.title, c) for c in chunks]))
    bar.close()
    batch.flush()
    return failures, (batch.embedded, batch.reused, ocr_pages), warnings


def _policy(policy: ChunkPolicy, embedder: Embedder) -> ChunkPolicy:
    """Chunks sized so that title + chunk fit the model's window exactly (chunking leaves the room)."""
    return replace(policy, window=embedder.max_tokens)


def _flush(store: Store, root: str, pending: list[_Loaded], embedder: Embedder,
           on_embedded: Callable[[int, int], None] = lambda n, q: None) -> tuple[int, int]:
    """Embed what has no stored vector yet (shortest first, EMBED_SLICE texts a call, so the bar moves
    through a big file: on_embedded(0, queued) first, then (done, 0) after each call), then commit each
    file in its own transaction."""
    import numpy as np

    hashes = [[content_hash(embedder.name, t) for t in p.texts] for p in pending]
    known = {k: np.frombuffer(v, dtype=np.float32) for k, v in
             store.vectors_for([h for hs in hashes for h in hs]).items()}
    todo = {h: t for p, hs in zip(pending, hashes, strict=True) for h, t in zip(hs, p.texts, strict=True)
            if h not in known}
    ordered = sorted(todo.items(), key=lambda item: len(item[1]))
    on_embedded(0, len(ordered))
    for start in range(0, len(ordered), EMBED_SLICE):
        part = ordered[start : start + EMBED_SLICE]
        known.update(zip([h for h, _ in part], embedder.embed([t for _, t in part]), strict=True))
        on_embedded(len(part), 0)
    for p, hs in zip(pending, hashes, strict=True):
        vectors = np.stack([known[h] for h in hs]) if hs else np.zeros((0, embedder.dim), np.float32)
        store.put_document(root, p.doc, p.chunks, vectors, hs, _stat(p.planned), p.planned.entry.loader)
    total = sum(len(hs) for hs in hashes)
    return len(todo), total - len(todo)


def _stat(planned: Planned) -> tuple[str, int, int]:
    return planned.content_hash, planned.entry.size, planned.entry.mtime_ns


def _summary(plan: Plan, skipped: list[Skipped], failures: list[Failure], counts: tuple[int, int, int],
             warnings: list[str], started: float, dry_run: bool = False,
             repaired: list[str] | None = None) -> IngestSummary:
    embedded, reused, ocr_pages = counts
    failures = failures + [Failure(r.source, f"{r.error} (unchanged since; --retry-failed tries again)")
                           for r in plan.still_failed]
    failed_sources = {f.source for f in failures}
    return IngestSummary(
        added=sum(p.entry.source not in failed_sources for p in plan.added),
        changed=sum(p.entry.source not in failed_sources for p in plan.changed),
        removed=len(plan.removed), unchanged=len(plan.unchanged) + len(plan.touched),
        renamed=len(plan.renamed), failed=tuple(failures), skipped=tuple(skipped), kept=len(plan.kept),
        repaired=tuple(repaired or ()),
        embedded_chunks=embedded, reused_chunks=reused, ocr_pages=ocr_pages, warnings=tuple(warnings),
        seconds=time.perf_counter() - started, dry_run=dry_run, plan=_plan_listing(plan) if dry_run else {})


def _plan_listing(plan: Plan) -> dict[str, list[str]]:
    return {"add": [p.entry.source for p in plan.added], "change": [p.entry.source for p in plan.changed],
            "rename": [f"{p.previous.source} -> {p.entry.source}" for p in plan.renamed if p.previous],
            "remove": [r.source for r in plan.removed]}

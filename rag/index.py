"""The embeddable API: an index folder you can ingest into, search and ask.

    from rag import Index
    idx = Index.open("./my-index")          # creates it if missing
    answer = idx.ask("What corpus did they train on?")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rag.answer.injection import Screen
from rag.answer.settings import AnswerSettings
from rag.config import Settings, load_settings
from rag.core.errors import IndexDamagedError, IndexFormatError, RagError
from rag.core.types import Answer, Hit
from rag.embed.choice import embedder_for, embedder_name  # noqa: F401  (embedder_name: part of the API)
from rag.embed.registry import Embedder, make_embedder
from rag.llm.protocol import LLMSettings
from rag.retrieve.fusion import RetrievalSettings, retrieve, spare_core, started
from rag.store import derived
from rag.store.faiss import VectorIndex
from rag.store.lock import WriteLock
from rag.store.postgres.url import is_url, state_folder
from rag.store.protocol import Store
from rag.store.records import DocRecord
from rag.store.schema import DB_NAME, parse_meta
from rag.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from ingest.isolation import LoaderLimits
    from ingest.loaders.spec import LoaderSpec
    from ingest.pipeline import IngestSummary
    from rag.maintain import RepairOutcome
    from rag.store.check import Report

FULLTEXT_CHECK_MAX = 5000   # chunks: FTS5's integrity check costs about 20 ms per 1,000 chunks


def valid_text(text: str) -> str:
    """`text` as valid Unicode: bytes that were not UTF-8 (surrogate escapes from the shell) become U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


class _NoLock:
    def release(self) -> None:
        pass


class Index:
    """One index folder. Loads the embedding model only when something needs it."""

    def __init__(self, folder: Path, store: Store, embedder_spec: str, settings: Settings,
                 embedder: Embedder | None = None) -> None:
        self.folder = folder
        self.store = store
        self.settings = settings
        self.embedder_spec = embedder_spec
        self._embedder = embedder
        self._vectors: VectorIndex | None = None
        self._fulltext_checked = -1
        self.screen = Screen(store)   # flags passages that address the assistant (rag/answer/injection.py)
        self.local = isinstance(store, SQLiteStore)   # else a database (rag/store/postgres): no folder lock

    @classmethod
    def open(cls, folder: str | Path, embedder: str | Embedder | None = None,
             settings: Settings | None = None, create: bool = True, read_only: bool | None = None) -> Index:
        """Open the index in `folder`; `create` makes it when it is not there (else that is an error).
        `read_only` (the default when not creating) opens it so that nothing in rag.sqlite can change."""
        if not str(folder).strip():
            raise RagError("the index folder is an empty name — pass one with --index DIR (or set $RAG_INDEX)")
        if is_url(folder):   # postgresql://…: never a path
            return cls._open_database(str(folder).strip(), embedder, settings, create, read_only)
        folder = Path(folder).expanduser()
        if folder.exists() and not folder.is_dir():
            raise IndexFormatError(f"{folder}: is a file, not an index folder — pass a folder to --index")
        if not create and not (folder / DB_NAME).is_file():
            raise IndexFormatError(f"{folder}: no index there — make one with: rag ingest FOLDER --index {folder}")
        settings = settings or load_settings(folder, {})
        meta = SQLiteStore.read_meta(folder)
        stored_dim = parse_meta(folder, meta)[1] if meta else 0
        instance, spec, name, dim = embedder_for(embedder, settings.embedder, meta, stored_dim)
        store = SQLiteStore.open(folder, name, spec, dim, create=create,
                                 write=not read_only if read_only is not None else None)
        return cls(folder, store, spec, settings, instance)

    @classmethod
    def _open_database(cls, url: str, embedder: str | Embedder | None, settings: Settings | None, create: bool,
                       read_only: bool | None) -> Index:
        """An index in PostgreSQL + pgvector (rag/store/postgres): same API, many writers at once."""
        from rag.store.postgres.schema import read_meta
        from rag.store.postgres.store import PostgresStore

        settings = settings or load_settings(state_folder(url), {})   # its rag.toml: this machine's folder for it
        meta = read_meta(url)
        instance, spec, name, dim = embedder_for(embedder, settings.embedder, meta, int(meta.get("dim", 0) or 0))
        store = PostgresStore.open(url, name, spec, dim, create=create,
                                   write=not read_only if read_only is not None else None)
        return cls(store.folder, store, spec, settings, instance)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.embedder_spec)
        return self._embedder

    def vectors(self) -> VectorIndex:
        if not self.local:
            from rag.store.postgres.vectors import DatabaseVectors

            return DatabaseVectors(self.store)  # type: ignore[arg-type]
        if self._vectors is None or self._vectors.commit != self.store.commit_number():
            self._vectors = VectorIndex.load(self.store)
        return self._vectors

    def ingest(self, folder: str | Path, dry_run: bool = False, progress: bool = False,
               lock_wait: float = 0.0, registry: dict[str, LoaderSpec] | None = None,
               retry_failed: bool = False, limits: LoaderLimits | None = None, ray: str | None = None,
               ray_workers: int | None = None) -> IngestSummary:
        """Bring the index up to date with `folder` (a folder or one file).

        Each file is read in a worker process under `limits` (time and memory per file). With `ray` (local,
        auto or ray://HOST:PORT) loading and embedding run as Ray tasks (ingest/distributed.py).
        """
        from ingest.isolation import LoaderLimits
        from ingest.pipeline import IngestOptions, ingest_folder
        from ingest.registry import default_registry

        registry = registry if registry is not None else default_registry()
        options = IngestOptions(dry_run=dry_run, retry_failed=retry_failed, progress=progress,
                                limits=limits or LoaderLimits())
        if ray is not None:
            from ingest.distributed import ray_stage

            options = replace(options, stage=ray_stage(ray, self.embedder_spec, ray_workers))
        self._trust()
        if dry_run:
            return ingest_folder(self.store, Path(folder), registry, lambda: self.embedder, options)
        lock = self._lock(lock_wait)
        try:
            self._trust()
            return ingest_folder(self.store, Path(folder), registry, lambda: self.embedder, options)
        finally:
            lock.release()

    def _trust(self, fulltext: bool = False) -> None:
        """The cheap checks before results are served: no lost commits (a deleted WAL) and, on an index of
        up to FULLTEXT_CHECK_MAX chunks, an intact full-text index (once per commit). `rag check` does all."""
        from rag.store import journal
        from rag.store.fulltext import Busy, fts_problem

        if not self.local:   # a database keeps its own commits and indexes whole
            return
        commit = self.store.commit_number()
        lost = journal.rollback(self.folder, commit)
        if lost and lost.newest <= self.store.commit_number():
            lost = None   # a writer committed between the two reads (its journal line comes after its commit)
        if lost:
            raise IndexDamagedError(lost.describe(self.folder))
        if not fulltext or self._fulltext_checked == commit:
            return
        if self.store.chunk_count() <= FULLTEXT_CHECK_MAX:
            try:
                problem = fts_problem(self.folder, timeout=0.5, copy=False)
            except Busy:   # a writer is at work: check on the next search
                return
            if problem:
                raise IndexDamagedError(f"{self.folder}: the full-text index is damaged ({problem}) — `rag check "
                                        f"--index {self.folder} --repair` rebuilds it")
        self._fulltext_checked = commit

    def check(self) -> Report:
        """Every check there is (`rag check`): what is damaged, and which documents it touches."""
        return self.store.check()

    def repair(self, lock_wait: float = 0.0, limits: LoaderLimits | None = None) -> RepairOutcome:
        """`rag check --repair`: rebuild what is derived, read damaged or lost documents again from their files."""
        from rag.maintain import repair_index

        if not self.local:
            raise RagError(f"{self.store.folder}: a database index has no derived files to rebuild — run `rag ingest` "
                           "on its folders again to read changed or missing documents")
        lock = WriteLock(self.folder, lock_wait)
        try:
            return repair_index(self, limits)
        finally:
            lock.release()
            self._vectors = None

    def search(self, question: str, k: int = 5, settings: RetrievalSettings | None = None) -> list[Hit]:
        question = valid_text(question)
        if not question.strip():
            raise RagError("the question is empty — type what you want to find")
        self._trust(fulltext=True)
        vectors, embedder = self.search_parts()
        return self.screen.mark(retrieve(self.store, vectors, embedder, question, k, settings))

    def search_parts(self) -> tuple[VectorIndex, Embedder]:
        """The vector index and the embedder a search needs. The first search of a process loads both, side
        by side when a core is free: at 1M chunks the vector file's checksum (about 0.4 s, hashed outside
        the GIL) runs while the model loads (about 0.5 s), which `rag search` from process start feels."""
        background = self._embedder is None and self.local and spare_core()
        if background:   # two threads importing one C extension at once can break it (numpy: "cannot load
            import faiss  # noqa: F401  module more than once"): what both sides import is imported here first
            import numpy  # noqa: F401
        vectors = started(self.vectors, background=background)
        embedder = self.embedder
        return vectors(), embedder

    def ask(self, question: str, llm: LLMSettings | None = None, k: int | None = None,
            on_token: Callable[[str], None] | None = None,
            answer_settings: AnswerSettings | None = None, self_ask: bool = True) -> Answer:
        """Answer from the indexed documents, citing them; says so when they do not contain it.

        With a model, a question that needs facts from two places is answered by self-ask: follow-up
        questions, each answered here (`Answer.steps`); `self_ask=False` answers it in one pass."""
        from rag.asking import ask

        return ask(self, valid_text(question), llm or self.settings.llm, k or self.settings.top_k, on_token,
                   answer_settings, self_ask)

    def _answer(self, question: str, hits: list[Hit], llm: LLMSettings, on_token: Callable[[str], None] | None,
                answer_settings: AnswerSettings) -> Answer:
        from rag.asking import answer_hits

        return answer_hits(self, question, hits, llm, on_token, answer_settings)

    def documents(self) -> list[DocRecord]:
        self._trust()
        return self.store.documents()

    def stats(self) -> dict[str, Any]:
        """`rag ls --stats`: documents, chunks, commit, size on disk, and the kinds of the vector index (flat or
        ivf-sq8: rag/store/ann.py) and of BM25 (FTS5, or postings of its own: rag/store/postings.py)."""
        commit = self.store.commit_number()
        kinds = derived.describe(self.folder, commit) if self.local else {"vectors": {"kind": "database"},
                                                                          "lexical": {"kind": "database"}}
        disk = sum(f.stat().st_size for f in self.folder.iterdir() if f.is_file()) if self.local else 0
        store = self.store
        count = cast(SQLiteStore, store).document_count() if self.local else len(store.documents(check=False))
        return {"documents": count, "chunks": self.store.chunk_count(), "commit": commit, "disk_bytes": disk, **kinds}

    def _named(self, path: str) -> list[DocRecord]:
        """The documents `path` can name (as a path on disk, or as a source under any root), looked up by
        their (root, source) index instead of reading every record; a damaged one is an IndexDamagedError."""
        store = cast(SQLiteStore, self.store)
        full = Path(path).expanduser().resolve()
        found = []
        for root in store.roots():
            names = {path} | ({full.relative_to(root).as_posix()} if full.is_relative_to(root) else set())
            found += [d for name in names if (d := store.document_at(root, name)) is not None]
        if any(d.damaged for d in found):
            self.store.documents()   # raises, naming them and `rag check`
        return found

    def remove(self, path: str, lock_wait: float = 0.0, root: str | Path | None = None) -> int:
        """Remove a document by its path on disk, or by its source path as `rag ls` shows it; when several
        ingested folders hold that name, `root` says which (otherwise nothing is removed)."""
        docs = self._named(path) if self.local else self.store.documents()
        matches = [d for d in docs if Path(d.root, d.source) == Path(path).expanduser().resolve()]
        if not matches:
            folder = Path(root).expanduser().resolve() if root is not None else None
            matches = [d for d in docs if d.source == path and (folder is None or Path(d.root) == folder)]
        if not matches:
            where = f" under {root}" if root is not None else ""
            raise RagError(f"{path}: not in the index{where} — `rag ls` lists what is there")
        if len(matches) > 1:
            listed = ", ".join(str(Path(d.root, d.source)) for d in matches)
            raise RagError(f"{path}: {len(matches)} documents have this name ({listed}); nothing was removed — "
                           f"name one with --root FOLDER or by its full path")
        lock = self._lock(lock_wait)
        try:
            for doc in matches:
                self.store.remove(doc.root, doc.source)
            if self.local:   # only the removed ids are written (deltas): rag/store/derived.py
                derived.update(self.store)
        finally:
            lock.release()
        return len(matches)

    def _lock(self, wait: float) -> WriteLock | _NoLock:
        """The folder's write lock; a database index locks each document in its own transaction instead."""
        return WriteLock(self.folder, wait) if self.local else _NoLock()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

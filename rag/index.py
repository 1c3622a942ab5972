"""The embeddable API: an index folder you can ingest into, search and ask.

    from rag import Index
    idx = Index.open("./my-index")          # creates it if missing
    answer = idx.ask("What corpus did they train on?")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rag.answer.settings import AnswerSettings
from rag.config import Settings, load_settings
from rag.core.errors import IndexFormatError, RagError
from rag.core.types import Answer, Hit
from rag.embed.registry import DEFAULT_EMBEDDER, Embedder, make_embedder
from rag.llm.protocol import LLMSettings
from rag.retrieve.fusion import RetrievalSettings, retrieve
from rag.store.faiss import VectorIndex
from rag.store.lock import WriteLock
from rag.store.protocol import Store
from rag.store.records import DocRecord
from rag.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from ingest.isolation import LoaderLimits
    from ingest.loaders.spec import LoaderSpec
    from ingest.pipeline import IngestSummary


def embedder_name(spec: str) -> str:
    """The name an embedder spec will record, known without loading the model."""
    if spec.startswith("hashing"):
        size = spec.partition("-")[2]
        return f"hashing-{size if size.isdigit() else 256}"
    if spec == DEFAULT_EMBEDDER:
        return spec
    return Path(spec).expanduser().resolve().name


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

    @classmethod
    def open(cls, folder: str | Path, embedder: str | Embedder | None = None,
             settings: Settings | None = None) -> Index:
        folder = Path(folder).expanduser()
        if folder.exists() and not folder.is_dir():
            raise IndexFormatError(f"{folder}: is a file, not an index folder — pass a folder to --index")
        settings = settings or load_settings(folder, {})
        meta = SQLiteStore.read_meta(folder)
        instance = embedder if not isinstance(embedder, str) else None
        spec = embedder if isinstance(embedder, str) else (instance.name if instance else None)
        spec = spec or settings.embedder or meta.get("embedder_spec") or DEFAULT_EMBEDDER
        if meta:
            name, dim = (instance.name, instance.dim) if instance else (embedder_name(spec), int(meta["dim"]))
        else:
            instance = instance or make_embedder(spec)
            name, dim = instance.name, instance.dim
        store = SQLiteStore.open(folder, name, spec, dim)
        return cls(folder, store, spec, settings, instance)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.embedder_spec)
        return self._embedder

    def vectors(self) -> VectorIndex:
        if self._vectors is None or self._vectors.commit != self.store.commit_number():
            self._vectors = VectorIndex.load(self.store)
        return self._vectors

    def ingest(self, folder: str | Path, dry_run: bool = False, progress: bool = False,
               lock_wait: float = 0.0, registry: dict[str, LoaderSpec] | None = None,
               retry_failed: bool = False, limits: LoaderLimits | None = None) -> IngestSummary:
        """Bring the index up to date with `folder` (a folder or one file).

        Each file is read in a worker process under `limits` (time and memory per file).
        """
        from ingest.isolation import LoaderLimits
        from ingest.pipeline import IngestOptions, ingest_folder
        from ingest.registry import default_registry

        registry = registry if registry is not None else default_registry()
        options = IngestOptions(dry_run=dry_run, retry_failed=retry_failed, progress=progress,
                                limits=limits or LoaderLimits())
        if dry_run:
            return ingest_folder(self.store, Path(folder), registry, lambda: self.embedder, options)
        lock = WriteLock(self.folder, lock_wait)
        try:
            return ingest_folder(self.store, Path(folder), registry, lambda: self.embedder, options)
        finally:
            lock.release()

    def search(self, question: str, k: int = 5, settings: RetrievalSettings | None = None) -> list[Hit]:
        if not question.strip():
            raise RagError("the question is empty — type what you want to find")
        return retrieve(self.store, self.vectors(), self.embedder, question, k, settings)

    def ask(self, question: str, llm: LLMSettings | None = None, k: int | None = None,
            on_token: Callable[[str], None] | None = None,
            answer_settings: AnswerSettings | None = None) -> Answer:
        """Answer from the indexed documents, citing them; says so when they do not contain it."""
        from rag.answer.extractive import answer_extractive
        from rag.answer.generate import answer_with_llm, not_found, relevant
        from rag.llm.registry import make_backend

        llm = llm or self.settings.llm
        # The bundled 135M model is distracted by more than three passages; larger models use five.
        answer_settings = answer_settings or AnswerSettings(max_sources=3 if llm.backend == "embedded" else 5)
        hits = self.search(question, k or self.settings.top_k)
        if llm.backend == "none":
            return answer_extractive(question, hits, self.embedder, answer_settings)
        if not relevant(question, hits, answer_settings):
            return not_found(question, hits, "(no passage cleared the relevance bar: the model was not called)",
                             llm.model or llm.backend)
        return answer_with_llm(question, hits, make_backend(llm), answer_settings, on_token,
                               fallback=lambda: answer_extractive(question, hits, self.embedder, answer_settings),
                               embedder=self.embedder)

    def documents(self) -> list[DocRecord]:
        return self.store.documents()

    def remove(self, path: str, lock_wait: float = 0.0) -> int:
        """Remove documents by source path (relative, as `rag ls` shows it) or absolute path."""
        target = Path(path).expanduser()
        matches = [d for d in self.store.documents()
                   if d.source == path or Path(d.root, d.source) == target.resolve()]
        if not matches:
            raise RagError(f"{path}: not in the index — `rag ls` lists what is there")
        lock = WriteLock(self.folder, lock_wait)
        try:
            for doc in matches:
                self.store.remove(doc.root, doc.source)
            VectorIndex.build(self.store).save(self.folder)
        finally:
            lock.release()
        return len(matches)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

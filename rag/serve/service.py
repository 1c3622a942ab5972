"""What the routes of `rag serve` do, over one index per server process.

Reads (search, ask, chat, the document list) go through a read-only `Index` (its own SQLite connection:
in WAL mode a reader sees the last commit and never waits for the writer). Uploads and removals go
through a second, writable `Index` (its embedder loads on the first upload), one write at a time.
The language model is not thread-safe: one question is answered by it at a time (`llm_lock`); the
extractive path (`--llm none`) needs no lock. The routes run these functions in FastAPI's thread pool,
so a long ingest or answer never stalls the other requests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.chat.rewrite import Exchange, Rewrite, refers_back, rewrite
from rag.chat.session import model_rewrites
from rag.core.errors import RagError
from rag.llm.protocol import LLMSettings
from rag.serve.errors import ApiError

if TYPE_CHECKING:
    from rag.core.types import Answer, Hit
    from rag.index import Index
    from rag.store.records import DocRecord
    from rag.uploads.files import FileStatus

WRITE_WAIT = 60.0
"""Seconds a write waits for another process (a `rag ingest`) holding the index's write lock."""


def document_json(d: DocRecord) -> dict[str, Any]:
    """One entry of `rag ls --json` (tests/test_serve.py checks the two agree)."""
    return {"source": d.source, "root": d.root, "kind": d.kind, "title": d.title, "chunks": d.chunks,
            "status": d.status, "error": d.error, "content_hash": d.content_hash}


@dataclass
class Service:
    reader: Index
    writable: Index | RagError   # the writable Index, or why the index cannot be written (a read-only folder)
    llm: LLMSettings
    k: int
    name: str                    # the index's folder name: the one model of GET /v1/models
    where: str                   # the index as `rag ls --json` names it (a URL without its password)
    llm_lock: threading.Lock = field(default_factory=threading.Lock)
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    def writer(self) -> Index:
        if isinstance(self.writable, RagError):
            raise ApiError(503, f"this server cannot change its index: {self.writable}")
        return self.writable

    def search(self, query: str, k: int) -> list[Hit]:
        return self.reader.search(query, k)

    def ask(self, question: str, k: int | None = None, history: list[Exchange] | None = None) -> tuple[Answer, str]:
        """The answer and the question as searched (the stand-alone form of a follow-up)."""
        if self.llm.backend == "none":
            return self._ask(question, k, history or [])
        with self.llm_lock:
            return self._ask(question, k, history or [])

    def _ask(self, question: str, k: int | None, history: list[Exchange]) -> tuple[Answer, str]:
        rw = self._rewrite(question, history)
        return self.reader.ask(rw.searched, llm=self.llm, k=k or self.k), rw.searched

    def _rewrite(self, question: str, history: list[Exchange]) -> Rewrite:
        """As the app and `rag chat` do (rag/chat/session.py `rewrite_for`): the model where it rewrites
        well, else the rules."""
        backend = None
        if model_rewrites(self.llm) and history and refers_back(question):
            from rag.llm.registry import make_backend

            backend = make_backend(self.llm)
        return rewrite(question, history, backend)

    def documents(self) -> list[DocRecord]:
        return self.reader.documents()

    def upload(self, name: str, data: bytes) -> tuple[FileStatus, DocRecord | None]:
        """Checked, saved under <index>/uploads/ and ingested as the app does (rag/uploads/files.py)."""
        from rag.uploads.files import MAX_UPLOAD_MB, UPLOADS_DIR, check_upload, safe_name, save_and_ingest
        from rag.uploads.files import supported_suffixes as suffixes

        refused = check_upload(name, len(data), suffixes(), MAX_UPLOAD_MB * 1_000_000)
        if refused:
            unsupported = Path(safe_name(name)).suffix.lower() not in suffixes()
            status = 415 if unsupported else 413 if data else 400
            raise ApiError(status, refused, param="file", code="unsupported_file" if unsupported else None)
        with self.write_lock:
            result = save_and_ingest(self.writer(), [(name, data)], lock_wait=WRITE_WAIT)[0]
        if not result.ok:
            raise ApiError(422, result.detail or f"{name}: could not be ingested", param="file")
        saved = (self.reader.folder / UPLOADS_DIR / result.saved_as).resolve()
        record = next((d for d in self.documents() if Path(d.root, d.source).resolve() == saved), None)
        return result, record

    def remove(self, source: str, root: str | None) -> int:
        """Remove a document by its source as GET /v1/documents lists it (and its uploaded copy)."""
        from rag.uploads.files import remove_document

        matches = [d for d in self.documents() if d.source == source and (root is None or d.root == root)]
        if not matches:
            raise ApiError(404, f"{source}: not in the index — GET /v1/documents lists what is there",
                           param="source", code="document_not_found")
        if len(matches) > 1:
            roots = ", ".join(d.root for d in matches)
            raise ApiError(409, f"{source}: {len(matches)} documents have this name (under {roots}); nothing was "
                                "removed — name one with ?root=FOLDER", param="root")
        with self.write_lock:
            return remove_document(self.writer(), matches[0].root, matches[0].source, WRITE_WAIT)

    def close(self) -> None:
        if not isinstance(self.writable, RagError):
            self.writable.close()
        self.reader.close()


def open_service(index_dir: str, opener: Callable[..., Index], llm: LLMSettings | None = None) -> Service:
    """The service over `index_dir`; `opener(create=…, read_only=…)` opens it as the CLI does (settings,
    warnings). A missing index is made first (empty: uploads fill it)."""
    from rag.store.postgres.url import is_url, shown
    from rag.store.schema import DB_NAME

    if not is_url(index_dir) and not (Path(index_dir).expanduser() / DB_NAME).is_file():
        opener(create=True).close()
    reader = opener(create=False, read_only=True)
    try:
        writable: Index | RagError = opener(create=False, read_only=False)
    except RagError as exc:
        writable = exc
    name = Path(index_dir).expanduser().resolve().name if not is_url(index_dir) else index_dir.rsplit("/", 1)[-1]
    return Service(reader, writable, llm or reader.settings.llm, reader.settings.top_k, name.split("?")[0] or "rag",
                   shown(index_dir))

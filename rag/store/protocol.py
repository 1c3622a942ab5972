"""The Store Protocol: what the ingest pipeline, retrieval and the API need from an index's storage.

`rag.store.sqlite.SQLiteStore` is the implementation behind an index folder; another store (for example
PostgreSQL) keeps the same methods and the same semantics: content hashes, one transaction per
document, a commit counter that names the state the vector files were derived from.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from rag.core.types import Chunk, Document
    from rag.store.records import DocRecord, StoredChunk


class Store(Protocol):
    folder: Path

    def transaction(self, write: bool = True) -> AbstractContextManager[None]:
        """A transaction: writes inside are all applied or none; reads inside see one snapshot."""
        ...

    def commit_number(self) -> int:
        """How many commits changed the index; the vector files name the commit they were built from."""
        ...

    def dimension(self) -> int: ...

    def documents(self, root: str | None = None) -> list[DocRecord]: ...

    def put_document(self, root: str, doc: Document, chunks: list[Chunk], vectors: np.ndarray,
                     embed_hashes: list[str], stat: tuple[str, int, int], loader: str) -> int: ...

    def record_failure(self, root: str, source: str, stat: tuple[str, int, int], loader: str,
                       error: str) -> None: ...

    def update_stat(self, doc: int, mtime_ns: int, source: str | None = None) -> None: ...

    def remove(self, root: str, source: str) -> int: ...

    def vectors_for(self, embed_hashes: list[str]) -> dict[str, bytes]: ...

    def all_vectors(self) -> tuple[int, np.ndarray, np.ndarray]: ...

    def chunks_by_row(self, rows: list[int]) -> dict[int, StoredChunk]: ...

    def section_text(self, doc_id: str, section: int) -> str: ...

    def lexical(self, match: str, limit: int, title_weight: float = 2.0) -> list[tuple[int, float]]: ...

    def lexical_for(self, match: str, rows: list[int], title_weight: float = 2.0) -> dict[int, float]: ...

    def close(self) -> None: ...

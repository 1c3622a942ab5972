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
    from rag.store.check import Report
    from rag.store.records import DocRecord, StoredChunk
    from rag.store.repair import Repaired


class Store(Protocol):
    folder: Path

    def transaction(self, write: bool = True) -> AbstractContextManager[None]:
        """A transaction: writes inside are all applied or none; reads inside see one snapshot."""
        ...

    def commit_number(self) -> int:
        """How many commits changed the index; the vector files name the commit they were built from."""
        ...

    def dimension(self) -> int: ...

    def documents(self, root: str | None = None, check: bool = True) -> list[DocRecord]:
        """The documents (of one root); with `check`, a record that fails its checksum is an
        IndexDamagedError, without it the record comes back marked `damaged`."""
        ...

    def chunk_count(self) -> int: ...

    def checkpoint(self) -> None:
        """Make every commit durable in the main file (SQLite: a WAL checkpoint)."""
        ...

    def damage(self, root: str) -> tuple[set[int], set[int]]:
        """(damaged documents, stray chunk rows) of one root: every row read and checked."""
        ...

    def discard(self, docs: set[int], chunks: set[int]) -> list[str]:
        """Delete damaged documents (with everything they hold) and stray chunk rows; their sources."""
        ...

    def repair_fulltext(self) -> bool:
        """Check the full-text index and rebuild it from the chunks when it is damaged; True if it was."""
        ...

    def check(self) -> Report:
        """Every check there is (`rag check`)."""
        ...

    def repair(self, report: Report) -> Repaired:
        """Under the write lock: repair what the store alone can; `Repaired.lost` names what to re-ingest."""
        ...

    def upgrade(self) -> bool:
        """Bring an older index format up to date (under the write lock); True when it did."""
        ...

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

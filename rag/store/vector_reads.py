"""Reads of rag.sqlite that cost no more than what they return, as a part of SQLiteStore: what the vector
index reads (rag/store/faiss.py's VectorSource: row ids, the chunk id sequence, vectors in batches, every
row checked as it is read) and what commands on a large index look up (roots, one document, counts)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from rag.store import maintenance, rows
from rag.store.records import DocRecord
from rag.store.schema import explained

if TYPE_CHECKING:
    import numpy as np


class VectorReads:
    folder: Path
    db: sqlite3.Connection
    format: int

    def dimension(self) -> int:
        raise NotImplementedError

    @explained
    def chunk_ids(self) -> np.ndarray:
        return rows.chunk_ids(self.db)

    @explained
    def chunk_seq(self) -> int | None:
        return rows.chunk_seq(self.db)

    @explained
    def roots(self) -> list[str]:
        """The folders ingested, from the (root, source) index: no document row is read."""
        return [str(r[0]) for r in self.db.execute("SELECT DISTINCT root FROM documents ORDER BY root")]

    @explained
    def document_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    @explained
    def document_at(self, root: str, source: str) -> DocRecord | None:
        """The record of one document (by its indexed root and source), None when there is none."""
        found = [d for d in rows.read_documents(self.db, self.format, root, source) if d.source == source]
        return found[0] if found else None

    @explained
    def vectors_after(self, after: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
        return self._intact(rows.vectors_after(self.db, self.format, self.dimension(), after, limit))

    @explained
    def vectors_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._intact(rows.vectors_of(self.db, self.format, self.dimension(), ids))

    def _intact(self, read: tuple[np.ndarray, np.ndarray, set[int]]) -> tuple[np.ndarray, np.ndarray]:
        if read[2]:
            raise maintenance.damaged(self.folder, "a stored chunk", rows.sources_of(self.db, read[2]))
        return read[0], read[1]


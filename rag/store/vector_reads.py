"""What the vector index reads from rag.sqlite (rag/store/faiss.py's VectorSource), as a part of
SQLiteStore: row ids, the chunk id sequence, and vectors in batches, every row checked as it is read."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from rag.store import maintenance, rows
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
    def vectors_after(self, after: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
        return self._intact(rows.vectors_after(self.db, self.format, self.dimension(), after, limit))

    @explained
    def vectors_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._intact(rows.vectors_of(self.db, self.format, self.dimension(), ids))

    def _intact(self, read: tuple[np.ndarray, np.ndarray, set[int]]) -> tuple[np.ndarray, np.ndarray]:
        if read[2]:
            raise maintenance.damaged(self.folder, "a stored chunk", rows.sources_of(self.db, read[2]))
        return read[0], read[1]


"""The vector side of retrieval for a database index: pgvector's HNSW search in place of a FAISS file."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rag.store.faiss import VectorIndex

if TYPE_CHECKING:
    import numpy as np

    from rag.store.postgres.store import PostgresStore


class DatabaseVectors(VectorIndex):
    """What fusion asks a VectorIndex for (`search`, `commit`), answered by the database. Nothing to load,
    save or rebuild: the HNSW index is kept by PostgreSQL in the same transactions as the chunks."""

    in_process: ClassVar[bool] = False   # search asks the database, on the store's connection

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.index = None
        self.commit = store.commit_number()
        self.rebuilt = ""

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        return self.store.search_vectors(query, k)

"""The FAISS index, derived from the vectors in SQLite and named for the commit it matches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from rag.store.protocol import Store


def _path(folder: Path, commit: int) -> Path:
    return folder / f"vectors.{commit}.faiss"


class VectorIndex:
    """Exact inner-product search over unit vectors; FAISS ids are the chunks' SQLite row ids."""

    def __init__(self, index: Any, commit: int) -> None:
        self.index = index
        self.commit = commit

    @classmethod
    def build(cls, store: Store) -> VectorIndex:
        import faiss

        commit, ids, vectors = store.all_vectors()
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(store.dimension()))
        if len(ids):
            index.add_with_ids(vectors, ids)
        return cls(index, commit)

    @classmethod
    def load(cls, store: Store) -> VectorIndex:
        """The saved index for the store's current commit, or a fresh one built from SQLite."""
        import faiss

        commit = store.commit_number()
        path = _path(store.folder, commit)
        if path.exists():
            try:
                return cls(faiss.read_index(str(path)), commit)
            except RuntimeError:
                pass  # damaged: rebuild below
        return cls.build(store)

    def save(self, folder: Path) -> None:
        """Write atomically (temp file + rename) and drop files of older commits."""
        import faiss

        target = _path(folder, self.commit)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, target)
        for old in folder.glob("vectors.*.faiss"):
            if old != target:
                old.unlink(missing_ok=True)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.index.ntotal == 0:
            return []
        scores, ids = self.index.search(query.reshape(1, -1).astype("float32"), min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

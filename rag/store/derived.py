"""What a folder index derives from rag.sqlite after each commit, each from only that commit's adds and removes:
the vector index (rag/store/faiss.py) and, from POSTINGS_MIN chunks, BM25's postings (rag/store/postings.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.store import postings
from rag.store.faiss import VectorIndex, describe_state, read_sidecar

if TYPE_CHECKING:
    from rag.store.protocol import Store


def update(store: Store) -> None:
    """After a commit, under the write lock: both written for it."""
    VectorIndex.update(store)
    postings.keep(store)


def describe(folder: Path, commit: int) -> dict[str, Any]:
    """What `rag ls --stats` shows of both, from their sidecars (nothing is loaded)."""
    return {"vectors": describe_state(read_sidecar(folder, commit)), "lexical": postings.describe_state(folder, commit)}

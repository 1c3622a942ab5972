"""What a folder index derives from rag.sqlite after each commit, each from only that commit's adds and removes:
the vector index (rag/store/faiss.py) and, from POSTINGS_MIN chunks, BM25's postings (rag/store/postings.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.store import postings
from rag.store.faiss import VectorIndex, describe_state, read_sidecar

if TYPE_CHECKING:
    from rag.store.protocol import Store

NOTE_FROM = 10_000
"""Chunks from which `update` tells `note` before it builds a new base (at 1M chunks each takes a minute or
more here; below this a few seconds at most)."""


def update(store: Store, note: Callable[[str], None] | None = None) -> None:
    """After a commit, under the write lock: both written for it. In an index of NOTE_FROM chunks or more,
    `note(what)` is told before a base is built (a sentence for the user: the ingest's bar is gone by then)."""
    told = note if note is not None and store.chunk_count() >= NOTE_FROM else None
    VectorIndex.update(store, before_base=None if told is None else
                       functools.partial(told, "building the vector index from every chunk (a new base)"))
    postings.keep(store, told)


def describe(folder: Path, commit: int) -> dict[str, Any]:
    """What `rag ls --stats` shows of both, from their sidecars (nothing is loaded)."""
    return {"vectors": describe_state(read_sidecar(folder, commit)), "lexical": postings.describe_state(folder, commit)}

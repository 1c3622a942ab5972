"""What the store hands out: a document's record and a stored chunk (plain frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rag.core.types import Chunk


@dataclass(frozen=True)
class DocRecord:
    id: int
    root: str
    source: str
    doc_id: str
    content_hash: str
    size: int
    mtime_ns: int
    loader: str
    kind: str
    title: str
    status: str
    error: str | None
    meta: dict[str, Any]
    chunks: int = 0
    damaged: bool = False     # the record failed its checksum (only reads with check=False hand it out)


@dataclass(frozen=True)
class StoredChunk:
    row: int
    chunk: Chunk
    source: str
    title: str
    root: str
    vector: bytes = b""

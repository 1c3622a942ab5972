"""Row checksums: what `rag check` and the cheap checks on every read compare against.

Each document, section and chunk row carries a checksum of its own columns, written in the same
transaction as the row. A document's checksum also covers `contents`, a digest of its sections' and
chunks' checksums in order, so a chunk that went missing (or one that moved to another document) shows
as damage to its document. Checksums are 64-bit BLAKE2b digests in hex: they catch damage, not attacks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

DOC_FIELDS = ("id", "root", "source", "doc_id", "content_hash", "size", "mtime_ns", "loader", "kind", "title",
              "status", "error", "meta", "ingested_at", "contents")
SECTION_FIELDS = ("doc", "idx", "text", "locator")
CHUNK_FIELDS = ("id", "chunk_id", "doc", "section", "start", "end", "text", "locator", "embed_hash", "vector")
NORM_TOLERANCE = 1e-3   # a stored vector's length must be 1 within this


def _encode(value: Any) -> bytes:
    """One value, tagged with its type and length, so that ("ab", "c") and ("a", "bc") differ."""
    if value is None:
        return b"N"
    if isinstance(value, bytes):
        return b"B%d:" % len(value) + value
    if isinstance(value, bool | int):
        return b"I%d" % int(value)
    if isinstance(value, float):
        return b"F" + repr(value).encode()
    data = str(value).encode("utf-8", "surrogateescape")
    return b"S%d:" % len(data) + data


def digest(values: Iterable[Any]) -> str:
    """BLAKE2b-64 of each value's `_encode` followed by a NUL, in one pass: the types SQLite hands back
    (str, int, bytes, None) are encoded inline, the rest through `_encode`; the bytes hashed are the same."""
    parts = []
    for value in values:
        kind = type(value)
        if kind is str:
            data = value.encode("utf-8", "surrogateescape")
            parts.append(b"S%d:%s\x00" % (len(data), data))
        elif kind is int:
            parts.append(b"I%d\x00" % value)
        elif kind is bytes:
            parts.append(b"B%d:%s\x00" % (len(value), value))
        else:
            parts.append(_encode(value) + b"\x00")
    return hashlib.blake2b(b"".join(parts), digest_size=8).hexdigest()


def contents_digest(section_sums: Sequence[str | None], chunk_sums: Sequence[str | None]) -> str:
    """A document's parts: "<sections>.<chunks>.<digest of their checksums>" (sections by index, chunks by
    row id). The counts alone let a listing see a chunk gone missing without reading any chunk."""
    return f"{len(section_sums)}.{len(chunk_sums)}." + digest([len(section_sums), *section_sums,
                                                              len(chunk_sums), *chunk_sums])


def chunk_count_of(contents: object) -> int | None:
    """The number of chunks a `contents` value says the document has (None when it says nothing)."""
    parts = str(contents).split(".")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def vector_ok(blob: bytes, dim: int) -> bool:
    """A stored vector is `dim` float32 values of unit length (or all zeros: a text with no words)."""
    if not isinstance(blob, bytes) or len(blob) != 4 * dim or dim <= 0:
        return False
    import numpy as np

    norm = float(np.linalg.norm(np.frombuffer(blob, dtype=np.float32)))
    return abs(norm - 1.0) <= NORM_TOLERANCE or norm == 0.0


def norms_ok(matrix: Any) -> Any:
    """Per row of a float32 matrix: is its length 1 (within the tolerance)? NaN and inf are not."""
    import numpy as np

    with np.errstate(all="ignore"):
        norms = np.linalg.norm(matrix.astype(np.float64), axis=1)
    return (np.abs(norms - 1.0) <= NORM_TOLERANCE) | (norms == 0.0)

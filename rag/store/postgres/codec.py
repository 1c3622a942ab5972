"""float32 vectors to and from pgvector's binary form (int16 dimension, int16 unused, big-endian float4s)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import psycopg


class Vector:
    """A float32 vector to send as a pgvector `vector` parameter."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray) -> None:
        self.values = values


def to_binary(values: np.ndarray) -> bytes:
    flat = values.reshape(-1)
    return struct.pack(">HH", len(flat), 0) + flat.astype(">f4").tobytes()


def from_binary(data: bytes | memoryview) -> bytes:
    """The vector as native float32 bytes (what the SQLite store keeps, and fusion reads)."""
    import numpy as np

    raw = bytes(data)
    dim = struct.unpack(">H", raw[:2])[0]
    return np.frombuffer(raw, dtype=">f4", count=dim, offset=4).astype(np.float32).tobytes()


def register(conn: psycopg.Connection[Any]) -> None:
    """Teach this connection to send `Vector` and read `vector` columns (binary) as float32 bytes."""
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format
    from psycopg.types import TypeInfo

    found = TypeInfo.fetch(conn, "vector")
    conn.rollback()   # the pool wants its new connections idle, not inside the look-up's transaction
    if found is None:
        return   # no extension: opening the store says so
    info = found

    class VectorDumper(Dumper):
        format = Format.BINARY
        oid = info.oid

        def dump(self, obj: Vector) -> bytes:
            return to_binary(obj.values)

    class VectorLoader(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> bytes:
            return from_binary(data)

    conn.adapters.register_dumper(Vector, VectorDumper)
    conn.adapters.register_loader(info.oid, VectorLoader)

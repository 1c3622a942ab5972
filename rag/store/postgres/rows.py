"""Rows of a database index: how a document, its sections and chunks are written and read (inside the
caller's transaction, on one psycopg connection)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from rag.core.text import context_title
from rag.core.types import Chunk, Document
from rag.store.postgres import codec
from rag.store.postgres.lexical import fold, tokens
from rag.store.postgres.schema import TEXT_CONFIG
from rag.store.records import DocRecord, StoredChunk

if TYPE_CHECKING:
    import numpy as np
    import psycopg

_DOC = ("id, root, source, doc_id, content_hash, size, mtime_ns, loader, kind, title, status, error, meta, "
        "(SELECT COUNT(*) FROM rag_chunks c WHERE c.doc = d.id)")
_CHUNK = ("c.id, c.chunk_id, c.text, c.locator, c.start_at, c.end_at, c.section, d.doc_id, d.source, d.title, "
          "d.root, c.embedding")
_INSERT_CHUNK = ("INSERT INTO rag_chunks(chunk_id, doc, section, start_at, end_at, text, locator, embed_hash, title, "
                 "tokens, embedding, tsv) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                 f"setweight(to_tsvector('{TEXT_CONFIG}', %s), 'A') || "
                 f"setweight(to_tsvector('{TEXT_CONFIG}', %s), 'D'))")


def doc_lock_key(root: str, source: str) -> int:
    """A signed 64-bit advisory lock key for one document."""
    return int.from_bytes(hashlib.blake2b(f"{root}\0{source}".encode("utf-8", "surrogateescape"),
                                          digest_size=8).digest(), "big", signed=True)


def write_document(conn: psycopg.Connection[Any], root: str, doc: Document, chunks: list[Chunk],
                   vectors: np.ndarray, embed_hashes: list[str], stat: tuple[str, int, int], loader: str) -> int:
    """Replace (root, doc.source): under the document's advisory lock, delete the old rows, insert the new."""
    content_hash, size, mtime_ns = stat
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (doc_lock_key(root, doc.source),))
    conn.execute("DELETE FROM rag_documents WHERE root = %s AND source = %s", (root, doc.source))
    row = conn.execute(
        "INSERT INTO rag_documents(root, source, doc_id, content_hash, size, mtime_ns, loader, kind, title, status, "
        "error, meta, ingested_at, version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'ok', NULL, %s, %s, "
        "nextval('rag_commit')) RETURNING id",
        (root, doc.source, doc.doc_id, content_hash, int(size), int(mtime_ns), loader, doc.kind, doc.title,
         json.dumps(doc.meta, default=str), time.time())).fetchone()
    doc_row = int(row[0]) if row else 0
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO rag_sections(doc, idx, text, locator) VALUES (%s, %s, %s, %s)",
                        [(doc_row, i, s.text, json.dumps(s.locator)) for i, s in enumerate(doc.sections)])
        cur.executemany(_INSERT_CHUNK, [_chunk_row(doc_row, doc.title, c, v, h) for c, v, h in
                                        zip(chunks, vectors, embed_hashes, strict=True)])
    return doc_row


def write_failure(conn: psycopg.Connection[Any], root: str, source: str, stat: tuple[str, int, int], loader: str,
                  error: str) -> None:
    """A failed load: a new record, or the error noted on the older good version (its chunks stay)."""
    content_hash, size, mtime_ns = stat
    conn.execute(
        "INSERT INTO rag_documents(root, source, doc_id, content_hash, size, mtime_ns, loader, kind, title, status, "
        "error, meta, ingested_at, version) VALUES (%s, %s, '', %s, %s, %s, %s, '', '', 'failed', %s, '{}', %s, "
        "nextval('rag_commit')) ON CONFLICT (root, source) DO UPDATE SET error = EXCLUDED.error",
        (root, source, content_hash, int(size), int(mtime_ns), loader, error, time.time()))


def read_documents(conn: psycopg.Connection[Any], where: str, args: tuple[Any, ...]) -> list[DocRecord]:
    found = conn.execute(f"SELECT {_DOC} FROM rag_documents d {where}", args).fetchall()  # type: ignore[arg-type]
    return [DocRecord(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), int(r[6]), r[7], r[8], r[9], r[10], r[11],
                      r[12] if isinstance(r[12], dict) else {}, int(r[13])) for r in found]


def read_chunks(conn: psycopg.Connection[Any], row_ids: list[int]) -> dict[int, StoredChunk]:
    """The chunks at these rows that exist now, in one statement (one snapshot)."""
    sql = f"SELECT {_CHUNK} FROM rag_chunks c JOIN rag_documents d ON d.id = c.doc WHERE c.id = ANY(%s)"
    out = {}
    for r in conn.cursor(binary=True).execute(sql, (list(row_ids),)).fetchall():  # type: ignore[arg-type]
        chunk = Chunk(r[1], r[7], r[2], _locator(r[3]), int(r[4]), int(r[5]), int(r[6]))
        out[int(r[0])] = StoredChunk(int(r[0]), chunk, r[8], r[9], r[10], r[11])
    return out


def _chunk_row(doc_row: int, title: str, c: Chunk, vector: np.ndarray, embed_hash: str) -> tuple[Any, ...]:
    heading = context_title(title, c.locator)
    return (c.chunk_id, doc_row, int(c.section), int(c.start), int(c.end), c.text, json.dumps(c.locator), embed_hash,
            heading, tokens(heading) + tokens(c.text), codec.Vector(vector), fold(heading), fold(c.text))


def _locator(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}

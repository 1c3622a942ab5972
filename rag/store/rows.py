"""Rows of rag.sqlite with their checksums: written sealed, read verified.

Functions over one connection and the index's format (1: rows carry no checksum and are read as they
are; 2: every read compares each row with its checksum and reports the ones that differ). The SQLite
store (sqlite.py) wraps them in transactions; `rag check` (check.py) reads the same way, all rows at once.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from rag.core.text import context_title
from rag.core.types import Chunk, Document
from rag.store.checksum import chunk_count_of, contents_digest, digest, norms_ok, vector_ok
from rag.store.records import DocRecord, StoredChunk
from rag.store.schema import CHUNK_COLUMNS, DOC_COLUMNS

if TYPE_CHECKING:
    import numpy as np

_DOC_NAMES = [c.strip() for c in DOC_COLUMNS.split(",")]
_CHUNK_NAMES = [c.strip() for c in CHUNK_COLUMNS.split(",")]


def doc_columns(fmt: int, prefix: str = "") -> str:
    """The columns a document's checksum covers, then the checksum (format 1: NULL for what it lacks)."""
    cols = [f"{prefix}{c}" if c != "contents" or fmt >= 2 else "NULL" for c in _DOC_NAMES]
    return ", ".join([*cols, f"{prefix}checksum" if fmt >= 2 else "NULL"])


def chunk_columns(fmt: int, prefix: str = "") -> str:
    return ", ".join([*(f"{prefix}{c}" for c in _CHUNK_NAMES), f"{prefix}checksum" if fmt >= 2 else "NULL"])


def sealed(row: tuple[Any, ...]) -> bool:
    """A row whose last value is the checksum of the others (or None: format 1, nothing to compare)."""
    return row[-1] is None or digest(row[:-1]) == row[-1]


def printable(text: object) -> str:
    """Text fit to show: bytes of a damaged row that are not UTF-8 as \\xNN escapes (as scan.source_name)."""
    return re.sub("[\udc80-\udcff]", lambda m: f"\\x{ord(m.group()) - 0xdc00:02x}", str(text))


def parse_json(text: object) -> Any:
    try:
        return json.loads(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def chunk_ok(row: tuple[Any, ...], dim: int) -> bool:
    """A chunk row (chunk_columns) that is sealed, has a unit vector of `dim` and a JSON object as locator."""
    return sealed(row) and vector_ok(row[9], dim) and isinstance(parse_json(row[7]), dict)


# --- writes (inside the caller's write transaction) ----------------------------------------------
def next_id(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0])


def next_chunk_id(db: sqlite3.Connection, count: int) -> int:
    """The first of `count` new chunk row ids: above every id handed out before (meta `chunk_seq`), so no id
    is used twice and the vector index can tell a commit's new chunks by id alone (rag/store/faiss.py)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'chunk_seq'").fetchone()
    first = max(next_id(db, "chunks"), int(row[0]) + 1 if row else 0)
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('chunk_seq', ?)", (str(first + count - 1),))
    return first


def insert_document(db: sqlite3.Connection, values: tuple[Any, ...]) -> None:
    """One documents row: DOC_COLUMNS' values, sealed."""
    db.execute(f"INSERT INTO documents({DOC_COLUMNS}, checksum) VALUES ({','.join('?' * 16)})",
               (*values, digest(values)))


def write_document(db: sqlite3.Connection, root: str, doc: Document, chunks: list[Chunk], vectors: np.ndarray,
                   embed_hashes: list[str], stat: tuple[str, int, int], loader: str) -> int:
    """Insert a document, its sections, chunks (with vectors) and full-text rows, each row sealed."""
    content_hash, size, mtime_ns = stat
    doc_row = next_id(db, "documents")
    sections = [(doc_row, i, s.text, json.dumps(s.locator)) for i, s in enumerate(doc.sections)]
    first = next_chunk_id(db, len(chunks))
    rows = [(first + i, c.chunk_id, doc_row, int(c.section), int(c.start), int(c.end), c.text, json.dumps(c.locator),
             h, v.astype("float32").tobytes()) for i, (c, v, h) in enumerate(zip(chunks, vectors, embed_hashes,
                                                                                      strict=True))]
    section_sums, chunk_sums = [digest(s) for s in sections], [digest(r) for r in rows]
    insert_document(db, (doc_row, root, doc.source, doc.doc_id, content_hash, int(size), int(mtime_ns), loader,
                         doc.kind, doc.title, "ok", None, json.dumps(doc.meta, default=str), time.time(),
                         contents_digest(section_sums, chunk_sums)))
    db.executemany("INSERT INTO sections(doc, idx, text, locator, checksum) VALUES (?, ?, ?, ?, ?)",
                   [(*s, ck) for s, ck in zip(sections, section_sums, strict=True)])
    db.executemany(f"INSERT INTO chunks({CHUNK_COLUMNS}, checksum) VALUES ({','.join('?' * 11)})",
                   [(*r, ck) for r, ck in zip(rows, chunk_sums, strict=True)])
    db.executemany("INSERT INTO chunks_fts(rowid, title, text) VALUES (?, ?, ?)",
                   [(r[0], context_title(doc.title, c.locator), c.text) for r, c in zip(rows, chunks, strict=True)])
    return doc_row


def failed_document(db: sqlite3.Connection, root: str, source: str, stat: tuple[str, int, int], loader: str,
                    error: str) -> None:
    content_hash, size, mtime_ns = stat
    insert_document(db, (next_id(db, "documents"), root, source, "", content_hash, int(size), int(mtime_ns), loader,
                         "", "", "failed", error, "{}", time.time(), contents_digest([], [])))


def delete_documents(db: sqlite3.Connection, ids: list[int]) -> None:
    """Documents with their sections, chunks and full-text rows."""
    for doc in ids:
        db.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE doc = ?)", (doc,))
        db.execute("DELETE FROM documents WHERE id = ?", (doc,))


# --- reads ----------------------------------------------------------------------------------------
def read_documents(db: sqlite3.Connection, fmt: int, root: str | None, source: str | None = None) -> list[DocRecord]:
    """Every document (of one root; or the one at root and source), each marked `damaged` when it fails its
    checksum."""
    sql = (f"SELECT {doc_columns(fmt)}, (SELECT COUNT(*) FROM chunks c WHERE c.doc = documents.id) "
           "FROM documents")
    if root is not None and source is not None:
        rows = db.execute(sql + " WHERE root = ? AND source = ?", (root, source)).fetchall()
    else:
        rows = (db.execute(sql + " WHERE root = ? ORDER BY source", (root,)) if root is not None
                else db.execute(sql + " ORDER BY root, source")).fetchall()
    return [_record(r) for r in rows]


def _record(r: tuple[Any, ...]) -> DocRecord:
    meta = parse_json(r[12])
    counted = chunk_count_of(r[14]) if r[15] is not None else r[16]
    damaged = not sealed(r[:16]) or not isinstance(meta, dict) or counted != r[16]
    source = printable(r[2]) if damaged else r[2]
    return DocRecord(r[0], r[1], source, r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                     meta if isinstance(meta, dict) else {}, r[16], damaged)


def read_chunks(db: sqlite3.Connection, fmt: int, rows: list[int], dim: int) -> tuple[dict[int, StoredChunk],
                                                                                       list[str]]:
    """The chunks (with their documents) at these row ids, and the sources of those that are damaged.
    One statement (one snapshot) reads the chunk rows, then each of their documents' rows once."""
    out: dict[int, StoredChunk] = {}
    bad: list[str] = []
    if not rows:
        return out, bad
    ids = json.dumps([int(r) for r in rows])
    sql = (f"SELECT 0, {chunk_columns(fmt)}, {', '.join(['NULL'] * 16)} FROM chunks "
           "WHERE id IN (SELECT value FROM json_each(?1)) UNION ALL "
           f"SELECT 1, {', '.join(['NULL'] * 11)}, {doc_columns(fmt)} FROM documents "
           "WHERE id IN (SELECT doc FROM chunks WHERE id IN (SELECT value FROM json_each(?1)))")
    fetched = db.execute(sql, (ids,)).fetchall()
    docs = {r[12]: r[12:28] for r in fetched if r[0] == 1}
    intact: dict[Any, bool] = {}   # document row id -> sealed(its row), each computed once
    sound: list[tuple[tuple[Any, ...], Any, tuple[Any, ...]]] = []
    for r in fetched:
        if r[0] == 1 or r[3] not in docs:   # a document row; a chunk whose document is gone (the caller tells)
            continue
        doc_row, locator = docs[r[3]], parse_json(r[8])
        if r[3] not in intact:
            intact[r[3]] = sealed(doc_row)
        if not (intact[r[3]] and sealed(r[1:12]) and isinstance(r[10], bytes) and len(r[10]) == 4 * dim > 0
                and isinstance(locator, dict)):
            bad.append(printable(doc_row[2]))
            continue
        sound.append((r, locator, doc_row))
    for (r, locator, d), unit in zip(sound, _unit_lengths([r[10] for r, _, _ in sound], dim), strict=True):
        if not unit:
            bad.append(printable(d[2]))
            continue
        chunk = Chunk(r[2], d[3], r[7], locator, r[5], r[6], r[4])
        out[r[1]] = StoredChunk(r[1], chunk, d[2], d[9], d[1], r[10])
    return out, bad


def _unit_lengths(blobs: list[bytes], dim: int) -> list[bool]:
    """vector_ok for each of these blobs of `dim` float32 values, in one pass."""
    import numpy as np

    if not blobs:
        return []
    return [bool(ok) for ok in norms_ok(np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim))]


def read_vectors(db: sqlite3.Connection, fmt: int, dim: int) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """(ids, vectors) of every chunk by row id, and the documents of chunks that are damaged."""
    import numpy as np

    rows = db.execute(f"SELECT {chunk_columns(fmt)} FROM chunks ORDER BY id").fetchall()
    bad = {r[2] for r in rows if not sealed(r) or not isinstance(r[9], bytes) or len(r[9]) != 4 * dim}
    if bad:
        return np.zeros(0, np.int64), np.zeros((0, dim), np.float32), bad
    vectors = np.frombuffer(b"".join(r[9] for r in rows), dtype=np.float32).reshape(len(rows), dim)
    bad = {rows[i][2] for i in np.flatnonzero(~norms_ok(vectors))}
    return np.array([r[0] for r in rows], dtype=np.int64), vectors, bad


def read_vectors_where(db: sqlite3.Connection, fmt: int, dim: int, where: str,
                       args: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """(ids, vectors) of the chunks `where` selects, by row id, and the documents of those that are damaged."""
    import numpy as np

    rows = db.execute(f"SELECT {chunk_columns(fmt)} FROM chunks WHERE {where}", args).fetchall()
    bad = {r[2] for r in rows if not sealed(r) or not isinstance(r[9], bytes) or len(r[9]) != 4 * dim}
    if bad or not rows:
        return np.zeros(0, np.int64), np.zeros((0, dim), np.float32), bad
    vectors = np.frombuffer(b"".join(r[9] for r in rows), dtype=np.float32).reshape(len(rows), dim)
    bad = {rows[i][2] for i in np.flatnonzero(~norms_ok(vectors))}
    return np.array([r[0] for r in rows], dtype=np.int64), vectors, bad


def chunk_ids(db: sqlite3.Connection) -> np.ndarray:
    """Every chunk's row id, ascending (from the chunks_doc index: no row is read). SQLite joins them into
    one string that numpy parses and sorts: 0.25 s at 1M chunks, against 1.1 s for a Python int a row."""
    import numpy as np

    joined = db.execute("SELECT group_concat(id) FROM chunks INDEXED BY chunks_doc").fetchone()[0]
    return np.sort(np.fromstring(joined, dtype=np.int64, sep=",")) if joined else np.zeros(0, np.int64)


def chunk_seq(db: sqlite3.Connection) -> int | None:
    """The highest chunk row id ever handed out (next_chunk_id); None when none was since it exists."""
    row = db.execute("SELECT value FROM meta WHERE key = 'chunk_seq'").fetchone()
    return int(row[0]) if row else None


def vectors_after(db: sqlite3.Connection, fmt: int, dim: int, after: int,
                  limit: int) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """Up to `limit` chunks with row ids above `after`, ascending (as read_vectors_where)."""
    return read_vectors_where(db, fmt, dim, "id > ? ORDER BY id LIMIT ?", (int(after), int(limit)))


def vectors_of(db: sqlite3.Connection, fmt: int, dim: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """The chunks at these row ids, ascending (as read_vectors_where)."""
    return read_vectors_where(db, fmt, dim, "id IN (SELECT value FROM json_each(?)) ORDER BY id",
                              (json.dumps([int(i) for i in ids]),))


def reusable_vectors(db: sqlite3.Connection, fmt: int, embed_hashes: list[str], dim: int) -> dict[str, bytes]:
    """Stored vectors for texts embedded before (by hash of the embedded text); damaged rows are not reused."""
    found: dict[str, bytes] = {}
    for i in range(0, len(embed_hashes), 500):
        batch = embed_hashes[i:i + 500]
        sql = f"SELECT {chunk_columns(fmt)} FROM chunks WHERE embed_hash IN ({','.join('?' * len(batch))})"
        for row in db.execute(sql, batch):
            if chunk_ok(row, dim):
                found[row[8]] = row[9]
    return found


def read_section(db: sqlite3.Connection, fmt: int, doc_id: str, section: int) -> tuple[str, str | None]:
    """(text, source of a damaged section or None)."""
    ck = "s.checksum" if fmt >= 2 else "NULL"
    row = db.execute(f"SELECT s.doc, s.idx, s.text, s.locator, {ck}, d.source FROM sections s JOIN documents d "
                     "ON d.id = s.doc WHERE d.doc_id = ? AND s.idx = ?", (doc_id, section)).fetchone()
    if row is None:
        return "", None
    return str(row[2]), (None if sealed(row[:5]) else str(row[5]))


def sources_of(db: sqlite3.Connection, docs: set[int]) -> list[str]:
    found = [db.execute("SELECT source FROM documents WHERE id = ?", (d,)).fetchone() for d in docs
             if isinstance(d, int)]
    return [printable(f[0]) for f in found if f]

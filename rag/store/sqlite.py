"""The index folder: SQLite is the source of truth; the FAISS file is derived from it.

rag.sqlite holds documents, sections, chunks (with float32 vectors), an FTS5 table and a meta table.
Every file's change is one transaction, so a crash leaves each file in its old or its new state.
`vectors.<commit>.faiss` names the commit it was built from; a missing or stale file is rebuilt.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.errors import IndexFormatError
from rag.core.text import context_title
from rag.core.types import Chunk, Document
from rag.store.records import DocRecord, StoredChunk

if TYPE_CHECKING:
    import numpy as np

FORMAT_VERSION = 1
DB_NAME = "rag.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    id INTEGER PRIMARY KEY, root TEXT NOT NULL, source TEXT NOT NULL, doc_id TEXT NOT NULL,
    content_hash TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    loader TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL,
    error TEXT, meta TEXT NOT NULL DEFAULT '{}', ingested_at REAL NOT NULL, UNIQUE(root, source));
CREATE TABLE IF NOT EXISTS sections(
    doc INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    text TEXT NOT NULL, locator TEXT NOT NULL, PRIMARY KEY(doc, idx));
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL,
    doc INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    section INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    locator TEXT NOT NULL, embed_hash TEXT NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc);
CREATE INDEX IF NOT EXISTS chunks_embed_hash ON chunks(embed_hash);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, tokenize = 'porter unicode61 remove_diacritics 2');
"""


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


class SQLiteStore:
    """One index folder. Reads need no lock; writes happen inside `write()` transactions."""

    def __init__(self, folder: Path, db: sqlite3.Connection) -> None:
        self.folder = folder
        self.db = db

    @classmethod
    def open(cls, folder: Path, embedder_name: str, embedder_spec: str, dim: int) -> SQLiteStore:
        folder.mkdir(parents=True, exist_ok=True)
        db_path = folder / DB_NAME
        try:
            db = _connect(db_path)
            db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise IndexFormatError(f"{db_path}: not a readable index ({exc}) — move the folder aside "
                                   "and ingest again into a new --index folder") from exc
        store = cls(folder, db)
        store._check_meta(embedder_name, embedder_spec, dim)
        return store

    @staticmethod
    def read_meta(folder: Path) -> dict[str, str]:
        """The meta table of an existing index (empty when there is none)."""
        db_path = folder / DB_NAME
        if not db_path.exists():
            return {}
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=60)
        try:
            return dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError:
            return {}
        finally:
            db.close()

    def _check_meta(self, name: str, spec: str, dim: int) -> None:
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if not meta:
            with self.transaction():
                self.db.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)", [
                    ("format_version", str(FORMAT_VERSION)), ("embedder", name),
                    ("embedder_spec", spec), ("dim", str(dim)), ("commit", "0")])
            return
        if int(meta.get("format_version", 0)) != FORMAT_VERSION:
            raise IndexFormatError(f"{self.folder}: index format {meta.get('format_version')} but this "
                                   f"version of rag reads format {FORMAT_VERSION} — re-ingest into a new "
                                   "--index folder")
        if meta.get("embedder") != name or int(meta.get("dim", 0)) != dim:
            raise IndexFormatError(
                f"{self.folder}: built with embedder {meta.get('embedder')} ({meta.get('dim')}-d), not "
                f"{name} ({dim}-d) — open it with --embedder {meta.get('embedder_spec')}, or rebuild: "
                f"rag ingest FOLDER --index NEW_DIR --embedder {spec}")

    def transaction(self, write: bool = True) -> _Transaction:
        return _Transaction(self.db, write)

    def commit_number(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='commit'").fetchone()
        return int(row[0]) if row else 0

    def dimension(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='dim'").fetchone()
        return int(row[0]) if row else 0

    def _bump_commit(self) -> None:
        self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='commit'")

    # --- documents -------------------------------------------------------------------------------
    def documents(self, root: str | None = None) -> list[DocRecord]:
        sql = ("SELECT d.id, d.root, d.source, d.doc_id, d.content_hash, d.size, d.mtime_ns, d.loader, "
               "d.kind, d.title, d.status, d.error, d.meta, "
               "(SELECT COUNT(*) FROM chunks c WHERE c.doc = d.id) FROM documents d")
        rows = (self.db.execute(sql + " WHERE d.root = ? ORDER BY d.source", (root,)) if root is not None
                else self.db.execute(sql + " ORDER BY d.root, d.source"))
        return [DocRecord(*r[:12], json.loads(r[12]), r[13]) for r in rows]  # type: ignore[call-arg]

    def put_document(self, root: str, doc: Document, chunks: list[Chunk], vectors: np.ndarray,
                     embed_hashes: list[str], stat: tuple[str, int, int], loader: str) -> int:
        """Replace (root, doc.source) with this document, its sections and chunks: one transaction."""
        content_hash, size, mtime_ns = stat
        with self.transaction():
            self._delete_where("root = ? AND source = ?", (root, doc.source))
            cur = self.db.execute(
                "INSERT INTO documents(root, source, doc_id, content_hash, size, mtime_ns, loader, kind, "
                "title, status, error, meta, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (root, doc.source, doc.doc_id, content_hash, size, mtime_ns, loader, doc.kind, doc.title,
                 "ok", None, json.dumps(doc.meta, default=str), time.time()))
            doc_row = int(cur.lastrowid or 0)
            self.db.executemany("INSERT INTO sections VALUES (?, ?, ?, ?)", [
                (doc_row, i, s.text, json.dumps(s.locator)) for i, s in enumerate(doc.sections)])
            for chunk, vector, embed_hash in zip(chunks, vectors, embed_hashes, strict=True):
                cur = self.db.execute(
                    "INSERT INTO chunks(chunk_id, doc, section, start, end, text, locator, embed_hash, "
                    "vector) VALUES (?,?,?,?,?,?,?,?,?)",
                    (chunk.chunk_id, doc_row, chunk.section, chunk.start, chunk.end, chunk.text,
                     json.dumps(chunk.locator), embed_hash, vector.astype("float32").tobytes()))
                self.db.execute("INSERT INTO chunks_fts(rowid, title, text) VALUES (?, ?, ?)",
                                (cur.lastrowid, context_title(doc.title, chunk.locator), chunk.text))
            self._bump_commit()
        return doc_row

    def record_failure(self, root: str, source: str, stat: tuple[str, int, int], loader: str,
                       error: str) -> None:
        """Note a failed load. An older good version of the file keeps its chunks (nothing is lost)."""
        content_hash, size, mtime_ns = stat
        with self.transaction():
            updated = self.db.execute("UPDATE documents SET error = ? WHERE root = ? AND source = ?",
                                      (error, root, source)).rowcount
            if not updated:
                self.db.execute(
                    "INSERT INTO documents(root, source, doc_id, content_hash, size, mtime_ns, loader, "
                    "kind, title, status, error, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (root, source, "", content_hash, size, mtime_ns, loader, "", "", "failed", error,
                     time.time()))

    def update_stat(self, doc: int, mtime_ns: int, source: str | None = None) -> None:
        with self.transaction():
            if source is None:
                self.db.execute("UPDATE documents SET mtime_ns = ? WHERE id = ?", (mtime_ns, doc))
            else:
                self.db.execute("UPDATE documents SET mtime_ns = ?, source = ? WHERE id = ?",
                                (mtime_ns, source, doc))

    def remove(self, root: str, source: str) -> int:
        with self.transaction():
            count = self._delete_where("root = ? AND source = ?", (root, source))
            self._bump_commit()
        return count

    def _delete_where(self, where: str, args: tuple[Any, ...]) -> int:
        ids = [r[0] for r in self.db.execute(f"SELECT id FROM documents WHERE {where}", args)]
        for doc in ids:
            self.db.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE doc = ?)",
                            (doc,))
            self.db.execute("DELETE FROM documents WHERE id = ?", (doc,))
        return len(ids)

    # --- chunks and vectors ----------------------------------------------------------------------
    def vectors_for(self, embed_hashes: list[str]) -> dict[str, bytes]:
        """Stored vectors for texts embedded before (by hash of the embedded text)."""
        found: dict[str, bytes] = {}
        for i in range(0, len(embed_hashes), 500):
            batch = embed_hashes[i:i + 500]
            marks = ",".join("?" * len(batch))
            for key, blob in self.db.execute(
                    f"SELECT embed_hash, vector FROM chunks WHERE embed_hash IN ({marks})", batch):
                found[key] = blob
        return found

    def all_vectors(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(commit, ids, vectors) read in one snapshot."""
        import numpy as np

        with self.transaction(write=False):
            commit = self.commit_number()
            rows = self.db.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        blob = b"".join(r[1] for r in rows)
        return commit, ids, np.frombuffer(blob, dtype=np.float32).reshape(len(rows), self.dimension())

    def chunks_by_row(self, rows: list[int]) -> dict[int, StoredChunk]:
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        sql = ("SELECT c.id, c.chunk_id, d.doc_id, c.text, c.locator, c.start, c.end, c.section, d.source, "
               f"d.title, d.root, c.vector FROM chunks c JOIN documents d ON d.id = c.doc WHERE c.id IN ({marks})")
        out: dict[int, StoredChunk] = {}
        for r in self.db.execute(sql, rows):
            chunk = Chunk(r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7])
            out[r[0]] = StoredChunk(r[0], chunk, r[8], r[9], r[10], r[11])
        return out

    def section_text(self, doc_id: str, section: int) -> str:
        row = self.db.execute("SELECT s.text FROM sections s JOIN documents d ON d.id = s.doc "
                              "WHERE d.doc_id = ? AND s.idx = ?", (doc_id, section)).fetchone()
        return row[0] if row else ""

    def lexical(self, match: str, limit: int, title_weight: float = 2.0) -> list[tuple[int, float]]:
        """BM25 over FTS5 (title and text columns). Higher score is better."""
        sql = ("SELECT rowid, -bm25(chunks_fts, ?, 1.0) AS s FROM chunks_fts WHERE chunks_fts MATCH ? "
               "ORDER BY s DESC LIMIT ?")
        try:
            return [(int(r), float(s)) for r, s in self.db.execute(sql, (title_weight, match, limit))]
        except sqlite3.OperationalError:
            return []

    def lexical_for(self, match: str, rows: list[int], title_weight: float = 2.0) -> dict[int, float]:
        """The BM25 score (as `lexical` gives it) of each of `rows` that matches; one indexed look-up a row."""
        if not match:
            return {}
        sql = "SELECT -bm25(chunks_fts, ?, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? AND rowid = ?"
        found: dict[int, float] = {}
        try:
            for row in rows:
                score = self.db.execute(sql, (title_weight, match, row)).fetchone()
                if score is not None:
                    found[row] = float(score[0])
        except sqlite3.OperationalError:
            return {}
        return found

    def close(self) -> None:
        self.db.close()


class _Transaction:
    """BEGIN (IMMEDIATE for writes) … COMMIT, rolled back on any exception."""

    def __init__(self, db: sqlite3.Connection, write: bool) -> None:
        self.db = db
        self.write = write

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")

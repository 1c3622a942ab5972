"""rag.sqlite's schema, how it is opened, how format 1 becomes format 2, and what its errors mean.

Format 2 adds a checksum to every document, section and chunk row (rag/store/checksum.py). A format 1
index still opens and reads (its rows are not verified: "no checksum"); the first write, or
`rag check --repair`, upgrades it in place under the write lock.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.request import pathname2url

from rag.core.errors import IndexDamagedError, IndexFormatError, RagError
from rag.store.checksum import contents_digest, digest

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
DB_NAME = "rag.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
    id INTEGER PRIMARY KEY, root TEXT NOT NULL, source TEXT NOT NULL, doc_id TEXT NOT NULL,
    content_hash TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    loader TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL,
    error TEXT, meta TEXT NOT NULL DEFAULT '{}', ingested_at REAL NOT NULL, contents TEXT, checksum TEXT,
    UNIQUE(root, source));
CREATE TABLE IF NOT EXISTS sections(
    doc INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    text TEXT NOT NULL, locator TEXT NOT NULL, checksum TEXT, PRIMARY KEY(doc, idx));
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL,
    doc INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    section INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    locator TEXT NOT NULL, embed_hash TEXT NOT NULL, vector BLOB NOT NULL, checksum TEXT);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc);
CREATE INDEX IF NOT EXISTS chunks_embed_hash ON chunks(embed_hash);
CREATE INDEX IF NOT EXISTS documents_doc_id ON documents(doc_id);
"""
FTS_SCHEMA = """CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, tokenize = 'porter unicode61 remove_diacritics 2');"""

DOC_COLUMNS = ("id, root, source, doc_id, content_hash, size, mtime_ns, loader, kind, title, status, error, "
               "meta, ingested_at, contents")
SECTION_COLUMNS = "doc, idx, text, locator"
CHUNK_COLUMNS = "id, chunk_id, doc, section, start, end, text, locator, embed_hash, vector"
# What reading a damaged rag.sqlite raises: SQLite's errors, and the UnicodeDecodeError Python raises when
# SQLite's own message quotes bytes from a damaged schema that are not UTF-8.
DB_ERRORS = (sqlite3.DatabaseError, UnicodeDecodeError)
P = ParamSpec("P")
R = TypeVar("R")
_V1_ADDED = (("documents", "contents"), ("documents", "checksum"), ("sections", "checksum"),
             ("chunks", "checksum"))


def _text(data: bytes) -> str:
    """Text columns as str even when damaged bytes are not UTF-8: the row's checksum then tells."""
    return data.decode("utf-8", "surrogateescape")


def db_uri(path: Path, mode: str = "ro", immutable: bool = False) -> str:
    """A file: URI for `path`, quoted, so that '#', '%' and '?' in folder names stay part of the path."""
    return f"file:{pathname2url(str(path.absolute()))}?mode={mode}" + ("&immutable=1" if immutable else "")


def connect(path: Path, write: bool) -> sqlite3.Connection:
    """A connection to rag.sqlite: read-write (WAL) or read-only (never creates or changes a file)."""
    if write:
        db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    else:
        db = sqlite3.connect(db_uri(path), uri=True, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            if os.access(path.parent, os.W_OK) or not ("unable to open" in str(exc) or "readonly" in str(exc)):
                raise
            # A read-only folder without rag.sqlite-shm: read the file as it is (nobody can write it either).
            db.close()
            db = sqlite3.connect(db_uri(path, immutable=True), uri=True, isolation_level=None,
                                 check_same_thread=False)
    db.text_factory = _text
    db.execute("PRAGMA foreign_keys=ON")
    return db


def read_meta(folder: Path) -> dict[str, str]:
    """The meta table of an existing index (empty when there is none or it cannot be read)."""
    db_path = folder / DB_NAME
    if not db_path.is_file():
        return {}
    try:
        db = connect(db_path, write=False)
    except DB_ERRORS:
        return {}
    try:
        return {str(k): str(v) for k, v in db.execute("SELECT key, value FROM meta").fetchall()}
    except DB_ERRORS:
        return {}
    finally:
        db.close()


def create(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA + FTS_SCHEMA)


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def seal_all(db: sqlite3.Connection) -> None:
    """Compute every row's checksum from what the row holds now (inside the caller's write transaction)."""
    sums: dict[int, tuple[list[str], list[str]]] = {}
    for row in db.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks ORDER BY id").fetchall():
        ck = digest(row)
        db.execute("UPDATE chunks SET checksum = ? WHERE id = ?", (ck, row[0]))
        sums.setdefault(int(row[2]), ([], []))[1].append(ck)
    for row in db.execute(f"SELECT {SECTION_COLUMNS} FROM sections ORDER BY doc, idx").fetchall():
        ck = digest(row)
        db.execute("UPDATE sections SET checksum = ? WHERE doc = ? AND idx = ?", (ck, row[0], row[1]))
        sums.setdefault(int(row[0]), ([], []))[0].append(ck)
    for (doc,) in db.execute("SELECT id FROM documents").fetchall():
        sections, chunks = sums.get(int(doc), ([], []))
        db.execute("UPDATE documents SET contents = ? WHERE id = ?", (contents_digest(sections, chunks), doc))
        reseal_document(db, int(doc))


def reseal_document(db: sqlite3.Connection, doc: int) -> None:
    """Recompute one document row's own checksum (after a change of its columns)."""
    row = db.execute(f"SELECT {DOC_COLUMNS} FROM documents WHERE id = ?", (doc,)).fetchone()
    if row is not None:
        db.execute("UPDATE documents SET checksum = ? WHERE id = ?", (digest(row), doc))


def upgrade(db: sqlite3.Connection) -> None:
    """Format 1 → 2 in place: add the checksum columns and seal every row (one write transaction)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for table, column in _V1_ADDED:
            if column not in columns(db, table):
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
        seal_all(db)
        db.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", (str(FORMAT_VERSION),))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


_META = ("{folder}: the index's meta table (format, embedder, dimension, commit) is damaged ({what}) — it "
         "cannot be repaired in place: ingest the folders again into a new --index folder")


def parse_meta(folder: Path, meta: dict[str, str]) -> tuple[int, int, int]:
    """(format version, dimension, commit) from the meta table; damage there is an error naming the fix."""
    try:
        version, dim, commit = int(meta["format_version"]), int(meta["dim"]), int(meta["commit"])
        meta["embedder"].encode()
    except (KeyError, ValueError, UnicodeEncodeError) as exc:
        raise IndexDamagedError(_META.format(folder=folder, what=repr(exc))) from exc
    if dim <= 0 or commit < 0:
        raise IndexDamagedError(_META.format(folder=folder, what=f"dim {dim}, commit {commit}"))
    return version, dim, commit


def explain(exc: BaseException, where: Path) -> RagError:
    """A SQLite or OS error while using the index at `where`, as a message naming the problem and the fix."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    err = getattr(exc, "errno", None)
    if primary == 13 or err in (errno.ENOSPC, errno.EDQUOT):
        return RagError(f"{where}: the disk is full ({exc}) — free some space and run the command again; the "
                        "index keeps everything committed before")
    if primary in (11, 26) or isinstance(exc, UnicodeDecodeError) or "malformed" in str(exc):
        return IndexDamagedError(f"{where}: the index is damaged ({exc}) — `rag check --index {where}` says "
                                 f"what is damaged and `rag check --index {where} --repair` repairs it")
    if primary in (3, 8, 14) or err in (errno.EACCES, errno.EPERM, errno.EROFS):
        return RagError(f"{where}: cannot open or write the index ({exc}) — check that the folder and its "
                        "files are readable (and writable, to ingest) by you, and that the disk is not read-only")
    if "no such table" in str(exc):
        return IndexFormatError(f"{where}: not a rag index ({exc}) — point --index at an index folder (rag ingest "
                                "FOLDER --index NEW_DIR makes one)")
    if primary == 10 or err == errno.EIO:
        return RagError(f"{where}: input/output error ({exc}) — the disk may be failing or full; check it, "
                        f"then run `rag check --index {where}`")
    return RagError(f"{where}: {exc}")


def explained(method: Callable[P, R]) -> Callable[P, R]:
    """SQLite errors from a store method become RagErrors naming the index, the problem and the fix."""
    @wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except DB_ERRORS as exc:
            raise explain(exc, args[0].folder) from exc  # type: ignore[attr-defined]
    return run

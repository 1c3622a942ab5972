"""The index folder: SQLite is the source of truth; the FAISS file is derived from it.

rag.sqlite holds documents, sections, chunks (with float32 vectors), an FTS5 table and a meta table
(rag/store/schema.py). Every file's change is one transaction, so a crash leaves each file in its old or
its new state. Every row carries a checksum written in that transaction; each read that hands rows out
checks theirs and refuses damaged ones (IndexDamagedError, naming `rag check`).
`vectors.<commit>.faiss` names the commit it was built from; a missing, stale or damaged file is rebuilt.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.errors import IndexFormatError, RagError
from rag.core.types import Chunk, Document
from rag.store import focused_bm25, fulltext, journal, maintenance, postings_search, rows, schema
from rag.store.records import DocRecord, StoredChunk
from rag.store.schema import DB_ERRORS
from rag.store.vector_reads import VectorReads

if TYPE_CHECKING:
    import numpy as np

    from rag.store.check import Report
    from rag.store.repair import Repaired

FORMAT_VERSION = schema.FORMAT_VERSION
DB_NAME = schema.DB_NAME
_explained = schema.explained


class SQLiteStore(VectorReads):
    """One index folder. Reads need no lock; writes happen inside `transaction()`s, under the write lock."""

    def __init__(self, folder: Path, db: sqlite3.Connection, writable: bool) -> None:
        self.folder = folder
        self.db = db
        self.writable = writable
        self.format = FORMAT_VERSION
        self.vocabularies = focused_bm25.Vocabularies()   # document frequencies for large BM25 queries
        self.lexicons = postings_search.Lexicons(folder)   # a large index's own postings (rag/store/postings.py)

    @classmethod
    def open(cls, folder: Path, embedder_name: str, embedder_spec: str, dim: int,
             create: bool = True, write: bool | None = None) -> SQLiteStore:
        """Open (with `create`: or make) the index in `folder`. Without `create`, a missing index is an
        error; without `write` (the default when not creating) the connection is read-only."""
        write = create if write is None else write
        db_path = folder / DB_NAME
        if not create and not db_path.is_file():
            raise IndexFormatError(f"{folder}: no index there (no {DB_NAME}) — create one with: rag ingest "
                                   f"FOLDER --index {folder}")
        try:
            if create:
                folder.mkdir(parents=True, exist_ok=True)
            db = schema.connect(db_path, write=write)
            if create:
                schema.create(db)
        except (*DB_ERRORS, OSError) as exc:
            raise schema.explain(exc, folder) from exc
        store = cls(folder, db, write)
        try:
            store._check_meta(embedder_name, embedder_spec, dim)
        except DB_ERRORS as exc:
            db.close()
            raise schema.explain(exc, folder) from exc
        except RagError:
            db.close()
            raise
        return store

    read_meta = staticmethod(schema.read_meta)

    def _check_meta(self, name: str, spec: str, dim: int) -> None:
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        if not meta and self.writable:
            with self.transaction():
                self.db.executemany("INSERT OR IGNORE INTO meta VALUES (?, ?)", [
                    ("format_version", str(FORMAT_VERSION)), ("embedder", name),
                    ("embedder_spec", spec), ("dim", str(dim)), ("commit", "0")])
            # The schema and meta go into rag.sqlite itself at once, so that even a lost WAL leaves an
            # index that opens (and names what it lost).
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        version, stored_dim, _ = schema.parse_meta(self.folder, meta)
        if version not in schema.READABLE_FORMATS:
            raise IndexFormatError(f"{self.folder}: index format {version} but this version of rag reads "
                                   f"formats {schema.READABLE_FORMATS} — re-ingest into a new --index folder")
        self.format = version
        if meta.get("embedder") != name or stored_dim != dim:
            raise IndexFormatError(
                f"{self.folder}: built with embedder {meta.get('embedder')} ({stored_dim}-d), not "
                f"{name} ({dim}-d) — open it with --embedder {meta.get('embedder_spec')}, or rebuild: "
                f"rag ingest FOLDER --index NEW_DIR --embedder {spec}")

    def upgrade(self) -> bool:
        """Format 1 → 2 (checksums on every row); call under the write lock. True when it upgraded."""
        if self.format >= FORMAT_VERSION:
            return False
        try:
            schema.upgrade(self.db)
        except DB_ERRORS as exc:
            raise schema.explain(exc, self.folder) from exc
        self.format = FORMAT_VERSION
        return True

    def transaction(self, write: bool = True) -> _Transaction:
        return _Transaction(self.db, write)

    @_explained
    def commit_number(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='commit'").fetchone()
        return int(row[0]) if row else 0

    @_explained
    def dimension(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='dim'").fetchone()
        return int(row[0]) if row else 0

    def bump_commit(self) -> int:
        self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='commit'")
        return int(self.db.execute("SELECT value FROM meta WHERE key='commit'").fetchone()[0])

    def _writable(self) -> None:
        """Before a write: a format 1 index is upgraded first (the caller holds the write lock)."""
        self.upgrade()

    # --- documents -------------------------------------------------------------------------------
    @_explained
    def documents(self, root: str | None = None, check: bool = True) -> list[DocRecord]:
        """The documents (of one root); with `check`, a damaged record is an IndexDamagedError."""
        records = rows.read_documents(self.db, self.format, root)
        bad = [d.source for d in records if d.damaged]
        if check and bad:
            raise maintenance.damaged(self.folder, "the record of a document", bad)
        return records

    @_explained
    def put_document(self, root: str, doc: Document, chunks: list[Chunk], vectors: np.ndarray,
                     embed_hashes: list[str], stat: tuple[str, int, int], loader: str) -> int:
        """Replace (root, doc.source) with this document, its sections and chunks: one transaction."""
        self._writable()
        with self.transaction():
            self._delete_where("root = ? AND source = ?", (root, doc.source))
            doc_row = rows.write_document(self.db, root, doc, chunks, vectors, embed_hashes, stat, loader)
            commit = self.bump_commit()
        journal.record(self.folder, commit, "put", root, doc.source)
        return doc_row

    @_explained
    def record_failure(self, root: str, source: str, stat: tuple[str, int, int], loader: str,
                       error: str) -> None:
        """Note a failed load. An older good version of the file keeps its chunks (nothing is lost)."""
        self._writable()
        with self.transaction():
            found = self.db.execute("SELECT id FROM documents WHERE root = ? AND source = ?",
                                    (root, source)).fetchone()
            if found:
                self.db.execute("UPDATE documents SET error = ? WHERE id = ?", (error, found[0]))
                schema.reseal_document(self.db, int(found[0]))
            else:
                rows.failed_document(self.db, root, source, stat, loader, error)

    @_explained
    def update_stat(self, doc: int, mtime_ns: int, source: str | None = None) -> None:
        self._writable()
        with self.transaction():
            if source is None:
                self.db.execute("UPDATE documents SET mtime_ns = ? WHERE id = ?", (mtime_ns, doc))
            else:
                self.db.execute("UPDATE documents SET mtime_ns = ?, source = ? WHERE id = ?",
                                (mtime_ns, source, doc))
            schema.reseal_document(self.db, doc)

    @_explained
    def remove(self, root: str, source: str) -> int:
        self._writable()
        with self.transaction():
            count = self._delete_where("root = ? AND source = ?", (root, source))
            commit = self.bump_commit()
        journal.record(self.folder, commit, "remove", root, source)
        return count

    def _delete_where(self, where: str, args: tuple[Any, ...]) -> int:
        ids = [int(r[0]) for r in self.db.execute(f"SELECT id FROM documents WHERE {where}", args)]
        rows.delete_documents(self.db, ids)
        return len(ids)

    @_explained
    def checkpoint(self) -> None:
        """Copy every commit from rag.sqlite-wal into rag.sqlite; then the commit journal is not needed."""
        busy, log, done = self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy == 0 and log == done:
            journal.clear(self.folder)

    # --- upkeep (rag/store/maintenance.py) -----------------------------------------------------------
    @_explained
    def damage(self, root: str) -> tuple[set[int], set[int]]:
        return maintenance.damage(self, root)

    @_explained
    def discard(self, docs: set[int], chunks: set[int]) -> list[str]:
        return maintenance.discard(self, docs, chunks)

    @_explained
    def repair_fulltext(self) -> bool:
        return maintenance.repair_fulltext(self)

    @_explained
    def check(self) -> Report:
        return maintenance.check(self)

    @_explained
    def repair(self, report: Report) -> Repaired:
        return maintenance.repair(self, report)

    # --- chunks and vectors ----------------------------------------------------------------------
    @_explained
    def vectors_for(self, embed_hashes: list[str]) -> dict[str, bytes]:
        """Stored vectors for texts embedded before (by hash of the embedded text); damaged rows not reused."""
        return rows.reusable_vectors(self.db, self.format, embed_hashes, self.dimension())

    @_explained
    def all_vectors(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(commit, ids, vectors) read in one snapshot; a damaged chunk row is an IndexDamagedError."""
        with self.transaction(write=False):
            commit = self.commit_number()
            ids, vectors, bad = rows.read_vectors(self.db, self.format, self.dimension())
            if bad:
                raise maintenance.damaged(self.folder, "a stored chunk", rows.sources_of(self.db, bad))
        return commit, ids, vectors

    @_explained
    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    @_explained
    def chunks_by_row(self, row_ids: list[int]) -> dict[int, StoredChunk]:
        """The chunks (with their documents) at these row ids; a damaged one is an IndexDamagedError."""
        found, bad = rows.read_chunks(self.db, self.format, row_ids, self.dimension())
        if bad:
            raise maintenance.damaged(self.folder, "a stored chunk", bad)
        if len(found) < len(set(row_ids)):   # named by the vector or full-text index, but not in rag.sqlite
            raise maintenance.damaged(self.folder, f"{len(set(row_ids)) - len(found)} chunk(s) the vector or "
                                      "full-text index names but rag.sqlite does not hold", [])
        return found

    @_explained
    def section_text(self, doc_id: str, section: int) -> str:
        text, bad = rows.read_section(self.db, self.format, doc_id, section)
        if bad is not None:
            raise maintenance.damaged(self.folder, "a stored section", [bad])
        return text

    @_explained
    def lexical(self, match: str, limit: int, title_weight: float = 2.0) -> list[tuple[int, float]]:
        """BM25 over FTS5 (title and text columns). Higher score is better."""
        return fulltext.bm25(self.db, match, limit, title_weight, self.vocabularies, self.lexicons)

    @_explained
    def lexical_for(self, match: str, rows: list[int], title_weight: float = 2.0) -> dict[int, float]:
        """The BM25 score (as `lexical` gives it) of each of `rows` that matches (one query for all of them)."""
        return fulltext.bm25_for(self.db, match, rows, title_weight, self.vocabularies, self.lexicons)

    def close(self) -> None:
        self.lexicons.close()
        self.db.close()


class _Transaction:
    """BEGIN (IMMEDIATE for writes) … COMMIT, rolled back on any exception."""

    def __init__(self, db: sqlite3.Connection, write: bool) -> None:
        self.db = db
        self.write = write

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass   # the original error is the one to report

"""`rag check --repair`, the store's half: rebuild what is derived, set aside what is damaged.

What is derived is rebuilt from rag.sqlite: the full-text index from the chunks, the FAISS file from the
vectors. Damaged rows are deleted (their documents are then re-ingested from their files by the caller,
rag/index.py). When SQLite's own structure is damaged, every document that still reads back intact is
copied into a fresh rag.sqlite ("salvage") that replaces the old one; the rest is re-ingested.
After a rollback (a lost WAL), the vector files of the lost commits are removed and the lost documents
are re-ingested. Everything here runs under the write lock.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.store import journal, postings, rows, schema
from rag.store.checksum import contents_digest, digest
from rag.store.faiss import read_sidecar, remove_newer
from rag.store.fulltext import rebuild_fulltext
from rag.store.schema import DB_ERRORS

if TYPE_CHECKING:
    from rag.store.check import Report
    from rag.store.sqlite import SQLiteStore


@dataclass
class Repaired:
    actions: list[str] = field(default_factory=list)
    lost: list[tuple[str, str, str]] = field(default_factory=list)   # (root, source, content hash) set aside
    roots: set[str] = field(default_factory=set)                # every folder the index was made from


def discard_rows(db: sqlite3.Connection, docs: set[int], chunks: set[int]) -> list[tuple[str, str, str]]:
    """Delete damaged documents with all they hold, stray chunk and section rows; the documents'
    (root, source, content hash), as far as their damaged records tell."""
    named = [_name(db, d) for d in docs]
    rows.delete_documents(db, sorted(docs))
    for chunk in chunks:
        db.execute("DELETE FROM chunks_fts WHERE rowid = ?", (chunk,))
        db.execute("DELETE FROM chunks WHERE id = ?", (chunk,))
    db.execute("DELETE FROM sections WHERE doc NOT IN (SELECT id FROM documents)")
    db.execute("DELETE FROM chunks WHERE doc NOT IN (SELECT id FROM documents)")
    return named


def _doc_ids(db: sqlite3.Connection) -> list[int]:
    """Every document id that can be found: by a scan, else (a damaged b-tree) by probing ids one by one."""
    try:
        return [int(r[0]) for r in db.execute("SELECT id FROM documents ORDER BY id")]
    except DB_ERRORS:
        pass
    try:
        top = int(db.execute("SELECT MAX(id) FROM documents").fetchone()[0] or 0)
    except DB_ERRORS:
        top = 100_000
    found = []
    for doc in range(1, top + 1):
        try:
            if db.execute("SELECT 1 FROM documents WHERE id = ?", (doc,)).fetchone():
                found.append(doc)
        except DB_ERRORS:
            continue
    return found


def _copy_document(old: sqlite3.Connection, new: sqlite3.Connection, fmt: int, dim: int, doc: int) -> bool:
    """Copy one document with its sections and chunks when every row reads back intact."""
    record = old.execute(f"SELECT {rows.doc_columns(fmt)} FROM documents WHERE id = ?", (doc,)).fetchone()
    sections = old.execute(f"SELECT doc, idx, text, locator, {'checksum' if fmt >= 2 else 'NULL'} FROM sections "
                           "WHERE doc = ? ORDER BY idx", (doc,)).fetchall()
    chunks = old.execute(f"SELECT {rows.chunk_columns(fmt)} FROM chunks WHERE doc = ? ORDER BY id", (doc,)).fetchall()
    if record is None or not rows.sealed(record) or not all(rows.sealed(s) for s in sections) \
            or not all(rows.chunk_ok(c, dim) for c in chunks):
        return False
    if fmt >= 2 and record[14] != contents_digest([s[4] for s in sections], [c[10] for c in chunks]):
        return False
    section_sums = [digest(s[:4]) for s in sections]
    chunk_sums = [digest(c[:10]) for c in chunks]
    rows.insert_document(new, (*record[:14], contents_digest(section_sums, chunk_sums)))
    new.executemany("INSERT INTO sections(doc, idx, text, locator, checksum) VALUES (?, ?, ?, ?, ?)",
                    [(*s[:4], ck) for s, ck in zip(sections, section_sums, strict=True)])
    new.executemany(f"INSERT INTO chunks({schema.CHUNK_COLUMNS}, checksum) VALUES ({','.join('?' * 11)})",
                    [(*c[:10], ck) for c, ck in zip(chunks, chunk_sums, strict=True)])
    return True


def salvage(store: SQLiteStore, meta: dict[str, str]) -> list[tuple[str, str, str]]:
    """Copy every intact document into a new rag.sqlite that replaces the damaged one; the rest's names."""
    folder, old = store.folder, store.db
    path = folder / f"{schema.DB_NAME}.salvage{os.getpid()}"
    path.unlink(missing_ok=True)
    new = schema.connect(path, write=True)
    lost: list[tuple[str, str, str]] = []
    try:
        schema.create(new)
        new.execute("BEGIN IMMEDIATE")
        new.executemany("INSERT INTO meta VALUES (?, ?)", [*meta.items()])
        new.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", (str(schema.FORMAT_VERSION),))
        new.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'commit'")
        dim = int(meta["dim"])
        for doc in _doc_ids(old):
            try:
                if _copy_document(old, new, store.format, dim, doc):
                    continue
            except DB_ERRORS:
                pass
            lost.append(_name(old, doc))
        rebuild_fulltext(new)
        new.execute("COMMIT")
    finally:
        new.close()
    old.close()
    for suffix in ("-wal", "-shm"):
        (folder / (schema.DB_NAME + suffix)).unlink(missing_ok=True)
    os.replace(path, folder / schema.DB_NAME)
    store.db = schema.connect(folder / schema.DB_NAME, write=True)
    store.format = schema.FORMAT_VERSION
    return lost


def _name(db: sqlite3.Connection, doc: int) -> tuple[str, str, str]:
    try:
        row = db.execute("SELECT root, source, content_hash FROM documents WHERE id = ?", (doc,)).fetchone()
        return (rows.printable(row[0]), rows.printable(row[1]), str(row[2])) if row else ("", f"document #{doc}", "")
    except DB_ERRORS:
        return ("", f"document #{doc}", "")


def known_roots(store: SQLiteStore) -> set[str]:
    """The folders the index was made from: its documents', the vector files' sidecars', the journal's."""
    found: set[str] = set()
    try:
        found |= {str(r[0]) for r in store.db.execute("SELECT DISTINCT root FROM documents")}
    except DB_ERRORS:
        pass
    for n in journal.vector_files(store.folder):
        found |= {str(r) for r in (read_sidecar(store.folder, n) or {}).get("roots", [])}
    found |= {e.root for e in journal.entries(store.folder)[0]}
    return {r for r in found if r}


def repair_store(store: SQLiteStore, report: Report, meta: dict[str, str]) -> Repaired:
    """Everything rag.sqlite alone can repair; what must be re-ingested is in `lost` (and `roots`)."""
    done = Repaired(roots=known_roots(store))
    structural = any(f.part == "sqlite" for f in report.findings)
    if structural:
        done.lost = salvage(store, meta)
        done.actions.append(f"copied every intact document into a new {schema.DB_NAME} ({len(done.lost)} "
                            "could not be copied)")
    else:
        if store.upgrade():
            done.actions.append("added checksums to every row (index format 1 → 2)")
        scan = report.scan
        if scan.damaged or scan.stray_chunks or scan.stray_sections:
            with store.transaction():
                done.lost = discard_rows(store.db, set(scan.damaged), scan.stray_chunks)
                store.bump_commit()
            done.actions.append(f"removed the damaged rows of {len(done.lost)} document(s) and "
                                f"{len(scan.stray_chunks)} stray chunk row(s)")
        if any(f.part == "fts" for f in report.findings):
            with store.transaction():
                rebuild_fulltext(store.db)
            done.actions.append("rebuilt the full-text index from the chunks")
    if report.rollback:
        gone = remove_newer(store.folder, store.commit_number())
        gone += postings.remove_newer(store.folder, store.commit_number())
        done.lost += [(e.root, e.source, "") for e in report.rollback.lost if e.op == "put"]
        journal.clear(store.folder)
        done.actions.append("removed the vector and postings files of lost commits"
                            + (f" ({', '.join(gone)})" if gone else ""))
    return done

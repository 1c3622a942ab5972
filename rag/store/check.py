"""`rag check`: verify an index end to end and say what is damaged and which documents it touches.

1. SQLite's own `PRAGMA integrity_check` (pages, b-trees, indexes against tables);
2. FTS5's `integrity-check`, and every full-text row against the chunk it was made from;
3. every document, section and chunk row against its checksum (and each document against the list of
   its parts, so a lost or moved chunk shows), every vector's length and norm;
4. the vector files of the current commit against their sidecar's checksums and against SQLite (ids,
   every vector: rag/store/vector_check.py);
5. the BM25 postings of the current commit (rag/store/postings.py): their checksums, the full-text state
   they were made from, their row count;
6. the commit journal and the vector files against the database's commit (a lost WAL is a rollback).
A format 1 index (no checksums) is reported as such; `rag check --repair` (repair.py) adds them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from rag.store import journal, postings, rows
from rag.store.checksum import contents_digest
from rag.store.fulltext import Busy, fts_problem, fts_rows
from rag.store.records import DocRecord
from rag.store.schema import DB_ERRORS
from rag.store.vector_check import vector_problems


@dataclass(frozen=True)
class Finding:
    part: str                      # sqlite | rows | fts | vectors | postings | rollback | journal | format
    problem: str
    sources: tuple[str, ...] = ()  # the documents it touches, where known
    damage: bool = True            # False: a note (nothing wrong with the results)


@dataclass
class Scan:
    """What reading every row found: damaged documents (id -> source), rows that belong to no document."""
    docs: int = 0
    chunks: int = 0
    damaged: dict[int, str] = field(default_factory=dict)
    stray_chunks: set[int] = field(default_factory=set)
    stray_sections: set[tuple[int, int]] = field(default_factory=set)
    unreadable: list[str] = field(default_factory=list)   # tables a read failed on (malformed pages)


@dataclass(frozen=True)
class Report:
    folder: Path
    commit: int
    format: int
    documents: int
    chunks: int
    findings: tuple[Finding, ...]
    scan: Scan
    rollback: journal.Rollback | None = None

    @property
    def ok(self) -> bool:
        return not any(f.damage for f in self.findings)

    def to_json(self) -> dict[str, object]:
        return {"index": str(self.folder), "ok": self.ok, "commit": self.commit, "format": self.format,
                "documents": self.documents, "chunks": self.chunks,
                "findings": [{"part": f.part, "problem": f.problem, "documents": list(f.sources),
                              "damage": f.damage} for f in self.findings]}


def scan_rows(db: sqlite3.Connection, fmt: int, dim: int, root: str | None = None) -> Scan:
    """Read every document, section and chunk row (of one root) and check each against its checksum."""
    scan = Scan()
    where, args = ("WHERE d.root = ?", (root,)) if root is not None else ("", ())
    parts: dict[int, tuple[list[str], list[str]]] = {}
    try:
        docs = {d.id: d for d in rows.read_documents(db, fmt, root)}
    except DB_ERRORS as exc:
        scan.unreadable.append(f"documents ({exc})")
        return scan
    scan.docs = len(docs)
    scan.damaged.update({d.id: d.source for d in docs.values() if d.damaged})
    join = "" if root is None else "JOIN documents d ON d.id = s.doc"
    try:
        for r in db.execute(f"SELECT s.doc, s.idx, s.text, s.locator, {'s.checksum' if fmt >= 2 else 'NULL'} "
                            f"FROM sections s {join} {where} ORDER BY s.doc, s.idx", args):
            owner = _owner(scan, docs, r[0], rows.sealed(r))
            if owner is None:
                scan.stray_sections.add((r[0], r[1]))
            else:
                parts.setdefault(owner, ([], []))[0].append(r[4])
    except DB_ERRORS as exc:
        scan.unreadable.append(f"sections ({exc})")
    join = join.replace("s.doc", "c.doc")
    try:
        for r in db.execute(f"SELECT {rows.chunk_columns(fmt, 'c.')} FROM chunks c {join} {where} ORDER BY c.id",
                            args):
            scan.chunks += 1
            owner = _owner(scan, docs, r[2], rows.chunk_ok(r, dim))
            if owner is None:
                scan.stray_chunks.add(r[0])
            else:
                parts.setdefault(owner, ([], []))[1].append(r[10])
    except DB_ERRORS as exc:
        scan.unreadable.append(f"chunks ({exc})")
    if fmt >= 2:
        for doc in docs.values():
            sections, chunks = parts.get(doc.id, ([], []))
            if _contents(db, doc.id) != contents_digest(sections, chunks):
                scan.damaged.setdefault(doc.id, doc.source)
    return scan


def _owner(scan: Scan, docs: dict[int, DocRecord], doc: object, ok: bool) -> int | None:
    """The document a row belongs to (marked damaged when the row is), or None for a stray row."""
    if not isinstance(doc, int) or doc not in docs:
        return None
    if not ok:
        scan.damaged.setdefault(doc, docs[doc].source)
    return doc


def _contents(db: sqlite3.Connection, doc: int) -> object:
    row = db.execute("SELECT contents FROM documents WHERE id = ?", (doc,)).fetchone()
    return row[0] if row else None


def check_vectors(db: sqlite3.Connection, folder: Path, fmt: int, dim: int, commit: int) -> list[Finding]:
    """The vector files of this commit: their checksums, then their ids and vectors against SQLite."""
    return [Finding("vectors", problem, damage=damage)
            for problem, damage in vector_problems(db, folder, fmt, dim, commit)]


def check_index(db: sqlite3.Connection, folder: Path, fmt: int, dim: int, commit: int) -> Report:
    findings: list[Finding] = []
    try:
        messages = [r[0] for r in db.execute("PRAGMA integrity_check(20)")]
    except DB_ERRORS as exc:
        messages = [str(exc)]
    if messages != ["ok"]:
        findings.append(Finding("sqlite", "rag.sqlite fails SQLite's integrity check: " + "; ".join(messages[:5])))
    scan = scan_rows(db, fmt, dim)
    findings += [Finding("sqlite", f"cannot read table {t}") for t in scan.unreadable]
    if scan.damaged:
        findings.append(Finding("rows", f"{len(scan.damaged)} document(s) whose rows fail their checksums "
                                "— --repair re-ingests them from their files", tuple(sorted(scan.damaged.values()))))
    if scan.stray_chunks or scan.stray_sections:
        findings.append(Finding("rows", f"{len(scan.stray_chunks)} chunk and {len(scan.stray_sections)} section "
                                "row(s) belong to no document — --repair removes them"))
    try:
        fts = fts_problem(folder)
    except Busy:
        fts = None
        findings.append(Finding("fts", "FTS5's integrity check was skipped: another process is writing the index "
                                "— run `rag check` again when it is done", damage=False))
    if fts:
        findings.append(Finding("fts", f"the full-text index fails FTS5's integrity check ({fts}) — --repair "
                                "rebuilds it from the chunks"))
    try:
        bad, sources = fts_rows(db)
        if bad:
            findings.append(Finding("fts", f"{len(bad)} full-text row(s) differ from their chunks — --repair "
                                    "rebuilds the full-text index", tuple(sources)))
    except DB_ERRORS as exc:
        findings.append(Finding("fts", f"the full-text rows cannot be read ({exc})"))
    if not scan.unreadable:
        findings += check_vectors(db, folder, fmt, dim, commit)
        findings += [Finding("postings", p, damage=d) for p, d in postings.problems(db, folder, commit, scan.chunks)]
    lost = journal.rollback(folder, commit)
    if lost:
        findings.append(Finding("rollback", lost.describe(folder), tuple(sorted({e.source for e in lost.lost}))))
    damaged_lines = journal.entries(folder)[1]
    if damaged_lines:
        findings.append(Finding("journal", f"{damaged_lines} damaged line(s) in {journal.JOURNAL_NAME} (ignored)",
                                damage=False))
    if fmt < 2:
        findings.append(Finding("format", "index format 1: rows carry no checksums, so damage to them cannot be "
                                "seen — `rag check --repair` (or the next `rag ingest`) adds them", damage=False))
    return Report(folder, commit, fmt, scan.docs, scan.chunks, tuple(findings), scan, lost)

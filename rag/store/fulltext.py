"""The FTS5 table `chunks_fts` (title, text of every chunk, rowid = the chunk's row id): BM25 queries, its
checks and its rebuild. It is derived from the chunks, so a damaged one is rebuilt, never trusted.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from rag.core.text import context_title
from rag.store import focused_bm25, rows, schema
from rag.store import postings_search as postings
from rag.store.focused_bm25 import Vocabularies, Vocabulary
from rag.store.postings import fts_digest
from rag.store.postings_search import Lexicons
from rag.store.schema import DB_ERRORS

FTS_CHECK = "INSERT INTO chunks_fts(chunks_fts) VALUES('integrity-check')"
_SYNTAX = "fts5: syntax error"   # a query the FTS5 grammar cannot take: no lexical hits


def bm25(db: sqlite3.Connection, match: str, limit: int, title_weight: float,
         vocabularies: Vocabularies, lexicons: Lexicons | None = None) -> list[tuple[int, float]]:
    """BM25 over the title and text columns. Higher score is better. A large index with postings of its
    own scores the whole query from them (rag/store/postings.py); without, a query over many rows ranks only
    the candidates its rarest terms find (rag/store/focused_bm25.py)."""
    sql = ("SELECT rowid, -bm25(chunks_fts, ?, 1.0) AS s FROM chunks_fts WHERE chunks_fts MATCH ? "
           "ORDER BY s DESC LIMIT ?")
    try:
        found = _from_postings(db, match, vocabularies, lexicons)
        if found is not None:
            state, vocab, tokens = found
            try:
                return postings.top(state, vocab, tokens, limit, title_weight)
            except postings.Untrusted as exc:
                lexicons.set_aside(str(exc))  # type: ignore[union-attr]
        focus = focused_bm25.plan(db, match, vocabularies)
        if focus is not None:   # a query over many rows on a large index
            return focused_bm25.top(db, focus, limit, title_weight)
        return [(int(r), float(s)) for r, s in db.execute(sql, (title_weight, match, limit))]
    except sqlite3.OperationalError as exc:
        if _SYNTAX in str(exc):
            return []
        raise


def bm25_for(db: sqlite3.Connection, match: str, row_ids: list[int], title_weight: float,
             vocabularies: Vocabularies, lexicons: Lexicons | None = None) -> dict[int, float]:
    """The BM25 score (as `bm25` gives it) of each of `row_ids` that matches, in one query: FTS5 walks the
    matches once and scores only these rows (`+rowid` keeps SQLite from asking FTS5 for one row at a time,
    which re-reads every term's postings per row: about 0.3 ms a row at 13k chunks, against 1 ms in all)."""
    if not match or not row_ids:
        return {}
    sql = ("SELECT rowid, -bm25(chunks_fts, ?, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? "
           "AND +rowid IN (SELECT value FROM json_each(?))")
    try:
        found = _from_postings(db, match, vocabularies, lexicons)
        if found is not None:
            state, vocab, tokens = found
            try:
                return postings.scores_of(state, vocab, tokens, [int(r) for r in row_ids], title_weight)
            except postings.Untrusted as exc:
                lexicons.set_aside(str(exc))  # type: ignore[union-attr]
        focus = focused_bm25.plan(db, match, vocabularies)
        if focus is not None:
            return focused_bm25.rescore(db, focus, [int(r) for r in row_ids], title_weight)
        rows = db.execute(sql, (title_weight, match, json.dumps([int(r) for r in row_ids]))).fetchall()
    except sqlite3.OperationalError as exc:
        if _SYNTAX in str(exc):
            return {}
        raise
    return {int(r): float(s) for r, s in rows}


def _from_postings(db: sqlite3.Connection, match: str, vocabularies: Vocabularies, lexicons: Lexicons | None
                   ) -> tuple[postings.Postings, Vocabulary, tuple[str, ...]] | None:
    """The commit's postings and the query's terms as they score it, when both are there and the postings
    were made from this very state of chunks_fts (its structure record's digest) with its row count; None to
    ask FTS5."""
    if lexicons is None:
        return None
    commit = db.execute("SELECT value FROM meta WHERE key = 'commit'").fetchone()
    state = lexicons.current(int(commit[0]) if commit else 0)
    if state is None:
        return None
    terms = focused_bm25.tokens(db, match, vocabularies)
    if terms is None:
        return None
    vocab, tokens = terms
    if fts_digest(vocab.state) != state.fts_state:
        lexicons.set_aside(f"lexicon.{state.commit}.json was made from another state of the full-text index")
        return None
    if vocab.rows != state.rows:
        lexicons.set_aside(f"the postings hold {state.rows} rows, FTS5 {vocab.rows}")
        return None
    return state, vocab, tokens


class Busy(Exception):
    """Another process holds rag.sqlite's write lock: the full-text check cannot run now."""


def fts_problem(folder: Path, timeout: float = 5.0, copy: bool = True) -> str | None:
    """FTS5's own integrity check: None when it passes, else what it says. It needs a connection that may
    write (it writes nothing); in a read-only folder it runs on a copy in memory (`copy`), else it passes.
    Busy when a writer holds the database longer than `timeout` seconds."""
    path = folder / schema.DB_NAME
    db = None
    try:
        try:
            db = sqlite3.connect(schema.db_uri(path, mode="rw"), uri=True, timeout=timeout, isolation_level=None)
            db.execute(FTS_CHECK)
            return None
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise Busy(text) from exc
            if "readonly" not in text and "unable to open" not in text:
                return text
        except DB_ERRORS as exc:
            return str(exc)
        if not copy:
            return None
        if db is not None:
            db.close()
        db = sqlite3.connect(":memory:", isolation_level=None)
        source = schema.connect(path, write=False)
        try:
            source.backup(db)
        finally:
            source.close()
        db.execute(FTS_CHECK)
        return None
    except DB_ERRORS as exc:
        return str(exc)
    finally:
        if db is not None:
            db.close()


def fts_rows(db: sqlite3.Connection, root: str | None = None) -> tuple[set[int], list[str]]:
    """Chunk rows whose full-text row is missing, extra or differs from the chunk; and their sources."""
    expected = {}
    where, args = ("WHERE d.root = ?", (root,)) if root is not None else ("", ())
    for row, text, locator, title, source in db.execute(
            f"SELECT c.id, c.text, c.locator, d.title, d.source FROM chunks c JOIN documents d ON d.id = c.doc "
            f"{where}", args):
        expected[row] = ((context_title(title, _dict(locator)), text), source)
    found = {r: (t, x) for r, t, x in db.execute("SELECT rowid, title, text FROM chunks_fts")}
    if root is not None:
        found = {r: v for r, v in found.items() if r in expected}
    bad = {r for r in expected.keys() | found.keys() if expected.get(r, (None,))[0] != found.get(r)}
    return bad, sorted({expected[r][1] for r in bad if r in expected})


def rebuild_fulltext(db: sqlite3.Connection) -> None:
    """Drop the FTS5 table and fill a new one from the chunks (inside the caller's write transaction)."""
    db.execute("DROP TABLE IF EXISTS chunks_fts")
    db.execute(schema.FTS_SCHEMA)
    found = db.execute("SELECT c.id, c.text, c.locator, d.title FROM chunks c JOIN documents d ON d.id = c.doc "
                       "ORDER BY c.id").fetchall()
    db.executemany("INSERT INTO chunks_fts(rowid, title, text) VALUES (?, ?, ?)",
                   [(r, context_title(t, _dict(loc)), text) for r, text, loc, t in found])


def _dict(text: object) -> dict[str, object]:
    value = rows.parse_json(text)
    return value if isinstance(value, dict) else {}

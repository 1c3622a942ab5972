"""Conversations, kept in the index folder (`<index>/conversations.sqlite`, beside the index, not in it).

The app and `rag chat` share this store, so a conversation started in one continues in the other.
Each turn keeps the question as asked, the stand-alone question retrieval used, the answer, its
citations (with the document id and section, so the source viewer can find the passage again) and
the exact prompt.

On a database index (postgresql://…) the store lives in this machine's folder for that database
(rag/store/postgres/url.py `local_folder`: $RAG_STATE_DIR, else $XDG_STATE_HOME/rag, else
~/.local/state/rag, one subfolder per database named for its host, port and name plus a hash of the URL
without its password), not in the database. The documents are the team's; a conversation is one person's:
kept in the database, everyone who can read the index — any `rag chat` on any laptop, every app server —
would see everyone's questions, and the app has no user accounts to keep them apart. Kept here, they stay
with the user or the app server that had them, as a browser keeps its history, and a database user needs
no right to create tables beyond the index's own. Several app servers for one team share documents, not
chat histories; point $RAG_STATE_DIR at one folder when one machine runs several of them.

    with ConversationStore.open(index_folder) as store:
        conv = store.create()
        store.add_turn(conv.id, turn_from_answer(question, searched, answer))
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rag.core.errors import IndexFormatError, RagError
from rag.core.jsonable import from_json, to_json
from rag.core.types import Answer, Citation, Locator, render_locator

DB_NAME = "conversations.sqlite"
FORMAT_VERSION = 1
NEW_TITLE = "New conversation"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS conversations(
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    memory TEXT);
CREATE TABLE IF NOT EXISTS turns(
    id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    question TEXT NOT NULL, searched TEXT NOT NULL, answer TEXT NOT NULL, found INTEGER NOT NULL,
    sources TEXT NOT NULL, prompt TEXT NOT NULL, model TEXT NOT NULL, created REAL NOT NULL,
    suspects TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS turns_conversation ON turns(conversation);
"""

MEMORY_PREFIX = "conversation-"
_MEMORY_NAME = re.compile(r"^conversation-(\d{4}-\d{2}-\d{2})-")


@dataclass(frozen=True)
class SourceRef:
    """A citation, plus the document id and section index that find its section text again."""

    number: int
    source: str
    locator: Locator
    quote: str
    start: int
    end: int
    doc_id: str = ""
    section: int = 0
    reason: str = ""     # a passage left out of the answer: why it looks like instructions to the assistant

    def label(self) -> str:
        return citation_label(self.source, self.locator)


@dataclass(frozen=True)
class Turn:
    question: str        # as the user asked it
    searched: str        # the stand-alone question that retrieval and the answer used
    answer: str
    found: bool
    sources: tuple[SourceRef, ...]
    prompt: str
    model: str
    created: float = 0.0
    id: int = 0
    suspects: tuple[SourceRef, ...] = ()   # passages left out because they address the assistant

    @property
    def rewritten(self) -> bool:
        return self.searched.strip() != self.question.strip()


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created: float
    updated: float
    turns: int = 0
    memory: str | None = None    # the file name under <index>/memory/ once remembered


def memory_date(source: str) -> str | None:
    """"2026-11-22" for a remembered conversation's file (conversation-2026-11-22-topic.md), else None."""
    match = _MEMORY_NAME.match(Path(source).name)
    return match.group(1) if match else None


def citation_label(source: str, locator: Locator) -> str:
    """How a citation reads: "paper.pdf, p. 2 (printed 102)", or "from our conversation on 2026-11-22"."""
    day = memory_date(source)
    if day:
        return f"from our conversation on {day}"
    where = render_locator(locator)
    return f"{source}, {where}" if where else source


def refs_from_answer(answer: Answer) -> tuple[SourceRef, ...]:
    """The answer's citations, each with the document id and section of the passage it quotes."""
    refs = []
    for c in answer.citations:
        hit = _hit_for(answer, c)
        doc_id, section = (hit.chunk.doc_id, hit.chunk.section) if hit else ("", 0)
        refs.append(SourceRef(c.number, c.source, c.locator, c.quote, c.start, c.end, doc_id, section))
    return tuple(refs)


def _hit_for(answer: Answer, c: Citation) -> Any:
    candidates = list(answer.hits)
    if 1 <= c.number <= len(candidates):  # sources are numbered in the order of answer.hits
        candidates.insert(0, candidates[c.number - 1])
    for hit in candidates:
        chunk = hit.chunk
        if hit.source == c.source and chunk.locator == c.locator and chunk.start <= c.start <= c.end <= chunk.end:
            return hit
    return next((h for h in candidates if h.source == c.source and h.chunk.locator == c.locator), None)


def turn_from_answer(question: str, searched: str, answer: Answer) -> Turn:
    suspects = tuple(SourceRef(0, h.source, h.chunk.locator, h.chunk.text, h.chunk.start, h.chunk.end,
                               h.chunk.doc_id, h.chunk.section, h.suspect) for h in answer.suspects)
    return Turn(question, searched, answer.text, answer.found, refs_from_answer(answer), answer.prompt,
                answer.model, suspects=suspects)


class ConversationStore:
    """The conversations of one index folder (SQLite, WAL: the app's browser tabs and `rag chat` share it).

    Every operation opens its own connection, so threads (one per browser tab in the app) never share a
    transaction; each write runs in one `BEGIN IMMEDIATE` transaction, so a title is decided and a
    conversation created, renamed or deleted against what is there at that moment."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, index_folder: str | Path) -> ConversationStore:
        folder = Path(index_folder).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        store = cls(folder / DB_NAME)
        try:
            with store._read() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
                if "suspects" not in {row[1] for row in db.execute("PRAGMA table_info(turns)")}:
                    db.execute("ALTER TABLE turns ADD COLUMN suspects TEXT NOT NULL DEFAULT '[]'")
                db.execute("INSERT OR IGNORE INTO meta VALUES ('format_version', ?)", (str(FORMAT_VERSION),))
                version = db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise IndexFormatError(f"{store.path}: not a readable conversation store ({exc}) — move the file "
                                   "aside; a new one is created on the next start") from exc
        if int(version) != FORMAT_VERSION:
            raise IndexFormatError(f"{store.path}: conversation format {version}, but this rag reads format "
                                   f"{FORMAT_VERSION} — move the file aside to start a new history")
        return store

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on a connection of its own: all of it is applied or none."""
        with self._read() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def create(self, title: str = NEW_TITLE) -> Conversation:
        now = time.time()
        with self._write() as db:
            cur = db.execute("INSERT INTO conversations(title, created, updated) VALUES (?, ?, ?)",
                             (title.strip() or NEW_TITLE, now, now))
            return self._get(db, int(cur.lastrowid or 0))

    def all(self) -> list[Conversation]:
        """Every conversation, the most recently used first."""
        with self._read() as db:
            return self._all(db)

    @staticmethod
    def _all(db: sqlite3.Connection, where: str = "", args: tuple[Any, ...] = ()) -> list[Conversation]:
        rows = db.execute(
            "SELECT c.id, c.title, c.created, c.updated, (SELECT COUNT(*) FROM turns t WHERE t.conversation = c.id), "
            f"c.memory FROM conversations c {where} ORDER BY c.updated DESC, c.id DESC", args).fetchall()
        return [Conversation(*row) for row in rows]

    def get(self, conversation: int) -> Conversation:
        with self._read() as db:
            return self._get(db, conversation)

    def _get(self, db: sqlite3.Connection, conversation: int) -> Conversation:
        found = self._all(db, "WHERE c.id = ?", (conversation,))
        if not found:
            raise RagError(f"conversation {conversation} does not exist in {self.path} — "
                           "list the conversations (/list in rag chat, the sidebar in the app)")
        return found[0]

    def turns(self, conversation: int) -> list[Turn]:
        with self._read() as db:
            rows = db.execute("SELECT question, searched, answer, found, sources, prompt, model, created, id, "
                              "suspects FROM turns WHERE conversation = ? ORDER BY id", (conversation,)).fetchall()
        return [Turn(r[0], r[1], r[2], bool(r[3]), _refs(r[4]), r[5], r[6], r[7], r[8], _refs(r[9])) for r in rows]

    def add_turn(self, conversation: int, turn: Turn) -> Turn:
        """Append a turn; a conversation still called "New conversation" takes its first question as title."""
        now = time.time()
        with self._write() as db:
            conv = self._get(db, conversation)
            cur = db.execute(
                "INSERT INTO turns(conversation, question, searched, answer, found, sources, prompt, model, created, "
                "suspects) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (conversation, turn.question, turn.searched, turn.answer, int(turn.found), _refs_json(turn.sources),
                 turn.prompt, turn.model, now, _refs_json(turn.suspects)))
            title = short_title(turn.question) if conv.title == NEW_TITLE and conv.turns == 0 else conv.title
            db.execute("UPDATE conversations SET updated = ?, title = ? WHERE id = ?", (now, title, conversation))
        return replace(turn, created=now, id=int(cur.lastrowid or 0))

    def rename(self, conversation: int, title: str) -> Conversation:
        if not title.strip():
            raise RagError("a conversation's title cannot be empty — type a few words")
        with self._write() as db:
            self._get(db, conversation)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title.strip(), conversation))
            return self._get(db, conversation)

    def delete(self, conversation: int) -> None:
        with self._write() as db:
            self._get(db, conversation)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation,))

    def set_memory(self, conversation: int, name: str) -> None:
        with self._write() as db:
            db.execute("UPDATE conversations SET memory = ? WHERE id = ?", (name, conversation))

    def memory_owner(self, name: str) -> int | None:
        with self._read() as db:
            row = db.execute("SELECT id FROM conversations WHERE memory = ?", (name,)).fetchone()
        return int(row[0]) if row else None

    def close(self) -> None:
        """Nothing to close: every operation closes its own connection."""

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _refs(data: str) -> tuple[SourceRef, ...]:
    return tuple(from_json(SourceRef, s) for s in json.loads(data))


def _refs_json(refs: tuple[SourceRef, ...]) -> str:
    return json.dumps([to_json(s) for s in refs], ensure_ascii=False)


def short_title(question: str, limit: int = 60) -> str:
    text = " ".join(question.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

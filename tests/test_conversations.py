"""The conversation store in the index folder, and "remember this": a conversation becomes a document."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from rag import Index
from rag.chat.conversations import DB_NAME, NEW_TITLE, ConversationStore, Turn, citation_label, memory_date
from rag.chat.memory import memory_markdown, plain_answer, remember
from rag.chat.session import ask_turn
from rag.core.errors import IndexFormatError, RagError
from rag.llm.protocol import LLMSettings

NONE = LLMSettings(backend="none")
QUESTION = "What corpus was Lumen trained on?"


@pytest.fixture
def index(built: Path, tmp_path: Path) -> Index:
    """A fresh copy of the sample index (ingesting once per module keeps these tests quick)."""
    shutil.copytree(built, tmp_path / "index")
    return Index.open(tmp_path / "index")


def test_turns_round_trip_with_exact_source_offsets(index: Index) -> None:
    with ConversationStore.open(index.folder) as store:
        conv = store.create()
        assert conv.title == NEW_TITLE and conv.turns == 0
        turn = ask_turn(index, store, conv.id, QUESTION, NONE, 5)
    with ConversationStore.open(index.folder) as store:     # a new process reads the same history
        [again] = store.turns(conv.id)
        [listed] = store.all()
    assert again == turn and listed.title == QUESTION and listed.turns == 1
    [ref] = again.sources
    assert (ref.source, ref.locator, ref.number) == ("paper.pdf", {"page": 2, "page_label": "102"}, 1)
    assert index.store.section_text(ref.doc_id, ref.section)[ref.start:ref.end] == ref.quote
    assert "Harbor-7" in ref.quote and again.searched == QUESTION and not again.rewritten
    assert '"role"' not in again.prompt and "Harbor-7" in again.prompt


def test_list_rename_delete(index: Index) -> None:
    with ConversationStore.open(index.folder) as store:
        first = store.create("Lumen")
        second = store.create()
        ask_turn(index, store, first.id, QUESTION, NONE, 5)   # first is now the most recently used
        assert [c.id for c in store.all()] == [first.id, second.id]
        assert store.get(first.id).title == "Lumen"             # a title given by the user is kept
        assert store.rename(second.id, "  Hydrophones ").title == "Hydrophones"
        with pytest.raises(RagError, match="cannot be empty"):
            store.rename(second.id, " ")
        store.delete(first.id)
        assert [c.id for c in store.all()] == [second.id]
        with sqlite3.connect(store.path) as db:
            assert db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0
        with pytest.raises(RagError, match=f"conversation {first.id} does not exist.*list the conversations"):
            store.turns(first.id) or store.get(first.id)


def test_two_stores_on_one_folder_share_the_history(index: Index) -> None:
    app, terminal = ConversationStore.open(index.folder), ConversationStore.open(index.folder)
    conv = app.create()
    ask_turn(index, terminal, conv.id, QUESTION, NONE, 5)
    assert [t.question for t in app.turns(conv.id)] == [QUESTION]


def test_a_damaged_store_is_a_readable_error(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(IndexFormatError, match="not a readable conversation store.*move the file aside"):
        ConversationStore.open(tmp_path)


def test_remember_this_adds_a_document_that_answers_with_its_own_citation(index: Index) -> None:
    with ConversationStore.open(index.folder) as store:
        conv = store.create()
        ask_turn(index, store, conv.id, QUESTION, NONE, 5)
        ask_turn(index, store, conv.id, "and how big was it?", NONE, 5)
        path, summary = remember(index, store, conv.id)
        day = time.strftime("%Y-%m-%d")
        assert path.parent == index.folder / "memory" and path.name.startswith(f"conversation-{day}-what-corpus")
        assert summary.added == 1 and not summary.failed
        text = path.read_text(encoding="utf-8")
        assert text.startswith(f"# Conversation on {day}: corpus, Lumen, trained\n")
        assert f"“{QUESTION}” — Harbor-7 — Lumen was trained on the Harbor-7 corpus" in text and "[1]" not in text
        index.remove("paper.pdf")                    # the paper is gone; the memory is not
        answer = index.ask(QUESTION, llm=NONE)
        assert answer.found and answer.citations
        assert {c.source for c in answer.citations} == {path.name}
        cited = next(c for c in answer.citations if "Harbor-7" in c.quote)
        assert citation_label(cited.source, cited.locator) == f"from our conversation on {day}"
        ask_turn(index, store, conv.id, "Who is the data steward?", NONE, 5)
        again, summary = remember(index, store, conv.id)            # the same file, updated in place
        assert again == path and summary.changed == 1
        assert [d.source for d in index.documents() if memory_date(d.source)] == [path.name]


def test_nothing_to_remember(index: Index) -> None:
    with ConversationStore.open(index.folder) as store:
        conv = store.create()
        ask_turn(index, store, conv.id, "What is the capital of Australia?", NONE, 5)
        with pytest.raises(RagError, match="no answered question to remember"):
            remember(index, store, conv.id)


def test_memory_text_and_labels(index: Index) -> None:
    with ConversationStore.open(index.folder) as store:
        conv = store.create("Field notes")
        ask_turn(index, store, conv.id, QUESTION, NONE, 5)
        markdown = memory_markdown(store.get(conv.id), store.turns(conv.id))
    assert markdown.startswith("# Conversation on ") and ": Field notes\n" in markdown
    assert "## Question 1\n\n“What corpus was Lumen trained on?” — Harbor-7 — Lumen was trained" in markdown
    assert "Sources: paper.pdf, p. 2 (printed 102)\n" in markdown
    assert plain_answer("“Lumen was trained on X.” [1] “It took 19 hours.” [2]") == \
        "Lumen was trained on X. It took 19 hours."
    assert memory_date("conversation-2026-11-22-lumen.md") == "2026-11-22"
    assert memory_date("notes-2026-11-22.md") is None
    assert citation_label("paper.pdf", {"page": 2, "page_label": "102"}) == "paper.pdf, p. 2 (printed 102)"
    assert citation_label("conversation-2026-11-22-lumen.md", {"heading": "x"}) == \
        "from our conversation on 2026-11-22"


def test_many_tabs_at_once(tmp_path: Path) -> None:
    """Eight threads (browser tabs) share one store: each creates, fills, renames, lists and deletes
    conversations at the same time, and none loses or sees another's half-done write."""
    store = ConversationStore.open(tmp_path)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def tab(n: int) -> None:
        try:
            start.wait()
            for i in range(6):
                conv = store.create()
                for q in range(3):
                    store.add_turn(conv.id, Turn(f"tab {n} question {i}.{q}", "s", "a", True, (), "p", "m"))
                assert store.get(conv.id).title == f"tab {n} question {i}.0"   # the first question, not another's
                store.rename(conv.id, f"tab {n} conversation {i}")
                assert len(store.all()) >= 1
                if i % 2:
                    store.delete(conv.id)
        except BaseException as exc:  # noqa: BLE001 - reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=tab, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    kept = store.all()
    assert sorted(c.title for c in kept) == sorted(f"tab {n} conversation {i}" for n in range(8) for i in (0, 2, 4))
    for conv in kept:
        assert [t.question for t in store.turns(conv.id)] == \
            [f"{conv.title.replace('conversation', 'question')}.{q}" for q in range(3)]
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 3 * len(kept)


def test_a_failed_write_takes_nothing_else_with_it(tmp_path: Path) -> None:
    store = ConversationStore.open(tmp_path)
    kept = store.create("kept")
    with pytest.raises(RagError, match="does not exist"):
        store.add_turn(999, Turn("q", "s", "a", True, (), "p", "m"))
    assert [c.title for c in store.all()] == ["kept"] and store.turns(kept.id) == []


def test_an_older_store_gains_the_suspects_column(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.executescript("""
            CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('format_version', '1');
            CREATE TABLE conversations(id INTEGER PRIMARY KEY, title TEXT NOT NULL, created REAL NOT NULL,
                updated REAL NOT NULL, memory TEXT);
            CREATE TABLE turns(id INTEGER PRIMARY KEY, conversation INTEGER NOT NULL, question TEXT NOT NULL,
                searched TEXT NOT NULL, answer TEXT NOT NULL, found INTEGER NOT NULL, sources TEXT NOT NULL,
                prompt TEXT NOT NULL, model TEXT NOT NULL, created REAL NOT NULL);
            INSERT INTO conversations VALUES (1, 'old', 0, 0, NULL);
            INSERT INTO turns VALUES (1, 1, 'q', 'q', 'a', 1, '[]', 'p', 'm', 0);
        """)
    store = ConversationStore.open(tmp_path)
    [turn] = store.turns(1)
    assert turn.question == "q" and turn.suspects == ()

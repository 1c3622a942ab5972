"""`rag chat` through click's CliRunner (no terminal: lines on stdin), sharing the conversation store
with the app; and the follow-up rewrite, by rules and through a model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import Index
from rag.answer.prompts import REWRITE_SYSTEM_PROMPT
from rag.chat.conversations import ConversationStore
from rag.chat.rewrite import clean_rewrite, refers_back, rewrite, rule_rewrite
from rag.chat.session import ask_turn
from rag.cli import main
from rag.core.errors import LLMError
from rag.llm.protocol import LLMSettings, Message

QUESTION = "What corpus was Lumen trained on?"
NONE = LLMSettings(backend="none")


@pytest.fixture
def index_dir(built: Path, tmp_path: Path) -> str:
    shutil.copytree(built, tmp_path / "index")
    return str(tmp_path / "index")


def chat(index_dir: str, lines: list[str], *args: str) -> str:
    result = CliRunner().invoke(main, ["chat", "--index", index_dir, "--llm", "none", *args],
                                input="".join(f"{line}\n" for line in lines))
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


def test_chat_answers_follow_ups_and_keeps_the_history(index_dir: str) -> None:
    out = chat(index_dir, [QUESTION, "and how big was it?", "/list", "/quit", "never asked"])
    assert "Harbor-7 corpus of 1.2 million field notes" in out
    assert "[1] paper.pdf, p. 2 (printed 102)" in out
    assert "searched for: How big was it? (about: corpus, Lumen, trained" in out
    assert f"*   1  {QUESTION}  (2 turns)" in out
    with ConversationStore.open(index_dir) as store:
        [conv] = store.all()
        turns = store.turns(conv.id)
    assert [t.question for t in turns] == [QUESTION, "and how big was it?"]
    assert turns[1].rewritten and "Lumen" in turns[1].searched
    assert all(t.sources[0].source == "paper.pdf" for t in turns)


def test_chat_continues_a_conversation_started_in_the_app(index_dir: str) -> None:
    with ConversationStore.open(index_dir) as store, Index.open(index_dir) as idx:
        conv = store.create()
        ask_turn(idx, store, conv.id, QUESTION, NONE, 5)        # what the app does for one question
    out = chat(index_dir, ["and how big was it?"], "--conversation", str(conv.id))
    assert f"conversation {conv.id}: {QUESTION} (1 turns)" in out and f"you> {QUESTION}" in out
    assert "searched for: How big was it? (about: corpus, Lumen" in out
    with ConversationStore.open(index_dir) as store:
        assert [t.question for t in store.turns(conv.id)] == [QUESTION, "and how big was it?"]


def test_chat_commands(index_dir: str) -> None:
    out = chat(index_dir, ["/rename x", "Who is the data steward?", "/rename Stewards", "/new",
                           "When is the annual review?", "/list", "/open 1", "/open 99", "/open x",
                           "/remember", "/help"])
    assert "error: no conversation to rename yet" in out
    assert "Jonas Berg" in out and "12 June 2024" in out
    assert "renamed conversation 1: Stewards" in out and "new conversation 2" in out
    assert "    1  Stewards  (1 turn)" in out and "*   2  When is the annual review?" in out
    assert "error: conversation 99 does not exist" in out and "error: /open needs a conversation number" in out
    assert "remembered in " in out and "(added to the index)" in out and "/remember" in out
    with ConversationStore.open(index_dir) as store:
        assert [c.title for c in store.all()] == ["When is the annual review?", "Stewards"]
    memory = list((Path(index_dir) / "memory").glob("conversation-*-stewards.md"))
    assert len(memory) == 1 and "Jonas Berg" in memory[0].read_text(encoding="utf-8")


def test_chat_with_an_unknown_conversation_is_an_error(index_dir: str) -> None:
    result = CliRunner().invoke(main, ["chat", "--index", index_dir, "--llm", "none", "--conversation", "7"],
                                input="")
    assert result.exit_code == 1 and "error: conversation 7 does not exist" in result.output


def test_chat_says_when_the_documents_do_not_know(index_dir: str) -> None:
    out = chat(index_dir, ["What learning rate was Lumen trained with?"])
    assert "The documents do not contain an answer to this question." in out and "Sources:" not in out


# --- the rewrite itself -------------------------------------------------------------------------------

class FakeBackend:
    """A ChatBackend that replies with fixed text (the model is the boundary; our code runs for real)."""

    name = "fake"
    model = "fake"

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.seen: list[list[Message]] = []

    def render(self, messages: list[Message]) -> str:
        return repr(messages)

    def complete(self, messages: list[Message]) -> str:
        self.seen.append(messages)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply

    def stream(self, messages: list[Message]) -> Iterator[str]:
        yield self.complete(messages)


HISTORY = [(QUESTION, "Lumen was trained on the Harbor-7 corpus of 1.2 million field notes [1].")]


@pytest.mark.parametrize(("question", "expected"), [
    ("and how big was it?", True), ("How big was that corpus?", True), ("What about the recall?", True),
    ("Who is the data steward?", False), ("When is the annual review?", False)])
def test_refers_back(question: str, expected: bool) -> None:
    assert refers_back(question) is expected


def test_rule_rewrite_adds_the_previous_topic() -> None:
    assert rule_rewrite("and how big was it?", HISTORY) == \
        "How big was it? (about: corpus, Lumen, trained, Harbor-7, 1.2)"
    assert rewrite("Who is the data steward?", HISTORY).method == "none"
    assert rewrite("and how big was it?", []).searched == "and how big was it?"


def test_model_rewrite_is_used_when_plausible() -> None:
    model = FakeBackend("Stand-alone question: \"How big was the Harbor-7 corpus Lumen was trained on?\"\nmore")
    rw = rewrite("and how big was it?", HISTORY, model)
    assert (rw.method, rw.searched) == ("llm", "How big was the Harbor-7 corpus Lumen was trained on?")
    system, user = model.seen[0]
    assert system == ("system", REWRITE_SYSTEM_PROMPT)
    assert "User: What corpus was Lumen trained on?" in user[1] and "[1]" not in user[1]
    assert user[1].endswith("Follow-up question: and how big was it?\nStand-alone question:")


@pytest.mark.parametrize("reply", ["", "   \n", "The corpus had 1.2 million notes [1].", "x" * 400,
                                   "What is the weather like today?", LLMError("server down")])
def test_odd_model_rewrites_fall_back_to_rules(reply: str | Exception) -> None:
    rw = rewrite("and how big was it?", HISTORY, FakeBackend(reply))
    assert rw.method == "rules" and rw.searched.startswith("How big was it? (about: corpus, Lumen")


def test_clean_rewrite() -> None:
    assert clean_rewrite("  \n“How big was it?”\nexplanation") == "How big was it?"
    assert clean_rewrite("Rewritten question: What now?") == "What now?"

"""One conversational turn (rewrite the follow-up, answer, remember the turn), and `rag chat`'s loop.

The app and the terminal both call `ask_turn`, so they share one history: the conversation store in
the index folder. The loop reads lines (from a terminal or a pipe) and understands a few commands.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from rag.chat.conversations import ConversationStore, Turn, turn_from_answer
from rag.chat.rewrite import Exchange, Rewrite, refers_back, rewrite
from rag.core.errors import RagError
from rag.llm.protocol import LLMSettings

if TYPE_CHECKING:
    from rag.index import Index

HELP = ("Type a question, or a command: /new (new conversation), /list, /open N, /rename TITLE, "
        "/remember (add this conversation to the index), /help, /quit")


def history_of(turns: list[Turn]) -> list[Exchange]:
    return [(t.searched, t.answer) for t in turns]


def model_rewrites(llm: LLMSettings) -> bool:
    """Whether the model is asked to rewrite follow-ups. Not the bundled SmolLM2-135M: asked to rewrite, it
    answers instead (2 of 2 tries in a probe, each rejected by `plausible` after ~6 s), so the rules do it."""
    return llm.backend not in ("none", "embedded") or (llm.backend == "embedded" and bool(llm.model))


def rewrite_for(question: str, turns: list[Turn], llm: LLMSettings) -> Rewrite:
    """The stand-alone question; the model rewrites it when there is one, else the rules do."""
    history = history_of(turns)
    backend = None
    if model_rewrites(llm) and history and refers_back(question):
        from rag.llm.registry import make_backend

        backend = make_backend(llm)
    return rewrite(question, history, backend)


def ask_turn(index: Index, store: ConversationStore, conversation: int, question: str, llm: LLMSettings,
             k: int, on_token: Callable[[str], None] | None = None,
             on_rewrite: Callable[[Rewrite], None] | None = None) -> Turn:
    """Answer `question` in the context of the conversation and store the turn."""
    if not question.strip():
        raise RagError("the question is empty — type what you want to know")
    rw = rewrite_for(question, store.turns(conversation), llm)
    if on_rewrite is not None:
        on_rewrite(rw)
    answer = index.ask(rw.searched, llm=llm, k=k, on_token=on_token)
    return store.add_turn(conversation, turn_from_answer(rw.question, rw.searched, answer))


# --- the terminal ---------------------------------------------------------------------------------

@dataclass
class ChatSession:
    """The state of one `rag chat` run: which conversation the next question goes to."""

    index: Index
    store: ConversationStore
    llm: LLMSettings
    k: int
    conversation: int | None = None
    stream: bool = False
    echo: Callable[[str], None] = field(default=click.echo)


def print_turn(turn: Turn, echo: Callable[[str], None], streamed: bool = False) -> None:
    if not streamed:
        echo(turn.answer)
    if turn.sources:
        echo("Sources:")
    for s in turn.sources:
        echo(f"  [{s.number}] {s.label()}")
        echo(textwrap.indent(f"“{textwrap.shorten(s.quote, 300)}”", "      "))


def print_conversations(session: ChatSession) -> None:
    convs = session.store.all()
    if not convs:
        session.echo("no conversations yet — type a question to start one")
    for c in convs:
        mark = "*" if c.id == session.conversation else " "
        session.echo(f"{mark} {c.id:>3}  {c.title}  ({c.turns} turn{'s' if c.turns != 1 else ''})")


def open_conversation(session: ChatSession, conversation: int, show: int = 3) -> None:
    conv = session.store.get(conversation)
    session.conversation = conv.id
    turns = session.store.turns(conv.id)
    session.echo(f"conversation {conv.id}: {conv.title} ({len(turns)} turns)")
    for turn in turns[-show:]:
        session.echo(f"you> {turn.question}")
        session.echo(textwrap.shorten(turn.answer, 300))


def command(session: ChatSession, line: str) -> bool:
    """Run one /command; False when the session should end."""
    name, _, arg = line[1:].partition(" ")
    name, arg = name.lower(), arg.strip()
    if name in ("quit", "exit", "q"):
        return False
    if name == "new":
        session.conversation = session.store.create().id
        session.echo(f"new conversation {session.conversation}")
    elif name == "list":
        print_conversations(session)
    elif name == "open":
        if not arg.isdigit():
            raise RagError(f"/open needs a conversation number, not {arg!r} — /list shows them")
        open_conversation(session, int(arg))
    elif name == "rename":
        if session.conversation is None:
            raise RagError("no conversation to rename yet — ask a question or /open N first")
        conv = session.store.rename(session.conversation, arg)
        session.echo(f"renamed conversation {conv.id}: {conv.title}")
    elif name == "remember":
        remember_current(session)
    else:
        session.echo(HELP)
    return True


def remember_current(session: ChatSession) -> None:
    from rag.chat.memory import remember

    if session.conversation is None:
        raise RagError("nothing to remember yet — ask a question first")
    path, summary = remember(session.index, session.store, session.conversation)
    failed = "; ".join(f.error for f in summary.failed)
    session.echo(f"remembered in {path}" + (f" (failed: {failed})" if failed else " (added to the index)"))


def ask_line(session: ChatSession, question: str) -> None:
    if session.conversation is None:
        session.conversation = session.store.create().id
    pieces: list[str] = []

    def shown(rw: Rewrite) -> None:
        if rw.rewritten:
            session.echo(click.style(f"searched for: {rw.searched}", dim=True))

    def streamed(piece: str) -> None:
        pieces.append(piece)
        click.echo(piece, nl=False)

    turn = ask_turn(session.index, session.store, session.conversation, question, session.llm, session.k,
                    on_token=streamed if session.stream else None, on_rewrite=shown)
    said = "".join(pieces).strip()
    if said:
        session.echo("")
        if said != turn.answer.strip():
            session.echo(click.style("── checked against the sources ──", dim=True))
    print_turn(turn, session.echo, streamed=bool(said) and said == turn.answer.strip())


def run_chat(session: ChatSession, lines: Iterable[str], prompt: Callable[[], None] | None = None) -> None:
    """Read questions and commands until /quit or the end of input; errors are printed, the loop goes on."""
    if session.conversation is not None:
        open_conversation(session, session.conversation)
    for raw in lines:
        line = raw.strip()
        if line:
            try:
                if line.startswith("/"):
                    if not command(session, line):
                        break
                else:
                    ask_line(session, line)
            except RagError as exc:
                session.echo(f"error: {exc}")
        if prompt is not None:
            prompt()

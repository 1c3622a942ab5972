""""Remember this": a conversation's answered questions become a Markdown document of their own.

The file is written to `<index>/memory/conversation-<date>-<topic>.md` and ingested through the same
`Index.ingest` as any other file, so a later answer can cite it; such a citation reads
"from our conversation on 2026-11-22" (see `rag.chat.conversations.citation_label`). Remembering the same
conversation again rewrites its file, so the index holds one version of it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rag.answer.prompts import MODEL_MISSED, SET_ASIDE, UNSUPPORTED_NOTE
from rag.answer.text import strip_citations
from rag.chat.conversations import MEMORY_PREFIX, Conversation, ConversationStore, Turn, short_title
from rag.chat.rewrite import content_words
from rag.core.errors import RagError

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary
    from rag.index import Index

MEMORY_DIR = "memory"


def day_of(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(timestamp))


def slug(text: str, limit: int = 40) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    out = "-".join(words)[:limit].rstrip("-")
    return out or "notes"


def plain_answer(text: str) -> str:
    """An answer without its [n] marks, quotation marks and the note about unsupported model output."""
    for note in (UNSUPPORTED_NOTE, SET_ASIDE, MODEL_MISSED):
        text = text.replace(note, "")
    text = strip_citations(text).replace("“", "").replace("”", "")
    return " ".join(text.split())


def topic(conv: Conversation, turns: list[Turn]) -> str:
    """The conversation's title, or the key words of its first question when it is titled by that question."""
    if turns and conv.title == short_title(turns[0].question):
        return ", ".join(content_words(turns[0].question)) or conv.title
    return conv.title


def memory_markdown(conv: Conversation, turns: list[Turn]) -> str:
    """The Markdown written for a conversation: one section per answered question.

    Each question and its answer form one sentence (“question” — answer), so the sentence that matches a
    later question carries the answer with it."""
    day = day_of(conv.created)
    lines = [f"# Conversation on {day}: {topic(conv, turns)}", "", "Saved from rag's chat.", ""]
    for number, turn in enumerate((t for t in turns if t.found), start=1):
        cited = sorted({s.label() for s in turn.sources})
        lines += [f"## Question {number}", "", f"“{turn.question.strip()}” — {plain_answer(turn.answer)}", ""]
        if cited:
            lines += [f"Sources: {'; '.join(cited)}", ""]
    return "\n".join(lines)


def memory_file(index_folder: Path, store: ConversationStore, conv: Conversation) -> Path:
    """The conversation's memory file: the one it was remembered as before, else a new free name."""
    folder = index_folder / MEMORY_DIR
    if conv.memory:
        return folder / conv.memory
    base = f"{MEMORY_PREFIX}{day_of(conv.created)}-{slug(conv.title)}"
    name = f"{base}.md"
    if (folder / name).exists() or store.memory_owner(name) not in (None, conv.id):
        name = f"{base}-{conv.id}.md"
    return folder / name


def remember(index: Index, store: ConversationStore, conversation: int) -> tuple[Path, IngestSummary]:
    """Write the conversation's answered questions to <index>/memory/ and ingest that file."""
    conv = store.get(conversation)
    turns = store.turns(conversation)
    if not any(t.found for t in turns):
        raise RagError(f"conversation {conv.id} ({conv.title}) has no answered question to remember — "
                       "ask something the documents answer first")
    path = memory_file(index.folder, store, conv)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(memory_markdown(conv, turns), encoding="utf-8")
    tmp.replace(path)
    store.set_memory(conv.id, path.name)
    return path, index.ingest(path)

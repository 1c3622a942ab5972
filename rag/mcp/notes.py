"""`remember`: a note becomes a Markdown file of its own under <index>/memory/ and is ingested like any
other file (rag/chat/memory.py does the same for a remembered conversation), so a later search or answer
finds it and cites it: "note-2026-12-02-010203-kestrel-rover.md, § Note of 2026-12-02 01:02:03 UTC".
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from rag.chat.memory import MEMORY_DIR, slug
from rag.core.errors import RagError

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary
    from rag.index import Index

NOTE_PREFIX = "note-"
MAX_NOTE = 100_000   # characters: a note is something said, not a document (ingest a file for that)


def note_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise RagError("the note is empty — give the text to remember")
    if len(text) > MAX_NOTE:
        raise RagError(f"the note is {len(text):,} characters long, over the limit of {MAX_NOTE:,} — save it as a "
                       "file and ingest it with `rag ingest FILE`")
    return text


def note_markdown(text: str, when: float) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))
    return f"# Note of {stamp}\n\n{text}\n"


def note_path(folder: Path, text: str, when: float) -> Path:
    """A new file name: the time, then the note's first words (-2, -3, … when that name is taken)."""
    base = f"{NOTE_PREFIX}{time.strftime('%Y-%m-%d-%H%M%S', time.gmtime(when))}-{slug(text, 32)}"
    path, n = folder / f"{base}.md", 1
    while path.exists():
        n += 1
        path = folder / f"{base}-{n}.md"
    return path


def remember_note(index: Index, text: str, lock_wait: float = 10.0) -> tuple[Path, IngestSummary]:
    """Write the note to <index>/memory/note-….md and ingest that one file."""
    text = note_text(text)
    when = time.time()
    folder = index.folder / MEMORY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = note_path(folder, text, when)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(note_markdown(text, when), encoding="utf-8")
    tmp.replace(path)
    summary = index.ingest(path, lock_wait=lock_wait)
    if summary.failed:
        path.unlink(missing_ok=True)
        raise RagError(f"{path.name}: the note could not be stored ({summary.failed[0].error})")
    return path, summary

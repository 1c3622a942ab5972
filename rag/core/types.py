"""The data that flows through the system: plain frozen dataclasses, standard library only."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

Locator = dict[str, Any]


def content_hash(*parts: str) -> str:
    """A short, stable id derived from content (sha256 of the parts, hex, 32 chars)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()[:32]


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def render_locator(locator: Locator) -> str:
    """A locator as people read it: "p. 3", "p. 3 (printed 1652)", "00:01:12–00:01:40", "#general 2026-01-02",
    "@handle, 2021-03-04"."""
    parts: list[str] = []
    if "member" in locator:           # a file inside an archive
        parts.append(str(locator["member"]))
    if "tweet_id" in locator:         # a tweet or a thread of an X archive: "@handle, 2021-03-04"
        parts += [f"@{locator['author']}" if locator.get("author") else "", str(locator.get("date") or "")]
        return ", ".join(p for p in parts if p)
    if "dm" in locator:               # a day of a direct-message conversation
        parts.append(f"DM {locator['dm']}")
    if "slide" in locator:
        parts.append(f"slide {locator['slide']}")
    if "page" in locator:
        page = f"p. {locator['page']}"
        label = locator.get("page_label")
        if label and str(label) != str(locator["page"]):
            page += f" (printed {label})"
        parts.append(page)
    if "start" in locator:
        span = _clock(float(locator["start"]))
        if "end" in locator:
            span += "–" + _clock(float(locator["end"]))
        parts.append(span)
    if "channel" in locator:
        parts.append(f"#{locator['channel']}")
    if "date" in locator:
        parts.append(str(locator["date"]))
    if "author" in locator:
        parts.append(str(locator["author"]))
    if "speaker" in locator:
        parts.append(str(locator["speaker"]))
    if "notion_path" in locator:
        parts.append(str(locator["notion_path"]))
    if "record" in locator:           # one record of a JSON Lines file
        parts.append(f"record {locator['record']}")
    if "row" in locator:              # a row of a table or database
        parts.append(f"row {locator['row']}")
    if "heading" in locator and (not parts or "notion_path" in locator or "member" in locator):
        parts.append(f"§ {locator['heading']}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Section:
    """The unit a loader emits: text plus where it sits in the file."""

    text: str
    locator: Locator = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """One file (or one item of an export) as text sections."""

    doc_id: str
    source: str
    kind: str
    title: str
    sections: tuple[Section, ...]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A retrievable span of one section; `start`/`end` are exact offsets into that section's text."""

    chunk_id: str
    doc_id: str
    text: str
    locator: Locator
    start: int
    end: int
    section: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def make_id(doc_id: str, section: int, start: int, text: str, locator: Locator) -> str:
        return content_hash(doc_id, str(section), str(start), json.dumps(locator, sort_keys=True), text)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the document it came from."""

    chunk: Chunk
    score: float
    source: str
    title: str = ""
    similarity: float = 0.0   # cosine between the question and the chunk (the relevance bar uses it)
    suspect: str = ""         # why the passage looks like instructions to the assistant ('' = it does not)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source, "locator": self.chunk.locator, "text": self.chunk.text,
                                "score": round(float(self.score), 6), "suspect": bool(self.suspect)}
        if self.suspect:
            data["suspect_reason"] = self.suspect
        return data


@dataclass(frozen=True)
class Citation:
    source: str
    locator: Locator
    quote: str
    number: int = 0
    start: int = 0
    end: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "locator": self.locator, "quote": self.quote, "number": self.number,
                "start": self.start, "end": self.end}

    def label(self) -> str:
        where = render_locator(self.locator)
        return f"{self.source}, {where}" if where else self.source


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    prompt: str
    model: str
    hits: tuple[Hit, ...] = ()
    found: bool = True
    raw: str = ""                 # the model's own output, before sentences were checked against sources
    dropped: tuple[str, ...] = ()  # answer sentences removed because no source supports them
    suspects: tuple[Hit, ...] = ()  # passages left out because they address the assistant
    # self-ask (rag/answer/selfask.py): each follow-up question, its answer and that answer's citations
    steps: tuple[tuple[str, str, tuple[Citation, ...]], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.text, "citations": [c.to_json() for c in self.citations],
                "suspect_sources": [{"source": h.source, "locator": h.chunk.locator, "reason": h.suspect}
                                    for h in self.suspects],
                "model": self.model,
                "steps": [{"question": q, "answer": a, "citations": [c.to_json() for c in cs]}
                          for q, a, cs in self.steps]}

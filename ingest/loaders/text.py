"""Plain text (.txt) and Markdown (.md, .markdown) files.

A .txt file is one Section holding the whole text (locator {}); its title is the file stem. A .txt
transcript, where most lines are "Name: text" (optionally after a [hh:mm:ss] or (mm:ss) stamp), is
split into groups of speaker turns instead ({"speaker": "Ana"}, plus "start"/"end" with stamps; see
transcript.py); text before the first turn is a Section of its own (locator {}).
A Markdown file is split at ATX headings (`#` to `######`, not inside fenced code): each Section
holds a heading line and its body, with the locator {"heading": "Parent > Child", "line": n}
(n is the heading's line, counted from 1). Text before the first heading is its own Section
({"line": 1}); a heading with no body of its own gives no Section (its name lives on in its
children's heading paths; a file of headings only is one Section). Setext headings (underlined
with === or ---) do not split. The title is the first H1, else the file stem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.loaders.decode import read_text
from ingest.loaders.spec import LoaderSpec
from ingest.loaders.turns import group_utterances, parse_turns
from rag.core.types import Document, Section

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def load_txt(path: Path, source: str, doc_id: str) -> Document:
    """A plain text file as one Section, or a "Name: text" transcript as Sections of speaker turns."""
    text, encoding = read_text(path, source)
    meta: dict[str, Any] = {"encoding": encoding}
    sections = [Section(text.strip("\n"))]
    transcript = parse_turns(text)
    if transcript:
        preamble, turns = transcript
        sections = [Section(preamble)] if preamble else []
        sections += group_utterances(turns)
        meta.update(transcript=True, speakers=sorted({t.speaker for t in turns if t.speaker}))
    return Document(
        doc_id=doc_id,
        source=source,
        kind="text",
        title=path.stem,
        sections=tuple(sections),
        meta=meta,
    )


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str
    line: int  # 0-based index into the file's lines


def _headings(lines: list[str]) -> list[_Heading]:
    """The ATX headings of a Markdown file, skipping fenced code blocks."""
    found: list[_Heading] = []
    fence = ""
    for index, line in enumerate(lines):
        opener = _FENCE.match(line)
        if opener and (not fence or opener.group(1).startswith(fence)):
            fence = "" if fence else opener.group(1)[0] * 3
            continue
        match = None if fence else _ATX.match(line)
        if match:
            found.append(_Heading(len(match.group(1)), (match.group(2) or "").strip(), index))
    return found


def _section(lines: list[str], start: int, end: int, locator: dict[str, Any]) -> Section | None:
    """lines[start:end] as a Section, or None when nothing but the heading line has text."""
    body_from = start + 1 if "heading" in locator else start
    if not "".join(lines[body_from:end]).strip():
        return None
    return Section("\n".join(lines[start:end]).strip("\n"), locator)


def markdown_sections(text: str) -> tuple[list[Section], str]:
    """(sections, title) of a Markdown text; the title is "" when there is no H1."""
    lines = text.split("\n")
    headings = _headings(lines)
    bounds = [h.line for h in headings] + [len(lines)]
    sections = [_section(lines, 0, bounds[0], {"line": 1})]
    path: list[_Heading] = []
    for heading, end in zip(headings, bounds[1:], strict=True):
        path = [h for h in path if h.level < heading.level] + [heading]
        names = " > ".join(h.text for h in path if h.text)
        sections.append(_section(lines, heading.line, end, {"heading": names, "line": heading.line + 1}))
    title = next((h.text for h in headings if h.level == 1 and h.text), "")
    kept = [s for s in sections if s is not None]
    return kept or [Section(text.strip("\n"), {"line": 1})], title


def load_markdown(path: Path, source: str, doc_id: str) -> Document:
    """A Markdown file, one Section per heading."""
    text, encoding = read_text(path, source)
    sections, title = markdown_sections(text)
    return Document(
        doc_id=doc_id,
        source=source,
        kind="markdown",
        title=title or path.stem,
        sections=tuple(sections),
        meta={"encoding": encoding},
    )


LOADERS: dict[str, LoaderSpec] = {
    ".txt": LoaderSpec("text", "text", load_txt),
    ".md": LoaderSpec("markdown", "markdown", load_markdown),
    ".markdown": LoaderSpec("markdown", "markdown", load_markdown),
}

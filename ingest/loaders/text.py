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

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.registry import LoaderSpec
from rag.errors import LoaderError
from rag.types import Document, Section

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): a BOM's encoding, else UTF-8, else cp1252, else latin-1; NULs removed."""
    encodings = [enc for bom, enc in _BOMS if data.startswith(bom)] or ["utf-8", "cp1252", "latin-1"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n"), encoding
    return data.decode("latin-1").replace("\x00", ""), "latin-1"


def read_bytes(path: Path, source: str) -> bytes:
    """The file's bytes; an unreadable or empty (whitespace-only) file is a LoaderError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(
            f"{source}: the file cannot be read ({exc.strerror}) — check that it exists "
            "and that you may read it"
        ) from exc
    if not data.replace(b"\x00", b"").strip():
        raise LoaderError(f"{source}: the file is empty — nothing to index")
    return data


def read_text(path: Path, source: str) -> tuple[str, str]:
    """(text, encoding) of a text file; an unreadable or empty file is a LoaderError."""
    data = read_bytes(path, source)
    text, encoding = decode_text(data)
    if not text.strip():
        raise LoaderError(f"{source}: the file is empty — nothing to index")
    if len(data) >= 256 and _binary_share(data[:65536], text[:65536]) > 0.1:
        raise LoaderError(f"{source}: this looks like a binary file, not text (many control bytes) — if it "
                          "is a document in another format, give it that format's suffix")
    return text, encoding


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _binary_share(head: bytes, text: str) -> float:
    """The share of control characters (or of NUL bytes, for text with no BOM) at the start of a file."""
    nuls = 0.0 if any(head.startswith(bom) for bom, _ in _BOMS) else head.count(0) / max(1, len(head))
    return max(nuls, len(_CONTROL.findall(text)) / max(1, len(text)))


def load_txt(path: Path, source: str, doc_id: str) -> Document:
    """A plain text file as one Section, or a "Name: text" transcript as Sections of speaker turns."""
    from ingest.loaders.transcript import group_utterances, parse_turns  # it imports this module

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

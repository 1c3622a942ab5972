"""HTML files (.html, .htm), read with the standard library's html.parser.

Script, style, noscript, template, svg and head content is dropped (the <title> is kept as the
title); block elements become line breaks and paragraphs blank lines; entities are decoded.
The text is split at h1-h3 headings into Sections with the locator {"heading": "Parent > Child"};
text before the first heading is a Section with the locator {}. The title is the <title>, else
the first h1, else the file stem.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ingest.loaders.decode import decode_text, read_bytes
from ingest.loaders.spec import LoaderSpec
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_HEAD_ONLY = frozenset({"title", "meta", "link", "base", "style", "script", "noscript", "template"})
_SPLIT = ("h1", "h2", "h3")
_PARAGRAPH = frozenset(
    "p pre blockquote table ul ol dl figure h4 h5 h6 hr form fieldset details address center".split()
)
_LINE = frozenset(
    "div section article header footer main nav aside li dt dd tr caption figcaption summary option "
    "legend body html".split()
)
_CELL = frozenset({"td", "th"})
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)


_PARA_MARK, _LINE_MARK = "\x1d", "\x1e"  # block boundaries, resolved by _squeeze


def _squeeze(text: str) -> str:
    """Block marks to line breaks (a blank line if any paragraph mark), one space between words."""
    text = re.sub(r"\s*[\x1d\x1e]\s*", lambda m: "\n\n" if _PARA_MARK in m.group() else "\n", text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _Extractor(HTMLParser):
    """Collects (locator, heading, text) sections and the <title> of one HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip: list[str] = []
        self.title = ""
        self.in_title = False
        self.first_h1 = ""
        self.pre = 0
        self.level = 0  # 1-3 while inside a splitting heading
        self.heading_parts: list[str] = []
        self.path: list[tuple[int, str]] = []
        self.current: tuple[dict[str, Any], str, list[str]] = ({}, "", [])
        self.sections: list[tuple[dict[str, Any], str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if "head" in self.skip and tag not in _HEAD_ONLY:
            self.skip.remove("head")  # the body began without </head>
        if tag == "title" and not self.title and "svg" not in self.skip:
            self.in_title = True
        if tag in _SKIP:
            self.skip.append(tag)
        elif self.skip:
            return
        elif tag in _SPLIT:
            self.sections.append(self.current)
            self.level, self.heading_parts = int(tag[1]), []
        else:
            self._block(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in self.skip:
            del self.skip[len(self.skip) - 1 - self.skip[::-1].index(tag) :]
        elif self.skip or tag in _SKIP:
            return
        elif tag in _SPLIT and self.level:
            self._end_heading()
        else:
            self._block(tag, closing=True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skip:
            self._block(tag)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        (self.heading_parts if self.level else self.current[2]).append(data)

    def _block(self, tag: str, closing: bool = False) -> None:
        if tag == "pre":
            self.pre = max(0, self.pre + (-1 if closing else 1))
        if tag == "br":
            self.current[2].append("\n")
        elif tag in _PARAGRAPH:
            self.current[2].append(_PARA_MARK)
        elif tag in _LINE:
            self.current[2].append(_LINE_MARK)
        elif tag in _CELL and closing:
            self.current[2].append(" ")

    def _end_heading(self) -> None:
        name = " ".join("".join(self.heading_parts).split())
        if self.level == 1 and not self.first_h1:
            self.first_h1 = name
        self.path = [(lvl, text) for lvl, text in self.path if lvl < self.level] + [(self.level, name)]
        heading = " > ".join(text for _, text in self.path if text)
        self.current = ({"heading": heading} if heading else {}, name, [])
        self.level = 0

    def finish(self) -> list[Section]:
        self.close()
        if self.level:
            self._end_heading()
        self.sections.append(self.current)
        out = []
        for locator, heading, parts in self.sections:
            body = _squeeze("".join(parts))
            if body:
                out.append(Section(f"{heading}\n\n{body}" if heading else body, locator))
        return out


def decode_html(data: bytes) -> tuple[str, str]:
    """(text, encoding): a BOM, else the <meta charset> if Python knows it, else as for plain text."""
    match = None if data[:3] == codecs.BOM_UTF8 else _CHARSET.search(data[:4096])
    if match:
        try:
            encoding = codecs.lookup(match.group(1).decode("ascii")).name
            return data.decode(encoding).replace("\x00", ""), encoding
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment (an e-mail body), scripts and styles dropped, paragraphs as
    blank lines: read by the same parser as an HTML file."""
    parser = _Extractor()
    parser.feed(html)
    return "\n\n".join(section.text for section in parser.finish())


def load_html(path: Path, source: str, doc_id: str) -> Document:
    """An HTML page as Sections split at h1-h3."""
    text, encoding = decode_html(read_bytes(path, source))
    parser = _Extractor()
    parser.feed(text)
    sections = parser.finish()
    if not sections:
        raise LoaderError(
            f"{source}: the page has no visible text (only markup or scripts) — if a browser builds it "
            "with JavaScript, save the rendered page from the browser and ingest that"
        )
    title = " ".join(parser.title.split()) or parser.first_h1 or path.stem
    return Document(
        doc_id=doc_id,
        source=source,
        kind="html",
        title=title,
        sections=tuple(sections),
        meta={"encoding": encoding},
    )


LOADERS: dict[str, LoaderSpec] = {
    ".html": LoaderSpec("html", "html", load_html),
    ".htm": LoaderSpec("html", "html", load_html),
}

"""Text primitives that chunking, retrieval and answering share: sentence-like units and chunk titles.

A unit is a sentence of prose, or one line of a block of short lines (a receipt, a table, an address),
so that "TOTAL 65.84" can be quoted on its own.
"""

from __future__ import annotations

import re
from typing import Any

Spans = list[tuple[int, int]]
SHORT_LINE = 48
_BOUNDARY = re.compile(r"(?<=[.!?;:])[\"')\]]*\s+|\n\s*\n|\n(?=\s*(?:[-•*▪◦]|\d+[.)])\s)")


def sentence_ranges(text: str) -> Spans:
    """(start, end) of each sentence-like unit, whitespace excluded."""
    ranges: Spans = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        ranges.append((start, match.start()))
        start = match.end()
    ranges.append((start, len(text)))
    return [_trim(text, c, d) for a, b in ranges for c, d in _short_lines(text, a, b) if text[c:d].strip()]


def _short_lines(text: str, a: int, b: int) -> Spans:
    """A block of three or more short lines (a receipt, a table, an address) is one unit per line, so that
    "TOTAL 65.84" can be quoted on its own; wrapped prose (longer lines) stays one unit."""
    lines = text[a:b].split("\n")
    if len(lines) < 3 or max(len(line) for line in lines) > SHORT_LINE:
        return [(a, b)]
    spans: Spans = []
    for line in lines:
        spans.append((a, a + len(line)))
        a += len(line) + 1
    return spans


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def short_title(title: str) -> str:
    return " ".join(title.split()[:16])


def context_title(doc_title: str, locator: dict[str, Any]) -> str:
    """The title a chunk travels with: its section's own title (a record of a .jsonl file, a slide) when
    the loader gave one in the locator, else the document's."""
    own = locator.get("title")
    return own if isinstance(own, str) and own.strip() else doc_title

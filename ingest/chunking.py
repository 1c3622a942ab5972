"""Section-aware chunking with exact character offsets.

A chunk never spans two sections (so never two pages). Sentences are packed into chunks of at most
`max_tokens` model tokens (counted with the embedder's own tokenizer, so nothing is silently
truncated); a sentence longer than that is cut at token boundaries. Consecutive chunks share up to
`overlap` tokens of whole sentences. Offsets come from the split itself, never from searching text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rag.types import Chunk, Document

Spans = list[tuple[int, int]]
SHORT_LINE = 48
_BOUNDARY = re.compile(r"(?<=[.!?;:])[\"')\]]*\s+|\n\s*\n|\n(?=\s*(?:[-•*▪◦]|\d+[.)])\s)")


@dataclass(frozen=True)
class ChunkPolicy:
    max_tokens: int = 200
    overlap: int = 40
    window: int = 0   # the embedder's window: when set, each chunk leaves room in it for its title (+ 1)


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


def _units(text: str, spans: Spans, max_tokens: int) -> list[tuple[int, int, int]]:
    """Sentences as (start, end, token_count); over-long sentences cut into token windows."""
    starts = [s for s, _ in spans]
    units: list[tuple[int, int, int]] = []
    for a, b in sentence_ranges(text):
        first, last = bisect.bisect_left(starts, a), bisect.bisect_left(starts, b)
        count = last - first
        if count <= max_tokens:
            units.append((a, b, max(count, 1)))
            continue
        for i in range(first, last, max_tokens):
            j = min(i + max_tokens, last)
            units.append((spans[i][0], spans[j - 1][1], j - i))
    return units


def split_text(text: str, spans: Spans, policy: ChunkPolicy) -> Spans:
    """Chunk boundaries (start, end) for one section's text."""
    units = _units(text, spans, policy.max_tokens)
    chunks: Spans = []
    i = 0
    while i < len(units):
        j, tokens = i, 0
        while j < len(units) and tokens + units[j][2] <= policy.max_tokens:
            tokens += units[j][2]
            j += 1
        j = max(j, i + 1)
        chunks.append((units[i][0], units[j - 1][1]))
        if j >= len(units):
            break
        back, carried = j, 0
        while back - 1 > i and carried + units[back - 1][2] <= policy.overlap:
            back -= 1
            carried += units[back][2]
        i = back
    return chunks


def chunk_document(doc: Document, token_spans: Callable[[str], Spans], policy: ChunkPolicy) -> list[Chunk]:
    chunks: list[Chunk] = []
    for index, section in enumerate(doc.sections):
        fitted = _fit_title(policy, token_spans, context_title(doc.title, section.locator))
        for start, end in split_text(section.text, token_spans(section.text), fitted):
            text = section.text[start:end]
            chunk_id = Chunk.make_id(doc.doc_id, index, start, text, section.locator)
            chunks.append(Chunk(chunk_id, doc.doc_id, text, dict(section.locator), start, end, index))
    return chunks


def _fit_title(policy: ChunkPolicy, token_spans: Callable[[str], Spans], title: str) -> ChunkPolicy:
    """The policy for one section: chunks sized so that title + chunk fit the window (nothing silently cut)."""
    if not policy.window:
        return policy
    room = policy.window - len(token_spans(short_title(title))) - 1
    return ChunkPolicy(max(16, min(policy.max_tokens, room)), policy.overlap)


def short_title(title: str) -> str:
    return " ".join(title.split()[:16])


def context_title(doc_title: str, locator: dict[str, Any]) -> str:
    """The title a chunk travels with: its section's own title (a record of a .jsonl file, a slide) when
    the loader gave one in the locator, else the document's."""
    own = locator.get("title")
    return own if isinstance(own, str) and own.strip() else doc_title


def embedding_text(title: str, chunk: Chunk) -> str:
    """What the embedder sees: the (short) title with the chunk, so context travels with it. `title` is
    the document's; a section's own title, where there is one, takes its place."""
    title = short_title(context_title(title, chunk.locator))
    return f"{title}\n{chunk.text}" if title else chunk.text

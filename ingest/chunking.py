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

from rag.types import Chunk, Document

Spans = list[tuple[int, int]]
_BOUNDARY = re.compile(r"(?<=[.!?;:])[\"')\]]*\s+|\n\s*\n|\n(?=\s*(?:[-•*▪◦]|\d+[.)])\s)")


@dataclass(frozen=True)
class ChunkPolicy:
    max_tokens: int = 200
    overlap: int = 40


def sentence_ranges(text: str) -> Spans:
    """(start, end) of each sentence-like unit, whitespace excluded."""
    ranges: Spans = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        ranges.append((start, match.start()))
        start = match.end()
    ranges.append((start, len(text)))
    return [_trim(text, a, b) for a, b in ranges if text[a:b].strip()]


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
        for start, end in split_text(section.text, token_spans(section.text), policy):
            text = section.text[start:end]
            chunk_id = Chunk.make_id(doc.doc_id, index, start, text, section.locator)
            chunks.append(Chunk(chunk_id, doc.doc_id, text, dict(section.locator), start, end, index))
    return chunks


def short_title(title: str) -> str:
    return " ".join(title.split()[:16])


def embedding_text(title: str, chunk: Chunk) -> str:
    """What the embedder sees: the document title (short) with the chunk, so context travels with it."""
    title = short_title(title)
    return f"{title}\n{chunk.text}" if title else chunk.text

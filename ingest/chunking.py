"""Section-aware chunking with exact character offsets.

A chunk never spans two sections (so never two pages). Sentences are packed into chunks of at most
`max_tokens` model tokens (counted with the embedder's own tokenizer, so nothing is silently
truncated); a sentence longer than that is cut at token boundaries. Consecutive chunks share up to
`overlap` tokens of whole sentences. Offsets come from the split itself, never from searching text.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from rag.core.text import Spans, context_title, sentence_ranges, short_title
from rag.core.types import Chunk, Document


@dataclass(frozen=True)
class ChunkPolicy:
    max_tokens: int = 200
    overlap: int = 40
    window: int = 0   # the embedder's window: when set, each chunk leaves room in it for its title (+ 1)


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


def embedding_text(title: str, chunk: Chunk) -> str:
    """What the embedder sees: the (short) title with the chunk, so context travels with it. `title` is
    the document's; a section's own title, where there is one, takes its place."""
    title = short_title(context_title(title, chunk.locator))
    return f"{title}\n{chunk.text}" if title else chunk.text

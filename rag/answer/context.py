"""What of each passage goes into the model's prompt: the units (sentences, lines, rows, messages) that bear
on the question, with their neighbours for context, in the passage's order — not whole chunks.

Short prompts are fast on 2 cores (prompt evaluation dominates a small model's time) and keep a small
model on the fact asked for. The units and their scores are the extractive answerer's (rag.answer.evidence),
so the model reads the same sentences `--llm none` would quote, and a little around them.
"""

from __future__ import annotations

from rag.answer.answertype import expected_type
from rag.answer.evidence import Scored, score_units
from rag.core.types import Hit

PER_SOURCE = 2      # best units kept of each passage …
AROUND = 1          # … each with this many units either side …
MAX_CHARS = 600     # … up to this many characters a passage
GAP = " … "


def excerpts(question: str, sources: list[Hit]) -> list[str]:
    """For each source, the text the prompt shows: its best units and their neighbours, gaps marked "…"."""
    if not sources:
        return []
    pool = score_units(question, sources, expected_type(question), None, [h.similarity for h in sources])
    out = []
    for i, hit in enumerate(sources):
        text = hit.chunk.text
        mine = [s for s in pool.units if s.source == i]  # best first
        if not mine:
            out.append(text.strip()[:MAX_CHARS])
            continue
        order = sorted(mine, key=lambda s: s.unit.start)
        position = {id(s): n for n, s in enumerate(order)}
        keep: set[int] = set()
        for best in mine[:PER_SOURCE]:
            n = position[id(best)]
            wanted = {m for m in range(n - AROUND, n + AROUND + 1) if 0 <= m < len(order)}
            if keep and sum(len(order[m].text) for m in keep | wanted) > MAX_CHARS:
                wanted = {n}
            keep |= wanted
        out.append(joined(text, [order[m] for m in sorted(keep)]))
    return out


def joined(text: str, kept: list[Scored]) -> str:
    """The kept units in order; adjacent ones as the text has them, a gap between the others."""
    parts: list[str] = []
    end = 0
    for s in kept:
        piece = text[s.unit.start:s.unit.end].strip()
        if parts and text[end:s.unit.start].strip():
            parts.append(GAP)
        elif parts:
            parts.append("\n" if "\n" in text[end:s.unit.start] else " ")
        parts.append(piece)
        end = s.unit.end
    lead = "… " if kept and text[:kept[0].unit.start].strip() else ""
    tail = " …" if kept and text[kept[-1].unit.end:].strip() else ""
    return f"{lead}{''.join(parts)}{tail}"

"""What of the passages goes into the model's prompt: the units (sentences, lines, rows, messages) that
bear on the question, ranked across all the passages, the best one with its neighbours — not whole chunks.

Prompt evaluation dominates a small model's time on 2 cores (about 70 tokens/s for the 0.5B model), so the
prompt holds at most `MAX_UNITS` units and `BUDGET` characters in all; a passage none of whose units made
the cut is left out of the prompt (and so cannot be cited). The units and their scores are the extractive
answerer's (rag.answer.evidence), so the model reads the units `--llm none` would quote, and a little
around the best one.
"""

from __future__ import annotations

from rag.answer.answertype import expected_type
from rag.answer.evidence import Scored, score_units
from rag.core.types import Hit

MAX_UNITS = 4       # units kept across all passages, best first …
BUDGET = 650        # … up to this many characters in all
AROUND = 1          # the best unit's neighbours kept either side
GAP = " … "


def excerpts(question: str, sources: list[Hit]) -> list[tuple[Hit, str]]:
    """The passages the prompt shows, in retrieval order, each with the text shown: its kept units in the
    passage's order, gaps marked "…". Passages with no kept unit are left out."""
    if not sources:
        return []
    pool = score_units(question, sources, expected_type(question), None, [h.similarity for h in sources])
    if not pool.units:
        return [(sources[0], sources[0].chunk.text.strip()[:BUDGET])]
    by_source: dict[int, list[Scored]] = {}
    for s in pool.units:
        by_source.setdefault(s.source, []).append(s)
    order = {i: sorted(units, key=lambda s: s.unit.start) for i, units in by_source.items()}
    kept: dict[int, set[int]] = {}
    used = 0
    for rank, best in enumerate(pool.units[:MAX_UNITS]):
        mine = order[best.source]
        n = next(m for m, s in enumerate(mine) if s is best)
        wanted = {n} if rank else {m for m in range(n - AROUND, n + AROUND + 1) if 0 <= m < len(mine)}
        wanted -= kept.get(best.source, set())
        size = sum(len(mine[m].text) for m in wanted)
        if rank and used + size > BUDGET:
            continue
        if not rank and size > BUDGET:   # the best unit alone, even when it is long
            wanted = {n}
            size = len(best.text)
        kept.setdefault(best.source, set()).update(wanted)
        used += size
    return [(sources[i], joined(sources[i].chunk.text, [order[i][m] for m in sorted(kept[i])]))
            for i in sorted(kept)]


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

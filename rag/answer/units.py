"""The units an extractive answer quotes, found in a chunk's text: a sentence of prose, one line of a
block of short lines (a receipt, an OCR'd page, an address), a "Key: value" line, a whole database row
("Name: …; Status: …; Assignee: …"), one Slack message, a row of a table that PDF extraction flattened
into one line of numbers. A unit is never cut inside: a "Key: value" line keeps its value, a row keeps all
its columns, a message keeps its attachments. Offsets are exact, into the chunk text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SHORT_LINE = 64          # a block whose lines are all this short is a list of lines, not wrapped prose
MESSAGE_CHARS = 700      # a longer Slack message is quoted line by line
_KEY_VALUE = re.compile(r"[^\W\d_][^:;\n]{0,38}:[ \t]+\S")
_ROW = re.compile(r"[^:;\n]{1,60}: [^;\n]*(?:; [^:;\n]{1,60}: [^;\n]*)+")
_AUTHOR = re.compile(r"(?:\[bot\] )?[^\s:@][^:\n]{0,38}: ")
_HEADING_OR_ITEM = re.compile(r"\s*(?:#{1,6} |[-•*▪◦] |\d+[.)] |> |\|)")
# The end of a sentence: . ! ? (and a closing quote or bracket) then space and a capital, digit or quote;
# not after "et al.", "e.g.", "i.e.", "Fig.", "vs.", an initial ("J.") or inside a number ("0.89").
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]”’]*\s+(?=[A-Z0-9\"'(\[“‘])")
_NO_END = re.compile(r"(?:\bet al|\be\.g|\bi\.e|\bcf|\bFig|\bFigs|\bEq|\bvs|\bNo|\bSec|\bTab|\bapprox|\bresp"
                     r"|\bDr|\bMr|\bMrs|\bMs|\bSt|\bv\d*|\b[A-Z])\.$")
_NUMERIC = re.compile(r"[(\[]?[-+±−]?\d[\d.,]*%?[)\]]?|[±−-]")


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    kind: str   # sentence | line | item | key_value | row | message | table_row | heading


def units(text: str, locator: dict[str, Any] | None = None) -> list[Unit]:
    """The quotable units of `text` in order, whitespace trimmed, none empty."""
    locator = locator or {}
    if "row" in locator or _is_row(text):
        return _trimmed(text, [Unit(0, len(text), "row")])
    if "channel" in locator:
        return _trimmed(text, _messages(text))
    out: list[Unit] = []
    for a, b in _blocks(text):
        out.extend(_block_units(text, a, b))
    return _trimmed(text, out)


def _is_row(text: str) -> bool:
    return "\n" not in text.strip() and bool(_ROW.fullmatch(text.strip()))


def _blocks(text: str) -> list[tuple[int, int]]:
    """Paragraph-like blocks: the text between blank lines."""
    spans, start = [], 0
    for match in re.finditer(r"\n[ \t]*\n", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _lines(text: str, a: int, b: int) -> list[tuple[int, int]]:
    out, pos = [], a
    for line in text[a:b].split("\n"):
        out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return [(c, d) for c, d in out if text[c:d].strip()]


def _block_units(text: str, a: int, b: int) -> list[Unit]:
    lines = _lines(text, a, b)
    if len(lines) == 1:
        if _is_row(text[a:b]):
            return [Unit(a, b, "row")]
        if _KEY_VALUE.match(text[a:b].strip()) and b - a <= 2 * SHORT_LINE:
            return [Unit(a, b, "key_value")]
        if _HEADING_OR_ITEM.match(text[a:b]) and _line_kind(text[a:b]) != "line":
            return [Unit(a, b, _line_kind(text[a:b]))]
        return _prose(text, a, b)
    structured = [_KEY_VALUE.match(text[c:d].strip()) is not None or _HEADING_OR_ITEM.match(text[c:d]) is not None
                  for c, d in lines]
    short = [d - c <= SHORT_LINE for c, d in lines]
    alone = [keyed or (is_short and (all(short) or _run(short, i) >= 3))
             for i, (keyed, is_short) in enumerate(zip(structured, short, strict=True))]
    out: list[Unit] = []
    prose: list[tuple[int, int]] = []
    for (c, d), keyed, single in zip(lines, structured, alone, strict=True):
        if out and not keyed and _goes_on(text, out[-1], c, d):
            out[-1] = Unit(out[-1].start, d, out[-1].kind)   # a wrapped list item or OCR'd sentence goes on
        elif single:
            out.extend(_prose(text, prose[0][0], prose[-1][1]) if prose else [])
            prose = []
            out.append(Unit(c, d, _line_kind(text[c:d])))
        else:
            prose.append((c, d))
    out.extend(_prose(text, prose[0][0], prose[-1][1]) if prose else [])
    return out


def _run(short: list[bool], i: int) -> int:
    """The length of the run of short lines that line `i` is in (0 when it is not short)."""
    if not short[i]:
        return 0
    lo, hi = i, i
    while lo > 0 and short[lo - 1]:
        lo -= 1
    while hi + 1 < len(short) and short[hi + 1]:
        hi += 1
    return hi - lo + 1


def _goes_on(text: str, last: Unit, c: int, d: int) -> bool:
    """Whether the line text[c:d] continues the unit before it: a list item that did not end, or a line
    that did not end followed by one that starts in lower case ("… on all types" / "of file format.")."""
    if re.search(r"[.!?:;]$", text[last.start:last.end]):
        return False
    ends_in_word = re.search(r"[^\W\d_][,-]?$", text[last.start:last.end]) is not None
    return last.kind == "item" or (last.kind == "line" and ends_in_word and text[c:c + 1].islower()
                                   and d - last.start <= 3 * SHORT_LINE)


def _line_kind(line: str) -> str:
    if line.lstrip().startswith("#"):
        return "heading"
    if re.match(r"\s*(?:[-•*▪◦] |\d+[.)] )", line):
        return "item"
    return "key_value" if _KEY_VALUE.match(line.strip()) else "line"


def _prose(text: str, a: int, b: int) -> list[Unit]:
    """Sentences of a prose block; a sentence that is mostly numbers (a flattened table) is split into
    rows: a label, then its run of numbers."""
    out: list[Unit] = []
    start = a
    for match in _SENTENCE_END.finditer(text, a, b):
        if _NO_END.search(text[max(a, match.start() - 8): match.start()]):
            continue
        out.append(Unit(start, match.start(), "sentence"))
        start = match.end()
    out.append(Unit(start, b, "sentence"))
    rows: list[Unit] = []
    for unit in out:
        rows.extend(_table_rows(text, unit) if _tabular(text[unit.start:unit.end]) else [unit])
    return rows


def _tabular(sentence: str) -> bool:
    tokens = sentence.split()
    numeric = sum(1 for t in tokens if _NUMERIC.fullmatch(t))
    return numeric >= 6 and numeric * 10 >= len(tokens) * 4


def _table_rows(text: str, unit: Unit) -> list[Unit]:
    """A flattened table split at its line breaks and before each label that follows a run of two or more
    numbers: "… 76.9 SciBERT (2019) 79.7 80.7 …" -> "…76.9", "SciBERT (2019) 79.7 80.7 …"."""
    out: list[Unit] = []
    start, run = unit.start, 0
    for match in re.finditer(r"\S+|\n", text[unit.start:unit.end]):
        at = unit.start + match.start()
        if match.group() == "\n":
            out.append(Unit(start, at, "table_row"))
            start, run = at + 1, 0
            continue
        numeric = _NUMERIC.fullmatch(match.group()) is not None
        if not numeric and run >= 2 and at > start:
            out.append(Unit(start, at, "table_row"))
            start = at
        run = run + 1 if numeric else 0
    out.append(Unit(start, unit.end, "table_row"))
    return [u for u in out if text[u.start:u.end].strip()]


def _messages(text: str) -> list[Unit]:
    """One unit per Slack message: a line "Author: text" and the lines under it that start no message
    (attachments, link previews, code). A very long message is quoted line by line."""
    out: list[Unit] = []
    current: tuple[int, int] | None = None
    for c, d in _lines(text, 0, len(text)):
        if current is None or _AUTHOR.match(text[c:d]):
            if current:
                out.append(Unit(current[0], current[1], "message"))
            current = (c, d)
        else:
            current = (current[0], d)
    if current:
        out.append(Unit(current[0], current[1], "message"))
    split: list[Unit] = []
    for unit in out:
        if unit.end - unit.start <= MESSAGE_CHARS:
            split.append(unit)
        else:
            split.extend(Unit(c, d, "line") for c, d in _lines(text, unit.start, unit.end))
    return split


def _trimmed(text: str, found: list[Unit]) -> list[Unit]:
    out: list[Unit] = []
    for unit in found:
        a, b = unit.start, unit.end
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append(Unit(a, b, unit.kind))
    return out

"""Speaker turns: "Name: text" lines (optionally after a [hh:mm:ss] stamp) parsed into Utterances, and timed
speech grouped into passages of about 30-60 s. Shared by the .txt transcript loader (text.py), the subtitle
loaders (transcript.py) and speech to text (audio.py).

Consecutive utterances are grouped into Sections of about 30-60 s (a new Section at a long pause, or at a
change of speaker once the Section holds 15 s), with the locator {"start": s, "end": e} plus "speaker"
when one speaker says all of it; each speaker's words keep their name in the text ("Ana Lima: …").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rag.core.types import Section

TARGET_S, MAX_S, MIN_S, PAUSE_S = 30.0, 60.0, 15.0, 3.0
TARGET_CHARS, MIN_CHARS = 800, 200  # untimed "Name: text" turns: roughly 30-60 s of speech
MAX_UTTERANCES = 100

_SPEAKER = re.compile(r"^(?:-|>>)?\s*([^\W\d_][\w'’.-]*(?: [\w'’.-]+){0,3}):\s+(\S.*)$")
_NOT_SPEAKERS = frozenset(
    "note notes nb ps p.s. tip warning important caution date time subject re fwd to from cc bcc agenda "
    "attendees present absent summary decision decisions action actions todo update status location title "
    "author source question answer example see also q a".split()
)


@dataclass(frozen=True)
class Utterance:
    """Words said in one stretch; times in seconds, None where the transcript has none."""

    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None


def speaker_prefix(line: str) -> tuple[str, str] | None:
    """("Ana Lima", "text") for a line "Ana Lima: text"; None for prose such as "Note: …"."""
    match = _SPEAKER.match(line.strip())
    if not match:
        return None
    name, text = match.group(1), match.group(2)
    words = name.split()
    if name.lower() in _NOT_SPEAKERS or len(name) > 40 or "://" in line[: len(name) + 4]:
        return None
    if not all(w[0].isupper() or w[0].isdigit() for w in words):
        return None
    return name, text


# --- "Name: text" transcripts (plain text) ----------------------------------------------------------

_STAMP = re.compile(r"^\s*(?:[\[(]((?:\d{1,2}:)?\d{1,2}:\d{2})(?:[.,]\d+)?[\])]|((?:\d{1,2}:)?\d{1,2}:\d{2}))\s+")


def _stamped_turn(line: str) -> tuple[float | None, str, tuple[str, str] | None]:
    """(seconds of a leading [hh:mm:ss] / (mm:ss) stamp or None, the rest, its "Name: text" or None)."""
    match = _STAMP.match(line)
    if not match:
        return None, line, speaker_prefix(line)
    clock = [int(x) for x in (match.group(1) or match.group(2)).split(":")]
    rest = line[match.end() :]
    return float(sum(v * 60**i for i, v in enumerate(reversed(clock)))), rest, speaker_prefix(rest)


def parse_turns(text: str) -> tuple[str, list[Utterance]] | None:
    """(text before the first turn, the turns) when most lines are "Name: text"; None otherwise.

    A transcript needs at least 3 such lines making up 60% of the non-empty lines, spoken by at most
    12 people who each speak twice on average (a glossary "Apple: a fruit" has a name per line).
    Lines without a name continue the turn above; a turn ends where the next one starts.
    """
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    parsed = [_stamped_turn(line) for line in lines]
    names = [turn[0] for _, _, turn in parsed if turn]
    distinct = len(set(names))
    if len(names) < 3 or len(names) < 0.6 * len(lines) or distinct > min(12, max(2, len(names) // 2)):
        return None
    preamble: list[str] = []
    turns: list[list[Any]] = []  # [seconds, speaker, text]
    for line, (seconds, rest, turn) in zip(lines, parsed, strict=True):
        if turn:
            start = seconds if seconds is not None or not turns else turns[-1][0]
            turns.append([start, turn[0], turn[1]])
        elif turns:
            turns[-1][2] += " " + rest
        else:
            preamble.append(line)
    ends = [t[0] for t in turns[1:]] + [None]
    return "\n".join(preamble), [Utterance(t[2], t[0], end, t[1]) for t, end in zip(turns, ends, strict=True)]


# --- grouping ------------------------------------------------------------------------------------


def _starts_new(group: list[Utterance], nxt: Utterance) -> bool:
    """Whether `nxt` opens a new Section after `group`."""
    if len(group) >= MAX_UTTERANCES:  # cues with equal or bogus times must not make one giant passage
        return True
    first, last = group[0], group[-1]
    changes_speaker = nxt.speaker != last.speaker
    if first.start is None or nxt.start is None:
        chars = sum(len(u.text) for u in group)
        return chars >= TARGET_CHARS or (changes_speaker and chars >= MIN_CHARS)
    last_end = max(u.end if u.end is not None else u.start or 0.0 for u in group)
    span = last_end - first.start
    next_end = nxt.end if nxt.end is not None else nxt.start
    if next_end - first.start > MAX_S or span >= TARGET_S:
        return True
    return span >= MIN_S and (changes_speaker or nxt.start - last_end >= PAUSE_S)


def _section(group: list[Utterance]) -> Section:
    lines: list[str] = []
    speaker: str | None = None
    for utterance in group:
        if utterance.speaker and (utterance.speaker != speaker or not lines):
            lines.append(f"{utterance.speaker}: {utterance.text}")
        elif lines:
            lines[-1] += " " + utterance.text
        else:
            lines.append(utterance.text)
        speaker = utterance.speaker or speaker
    locator: dict[str, Any] = {}
    if group[0].start is not None:
        locator["start"] = round(group[0].start, 2)
        ends = [u.end for u in group if u.end is not None]
        if ends:
            locator["end"] = round(max(ends), 2)
    speakers = {u.speaker for u in group}
    if len(speakers) == 1 and speaker:
        locator["speaker"] = speaker
    return Section("\n".join(lines), locator)


def group_utterances(utterances: Iterable[Utterance]) -> list[Section]:
    """Consecutive utterances as Sections of about 30-60 s (or 200-800 characters when untimed)."""
    sections: list[Section] = []
    group: list[Utterance] = []
    for utterance in utterances:
        if group and _starts_new(group, utterance):
            sections.append(_section(group))
            group = []
        group.append(utterance)
    if group:
        sections.append(_section(group))
    return sections


# --- VTT and SRT ---------------------------------------------------------------------------------

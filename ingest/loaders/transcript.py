"""Timed transcripts: WebVTT (.vtt) and SubRip (.srt) subtitles, "Name: text" chat transcripts, and the
grouping of timed speech into passages (audio.py groups whisper's segments with it too).

A cue gives one Utterance per speaker: the speaker comes from a VTT voice tag (`<v Ana Lima>`) or a
"Name: text" prefix; other tags (`<i>`, `<c.x>`, `{\\an8}`) are dropped. Consecutive utterances are
grouped into Sections of about 30-60 s (a new Section at a long pause, or at a change of speaker once
the Section holds 15 s), with the locator {"start": s, "end": e} plus "speaker" when one speaker says
all of it; each speaker's words keep their name in the text ("Ana Lima: …"). A malformed file keeps
its valid cues and lists what it skipped in meta["warnings"]; a file with no valid cue is an error.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.loaders.text import read_text
from ingest.registry import LoaderSpec
from rag.errors import LoaderError
from rag.types import Document, Section

TARGET_S, MAX_S, MIN_S, PAUSE_S = 30.0, 60.0, 15.0, 3.0
TARGET_CHARS, MIN_CHARS = 800, 200  # untimed "Name: text" turns: roughly 30-60 s of speech
MAX_UTTERANCES = 100

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^{_TIME}\s*-->\s*{_TIME}(?:\s.*)?$")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]*)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_SPEAKER = re.compile(r"^(?:-|>>)?\s*([^\W\d_][\w'’.-]*(?: [\w'’.-]+){0,3}):\s+(\S.*)$")
_NOT_SPEAKERS = frozenset(
    "note notes nb ps p.s. tip warning important caution date time subject re fwd to from cc bcc agenda "
    "attendees present absent summary decision decisions action actions todo update status location title "
    "author source question answer example see also q a".split()
)
_IGNORED_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION")
_DIALOGUE = re.compile(r"^(?:-|>>)\s*")  # "- " or ">> " opens a line said by someone else


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


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float | None:
    """Seconds of a cue time, or None when minutes or seconds are out of range."""
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        return None
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + float(f"0.{fraction or 0}")


def _timing(line: str) -> tuple[float, float] | None:
    match = _TIMING.match(line.strip())
    if not match:
        return None
    start, end = _seconds(*match.groups()[:4]), _seconds(*match.groups()[4:])
    if start is None or end is None or end < start:
        return None
    return start, end


def _cue_utterances(payload: list[str], start: float, end: float) -> list[Utterance]:
    """A cue's text lines as utterances, one per voice tag, "Name:" prefix or "- " dialogue line."""
    parts: list[tuple[str | None, str]] = []
    for line in payload:
        pieces = _VOICE.split(line)  # [text, voice, text, voice, text, ...]
        voices: list[str | None] = [None, *pieces[1::2]]
        for voice, piece in zip(voices, pieces[::2], strict=True):
            speaker = voice.strip() or None if voice else None
            text = " ".join(html.unescape(_TAG.sub("", piece)).split())
            prefixed = None if speaker else speaker_prefix(text)
            if prefixed:
                speaker, text = prefixed
            text = _DIALOGUE.sub("", text)
            if not text:
                continue
            if speaker or line.startswith(("-", ">>")) or not parts:
                parts.append((speaker, text))
            else:
                parts[-1] = (parts[-1][0], f"{parts[-1][1]} {text}")
    return [Utterance(text, start, end, speaker) for speaker, text in parts]


def _preview(line: str) -> str:
    return repr(line if len(line) <= 40 else line[:37] + "...")


class _CueReader:
    """Reads a VTT or SRT text line by line, keeping valid cues and noting what it skips."""

    def __init__(self) -> None:
        self.utterances: list[Utterance] = []
        self.warnings: list[str] = []
        self.cue: tuple[float, float] | None = None
        self.payload: list[str] = []
        self.loose: list[tuple[int, str]] = []  # lines outside a cue: a header, a NOTE, a cue id, garbage
        self.skipping = False  # inside a cue whose timing line was bad

    def line(self, number: int, line: str) -> None:
        if "-->" in line:
            self._end_cue()
            if len(self.loose) > 1:  # the line before a timing line is the cue's id
                self._warn_loose()
            timing = _timing(line)
            if timing is None:
                self.warnings.append(f"line {number}: bad cue timing {_preview(line)} — cue skipped")
            self.cue, self.skipping, self.loose = timing, timing is None, []
        elif not line:
            self._end_cue()
            if len(self.loose) > 1 or (self.loose and not self.loose[0][1].isdigit()):
                self._warn_loose()
            self.skipping, self.loose = False, []
        elif self.cue is not None:
            self.payload.append(line)
        elif not self.skipping:
            self.loose.append((number, line))

    def _end_cue(self) -> None:
        if self.cue is not None:
            self.utterances.extend(_cue_utterances(self.payload, *self.cue))
        self.cue, self.payload = None, []

    def _warn_loose(self) -> None:
        number, first = self.loose[0]
        if not first.startswith(_IGNORED_BLOCKS):
            self.warnings.append(f"line {number}: {_preview(first)} is not part of a cue — skipped")


def parse_cues(text: str) -> tuple[list[Utterance], list[str], str]:
    """(utterances, warnings, title from a "WEBVTT - Title" header) of a VTT or SRT text."""
    lines = text.split("\n")
    title = lines[0].strip()[6:].strip(" -\t") if lines[0].strip().startswith("WEBVTT") else ""
    reader = _CueReader()
    for number, line in enumerate(lines + [""], 1):
        reader.line(number, line.strip())
    utterances = sorted(reader.utterances, key=lambda u: u.start or 0.0)
    return _merge_repeats(utterances), reader.warnings, title


def _merge_repeats(utterances: list[Utterance]) -> list[Utterance]:
    """Rolling captions repeat a line in the next cue: keep it once, to the later end."""
    merged: list[Utterance] = []
    for u in utterances:
        prev = merged[-1] if merged else None
        if prev and (prev.text, prev.speaker) == (u.text, u.speaker) and (u.start or 0) <= (prev.end or 0) + 0.5:
            merged[-1] = Utterance(prev.text, prev.start, max(prev.end or 0, u.end or 0), prev.speaker)
        else:
            merged.append(u)
    return merged


def load_cues(path: Path, source: str, doc_id: str) -> Document:
    """A .vtt or .srt file as Sections of about 30-60 s with start, end and speaker."""
    text, encoding = read_text(path, source)
    utterances, warnings, title = parse_cues(text)
    if not utterances:
        raise LoaderError(
            f"{source}: no cue with a valid timing line (hh:mm:ss.mmm --> hh:mm:ss.mmm) and text — "
            "check that the file is a WebVTT or SubRip subtitle file"
        )
    kind = "vtt" if path.suffix.lower() == ".vtt" else "srt"
    speakers = sorted({u.speaker for u in utterances if u.speaker})
    return Document(
        doc_id=doc_id,
        source=source,
        kind=kind,
        title=title or path.stem,
        sections=tuple(group_utterances(utterances)),
        meta={
            "encoding": encoding,
            "duration": round(max(u.end or 0.0 for u in utterances), 2),
            "cues": len(utterances),
            "speakers": speakers,
            "warnings": warnings,
        },
    )


LOADERS: dict[str, LoaderSpec] = {
    ".vtt": LoaderSpec("vtt", "vtt", load_cues),
    ".srt": LoaderSpec("srt", "srt", load_cues),
}

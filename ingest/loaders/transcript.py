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
from pathlib import Path

from ingest.loaders.decode import read_text
from ingest.loaders.spec import LoaderSpec
from ingest.loaders.turns import Utterance, group_utterances, speaker_prefix
from rag.core.errors import LoaderError
from rag.core.types import Document

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^{_TIME}\s*-->\s*{_TIME}(?:\s.*)?$")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]*)>")
_TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_IGNORED_BLOCKS = ("WEBVTT", "NOTE", "STYLE", "REGION")
_DIALOGUE = re.compile(r"^(?:-|>>)\s*")  # "- " or ">> " opens a line said by someone else


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

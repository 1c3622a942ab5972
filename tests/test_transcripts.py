"""Timed transcripts: .vtt and .srt cues, "Name: text" .txt transcripts, grouping into passages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SAMPLES

from ingest.loaders.text import load_txt
from ingest.loaders.transcript import load_cues
from ingest.loaders.turns import MAX_S, parse_turns
from rag.core.errors import LoaderError
from rag.core.types import Document, render_locator


def _cues(tmp_path: Path, name: str, text: str) -> Document:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return load_cues(tmp_path / name, name, "doc-1")


def test_talk_vtt_has_voices_and_times() -> None:
    doc = load_cues(SAMPLES / "talk.vtt", "talk.vtt", "doc-1")
    assert (doc.kind, doc.title) == ("vtt", "Sound archive briefing")
    assert doc.meta["speakers"] == ["Daniel Reyes", "Oskar Hale"] and doc.meta["cues"] == 4
    assert doc.meta["warnings"] == [] and doc.meta["duration"] == pytest.approx(16.22, abs=0.01)
    [section] = doc.sections  # 16 s of speech: one passage, two speakers
    assert section.locator == {"start": 0.02, "end": 16.22}
    assert render_locator(section.locator) == "00:00:00–00:00:16"
    assert section.text.split("\n") == [
        "Oskar Hale: Good morning, and welcome to the sound archive briefing. "
        "Please send your field notes to the archive by Friday.",
        "Daniel Reyes: The archive now holds twelve hundred tapes. Questions go to the front desk in room nine.",
    ]


def test_standup_srt_groups_cues_by_speaker() -> None:
    doc = load_cues(SAMPLES / "standup.srt", "standup.srt", "doc-1")
    assert (doc.kind, doc.title, doc.meta["cues"], doc.meta["warnings"]) == ("srt", "standup", 9, [])
    assert [s.locator for s in doc.sections] == [
        {"start": 1.0, "end": 19.0, "speaker": "Ruth Adeyemi"},
        {"start": 20.0, "end": 38.0, "speaker": "Pavel Novak"},
        {"start": 39.0, "end": 57.0},  # Ida Sorensen, then Ruth Adeyemi closes the meeting
    ]
    pavel = doc.sections[1]
    assert "The repair shop needs until the 28th of April to replace the pinch roller." in pavel.text
    assert pavel.text.startswith("Pavel Novak: The second tape deck is broken again.")
    assert render_locator(pavel.locator) == "00:00:20–00:00:38, Pavel Novak"
    assert doc.sections[2].text.split("\n")[1] == "Ruth Adeyemi: Thanks, everyone. See you tomorrow."


def test_name_colon_text_transcript_in_a_txt_file() -> None:
    doc = load_txt(SAMPLES / "standup_transcript.txt", "standup_transcript.txt", "doc-1")
    assert doc.kind == "text" and doc.meta["transcript"] is True
    assert doc.meta["speakers"] == ["Elif Demir", "Jun Takeda", "Marta Quinn"]
    assert doc.sections[0].text == "Archive volunteers call, 22 April 2025" and doc.sections[0].locator == {}
    assert doc.sections[1].locator == {"start": 5.0, "end": 31.0, "speaker": "Marta Quinn"}
    boxes = next(s for s in doc.sections if "260 boxes" in s.text)
    assert boxes.locator == {"start": 31.0, "end": 62.0}
    assert "Marta Quinn: About 260 boxes. The blank labels are in the blue cabinet in room 4." in boxes.text
    gloves = next(s for s in doc.sections if "shed oxide" in s.text)
    assert "shed oxide when they are handled" in gloves.text  # a wrapped line continues its turn
    assert render_locator(doc.sections[-1].locator) == "00:01:31, Marta Quinn"


def test_untimed_turns_group_into_speaker_sections(tmp_path: Path) -> None:
    lines = [f"Ana Lima: point {i} of my report, which runs to a good length so that it counts." for i in range(4)]
    lines += ["Ben: Thanks Ana.", "Ben: One question.", "(00:12) Ana Lima: Sure."]
    (tmp_path / "call.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = load_txt(tmp_path / "call.txt", "call.txt", "doc-1")
    assert doc.sections[0].locator == {"speaker": "Ana Lima"} and doc.sections[0].text.count("Ana Lima:") == 1
    assert [s.locator.get("speaker") for s in doc.sections] == ["Ana Lima", None]
    assert doc.sections[1].text == "Ben: Thanks Ana. One question.\nAna Lima: Sure."


@pytest.mark.parametrize(
    "text",
    [
        "Note: the boat is in dock.\nTip: bring gloves.\nWarning: the stairs are wet.\nSummary: all fine.\n",
        "Apple: a fruit\nBanana: a yellow fruit\nCherry: a red fruit\nDamson: a plum\n",  # a glossary
        "Ana: hello\nthis is a long letter\nwith many lines\nof prose\nand only\nBen: two names\n",
        "See https://example.org: it has the details.\nTime: 10:00\nDate: Monday\n",
    ],
)
def test_prose_with_colons_is_not_a_transcript(tmp_path: Path, text: str) -> None:
    assert parse_turns(text) is None
    (tmp_path / "prose.txt").write_text(text, encoding="utf-8")
    doc = load_txt(tmp_path / "prose.txt", "prose.txt", "doc-1")
    assert len(doc.sections) == 1 and doc.sections[0].locator == {} and "transcript" not in doc.meta


def test_vtt_details(tmp_path: Path) -> None:
    doc = _cues(tmp_path, "details.vtt", (
        "\ufeffWEBVTT\n\nNOTE a comment\nover two lines\n\nSTYLE\n::cue { color: yellow }\n\n"
        "intro\n00:01.000 --> 00:04.500 align:start position:10%\n"
        "<v.loud Ana Lima>Hello <c.blue>everyone</c> &amp; <i>welcome</i>.</v>\n\n"
        "00:04.500 --> 00:06.000\n<v Ana Lima>Hello everyone &amp; welcome.\n\n"  # a rolling repeat
        "00:00:06.000 --> 00:00:09.000\n<v Ben>Thanks.</v> <v Ana Lima>Let's start.</v>\n\n"
        "00:00:09.000 --> 00:00:10.000\n- Who takes notes?\n- I do.\n"
    ))
    assert doc.title == "details" and doc.meta["warnings"] == [] and doc.meta["speakers"] == ["Ana Lima", "Ben"]
    [section] = doc.sections
    assert section.locator == {"start": 1.0, "end": 10.0}
    assert section.text.split("\n") == [
        "Ana Lima: Hello everyone & welcome.",
        "Ben: Thanks.",
        "Ana Lima: Let's start. Who takes notes? I do.",
    ]


def _clock(seconds: float) -> str:
    return f"00:{int(seconds) // 60:02d}:{int(seconds) % 60:02d},{round(seconds % 1 * 1000):03d}"


def test_long_transcripts_become_passages_of_30_to_60_seconds(tmp_path: Path) -> None:
    starts = [i * 5.0 + (20 if i >= 32 else 0) for i in range(60)]  # a cue every 5 s, 20 s of silence after 31
    srt = "\n".join(f"{i + 1}\n{_clock(t)} --> {_clock(t + 4.5)}\nSentence number {i}.\n" for i, t in enumerate(starts))
    doc = _cues(tmp_path, "long.srt", srt)
    spans = [(s.locator["start"], s.locator["end"]) for s in doc.sections]
    assert all(end - start <= MAX_S for start, end in spans)
    assert [(start, end) for start, end in spans if end - start < 30] == [(140.0, 159.5)]  # cut at the pause
    assert (180.0, 214.5) in spans
    assert " ".join(s.text for s in doc.sections) == " ".join(f"Sentence number {i}." for i in range(60))


def test_malformed_srt_keeps_valid_cues_and_warns(tmp_path: Path) -> None:
    doc = _cues(tmp_path, "bad.srt", (
        "1\n00:00:01,000 --> 00:00:03,000\nFirst good cue.\n\n"
        "2\n00:00:03,500 -> 00:00:05,000\nArrow too short.\n\n"  # no "-->": not a timing line
        "00:00:05,000 --> 00:00:06,000\nCue without a number.\n\n"
        "4\n00:00:07,000 --> 00:00:99,000\nSeconds out of range.\n\n"
        "5\n00:00:10,000 --> 00:00:09,000\nEnds before it starts.\n\n"
        "random garbage line\n\n"
        "7\n00:00:12,000 --> 00:00:13,500\nLast good cue.\n"
    ))
    assert doc.sections[0].text == "First good cue. Cue without a number. Last good cue."
    assert doc.meta["cues"] == 3
    assert doc.meta["warnings"] == [
        "line 5: '2' is not part of a cue — skipped",
        "line 13: bad cue timing '00:00:07,000 --> 00:00:99,000' — cue skipped",
        "line 17: bad cue timing '00:00:10,000 --> 00:00:09,000' — cue skipped",
        "line 20: 'random garbage line' is not part of a cue — skipped",
    ]


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("empty.vtt", b"", "the file is empty"),
        ("header_only.vtt", b"WEBVTT\n\n", "no cue with a valid timing line"),
        ("garbage.srt", b"this is not\na subtitle file\n\nat all\n", "no cue with a valid timing line"),
        ("binary.srt", bytes(range(1, 256)) * 4, "this looks like a binary file"),
        ("only_bad.srt", b"1\n00:00:01,000 --> 00:61:00,000\ntext\n", "no cue with a valid timing line"),
    ],
)
def test_unusable_subtitle_files_are_errors(tmp_path: Path, name: str, data: bytes, problem: str) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(LoaderError, match=rf"^subs/{re.escape(name)}: {problem}.* — "):
        load_cues(tmp_path / name, f"subs/{name}", "doc-1")

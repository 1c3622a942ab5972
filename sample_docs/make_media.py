"""Regenerate the media, transcript, office and email samples (needs espeak-ng, PyAV, python-docx, python-pptx).

    python sample_docs/make_media.py            # writes into sample_docs/

Writes talk.wav (two espeak-ng voices, 16 kHz mono) with its transcript talk.vtt (cue times measured
from the generated speech), standup.srt, standup_transcript.txt, budget.docx, roadmap.pptx and
invoice_email.eml. The output is deterministic: the speech is synthesised by espeak-ng (the same on
the same espeak-ng version), and the docx/pptx files get fixed core-property dates and fixed zip entry
times, so a rerun changes no byte. sample_docs/README.md lists the facts the tests assert.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import tempfile
import wave
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RATE = 16000
GAP_S = 0.6  # silence between two sentences of the talk
FIXED_TIME = dt.datetime(2025, 1, 6, 9, 0, 0)

# (speaker, espeak-ng voice, sentence)
TALK = [
    ("Oskar Hale", "en-gb", "Good morning, and welcome to the sound archive briefing."),
    ("Oskar Hale", "en-gb", "Please send your field notes to the archive by Friday."),
    ("Daniel Reyes", "en-us", "The archive now holds twelve hundred tapes."),
    ("Daniel Reyes", "en-us", "Questions go to the front desk in room nine."),
]

STANDUP_SRT = """\
1
00:00:01,000 --> 00:00:06,000
Ruth Adeyemi: Good morning. Quick round, please, we have the review at ten.

2
00:00:06,500 --> 00:00:13,000
Ruth Adeyemi: I finished cataloguing the Orrin cassettes yesterday.

3
00:00:13,500 --> 00:00:19,000
Ruth Adeyemi: All 120 of them are in the catalogue now.

4
00:00:20,000 --> 00:00:26,000
Pavel Novak: The second tape deck is broken again.

5
00:00:26,500 --> 00:00:33,000
Pavel Novak: The repair shop needs until the 28th of April
to replace the pinch roller.

6
00:00:33,500 --> 00:00:38,000
Pavel Novak: Until then we digitise on the old deck only.

7
00:00:39,000 --> 00:00:45,000
Ida Sorensen: I moved the nightly backup to 02:00 instead of 23:00.

8
00:00:45,500 --> 00:00:52,000
Ida Sorensen: It no longer collides with the index rebuild.

9
00:00:53,000 --> 00:00:57,000
Ruth Adeyemi: Thanks, everyone. See you tomorrow.
"""

STANDUP_TXT = """\
Archive volunteers call, 22 April 2025

[00:00:05] Marta Quinn: Hi all, thanks for joining the volunteer call.
[00:00:12] Marta Quinn: This month we need help with labelling the reel boxes in the basement store.
[00:00:31] Jun Takeda: I can come in on Saturdays. How many boxes are left?
[00:00:38] Marta Quinn: About 260 boxes. The blank labels are in the blue cabinet in room 4.
[00:01:02] Jun Takeda: Great. Should we wear gloves for the older reels?
[00:01:09] Elif Demir: Yes, cotton gloves, always. The older reels shed oxide
when they are handled, so keep them flat on the table.
[00:01:31] Marta Quinn: Our next call is on 20 May.
"""

INVOICE_CSV = b"item,quantity,unit price,amount\ncassette digitisation,120,24.50,2940.00\n"

INVOICE_EML = """\
From: Kestrel Media Lab <billing@kestrel-media.example>
To: Brackwater Sound Archive <archive@brackwater.example>
Date: Tue, 15 Apr 2025 09:12:00 +0200
Subject: =?utf-8?q?Invoice_KML-0417_=E2=80=93_cassette_digitisation?=
Message-ID: <kml-0417@kestrel-media.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alternative"

--alternative
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

Hello,

please find attached invoice KML-0417 for digitising 120 cassettes of the Orrin collection.
The amount due is 2,940 euros, payable by 14 May 2025.

Kind regards,
Sigrid Falk
Kestrel Media Lab

--alternative
Content-Type: text/html; charset="utf-8"

<html><body><p>Hello,</p><p>please find attached invoice KML-0417 for digitising 120 cassettes of the
Orrin collection. The amount due is <b>2,940 euros</b>, payable by 14 May 2025.</p>
<p>Kind regards,<br>Sigrid Falk<br>Kestrel Media Lab</p></body></html>

--alternative--

--outer
Content-Type: text/csv; name="KML-0417.csv"
Content-Disposition: attachment; filename="KML-0417.csv"
Content-Transfer-Encoding: base64

{attachment}
--outer--
"""


# --- speech --------------------------------------------------------------------------------------


def speak(text: str, voice: str) -> list[int]:
    """16 kHz mono 16-bit samples of `text` spoken by espeak-ng (resampled from its 22.05 kHz)."""
    import av

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(wav), text], check=True)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        data = bytearray()
        with av.open(str(wav)) as container:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    data += bytes(out.planes[0])[: out.samples * 2]
        for out in resampler.resample(None):
            data += bytes(out.planes[0])[: out.samples * 2]
    return list(memoryview(bytes(data)).cast("h"))


def _voiced(samples: list[int]) -> tuple[int, int]:
    """First and last sample index louder than 2% of full scale."""
    loud = [i for i, s in enumerate(samples) if abs(s) > 655]
    return (loud[0], loud[-1]) if loud else (0, len(samples))


def _clock(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def write_talk(wav_path: Path, vtt_path: Path) -> None:
    """talk.wav and talk.vtt: each cue spans the voiced part of its sentence."""
    samples: list[int] = []
    cues: list[str] = []
    for speaker, voice, text in TALK:
        clip = speak(text, voice)
        first, last = _voiced(clip)
        offset = len(samples)
        cues.append(f"{_clock((offset + first) / RATE)} --> {_clock((offset + last) / RATE)}\n<v {speaker}>{text}")
        samples += clip + [0] * int(GAP_S * RATE)
    with wave.open(str(wav_path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(_pcm(samples))
    vtt_path.write_text("WEBVTT - Sound archive briefing\n\n" + "\n\n".join(cues) + "\n", encoding="utf-8")


def _pcm(samples: list[int]) -> bytes:
    import array

    data = array.array("h", samples)
    if sys.byteorder == "big":
        data.byteswap()
    return data.tobytes()


# --- office files --------------------------------------------------------------------------------


def _fix_zip(path: Path) -> None:
    """Rewrite a zip (docx, pptx) with a fixed time on every entry, so the bytes do not depend on when."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            target.writestr(zipfile.ZipInfo(name, date_time=(2025, 1, 6, 9, 0, 0)), data, zipfile.ZIP_DEFLATED)
    path.write_bytes(buffer.getvalue())


def _fix_core(core: object, title: str) -> None:
    for name, value in (("title", title), ("author", "Brackwater Sound Archive"), ("created", FIXED_TIME),
                        ("modified", FIXED_TIME), ("last_modified_by", "make_media.py"), ("revision", 1)):
        setattr(core, name, value)


def write_docx(path: Path) -> None:
    """budget.docx: a title, headings, paragraphs and a table of equipment costs."""
    import docx

    document = docx.Document()
    _fix_core(document.core_properties, "Brackwater Sound Archive Budget 2025")
    document.add_heading("Brackwater Sound Archive Budget 2025", 0)
    document.add_paragraph("This budget covers the running costs of the sound archive for 2025. "
                           "The archive committee approved it on 3 February 2025.")
    document.add_heading("Staff", 1)
    document.add_paragraph("One archivist and two part-time students digitise the tapes. "
                           "Staff costs are 61,500 euros.")
    document.add_heading("Equipment", 1)
    document.add_paragraph("The table lists the equipment bought this year.")
    rows = [("Item", "Supplier", "Cost (euros)"), ("Reel-to-reel tape deck", "Harwell Audio", "2,350"),
            ("Archival hard drives (4 x 8 TB)", "Nordlys Data", "1,180"),
            ("Dehumidifier for the tape store", "Klimaform", "790")]
    table = document.add_table(rows=len(rows), cols=3)
    table.style = "Table Grid"
    for cells, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(cells.cells, values, strict=True):
            cell.text = value
    document.add_heading("Maintenance", 2)
    document.add_paragraph("The tape deck is serviced after every 500 hours of playback.")
    document.add_heading("Total", 1)
    document.add_paragraph("The total budget for 2025 is 65,820 euros.")
    document.save(str(path))
    _fix_zip(path)


def write_pptx(path: Path) -> None:
    """roadmap.pptx: 3 slides; slide 2 holds the portal date, a table and speaker notes; slide 3 a group."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    _fix_core(deck.core_properties, "")
    first = deck.slides.add_slide(deck.slide_layouts[0])
    first.shapes.title.text = "Archive Roadmap 2025"
    first.placeholders[1].text = "Brackwater Sound Archive, planning meeting"
    first.notes_slide.notes_text_frame.text = "Welcome everyone and introduce the two phases."

    second = deck.slides.add_slide(deck.slide_layouts[1])
    second.shapes.title.text = "Digitisation milestones"
    body = second.placeholders[1].text_frame
    body.text = "Phase 1: the reel-to-reel tapes"
    for line in ("The public listening portal opens on 15 September 2025", "Phase 2: the cassette collection"):
        body.add_paragraph().text = line
    table = second.shapes.add_table(3, 2, Inches(1), Inches(5), Inches(8), Inches(1.2)).table
    for r, (quarter, goal) in enumerate([("Quarter", "Goal"), ("Q2", "900 tapes digitised"),
                                         ("Q3", "portal launch")]):
        table.cell(r, 0).text, table.cell(r, 1).text = quarter, goal
    second.notes_slide.notes_text_frame.text = (
        "Stress that the portal launch depends on the copyright review led by Lena Okoye.")

    third = deck.slides.add_slide(deck.slide_layouts[5])
    third.shapes.title.text = "Risks"
    group = third.shapes.add_group_shape()
    for top, text in ((2, "Risk: tape binder breaks down (sticky-shed syndrome)"),
                      (3, "Mitigation: bake affected tapes at 54 degrees before playback")):
        group.shapes.add_textbox(Inches(1), Inches(top), Inches(8), Inches(1)).text_frame.text = text
    deck.save(str(path))
    _fix_zip(path)


def write_eml(path: Path) -> None:
    import base64

    attachment = base64.encodebytes(INVOICE_CSV).decode("ascii").strip()
    path.write_text(INVOICE_EML.format(attachment=attachment), encoding="utf-8")


def main(out: Path = HERE) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_talk(out / "talk.wav", out / "talk.vtt")
    (out / "standup.srt").write_text(STANDUP_SRT, encoding="utf-8")
    (out / "standup_transcript.txt").write_text(STANDUP_TXT, encoding="utf-8")
    write_docx(out / "budget.docx")
    write_pptx(out / "roadmap.pptx")
    write_eml(out / "invoice_email.eml")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)

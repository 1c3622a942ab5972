"""Regenerate the project's own small sample files (standard library only).

    python sample_docs/make_samples.py          # writes into sample_docs/

The output is deterministic (no dates, no random ids), so running it again changes no byte and no
content hash. sample_docs/README.md lists the facts the tests assert.

`write_pdf` is a tiny hand-written PDF writer (Helvetica, uncompressed text content streams, an
optional /PageLabels entry); tests import it to build odd PDFs of their own.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent

PAPER_TITLE = "Lumen: Retrieving Field Observations with Small Embedding Models"
PAPER_FIRST_LABEL = 101  # printed page numbers 101, 102, 103, as in a proceedings volume

# Each page is a list of paragraphs; a paragraph starting with "# " is set as a heading.
PAPER_PAGES: list[list[str]] = [
    [
        "# " + PAPER_TITLE,
        "Ines Okafor and Tomas Varga, Brackwater Institute for Coastal Ecology",
        "# Abstract",
        "Field ecologists write millions of short notes about what they saw, where and when. "
        "We present Lumen, a small sentence embedding model that retrieves such notes from a "
        "plain-language question. Lumen has 22 million parameters and runs on a laptop without "
        "a graphics card. This paper describes how Lumen was built and how well it retrieves.",
        "# 1 Introduction",
        "Searching field notes by keyword fails when the observer and the reader use different "
        "words for the same thing: a note about a heron on the mudflat should answer a question "
        "about wading birds at low tide. Dense retrieval with an embedding model closes much of "
        "this gap, but the models that do it well are large. Lumen is our attempt at a model "
        "small enough for a field station.",
    ],
    [
        "# 2 Training data",
        "Lumen was trained on the Harbor-7 corpus of 1.2 million field notes, written by "
        "volunteer observers at seven harbours along the North Sea coast between 2009 and 2021. "
        "Each note was paired with the species list of the same survey, which gives a positive "
        "pair without any manual labelling.",
        "# 3 Training procedure",
        "We trained for 40,000 steps with a batch size of 512 pairs and an in-batch contrastive "
        "loss. Training took 19 hours on a single workstation. Notes longer than 256 tokens were "
        "cut at the first sentence boundary after that length.",
    ],
    [
        "# 4 Results",
        "On the Tidepool benchmark, Lumen reaches a recall at 10 of 0.847, against 0.792 for a "
        "BM25 keyword baseline. The gain is largest for questions that name a habitat rather than "
        "a species.",
        "# 5 Limitations",
        "Lumen has only seen English notes from one coastline. Notes in Dutch or German are "
        "retrieved poorly, and we expect a drop on inland habitats.",
    ],
]

NOTES_MD = """\
Working notes of the Brackwater field station, kept by the station team.

# Brackwater Field Station Notes

## Equipment

### Hydrophones

The station owns three HX-40 hydrophones. They are recalibrated every 90 days
against the reference tone in the boathouse.

```
# not a heading: this line sits inside a code block
calibrate --device hx40 --tone 1khz
```

### Boats

The survey boat is called Kestrel. Its outboard engine is a 40 hp model from 2015.

## Sampling schedule

Water samples are taken at 06:30 every Tuesday and Friday, from the jetty and from buoy B4.

## Contacts

The station manager is Priya Raman. Questions about data access go to the data steward,
Jonas Berg.
"""

MEETING_TXT = """\
Brackwater field station - team meeting, 14 March 2024
Present: Priya Raman, Tomas Varga, Jonas Berg, Ines Okafor

1. Annual review
The annual review moves from May to 12 June 2024, so that the spring survey can finish first.

2. Budget
The board approved 48,000 euros for a new engine for the survey boat Kestrel.

3. Actions
Tomas orders the replacement winch before 1 April.
Jonas publishes the cleaned survey data for 2023 by the end of the month.
"""

GUIDE_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tidepool Benchmark &ndash; Setup Guide</title>
  <style>body { font-family: sans-serif; } .hidden { display: none; }</style>
  <script>var trackingToken = "ZEBRA-SCRIPT-TOKEN"; console.log(trackingToken);</script>
</head>
<body>
  <nav><a href="#install">Install</a> | <a href="#scoring">Scoring</a></nav>
  <h1>Tidepool Benchmark</h1>
  <p>Tidepool is a set of 3,000 questions about coastal field notes, written by
     ecologists at four stations. It measures how well a system finds the right notes.</p>
  <h2 id="install">Installation</h2>
  <p>Run <code>tidepool-setup --small</code>. The small edition needs 8&nbsp;GB of disk
     space; the full edition needs 60&nbsp;GB.</p>
  <noscript>Please enable JavaScript for the interactive leaderboard.</noscript>
  <h3>Requirements</h3>
  <ul>
    <li>Python 3.11 or newer</li>
    <li>Caf&eacute; mode (offline) works without a network connection</li>
  </ul>
  <h2 id="scoring">Scoring</h2>
  <p>Scores are reported as recall at 10, averaged over 5 random seeds &amp; rounded to three
     decimals.</p>
  <svg width="10" height="10"><title>decorative wave</title><text>SVG-LABEL-TEXT</text></svg>
  <script type="module">document.title = "MODULE-SCRIPT-TOKEN";</script>
</body>
</html>
"""


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsi (cp1252), with (, ) and \\ escaped."""
    raw = text.encode("cp1252", "replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _page_stream(paragraphs: list[str]) -> bytes:
    """One page's content stream: headings in 14 pt bold, body in 11 pt, a blank line between."""
    out = [b"BT", b"72 720 Td"]
    for paragraph in paragraphs:
        heading = paragraph.startswith("# ")
        size, font, leading = (14, b"/F2", 18) if heading else (11, b"/F1", 14)
        out.append(font + b" %d Tf %d TL" % (size, leading))
        width = 70 if heading else 88
        for line in textwrap.wrap(paragraph.removeprefix("# "), width, break_on_hyphens=False):
            out.append(_pdf_string(line) + b" Tj T*")
        out.append(b"T*")
    out.append(b"ET")
    return b"\n".join(out) + b"\n"


def _objects(pages: list[list[str]], title: str, first_label: int | None) -> list[bytes]:
    """The PDF's objects in order; object n is at index n - 1."""
    n = len(pages)
    kids = b" ".join(b"%d 0 R" % (6 + 2 * i) for i in range(n))
    labels = b" /PageLabels << /Nums [0 << /S /D /St %d >>] >>" % first_label if first_label else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R" + labels + b" >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
        b"<< /Title " + _pdf_string(title) + b" /Producer (rag sample_docs/make_samples.py) >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    for i, paragraphs in enumerate(pages):
        stream = _page_stream(paragraphs) if paragraphs else b""
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R"
            b" /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> >>" % (7 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
    return objects


def write_pdf(path: Path, pages: list[list[str]], title: str = "", first_label: int | None = None) -> None:
    """Write a text PDF: one page per list of paragraphs (an empty list gives a page with no text)."""
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(_objects(pages, title, first_label), start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref_at = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\n" % (len(offsets) + 1)
    body += b"startxref\n%d\n%%%%EOF\n" % xref_at
    path.write_bytes(bytes(body))


# One JSON object per line, as BEIR corpora and note exports are: each record is its own section.
RECORDS = [
    {"_id": "obs-0412", "title": "Grey seal pup count, Skerry Point",
     "text": "Volunteers counted 37 grey seal pups on Skerry Point on 3 November; two were tagged."},
    {"_id": "obs-0413", "title": "Eelgrass bed survey",
     "text": "The eelgrass bed north of the pier covers 2.4 hectares, up from 1.9 hectares last year."},
    {"_id": "obs-0414", "title": "Storm damage to buoy 6",
     "text": "Buoy 6 lost its anemometer in the storm of 19 November and reports no wind speed until repaired."},
]


def records_jsonl() -> str:
    import json

    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RECORDS)


def main(folder: Path = HERE) -> None:
    write_pdf(folder / "paper.pdf", PAPER_PAGES, PAPER_TITLE, PAPER_FIRST_LABEL)
    (folder / "notes.md").write_text(NOTES_MD, encoding="utf-8")
    (folder / "meeting.txt").write_text(MEETING_TXT, encoding="utf-8")
    (folder / "guide.html").write_text(GUIDE_HTML, encoding="utf-8")
    (folder / "records.jsonl").write_text(records_jsonl(), encoding="utf-8")
    for name in ("paper.pdf", "notes.md", "meeting.txt", "guide.html", "records.jsonl"):
        print(f"wrote {folder / name}")


if __name__ == "__main__":
    main()

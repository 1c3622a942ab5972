"""Word, PowerPoint and e-mail loaders, and the media samples make_media.py writes."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import SAMPLES, sample_script

from ingest.loaders.eml import load_eml
from ingest.loaders.office import load_docx, load_pptx, table_lines
from rag.core.errors import LoaderError
from rag.core.types import render_locator

BUDGET = "Brackwater Sound Archive Budget 2025"
TAPE_DECK_ROW = "Item: Reel-to-reel tape deck; Supplier: Harwell Audio; Cost (euros): 2,350"
PORTAL_FACT = "The public listening portal opens on 15 September 2025"




def test_samples_are_what_make_media_writes(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng; the Makefile installs it)")
    sample_script("make_media").main(tmp_path)
    names = ("talk.wav", "talk.vtt", "standup.srt", "standup_transcript.txt", "budget.docx", "roadmap.pptx",
             "invoice_email.eml")
    for name in names:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), f"rerun make_media.py: {name}"
    assert sum((SAMPLES / name).stat().st_size for name in names) < 700_000


def test_budget_docx_headings_paragraphs_and_table() -> None:
    doc = load_docx(SAMPLES / "budget.docx", "budget.docx", "doc-1")
    assert (doc.kind, doc.title) == ("docx", BUDGET)
    assert [s.locator for s in doc.sections] == [
        {"heading": BUDGET},
        {"heading": f"{BUDGET} > Staff"},
        {"heading": f"{BUDGET} > Equipment"},
        {"heading": f"{BUDGET} > Equipment > Maintenance"},
        {"heading": f"{BUDGET} > Total"},
    ]
    equipment = doc.sections[2]
    assert equipment.text.startswith("Equipment\n\nThe table lists the equipment bought this year.\n\n")
    assert TAPE_DECK_ROW in equipment.text.split("\n")
    assert sum(TAPE_DECK_ROW in s.text for s in doc.sections) == 1
    assert "Staff costs are 61,500 euros." in doc.sections[1].text
    assert render_locator(equipment.locator) == f"§ {BUDGET} > Equipment"


def test_roadmap_pptx_one_section_per_slide_with_notes() -> None:
    doc = load_pptx(SAMPLES / "roadmap.pptx", "roadmap.pptx", "doc-1")
    assert (doc.kind, doc.title) == ("pptx", "Archive Roadmap 2025")
    assert doc.meta == {"slides": 3, "empty_slides": [], "warnings": []}
    assert [s.locator for s in doc.sections] == [{"slide": 1}, {"slide": 2}, {"slide": 3}]
    assert [PORTAL_FACT in s.text for s in doc.sections] == [False, True, False]
    second = doc.sections[1].text
    assert second.startswith("Digitisation milestones\n\n")
    assert "Quarter: Q2; Goal: 900 tapes digitised" in second  # a table
    assert second.endswith("Notes: Stress that the portal launch depends on the copyright review led by Lena Okoye.")
    assert "Mitigation: bake affected tapes at 54 degrees before playback" in doc.sections[2].text  # a group
    assert render_locator(doc.sections[1].locator) == "slide 2"


def test_invoice_email_headers_body_and_attachments() -> None:
    doc = load_eml(SAMPLES / "invoice_email.eml", "invoice_email.eml", "doc-1")
    assert (doc.kind, doc.title) == ("email", "Invoice KML-0417 – cassette digitisation")
    [section] = doc.sections
    assert section.locator == {"date": "2025-04-15", "author": "Kestrel Media Lab"}
    assert render_locator(section.locator) == "2025-04-15, Kestrel Media Lab"
    assert section.text.startswith(
        "From: Kestrel Media Lab <billing@kestrel-media.example>\n"
        "To: Brackwater Sound Archive <archive@brackwater.example>\n"
        "Date: Tue, 15 Apr 2025 09:12:00 +0200\n"
        "Subject: Invoice KML-0417 – cassette digitisation\n\nHello,\n"
    )
    assert "The amount due is 2,940 euros, payable by 14 May 2025." in section.text
    assert "<b>" not in section.text and "24.50" not in section.text  # the plain part; the csv is not opened
    assert doc.meta == {"attachments": ["KML-0417.csv"], "warnings": []}


def test_html_only_email_is_read_as_text(tmp_path: Path) -> None:
    (tmp_path / "news.eml").write_text(
        "From: ana@example.org\nSubject: News\nDate: not a date\nContent-Type: text/html; charset=utf-8\n\n"
        "<html><head><style>p {color: red}</style></head><body><p>Caf&eacute; opens at 8.</p>"
        "<script>alert(1)</script><p>Bring cups.</p></body></html>\n",
        encoding="utf-8",
    )
    doc = load_eml(tmp_path / "news.eml", "news.eml", "doc-1")
    assert doc.sections[0].text.endswith("Subject: News\n\nCafé opens at 8.\n\nBring cups.")
    assert doc.sections[0].locator == {"author": "ana@example.org"}  # an unreadable date is left out


def test_truncated_email_keeps_what_it_can_and_warns(tmp_path: Path) -> None:
    data = (SAMPLES / "invoice_email.eml").read_bytes()
    (tmp_path / "cut.eml").write_bytes(data[: len(data) // 2])
    doc = load_eml(tmp_path / "cut.eml", "cut.eml", "doc-1")
    assert "invoice KML-0417 for digitising 120 cassettes" in doc.sections[0].text
    assert doc.meta["attachments"] == [] and "cut short (CloseBoundaryNotFound)" in doc.meta["warnings"][0]
    (tmp_path / "head.eml").write_bytes(data[:60])  # cut inside the headers
    doc = load_eml(tmp_path / "head.eml", "head.eml", "doc-1")
    assert doc.title == "head"
    assert doc.meta["warnings"] == ["the message has no text body; only its headers were indexed"]


def test_table_lines() -> None:
    assert table_lines([["a", "b"]]) == ["a | b"]
    assert table_lines([["Name", "Role"], ["Ana  Lima", ""], ["", " "], ["Ben", "Lead", "extra"]]) == [
        "Name: Ana Lima", "Name: Ben; Role: Lead; extra"]  # empty cells and rows left out


def test_docx_merged_cells_count_once(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Rota")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(table.rows, [("Week", "Duty", ""), ("1", "Ana", "Ben"), ("2", "Cy", "Dee")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    table.cell(0, 1).merge(table.cell(0, 2))  # "Duty" spans two columns
    document.save(str(tmp_path / "rota.docx"))
    text = load_docx(tmp_path / "rota.docx", "rota.docx", "doc-1").sections[0].text
    assert text == "Rota\n\nWeek: 1; Duty: Ana; Ben\nWeek: 2; Duty: Cy; Dee"


def _zip_with(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("suffix", [".docx", ".pptx"])
def test_damaged_office_files_are_errors(tmp_path: Path, suffix: str) -> None:
    load = load_docx if suffix == ".docx" else load_pptx
    sample = (SAMPLES / ("budget.docx" if suffix == ".docx" else "roadmap.pptx")).read_bytes()
    other = (SAMPLES / ("roadmap.pptx" if suffix == ".docx" else "budget.docx")).read_bytes()
    cases = {
        f"random{suffix}": bytes(range(256)) * 16,
        f"cut{suffix}": sample[: len(sample) // 2],
        f"text{suffix}": b"Just a text file with the wrong name.\n",
        f"other{suffix}": other,  # a docx named .pptx and the other way round
        f"zip{suffix}": b"",
    }
    for name, data in cases.items():
        if name.startswith("zip"):
            _zip_with(tmp_path / name, {"hello.txt": b"hello"})
        else:
            (tmp_path / name).write_bytes(data)
        with pytest.raises(LoaderError, match=rf"^office/{re.escape(name)}: not a readable .* — .*save it again as"):
            load(tmp_path / name, f"office/{name}", "doc-1")
    (tmp_path / f"empty{suffix}").write_bytes(b"")
    with pytest.raises(LoaderError, match=rf"^empty{suffix}: the file is empty — "):
        load(tmp_path / f"empty{suffix}", f"empty{suffix}", "doc-1")


def test_office_files_without_text_are_errors(tmp_path: Path) -> None:
    import docx
    from pptx import Presentation

    docx.Document().save(str(tmp_path / "blank.docx"))
    with pytest.raises(LoaderError, match=r"^blank\.docx: the document has no text — "):
        load_docx(tmp_path / "blank.docx", "blank.docx", "doc-1")
    deck = Presentation()
    deck.slides.add_slide(deck.slide_layouts[6])
    deck.save(str(tmp_path / "blank.pptx"))
    with pytest.raises(LoaderError, match=r"^blank\.pptx: no slide has text — "):
        load_pptx(tmp_path / "blank.pptx", "blank.pptx", "doc-1")

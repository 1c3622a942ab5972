"""Loaders for PDF, text, Markdown and HTML: each format's facts and errors (the contract test over every
registered loader is tests/test_loader_contract.py)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import SAMPLES, sample_script

from ingest.loaders.pdf_text import clean_page_text
from ingest.registry import default_registry
from rag.core.errors import LoaderError
from rag.core.types import Document, render_locator

PAGE_2_FACT = "Lumen was trained on the Harbor-7 corpus of 1.2 million field notes"
PAGE_3_FACT = "Lumen reaches a recall at 10 of 0.847"




def load(path: Path, source: str | None = None) -> Document:
    spec = default_registry()[path.suffix.lower()]
    return spec.load(path, source or path.name, "doc-1")


def test_samples_are_what_make_samples_writes(tmp_path: Path) -> None:
    sample_script("make_samples").main(tmp_path)
    for name in ("paper.pdf", "notes.md", "meeting.txt", "guide.html", "records.jsonl"):
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), f"rerun make_samples: {name}"


def test_paper_pdf_has_three_labelled_pages() -> None:
    doc = load(SAMPLES / "paper.pdf")
    assert doc.title == "Lumen: Retrieving Field Observations with Small Embedding Models"
    assert [s.locator for s in doc.sections] == [
        {"page": 1, "page_label": "101"},
        {"page": 2, "page_label": "102"},
        {"page": 3, "page_label": "103"},
    ]
    assert doc.meta["page_count"] == doc.meta["pages"] == 3
    assert doc.meta["pages_without_text"] == [] and doc.meta["warnings"] == []
    assert render_locator(doc.sections[1].locator) == "p. 2 (printed 102)"


def test_each_paper_fact_is_on_its_page_only() -> None:
    texts = [s.text for s in load(SAMPLES / "paper.pdf").sections]
    assert [PAGE_2_FACT in t for t in texts] == [False, True, False]
    assert [PAGE_3_FACT in t for t in texts] == [False, False, True]
    assert "0.792 for a BM25 keyword baseline" in texts[2]
    for name in ("notes.md", "meeting.txt", "guide.html"):
        assert not any("Harbor-7" in s.text or "0.847" in s.text for s in load(SAMPLES / name).sections)


def test_pdf_page_without_text_is_skipped_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "gap.pdf"
    sample_script("make_samples").write_pdf(path, [["# Field Survey Summary", "First page text."], [], ["Third page."]])
    doc = load(path)
    assert [s.locator for s in doc.sections] == [{"page": 1}, {"page": 3}]
    assert doc.meta["pages_without_text"] == [2] and doc.meta["page_count"] == 3
    assert doc.title == "Field Survey Summary"  # no /Title: the largest type on page 1


def test_pdf_with_only_blank_pages_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "blank.pdf"
    sample_script("make_samples").write_pdf(path, [[], []])  # no text and nothing drawn: nothing for OCR either
    with pytest.raises(LoaderError, match=r"^blank\.pdf: no page has a text layer or anything drawn on it .* — "):
        load(path)


def test_pdf_cleanup_joins_lines_and_hyphenation() -> None:
    raw = (
        "2.1 Method\n"
        "We trained the embed-\n"
        "ding model on MED-\n"
        "LINE abstracts with state-of-the-\n"
        "art tools for \x00 ﬁfty  days\x8e and\n"
        "then we stopped.\n"
        "Results follow.\n"
        "Table 2 shows the results of each run"
    )
    assert clean_page_text(raw) == (
        "2.1 Method\n\n"
        "We trained the embedding model on MED-LINE abstracts with state-of-the-art tools for fifty days "
        "and then we stopped.\n\nResults follow.\n\nTable 2 shows the results of each run"
    )


def test_markdown_sections_follow_headings() -> None:
    doc = load(SAMPLES / "notes.md")
    assert doc.title == "Brackwater Field Station Notes"
    assert [s.locator for s in doc.sections] == [
        {"line": 1},
        {"heading": "Brackwater Field Station Notes > Equipment > Hydrophones", "line": 7},
        {"heading": "Brackwater Field Station Notes > Equipment > Boats", "line": 17},
        {"heading": "Brackwater Field Station Notes > Sampling schedule", "line": 21},
        {"heading": "Brackwater Field Station Notes > Contacts", "line": 25},
    ]
    hydrophones = doc.sections[1].text
    assert hydrophones.startswith("### Hydrophones") and "# not a heading" in hydrophones
    assert "06:30 every Tuesday and Friday" in doc.sections[3].text


def test_html_drops_scripts_and_splits_at_headings() -> None:
    doc = load(SAMPLES / "guide.html")
    text = "\n".join(s.text for s in doc.sections)
    for hidden in (
        "ZEBRA-SCRIPT-TOKEN",
        "MODULE-SCRIPT-TOKEN",
        "SVG-LABEL-TEXT",
        "font-family",
        "JavaScript",
    ):
        assert hidden not in text
    assert doc.title == "Tidepool Benchmark – Setup Guide"
    install = next(s for s in doc.sections if s.locator == {"heading": "Tidepool Benchmark > Installation"})
    assert "The small edition needs 8 GB of disk space" in install.text
    assert "Café mode" in text and "5 random seeds & rounded" in text
    assert {"heading": "Tidepool Benchmark > Installation > Requirements"} in [
        s.locator for s in doc.sections
    ]


def test_text_is_one_section_with_any_common_encoding(tmp_path: Path) -> None:
    doc = load(SAMPLES / "meeting.txt")
    assert doc.title == "meeting" and len(doc.sections) == 1 and doc.sections[0].locator == {}
    assert "approved 48,000 euros for a new engine" in doc.sections[0].text
    for data, encoding in ((b"\xef\xbb\xbfcaf\xc3\xa9\r\n", "utf-8-sig"), (b"caf\xe9 \x80\x00", "cp1252")):
        (tmp_path / "enc.txt").write_bytes(data)
        doc = load(tmp_path / "enc.txt")
        assert doc.sections[0].text.startswith("café") and "\x00" not in doc.sections[0].text
        assert doc.meta["encoding"] == encoding


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("fake.pdf", b"just some text, not a PDF\n", "not a PDF"),
        ("empty.pdf", b"", "empty"),
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n", "empty"),
        ("scripts.html", b"<script>var x = 1;</script>", "no visible text"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(
    tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(LoaderError, match=rf"^docs/{re.escape(name)}: .*{problem}.* — "):
        load(tmp_path / name, f"docs/{name}")


def test_truncated_pdf_is_an_error(tmp_path: Path) -> None:
    data = (SAMPLES / "paper.pdf").read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 2])
    with pytest.raises(LoaderError, match=r"^cut\.pdf: the PDF is damaged .* — "):
        load(tmp_path / "cut.pdf")


def test_encrypted_pdf(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    for password, name in (("secret", "locked.pdf"), ("", "open.pdf")):
        writer = PdfWriter(clone_from=PdfReader(SAMPLES / "paper.pdf"))
        writer.encrypt(password, owner_password="owner", algorithm="RC4-128")
        writer.write(tmp_path / name)
    assert len(load(tmp_path / "open.pdf").sections) == 3  # the empty user password opens it
    with pytest.raises(LoaderError, match=r"^locked\.pdf: the PDF is encrypted — decrypt it"):
        load(tmp_path / "locked.pdf")


# --- real papers from ../shared/data -------------------------------------------------------------

REAL_PAPERS = {  # name: (pages, first printed page label or None, start of title)
    "N18-3011": (8, "84", "Construction of the Literature Graph"),
    "2020.acl-main.207": (13, None, "SPECTER: Document-level Representation"),
    "2020.acl-main.447": (15, None, "S2ORC: The Semantic Scholar"),
    "2023.eacl-main.121": (20, "1650", "LONGEVAL: Guidelines for Human Evaluation"),
}
# Measured with pypdf 7.1: share of reference tokens found (multiset) 0.982 (N18-3011) and 0.997
# (SPECTER); word bigrams 0.956 and 0.981; the worst reference paragraph 0.912 and 0.971.
MIN_TOKENS, MIN_BIGRAMS, MIN_PARAGRAPH = 0.97, 0.93, 0.85


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _recall(reference: list, found: Counter) -> float:
    wanted = Counter(reference)
    return sum(min(n, found[item]) for item, n in wanted.items()) / max(1, len(reference))


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(REAL_PAPERS))
def test_real_papers_load_with_pages_labels_and_titles(shared_data: Path, name: str) -> None:
    pages, first_label, title = REAL_PAPERS[name]
    doc = load(shared_data / "real_docs" / "pdfs" / f"{name}.pdf")
    assert doc.title.startswith(title)
    assert doc.meta["page_count"] == pages and doc.meta["pages_without_text"] == []
    assert [s.locator["page"] for s in doc.sections] == list(range(1, pages + 1))
    assert doc.sections[0].locator.get("page_label") == first_label
    assert sum(len(s.text) > 1500 for s in doc.sections) >= pages - 2  # figure-only pages have little


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["N18-3011", "2020.acl-main.207"])
def test_real_papers_text_matches_the_reference_parse(shared_data: Path, name: str) -> None:
    pdfs = shared_data / "real_docs" / "pdfs"
    reference = json.loads((pdfs / "reference_parses" / f"{name}.json").read_text(encoding="utf-8"))
    paragraphs = [p["text"] for p in reference["pdf_parse"]["body_text"]]
    extracted = _tokens("\n".join(s.text for s in load(pdfs / f"{name}.pdf").sections))
    wanted = _tokens(" ".join(paragraphs))
    assert _recall(wanted, Counter(extracted)) >= MIN_TOKENS
    bigrams = Counter(zip(extracted, extracted[1:], strict=False))
    assert _recall(list(zip(wanted, wanted[1:], strict=False)), bigrams) >= MIN_BIGRAMS
    found = set(extracted)
    worst = min(sum(t in found for t in _tokens(p)) / max(1, len(_tokens(p))) for p in paragraphs)
    assert worst >= MIN_PARAGRAPH


# Scanned PDFs (no text layer) are read by OCR: tests/test_ocr.py.


def test_short_lines_are_units_of_their_own() -> None:
    from rag.core.text import sentence_ranges

    receipt = "HARBOR LIGHTS BISTRO\nSUBTOTAL 59.85\nTOTAL 65.84"
    assert [receipt[a:b] for a, b in sentence_ranges(receipt)] == receipt.split("\n")
    prose = "A wrapped paragraph of prose, whose lines are long enough to be text\nrather than a list of items."
    assert len(sentence_ranges(prose)) == 1

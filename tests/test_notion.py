"""Notion exports: the sample (a zip of nested parts, and unzipped), odd names, the real exports."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from conftest import SAMPLES, sample_script
from test_archive import zip_of

from ingest.loaders.notion import clean_name, load_notion
from ingest.registry import default_registry
from ingest.scan import scan_folder
from rag import Index
from rag.core.errors import LoaderError
from rag.core.types import Document, render_locator

HEX = re.compile(r"[0-9a-fA-F]{32}")
PATHS = ["Projects", "Projects/API Integration", "Projects/Tasks", "Projects/Tasks", "Projects/Tasks",
         "Projects/Tasks/Migrate the sensor archive", "Team Handbook", "Team Handbook", "Team Handbook",
         "Team Handbook", "Team Handbook"]


def load_zip(path: Path) -> Document:
    return default_registry()[".zip"].load(path, path.name, "doc-1")


@pytest.fixture(scope="module")
def sample() -> Document:
    return load_zip(SAMPLES / "notion_export.zip")


def unzip_parts(folder: Path) -> Path:
    """The sample export as Notion's parts unzip: both parts into one folder."""
    outer = zipfile.ZipFile(SAMPLES / "notion_export.zip")
    for name in outer.namelist():
        zipfile.ZipFile(io.BytesIO(outer.read(name))).extractall(folder)
    return folder


def test_nested_parts_make_one_document_without_ids(sample: Document) -> None:
    assert (sample.kind, sample.title, sample.meta["warnings"]) == ("notion", "notion_export", [])
    assert [s.locator["notion_path"] for s in sample.sections] == PATHS
    for section in sample.sections:
        assert not HEX.search(section.text + repr(section.locator)), section.locator


def test_page_keeps_its_properties_as_text_and_meta(sample: Document) -> None:
    page = next(s for s in sample.sections if s.locator["notion_path"] == "Projects/API Integration")
    assert page.locator == {"notion_path": "Projects/API Integration", "title": "API Integration"}
    assert page.text.startswith("# API Integration\n\nStatus: In progress\nOwner: Ana Lima\nDue: 2026-02-27")
    assert "every 10 minutes" in page.text
    assert sample.meta["properties"]["Projects/API Integration"] == {
        "Status": "In progress", "Owner": "Ana Lima", "Due": "2026-02-27"}
    assert "The work items are in Tasks." in page.text          # a link to a database: its title
    assert "diagram" not in page.text and ".png" not in page.text  # an embedded local image: dropped
    projects = sample.sections[0].text
    assert "- API Integration\n- Tasks" in projects and "%20" not in projects


def test_database_rows_come_from_the_all_csv_once(sample: Document) -> None:
    rows = [s for s in sample.sections if "row" in s.locator]
    assert [s.locator["row"] for s in rows] == ["Write the API client", "Load test the gateway",
                                                "Migrate the sensor archive"]
    gateway = rows[1]
    assert gateway.locator == {"notion_path": "Projects/Tasks", "row": "Load test the gateway", "title": "Tasks"}
    assert gateway.text == ("Name: Load test the gateway; Status: Not started; Owner: Chen Wei; Due: 2026-03-01; "
                            "Project: API Integration")
    assert render_locator(gateway.locator) == "Projects/Tasks, row Load test the gateway"
    assert rows[2].text == "Name: Migrate the sensor archive; Status: Done; Owner: Ana Lima; Due: 2026-01-30"


def test_long_page_is_split_at_headings(sample: Document) -> None:
    handbook = [s for s in sample.sections if s.locator["notion_path"] == "Team Handbook"]
    assert [s.locator.get("heading") for s in handbook] == [None, "Arrival", "Safety", "On-call", "Leaving"]
    on_call = handbook[3]
    assert "+47 555 0142" in on_call.text and on_call.locator["title"] == "Team Handbook"
    assert render_locator(on_call.locator) == "Team Handbook, § On-call"


def test_folder_loads_like_the_zip(sample: Document, tmp_path: Path) -> None:
    doc = load_notion(unzip_parts(tmp_path / "notion"), "notion", "doc-1")
    assert doc.sections == sample.sections and doc.meta["properties"] == sample.meta["properties"]


def test_export_folder_is_one_entry_and_reingest_changes_nothing(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    unzip_parts(docs / "Export-2026")
    (docs / "paper.pdf").write_bytes((SAMPLES / "paper.pdf").read_bytes())
    entries, skipped = scan_folder(docs, default_registry())
    assert sorted((e.source, e.loader) for e in entries) == [("Export-2026", "notion"), ("paper.pdf", "pdf")]
    assert skipped == []
    idx = Index.open(tmp_path / "idx", embedder="hashing-128")
    assert idx.ingest(docs).added == 2
    again = idx.ingest(docs)
    assert (again.added, again.changed, again.unchanged, again.embedded_chunks) == (0, 0, 2, 0)
    hits = idx.search("Who owns load testing the gateway?", k=10)
    assert ("Export-2026", "Load test the gateway") in [(h.source, h.chunk.locator.get("row")) for h in hits]
    page = next((docs / "Export-2026").rglob("Migrate the sensor archive *.md"))
    page.rename(page.with_name("Migrate the sensor archive.md"))   # a file renamed inside: a change
    assert idx.ingest(docs).changed == 1


def test_a_folder_holding_one_notion_page_among_other_files_is_not_an_export(tmp_path: Path) -> None:
    (tmp_path / "Page 0123456789abcdef0123456789abcdef.md").write_text("# Page\n\nText.", encoding="utf-8")
    (tmp_path / "paper.pdf").write_bytes((SAMPLES / "paper.pdf").read_bytes())
    entries, _ = scan_folder(tmp_path, default_registry())
    assert [e.loader for e in entries] == ["markdown", "pdf"]


ODD = {  # file name in the export -> expected notion_path
    f"Café ☕ Notes {'1' * 32}.md": "Café ☕ Notes",
    f"  Spaced   Out  {'2' * 32}.md": "Spaced Out",
    f"{'Long name ' * 20}{'3' * 32}.md": ("Long name " * 20).strip(),
    f"Bell\x07and\x1bEscape {'4' * 32}.md": "BellandEscape",
    f"Folder {'5' * 32}/Child {'6' * 32}.md": "Folder/Child",
    f"{'7' * 32}.md": "Untitled",
}


def test_odd_names_in_a_zip(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "odd.zip", [(name, f"Body of {i}.".encode()) for i, name in enumerate(ODD)])
    doc = load_zip(path)
    assert doc.kind == "notion"
    assert sorted(s.locator["notion_path"] for s in doc.sections) == sorted(ODD.values())


def test_odd_names_in_a_folder(tmp_path: Path) -> None:
    root = tmp_path / "export"
    for i, name in enumerate(ODD):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"Body of {i}.", encoding="utf-8")
    entries, _ = scan_folder(tmp_path, default_registry())
    assert [(e.source, e.loader) for e in entries] == [("export", "notion")]
    doc = load_notion(root, "export", "doc-1")
    assert sorted(s.locator["notion_path"] for s in doc.sections) == sorted(ODD.values())


def test_parts_split_inside_a_folder_without_id(tmp_path: Path) -> None:
    zip_bytes = sample_script("make_exports").zip_bytes
    part1 = zip_bytes([(f"Private & Shared/Projects {'1' * 32}.md", b"# Projects\n\nAll of them.")])
    part2 = zip_bytes([(f"Private & Shared/Projects/Tasks {'2' * 32}_all.csv", b"Name\nPaint buoys\n")])
    path = zip_of(tmp_path / "Export-x.zip", [("Export-x-Part-1.zip", part1), ("Export-x-Part-2.zip", part2)])
    doc = load_zip(path)
    assert [(s.locator["notion_path"], s.locator.get("row")) for s in doc.sections] == [
        ("Projects", None), ("Projects/Tasks", "Paint buoys")]


def test_csv_without_all_and_empty_pages(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "db.zip", [
        (f"Boats {'a' * 32}.csv", b"Name,Length\nKestrel,7 m\n,\nHeron,\n"),
        (f"Empty {'b' * 32}.md", b"# Empty\n\n"),
    ])
    doc = load_zip(path)
    assert [(s.text, s.locator["row"]) for s in doc.sections] == [("Name: Kestrel; Length: 7 m", "Kestrel"),
                                                                  ("Name: Heron", "Heron")]
    assert clean_name(f"Boats {'a' * 32}_all.csv") == "Boats" and clean_name("call_all.csv") == "call_all"


def test_export_without_text_is_an_error(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "blank.zip", [(f"Empty {'b' * 32}.md", b"# Empty\n"), (f"T {'c' * 32}.csv", b"")])
    with pytest.raises(LoaderError, match=r'^blank\.zip: no Markdown page or CSV database .* "Markdown & CSV"'):
        load_zip(path)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["notion_export_sample.zip", "notion_export_enhancer_zip_complex.zip"])
def test_real_exports_have_clean_paths(shared_data: Path, name: str) -> None:
    started = time.perf_counter()
    doc = load_zip(shared_data / "real_docs" / "notion" / name)
    assert doc.kind == "notion" and time.perf_counter() - started < 5 and doc.meta["warnings"] == []
    for section in doc.sections:
        assert not HEX.search(section.locator["notion_path"] + section.locator["title"]), section.locator
        assert not re.search(r"\]\([^)]*\.(md|csv)\)", section.text), section.locator  # page links rendered


@pytest.mark.realdata
def test_real_sample_export_structure(shared_data: Path) -> None:
    doc = load_zip(shared_data / "real_docs" / "notion" / "notion_export_sample.zip")
    paths = {s.locator["notion_path"] for s in doc.sections}
    assert {"Projects/API Integration", "Projects/API Integration/Tasks/Design API schema", "Book Library/Dune",
            "Getting Started"} <= paths                     # the "Export-…" wrapper folder is left out
    projects = [s for s in doc.sections if s.locator["notion_path"] == "Projects" and "row" in s.locator]
    assert len(projects) == 5 and "Assignee: Alice Chen" in projects[0].text   # Assignee is only in _all.csv
    assert doc.meta["properties"]["Projects/API Integration"]["Status"] == "Done"
    assert any(s.locator.get("heading") == "Quick Start" for s in doc.sections)

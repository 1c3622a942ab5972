"""A llama-index reader registered as a loader (rag/adapters/readers.py): it reads in the loader worker, a
separate process, under the same limits as our loaders, and what it reads is searchable with a locator.
The reader is tests/note_reader.py, a real `llama_index.core` BaseReader in a module the worker can import."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from note_reader import NotAReader, NoteReader, PydanticNoteReader

from ingest.registry import default_registry
from rag import Index
from rag.adapters import register_llamaindex_reader
from rag.adapters.readers import locator_of
from rag.core.errors import RagError

PLAN = "== Launch ==\nThe Kestrel rover launches on 4 May.\n== Budget ==\nThe rover's budget is 7,300 crowns.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "plan.note").write_text(PLAN, encoding="utf-8")
    (docs / "other.md").write_text("# Other\n\nNothing about rovers here, only tea.\n", encoding="utf-8")
    return docs


def ingest(tmp_path: Path, folder: Path, reader: object) -> Index:
    idx = Index.open(tmp_path / "idx", embedder="hashing-256")
    summary = idx.ingest(folder, registry=register_llamaindex_reader(".note", reader))
    assert summary.added == 2 and not summary.failed, summary
    return idx


def test_a_reader_by_name_reads_in_the_worker_and_is_searchable(tmp_path: Path, folder: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "reads.log"
    monkeypatch.setenv("NOTE_READER_LOG", str(log))
    with ingest(tmp_path, folder, "note_reader:NoteReader") as idx:
        hit = idx.search("What is the rover's budget?", 1)[0]
        assert (hit.source, hit.chunk.locator, hit.chunk.text) == ("plan.note", {"heading": "Budget"},
                                                                   "The rover's budget is 7,300 crowns.")
        doc = next(d for d in idx.documents() if d.source == "plan.note")
        assert (doc.kind, doc.loader, doc.status) == ("llamaindex", "llamaindex:NoteReader", "ok")
    pid, name = log.read_text().split()
    assert name == "plan.note" and int(pid) != os.getpid()   # read by the worker, not by this process


def test_a_reader_class_object_or_attribute_reaches_the_worker(tmp_path: Path, folder: Path) -> None:
    """One ingest, four registrations: the class (made with no arguments), an object and a pydantic reader
    whose field (the marker) must reach the worker, and a module attribute named "module:attr"."""
    registry = register_llamaindex_reader(".note", NoteReader)
    register_llamaindex_reader(".hnote", NoteReader(marker="##"), registry)
    register_llamaindex_reader(".anote", "note_reader:READER", registry)
    register_llamaindex_reader(".pnote", PydanticNoteReader(marker="%%"), registry)
    (folder / "plan.pnote").write_text(PLAN.replace("==", "%%").replace("Kestrel", "Harrier"), encoding="utf-8")
    (folder / "plan.hnote").write_text(PLAN.replace("==", "##").replace("Kestrel", "Osprey"), encoding="utf-8")
    (folder / "plan.anote").write_text(PLAN.replace("==", "##").replace("Kestrel", "Merlin"), encoding="utf-8")
    with Index.open(tmp_path / "idx", embedder="hashing-256") as idx:
        summary = idx.ingest(folder, registry=registry)
        assert summary.added == 5 and not summary.failed, summary
        for name, source in (("Kestrel", "plan.note"), ("Osprey", "plan.hnote"), ("Merlin", "plan.anote"),
                             ("Harrier", "plan.pnote")):
            hit = idx.search(f"When does the {name} rover launch?", 1)[0]
            assert (hit.source, hit.chunk.locator) == (source, {"heading": "Launch"}), name
            assert name in hit.chunk.text


def test_a_crashing_reader_costs_one_file_and_an_empty_one_is_named(tmp_path: Path, folder: Path) -> None:
    (folder / "crash.note").write_text(PLAN, encoding="utf-8")
    (folder / "empty.note").write_text("no markers at all\n", encoding="utf-8")
    with Index.open(tmp_path / "idx", embedder="hashing-256") as idx:
        summary = idx.ingest(folder, registry=register_llamaindex_reader(".note", NoteReader))
        errors = {f.source: f.error for f in summary.failed}
        assert set(errors) == {"crash.note", "empty.note"}, summary
        assert "the loader crashed while reading it (signal 9" in errors["crash.note"]
        assert errors["empty.note"].startswith("empty.note: the reader note_reader:NoteReader found no text in it")
        assert {d.source for d in idx.documents() if d.status == "ok"} == {"plan.note", "other.md"}
        assert idx.search("rover budget crowns", 1)[0].chunk.locator == {"heading": "Budget"}


def test_what_cannot_be_registered_says_why() -> None:
    class Local(NoteReader):
        pass

    cases = [(".note", Local, "defined in a script or a function"),
             (".note", NotAReader, "not a llama-index BaseReader"),
             (".note", "note_reader:Missing", "cannot import this reader"),
             (".note", "no_colon", "package.module:ClassName"),
             ("note", NoteReader, "starts with a dot")]
    for suffix, reader, message in cases:
        with pytest.raises(RagError, match=message):
            register_llamaindex_reader(suffix, reader)
    registry = default_registry()
    assert register_llamaindex_reader(".NOTE", NoteReader, registry) is registry and ".note" in registry


def test_locators_from_reader_metadata() -> None:
    assert locator_of({"page_label": "7", "file_name": "a.pdf"}, 1, 3) == {"page_label": "7", "page": 7}
    assert locator_of({"heading": "Intro", "tags": ["x"]}, 1, 1) == {"heading": "Intro"}
    assert locator_of({"file_name": "a.txt"}, 2, 3) == {"record": 2}
    assert locator_of({"file_name": "a.txt"}, 1, 1) == {}

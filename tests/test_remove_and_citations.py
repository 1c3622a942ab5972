"""`rag rm` with a name several ingested folders hold removes nothing until the folder is named; JSON
citations carry their [n] number and the quote's offsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from rag import Index
from rag.cli import main
from rag.core.errors import RagError


@pytest.fixture
def two_roots(tmp_path: Path) -> tuple[Path, Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, name in ((a, "notes.md"), (b, "meeting.txt")):
        folder.mkdir()
        (folder / "notes.md").write_bytes((SAMPLES / name).read_bytes())
    index = tmp_path / "index"
    with Index.open(index, embedder="hashing-256") as idx:
        idx.ingest(a)
        idx.ingest(b)
    return index, a, b


def roots(index: Path) -> list[str]:
    with Index.open(index) as idx:
        return sorted(d.root for d in idx.documents())


def test_an_ambiguous_name_lists_the_matches_and_removes_nothing(two_roots: tuple[Path, Path, Path]) -> None:
    index, a, b = two_roots
    runner = CliRunner()
    result = runner.invoke(main, ["rm", "notes.md", "--index", str(index)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "notes.md: 2 documents have this name" in result.output and "nothing was removed" in result.output
    assert str(a / "notes.md") in result.output and str(b / "notes.md") in result.output
    assert "--root" in result.output
    assert roots(index) == sorted([str(a.resolve()), str(b.resolve())])
    result = runner.invoke(main, ["rm", "notes.md", "--root", str(a), "--index", str(index)])
    assert result.exit_code == 0 and "removed 1 document: notes.md" in result.output
    assert roots(index) == [str(b.resolve())]
    result = runner.invoke(main, ["rm", "notes.md", "--root", str(a), "--index", str(index)])
    assert result.exit_code == 1 and f"not in the index under {a}" in result.output


def test_a_full_path_names_one_document(two_roots: tuple[Path, Path, Path]) -> None:
    index, a, b = two_roots
    with Index.open(index) as idx:
        assert idx.remove(str(b / "notes.md")) == 1
        assert idx.remove("notes.md") == 1           # now unambiguous
        with pytest.raises(RagError, match="not in the index"):
            idx.remove("notes.md")


def test_json_citations_carry_number_and_offsets(built: Path) -> None:
    result = CliRunner().invoke(main, ["ask", "What corpus was Lumen trained on?", "--index", str(built),
                                       "--llm", "none", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["citations"] and data["suspect_sources"] == []
    with Index.open(built) as idx:
        docs = {d.source: d for d in idx.documents()}
        for c in data["citations"]:
            assert f"[{c['number']}]" in data["answer"]
            hit = idx.search(c["quote"], 1)[0]
            section = idx.store.section_text(docs[c["source"]].doc_id, hit.chunk.section)
            assert section[c["start"]:c["end"]] == c["quote"]

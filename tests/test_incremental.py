"""Incremental ingest: no-op re-ingest, change, delete, rename, dry run, removal, embedder mismatch.

Uses the hashing embedder through the real registry, so these run without a model.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag import Index
from rag.core.errors import IndexFormatError, RagError

EMBEDDER = "hashing-128"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    write(folder, "alpha.txt", "The alpha reactor runs on molten salt. It was built in 1965.")
    write(folder, "beta.md", "# Beta\n\nBeta trains falcons in the desert.\n\n## History\n\nFounded 1901.")
    write(folder, "sub/gamma.txt", "Gamma rays come from radioactive decay of atomic nuclei.")
    write(folder, "notes.xyz", "unknown type")
    return folder


def test_first_then_unchanged(corpus: Path, tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    first = idx.ingest(corpus)
    assert (first.added, first.failed, first.embedded_chunks > 0) == (3, (), True)
    assert [s.source for s in first.skipped] == ["notes.xyz"]
    assert "no loader for .xyz" in first.skipped[0].reason
    again = idx.ingest(corpus)
    assert (again.added, again.changed, again.unchanged, again.embedded_chunks) == (0, 0, 3, 0)


def test_touched_file_is_not_reembedded(corpus: Path, tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    idx.ingest(corpus)
    path = corpus / "alpha.txt"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    again = idx.ingest(corpus)
    assert (again.unchanged, again.changed, again.embedded_chunks) == (3, 0, 0)


def test_changed_file_replaces_old_chunks(corpus: Path, tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    idx.ingest(corpus)
    write(corpus, "alpha.txt", "The alpha reactor was converted to burn hydrogen pellets in 2031.")
    summary = idx.ingest(corpus)
    assert (summary.changed, summary.unchanged) == (1, 2)
    texts = [h.chunk.text for h in idx.search("alpha reactor", k=10)]
    assert any("hydrogen pellets" in t for t in texts)
    assert not any("molten salt" in t for t in texts)


def test_deleted_file_leaves_the_index(corpus: Path, tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    idx.ingest(corpus)
    (corpus / "sub" / "gamma.txt").unlink()
    summary = idx.ingest(corpus)
    assert summary.removed == 1
    assert all(h.source != "sub/gamma.txt" for h in idx.search("gamma rays radioactive decay", k=10))
    assert [d.source for d in idx.documents()] == ["alpha.txt", "beta.md"]


def test_renamed_file_is_not_reembedded(corpus: Path, tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    idx.ingest(corpus)
    (corpus / "alpha.txt").rename(corpus / "sub" / "alpha-renamed.txt")
    summary = idx.ingest(corpus)
    assert (summary.renamed, summary.removed, summary.added, summary.embedded_chunks) == (1, 0, 0, 0)
    hits = idx.search("molten salt reactor", k=3)
    assert hits[0].source == "sub/alpha-renamed.txt"


def test_dry_run_changes_nothing(corpus: Path, tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    plan = idx.ingest(corpus, dry_run=True)
    assert plan.dry_run and plan.added == 3 and plan.embedded_chunks == 0
    assert sorted(plan.plan["add"]) == ["alpha.txt", "beta.md", "sub/gamma.txt"]
    assert idx.documents() == []


def test_remove_by_source(corpus: Path, tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    idx.ingest(corpus)
    assert idx.remove("beta.md") == 1
    assert all(h.source != "beta.md" for h in idx.search("falcons desert", k=10))
    with pytest.raises(RagError, match="not in the index"):
        idx.remove("beta.md")


def test_broken_file_is_reported_and_others_go_in(corpus: Path, tmp_path: Path) -> None:
    (corpus / "broken.pdf").write_bytes(b"this is not a pdf at all")
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    summary = idx.ingest(corpus)
    assert summary.added == 3
    assert [f.source for f in summary.failed] == ["broken.pdf"]
    assert "broken.pdf" in summary.failed[0].error
    again = idx.ingest(corpus)  # reported again from the record, not re-read
    assert [f.source for f in again.failed] == ["broken.pdf"] and "--retry-failed" in again.failed[0].error
    (corpus / "broken.pdf").write_text("still not a pdf, but changed")
    assert "--retry-failed" not in idx.ingest(corpus).failed[0].error
    assert "--retry-failed" not in idx.ingest(corpus, retry_failed=True).failed[0].error


def test_failed_update_keeps_the_old_version(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    good = Path(__file__).parent.parent / "sample_docs" / "paper.pdf"
    (folder).mkdir()
    (folder / "paper.pdf").write_bytes(good.read_bytes())
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    assert idx.ingest(folder).added == 1
    (folder / "paper.pdf").write_bytes(good.read_bytes()[:300])  # truncated: the update fails
    summary = idx.ingest(folder)
    assert [f.source for f in summary.failed] == ["paper.pdf"]
    docs = idx.documents()
    assert len(docs) == 1 and docs[0].chunks > 0 and docs[0].error
    assert idx.search("corpus", k=3)


def test_other_embedder_is_a_clear_error(corpus: Path, tmp_path: Path) -> None:
    Index.open(tmp_path / "idx", embedder=EMBEDDER).ingest(corpus)
    with pytest.raises(IndexFormatError, match="rebuild"):
        Index.open(tmp_path / "idx", embedder="hashing-64")


def test_reopen_uses_the_recorded_embedder(corpus: Path, tmp_path: Path) -> None:
    Index.open(tmp_path / "idx", embedder=EMBEDDER).ingest(corpus)
    idx = Index.open(tmp_path / "idx")
    assert idx.embedder.name == EMBEDDER
    assert idx.search("falcons", k=1)[0].source == "beta.md"


def test_stale_faiss_file_is_rebuilt(corpus: Path, tmp_path: Path) -> None:
    Index.open(tmp_path / "idx", embedder=EMBEDDER).ingest(corpus)
    for f in (tmp_path / "idx").glob("vectors.*.faiss"):
        f.write_bytes(b"garbage")
    assert Index.open(tmp_path / "idx").search("falcons", k=1)[0].source == "beta.md"


def test_ragignore_leaves_files_out(corpus: Path, tmp_path: Path) -> None:
    write(corpus, ".ragignore", "# not documents\nsub\n*.xyz\n")
    summary = Index.open(tmp_path / "idx", embedder=EMBEDDER).ingest(corpus)
    assert (summary.added, summary.skipped) == (2, ())


def test_a_symlinked_folder_outside_is_refused_even_as_an_export(corpus: Path, tmp_path: Path) -> None:
    import zipfile

    outside = tmp_path / "elsewhere" / "slack"
    zipfile.ZipFile(Path(__file__).parent.parent / "sample_docs" / "slack_export.zip").extractall(outside)
    (corpus / "chat").symlink_to(outside, target_is_directory=True)
    (corpus / "inner").symlink_to(corpus / "sub", target_is_directory=True)   # inside: read at its real place
    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    summary = idx.ingest(corpus)
    refused = {s.source: s.reason for s in summary.skipped}
    assert "symlink points outside the folder" in refused["chat"] and "copy the folder in" in refused["chat"]
    assert "inner" not in refused and summary.added == 3
    assert sorted(d.source for d in idx.documents()) == ["alpha.txt", "beta.md", "sub/gamma.txt"]


def test_a_file_that_vanished_is_removed_and_one_that_is_unreadable_is_kept(corpus: Path, tmp_path: Path) -> None:
    from ingest.plan import make_plan
    from ingest.registry import default_registry
    from ingest.scan import scan_folder

    idx = Index.open(tmp_path / "idx", embedder=EMBEDDER)
    idx.ingest(corpus)
    (corpus / "alpha.txt").unlink()
    entries, _ = scan_folder(corpus, default_registry())
    records = idx.store.documents(str(corpus.resolve()))
    plan = make_plan(entries, records, unreadable=("sub",))       # as if sub/ could not be listed
    assert [r.source for r in plan.removed] == ["alpha.txt"]
    assert [r.source for r in plan.kept] == []                    # sub/gamma.txt was seen, so not "kept"
    entries = [e for e in entries if not e.source.startswith("sub/")]
    plan = make_plan(entries, records, unreadable=("sub",))
    assert [r.source for r in plan.removed] == ["alpha.txt"] and [r.source for r in plan.kept] == ["sub/gamma.txt"]
    plan = make_plan([], records, unreadable=(".",))             # the folder itself could not be read
    assert plan.removed == () and len(plan.kept) == 3

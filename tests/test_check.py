"""`rag check [--repair]` on real damage, and the cheap checks `rag ls`, `search`, `ask` and `ingest` run.

The index is conftest's `built` (four sample files, hashing embedder), copied per test and damaged in
its files: a flipped byte in a stored vector or a document record, a full-text block, a vector file, a
lost WAL, an index of format 1. Each time: `rag check` names the damage and the document, the commands
that would serve results from it refuse with the `rag check` hint (never a traceback), and
`rag check --repair` (or `rag ingest`) brings back an index whose results equal the intact one's.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from index_faults import copy_index, flip, flip_bytes_of, results, same_after_repair, vector_piece

from rag import Index
from rag.cli import main


@pytest.fixture
def index(built: Path, tmp_path: Path) -> Path:
    return copy_index(built, tmp_path / "idx")


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def check_json(index: Path, *more: str) -> tuple[int, dict]:
    code, out, err = cli("check", "--index", str(index), "--json", *more)
    return code, json.loads(out)


def test_an_intact_index_checks_ok(index: Path) -> None:
    code, report = check_json(index)
    assert code == 0 and report["ok"] and report["format"] == 2, report
    assert report["documents"] == 4 and report["chunks"] > 4 and report["findings"] == []
    code, out, _ = cli("check", "--index", str(index))
    assert code == 0 and ": ok —" in out


def test_a_flipped_vector_byte_is_named_refused_and_repaired(index: Path, built: Path) -> None:
    intact = results(built)
    flip_bytes_of(index / "rag.sqlite", vector_piece(index, "notes.md"), 0x40)
    code, report = check_json(index)
    assert code == 1 and not report["ok"]
    rows = [f for f in report["findings"] if f["part"] == "rows"]
    assert rows and rows[0]["documents"] == ["notes.md"], report
    code, _, err = cli("search", "hydrophones recalibrated", "--index", str(index))
    assert code == 1 and "rag check" in err and "notes.md" in err, err
    code, report = check_json(index, "--repair")
    assert code == 0 and report["ok"] and report["restored"] == ["notes.md"], report
    assert same_after_repair(results(index), intact)


def test_an_unchanged_ingest_reads_damaged_documents_again(index: Path, built: Path) -> None:
    intact = results(built)
    flip_bytes_of(index / "rag.sqlite", vector_piece(index, "meeting.txt"), 0x01)
    docs = built.parent / "docs"
    code, out, err = cli("ingest", str(docs), "--index", str(index), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["repaired"] == ["meeting.txt"], summary
    assert summary["unchanged"] == 3 and summary["added"] == 1 and summary["embedded_chunks"] > 0
    assert check_json(index)[1]["ok"] and same_after_repair(results(index), intact)


def test_a_record_that_is_not_utf8_any_more_is_a_message(index: Path, built: Path) -> None:
    intact = results(built)
    flip_bytes_of(index / "rag.sqlite", b"guide.html", 0x80)   # 'g' becomes 0xe7: not valid UTF-8 there
    code, _, err = cli("ls", "--index", str(index))
    assert code == 1 and "rag check" in err and "Traceback" not in err and "decode" not in err, err
    code, report = check_json(index)
    assert code == 1 and any(f["part"] in ("rows", "sqlite") for f in report["findings"]), report
    code, report = check_json(index, "--repair")
    assert code == 0 and report["ok"], report
    assert same_after_repair(results(index), intact)


def test_a_damaged_fulltext_block_is_refused_then_rebuilt(index: Path, built: Path) -> None:
    intact = results(built)
    db = sqlite3.connect(index / "rag.sqlite")
    row, block = db.execute("SELECT id, block FROM chunks_fts_data ORDER BY length(block) DESC LIMIT 1").fetchone()
    damaged = bytearray(block)
    damaged[len(damaged) // 2] ^= 0x10
    db.execute("UPDATE chunks_fts_data SET block = ? WHERE id = ?", (bytes(damaged), row))
    db.commit()
    db.close()
    code, report = check_json(index)
    assert code == 1 and any(f["part"] == "fts" for f in report["findings"]), report
    assert all(r.startswith("REFUSED") and "full-text" in r for r in results(index)[1:])
    code, report = check_json(index, "--repair")
    assert code == 0 and report["ok"] and "rebuilt the full-text index from the chunks" in report["repaired"]
    assert results(index) == intact


def test_a_damaged_vector_file_is_rebuilt_and_saved(index: Path, built: Path) -> None:
    intact = results(built)
    (faiss_file,) = index.glob("vectors.*.faiss")
    flip(faiss_file, faiss_file.stat().st_size - 100, 0x7F)   # inside the vectors
    code, report = check_json(index)
    assert code == 1 and "does not match its checksum" in json.dumps(report["findings"]), report
    assert results(index) == intact                 # a search rebuilds it from rag.sqlite …
    with Index.open(index, create=False) as idx:    # … and saved the rebuilt one: the next load uses it
        assert idx.vectors().rebuilt == ""
    assert check_json(index)[1]["ok"]


def test_a_lost_wal_is_a_rollback_that_names_the_lost_documents(index: Path, built: Path, tmp_path: Path) -> None:
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "late.md").write_text("# Late\n\nThe lighthouse keeper logs fog horns every night.\n")
    reader = sqlite3.connect(index / "rag.sqlite")        # an open reader keeps the checkpoint from finishing
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM chunks").fetchone()
    with Index.open(index) as idx:
        idx.ingest(extra)
    copy = copy_index(index, tmp_path / "copy")            # the files as a crash would leave them …
    reader.close()
    (copy / "rag.sqlite-wal").unlink()                     # … and then the WAL is lost
    code, _, err = cli("ls", "--index", str(copy))
    assert code == 1 and "committed changes were lost" in err and "late.md" in err, err
    code, _, err = cli("ingest", str(extra), "--index", str(copy))
    assert code == 1 and "rag check" in err, err
    code, report = check_json(copy)
    rollback = [f for f in report["findings"] if f["part"] == "rollback"]
    assert code == 1 and rollback and rollback[0]["documents"] == ["late.md"], report
    code, report = check_json(copy, "--repair")
    assert code == 0 and report["ok"] and report["restored"] == ["late.md"], report
    assert same_after_repair(results(copy), results(index))


def test_an_index_of_format_1_reads_unchanged_and_is_upgraded(index: Path, built: Path) -> None:
    db = sqlite3.connect(index / "rag.sqlite")
    for table, column in (("documents", "checksum"), ("documents", "contents"), ("sections", "checksum"),
                          ("chunks", "checksum")):
        db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'format_version'")
    db.commit()
    db.close()
    before = (index / "rag.sqlite").read_bytes()
    assert results(index) == results(built)
    assert (index / "rag.sqlite").read_bytes() == before        # read-only commands wrote nothing
    code, report = check_json(index)
    assert code == 0 and report["format"] == 1 and report["findings"][0]["part"] == "format"
    code, report = check_json(index, "--repair")
    assert code == 0 and report["format"] == 2 and report["findings"] == []
    assert "added checksums to every row (index format 1 → 2)" in report["repaired"]
    assert results(index) == results(built)


def test_odd_characters_in_the_index_path(built: Path, tmp_path: Path) -> None:
    odd = copy_index(built, tmp_path / "a#b%20c?d")
    assert check_json(odd)[1]["ok"]
    assert results(odd) == results(built)
    code, out, _ = cli("ls", "--index", str(odd))
    assert code == 0 and "notes.md" in out


def test_read_only_commands_never_create_an_index(tmp_path: Path) -> None:
    for command in (["ls"], ["search", "x"], ["ask", "x", "--llm", "none"], ["check"]):
        code, _, err = cli(*command, "--index", str(tmp_path / "no" / "such"))
        assert code == 1 and "no index there" in err and "rag ingest" in err, (command, err)
    assert not (tmp_path / "no").exists()
    (tmp_path / "empty").mkdir()
    assert cli("ls", "--index", str(tmp_path / "empty"))[0] == 1
    assert list((tmp_path / "empty").iterdir()) == []
    code, _, err = cli("ls", "--index", "")
    assert code == 1 and "empty" in err


def test_an_empty_index_answers_with_no_matches(tmp_path: Path) -> None:
    Index.open(tmp_path / "fresh", embedder="hashing-256").close()   # made, nothing ingested yet
    code, out, err = cli("search", "anything at all", "--index", str(tmp_path / "fresh"), "--json")
    assert code == 0 and json.loads(out) == {"hits": []}, err
    code, out, err = cli("ask", "anything at all", "--index", str(tmp_path / "fresh"), "--llm", "none", "--json")
    assert code == 0 and json.loads(out)["citations"] == [], err
    assert check_json(tmp_path / "fresh")[0] == 0


def test_a_question_that_is_not_valid_utf8(built: Path) -> None:
    from index_faults import no_traceback, rag

    question = b"caf\xe9 hydrophones \xff".decode("utf-8", "surrogateescape")   # as the shell hands it over
    result = rag("search", question, "--index", str(built), "--json", cwd=built.parent)
    no_traceback(result)
    assert result.returncode == 0 and json.loads(result.stdout)["hits"], result.stderr
    result = rag("ask", question, "--index", str(built), "--llm", "none", cwd=built.parent)
    no_traceback(result)
    assert result.returncode == 0, result.stderr


def test_an_unexpected_error_is_one_line_naming_it() -> None:
    from rag.messages import _message

    text = _message(ValueError("cannot reshape array"), None)
    assert text.startswith("internal error: ValueError: cannot reshape array") and "RAG_DEBUG=1" in text
    assert "disk is full" in _message(OSError(28, "No space left on device", "/x/rag.sqlite"), None)

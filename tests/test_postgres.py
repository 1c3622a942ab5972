"""The index on a real PostgreSQL + pgvector server (tests/pg_fixture.py): same results and the same
incremental semantics as the SQLite index, the same CLI contract, a URL never taken for a path, the password
never printed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import Index
from rag.cli import main
from rag.core.errors import RagError
from rag.store.postgres.url import is_url, redact, state_folder

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_docs"
EMBEDDER = "hashing-256"
QUERIES = ["training corpus", "who is the station manager", "installation requirements python",
           "meeting action items budget", "receipt total amount", "roadmap quarter goals", "café mode offline"]


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_urls_are_recognised_and_shown_without_the_password() -> None:
    assert is_url("postgresql://u:pw@h:5432/db") and is_url(" postgres://h/db")
    assert not is_url("./postgresql") and not is_url("rag-index")
    assert redact("postgresql://u:pw@h:5432/db") == "postgresql://u@h:5432/db"
    assert redact("postgresql://h/db?sslmode=require&password=pw") == "postgresql://h/db?sslmode=require&password=***"
    folder = state_folder("postgresql://u:pw@h:5432/db", {"RAG_STATE_DIR": "/s"})
    assert str(folder).startswith("/s/postgres/h_5432_db-") and "pw" not in str(folder)


def test_a_url_is_never_made_into_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           pg_server: object) -> None:
    from pg_fixture import free_port

    monkeypatch.chdir(tmp_path)
    url = f"postgresql://rag:pw@127.0.0.1:{free_port()}/rag"   # nothing listens there
    with pytest.raises(RagError, match="cannot reach the database server"):
        Index.open(url, embedder=EMBEDDER)
    code, _, err = cli("ingest", str(SAMPLES / "notes.md"), "--index", url, "--embedder", EMBEDDER)
    assert code == 1 and err.startswith("error: postgresql://rag@127.0.0.1") and "pw" not in err
    assert "check that PostgreSQL is running" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []   # no folder named postgresql:


def test_same_documents_and_hits_as_sqlite(pg_url: str, tmp_path: Path) -> None:
    results = {}
    for where in (pg_url, str(tmp_path / "index")):
        with Index.open(where, embedder=EMBEDDER) as idx:
            summary = idx.ingest(SAMPLES)
            docs = [(d.source, d.chunks, d.content_hash, d.status) for d in idx.documents()]
            hits = [[(h.source, h.chunk.chunk_id, h.chunk.locator, round(h.score, 4)) for h in idx.search(q, 5)]
                    for q in QUERIES]
            results[where] = (summary.added, summary.embedded_chunks, docs, hits)
    on_pg, on_sqlite = results.values()
    assert on_pg[0] > 10 and on_pg[:3] == on_sqlite[:3]
    for query, pg_hits, sqlite_hits in zip(QUERIES, on_pg[3], on_sqlite[3], strict=True):
        # the same passages in the same order; BM25's scores differ only by the stemmer (Snowball, Porter)
        assert [h[:3] for h in pg_hits] == [h[:3] for h in sqlite_hits], query
        assert all(abs(p[3] - s[3]) < 0.02 for p, s in zip(pg_hits, sqlite_hits, strict=True)), query


def test_incremental_semantics(pg_url: str, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("notes.md", "meeting.txt", "guide.html", "paper.pdf"):
        shutil.copy2(SAMPLES / name, docs / name)
    with Index.open(pg_url, embedder=EMBEDDER) as idx:
        first = idx.ingest(docs)
        assert (first.added, first.failed) == (4, ())
        paper_chunks = {d.source: d.chunks for d in idx.documents()}["paper.pdf"]
        again = idx.ingest(docs)
        assert (again.unchanged, again.embedded_chunks) == (4, 0)
        (docs / "notes.md").write_text((docs / "notes.md").read_text() + "\n\nThe kelp survey starts in May.\n")
        (docs / "meeting.txt").rename(docs / "minutes.txt")
        (docs / "guide.html").unlink()
        (docs / "paper.pdf").write_bytes(b"%PDF-1.4 this is not a PDF any more")
        summary = idx.ingest(docs)
        assert (summary.changed, summary.renamed, summary.removed) == (1, 1, 1)
        assert [f.source for f in summary.failed] == ["paper.pdf"]
        assert summary.reused_chunks > 0 and summary.embedded_chunks < summary.reused_chunks + 5
        listed = {d.source: d for d in idx.documents()}
        assert sorted(listed) == ["minutes.txt", "notes.md", "paper.pdf"]
        assert listed["paper.pdf"].chunks == paper_chunks and listed["paper.pdf"].error   # the older good version
        assert idx.search("kelp survey", 1)[0].source == "notes.md"
        assert idx.remove(str(docs / "notes.md")) == 1
        assert "notes.md" not in {d.source for d in idx.documents()}
        assert all(h.source != "notes.md" for h in idx.search("kelp survey", 5))


def test_cli_ls_search_ask_rm(pg_url: str) -> None:
    code, out, _ = cli("ingest", str(SAMPLES / "notes.md"), "--index", pg_url, "--embedder", EMBEDDER, "--json")
    assert code == 0 and json.loads(out)["added"] == 1
    shown = redact(pg_url)
    code, out, _ = cli("ls", "--index", pg_url)
    assert code == 0 and out.splitlines()[0] == f"index: {shown}" and "notes.md" in out and "s3cret" not in out
    code, out, _ = cli("ls", "--index", pg_url, "--json")
    listing = json.loads(out)
    assert listing["index"] == shown and [d["source"] for d in listing["documents"]] == ["notes.md"]
    code, out, _ = cli("search", "station manager", "--index", pg_url, "--json")
    assert code == 0 and json.loads(out)["hits"][0]["source"] == "notes.md"
    code, out, _ = cli("ask", "Who is the station manager?", "--index", pg_url, "--llm", "none", "--json")
    assert code == 0 and "Priya Raman" in json.loads(out)["answer"]
    code, out, _ = cli("rm", "notes.md", "--index", pg_url)
    assert code == 0 and "removed 1 document" in out
    code, out, _ = cli("ls", "--index", pg_url, "--json")
    assert json.loads(out)["documents"] == []


def test_the_json_contract_holds_on_a_database(pg_url: str, tmp_path: Path) -> None:
    """The shared contract checker, with every --index it passes pointed at the database."""
    wrapper = tmp_path / "rag-pg"
    wrapper.write_text(f"""#!{sys.executable}
import sys
args = sys.argv[1:]
if "--index" in args:
    args[args.index("--index") + 1] = {pg_url!r}
sys.argv = ["rag", *args]
from rag.cli import main
main()
""")
    wrapper.chmod(0o755)
    tool = ROOT.parent / "shared" / "tools" / "check_cli_contract.py"
    if not tool.is_file():
        pytest.skip(f"{tool} is absent (it sits beside the checkout)")
    env = {**os.environ, "RAG_EMBEDDER": EMBEDDER}
    done = subprocess.run([sys.executable, str(tool), str(SAMPLES), "--rag", str(wrapper)], capture_output=True,
                          text=True, timeout=600, cwd=ROOT, env=env)
    assert done.returncode == 0 and "contract holds" in done.stdout, done.stdout + done.stderr


def test_where_the_index_is_when_no_flag_says(tmp_path: Path) -> None:
    from rag.config import index_location

    here, user = tmp_path / "here", tmp_path / "user.toml"
    here.mkdir()
    url = "postgresql://rag:pw@db.example:5432/rag"
    assert index_location({}, here, user) == ("rag-index", ())
    user.write_text(f'index = "{url}"\n')
    assert index_location({}, here, user) == (url, ())
    assert index_location({"RAG_INDEX": "/srv/idx"}, here, user) == ("/srv/idx", ())
    (here / "rag.toml").write_text('index = "./shared-index"\ntop_k = 3\n')
    assert index_location({}, here, user) == ("./shared-index", ())
    (here / "rag.toml").write_text('index = "postgresql://evil@203.0.113.9/steal"\n')
    location, notes = index_location({}, here, user)
    assert location == url and "ignored index (a database URL)" in notes[0]


def test_rag_toml_index_reaches_the_cli(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    (config / "rag").mkdir(parents=True)
    (config / "rag" / "rag.toml").write_text(f'index = "{pg_url}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("RAG_INDEX", raising=False)
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("ingest", str(SAMPLES / "notes.md"), "--embedder", EMBEDDER, "--json")
    assert code == 0 and json.loads(out)["added"] == 1
    code, out, _ = cli("ls", "--json")
    assert json.loads(out)["index"] == redact(pg_url) and not (tmp_path / "rag-index").exists()


def test_check_on_a_database(pg_url: str) -> None:
    """(The app, chat and eval on a database index: tests/test_postgres_faces.py.)"""
    cli("ingest", str(SAMPLES / "notes.md"), "--index", pg_url, "--embedder", EMBEDDER)
    code, out, _ = cli("check", "--index", pg_url, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["documents"] == 1 and report["index"] == redact(pg_url)
    code, _, err = cli("check", "--index", pg_url, "--repair")
    assert code == 1 and "no derived files to rebuild" in err

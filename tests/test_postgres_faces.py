"""`rag chat`, `rag eval` and the app on a database index (a real PostgreSQL + pgvector server:
tests/pg_fixture.py). Conversations, uploads and the app's settings go in this machine's folder for the
database ($RAG_STATE_DIR here), never in a folder named after the URL, and the password is never shown.

The index uses the hashing embedder (no model) and `--llm none` (the extractive reader).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLES
from test_eval import write_beir, write_qa_docs

from rag import Index
from rag.chat.conversations import ConversationStore
from rag.cli import main
from rag.config import FILE_NAME, Settings, save_settings
from rag.llm.protocol import LLMSettings
from rag.store.postgres.url import local_folder, redact

EMBEDDER = "hashing-256"
QUESTION = "What corpus was Lumen trained on?"
PASSWORD = "s3cret-pw"   # tests/pg_fixture.py
APP = str(ROOT / "ui" / "app.py")


def no_url_folder(where: Path) -> bool:
    """Nothing under `where` is named after a URL (the bug: a folder `postgresql:` in the current folder)."""
    return not any(p.name.startswith(("postgresql", "postgres:")) for p in where.rglob("*"))


def ingest(url: str, *names: str) -> None:
    with Index.open(url, embedder=EMBEDDER) as idx:
        for name in names:
            assert idx.ingest(SAMPLES / name).added == 1


def chat(url: str, lines: list[str], *args: str) -> str:
    """`rag chat` in its own process, its questions piped to stdin (no terminal)."""
    done = subprocess.run([sys.executable, "-m", "rag.cli", "chat", "--index", url, "--llm", "none", *args],
                          input="".join(f"{line}\n" for line in lines), capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TERM": "dumb"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    return done.stdout


def test_chat_on_a_database_index(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ingest(pg_url, "paper.pdf")
    out = chat(pg_url, [QUESTION, "and how big was it?"])
    assert "Harbor-7 corpus of 1.2 million field notes" in out and "[1] paper.pdf, p. 2 (printed 102)" in out
    assert "searched for: How big was it? (about: corpus, Lumen" in out   # the second turn follows the first
    folder = local_folder(pg_url)
    assert folder.is_relative_to(tmp_path / "state") and PASSWORD not in str(folder)
    with ConversationStore.open(folder) as store:
        [conv] = store.all()
        assert [t.question for t in store.turns(conv.id)] == [QUESTION, "and how big was it?"]
    again = chat(pg_url, ["and who wrote the paper?"], "--conversation", str(conv.id))
    assert f"conversation {conv.id}: {QUESTION} (2 turns)" in again
    with ConversationStore.open(folder) as store:
        assert store.get(conv.id).turns == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"] and no_url_folder(tmp_path)


def test_eval_on_a_database_index(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BEIR and QA figures on the database are those of a SQLite index; the results go to its local folder."""
    beir = write_beir(tmp_path / "set")
    qa = write_qa_docs(tmp_path / "docs")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("RAG_EMBEDDER", EMBEDDER)
    figures = {}
    for where in (pg_url, str(tmp_path / "sqlite")):
        Index.open(where).close()
        result = CliRunner().invoke(main, ["eval", str(beir), "--index", where, "--json"])
        assert result.exit_code == 0, result.output
        assert CliRunner().invoke(main, ["ingest", str(tmp_path / "docs"), "--index", where]).exit_code == 0
        answers = CliRunner().invoke(main, ["eval", str(qa), "--index", where, "--llm", "none", "-k", "3", "--json"])
        assert answers.exit_code == 0, answers.output
        scores = {k: v for k, v in json.loads(answers.output).items() if k != "seconds_per_question"}
        figures[where] = (json.loads(result.output), scores)
    beir_pg, qa_pg = figures[pg_url]
    assert beir_pg["queries"] == 4 and beir_pg["ndcg@10"] == pytest.approx(1.0) and qa_pg["hit@3"] == 1.0
    assert figures[pg_url] == figures[str(tmp_path / "sqlite")]
    rows = (local_folder(pg_url) / "eval" / "set-test.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(r)["query_id"]: json.loads(r)["top10"][0] for r in rows}["q2"] == "d4"
    assert list(work.iterdir()) == [] and no_url_folder(tmp_path)


# --- the app ---------------------------------------------------------------------------------------

@pytest.fixture
def app_url(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database as the app's index ($RAG_INDEX), paper.pdf uploaded, `--llm none` in its local rag.toml."""
    import streamlit as st

    from ui.upload import save_and_ingest

    st.cache_resource.clear()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAG_INDEX", pg_url)
    monkeypatch.delenv("RAG_LLM", raising=False)
    monkeypatch.delenv("RAG_TOP_K", raising=False)
    local = local_folder(pg_url)
    local.mkdir(parents=True)
    save_settings(local / FILE_NAME, Settings(llm=LLMSettings(backend="none"), embedder=EMBEDDER))
    with Index.open(pg_url, embedder=EMBEDDER) as idx:
        [status] = save_and_ingest(idx, [("paper.pdf", (SAMPLES / "paper.pdf").read_bytes())])
    assert status.status == "added" and (local / "uploads" / "paper.pdf").is_file()
    return pg_url


def test_the_app_answers_from_a_database_index(app_url: str, tmp_path: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from ui.app import PAGES

    at = AppTest.from_file(APP, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join(str(c.value) for c in at.sidebar.caption)
    assert f"Index: {redact(app_url)}" in shown and PASSWORD not in shown
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Harbor-7" in "\n".join(str(m.value) for m in at.markdown)
    [chip] = [b for b in at.button if (b.key or "").startswith("cite-")]
    assert chip.label == "[1] paper.pdf, p. 2 (printed 102)"
    chip.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "page 2 of 3: the quoted passage" in str(at.image[0].proto.imgs[0].caption)   # the uploaded file
    at.sidebar.radio(key="page").set_value(PAGES[1]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [r["document"] for r in at.dataframe[0].value.to_dict("records")] == ["paper.pdf"]
    with ConversationStore.open(local_folder(app_url)) as store:
        assert [c.title for c in store.all()] == [QUESTION]
    assert no_url_folder(tmp_path)


def test_rag_app_serves_a_database_index(app_url: str, tmp_path: Path) -> None:
    """`rag app --index postgresql://…` in a real process: it starts, says where the conversations are kept,
    and prints the URL without its password."""
    from ui.browser import RunningApp

    log = tmp_path / "app.log"
    with RunningApp(app_url, log=log):
        pass
    text = log.read_text(encoding="utf-8")
    assert f"(index {redact(app_url)}; conversations and uploads in {local_folder(app_url)}" in text
    assert PASSWORD not in text and no_url_folder(tmp_path)


def test_rag_app_with_a_wrong_password_fails_at_once(pg_server: object, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = pg_server.url(password="not-the-password")  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, ["app", "--index", url, "--port", "1"])
    assert result.exit_code == 1 and "refused the user name or password" in result.output
    assert "not-the-password" not in result.output and list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_upload_and_ask_in_a_browser_on_a_database(pg_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The real app in headless chromium on a database index: upload a PDF, ask, open the citation."""
    from contextlib import closing

    from ui.browser import RunningApp, ask, chromium, click_button, text_xpath, upload, wait_for

    monkeypatch.chdir(tmp_path)
    local = local_folder(pg_url)
    local.mkdir(parents=True)
    save_settings(local / FILE_NAME, Settings(llm=LLMSettings(backend="none"), embedder=EMBEDDER))
    with RunningApp(pg_url, log=tmp_path / "app.log") as app, closing(chromium()) as driver:
        driver.get(app.url)
        wait_for(driver, text_xpath("Conversations"))
        status = upload(driver, [SAMPLES / "paper.pdf"])
        assert "paper.pdf — added" in status["paper.pdf"], status
        ask(driver, QUESTION)
        wait_for(driver, "//button[contains(normalize-space(.), '[1] paper.pdf, p. 2 (printed 102)')]")
        assert "Harbor-7 corpus of 1.2 million field notes" in driver.page_source
        click_button(driver, "[1] paper.pdf, p. 2 (printed 102)")
        wait_for(driver, text_xpath("page 2 of 3: the quoted passage"))
        assert "Traceback" not in driver.page_source and PASSWORD not in driver.page_source
    assert (local / "uploads" / "paper.pdf").is_file() and no_url_folder(tmp_path)
    with Index.open(pg_url, create=False) as idx:
        assert [d.source for d in idx.documents()] == ["paper.pdf"]

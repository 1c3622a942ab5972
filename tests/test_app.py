"""The Streamlit app through streamlit.testing's AppTest: upload and ingest, library, chat with citations
and the source viewer, follow-up rewrite, history across a restart, settings, and readable errors.

The index uses the hashing embedder (no model) and either `--llm none` or a fake OpenAI-compatible
server on 127.0.0.1 that speaks the real HTTP protocol (streaming included).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLES

from rag import Index
from rag.answer.prompts import REWRITE_SYSTEM_PROMPT
from rag.config import FILE_NAME, Settings, load_settings, save_settings
from rag.llm.protocol import LLMSettings

APP = str(ROOT / "ui" / "app.py")
QUESTION = "What corpus was Lumen trained on?"
ANSWER = "Lumen was trained on the Harbor-7 corpus of 1.2 million field notes [1]."
REWRITTEN = "How big was the Harbor-7 corpus that Lumen was trained on?"


# --- a fake OpenAI-compatible server ---------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)  # type: ignore[attr-defined]
        rewriting = body["messages"][0]["content"] == REWRITE_SYSTEM_PROMPT
        text = REWRITTEN if rewriting else self.server.reply  # type: ignore[attr-defined]
        if body.get("stream"):
            self.stream(body["model"], text)
            return
        reply = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                 "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream(self, model: str, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = [w + " " for w in text.split(" ")]
        for i, word in enumerate(words):
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": word},
                                  "finish_reason": "stop" if i == len(words) - 1 else None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.requests, srv.reply = [], ANSWER  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def openai(port: int) -> LLMSettings:
    return LLMSettings(backend="openai", model="fake-model", base_url=f"http://127.0.0.1:{port}/v1", timeout=5)


# --- the app on an index ---------------------------------------------------------------------------

def make_index(folder: Path, llm: LLMSettings, files: tuple[str, ...] = ("paper.pdf",)) -> Index:
    from ui.upload import save_and_ingest

    idx = Index.open(folder, embedder="hashing-256")
    save_settings(folder / FILE_NAME, Settings(llm=llm))
    statuses = save_and_ingest(idx, [(name, (SAMPLES / name).read_bytes()) for name in files])
    assert [s.status for s in statuses] == ["added"] * len(files)
    return idx


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import streamlit as st

    st.cache_resource.clear()
    path = tmp_path / "index"
    monkeypatch.setenv("RAG_INDEX", str(path))
    monkeypatch.delenv("RAG_LLM", raising=False)
    monkeypatch.delenv("RAG_TOP_K", raising=False)
    return path


def start() -> object:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=90).run()
    assert_clean(at)
    return at


def assert_clean(at: object) -> None:
    assert not at.exception, [e.value for e in at.exception]  # type: ignore[attr-defined]


def ask(at: object, question: str) -> None:
    at.chat_input[0].set_value(question).run()  # type: ignore[attr-defined]
    assert_clean(at)


def buttons(at: object, prefix: str) -> list[object]:
    return [b for b in at.button if (b.key or "").startswith(prefix)]  # type: ignore[attr-defined]


def texts(elements: object) -> str:
    return "\n".join(str(e.value) for e in elements)  # type: ignore[attr-defined]


def go_to_library(at: object) -> None:
    from ui.app import PAGES

    at.sidebar.radio(key="page").set_value(PAGES[1]).run()  # type: ignore[attr-defined]
    assert_clean(at)


# --- tests -------------------------------------------------------------------------------------------

def test_upload_then_library_lists_the_file(folder: Path) -> None:
    from ui.upload import save_and_ingest

    idx = make_index(folder, LLMSettings(backend="none"))
    again = save_and_ingest(idx, [("paper.pdf", (SAMPLES / "paper.pdf").read_bytes()),
                                  ("../../etc/notes.md", (SAMPLES / "notes.md").read_bytes()),
                                  ("tool.exe", b"MZ\x90\x00"), ("big.txt", b"x" * 60_000)], max_bytes=50_000)
    assert [(s.name, s.saved_as, s.status) for s in again] == [
        ("paper.pdf", "paper.pdf", "unchanged"), ("../../etc/notes.md", "notes.md", "added"),
        ("tool.exe", "", "rejected"), ("big.txt", "", "rejected")]
    assert "supported:" in again[2].detail and ".pdf" in again[2].detail and "limit" in again[3].detail
    assert sorted(p.name for p in (folder / "uploads").iterdir()) == ["notes.md", "paper.pdf"]
    at = start()
    go_to_library(at)
    table = at.dataframe[0].value  # type: ignore[attr-defined]
    rows = {r["document"]: r for r in table.to_dict("records")}
    assert set(rows) == {"paper.pdf", "notes.md"}
    assert rows["paper.pdf"]["kind"] == "pdf" and rows["paper.pdf"]["pages / duration"] == "3 pages"
    assert rows["paper.pdf"]["chunks"] >= 3 and rows["paper.pdf"]["status"] == "ok"


def test_a_damaged_upload_fails_with_the_reason(folder: Path) -> None:
    from ui.upload import save_and_ingest

    idx = make_index(folder, LLMSettings(backend="none"))
    [status] = save_and_ingest(idx, [("broken.pdf", b"%PDF-1.4\nthis is not really a pdf\n")])
    assert status.status == "failed" and "broken.pdf" in status.detail and "—" in status.detail


def test_ask_shows_citations_and_the_source(folder: Path) -> None:
    make_index(folder, LLMSettings(backend="none"))
    at = start()
    ask(at, QUESTION)
    assert "Harbor-7" in texts(at.markdown)  # type: ignore[attr-defined]
    [chip] = buttons(at, "cite-")
    assert chip.label == "[1] paper.pdf, p. 2 (printed 102)"  # type: ignore[attr-defined]
    assert any(e.label == "Prompt sent to the model" for e in at.expander)  # type: ignore[attr-defined]
    assert "Harbor-7" in texts(at.code)  # type: ignore[attr-defined]
    chip.click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert "page 2 of 3: the quoted passage" in str(at.image[0].proto.imgs[0].caption)  # type: ignore[attr-defined]
    assert any(e.label == "The whole page" for e in at.expander)  # type: ignore[attr-defined]


def test_follow_up_is_rewritten_and_shown(folder: Path) -> None:
    make_index(folder, LLMSettings(backend="none"))
    at = start()
    ask(at, QUESTION)
    ask(at, "and how big was it?")
    searched = [c.value for c in at.caption if c.value.startswith("Searched for:")]  # type: ignore[attr-defined]
    assert len(searched) == 1 and "Lumen" in searched[0] and "corpus" in searched[0]
    assert len(buttons(at, "cite-")) == 2
    assert texts(at.markdown).count("1.2 million field notes") == 2  # type: ignore[attr-defined]


def test_history_survives_a_restart(folder: Path) -> None:
    import streamlit as st

    make_index(folder, LLMSettings(backend="none"))
    ask(start(), QUESTION)
    st.cache_resource.clear()          # a new process: nothing kept in memory
    at = start()
    [conv] = buttons(at, "conv-") [1:]
    assert conv.label == QUESTION  # type: ignore[attr-defined]
    conv.click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert "Harbor-7" in texts(at.markdown) and len(buttons(at, "cite-")) == 1  # type: ignore[attr-defined]


def test_rename_and_delete_a_conversation(folder: Path) -> None:
    make_index(folder, LLMSettings(backend="none"))
    at = start()
    ask(at, QUESTION)
    conv_key = buttons(at, "conv-")[1].key  # type: ignore[attr-defined]
    number = conv_key.removeprefix("conv-")
    at.text_input(key=f"title-{number}").set_value("Lumen's corpus").run()  # type: ignore[attr-defined]
    at.button(key=f"rename-{number}").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert at.button(key=conv_key).label == "Lumen's corpus"  # type: ignore[attr-defined]
    at.button(key=f"delete-{number}").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert buttons(at, "conv-")[1:] == []


def test_remember_this_from_the_app(folder: Path) -> None:
    make_index(folder, LLMSettings(backend="none"))
    at = start()
    ask(at, QUESTION)
    number = buttons(at, "conv-")[1].key.removeprefix("conv-")  # type: ignore[attr-defined]
    at.button(key=f"remember-{number}").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert "from our conversation on" in texts(at.success)  # type: ignore[attr-defined]
    assert len(list((folder / "memory").glob("conversation-*.md"))) == 1


def test_remove_a_document(folder: Path) -> None:
    make_index(folder, LLMSettings(backend="none"), ("paper.pdf", "notes.md"))
    at = start()
    go_to_library(at)
    choice = next(o for o in at.selectbox(key="remove-choice").options if o.startswith("paper.pdf"))  # type: ignore[attr-defined]
    at.selectbox(key="remove-choice").set_value(choice).run()  # type: ignore[attr-defined]
    at.button(key="remove").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert [r["document"] for r in at.dataframe[0].value.to_dict("records")] == ["notes.md"]  # type: ignore[attr-defined]
    assert not (folder / "uploads" / "paper.pdf").exists()
    assert "Removed paper.pdf." in texts(at.success)  # type: ignore[attr-defined]


def test_reingest_a_folder(folder: Path, tmp_path: Path) -> None:
    idx = make_index(folder, LLMSettings(backend="none"))
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "notes.md").write_bytes((SAMPLES / "notes.md").read_bytes())
    idx.ingest(extra)
    (extra / "meeting.txt").write_bytes((SAMPLES / "meeting.txt").read_bytes())
    at = start()
    go_to_library(at)
    box = at.selectbox(key="reingest-folder")  # type: ignore[attr-defined]
    assert sorted(box.options) == sorted([str(extra.resolve()), str((folder / "uploads").resolve())])
    box.set_value(str(extra.resolve())).run()
    at.button(key="reingest").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert "added 1" in texts(at.success)  # type: ignore[attr-defined]
    assert "meeting.txt" in [r["document"] for r in at.dataframe[0].value.to_dict("records")]  # type: ignore[attr-defined]


def test_streamed_answer_and_model_rewrite(folder: Path, server: ThreadingHTTPServer) -> None:
    make_index(folder, openai(server.server_port))
    at = start()
    ask(at, QUESTION)
    assert ANSWER in texts(at.markdown)  # type: ignore[attr-defined]
    assert [b.label for b in buttons(at, "cite-")] == ["[1] paper.pdf, p. 2 (printed 102)"]  # type: ignore[attr-defined]
    assert server.requests[0]["stream"] is True  # type: ignore[attr-defined]
    ask(at, "and how big was it?")
    assert f"Searched for: {REWRITTEN}" in texts(at.caption)  # type: ignore[attr-defined]
    rewrite_request = server.requests[1]["messages"]  # type: ignore[attr-defined]
    assert QUESTION in rewrite_request[1]["content"] and "and how big was it?" in rewrite_request[1]["content"]
    assert REWRITTEN in server.requests[2]["messages"][1]["content"]  # type: ignore[attr-defined]


def test_llm_server_down_shows_a_message(folder: Path, server: ThreadingHTTPServer) -> None:
    port = server.server_port
    make_index(folder, openai(port))
    server.shutdown()
    server.server_close()               # nothing listens on the port any more
    at = start()
    ask(at, QUESTION)
    message = texts(at.error)  # type: ignore[attr-defined]
    assert f"The LLM server at http://127.0.0.1:{port}/v1 did not answer" in message
    assert "choose another backend" in message and "Traceback" not in message
    assert buttons(at, "conv-")[1:] == []   # a failed first question leaves no empty conversation
    print(message)


def test_index_built_with_another_embedder_shows_a_message(folder: Path) -> None:
    make_index(folder, LLMSettings(backend="none")).close()
    (folder / FILE_NAME).write_text('embedder = "hashing-64"\n\n[llm]\nbackend = "none"\n', encoding="utf-8")
    at = start()
    message = texts(at.error)  # type: ignore[attr-defined]
    assert "built with embedder hashing-256" in message and "rag.toml" in message


def test_settings_apply_at_once_and_are_saved(folder: Path, server: ThreadingHTTPServer) -> None:
    make_index(folder, LLMSettings(backend="none"))
    at = start()
    at.selectbox(key="set-backend").set_value("openai").run()  # type: ignore[attr-defined]
    at.text_input(key="set-url-openai").set_value(f"http://127.0.0.1:{server.server_port}/v1").run()  # type: ignore[attr-defined]
    at.text_input(key="set-model-openai").set_value("fake-model").run()  # type: ignore[attr-defined]
    at.number_input(key="set-top-k").set_value(3).run()  # type: ignore[attr-defined]
    assert_clean(at)
    saved = load_settings(folder, {}, environ={}, cwd=folder)
    assert (saved.llm.backend, saved.llm.model, saved.top_k) == ("openai", "fake-model", 3)
    ask(at, QUESTION)
    assert ANSWER in texts(at.markdown) and len(server.requests) == 1  # type: ignore[attr-defined]


def test_app_command_binds_localhost_without_usage_stats() -> None:
    from rag.launch import streamlit_command

    cmd = streamlit_command(8765)
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags["--server.address"] == "127.0.0.1" and flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.headless"] == "true" and flags["--server.port"] == "8765"
    assert cmd[3:5] == ["run", str(ROOT / "ui" / "app.py")]


@pytest.mark.parametrize(("name", "expected"), [
    ("paper.pdf", "paper.pdf"), ("../../etc/passwd.txt", "passwd.txt"), ("C:\\Users\\me\\notes.md", "notes.md"),
    ("bad\x00name\x1b.md", "badname.md"), (".hidden.md", "hidden.md"), ("...", "upload"),
    ("<script>.html", "_script_.html"), ("x" * 300 + ".pdf", "x" * 116 + ".pdf")])
def test_safe_names(name: str, expected: str) -> None:
    from ui.upload import safe_name

    assert safe_name(name) == expected


def test_name_clash_keeps_both_files(tmp_path: Path) -> None:
    from ui.upload import save_upload

    a = save_upload(tmp_path, "a.txt", b"one")
    b = save_upload(tmp_path, "a.txt", b"two")
    c = save_upload(tmp_path, "a.txt", b"one")
    assert (a.name, b.name, c.name) == ("a.txt", "a (2).txt", "a.txt")


def test_pdf_page_has_the_quote_highlighted() -> None:
    from ui.pdfpage import highlighted_page, quote_span

    quote = "Lumen was trained on the Harbor-7 corpus of 1.2 million field notes, written by volunteer observers"
    shown = highlighted_page(SAMPLES / "paper.pdf", 2, quote)
    assert len(shown.boxes) == 2 and shown.page_count == 3      # the quote spans two lines
    assert all(0 <= left < right <= shown.image.width for left, _, right, _ in shown.boxes)
    assert highlighted_page(SAMPLES / "paper.pdf", 1, quote).boxes == ()
    assert quote_span("Lumen was trai-\r\nned on it", "Lumen was trained") == (0, 20)


def test_viewer_kinds() -> None:
    from ui.viewer import marked_html, slack_html, source_kind

    assert source_kind("pdf", Path("a.pdf"), {"page": 2}) == "pdf"
    assert source_kind("image", Path("r.jpg"), {}) == "image"
    assert source_kind("audio", Path("m.mp3"), {"start": 12.0, "end": 19.0}) == "audio"
    assert source_kind("slack", Path("export.zip"), {"channel": "general", "date": "2026-01-02"}) == "slack"
    assert source_kind("notion", Path("n.zip"), {"notion_path": "Projects/API"}) == "notion"
    assert source_kind("markdown", Path("n.md"), {"heading": "A"}) == "text"
    assert source_kind("vtt", Path("talk.vtt"), {"start": 0.0, "end": 16.2}) == "text"   # times, no sound
    assert source_kind("video", Path("v.mp4"), {"start": 3.0}) == "video"
    assert marked_html("a <b> c", (2, 5)) == ('<div class="rag-source" style="white-space: pre-wrap; '
                                              'line-height: 1.5">a <mark>&lt;b&gt;</mark> c</div>')
    assert "<b>anna: </b>hello" in slack_html("anna: hello\nbo: hi", (0, 5))

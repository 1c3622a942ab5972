"""`rag serve` as its users meet it: the real server on a free 127.0.0.1 port over the sample documents, called
with the official `openai` client (chat, streaming, citations) and with httpx (search, ask, documents), and
its JSON compared with the CLI's."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from fake_openai import fake_chat_server
from serve_fixture import RAG, copy_index, running

QUESTION = "What corpus was Lumen trained on?"
FOLLOW_UP = "and how big was it?"


@pytest.fixture(scope="module")
def index(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_index(built, tmp_path_factory.mktemp("serve") / "samples")


@pytest.fixture(scope="module")
def server(index: Path) -> Iterator[str]:
    with running(index) as base:
        yield base


@pytest.fixture(scope="module")
def client(server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key="not-needed-on-loopback", max_retries=0)


def cli_json(*args: str) -> dict:
    out = subprocess.run([RAG, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_models_lists_the_index(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list().data] == ["samples"]
    assert client.models.retrieve("samples").id == "samples"


def test_chat_answers_with_markers_and_citations(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="samples", messages=[
        {"role": "system", "content": "You are helpful."}, {"role": "user", "content": QUESTION}],
        temperature=0.2, top_p=0.9, n=1, max_tokens=200, stop=["\n\n"], user="u-1", seed=3,
        response_format={"type": "text"}, extra_body={"some_field_no_one_knows": {"x": 1}})
    message = response.choices[0].message
    assert response.model == "samples" and response.choices[0].finish_reason == "stop"
    assert "Harbor-7 corpus of 1.2 million field notes" in message.content
    citations = message.model_extra["citations"]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", message.content)}
    assert markers and markers <= {c["number"] for c in citations}
    first = citations[0]
    assert set(first) == {"number", "source", "locator", "quote", "start", "end"}
    assert first["source"] == "paper.pdf" and first["locator"] == {"page": 2, "page_label": "102"}
    assert first["end"] - first["start"] == len(first["quote"])
    assert response.to_dict()["choices"][0]["message"]["citations"] == citations


def test_streamed_chat_is_the_same_answer_with_citations_last(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="samples", messages=[{"role": "user", "content": QUESTION}])
    chunks = list(client.chat.completions.create(model="samples", stream=True,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    assert len(chunks) > 3 and all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.choices[0].delta.model_extra["citations"] == whole.choices[0].message.model_extra["citations"]
    assert all("citations" not in (c.choices[0].delta.model_extra or {}) for c in chunks[:-1])


def test_stream_ends_with_done_and_usage_when_asked(server: str) -> None:
    body = {"model": "samples", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", f"{server}/v1/chat/completions", json=body, timeout=60) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: "):] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    usage = json.loads(events[-2])
    assert usage["choices"] == [] and usage["usage"]["total_tokens"] == 0 and usage["citations"]


def test_follow_up_uses_the_earlier_turns(client: openai.OpenAI) -> None:
    """The same rewrite as the app and `rag chat` (tests/test_chat.py asserts the same searched text)."""
    first = client.chat.completions.create(model="samples", messages=[{"role": "user", "content": QUESTION}])
    messages = [{"role": "user", "content": QUESTION},
                {"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": [{"type": "text", "text": FOLLOW_UP}]}]
    follow = client.chat.completions.create(model="samples", messages=messages)
    assert follow.model_extra["searched"].startswith("How big was it? (about: corpus, Lumen, trained")
    assert follow.choices[0].message.model_extra["citations"][0]["source"] == "paper.pdf"
    alone = client.chat.completions.create(model="samples", messages=[{"role": "user", "content": FOLLOW_UP}])
    assert alone.model_extra["searched"] == FOLLOW_UP


def test_search_ask_and_documents_are_the_cli_json(server: str, index: Path) -> None:
    search = httpx.post(f"{server}/v1/search", json={"query": "training corpus", "k": 3}, timeout=60)
    assert search.status_code == 200
    assert search.json() == cli_json("search", "training corpus", "-k", "3", "--index", str(index), "--json")
    ask = httpx.post(f"{server}/v1/ask", json={"question": QUESTION}, timeout=60)
    assert ask.json() == cli_json("ask", QUESTION, "--llm", "none", "--index", str(index), "--json")
    assert "Harbor-7" in ask.json()["answer"] and ask.json()["model"]
    with_prompt = httpx.post(f"{server}/v1/ask", json={"question": QUESTION, "show_prompt": True}, timeout=60)
    assert "prompt" in with_prompt.json() and "prompt" not in ask.json()
    listed = httpx.get(f"{server}/v1/documents", timeout=60).json()
    expected = cli_json("ls", "--index", str(index), "--json")
    assert listed == expected
    assert sorted(d["source"] for d in listed["documents"]) == ["guide.html", "meeting.txt", "notes.md", "paper.pdf"]


def test_upload_then_delete_a_document(server: str, index: Path) -> None:
    note = b"The lighthouse keeper of Brackwater is called Ottoline Vere. She keeps a cat named Pim.\n"
    r = httpx.post(f"{server}/v1/documents", files={"file": ("keeper notes.md", note, "text/markdown")}, timeout=120)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "added" and body["saved_as"] == "keeper notes.md" and body["chunks"] >= 1
    assert body["document"]["source"] == "keeper notes.md" and (index / "uploads" / "keeper notes.md").is_file()
    hits = httpx.post(f"{server}/v1/search", json={"query": "lighthouse keeper Ottoline", "k": 1}).json()["hits"]
    assert hits[0]["source"] == "keeper notes.md"
    again = httpx.post(f"{server}/v1/documents", files={"file": ("keeper notes.md", note)}, timeout=120)
    assert again.status_code == 201 and again.json()["status"] == "unchanged"
    gone = httpx.delete(f"{server}/v1/documents/keeper notes.md", timeout=60)
    assert gone.status_code == 200 and gone.json() == {"removed": 1, "source": "keeper notes.md"}
    assert not (index / "uploads" / "keeper notes.md").exists()
    sources = [d["source"] for d in httpx.get(f"{server}/v1/documents").json()["documents"]]
    assert "keeper notes.md" not in sources
    hits = httpx.post(f"{server}/v1/search", json={"query": "lighthouse keeper Ottoline", "k": 3}).json()["hits"]
    assert all(h["source"] != "keeper notes.md" for h in hits)


@pytest.mark.parametrize(("name", "data", "status", "words"), [
    ("tool.exe", b"MZ\x90\x00", 415, ".exe files cannot be ingested — supported:"),
    ("empty.txt", b"", 400, "the file is empty"),
    ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf\n", 422, "broken.pdf: "),
])
def test_upload_refuses_what_the_app_refuses(server: str, name: str, data: bytes, status: int, words: str) -> None:
    r = httpx.post(f"{server}/v1/documents", files={"file": (name, data)}, timeout=60)
    assert r.status_code == status and words in r.json()["error"]["message"]
    assert r.json()["error"]["param"] == "file"


def test_many_clients_at_once_get_the_same_answers_as_one(server: str) -> None:
    """The one read-only Index is shared by the thread pool: concurrent searches and answers are not mixed up."""
    from concurrent.futures import ThreadPoolExecutor

    queries = ["training corpus", "data steward", "survey boat engine", "annual review", "field station"]
    alone = {q: httpx.post(f"{server}/v1/search", json={"query": q, "k": 3}, timeout=60).json() for q in queries}
    answer = httpx.post(f"{server}/v1/ask", json={"question": QUESTION}, timeout=60).json()

    def call(i: int) -> bool:
        if i % 3 == 0:
            return httpx.post(f"{server}/v1/ask", json={"question": QUESTION}, timeout=120).json() == answer
        q = queries[i % len(queries)]
        return httpx.post(f"{server}/v1/search", json={"query": q, "k": 3}, timeout=120).json() == alone[q]

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(call, range(48)))


def test_searches_are_answered_while_an_upload_is_ingested(server: str) -> None:
    """Readers never wait for the writer: searches come back while a large upload is still being ingested."""
    text = "\n\n".join(f"Paragraph {i}: the tide gauge at pier {i % 37} read {i * 7 % 113} centimetres on survey "
                       f"day {i}, and the observers noted gulls, terns and {i % 11} seals." for i in range(12000))
    done = threading.Event()
    result: dict[str, httpx.Response] = {}

    def upload() -> None:
        result["r"] = httpx.post(f"{server}/v1/documents", files={"file": ("tides.txt", text.encode())}, timeout=300)
        done.set()

    worker = threading.Thread(target=upload)
    worker.start()
    during, slowest = 0, 0.0
    while not done.is_set():
        start = time.monotonic()
        r = httpx.post(f"{server}/v1/search", json={"query": "Harbor-7 corpus", "k": 2}, timeout=60)
        took = time.monotonic() - start
        assert r.status_code == 200 and r.json()["hits"]
        if not done.is_set():
            during, slowest = during + 1, max(slowest, took)
        time.sleep(0.05)
    worker.join()
    assert result["r"].status_code == 201, result["r"].text
    print(f"{during} searches during the upload, slowest {slowest:.2f} s")
    assert during >= 3, f"only {during} searches finished while the upload ran"   # the upload took a while
    assert slowest < 5.0
    assert httpx.delete(f"{server}/v1/documents/tides.txt", timeout=60).status_code == 200


def test_an_upload_waits_for_another_process_writing_the_index(server: str, index: Path) -> None:
    from rag.store.lock import WriteLock

    lock = WriteLock(index, 0)   # as a `rag ingest` in another process holds it
    threading.Timer(2.0, lock.release).start()
    start = time.monotonic()
    r = httpx.post(f"{server}/v1/documents", files={"file": ("later.txt", b"Written after the lock was free.")},
                   timeout=120)
    assert r.status_code == 201 and r.json()["status"] == "added", r.text
    assert time.monotonic() - start >= 1.9
    assert httpx.delete(f"{server}/v1/documents/later.txt", timeout=60).status_code == 200


def test_chat_through_a_model_server(built: Path, tmp_path: Path) -> None:
    """--llm openai: the question goes to the (fake) model with the passages; the reply keeps its markers."""
    index = copy_index(built, tmp_path / "samples")
    reply = "Lumen was trained on the Harbor-7 corpus of 1.2 million field notes [1]."
    with fake_chat_server(reply) as fake:
        url = f"http://127.0.0.1:{fake.server_address[1]}/v1"
        with running(index, "--llm", "openai", "--base-url", url, "--model", "fake-model",
                     env={"OPENAI_API_KEY": "sk-fake"}) as base:
            client = openai.OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0)
            response = client.chat.completions.create(model="samples",
                                                      messages=[{"role": "user", "content": QUESTION}])
    message = response.choices[0].message
    assert "Harbor-7 corpus" in message.content and "[1]" in message.content
    assert message.model_extra["citations"][0]["source"] == "paper.pdf"
    sent = json.dumps(fake.requests[-1])
    assert fake.requests[-1]["model"] == "fake-model" and QUESTION in sent and "Harbor-7" in sent


@pytest.mark.slow
def test_the_default_model_answers_two_clients_at_once(built: Path, tmp_path: Path) -> None:
    """The bundled model (the default --llm), asked by two clients at once: one question at a time reaches
    it (it is not thread-safe), both get cited answers, and a search is served while they wait."""
    index = copy_index(built, tmp_path / "samples")
    with running(index, "--llm", "embedded", timeout=120) as base:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0, timeout=600)
        answers: dict[str, object] = {}

        def ask(name: str, stream: bool) -> None:
            made = client.chat.completions.create(model="samples", stream=stream,
                                                  messages=[{"role": "user", "content": QUESTION}])
            answers[name] = list(made) if stream else made

        threads = [threading.Thread(target=ask, args=(name, name == "streamed")) for name in ("whole", "streamed")]
        for t in threads:
            t.start()
        time.sleep(0.5)
        start = time.monotonic()
        assert httpx.post(f"{base}/v1/search", json={"query": "Harbor-7"}, timeout=60).json()["hits"]
        searched_in = time.monotonic() - start
        for t in threads:
            t.join(timeout=600)
    whole, streamed = answers["whole"], answers["streamed"]
    assert isinstance(whole, openai.types.chat.ChatCompletion) and isinstance(streamed, list)
    assert whole.model == "samples" and "Harbor-7" in whole.choices[0].message.content
    assert whole.choices[0].message.model_extra["citations"][0]["source"] == "paper.pdf"
    assert "Harbor-7" in "".join(c.choices[0].delta.content or "" for c in streamed)
    assert streamed[-1].choices[0].delta.model_extra["citations"][0]["source"] == "paper.pdf"
    assert searched_in < 10, f"a search waited {searched_in:.1f} s for the model"

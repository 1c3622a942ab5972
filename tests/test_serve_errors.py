"""`rag serve` refusing what it must: bad requests get a 4xx JSON error in OpenAI's shape that says what to fix
(never a traceback, never a 500); a non-loopback bind without a key does not start; with a key, every
request but /health needs it."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from serve_fixture import RAG, copy_index, free_port, running

CHAT = "/v1/chat/completions"
ASK = [{"role": "user", "content": "What corpus was Lumen trained on?"}]


@pytest.fixture(scope="module")
def server(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running(copy_index(built, tmp_path_factory.mktemp("errors") / "samples")) as base:
        yield base


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), [
    ("POST", CHAT, b'{"messages": [', 400, "not valid JSON"),
    ("POST", CHAT, b"", 400, "body is missing"),
    ("POST", CHAT, b"[1, 2]", 400, "the body must be one JSON object, sent with Content-Type: application/json"),
    ("POST", CHAT, b"{}", 400, "messages: Field required"),
    ("POST", CHAT, b'{"messages": []}', 400, "messages: List should have at least 1 item"),
    ("POST", CHAT, b'{"messages": "hello"}', 400, "messages: Input should be a valid list"),
    ("POST", CHAT, b'{"messages": [{"role": "robot", "content": "hi"}]}', 400, "messages.0.role"),
    ("POST", CHAT, b'{"messages": [{"role": "user", "content": "  "}]}', 400, "the question (the last user message) "
                                                                           "is empty"),
    ("POST", CHAT, b'{"messages": [{"role": "assistant", "content": "hi"}]}', 400, "end `messages` with the user's"),
    ("POST", CHAT, b'{"messages": [{"role": "user", "content": "hi"}], "stream": "often"}', 400, "stream:"),
    ("POST", CHAT, b'{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}', 400, "temperature:"),
    ("POST", "/v1/search", b'{"query": ""}', 400, "query: String should have at least 1 character"),
    ("POST", "/v1/search", b'{"query": "x", "k": 0}', 400, "k: Input should be greater than or equal to 1"),
    ("POST", "/v1/ask", b'{"question": 3}', 400, "question: Input should be a valid string"),
    ("POST", "/v1/ask", b'{"question": "   "}', 400, "the question is empty"),
    ("POST", "/v1/documents", b"", 400, "file: Field required"),
    ("DELETE", "/v1/documents/never-ingested.pdf", b"", 404, "never-ingested.pdf: not in the index"),
    ("GET", "/v1/models/gpt-4o", b"", 404, "this server's one model is 'samples'"),
    ("GET", "/v2/anything", b"", 404, "no such route: GET /v2/anything — this server answers"),
    ("PUT", "/v1/search", b"", 405, "method not allowed — use POST"),
    ("PATCH", "/v1/documents", b"", 405, "method not allowed — use GET or POST"),
])
def test_bad_requests_get_a_4xx_that_says_what_to_fix(server: str, method: str, path: str, body: bytes,
                                                      status: int, words: str) -> None:
    r = httpx.request(method, f"{server}{path}", content=body, headers=JSON, timeout=60)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert words in error["message"] and error["type"].endswith("_error")
    assert "Traceback" not in r.text


def test_a_body_without_the_json_content_type_says_so(server: str) -> None:
    """`curl -d '{…}'` without -H sends a form's Content-Type."""
    r = httpx.post(f"{server}/v1/search", content=b'{"query": "corpus"}',
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert "(this one came as application/x-www-form-urlencoded)" in r.json()["error"]["message"]


def test_a_huge_body_is_refused_before_it_is_read(server: str) -> None:
    huge = b'{"messages": [{"role": "user", "content": "' + b"a" * 2_000_000 + b'"}]}'
    r = httpx.post(f"{server}{CHAT}", content=huge, headers=JSON, timeout=60)
    assert r.status_code == 413 and "over the limit of 1 MB" in r.json()["error"]["message"]

    def chunked() -> Iterator[bytes]:   # no Content-Length: counted as it arrives
        yield huge[:1000]
        yield huge[1000:]

    r = httpx.post(f"{server}{CHAT}", content=chunked(), headers=JSON, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["type"] == "invalid_request_error"


def test_an_overlong_question_is_refused(server: str) -> None:
    r = httpx.post(f"{server}{CHAT}", json={"messages": [{"role": "user", "content": "word " * 5000}]}, timeout=60)
    assert r.status_code == 400 and "over the limit of 20,000" in r.json()["error"]["message"]


def test_the_openai_client_raises_its_own_errors(server: str) -> None:
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="samples", messages=[])
    assert "messages" in caught.value.message


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10"])
def test_a_non_loopback_bind_without_a_key_does_not_start(built: Path, host: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "RAG_NO_NETWORK": "1", "HOME": str(built.parent)}
    out = subprocess.run([RAG, "serve", "--index", str(built), "--host", host, "--port", str(free_port())],
                         capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
    assert f"--host {host} serves every document" in out.stderr and "--api-key-file FILE or set $RAG_API_KEY" \
        in out.stderr


def test_an_empty_key_file_is_refused(built: Path, tmp_path: Path) -> None:
    (tmp_path / "key").write_text("\n")
    out = subprocess.run([RAG, "serve", "--index", str(built), "--api-key-file", str(tmp_path / "key")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "the API key file is empty" in out.stderr


def test_with_a_key_every_request_needs_it(built: Path, tmp_path: Path) -> None:
    (tmp_path / "key").write_text("s3cret-key-for-tests\n")
    index = copy_index(built, tmp_path / "samples")
    with running(index, "--api-key-file", str(tmp_path / "key")) as base:
        assert httpx.get(f"{base}/health").status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-key-for-tests"}):
            r = httpx.post(f"{base}/v1/search", json={"query": "corpus"}, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
            assert "Authorization: Bearer KEY" in r.json()["error"]["message"]
        assert httpx.get(f"{base}/openapi.json").status_code == 401
        spec = httpx.get(f"{base}/openapi.json", headers={"Authorization": "Bearer s3cret-key-for-tests"}).json()
        assert spec["security"] == [{"apiKey": []}] and spec["paths"]["/health"]["get"]["security"] == []
        assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
        ok = httpx.post(f"{base}/v1/search", json={"query": "corpus"},
                        headers={"Authorization": "Bearer s3cret-key-for-tests"})
        assert ok.status_code == 200 and ok.json()["hits"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{base}/v1", api_key="wrong", max_retries=0).models.list()
        good = openai.OpenAI(base_url=f"{base}/v1", api_key="s3cret-key-for-tests", max_retries=0)
        answer = good.chat.completions.create(model="samples", messages=ASK)
        assert answer.choices[0].message.model_extra["citations"]


def test_the_key_can_come_from_the_environment(built: Path, tmp_path: Path) -> None:
    index = copy_index(built, tmp_path / "samples")
    with running(index, env={"RAG_API_KEY": "from-env"}) as base:
        assert httpx.get(f"{base}/v1/models").status_code == 401
        assert httpx.get(f"{base}/v1/models", headers={"Authorization": "Bearer from-env"}).status_code == 200


def test_a_wrong_method_names_the_methods_the_route_has(server: str) -> None:
    r = httpx.patch(f"{server}/v1/documents", timeout=60)
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


def test_a_port_in_use_is_one_line_that_says_so(built: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([RAG, "serve", "--index", str(built), "--llm", "none", "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == f"error: cannot listen on 127.0.0.1 port {port} (Address already in use) — pass another " \
                         "--port, or stop what uses it\n"


def test_removing_a_name_two_folders_hold_needs_the_root(built: Path, tmp_path: Path) -> None:
    index = copy_index(built, tmp_path / "samples")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.md").write_text("# Other notes\n\nThe ferry leaves at nine.\n")
    with running(index) as base:
        ingested = subprocess.run([RAG, "ingest", str(other), "--index", str(index), "--json"], capture_output=True,
                                  text=True, timeout=120)   # another process writes while the server runs
        assert ingested.returncode == 0, ingested.stderr
        r = httpx.delete(f"{base}/v1/documents/notes.md", timeout=60)
        assert r.status_code == 409 and "2 documents have this name" in r.json()["error"]["message"]
        assert str(other.resolve()) in r.json()["error"]["message"]
        r = httpx.delete(f"{base}/v1/documents/notes.md", params={"root": str(other.resolve())}, timeout=60)
        assert r.status_code == 200 and r.json()["removed"] == 1
        roots = {d["root"] for d in httpx.get(f"{base}/v1/documents").json()["documents"] if d["source"] == "notes.md"}
    assert roots and str(other.resolve()) not in roots

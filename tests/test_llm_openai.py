"""The OpenAI-compatible backend against a fake server speaking the real HTTP protocol on loopback."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.core.errors import ConfigError, LLMError
from rag.llm.protocol import LLMSettings
from rag.llm.registry import make_backend

REPLY_PIECES = ["The answer ", "is ", "42."]
MESSAGES = [("system", "Answer from the context."), ("user", "What is the answer?")]


class FakeOpenAI(BaseHTTPRequestHandler):
    """POST /v1/chat/completions, as JSON or as server-sent events when the body asks to stream."""

    server: FakeServer

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
        elif self.server.status != 200:
            self.reply_json({"error": {"message": "no such key", "type": "auth"}}, self.server.status)
        elif body.get("stream"):
            self.reply_stream(body["model"])
        else:
            message = {"role": "assistant", "content": "".join(REPLY_PIECES)}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            self.reply_json(
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [choice],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
                }
            )

    def reply_json(self, payload: object, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def reply_stream(self, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        deltas = [{"role": "assistant", "content": piece} for piece in REPLY_PIECES] + [{}]
        for delta in deltas:
            choice = {"index": 0, "delta": delta, "finish_reason": "stop" if not delta else None}
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [choice],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


class FakeServer(ThreadingHTTPServer):
    requests: list[dict]
    status: int


@pytest.fixture
def server() -> Iterator[FakeServer]:
    httpd = FakeServer(("127.0.0.1", 0), FakeOpenAI)
    httpd.requests, httpd.status = [], 200
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def settings_for(port: int, **changes: object) -> LLMSettings:
    fields: dict = {
        "backend": "openai",
        "model": "fake-7b",
        "base_url": f"http://127.0.0.1:{port}/v1",
        "api_key_env": "RAG_TEST_KEY",
        "max_tokens": 16,
        "timeout": 5.0,
    }
    return LLMSettings(**{**fields, **changes})


def test_complete_sends_our_messages_model_and_key(server: FakeServer, monkeypatch) -> None:
    monkeypatch.setenv("RAG_TEST_KEY", "sk-test-123")
    backend = make_backend(settings_for(server.server_address[1]))
    assert (backend.name, backend.model) == ("openai", "fake-7b")
    assert backend.complete(MESSAGES) == "The answer is 42."
    (request,) = server.requests
    assert request["body"]["model"] == "fake-7b"
    assert request["body"]["messages"] == [{"role": r, "content": c} for r, c in MESSAGES]
    assert request["body"]["max_tokens"] == 16
    assert request["headers"]["Authorization"] == "Bearer sk-test-123"


def test_render_shows_the_messages_as_sent(server: FakeServer) -> None:
    backend = make_backend(settings_for(server.server_address[1]))
    backend.complete(MESSAGES)
    assert json.loads(backend.render(MESSAGES)) == server.requests[0]["body"]["messages"]


def test_keyless_server_gets_a_placeholder_key(server: FakeServer, monkeypatch) -> None:
    monkeypatch.delenv("RAG_TEST_KEY", raising=False)
    make_backend(settings_for(server.server_address[1])).complete(MESSAGES)
    assert server.requests[0]["headers"]["Authorization"].startswith("Bearer ")


def test_stream_yields_the_pieces(server: FakeServer) -> None:
    backend = make_backend(settings_for(server.server_address[1]))
    assert list(backend.stream(MESSAGES)) == REPLY_PIECES
    assert server.requests[0]["body"]["stream"] is True


def test_rejected_key_names_the_variable(server: FakeServer) -> None:
    server.status = 401
    backend = make_backend(settings_for(server.server_address[1]))
    with pytest.raises(LLMError, match=r"\$RAG_TEST_KEY"):
        backend.complete(MESSAGES)


def test_http_error_names_the_server(server: FakeServer) -> None:
    server.status = 404
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    with pytest.raises(LLMError, match="HTTP 404") as err:
        make_backend(settings_for(server.server_address[1])).complete(MESSAGES)
    assert url in str(err.value)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("call", ["complete", "stream"])
def test_server_down_names_the_url_and_the_way_out(call: str) -> None:
    port = closed_port()
    backend = make_backend(settings_for(port))
    with pytest.raises(LLMError) as err:
        list(getattr(backend, call)(MESSAGES)) if call == "stream" else backend.complete(MESSAGES)
    message = str(err.value)
    assert f"http://127.0.0.1:{port}/v1" in message and "not reachable" in message
    assert "--llm embedded" in message


@pytest.mark.parametrize("missing", ["base_url", "model"])
def test_missing_url_or_model_names_flag_and_variable(missing: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_backend(settings_for(1, **{missing: None}))
    flag, env = {"base_url": ("--base-url", "RAG_BASE_URL"), "model": ("--model", "RAG_MODEL")}[missing]
    assert flag in str(err.value) and env in str(err.value)

"""The Ollama backend against a fake Ollama server (POST /api/chat, JSON or NDJSON) on loopback."""

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

REPLY_PIECES = ["Paris ", "is the ", "capital."]
MESSAGES = [("system", "Answer from the context."), ("user", "What is the capital of France?")]


class FakeOllama(BaseHTTPRequestHandler):
    """POST /api/chat: one JSON object, or one JSON object per line when `stream` is true."""

    server: FakeServer

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body})
        if self.path != "/api/chat":
            self.send_error(404)
        elif body["model"] not in self.server.models:
            self.reply(404, [{"error": f"model '{body['model']}' not found"}])
        elif body.get("stream"):
            parts = [self.part(body["model"], piece, done=False) for piece in REPLY_PIECES]
            self.reply(200, [*parts, self.part(body["model"], "", done=True)], content="application/x-ndjson")
        else:
            self.reply(200, [self.part(body["model"], "".join(REPLY_PIECES), done=True)])

    @staticmethod
    def part(model: str, content: str, done: bool) -> dict:
        message = {"role": "assistant", "content": content}
        part = {"model": model, "created_at": "2025-01-01T00:00:00Z", "message": message, "done": done}
        if done:
            part.update(done_reason="stop", prompt_eval_count=12, eval_count=3)
        return part

    def reply(self, status: int, objects: list[dict], content: str = "application/json") -> None:
        data = "".join(json.dumps(obj) + "\n" for obj in objects).encode()
        self.send_response(status)
        self.send_header("Content-Type", content)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class FakeServer(ThreadingHTTPServer):
    requests: list[dict]
    models: set[str]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    httpd = FakeServer(("127.0.0.1", 0), FakeOllama)
    httpd.requests, httpd.models = [], {"llama3.2"}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def settings_for(port: int, **changes: object) -> LLMSettings:
    fields: dict = {
        "backend": "ollama",
        "model": "llama3.2",
        "base_url": f"http://127.0.0.1:{port}",
        "max_tokens": 16,
        "temperature": 0.0,
        "context_window": 4096,
        "timeout": 5.0,
    }
    return LLMSettings(**{**fields, **changes})


def test_complete_sends_our_messages_and_options(server: FakeServer) -> None:
    backend = make_backend(settings_for(server.server_address[1]))
    assert (backend.name, backend.model) == ("ollama", "llama3.2")
    assert backend.complete(MESSAGES) == "Paris is the capital."
    (request,) = server.requests
    body = request["body"]
    assert body["model"] == "llama3.2" and body["stream"] is False
    assert body["messages"] == [{"role": r, "content": c} for r, c in MESSAGES]
    assert body["options"]["num_predict"] == 16 and body["options"]["num_ctx"] == 4096
    assert body["options"]["temperature"] == 0.0


def test_render_shows_the_messages_as_sent(server: FakeServer) -> None:
    backend = make_backend(settings_for(server.server_address[1]))
    backend.complete(MESSAGES)
    assert json.loads(backend.render(MESSAGES)) == server.requests[0]["body"]["messages"]


def test_stream_yields_the_pieces(server: FakeServer) -> None:
    backend = make_backend(settings_for(server.server_address[1]))
    assert list(backend.stream(MESSAGES)) == REPLY_PIECES
    assert server.requests[0]["body"]["stream"] is True


def test_unknown_model_says_to_pull_it(server: FakeServer) -> None:
    backend = make_backend(settings_for(server.server_address[1], model="mistral"))
    with pytest.raises(LLMError, match="ollama pull mistral"):
        backend.complete(MESSAGES)


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
    assert f"http://127.0.0.1:{port}" in message and "not reachable" in message
    assert "--llm embedded" in message


def test_missing_model_names_flag_and_variable() -> None:
    with pytest.raises(ConfigError, match="--model.*RAG_MODEL"):
        make_backend(settings_for(1, model=None))


def test_default_url_is_local() -> None:
    backend = make_backend(settings_for(1, base_url=None))
    assert backend.base_url == "http://127.0.0.1:11434"  # type: ignore[attr-defined]

"""An Ollama server via llama-index's `Ollama` (the `ollama` client; `POST {base_url}/api/chat`).

The server applies the model's own chat template to the messages, so `render` shows the messages
exactly as they are sent, as JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rag.core.errors import ConfigError, LLMError
from rag.llm.messages import offline_llama_index, render_json, to_chat_messages
from rag.llm.protocol import LLMSettings, Message

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

DEFAULT_URL = "http://127.0.0.1:11434"
FALLBACK = "start it (ollama serve), or use --llm embedded or --llm none"


class OllamaBackend:
    """A chat backend talking to one Ollama server."""

    name = "ollama"

    def __init__(self, llm: LLM, settings: LLMSettings, base_url: str) -> None:
        self._llm = llm
        self._settings = settings
        self.base_url = base_url
        self.model = settings.model or ""

    def render(self, messages: list[Message]) -> str:
        return render_json(messages)

    def complete(self, messages: list[Message]) -> str:
        chat = to_chat_messages(messages)
        with translated_errors(self.base_url, self.model):
            response = self._llm.chat(chat)
        return response.message.content or ""

    def stream(self, messages: list[Message]) -> Iterator[str]:
        chat = to_chat_messages(messages)
        with translated_errors(self.base_url, self.model):
            for part in self._llm.stream_chat(chat):
                if part.delta:
                    yield part.delta


def make(settings: LLMSettings) -> OllamaBackend:
    """Build the backend; nothing is sent until `complete` or `stream`."""
    if not settings.model:
        raise ConfigError(
            "--llm ollama needs a model name (--model or $RAG_MODEL, or model under [llm] in rag.toml), "
            "e.g. --model llama3.2 — or use --llm embedded"
        )
    base_url = (settings.base_url or DEFAULT_URL).rstrip("/")
    offline_llama_index()
    try:
        from llama_index.llms.ollama import Ollama
    except ImportError as exc:
        from rag.core.errors import MissingDependency

        raise MissingDependency("llama-index-llms-ollama", pip="llama-index-llms-ollama") from exc
    llm = Ollama(
        model=settings.model,
        base_url=base_url,
        temperature=settings.temperature,
        context_window=settings.context_window,
        request_timeout=settings.timeout,
        additional_kwargs={"num_predict": settings.max_tokens},
        is_function_calling_model=False,
    )
    return OllamaBackend(llm, settings, base_url)


@contextmanager
def translated_errors(url: str, model: str) -> Iterator[None]:
    """Turn the ollama client's errors into one clear LLMError."""
    import httpx
    from ollama import ResponseError

    try:
        yield
    except ResponseError as exc:
        if exc.status_code == 404:
            raise LLMError(
                f"Ollama at {url} does not have model {model!r}: {exc.error} — run `ollama pull {model}`, "
                "or pick another with --model"
            ) from exc
        raise LLMError(f"Ollama at {url} answered HTTP {exc.status_code}: {exc.error} — {FALLBACK}") from exc
    except (ConnectionError, httpx.TransportError) as exc:  # refused, DNS, timeout
        reason = exc.__cause__ or exc.__context__ or exc
        raise LLMError(f"LLM server at {url} is not reachable: {reason} — {FALLBACK}") from exc

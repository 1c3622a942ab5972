"""Any OpenAI-compatible chat server (OpenAI, vLLM, llama.cpp server, LM Studio, …) via llama-index's
`OpenAILike`. The messages go to `POST {base_url}/chat/completions` exactly as `render` shows them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rag.core.errors import ConfigError, LLMError
from rag.llm.messages import offline_llama_index, render_json, to_chat_messages
from rag.llm.protocol import LLMSettings, Message

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

KEYLESS = "no-key"
"""Sent as the key when the key's variable is unset: local servers usually ignore it."""

FALLBACK = "start it, or use --llm embedded or --llm none"


class OpenAICompatBackend:
    """A chat backend talking to one OpenAI-compatible server."""

    name = "openai"

    def __init__(self, llm: LLM, settings: LLMSettings) -> None:
        self._llm = llm
        self._settings = settings
        self.model = settings.model or ""

    def render(self, messages: list[Message]) -> str:
        return render_json(messages)

    def complete(self, messages: list[Message]) -> str:
        chat = to_chat_messages(messages)
        with translated_errors(self._settings):
            response = self._llm.chat(chat)
        return response.message.content or ""

    def stream(self, messages: list[Message]) -> Iterator[str]:
        chat = to_chat_messages(messages)
        with translated_errors(self._settings):
            for part in self._llm.stream_chat(chat):
                if part.delta:
                    yield part.delta


def make(settings: LLMSettings) -> OpenAICompatBackend:
    """Build the backend; nothing is sent until `complete` or `stream`."""
    check_settings(settings)
    offline_llama_index()
    try:
        from llama_index.llms.openai_like import OpenAILike
    except ImportError as exc:
        from rag.core.errors import MissingDependency

        raise MissingDependency("llama-index-llms-openai-like", pip="llama-index-llms-openai-like") from exc
    llm = OpenAILike(
        model=settings.model or "",  # check_settings has made sure it is set
        api_base=settings.base_url,
        api_key=os.environ.get(settings.api_key_env) or KEYLESS,
        is_chat_model=True,
        is_function_calling_model=False,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        context_window=settings.context_window,
        timeout=settings.timeout,
        max_retries=1,
    )
    return OpenAICompatBackend(llm, settings)


def check_settings(settings: LLMSettings) -> None:
    missing = [
        f"{what} (--{flag} or ${env})"
        for what, value, flag, env in (
            ("the server's URL", settings.base_url, "base-url", "RAG_BASE_URL"),
            ("the model name", settings.model, "model", "RAG_MODEL"),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"--llm openai needs {' and '.join(missing)}, e.g. --base-url http://127.0.0.1:8080/v1 "
            "--model my-model (or base_url/model under [llm] in rag.toml) — or use --llm embedded"
        )


@contextmanager
def translated_errors(settings: LLMSettings) -> Iterator[None]:
    """Turn the OpenAI client's errors into one clear LLMError."""
    import openai

    try:
        yield
    except openai.OpenAIError as exc:
        raise server_error(exc, settings) from exc


def server_error(exc: Exception, settings: LLMSettings) -> LLMError:
    import openai

    url = settings.base_url
    if isinstance(exc, openai.AuthenticationError):
        return LLMError(
            f"LLM server at {url} rejected the API key (HTTP 401) — put a valid key in "
            f"${settings.api_key_env} (or name another variable with --api-key-env / RAG_API_KEY_ENV)"
        )
    if isinstance(exc, openai.APIConnectionError):  # refused, DNS, timeout
        reason = exc.__cause__ or exc
        return LLMError(f"LLM server at {url} is not reachable: {reason} — {FALLBACK}")
    if isinstance(exc, openai.APIStatusError):
        return LLMError(
            f"LLM server at {url} answered HTTP {exc.status_code}: {exc.message} — check the model name "
            f"{settings.model!r} (--model / RAG_MODEL) and the URL (--base-url / RAG_BASE_URL), or {FALLBACK}"
        )
    return LLMError(f"LLM server at {url} failed: {type(exc).__name__}: {exc} — {FALLBACK}")

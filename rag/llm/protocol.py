"""What every LLM backend is: the ChatBackend Protocol, the settings it is built from, a message.

A backend renders the exact prompt text it sends (`render`), so the prompt is always inspectable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

Message = tuple[str, str]
"""(role, content) with role in {"system", "user", "assistant"}."""


@dataclass(frozen=True)
class LLMSettings:
    backend: str = "embedded"          # embedded | openai | ollama | none
    model: str | None = None           # model name (openai/ollama) or a .gguf path (embedded)
    base_url: str | None = None        # openai: http://host:port/v1 ; ollama: http://127.0.0.1:11434
    api_key_env: str = "OPENAI_API_KEY"  # the environment variable that holds the key (openai)
    temperature: float = 0.0
    max_tokens: int = 384
    context_window: int = 8192
    timeout: float = 120.0


class ChatBackend(Protocol):
    name: str
    model: str

    def render(self, messages: list[Message]) -> str:
        """The exact prompt text sent to the model for these messages."""
        ...

    def complete(self, messages: list[Message]) -> str: ...

    def stream(self, messages: list[Message]) -> Iterator[str]: ...


BackendFactory = Callable[[LLMSettings], ChatBackend]

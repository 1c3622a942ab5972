"""The registry of LLM backends: name -> factory (`none` is handled by the extractive answerer)."""

from __future__ import annotations

from rag.core.errors import ConfigError
from rag.llm.protocol import BackendFactory, ChatBackend, LLMSettings


def backends() -> dict[str, BackendFactory]:
    """The backend factories by name; each backend module is imported only when the registry is read."""
    from rag.llm import embedded, ollama, openai_compat

    return {"embedded": embedded.make, "openai": openai_compat.make, "ollama": ollama.make}


def make_backend(settings: LLMSettings) -> ChatBackend:
    registry = backends()
    if settings.backend not in registry:
        valid = ", ".join([*registry, "none"])
        raise ConfigError(f"unknown LLM backend {settings.backend!r} — choose one of: {valid}")
    return registry[settings.backend](settings)

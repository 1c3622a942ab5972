"""The registry of LLM backends: name -> factory (`none` is handled by the extractive answerer)."""

from __future__ import annotations

from collections.abc import Callable

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


def preload(settings: LLMSettings) -> Callable[[], None]:
    """Start loading the embedded model in a thread, so that it loads while retrieval runs; the function
    returned waits for it. A failure is left for `make_backend` to raise again in the caller's thread."""
    if settings.backend != "embedded":
        return lambda: None
    import threading

    def load() -> None:
        try:
            make_backend(settings)
        except Exception:  # noqa: BLE001 - raised again, with its message, by the caller's make_backend
            pass

    thread = threading.Thread(target=load, name="rag-model-load", daemon=True)
    thread.start()
    return thread.join

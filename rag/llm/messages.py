"""Our `(role, content)` messages as llama-index sees them, and as the user sees them (`render`).

llama-index is imported inside the functions, after `offline_llama_index()` has pointed tiktoken at
the files llama-index bundles, so nothing tries to download at run time.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rag.llm.protocol import Message

if TYPE_CHECKING:
    from llama_index.core.llms import ChatMessage

ROLES = ("system", "user", "assistant")


def offline_llama_index() -> None:
    """Point TIKTOKEN_CACHE_DIR at llama-index's bundled tiktoken files, unless the user set it."""
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return  # the caller's import of llama_index names the missing package
    for folder in spec.submodule_search_locations:
        cache = Path(folder) / "_static" / "tiktoken_cache"
        if cache.is_dir():
            os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
            return


def check_roles(messages: list[Message]) -> None:
    for role, _ in messages:
        if role not in ROLES:
            raise ValueError(f"message role {role!r} is not one of {', '.join(ROLES)}")


def to_chat_messages(messages: list[Message]) -> list[ChatMessage]:
    """Our messages as llama-index `ChatMessage`s, in order."""
    check_roles(messages)
    offline_llama_index()
    from llama_index.core.llms import ChatMessage, MessageRole

    return [ChatMessage(role=MessageRole(role), content=content) for role, content in messages]


def render_json(messages: list[Message]) -> str:
    """The messages exactly as a chat API receives them, as readable JSON."""
    check_roles(messages)
    payload = [{"role": role, "content": content} for role, content in messages]
    return json.dumps(payload, indent=2, ensure_ascii=False)

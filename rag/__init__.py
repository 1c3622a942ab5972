"""rag: a local-first document memory. `from rag import Index` is the whole API to start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.index import Index

__all__ = ["Index"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Index":
        from rag.index import Index

        return Index
    raise AttributeError(f"module 'rag' has no attribute {name!r}")

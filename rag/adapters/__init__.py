"""Adapters to other frameworks, both ways: the index as a LangChain retriever (langchain.py), as a
llama-index retriever and query engine (llamaindex.py), and any llama-index reader as one of our loaders
(readers.py). Nothing here imports langchain or llama-index until a name is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from rag.core.errors import MissingDependency

_WHERE = {"as_langchain_retriever": "langchain", "LangChainRetriever": "langchain", "hit_to_document": "langchain",
          "as_llamaindex_retriever": "llamaindex", "as_llamaindex_query_engine": "llamaindex",
          "hit_to_node": "llamaindex", "register_llamaindex_reader": "readers"}

_PIP = {"langchain_core": "langchain-core", "llama_index": "llama-index-core"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rag.adapters' has no attribute {name!r}")
    try:
        module = importlib.import_module(f"rag.adapters.{_WHERE[name]}")
    except ModuleNotFoundError as exc:
        package = _PIP.get((exc.name or "").partition(".")[0])
        if package:
            raise MissingDependency(f"{exc.name} (needed by rag.adapters.{name})", pip=package) from None
        raise
    return getattr(module, name)

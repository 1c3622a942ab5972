"""Adapters to other frameworks: the index as a llama-index retriever and query engine (llamaindex.py)."""

from rag.adapters.llamaindex import as_llamaindex_retriever

__all__ = ["as_llamaindex_retriever"]

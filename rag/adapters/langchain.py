"""The index as a LangChain retriever, so it plugs into LangChain chains and agents.

    from rag import Index
    from rag.adapters import as_langchain_retriever
    retriever = as_langchain_retriever(Index.open("./my-index"), k=5)
    docs = retriever.invoke("training corpus")
    docs[0].metadata   # {"source", "locator", "where", "title", "score", "start", "end", ...}

`start`/`end` are the passage's character offsets in its section (the offsets quotes are given in);
`doc_id` and `section` name that section (`index.store.section_text(doc_id, section)`).
This module imports langchain_core; `rag.adapters` imports it only when it is asked for.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from rag.core.types import Hit, render_locator


def hit_to_document(hit: Hit) -> Document:
    """A LangChain Document carrying where the passage is: source, locator, score and offsets."""
    meta = {"source": hit.source, "locator": hit.chunk.locator, "where": render_locator(hit.chunk.locator),
            "title": hit.title, "score": float(hit.score), "start": hit.chunk.start, "end": hit.chunk.end,
            "chunk_id": hit.chunk.chunk_id, "doc_id": hit.chunk.doc_id, "section": hit.chunk.section}
    return Document(page_content=hit.chunk.text, metadata=meta, id=hit.chunk.chunk_id)


class LangChainRetriever(BaseRetriever):
    """Dense + BM25 retrieval over one index (`Index.search`); passages that address the assistant
    (rag/answer/injection.py) are left out, as they are from every answer."""

    index: Any
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [hit_to_document(h) for h in self.index.search(query, self.k) if not h.suspect]


def as_langchain_retriever(index: Any, k: int = 5) -> LangChainRetriever:
    return LangChainRetriever(index=index, k=k)

"""The index as a llama-index retriever, so it plugs into llama-index query engines and agents.

    from rag import Index
    from rag.adapters.llamaindex import as_llamaindex_retriever
    retriever = as_llamaindex_retriever(Index.open("./my-index"), k=5)
    nodes = retriever.retrieve("training corpus")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rag.core.types import Hit, render_locator

if TYPE_CHECKING:
    from rag.index import Index


def hit_to_node(hit: Hit) -> Any:
    """A llama-index NodeWithScore carrying the source, locator and offsets as metadata."""
    from llama_index.core.schema import NodeWithScore, TextNode

    meta = {"source": hit.source, "locator": hit.chunk.locator, "where": render_locator(hit.chunk.locator),
            "title": hit.title, "start": hit.chunk.start, "end": hit.chunk.end}
    node = TextNode(id_=hit.chunk.chunk_id, text=hit.chunk.text, metadata=meta,
                    excluded_embed_metadata_keys=list(meta), excluded_llm_metadata_keys=["locator", "start", "end"])
    return NodeWithScore(node=node, score=hit.score)


def as_llamaindex_retriever(index: Index, k: int = 5) -> Any:
    from llama_index.core.retrievers import BaseRetriever

    class IndexRetriever(BaseRetriever):
        def _retrieve(self, query_bundle: Any) -> list[Any]:
            # a passage that addresses the assistant never goes to a model (rag/answer/injection.py)
            return [hit_to_node(h) for h in index.search(query_bundle.query_str, k) if not h.suspect]

    return IndexRetriever()

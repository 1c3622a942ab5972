"""The index as a llama-index retriever and query engine, so it plugs into llama-index pipelines and agents.

    from rag import Index
    from rag.adapters.llamaindex import as_llamaindex_query_engine, as_llamaindex_retriever
    retriever = as_llamaindex_retriever(Index.open("./my-index"), k=5)
    nodes = retriever.retrieve("training corpus")
    response = as_llamaindex_query_engine(Index.open("./my-index")).query("What corpus was it trained on?")
    response.source_nodes[0].node.metadata["citation"]   # {"number", "source", "locator", "quote", "start", "end"}

The query engine answers with `Index.ask` (retrieval, the configured model, the support check): its
response text keeps the [n] marks, and its source nodes are the cited passages, in citation order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rag.core.types import Answer, Citation, Hit, render_locator

if TYPE_CHECKING:
    from rag.index import Index
    from rag.llm.protocol import LLMSettings


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


def cited_hit(answer: Answer, citation: Citation) -> Hit | None:
    """The retrieved passage a citation quotes (same document and place, the quote inside its span)."""
    for hit in answer.hits:
        chunk = hit.chunk
        if (hit.source == citation.source and chunk.locator == citation.locator
                and chunk.start <= citation.start and citation.end <= chunk.end):
            return hit
    return None


def answer_to_response(answer: Answer) -> Any:
    """A llama-index Response: the answer text with its [n] marks, one source node per citation."""
    from llama_index.core.base.response.schema import Response
    from llama_index.core.schema import NodeWithScore, TextNode

    nodes = []
    for citation in answer.citations:
        hit = cited_hit(answer, citation)
        if hit is not None:
            node = hit_to_node(hit)
        else:   # a quote from a passage that is not among the hits (a self-ask step): the quote is the node
            node = NodeWithScore(node=TextNode(text=citation.quote, metadata={
                "source": citation.source, "locator": citation.locator, "where": render_locator(citation.locator)}))
        node.node.metadata["citation"] = citation.to_json()
        node.node.excluded_llm_metadata_keys = [*node.node.excluded_llm_metadata_keys, "citation"]
        node.node.excluded_embed_metadata_keys = [*node.node.excluded_embed_metadata_keys, "citation"]
        nodes.append(node)
    meta = {"citations": [c.to_json() for c in answer.citations], "found": answer.found, "model": answer.model}
    return Response(response=answer.text, source_nodes=nodes, metadata=meta)


def as_llamaindex_query_engine(index: Index, llm: LLMSettings | None = None, k: int | None = None) -> Any:
    """A llama-index query engine answering from `index` with the shipped answer path (`Index.ask`)."""
    from llama_index.core.query_engine import CustomQueryEngine

    class IndexQueryEngine(CustomQueryEngine):
        def custom_query(self, query_str: str) -> Any:
            return answer_to_response(index.ask(query_str, llm=llm, k=k))

    return IndexQueryEngine()

"""The index used through LangChain's retriever interface and llama-index's retriever and query engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from rag import Index
from rag.adapters.llamaindex import as_llamaindex_retriever


def test_llamaindex_retriever(built: Path) -> None:
    idx = Index.open(built)
    nodes = as_llamaindex_retriever(idx, k=3).retrieve("Harbor-7 corpus of field notes")
    assert len(nodes) == 3
    places = [(n.node.metadata["source"], n.node.metadata["locator"].get("page")) for n in nodes]
    assert ("paper.pdf", 2) in places
    assert all(isinstance(n.score, float) and n.node.get_content() for n in nodes)


def test_langchain_retriever_in_a_chain(built: Path) -> None:
    """A real LangChain chain: the retriever, a formatter and a prompt template, piped (no model needed)."""
    from langchain_core.documents import Document
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough

    from rag.adapters import as_langchain_retriever

    with Index.open(built) as idx:
        retriever = as_langchain_retriever(idx, k=3)
        assert isinstance(retriever, BaseRetriever)
        docs = retriever.invoke("How often are the hydrophones recalibrated?")
        assert all(isinstance(d, Document) for d in docs) and len(docs) == 3
        top = docs[0]
        assert top.metadata["source"] == "notes.md"
        assert top.metadata["locator"]["heading"] == "Brackwater Field Station Notes > Equipment > Hydrophones"
        assert top.metadata["where"] == "§ Brackwater Field Station Notes > Equipment > Hydrophones"
        assert isinstance(top.metadata["score"], float) and top.metadata["score"] >= docs[1].metadata["score"]
        section = idx.store.section_text(top.metadata["doc_id"], top.metadata["section"])
        assert section[top.metadata["start"]:top.metadata["end"]] == top.page_content   # offsets into the section

        def with_sources(found: list[Document]) -> str:
            return "\n".join(f"[{d.metadata['source']}, {d.metadata['where']}] {d.page_content}" for d in found)

        prompt = ChatPromptTemplate.from_template("Answer from the context.\n{context}\nQuestion: {question}")
        chain = {"context": retriever | RunnableLambda(with_sources), "question": RunnablePassthrough()} | prompt
        text = chain.invoke("What corpus was Lumen trained on?").to_string()
        assert "[paper.pdf, p. 2 (printed 102)]" in text and "Harbor-7" in text
        assert "Question: What corpus was Lumen trained on?" in text
        assert len(anyio_batch(retriever)) == 2


def anyio_batch(retriever: object) -> list[object]:
    """The async path too (LangChain runs the sync retriever on a thread)."""
    import asyncio

    return asyncio.run(retriever.abatch(["Jonas Berg", "boat engine"]))  # type: ignore[attr-defined]


def test_llamaindex_query_engine_answers_with_cited_source_nodes(built: Path) -> None:
    from llama_index.core.base.base_query_engine import BaseQueryEngine

    from rag.adapters import as_llamaindex_query_engine
    from rag.llm.protocol import LLMSettings

    with Index.open(built) as idx:
        engine = as_llamaindex_query_engine(idx, llm=LLMSettings(backend="none"))
        assert isinstance(engine, BaseQueryEngine)
        response = engine.query("Who is the data steward?")
        assert "Jonas Berg" in response.response and "[1]" in response.response
        assert response.metadata["found"] and response.metadata["citations"][0]["number"] == 1
        node = response.source_nodes[0]
        citation = node.node.metadata["citation"]
        assert citation["source"] == "notes.md" and citation["locator"]["heading"].endswith("> Contacts")
        offset = node.node.metadata["start"]
        assert node.node.get_content()[citation["start"] - offset:citation["end"] - offset] == citation["quote"]
        assert "Jonas Berg" in citation["quote"] and isinstance(node.score, float)

        refused = engine.query("What learning rate was Lumen trained with?")
        assert not refused.metadata["found"] and refused.source_nodes == []


def test_adapters_import_no_framework_until_asked() -> None:
    code = ("import sys, rag, rag.adapters, rag.adapters.readers\n"
            "assert not [m for m in sys.modules if m.startswith(('langchain', 'llama_index'))], 'imported'\n"
            "rag.adapters.as_langchain_retriever\n"
            "assert 'langchain_core' in sys.modules and 'llama_index' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr

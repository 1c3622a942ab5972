"""The index used through llama-index's retriever interface."""

from __future__ import annotations

from pathlib import Path

from conftest import SAMPLES

from rag import Index
from rag.adapters.llamaindex import as_llamaindex_retriever


def test_llamaindex_retriever(tmp_path: Path) -> None:
    idx = Index.open(tmp_path / "idx", embedder="hashing-256")
    idx.ingest(SAMPLES)
    nodes = as_llamaindex_retriever(idx, k=3).retrieve("Harbor-7 corpus of field notes")
    assert len(nodes) == 3
    places = [(n.node.metadata["source"], n.node.metadata["locator"].get("page")) for n in nodes]
    assert ("paper.pdf", 2) in places
    assert all(isinstance(n.score, float) and n.node.get_content() for n in nodes)

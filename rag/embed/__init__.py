"""Embedders: the Embedder Protocol and registry (registry.py), the bundled MiniLM in numpy and in torch
over one BERT weight loader (bert.py)."""

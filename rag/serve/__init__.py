"""`rag serve`: the index over HTTP (OpenAI-compatible chat with citations, search, ask, documents)."""

"""`rag mcp`: the index as a Model Context Protocol server over stdio (server.py), with the tools search, ask,
remember and list_documents (results.py turns their results into text and structured citations; notes.py
stores what `remember` is given as a document of the index)."""

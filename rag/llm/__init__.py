"""LLM backends (llama.cpp embedded, OpenAI-compatible servers, Ollama); every model call goes through
llama-index's `LLM` interface. protocol.py: the ChatBackend Protocol and LLMSettings; registry.py: name ->
factory; one module per backend."""

"""The `rag serve` command (click only at import, so `rag --help` stays instant). rag/cli.py registers it,
passing in how it opens an index and tells a loopback address, so this room never imports the CLI's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def serve_command(open_index: Callable[..., Any], index_option: Callable[[Any], Any],
                  is_loopback: Callable[[str], bool]) -> click.Command:
    """`open_index(index_dir, overrides=…, create=…, read_only=…)` is the CLI's `_open`."""

    @click.command(name="serve")
    @index_option
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; any address but "
                  "127.0.0.1, ::1 or localhost needs an API key (--api-key-file or $RAG_API_KEY).")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
    @click.option("--api-key-file", default=None, type=click.Path(dir_okay=False),
                  help="A file holding the key every request must send as `Authorization: Bearer KEY`.")
    @click.option("--llm", "backend", default=None, help="embedded | openai | ollama | none (as for `rag ask`).")
    @click.option("--base-url", default=None, help="Server URL for openai/ollama.")
    @click.option("--model", default=None, help="The model, as for `rag ask` (embedded: qwen-0.5b, qwen-1.5b, "
                  "smollm2, a .gguf path; openai/ollama: the model name on the server).")
    @click.option("--api-key-env", default=None, help="Environment variable holding the LLM server's key.")
    @click.option("--max-tokens", default=None, type=int, help="Longest answer, in tokens.")
    @click.option("-k", "top_k", default=None, type=click.IntRange(1, 50), help="Passages to retrieve (default 5).")
    def serve(index_dir: str, host: str, port: int, api_key_file: str | None, **llm: Any) -> None:
        """Serve INDEX over HTTP: OpenAI-compatible /v1/chat/completions whose answers keep [n] markers and carry
        citations, plus /v1/search, /v1/ask and /v1/documents (the CLI's JSON). OpenAPI: /openapi.json."""
        from rag.serve.app import serve as run_server
        from rag.serve.auth import api_key
        from rag.serve.service import open_service

        key = api_key(is_loopback(host), api_key_file, host)
        service = open_service(index_dir, lambda **how: open_index(index_dir, overrides=llm, **how))
        where = f"[{host}]" if ":" in host else host
        run_server(service, host, port, key, ready=lambda: click.echo(
            f"rag serve: http://{where}:{port}/v1  (model {service.name}, llm {service.llm.backend}"
            f"{', API key required' if key else ''}; Ctrl+C stops it)"))

    return serve

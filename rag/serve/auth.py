"""The API key of `rag serve`: bound to a loopback address the server may run open; bound to any other
address it needs a key ($RAG_API_KEY or --api-key-file), and then every request but GET /health must send
`Authorization: Bearer KEY` (compared in constant time), or gets 401 in OpenAI's error shape."""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rag.core.errors import ConfigError
from rag.core.secret import read_secret
from rag.serve.errors import Receive, Scope, Send, error_response

KEY_ENV = "RAG_API_KEY"
OPEN_PATHS = frozenset({"/health"})


def api_key(loopback: bool, key_file: str | Path | None, host: str,
            environ: Mapping[str, str] | None = None) -> str | None:
    """The key from `key_file`, else $RAG_API_KEY; None on a loopback address without either. Any other
    address without a key is refused (ConfigError: the CLI prints it as one line)."""
    env = os.environ if environ is None else environ
    key = env.get(KEY_ENV, "").strip() or None
    if key_file is not None:
        key = read_secret(key_file, "the API key", "the API key file is empty — write the key into it")
    if key is None and not loopback:
        raise ConfigError(f"--host {host} serves every document and accepts uploads from the network, so it needs "
                          f"an API key: pass --api-key-file FILE or set ${KEY_ENV} (or keep the default --host "
                          "127.0.0.1)")
    return key


def authorized(header: bytes | None, key: str) -> bool:
    scheme, _, given = (header or b"").decode("latin-1").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), key.encode())


class BearerAuth:
    """ASGI middleware: 401 unless the request carries the key (every path but OPEN_PATHS)."""

    def __init__(self, app: Any, key: str) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or ()).get(b"authorization")
        if authorized(header, self.key):
            await self.app(scope, receive, send)
            return
        why = "no API key was sent" if not header else "the API key is wrong"
        response = error_response(401, f"{why} — send the header `Authorization: Bearer KEY` (the key in "
                                       f"${KEY_ENV} or --api-key-file on the server; the openai client: "
                                       "api_key=KEY)", code="invalid_api_key",
                                  headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

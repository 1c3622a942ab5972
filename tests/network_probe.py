"""A loader that tries the network, registered by tests/test_network_guard.py so that the loader worker
process (which imports it by name) reports what its sockets were allowed to do."""

from __future__ import annotations

import socket
from pathlib import Path

from rag.core.types import Document, Section


def attempt(action: str, host: str, port: int) -> str:
    try:
        if action == "resolve":
            socket.getaddrinfo(host, port)
        else:
            socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        return f"{action} {host}: {exc}"
    return f"{action} {host}: allowed"


def probes_the_network(path: Path, source: str, doc_id: str) -> Document:
    """The file holds the port of a listener on 127.0.0.1; the Document's text says what happened."""
    port = int(path.read_text(encoding="utf-8"))
    lines = [attempt("connect", "192.0.2.1", 9), attempt("resolve", "example.com", 80),
             attempt("connect", "127.0.0.1", port)]
    return Document(doc_id, source, "text", path.stem, (Section("\n".join(lines)),), {})

"""The loader worker process: `python -m ingest.worker`, driven by ingest/isolation.py.

It reads requests and writes replies as length-prefixed JSON frames on its own private copy of
stdout; whatever a library prints goes to stderr instead, so it cannot corrupt the protocol. Only
JSON crosses the process boundary (no pickle): a hostile file that subverts a parsing library in the
worker still cannot make the ingest process execute anything.

    request: {"loader": "package.module:function", "path": ..., "source": ..., "doc_id": ...}
    reply:   {"ok": true, "document": {...}} or {"ok": false, "loader_error": bool, "message": ...}
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from rag.core.jsonable import from_json, to_json
from rag.core.types import Document

_HEADER = struct.Struct(">I")


def write_frame(stream: BinaryIO, payload: dict[str, Any]) -> None:
    data = json.dumps(payload, ensure_ascii=True).encode("ascii")
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


MAX_FRAME = 512 << 20   # a document's text and locators as JSON; more is refused, not buffered


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """The next frame, or None at end of stream; ValueError for a frame over MAX_FRAME bytes."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"a reply of {size} bytes is over the limit of {MAX_FRAME}")
    data = stream.read(size)
    if len(data) < size:
        return None
    result: dict[str, Any] = json.loads(data)
    return result


def document_to_json(doc: Document) -> dict[str, Any]:
    result: dict[str, Any] = to_json(doc)
    return result


def document_from_json(data: dict[str, Any]) -> Document:
    return from_json(Document, data)


def loader_name(load: Callable[..., Any]) -> str | None:
    """"module:qualname" for a function the worker can import, None for a lambda or a local function."""
    module, qualname = getattr(load, "__module__", None), getattr(load, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        return None
    return f"{module}:{qualname}"


def _resolve(name: str) -> Callable[..., Document]:
    module, _, qualname = name.partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target  # type: ignore[no-any-return]


def _handle(request: dict[str, Any]) -> dict[str, Any]:
    from rag.core.errors import LoaderError

    try:
        load = _resolve(request["loader"])
        doc = load(Path(request["path"]), request["source"], request["doc_id"])
        return {"ok": True, "document": document_to_json(doc)}
    except LoaderError as exc:
        return {"ok": False, "loader_error": True, "message": str(exc)}
    except MemoryError:
        return {"ok": False, "loader_error": False, "message": "MemoryError: ran out of memory"}
    except Exception as exc:  # a parsing library's own error: the parent words the message
        return {"ok": False, "loader_error": False, "message": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    from rag.core.offline import guard_from_environment

    guard_from_environment()                            # RAG_NO_NETWORK=1: no connection leaves the machine
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))    # a crashing parser leaves no core files behind
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr, not into the protocol
    requests = sys.stdin.buffer
    while (request := read_frame(requests)) is not None:
        write_frame(protocol, _handle(request))


if __name__ == "__main__":
    main()

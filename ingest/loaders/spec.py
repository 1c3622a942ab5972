"""What a loader is: the Loader Protocol, and the LoaderSpec under which the registry (ingest/registry.py)
files it by suffix.

The contract every loader keeps:
- `load(path, source, doc_id) -> Document`; `source` is the path relative to the ingested folder;
- it runs in a worker process with a time and a memory limit (ingest/isolation.py), so it may import
  heavy libraries; a model it needs is loaded once per worker (functools.cache), never at import time;
- a problem with the file raises LoaderError("<source>: <the problem> — <the fix>");
- it may report, in Document.meta: "pages" (int), "ocr_pages" (int, pages or images read by OCR),
  "duration" (float, seconds of audio), "warnings" (list[str]); meta must be JSON-serialisable,
  because the Document travels from the worker as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rag.core.types import Document


class Loader(Protocol):
    def __call__(self, path: Path, source: str, doc_id: str) -> Document: ...


LoadFn = Loader   # the older name


@dataclass(frozen=True)
class LoaderSpec:
    name: str
    kind: str
    load: Loader


def loader_for(registry: dict[str, LoaderSpec], path: Path) -> LoaderSpec | None:
    return registry.get(path.suffix.lower())

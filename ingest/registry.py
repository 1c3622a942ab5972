"""The loader registry: a dict from file suffix to a loader. Anyone can add or override an entry.

    registry = default_registry()
    registry[".rst"] = LoaderSpec("rst", "text", load_text)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.types import Document

LoadFn = Callable[[Path, str, str], Document]
"""load(path, source, doc_id) -> Document. `source` is the path relative to the ingested folder.

The contract every loader keeps:
- it runs in a worker process with a time and a memory limit (ingest/isolation.py), so it may import
  heavy libraries; a model it needs is loaded once per worker (functools.cache), never at import time;
- a problem with the file raises LoaderError("<source>: <the problem> — <the fix>");
- it may report, in Document.meta: "pages" (int), "ocr_pages" (int, pages or images read by OCR),
  "duration" (float, seconds of audio), "warnings" (list[str]); meta must be JSON-serialisable,
  because the Document travels from the worker as JSON.
"""


@dataclass(frozen=True)
class LoaderSpec:
    name: str
    kind: str
    load: LoadFn


def default_registry() -> dict[str, LoaderSpec]:
    """A fresh suffix -> loader dict holding every built-in loader."""
    from ingest.loaders import audio, eml, html, image, jsonl, office, pdf, text, transcript

    registry: dict[str, LoaderSpec] = {}
    for module in (pdf, text, html, jsonl, audio, transcript, office, eml, image):
        for suffix, spec in module.LOADERS.items():
            registry[suffix] = spec
    # A key ending in "/" names a kind of folder rather than a suffix: an unzipped export that scan.py
    # takes as one entry ("slack/", "notion/"). ".zip" files are dispatched by their content.
    from ingest.loaders import archive, notion, slack

    for module in (archive, slack, notion):
        registry.update(module.LOADERS)
    return registry


def loader_for(registry: dict[str, LoaderSpec], path: Path) -> LoaderSpec | None:
    return registry.get(path.suffix.lower())


def spec_named(registry: dict[str, LoaderSpec], path: Path, name: str) -> LoaderSpec:
    """The loader a scanned entry was planned with: by suffix, or by name (an export folder has no suffix)."""
    spec = registry.get(path.suffix.lower())
    if spec is not None and spec.name == name:
        return spec
    for spec in registry.values():
        if spec.name == name:
            return spec
    raise KeyError(f"no loader named {name!r} in the registry")

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
"""load(path, source, doc_id) -> Document. `source` is the path relative to the ingested folder."""


@dataclass(frozen=True)
class LoaderSpec:
    name: str
    kind: str
    load: LoadFn


def default_registry() -> dict[str, LoaderSpec]:
    """A fresh suffix -> loader dict holding every built-in loader."""
    from ingest.loaders import html, pdf, text

    registry: dict[str, LoaderSpec] = {}
    for module in (pdf, text, html):
        for suffix, spec in module.LOADERS.items():
            registry[suffix] = spec
    return registry


def loader_for(registry: dict[str, LoaderSpec], path: Path) -> LoaderSpec | None:
    return registry.get(path.suffix.lower())

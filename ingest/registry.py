"""The loader registry: a dict from file suffix to a LoaderSpec. Anyone can add or override an entry.

    registry = default_registry()
    registry[".rst"] = LoaderSpec("rst", "text", load_text)

A loader is any function that keeps the Loader Protocol (ingest/loaders/spec.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ingest.loaders.spec import Loader, LoaderSpec, loader_for
from rag.core.types import Document

__all__ = ["Loader", "LoaderSpec", "default_registry", "load_archive", "load_archive_with_dms", "loader_for",
           "spec_named"]


def default_registry(include_dms: bool = False) -> dict[str, LoaderSpec]:
    """A fresh suffix -> loader dict holding every built-in loader; `include_dms` (`--include-dms`) reads
    a Twitter/X archive with its direct messages (under other loader names, so that changing it re-reads)."""
    from ingest.loaders import audio, eml, html, image, jsonl, office, pdf, text, transcript

    registry: dict[str, LoaderSpec] = {}
    for module in (pdf, text, html, jsonl, audio, transcript, office, eml, image):
        for suffix, spec in module.LOADERS.items():
            registry[suffix] = spec
    # A key ending in "/" names a kind of folder rather than a suffix: an unzipped export that scan.py
    # takes as one entry ("slack/", "notion/", "twitter/"). ".zip" files are dispatched by their content.
    from ingest.loaders import notion, slack, twitter

    registry[".zip"] = LoaderSpec("archive", "archive", load_archive)
    for module in (slack, notion, twitter):
        registry.update(module.LOADERS)
    if include_dms:
        registry[".zip"] = LoaderSpec("archive+dms", "archive", load_archive_with_dms)
        registry.update(twitter.WITH_DMS)
    return registry


def load_archive(path: Path, source: str, doc_id: str, include_dms: bool = False) -> Document:
    """A .zip file: a Slack, Notion or Twitter/X export, or an archive of documents, each member read with
    its own loader from a fresh default registry (the archive loader itself lives in loaders/archive.py)."""
    from ingest.loaders.archive import archive_document
    from ingest.loaders.safezip import open_archive

    with open_archive(path, source) as archive, tempfile.TemporaryDirectory(prefix="rag-zip-") as folder:
        return archive_document(archive, source, doc_id, Path(folder), default_registry(), include_dms)


def load_archive_with_dms(path: Path, source: str, doc_id: str) -> Document:
    """load_archive, reading a Twitter/X archive with its direct messages."""
    return load_archive(path, source, doc_id, include_dms=True)


def spec_named(registry: dict[str, LoaderSpec], path: Path, name: str) -> LoaderSpec:
    """The loader a scanned entry was planned with: by suffix, or by name (an export folder has no suffix)."""
    spec = registry.get(path.suffix.lower())
    if spec is not None and spec.name == name:
        return spec
    for spec in registry.values():
        if spec.name == name:
            return spec
    raise KeyError(f"no loader named {name!r} in the registry")

"""Which embedder an index is opened with: the one asked for, the settings' or the one it records."""

from __future__ import annotations

from pathlib import Path

from rag.embed.registry import BUNDLED, DEFAULT_EMBEDDER, Embedder, make_embedder


def embedder_name(spec: str) -> str:
    """The name an embedder spec will record, known without loading the model."""
    if spec.startswith("hashing"):
        size = spec.partition("-")[2]
        return f"hashing-{size if size.isdigit() else 256}"
    if spec in BUNDLED:
        return spec
    return Path(spec).expanduser().resolve().name


def embedder_for(embedder: str | Embedder | None, configured: str | None, meta: dict[str, str],
                 stored_dim: int) -> tuple[Embedder | None, str, str, int]:
    """(instance or None, spec, name, dimension) for an index whose meta is `meta` ({} when new), `configured` the
    settings' embedder: a new index
    loads the model to learn its dimension; an existing one records it, so the model loads only when needed."""
    instance = embedder if not isinstance(embedder, str) else None
    spec = embedder if isinstance(embedder, str) else (instance.name if instance else None)
    spec = spec or configured or meta.get("embedder_spec") or DEFAULT_EMBEDDER
    if meta:
        name, dim = (instance.name, instance.dim) if instance else (embedder_name(spec), stored_dim)
    else:
        instance = instance or make_embedder(spec)
        name, dim = instance.name, instance.dim
    return instance, spec, name, dim

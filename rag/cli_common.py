"""What the `rag` commands share: the --index option, opening the index, printing JSON. Only click is
imported at start (rag/cli.py, rag/cli_faces.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

INDEX_HELP = "Index folder (rag ingest creates it) or postgresql://USER@HOST/DB. Default: $RAG_INDEX or ./rag-index."


def _default_index() -> str:
    from rag.config import index_location

    location, notes = index_location()   # $RAG_INDEX, rag.toml's `index`, else ./rag-index
    for note in notes:
        click.echo(click.style("warning: ", fg="yellow") + note, err=True)
    return location


def index_option(f: Any) -> Any:
    return click.option("--index", "index_dir", default=_default_index, show_default=False,
                        type=click.Path(file_okay=False), help=INDEX_HELP)(f)


def open_index(index_dir: str, embedder: str | None = None, overrides: dict[str, Any] | None = None,
          create: bool = True, read_only: bool | None = None) -> Any:
    """The index at `index_dir`; read-only commands pass create=False, so that they never make one."""
    from rag.config import load_settings
    from rag.index import Index
    from rag.store.postgres.url import is_url, shown, state_folder

    click.get_current_context().meta["rag.index"] = shown(index_dir)   # for error messages (rag/messages.py)
    # a URL is never a path: its rag.toml (the app's settings page writes it) is in this machine's folder for it
    folder = state_folder(index_dir.strip()) if is_url(index_dir) else Path(index_dir)
    settings = load_settings(folder, {k: v for k, v in (overrides or {}).items() if v is not None})
    for note in settings.ignored:
        click.echo(click.style("warning: ", fg="yellow") + note, err=True)
    return Index.open(index_dir, embedder=embedder, settings=settings, create=create, read_only=read_only)


def emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=None))

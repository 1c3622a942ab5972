"""Database URLs as `--index`: recognised before anything treats them as a path, shown without a password."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")


def is_url(location: object) -> bool:
    """True for a postgresql:// (or postgres://) URL; such a location is never a folder."""
    return isinstance(location, str) and location.strip().lower().startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL without its password (also one given as ?password=…), fit to print."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if "@" in netloc:
        auth, _, host = netloc.rpartition("@")
        user = auth.partition(":")[0]
        netloc = f"{user}@{host}" if user else host
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def state_folder(url: str, environ: dict[str, str] | None = None) -> Path:
    """This machine's own folder for a database index (conversations, eval results, uploads): not the
    index itself, which is the database. $RAG_STATE_DIR, else $XDG_STATE_HOME/rag, else ~/.local/state/rag;
    one subfolder per database, named for it (never with the password)."""
    env = os.environ if environ is None else environ
    base = env.get("RAG_STATE_DIR") or str(Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
                                          / "rag")
    shown = redact(url)
    parts = urlsplit(shown)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{parts.hostname or 'local'}_{parts.port or 5432}{parts.path}")
    digest = hashlib.sha256(shown.encode()).hexdigest()[:8]
    return Path(base) / "postgres" / f"{name.strip('_')}-{digest}"


def local_folder(location: str | Path) -> Path:
    """This machine's folder for an index: the folder itself, or a database's state_folder. What is kept per
    machine lives there: conversations (rag/chat/conversations.py), the app's uploads and remembered
    conversations, its settings (rag.toml) and eval results. A URL never becomes a path of its own."""
    if is_url(location):
        return state_folder(str(location).strip())
    return Path(location).expanduser().resolve()


def shown(location: str) -> str:
    """An --index value fit to print: a URL without its password, a folder as given."""
    return redact(location) if is_url(location) else location

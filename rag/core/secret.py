"""A secret (the app's password, the server's API key) read from a file the user names."""

from __future__ import annotations

from pathlib import Path

from rag.core.errors import ConfigError


def read_secret(path: str | Path, what: str, empty: str) -> str:
    """The file's text, stripped; ConfigError naming the file when it cannot be read (`what` it holds) or
    is empty (`empty` says what to do)."""
    path = Path(path).expanduser()
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc}) — pass a readable text file") from exc
    if not secret:
        raise ConfigError(f"{path}: {empty}")
    return secret

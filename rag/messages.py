"""The one place errors become messages, for the `rag` command (rag/cli.py uses RagGroup as its group).

Only click and the standard library are imported here at start, so `rag --help` stays instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click


class RagGroup(click.Group):
    """The one place errors become messages: a RagError, an OS or SQLite error (a full disk, a read-only
    folder, a damaged file) is one readable line and exit code 1; anything else is one line naming it as an
    internal error (RAG_DEBUG=1 shows the traceback). Never a traceback otherwise."""

    def invoke(self, ctx: click.Context) -> Any:
        from rag.core.errors import RagError

        try:
            return super().invoke(ctx)
        except RagError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted — the index keeps every file committed so far; run again to finish",
                       err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("RAG_DEBUG"):
                raise
            click.echo(f"error: {_message(exc, ctx.meta.get('rag.index'))}", err=True)
            sys.exit(1)


def _message(exc: Exception, index_dir: str | None) -> str:
    """An error that is not a RagError, as one line: OS and SQLite errors say what to do."""
    import errno
    import sqlite3

    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:   # `rag ls | head`: the reader left
        sys.exit(1)
    if isinstance(exc, OSError | sqlite3.DatabaseError):
        from rag.store.schema import explain

        where = getattr(exc, "filename", None) or index_dir or "the index"
        return str(explain(exc, Path(where)))
    return (f"internal error: {type(exc).__name__}: {exc} — please report it (run with RAG_DEBUG=1 for the "
            "traceback)")

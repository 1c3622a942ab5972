"""What a PostgreSQL server or driver error means for the user, as one RagError naming the fix."""

from __future__ import annotations

from rag.core.errors import IndexFormatError, RagError

RETRY_HINT = "everything committed before is kept — run the same `rag ingest` again to finish"


def connection_lost(exc: BaseException) -> bool:
    """The connection broke (server restart, network): the transaction never committed, so retrying is safe."""
    import psycopg

    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        state = getattr(exc, "sqlstate", None) or ""
        return not state or state.startswith(("08", "57P"))
    return False


def explain(exc: BaseException, shown: str) -> RagError:
    """`exc` (psycopg or psycopg_pool) for the database at `shown` (its URL without the password)."""
    if isinstance(exc, RagError):
        return exc
    text = " ".join(str(exc).split())
    lower = text.lower()
    if "password authentication failed" in lower or "no password supplied" in lower or "role" in lower \
            and "does not exist" in lower:
        return RagError(f"{shown}: the server refused the user name or password ({_tail(text)}) — check the user "
                        "and password in the URL (or $PGPASSWORD / ~/.pgpass)")
    if "database" in lower and "does not exist" in lower:
        name = shown.rsplit("/", 1)[-1].split("?")[0] or "DB"
        return RagError(f"{shown}: the database does not exist — create it (createdb {name}, or CREATE DATABASE "
                        f"{name};) and run `CREATE EXTENSION vector;` in it")
    if "permission denied" in lower:
        return RagError(f"{shown}: permission denied ({_tail(text)}) — grant the user CREATE and USAGE on the "
                        "schema (or let the database owner create the index once)")
    if any(w in lower for w in ("connection refused", "could not connect", "timeout", "timed out",
                                "could not translate host", "name or service not known", "no route to host",
                                "connection is bad", "server closed the connection", "terminating connection",
                                "the connection is closed", "consuming input failed", "connection failed",
                                "the database system is shutting down", "couldn't get a connection",
                                "the database system is starting up")):
        return RagError(f"{shown}: cannot reach the database server ({_tail(text)}) — check that PostgreSQL is "
                        f"running and the host and port in the URL are right; {RETRY_HINT}")
    if "disk full" in lower or "no space left" in lower:
        return RagError(f"{shown}: the database server's disk is full — free space there; {RETRY_HINT}")
    return RagError(f"{shown}: the database reported an error ({_tail(text)}) — {RETRY_HINT}")


def no_vector(shown: str, database: str) -> IndexFormatError:
    return IndexFormatError(
        f"{shown}: the database has no `vector` extension — install pgvector (0.6 or newer) on the server and run "
        f"`CREATE EXTENSION vector;` in {database} as its owner or a superuser (psql {database} -c 'CREATE "
        "EXTENSION vector')")


def _tail(text: str, size: int = 160) -> str:
    text = text.replace("connection failed: ", "")
    return text if len(text) <= size else text[: size - 1] + "…"

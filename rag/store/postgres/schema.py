"""The tables of an index on PostgreSQL, created and versioned by rag (the `rag_migrations` table).

Every table is named rag_*. Each migration runs once, in one transaction, under a transaction-level
advisory lock, so that several processes opening a new database at once create it once. A database
whose newest migration is beyond what this version knows is refused (IndexFormatError), never written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rag.core.errors import IndexFormatError
from rag.store.postgres.errors import explain, no_vector

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION = 1
TEXT_CONFIG = "simple"   # tsvector configuration: words come stemmed already (lexical.fold: Porter, as FTS5)
MIGRATION_LOCK = 7_306_000_001  # pg_advisory_xact_lock key while migrating
MIN_PGVECTOR = (0, 6)   # HNSW, hnsw.ef_search and cosine ops: all rag uses; tested on 0.6.2 and 0.8

MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE rag_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE SEQUENCE rag_commit;
CREATE TABLE rag_documents(
    id BIGSERIAL PRIMARY KEY, root TEXT NOT NULL, source TEXT NOT NULL, doc_id TEXT NOT NULL,
    content_hash TEXT NOT NULL, size BIGINT NOT NULL, mtime_ns BIGINT NOT NULL, loader TEXT NOT NULL,
    kind TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
    meta JSONB NOT NULL DEFAULT '{{}}', ingested_at DOUBLE PRECISION NOT NULL, version BIGINT NOT NULL,
    UNIQUE(root, source));
CREATE TABLE rag_sections(
    doc BIGINT NOT NULL REFERENCES rag_documents(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    text TEXT NOT NULL, locator JSONB NOT NULL, PRIMARY KEY(doc, idx));
CREATE TABLE rag_chunks(
    id BIGSERIAL PRIMARY KEY, chunk_id TEXT NOT NULL,
    doc BIGINT NOT NULL REFERENCES rag_documents(id) ON DELETE CASCADE,
    section INTEGER NOT NULL, start_at INTEGER NOT NULL, end_at INTEGER NOT NULL, text TEXT NOT NULL,
    locator JSONB NOT NULL, embed_hash TEXT NOT NULL, title TEXT NOT NULL, tokens INTEGER NOT NULL,
    embedding vector({dim}) NOT NULL, tsv tsvector NOT NULL);
CREATE INDEX rag_chunks_doc ON rag_chunks(doc);
CREATE INDEX rag_chunks_embed_hash ON rag_chunks(embed_hash);
CREATE INDEX rag_chunks_tsv ON rag_chunks USING gin(tsv);
CREATE INDEX rag_chunks_embedding ON rag_chunks USING hnsw(embedding vector_cosine_ops);
""",
}


def pgvector_version(conn: psycopg.Connection) -> tuple[int, ...] | None:
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    if row is None:
        return None
    return tuple(int(p) for p in str(row[0]).split(".")[:2] if p.isdigit())


def applied(conn: psycopg.Connection) -> int:
    """The newest migration applied; 0 for a database rag has not used yet."""
    row = conn.execute("SELECT to_regclass('rag_migrations') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    found = conn.execute("SELECT COALESCE(MAX(version), 0) FROM rag_migrations").fetchone()
    return int(found[0]) if found else 0


def prepare(conn: psycopg.Connection, shown: str, database: str, dim: int, create: bool) -> int:
    """Check pgvector and the schema version, and migrate (with `create`); the version in force. Runs in
    the connection's transaction; the caller commits."""
    version = pgvector_version(conn)
    if version is None:
        raise no_vector(shown, database)
    if version < MIN_PGVECTOR:
        raise IndexFormatError(f"{shown}: pgvector {'.'.join(map(str, version))} is too old — rag needs "
                               f"{'.'.join(map(str, MIN_PGVECTOR))} or newer (ALTER EXTENSION vector UPDATE;)")
    current = applied(conn)
    if current > SCHEMA_VERSION:
        raise IndexFormatError(f"{shown}: the index schema is version {current}, newer than this version of rag "
                               f"knows ({SCHEMA_VERSION}) — upgrade rag (pip install -U rag-memory) on this "
                               "machine; nothing was changed")
    if current == SCHEMA_VERSION or not create:
        return current
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
    conn.execute("CREATE TABLE IF NOT EXISTS rag_migrations(version INTEGER PRIMARY KEY, "
                 "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
    current = applied(conn)   # another process may have migrated while we waited for the lock
    for number in range(current + 1, SCHEMA_VERSION + 1):
        conn.execute(MIGRATIONS[number].format(dim=int(dim)))  # type: ignore[arg-type]
        conn.execute("INSERT INTO rag_migrations(version) VALUES (%s)", (number,))
    return SCHEMA_VERSION


def check_meta(conn: psycopg.Connection[Any], name: str, spec: str, dim: int, shown: str) -> dict[str, str]:
    """The index's embedder (recorded by the first writer); another embedder is an IndexFormatError."""
    meta = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM rag_meta").fetchall()}
    if "embedder" not in meta:
        conn.execute("INSERT INTO rag_meta VALUES ('embedder', %s), ('embedder_spec', %s), ('dim', %s), "
                     "('text_config', %s) ON CONFLICT (key) DO NOTHING", (name, spec, str(dim), TEXT_CONFIG))
        meta = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM rag_meta").fetchall()}
    if meta.get("embedder") != name or int(meta.get("dim", 0)) != dim:
        raise IndexFormatError(
            f"{shown}: built with embedder {meta.get('embedder')} ({meta.get('dim')}-d), not {name} ({dim}-d) — open "
            f"it with --embedder {meta.get('embedder_spec')}, or use another database for --embedder {spec}")
    return meta


def read_meta(url: str) -> dict[str, str]:
    """The index's meta (embedder, spec, dim) without opening a pool; {} when there is no index yet."""
    import psycopg

    from rag.store.postgres.url import redact

    shown = redact(url)
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            if applied(conn) == 0:
                return {}
            return {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM rag_meta").fetchall()}
    except (psycopg.Error, OSError) as exc:
        raise explain(exc, shown) from exc

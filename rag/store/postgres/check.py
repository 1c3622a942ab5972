"""`rag check` on a PostgreSQL index: the server keeps its pages whole, so what is checked is what rag
relies on — the schema version, pgvector, the HNSW and GIN indexes, and that every chunk has a vector of
the index's dimension and a full-text vector."""

from __future__ import annotations

from pathlib import PosixPath
from typing import TYPE_CHECKING

from rag.store.check import Finding, Report, Scan

if TYPE_CHECKING:
    from rag.store.postgres.store import PostgresStore

_INDEXES = ("rag_chunks_embedding", "rag_chunks_tsv", "rag_chunks_doc", "rag_chunks_embed_hash")


class Location(PosixPath):
    """What `Report.folder` holds for a database: prints as the URL (without password); a Path collapses '//'."""

    shown = ""

    def __str__(self) -> str:
        return self.shown


def check(store: PostgresStore) -> Report:
    def read(conn: object) -> tuple[int, int, int, list[str]]:
        c = conn  # psycopg connection
        docs = c.execute("SELECT COUNT(*) FROM rag_documents").fetchone()[0]  # type: ignore[attr-defined]
        chunks, bad = c.execute(  # type: ignore[attr-defined]
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE vector_dims(embedding) <> %s OR tsv IS NULL) FROM rag_chunks",
            (store.dim,)).fetchone()
        present = {str(r[0]) for r in c.execute(  # type: ignore[attr-defined]
            "SELECT indexname FROM pg_indexes WHERE tablename = 'rag_chunks'").fetchall()}
        return int(docs), int(chunks), int(bad), [i for i in _INDEXES if i not in present]

    docs, chunks, bad, missing = store._run(read)
    findings = []
    if bad:
        findings.append(Finding("rows", f"{bad} chunk(s) without a {store.dim}-d vector or a full-text vector — "
                                "re-ingest the folders they came from"))
    for name in missing:
        findings.append(Finding("sqlite", f"index {name} is missing — run `rag ingest` once more with a user that "
                                "may create indexes, or ask the database owner to restore it"))
    where = Location(store.shown)
    where.shown = store.shown
    return Report(where, store.commit_number(), store.format, docs, chunks, tuple(findings), Scan(docs,
                                                                                                            chunks))

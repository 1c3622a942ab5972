"""PostgresStore: the Store Protocol on PostgreSQL + pgvector, for an index many processes write at once.

Every document is one transaction, under a transaction-level advisory lock on (root, source): two writers of
the same file take turns, writers of different files never wait for each other, and a reader (each read is
one statement, one snapshot) sees a document's old chunks or its new ones, never a mix. The commit counter
is a sequence (no row every writer must lock). Vectors are searched in the database (HNSW, cosine); the
lexical side is BM25 over tsvector (lexical.py). A broken connection (a server restart) is retried once the
server is back, up to $RAG_PG_RECONNECT seconds (default 30); a write is safe to retry because it never
committed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

from rag.core.errors import IndexFormatError, RagError
from rag.core.types import Chunk, Document
from rag.store.postgres import codec, rows, schema
from rag.store.postgres.errors import connection_lost, explain
from rag.store.postgres.lexical import Scorer
from rag.store.postgres.url import redact, state_folder
from rag.store.records import DocRecord, StoredChunk

if TYPE_CHECKING:
    import numpy as np
    import psycopg
    from psycopg_pool import ConnectionPool

    from rag.store.check import Report
    from rag.store.repair import Repaired

T = TypeVar("T")
RECONNECT_SECONDS = float(os.environ.get("RAG_PG_RECONNECT") or 30.0)
POOL_SIZE = 4


class PostgresStore:
    format = schema.SCHEMA_VERSION

    def __init__(self, url: str, pool: ConnectionPool, dim: int) -> None:
        self.url = url
        self.shown = redact(url)
        self.folder: Path = state_folder(url)   # this machine's files for the index (conversations, eval)
        self.pool = pool
        self.dim = dim
        self.writable = True
        self.scorer = Scorer()
        self.local = threading.local()

    @classmethod
    def open(cls, url: str, embedder_name: str, embedder_spec: str, dim: int, create: bool = True,
             write: bool | None = None) -> PostgresStore:
        """Connect, check pgvector and the schema (creating it with `create`), and the embedder."""
        import psycopg
        from psycopg_pool import ConnectionPool

        shown, database = redact(url), unquote(urlsplit(url).path.lstrip("/")) or "postgres"
        try:
            with psycopg.connect(url, connect_timeout=10) as conn:
                version = schema.prepare(conn, shown, database, dim, create)
                if version == 0:
                    raise IndexFormatError(f"{shown}: no index there — make one with: rag ingest FOLDER --index "
                                           f"{shown}")
                meta = schema.check_meta(conn, embedder_name, embedder_spec, dim, shown)
        except (psycopg.Error, OSError) as exc:
            raise explain(exc, shown) from exc
        pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, kwargs={"connect_timeout": 10},
                              timeout=RECONNECT_SECONDS, configure=codec.register,
                              check=ConnectionPool.check_connection, open=False, name="rag")
        try:
            pool.open(wait=True, timeout=30)
        except Exception as exc:
            pool.close()
            raise explain(exc, shown) from exc
        store = cls(url, pool, int(meta["dim"]))
        store.writable = create if write is None else write
        return store

    # --- connections ----------------------------------------------------------------------------
    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        pinned = getattr(self.local, "conn", None)
        if pinned is not None:
            yield pinned
            return
        with self.pool.connection() as conn:
            yield conn

    def _run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`work` in one transaction; when the connection breaks (before the commit), once more after the
        server is back. Errors become RagErrors naming the database and the fix."""
        import psycopg

        deadline = time.monotonic() + RECONNECT_SECONDS
        while True:
            try:
                with self._conn() as conn:
                    return work(conn)
            except psycopg.Error as exc:
                if getattr(self.local, "conn", None) is None and connection_lost(exc) \
                        and time.monotonic() < deadline:
                    time.sleep(1.0)
                    self.pool.check()   # drop the broken connections; new ones are made as needed
                    continue
                raise explain(exc, self.shown) from exc
            except Exception as exc:   # psycopg_pool.PoolTimeout: the server is not back in time
                if type(exc).__module__.startswith("psycopg_pool"):
                    raise explain(exc, self.shown) from exc
                raise

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[None]:
        """Every store call inside runs in one transaction (a read-only one sees one snapshot)."""
        if getattr(self.local, "conn", None) is not None:
            yield
            return
        with self.pool.connection() as conn:
            if not write:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            self.local.conn = conn
            try:
                yield
            finally:
                self.local.conn = None

    def _one(self, sql: str, args: Any = None) -> Any:
        row = self._run(lambda c: c.execute(sql, args).fetchone())  # type: ignore[arg-type]
        return row[0] if row else None

    def _writable(self) -> None:
        if not self.writable:
            raise RagError(f"{self.shown}: opened read-only — this command does not change the index")

    # --- counters and meta ------------------------------------------------------------------------
    def commit_number(self) -> int:
        row = self._run(lambda c: c.execute("SELECT last_value, is_called FROM rag_commit").fetchone())
        return int(row[0]) if row and row[1] else 0

    def dimension(self) -> int:
        return self.dim

    def chunk_count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM rag_chunks"))

    def checkpoint(self) -> None:
        """Nothing to do: every commit is durable in the server once it returns."""

    def upgrade(self) -> bool:
        return False

    # --- documents ----------------------------------------------------------------------------------
    def documents(self, root: str | None = None, check: bool = True) -> list[DocRecord]:
        where, args = (("WHERE root = %s ORDER BY source", (root,)) if root is not None
                       else ("ORDER BY root, source", ()))
        return self._run(lambda c: rows.read_documents(c, where, args))

    def put_document(self, root: str, doc: Document, chunks: list[Chunk], vectors: np.ndarray,
                     embed_hashes: list[str], stat: tuple[str, int, int], loader: str) -> int:
        """Replace (root, doc.source) with this document, its sections and chunks: one transaction."""
        self._writable()
        return self._run(lambda c: rows.write_document(c, root, doc, chunks, vectors, embed_hashes, stat,
                                                       loader))

    def record_failure(self, root: str, source: str, stat: tuple[str, int, int], loader: str, error: str) -> None:
        """Note a failed load. An older good version of the file keeps its chunks (nothing is lost)."""
        self._writable()
        self._run(lambda c: rows.write_failure(c, root, source, stat, loader, error))

    def update_stat(self, doc: int, mtime_ns: int, source: str | None = None) -> None:
        self._writable()
        if source is None:
            self._run(lambda c: c.execute("UPDATE rag_documents SET mtime_ns = %s WHERE id = %s", (mtime_ns, doc)))
        else:
            self._run(lambda c: c.execute("UPDATE rag_documents SET mtime_ns = %s, source = %s WHERE id = %s",
                                          (mtime_ns, source, doc)))

    def remove(self, root: str, source: str) -> int:
        self._writable()

        def delete(conn: psycopg.Connection[Any]) -> int:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (rows.doc_lock_key(root, source),))
            gone = conn.execute("DELETE FROM rag_documents WHERE root = %s AND source = %s", (root, source)).rowcount
            conn.execute("SELECT nextval('rag_commit')")
            return int(gone)

        return self._run(delete)

    # --- upkeep: the server keeps its own pages whole; there is nothing derived to rebuild ----------
    def damage(self, root: str) -> tuple[set[int], set[int]]:
        return set(), set()

    def discard(self, docs: set[int], chunks: set[int]) -> list[str]:
        return []

    def repair_fulltext(self) -> bool:
        return False

    def check(self) -> Report:
        from rag.store.postgres.check import check

        return check(self)

    def repair(self, report: Report) -> Repaired:
        from rag.store.repair import Repaired

        return Repaired(roots={d.root for d in self.documents()})

    # --- chunks and vectors ---------------------------------------------------------------------------
    def vectors_for(self, embed_hashes: list[str]) -> dict[str, bytes]:
        """Stored vectors for texts embedded before (by hash of the embedded text)."""
        if not embed_hashes:
            return {}
        sql = "SELECT DISTINCT ON (embed_hash) embed_hash, embedding FROM rag_chunks WHERE embed_hash = ANY(%s)"
        return dict(self._run(lambda c: c.cursor(binary=True).execute(sql, (list(embed_hashes),)).fetchall()))

    def all_vectors(self) -> tuple[int, np.ndarray, np.ndarray]:
        import numpy as np

        def read(conn: psycopg.Connection[Any]) -> tuple[int, list[Any]]:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            commit = conn.execute("SELECT last_value, is_called FROM rag_commit").fetchone()
            found = conn.cursor(binary=True).execute("SELECT id, embedding FROM rag_chunks ORDER BY id").fetchall()
            return (int(commit[0]) if commit and commit[1] else 0), found

        commit, found = self._run(read)
        ids = np.array([r[0] for r in found], dtype=np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in found), dtype=np.float32).reshape(len(found), self.dim)
        return commit, ids, vectors

    def search_vectors(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest chunks by cosine (HNSW), as (row, cosine)."""
        ef = min(1000, max(100, 2 * k))

        def search(conn: psycopg.Connection[Any]) -> list[Any]:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(ef),))
            vec = codec.Vector(query.astype("float32"))
            return conn.execute("SELECT id, 1 - (embedding <=> %s) FROM rag_chunks ORDER BY embedding <=> %s, id "
                                "LIMIT %s", (vec, vec, int(k))).fetchall()

        return [(int(r), float(s)) for r, s in self._run(search)]

    def chunks_by_row(self, row_ids: list[int]) -> dict[int, StoredChunk]:
        """The chunks at these rows that exist now (one snapshot: a document replaced meanwhile drops out)."""
        if not row_ids:
            return {}
        return self._run(lambda c: rows.read_chunks(c, row_ids))

    def section_text(self, doc_id: str, section: int) -> str:
        text = self._one("SELECT s.text FROM rag_sections s JOIN rag_documents d ON d.id = s.doc "
                         "WHERE d.doc_id = %s AND s.idx = %s LIMIT 1", (doc_id, section))
        return str(text) if text is not None else ""

    def lexical(self, match: str, limit: int, title_weight: float = 2.0) -> list[tuple[int, float]]:
        return self._run(lambda c: self.scorer.top(c, self._commit(c), match, limit, title_weight))

    def lexical_for(self, match: str, rows: list[int], title_weight: float = 2.0) -> dict[int, float]:
        return self._run(lambda c: self.scorer.for_rows(c, self._commit(c), match, rows, title_weight))

    def _commit(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute("SELECT last_value, is_called FROM rag_commit").fetchone()
        return int(row[0]) if row and row[1] else 0

    def close(self) -> None:
        self.pool.close()


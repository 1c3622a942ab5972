"""The SQLite store's upkeep: the checks `rag ingest` runs on the rows it is about to trust, and the
whole of `rag check` and `--repair` (check.py, repair.py). SQLiteStore's methods of the same names call
these."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rag.core.errors import IndexDamagedError
from rag.store import fulltext

if TYPE_CHECKING:
    from rag.store.check import Report
    from rag.store.repair import Repaired
    from rag.store.sqlite import SQLiteStore


def damaged(folder: Path, what: str, sources: list[str]) -> IndexDamagedError:
    names = sorted(set(sources))
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return IndexDamagedError(
        f"{folder}: {what} failed its checks ({shown or 'document unknown'}): results from it are "
        f"refused — `rag check --index {folder}` says what is damaged, `--repair` repairs it")


# Above this many chunks `rag ingest` leaves out the checks of the whole file (SQLite's quick_check and FTS5's
# integrity check: about 10 s and 40 s at 1M chunks); the root's own rows are still read and checked, and
# `rag check` runs everything.
WHOLE_CHECK_MAX = 50_000


def damage(store: SQLiteStore, root: str) -> tuple[set[int], set[int]]:
    """(damaged documents, stray chunk rows) of one root; unreadable pages are an IndexDamagedError."""
    from rag.store.check import scan_rows

    whole = store.chunk_count() <= WHOLE_CHECK_MAX
    if whole and store.db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
        raise damaged(store.folder, "rag.sqlite's structure (SQLite's quick_check)", [])
    scan = scan_rows(store.db, store.format, store.dimension(), root)
    if scan.unreadable:
        raise damaged(store.folder, f"reading {', '.join(scan.unreadable)}", [])
    return set(scan.damaged), scan.stray_chunks


def discard(store: SQLiteStore, docs: set[int], chunks: set[int]) -> list[str]:
    from rag.store.repair import discard_rows

    with store.transaction():
        named = discard_rows(store.db, docs, chunks)
        store.bump_commit()
    return [source for _, source, _ in named]


def repair_fulltext(store: SQLiteStore) -> bool:
    if store.chunk_count() > WHOLE_CHECK_MAX or fulltext.fts_problem(store.folder) is None:
        return False
    with store.transaction():
        fulltext.rebuild_fulltext(store.db)
    return True


def check(store: SQLiteStore) -> Report:
    from rag.store.check import check_index

    return check_index(store.db, store.folder, store.format, store.dimension(), store.commit_number())


def repair(store: SQLiteStore, report: Report) -> Repaired:
    """Under the write lock: everything rag.sqlite alone can repair (repair.py)."""
    from rag.store.repair import repair_store

    meta = {str(k): str(v) for k, v in store.db.execute("SELECT key, value FROM meta").fetchall()}
    return repair_store(store, report, meta)

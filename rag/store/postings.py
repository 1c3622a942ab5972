"""BM25 for a large index from postings of our own: every matching row scored, in numpy, from a derived file.

FTS5 scores a query with `bm25()` row by row (about 2.5 µs a row here), so at 1M chunks a ten-word claim that
shares a word with 370,000 rows costs close to a second, and rag/store/focused_bm25.py narrows the rows it
scores (finding 80% of the whole top 10). From `POSTINGS_MIN` chunks a commit also keeps each term's postings
(row, occurrences in the title, in the text) and each row's length in tokens, read from chunks_fts itself
(fts5vocab), so the tokens are FTS5's own. A query then reads only its terms' postings and scores every row
that holds one, exactly as FTS5 would (k1 = 1.2, b = 0.75, FTS5's idf, a title occurrence counting
`title_weight` times; a term's idf from its live postings, the mean length from FTS5's own record): the
same ranking as FTS5's whole query, at a few ms a term.

Files, like the vector index's (rag/store/vector_files.py): `lexicon.N.json` for commit N names a base
`lexicon.B.post` (B ≤ N) and, when N > B, a delta `lexicon.N.post` holding the rows added since B and the ids
removed since. Each is written to a temporary name, fsynced and renamed, the sidecar last, and carries its
size and sha256s there (the whole file's, checked by the commit that derives a delta from it; its
directory's and each 4 MiB block's, checked by searches as they read them): a file that does not match is
not used. Nor is a state made from another state of chunks_fts (the sidecar keeps a digest of its
structure record, which every write changes: a rolled-back or older commit's postings never pass), or
whose row count is not FTS5's. A state that fails is set aside and BM25 goes back to FTS5
(rag/store/fulltext.py) until the next commit writes a new one. This module keeps the files;
rag/store/postings_file.py is their format (built and read), rag/store/postings_search.py the scoring.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from rag.store.postings_file import Segment, build_file
from rag.store.vector_files import file_problem, write_files

if TYPE_CHECKING:
    import numpy as np

POSTINGS_MIN = 10_000    # chunks: from here on a commit keeps the postings files
COMPACT_SHARE = 0.05     # a delta above this share of the base (and above COMPACT_MIN rows) rebuilds the base
COMPACT_MIN = 5_000
SIDECAR_FORMAT = 1


def post_path(folder: Path, commit: int) -> Path:
    return folder / f"lexicon.{commit}.post"


def sidecar_path(folder: Path, commit: int) -> Path:
    return folder / f"lexicon.{commit}.json"


def read_sidecar(folder: Path, commit: int) -> dict[str, Any] | None:
    try:
        data = json.loads(sidecar_path(folder, commit).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == SIDECAR_FORMAT else None


def numbered(folder: Path) -> list[tuple[int, Path]]:
    """lexicon.N.* files (and stray temporary files of them) with their N."""
    found = []
    for path in folder.glob("lexicon.*"):
        parts = path.name.split(".")
        if len(parts) >= 3 and parts[1].isdigit():
            found.append((int(parts[1]), path))
    return found


def fts_digest(state: tuple[bytes, ...]) -> str:
    """A digest of chunks_fts's averages and structure records (Vocabulary.state), which every write changes:
    postings made from another state of it (an older commit, a rolled-back one) are never used."""
    return hashlib.sha256(b"\0".join(state)).hexdigest()


def fts_state(db: sqlite3.Connection) -> str:
    from rag.store.focused_bm25 import Vocabularies

    return fts_digest(Vocabularies().current(db).state)


class PostingsSource(Protocol):
    """What the postings are made from (rag/store/sqlite.py implements it)."""
    folder: Path
    db: sqlite3.Connection

    def transaction(self, write: bool = True) -> AbstractContextManager[None]: ...
    def commit_number(self) -> int: ...
    def chunk_ids(self) -> np.ndarray: ...
    def chunk_seq(self) -> int | None: ...


def keep(store: object, note: Callable[[str], None] | None = None) -> str:
    """After a commit of a local index, under its write lock: its postings state written (see update), in one
    read snapshot of rag.sqlite. A folder that cannot be written keeps none (BM25 then comes from FTS5)."""
    from rag.core.errors import RagError

    src = cast(PostingsSource, store)
    try:
        with src.transaction(write=False):
            return update(src.db, src.folder, src.commit_number(), src.chunk_seq(), src.chunk_ids(), note)
    except (OSError, RagError, ValueError, sqlite3.Error):   # derived: without them BM25 comes from FTS5
        with contextlib.suppress(OSError):
            drop_others(src.folder, set())
        return "none"


def update(db: sqlite3.Connection, folder: Path, commit: int, seq: int | None, live: np.ndarray,
           note: Callable[[str], None] | None = None) -> str:
    """After a commit (under the write lock, `live` the chunk row ids): write its postings state, as a delta
    when the newest base allows, else a new base (`note` told first: about 80 s at 1M chunks), or none below
    POSTINGS_MIN chunks. What was written."""
    import numpy as np

    if len(live) < POSTINGS_MIN or seq is None:
        drop_others(folder, set())
        return "none"
    older = _newest_state(folder, commit)
    meta: dict[str, Any] | None = None
    if older is not None and older.get("commit") == commit and older.get("rows") == len(live) \
            and older.get("fts_state") == fts_state(db) and not problems(db, folder, commit, len(live)):
        return "kept"   # this commit's state is there already (a repair run that changed nothing)
    if older is not None and older.get("base", {}).get("seq") is not None \
            and int(older["base"].get("commit", commit)) != commit:   # a delta never replaces its base
        base_meta = older["base"]
        base_path = post_path(folder, int(base_meta["commit"]))
        if not file_problem(base_path, base_meta.get("file")):   # all of it: a delta on a damaged base is no use
            try:
                base = Segment.open(base_path)
            except (ValueError, OSError):
                base = None
            if base is not None:
                base_rows = np.array(base.rows)
                base.close()
                removed = np.setdiff1d(base_rows, live, assume_unique=True)
                added = live[live > int(base_meta["seq"])]
                if (len(added) + len(removed) <= max(COMPACT_MIN, COMPACT_SHARE * len(base_rows))
                        and len(base_rows) - len(removed) + len(added) == len(live)):
                    target = post_path(folder, commit)
                    described = _written(folder, target, lambda tmp: _delta_file(db, tmp, added, removed))
                    if described:
                        meta = {**older, "commit": commit, "rows": len(live), "fts_state": fts_state(db),
                                "delta": {"file": described, "added": len(added), "removed": len(removed)}}
    if meta is None:
        if note is not None:
            note(f"building BM25 postings of {len(live):,} chunks (a new base)")
        target = post_path(folder, commit)
        described = _written(folder, target, lambda tmp: build_file(db, "chunks_fts", tmp))
        if not described or described["rows"] != len(live):
            drop_others(folder, set())
            return "none"
        meta = {"format": SIDECAR_FORMAT, "commit": commit, "rows": len(live), "fts_state": fts_state(db),
                "base": {"commit": commit, "seq": seq, "rows": len(live), "file": described}, "delta": None}
    write_files(folder, {}, sidecar_path(folder, commit), meta)
    keep = {sidecar_path(folder, commit).name, post_path(folder, int(meta["base"]["commit"])).name,
            post_path(folder, commit).name}
    drop_others(folder, keep)
    return "delta" if meta.get("delta") else "base"


def _delta_file(db: sqlite3.Connection, tmp: Path, added: np.ndarray, removed: np.ndarray) -> dict[str, Any]:
    """The postings of the `added` rows, tokenized by chunks_fts's own tokenizer in a private table."""
    from rag.store.focused_bm25 import _columns, tokenizer_of

    texts = db.execute("SELECT rowid, title, text FROM chunks_fts WHERE rowid IN (SELECT value FROM json_each(?))",
                       (json.dumps([int(r) for r in added]),)).fetchall()
    mem = sqlite3.connect(":memory:")
    try:
        mem.execute(f"CREATE VIRTUAL TABLE w USING fts5({_columns('title, text', tokenizer_of(db))})")
        mem.executemany("INSERT INTO w(rowid, title, text) VALUES (?, ?, ?)", texts)
        return build_file(mem, "w", tmp, removed)
    finally:
        mem.close()


def _written(folder: Path, target: Path, make: Any) -> dict[str, Any]:
    """Run `make(tmp)` and rename its file to `target` when it says what it wrote; {} (and no file) if not."""
    tmp = folder / f"{target.name}.tmp{os.getpid()}"
    try:
        described = make(tmp)
        if described:
            os.replace(tmp, target)
        return described
    finally:
        tmp.unlink(missing_ok=True)


def _newest_state(folder: Path, commit: int) -> dict[str, Any] | None:
    for n in sorted({n for n, p in numbered(folder) if p.suffix == ".json" and n <= commit}, reverse=True):
        meta = read_sidecar(folder, n)
        if meta is not None:
            return meta
    return None


def remove_newer(folder: Path, commit: int) -> list[str]:
    """Delete the postings files of commits after `commit` (left by a rollback); their names."""
    gone = []
    for n, path in numbered(folder):
        if n > commit:
            path.unlink(missing_ok=True)
            gone.append(path.name)
    return sorted(gone)


def drop_others(folder: Path, keep: set[str]) -> None:
    for _, path in numbered(folder):
        if path.name not in keep:
            path.unlink(missing_ok=True)


def describe_state(folder: Path, commit: int) -> dict[str, Any]:
    """What `rag ls --stats` shows of the postings (the sidecar, unchecked)."""
    meta = read_sidecar(folder, commit)
    if not meta:
        return {"kind": "fts5", "postings_from": POSTINGS_MIN}
    delta = meta.get("delta") or {}
    return {"kind": "postings", "rows": meta.get("rows"), "base_commit": (meta.get("base") or {}).get("commit"),
            "postings": ((meta.get("base") or {}).get("file") or {}).get("postings"),
            "delta_added": delta.get("added", 0), "delta_removed": delta.get("removed", 0),
            "postings_from": POSTINGS_MIN}


def problems(db: sqlite3.Connection, folder: Path, commit: int, chunks: int) -> list[tuple[str, bool]]:
    """(problem, damage) for the BM25 postings of `commit` (`rag check`): each file whole against its sha256,
    the full-text state it was made from and its row count against rag.sqlite's."""
    meta = read_sidecar(folder, commit)
    if meta is None:
        return [(f"no BM25 postings for commit {commit} (kept from {POSTINGS_MIN:,} chunks) — BM25 comes from "
                 "FTS5 until the next commit or --repair writes them", False)] if chunks >= POSTINGS_MIN else []
    fix = " — --repair rebuilds them (BM25 comes from FTS5 meanwhile)"
    try:
        files = [(post_path(folder, int(meta["base"]["commit"])), meta["base"]["file"])]
        if meta.get("delta"):
            files.append((post_path(folder, commit), meta["delta"]["file"]))
    except (KeyError, TypeError, ValueError):
        return [(f"{sidecar_path(folder, commit).name} cannot be read{fix}", True)]
    found = [(f"{path.name} {why}{fix}", True) for path, described in files if (why := file_problem(path, described))]
    if meta.get("fts_state") != fts_state(db):
        found.append((f"{sidecar_path(folder, commit).name} was made from another state of the full-text index{fix}",
                      True))
    elif meta.get("rows") != chunks:
        found.append((f"{sidecar_path(folder, commit).name} holds {meta.get('rows')} rows, rag.sqlite {chunks}{fix}",
                      True))
    return found

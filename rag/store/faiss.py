"""The vector index: derived from the vectors in SQLite, updated by each commit with only what it changed.

A state is a base (built from every vector at commit B, of the kind rag/store/ann.py picks by size) and a delta (the
chunks added and the ids removed since B), described by `vectors.N.json` for commit N (rag/store/vector_files.py). A
commit writes only a new delta: its added chunks are the rows above the base's `seq` (chunk row ids are never used
twice: rows.next_chunk_id) and its removed ones the base ids no longer in rag.sqlite, so adding a file to a million
chunks reads and writes only that file's vectors and 8 MB of ids. When the delta outgrows `COMPACT_SHARE` of the
base, or the size calls for another kind, the base is built again.
Searches skip removed ids with a FAISS selector and search the delta exactly. Nothing is trusted that its sidecar
does not vouch for: a file that is missing or fails its checksum, or a state whose row count differs from SQLite's,
is rebuilt from SQLite (reading the vectors in batches, so no process holds all of them as float32 at once) and
saved when no writer holds the lock.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from rag.core.errors import IndexLockedError, RagError
from rag.store import ann
from rag.store.vector_files import (
    decode_delta,
    delta_path,
    describe,
    drop_others,
    encode_delta,
    file_problem,
    ids_path,
    numbered,
    read_sidecar,
    remove_newer,
    sidecar_path,
    vectors_path,
    verified_bytes,
    write_files,
)

if TYPE_CHECKING:
    import numpy as np

    from rag.store.protocol import Store

__all__ = ["VectorIndex", "read_sidecar", "remove_newer", "sidecar_path", "vectors_path", "verified_bytes"]
BATCH = 50_000           # vectors read from SQLite at a time by a build
COMPACT_SHARE = 0.05     # a delta above this share of the base (and above COMPACT_MIN rows) rebuilds the base
COMPACT_MIN = 5_000


class VectorSource(Protocol):
    """What the vector index reads from the store (rag/store/sqlite.py implements it)."""
    folder: Path

    def transaction(self, write: bool = True) -> AbstractContextManager[None]: ...
    def commit_number(self) -> int: ...
    def dimension(self) -> int: ...
    def chunk_count(self) -> int: ...
    def chunk_ids(self) -> np.ndarray: ...
    def chunk_seq(self) -> int | None: ...
    def roots(self) -> list[str]: ...
    def vectors_after(self, after: int, limit: int) -> tuple[np.ndarray, np.ndarray]: ...
    def vectors_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class VectorIndex:
    """Inner-product search over unit vectors; FAISS ids are the chunks' SQLite row ids."""
    in_process: ClassVar[bool] = True   # search reads only this process's memory: fusion runs it beside BM25

    def __init__(self, index: Any, commit: int, rebuilt: str = "", kind: str = "flat",
                 params: dict[str, int] | None = None, delta: Any = None, removed: np.ndarray | None = None,
                 meta: dict[str, Any] | None = None, files: dict[Path, bytes] | None = None) -> None:
        self.index = index        # the base
        self.commit = commit
        self.rebuilt = rebuilt    # why the saved files were not used ("" when they were)
        self.kind = kind
        self.params = params or {}
        self.delta = delta        # an exact index of the chunks added since the base, or None
        self.removed = removed    # ids in the base that are gone since, or None
        self.meta = meta or {}    # the sidecar that describes this state
        self.files = files or {}  # what `save` writes besides the sidecar
        self._search, self._keep = ann.search_params(kind, self.params, removed)

    @property
    def rows(self) -> int:
        gone = len(self.removed) if self.removed is not None else 0
        return int(self.index.ntotal) - gone + (int(self.delta.ntotal) if self.delta is not None else 0)

    @classmethod
    def build(cls, store: Store, why: str = "") -> VectorIndex:
        """A new base from every vector in SQLite, read in one snapshot, BATCH rows at a time."""
        import faiss
        import numpy as np

        src = cast(VectorSource, store)
        faiss.omp_set_num_threads(os.cpu_count() or 1)   # training and adding use every core
        with src.transaction(write=False):
            commit, seq, ids, dim = src.commit_number(), src.chunk_seq(), src.chunk_ids(), src.dimension()
            kind = ann.kind_for(len(ids))
            params = ann.params_for(kind, len(ids))
            index = ann.empty(kind, dim, params)
            if params:
                rng = np.random.default_rng(0)
                size = min(len(ids), params["nlist"] * ann.TRAIN_PER_CELL)
                ann.train(index, src.vectors_of(np.sort(rng.choice(ids, size, replace=False)))[1], params)
            last = -1
            while True:
                got, vectors = src.vectors_after(last, BATCH)
                if not len(got):
                    break
                index.add_with_ids(vectors, got)
                last = int(got[-1])
        if index.ntotal != len(ids):
            raise RagError(f"{src.folder}: the chunks changed while the vector index was built — run the "
                           "command again")
        data = faiss.serialize_index(index).tobytes()
        files = {vectors_path(src.folder, commit): data, ids_path(src.folder, commit): ids.tobytes()}
        meta = {"format": 2, "commit": commit, "kind": kind, "params": params, "dim": dim, "rows": len(ids),
                "base": {"commit": commit, "seq": seq, "rows": len(ids),
                         "faiss": describe(data), "ids": describe(files[ids_path(src.folder, commit)])},
                "delta": None}
        return cls(index, commit, why, kind, params, meta=meta, files=files)

    @classmethod
    def update(cls, store: Store, roots: list[str] | None = None, before_base: Any = None) -> VectorIndex:
        """After a commit (under the write lock): save its state, as a delta if the base allows, else a base."""
        src = cast(VectorSource, store)
        roots = roots if roots is not None else src.roots()
        newest = _newest_state(src.folder, src.commit_number())
        state = cls.derive(src, newest) if newest is not None else None
        if state is None:
            if before_base is not None:
                before_base()
            state = cls.build(store)
        state.save(src.folder, roots)
        return state

    @classmethod
    def derive(cls, src: VectorSource, older: dict[str, Any]) -> VectorIndex | None:
        """The state of the store's commit as the base `older` names plus a delta read from SQLite; None
        when a new base is needed (no seq, damaged ids, a delta too large, or time for another kind)."""
        import numpy as np

        base, folder = older.get("base") or {}, src.folder
        try:
            commit_b, seq, kind = int(base["commit"]), base["seq"], str(older["kind"])
        except (KeyError, TypeError, ValueError):
            return None
        data, _ = verified_bytes(ids_path(folder, commit_b), base.get("ids"))
        if seq is None or data is None or len(data) % 8:
            return None
        base_ids = np.frombuffer(data, np.int64)
        with src.transaction(write=False):
            commit, live, dim = src.commit_number(), src.chunk_ids(), src.dimension()
            if ann.kind_for(len(live), kind) != kind:
                return None
            removed = np.setdiff1d(base_ids, live, assume_unique=True)
            expected = live[live > int(seq)]
            if len(expected) + len(removed) > max(COMPACT_MIN, COMPACT_SHARE * len(base_ids)):
                return None
            added, vectors = src.vectors_after(int(seq), max(len(expected), 1))
        if not np.array_equal(added, expected) or len(base_ids) - len(removed) + len(added) != len(live):
            return None
        blob = encode_delta(added, vectors, removed)
        name = delta_path(folder, commit)
        meta = {**older, "commit": commit, "rows": len(live), "dim": dim,
                "delta": {"file": name.name, "added": len(added), "removed": len(removed), **describe(blob)}}
        return cls(None, commit, "", kind, older.get("params") or {}, meta=meta, files={name: blob})

    @classmethod
    def load(cls, store: Store, save: bool = True) -> VectorIndex:
        """The saved state of the store's current commit if it checks out; else one derived from the newest
        saved base, or built from SQLite (and saved, with `save`, when that is possible without waiting)."""
        src = cast(VectorSource, store)
        commit, dim = src.commit_number(), src.dimension()
        meta = read_sidecar(src.folder, commit)
        found, why = cls.open_saved(src.folder, meta, dim) if meta else (None, missing_state(src.folder, commit))
        if found is not None and found.rows != src.chunk_count():
            found, why = None, "its row count or dimension differs from rag.sqlite"
        if found is not None:
            return found
        newest = _newest_state(src.folder, commit)
        derived = cls.derive(src, newest) if newest is not None and why == "missing" else None
        if derived is not None:
            opened = cls.open_saved(src.folder, derived.meta, dim, derived.files)[0]
            if opened is not None:
                if save:
                    derived.save_if_free(store)
                return opened
        built = cls.build(store, why)
        if save and built.commit == commit:
            built.save_if_free(store)
        return built

    @classmethod
    def open_saved(cls, folder: Path, meta: dict[str, Any], dim: int,
                   pending: dict[Path, bytes] | None = None) -> tuple[VectorIndex | None, str]:
        """The state `meta` describes, each file checked against its checksum; (None, why) if it fails."""
        import faiss
        import numpy as np

        try:
            base, kind, commit = meta["base"], str(meta["kind"]), int(meta["commit"])
            path = vectors_path(folder, int(base["commit"]))
            why = file_problem(path, base["faiss"])
            if why:
                return None, f"{path.name} {why}"
            if kind == "flat":
                index = faiss.deserialize_index(np.frombuffer(path.read_bytes(), dtype=np.uint8))
            else:
                index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
            delta, removed = None, None
            if meta.get("delta"):
                name = folder / str(meta["delta"]["file"])
                data = (pending or {}).get(name)
                if data is None:
                    data, why = verified_bytes(name, meta["delta"])
                parts = decode_delta(data, dim) if data is not None else None
                if parts is None:
                    return None, f"{name.name} {why or 'is not a delta'}"
                added, vectors, removed = parts
                delta = ann.empty("flat", dim, {})
                if len(added):
                    delta.add_with_ids(vectors, added)
        except (KeyError, TypeError, ValueError, OSError, RuntimeError) as exc:
            return None, f"cannot be read ({exc})"
        if index.d != dim or index.ntotal != int(base["rows"]):
            return None, "its row count or dimension differs from rag.sqlite"
        return cls(index, commit, "", kind, meta.get("params") or {}, delta, removed, meta), ""

    # --- saving ---------------------------------------------------------------------------------
    def save_if_free(self, store: Store) -> bool:
        """Save under the write lock if no one holds it and the folder is writable; True when saved."""
        from rag.store.lock import WriteLock

        try:
            lock = WriteLock(store.folder, 0.0)
        except (IndexLockedError, OSError):
            return False
        try:
            self.save(store.folder, roots=cast(VectorSource, store).roots())
            return True
        except RagError:
            return False
        finally:
            lock.release()

    def save(self, folder: Path, roots: list[str] | None = None) -> None:
        """Write this state's files and then its sidecar atomically, and drop the files no state uses."""
        meta = {**self.meta, "roots": roots or []}
        write_files(folder, self.files, sidecar_path(folder, self.commit), meta)
        base = int(meta["base"]["commit"])
        keep = {sidecar_path(folder, self.commit).name, vectors_path(folder, base).name,
                ids_path(folder, base).name, *(p.name for p in self.files)}
        drop_others(folder, keep)

    # --- searching ------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest (by inner product): the base's, without removed ids, and the delta's, merged."""
        import faiss

        faiss.omp_set_num_threads(1)   # one query: threads cost more than they save (more so on busy cores)
        q = query.reshape(1, -1).astype("float32")
        found: list[tuple[int, float]] = []
        for index, params in ((self.index, self._search), (self.delta, None)):
            if index is None or index.ntotal == 0:
                continue
            scores, ids = index.search(q, min(k, index.ntotal), params=params)
            found += [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        return sorted(found, key=lambda hit: -hit[1])[:k]

    def describe(self) -> dict[str, Any]:
        return describe_state(self.meta)


def describe_state(meta: dict[str, Any] | None) -> dict[str, Any]:
    """What `rag ls --stats` shows of a saved state (its sidecar, unchecked): kind, parameters, sizes."""
    if not meta:
        return {"kind": "none"}
    delta = meta.get("delta") or {}
    return {"kind": meta.get("kind"), **(meta.get("params") or {}), "rows": meta.get("rows"),
            "base_commit": (meta.get("base") or {}).get("commit"), "delta_added": delta.get("added", 0),
            "delta_removed": delta.get("removed", 0), "approximate_from": ann.ANN_MIN}


def _newest_state(folder: Path, commit: int) -> dict[str, Any] | None:
    """The sidecar of the newest commit ≤ `commit` that reads back (its files are checked when used)."""
    for n in sorted({n for n, p in numbered(folder) if p.suffix == ".json" and n <= commit}, reverse=True):
        meta = read_sidecar(folder, n)
        if meta is not None:
            return meta
    return None


def missing_state(folder: Path, commit: int) -> str:
    """Why commit's state is not there: 'missing' (never written) or a damaged sidecar beside its files."""
    if sidecar_path(folder, commit).exists() or vectors_path(folder, commit).exists():
        return f"{sidecar_path(folder, commit).name} is missing or damaged"
    return "missing"

"""`rag check`'s part for the vector index: the files of the current commit's state against their
checksums, then what they hold against rag.sqlite (the ids exactly; the vectors exactly where they are
stored as float32, and within the 8-bit quantisation's error where the base is ivf-sq8)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.store import rows
from rag.store.faiss import VectorIndex, missing_state
from rag.store.vector_files import ids_path, read_sidecar, verified_bytes

if TYPE_CHECKING:
    import numpy as np

QUANTISED_COSINE = 0.98   # an ivf-sq8 code decodes to within this cosine of its vector (about 0.9999 seen)


def vector_problems(db: sqlite3.Connection, folder: Path, fmt: int, dim: int, commit: int) -> list[tuple[str, bool]]:
    """(problem, damage) for the vector files of `commit`: none when they check out against rag.sqlite."""
    meta = read_sidecar(folder, commit)
    state, why = VectorIndex.open_saved(folder, meta, dim) if meta else (None, missing_state(folder, commit))
    if state is None:
        named = why if why.startswith("vectors.") else f"vectors.{commit}.json {why}"
        return [(f"{named} — it is rebuilt from rag.sqlite (on the next search, or by --repair)", why != "missing")]
    ids, vectors, bad = rows.read_vectors(db, fmt, dim)
    if bad:
        return []   # the damaged rows are reported already; the files are rebuilt after they are repaired
    held, decoded = _contents(folder, state)
    problem = ""
    if held is None or decoded is None:
        problem = "names ids its files do not hold"
    elif len(held) != len(ids) or not np_equal(held, ids):
        problem = f"holds {len(held)} vectors, rag.sqlite {len(ids)} — their ids differ"
    elif len(ids) and not _close(state.kind, decoded, vectors):
        problem = "its vectors differ from rag.sqlite's"
    return [(f"vectors.{commit}.json: the vector index {problem} — rebuilt from rag.sqlite by --repair", True)] \
        if problem else []


def np_equal(a: np.ndarray, b: np.ndarray) -> bool:
    import numpy as np

    return bool(np.array_equal(a, b))


def _contents(folder: Path, state: VectorIndex) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Every (id, vector) the state holds, by id: the base's live rows (decoded) and the delta's."""
    import faiss
    import numpy as np

    base: dict[str, Any] = state.meta["base"]
    data, _ = verified_bytes(ids_path(folder, int(base["commit"])), base.get("ids"))
    if data is None:
        return None, None
    base_ids = np.frombuffer(data, np.int64)
    keep = np.setdiff1d(base_ids, state.removed if state.removed is not None else [], assume_unique=True)
    try:
        if state.kind != "flat":
            state.index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        vectors = [state.index.reconstruct_batch(keep) if len(keep) else np.zeros((0, state.index.d), np.float32)]
    except RuntimeError:
        return None, None
    ids = [keep]
    if state.delta is not None and state.delta.ntotal:
        added = faiss.vector_to_array(state.delta.id_map)
        ids.append(added)
        vectors.append(state.delta.reconstruct_batch(added))
    held = np.concatenate(ids)
    order = np.argsort(held, kind="stable")
    return held[order], np.concatenate(vectors)[order]


def _close(kind: str, held: np.ndarray, stored: np.ndarray) -> bool:
    import numpy as np

    if kind == "flat":
        return bool(np.array_equal(held, stored))
    return bool(np.all(np.einsum("ij,ij->i", held, stored) >= QUANTISED_COSINE))

"""The FAISS index, derived from the vectors in SQLite and named for the commit it matches.

`vectors.N.faiss` is written beside `vectors.N.json` (its sha256, size, row count and the index's roots),
both through temporary files renamed into place. A file whose sidecar is missing or does not match, or
whose row count differs from SQLite's, is not trusted: it is rebuilt from SQLite and the rebuilt one is
saved (when the folder is writable and no writer holds the lock), so the next search loads it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.errors import IndexLockedError, RagError
from rag.store.schema import explain

if TYPE_CHECKING:
    import numpy as np

    from rag.store.protocol import Store

SIDECAR_FORMAT = 1


def vectors_path(folder: Path, commit: int) -> Path:
    return folder / f"vectors.{commit}.faiss"


def sidecar_path(folder: Path, commit: int) -> Path:
    return folder / f"vectors.{commit}.json"


def read_sidecar(folder: Path, commit: int) -> dict[str, Any] | None:
    try:
        data = json.loads(sidecar_path(folder, commit).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == SIDECAR_FORMAT else None


def verified_bytes(folder: Path, commit: int) -> tuple[bytes | None, str]:
    """The bytes of vectors.<commit>.faiss when its sidecar vouches for them, else (None, why not)."""
    path = vectors_path(folder, commit)
    if not path.exists():
        return None, "missing"
    meta = read_sidecar(folder, commit)
    if meta is None:
        return None, f"{sidecar_path(folder, commit).name} is missing or damaged"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"
    if len(data) != meta.get("bytes") or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
        return None, "does not match its checksum (damaged)"
    return data, ""


class VectorIndex:
    """Exact inner-product search over unit vectors; FAISS ids are the chunks' SQLite row ids."""

    def __init__(self, index: Any, commit: int, rebuilt: str = "") -> None:
        self.index = index
        self.commit = commit
        self.rebuilt = rebuilt    # why the saved file was not used ("" when it was)

    @classmethod
    def build(cls, store: Store, why: str = "") -> VectorIndex:
        import faiss

        commit, ids, vectors = store.all_vectors()
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(store.dimension()))
        if len(ids):
            index.add_with_ids(vectors, ids)
        return cls(index, commit, why)

    @classmethod
    def load(cls, store: Store, save: bool = True) -> VectorIndex:
        """The saved index for the store's current commit if it checks out, else one built from SQLite
        (and saved, with `save`, when that is possible without waiting)."""
        import faiss
        import numpy as np

        commit = store.commit_number()
        data, why = verified_bytes(store.folder, commit)
        if data is not None:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
            if index.ntotal == store.chunk_count() and index.d == store.dimension():
                return cls(index, commit)
            why = "its row count or dimension differs from rag.sqlite"
        built = cls.build(store, why)
        if save and built.commit == commit:
            built.save_if_free(store)
        return built

    def save_if_free(self, store: Store) -> bool:
        """Save under the write lock if no one holds it and the folder is writable; True when saved."""
        from rag.store.lock import WriteLock

        try:
            lock = WriteLock(store.folder, 0.0)
        except (IndexLockedError, OSError):
            return False
        try:
            self.save(store.folder, roots=sorted({d.root for d in store.documents(check=False)}))
            return True
        except RagError:
            return False
        finally:
            lock.release()

    def save(self, folder: Path, roots: list[str] | None = None) -> None:
        """Write atomically (temp files + rename; the sidecar first) and drop files of older commits.
        A full disk is a RagError; no temporary file is left behind."""
        import faiss

        data = faiss.serialize_index(self.index).tobytes()
        meta = {"format": SIDECAR_FORMAT, "commit": self.commit, "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(), "rows": int(self.index.ntotal), "roots": roots or []}
        target, side = vectors_path(folder, self.commit), sidecar_path(folder, self.commit)
        temps = [folder / f"{target.name}.tmp{os.getpid()}", folder / f"{side.name}.tmp{os.getpid()}"]
        try:
            _write(temps[1], json.dumps(meta).encode())
            _write(temps[0], data)
            os.replace(temps[1], side)
            os.replace(temps[0], target)
        except OSError as exc:
            for tmp in temps:
                tmp.unlink(missing_ok=True)
            raise explain(exc, folder) from exc
        for n, old in _numbered(folder):   # older commits' files, and temporary files a kill left
            if n < self.commit or ".tmp" in old.name:
                old.unlink(missing_ok=True)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.index.ntotal == 0:
            return []
        scores, ids = self.index.search(query.reshape(1, -1).astype("float32"), min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _numbered(folder: Path) -> list[tuple[int, Path]]:
    """vectors.N.faiss and vectors.N.json files (and stray temporary files of them) with their N."""
    found = []
    for path in folder.glob("vectors.*"):
        parts = path.name.split(".")
        if len(parts) >= 3 and parts[1].isdigit():
            found.append((int(parts[1]), path))
    return found


def remove_newer(folder: Path, commit: int) -> list[str]:
    """Delete vector files of commits after `commit` (left by a rollback); their names."""
    gone = []
    for n, path in _numbered(folder):
        if n > commit:
            path.unlink(missing_ok=True)
            gone.append(path.name)
    return sorted(gone)

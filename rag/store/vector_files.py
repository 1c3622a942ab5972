"""The files of the vector index and how they are written and trusted.

One commit's state is `vectors.N.json` (the sidecar, N = the commit) naming a *base* built at commit B ≤ N
(`vectors.B.faiss`, the FAISS index, and `vectors.B.ids`, its chunk row ids, sorted int64) and, when N > B,
a *delta* `vectors.N.delta`: the chunks added since B (ids and float32 vectors) and the ids removed since.
The sidecar holds every file's size and sha256; a file that does not match is not trusted. Every file is
written to a temporary name, fsynced and renamed into place, the sidecar last, so a kill leaves the old
state or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.store.schema import explain

if TYPE_CHECKING:
    import numpy as np

SIDECAR_FORMAT = 2
_MAGIC = b"RAGDELT1"
_READ = 16 << 20    # files are hashed in pieces of 16 MiB, so checking one costs no memory


def vectors_path(folder: Path, commit: int) -> Path:
    return folder / f"vectors.{commit}.faiss"


def ids_path(folder: Path, commit: int) -> Path:
    return folder / f"vectors.{commit}.ids"


def delta_path(folder: Path, commit: int) -> Path:
    return folder / f"vectors.{commit}.delta"


def sidecar_path(folder: Path, commit: int) -> Path:
    return folder / f"vectors.{commit}.json"


def read_sidecar(folder: Path, commit: int) -> dict[str, Any] | None:
    try:
        data = json.loads(sidecar_path(folder, commit).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == SIDECAR_FORMAT else None


def describe(data: bytes) -> dict[str, Any]:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def file_problem(path: Path, meta: Any) -> str:
    """'' when `path` has the size and sha256 its sidecar entry `meta` names, else what is wrong."""
    if not path.exists():
        return "missing"
    if not isinstance(meta, dict):
        return "is not named by its sidecar"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as f:
            while block := f.read(_READ):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if size != meta.get("bytes") or digest.hexdigest() != meta.get("sha256"):
        return "does not match its checksum (damaged)"
    return ""


def verified_bytes(path: Path, meta: Any) -> tuple[bytes | None, str]:
    """The bytes of `path` when its sidecar entry vouches for them, else (None, why not)."""
    why = file_problem(path, meta)
    if why:
        return None, why
    try:
        return path.read_bytes(), ""
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"


def write_files(folder: Path, files: dict[Path, bytes], sidecar: Path, meta: dict[str, Any]) -> None:
    """Write `files` and then `sidecar` (JSON of `meta`) atomically: each through a fsynced temporary file
    renamed into place, the sidecar last. A full disk is a RagError; no temporary file is left behind."""
    temps: list[Path] = []
    try:
        for target, data in [*files.items(), (sidecar, json.dumps(meta).encode())]:
            tmp = folder / f"{target.name}.tmp{os.getpid()}"
            temps.append(tmp)
            _write(tmp, data)
            os.replace(tmp, target)
    except OSError as exc:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise explain(exc, folder) from exc


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def encode_delta(added: np.ndarray, vectors: np.ndarray, removed: np.ndarray) -> bytes:
    import numpy as np

    head = np.array([len(added), len(removed), vectors.shape[1] if vectors.ndim == 2 else 0], dtype=np.int64)
    return b"".join([_MAGIC, head.tobytes(), added.astype(np.int64).tobytes(),
                     vectors.astype(np.float32).tobytes(), removed.astype(np.int64).tobytes()])


def decode_delta(data: bytes, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(added ids, their vectors, removed ids), or None when the bytes are not a delta of `dim`."""
    import numpy as np

    if not data.startswith(_MAGIC) or len(data) < 32:
        return None
    n_add, n_rm, d = (int(x) for x in np.frombuffer(data, np.int64, 3, len(_MAGIC)))
    if min(n_add, n_rm) < 0 or (n_add and d != dim) or len(data) != 32 + 8 * n_add + 4 * n_add * d + 8 * n_rm:
        return None
    added = np.frombuffer(data, np.int64, n_add, 32)
    vectors = np.frombuffer(data, np.float32, n_add * d, 32 + 8 * n_add).reshape(n_add, dim)
    removed = np.frombuffer(data, np.int64, n_rm, 32 + 8 * n_add + 4 * n_add * d)
    return added, vectors, removed


def numbered(folder: Path) -> list[tuple[int, Path]]:
    """vectors.N.* files (and stray temporary files of them) with their N."""
    found = []
    for path in folder.glob("vectors.*"):
        parts = path.name.split(".")
        if len(parts) >= 3 and parts[1].isdigit():
            found.append((int(parts[1]), path))
    return found


def drop_others(folder: Path, keep: set[str]) -> None:
    """Delete the vector files (and temporary files a kill left) that the current state does not use."""
    for _, path in numbered(folder):
        if path.name not in keep:
            path.unlink(missing_ok=True)


def remove_newer(folder: Path, commit: int) -> list[str]:
    """Delete vector files of commits after `commit` (left by a rollback); their names."""
    gone = []
    for n, path in numbered(folder):
        if n > commit:
            path.unlink(missing_ok=True)
            gone.append(path.name)
    return sorted(gone)

"""Uploads: checked on the server (type and size), saved under <index>/uploads/ with safe names, and
ingested one file at a time through `Index.ingest`, so each file gets its own status.

`save_and_ingest` is what the app's upload widget (ui/upload.py) and `rag serve`'s POST /v1/documents
call, so both faces accept the same files under the same limits.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.core.errors import RagError

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary
    from rag.index import Index

MAX_UPLOAD_MB = 200
"""The largest file an upload may be (the app tells Streamlit; both faces check it again here)."""

UPLOADS_DIR = "uploads"
MAX_NAME = 120


@dataclass(frozen=True)
class FileStatus:
    name: str              # as uploaded
    saved_as: str          # the file name under uploads/ ("" when rejected)
    status: str            # added | updated | unchanged | failed | rejected
    detail: str = ""       # the reason, for failed and rejected files
    ocr_pages: int = 0
    chunks: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("added", "updated", "unchanged")


def supported_suffixes() -> list[str]:
    from ingest.registry import default_registry

    return sorted(key for key in default_registry() if key.startswith("."))   # not the export-folder kinds


def safe_name(name: str) -> str:
    """A file name with no folder parts, control characters or odd punctuation; never empty or hidden."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = re.sub(r"[^\w .()+,=@-]", "_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = (stem.strip(" .") or "upload")[: MAX_NAME - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(name: str, size: int, suffixes: Sequence[str], max_bytes: int) -> str | None:
    """Why the file is refused (on the server: the browser's own check can be bypassed), or None."""
    suffix = Path(safe_name(name)).suffix.lower()
    if suffix not in suffixes:
        shown = suffix or "(no extension)"
        return f"{name}: {shown} files cannot be ingested — supported: {' '.join(suffixes)}"
    if size > max_bytes:
        return (f"{name}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit — split the file, "
                "or ingest its folder with `rag ingest`")
    if size == 0:
        return f"{name}: the file is empty — nothing to index"
    return None


def stored_path(folder: Path, name: str, data: bytes) -> Path:
    """Where to save `data`: `name`, or the same file already saved, or "name (2).ext" on a clash."""
    target = folder / name
    digest = hashlib.sha256(data).digest()
    n = 2
    while target.exists() and hashlib.sha256(target.read_bytes()).digest() != digest:
        target = folder / f"{Path(name).stem} ({n}){Path(name).suffix}"
        n += 1
    return target


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = stored_path(folder, safe_name(name), data)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def status_of(name: str, path: Path, summary: IngestSummary, index: Index) -> FileStatus:
    problems = [f.error for f in summary.failed] + [f"{s.source}: {s.reason}" for s in summary.skipped]
    record = next((d for d in index.documents() if Path(d.root, d.source) == path.resolve()), None)
    chunks = record.chunks if record else 0
    ocr = int(getattr(summary, "ocr_pages", 0) or (record.meta.get("ocr_pages", 0) if record else 0))
    if problems:
        return FileStatus(name, path.name, "failed", "; ".join(problems), ocr, chunks)
    status = "added" if summary.added else "updated" if summary.changed or summary.renamed else "unchanged"
    return FileStatus(name, path.name, status, "", ocr, chunks)


def save_and_ingest(index: Index, files: Sequence[tuple[str, bytes]],
                    on_progress: Callable[[int, str], None] | None = None,
                    max_bytes: int = MAX_UPLOAD_MB * 1_000_000, lock_wait: float = 0.0) -> list[FileStatus]:
    """Check, save and ingest each (name, data); `on_progress(done, name)` after each file. `lock_wait`:
    seconds to wait for another process writing the index."""
    suffixes = supported_suffixes()
    folder = index.folder / UPLOADS_DIR
    out: list[FileStatus] = []
    for done, (name, data) in enumerate(files, start=1):
        refused = check_upload(name, len(data), suffixes, max_bytes)
        if refused:
            out.append(FileStatus(name, "", "rejected", refused))
        else:
            path = save_upload(folder, name, data)
            try:
                out.append(status_of(name, path, index.ingest(path, lock_wait=lock_wait), index))
            except RagError as exc:
                out.append(FileStatus(name, path.name, "failed", str(exc)))
        if on_progress is not None:
            on_progress(done, name)
    return out


def remove_document(index: Index, root: str, source: str, lock_wait: float = 0.0) -> int:
    """Remove a document from the index; a copy the app stored (uploads/, memory/) is deleted too."""
    path = Path(root, source)
    count = index.remove(str(path), lock_wait)
    owned = {(index.folder / UPLOADS_DIR).resolve(), (index.folder / "memory").resolve()}
    if Path(root).resolve() in owned and path.is_file():
        path.unlink()
    return count

"""Walk a folder: which files are there, which can be loaded, and what each one's content hash is."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ingest.registry import LoaderSpec


@dataclass(frozen=True)
class FileEntry:
    path: Path
    source: str          # path relative to the ingested folder, with "/" separators
    size: int
    mtime_ns: int
    loader: str


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _skip_reason(path: Path, root: Path, registry: dict[str, LoaderSpec]) -> str | None:
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root):
            return f"symlink points outside the folder (to {target}) — copy the file in instead"
    if path.suffix.lower() not in registry:
        kinds = " ".join(sorted(registry))
        shown = path.suffix or "(no extension)"
        return f"no loader for {shown} files — supported: {kinds}"
    return None


IGNORE_FILE = ".ragignore"


def ignore_patterns(root: Path) -> list[str]:
    """Patterns from `<folder>/.ragignore` (one per line, `#` comments), matched like .gitignore globs."""
    path = root / IGNORE_FILE
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def is_ignored(source: str, patterns: list[str]) -> bool:
    parts = source.split("/")
    return any(fnmatch.fnmatch(source, p) or any(fnmatch.fnmatch(part, p) for part in parts)
               for p in patterns)


def scan_folder(folder: Path, registry: dict[str, LoaderSpec],
                exclude: tuple[Path, ...] = ()) -> tuple[list[FileEntry], list[Skipped]]:
    """Loadable files under `folder` (hidden files and `exclude` folders left out) and the skipped ones."""
    root = folder.resolve()
    if root.is_file():
        return _entries([root], root.parent, registry)
    paths: list[Path] = []
    excluded = {p.resolve() for p in exclude}
    patterns = ignore_patterns(root)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and (here / d).resolve() not in excluded)
        paths.extend(here / name for name in sorted(filenames) if not name.startswith(".")
                     and not is_ignored((here / name).relative_to(root).as_posix(), patterns))
    return _entries(paths, root, registry)


def _entries(paths: list[Path], root: Path,
             registry: dict[str, LoaderSpec]) -> tuple[list[FileEntry], list[Skipped]]:
    entries: list[FileEntry] = []
    skipped: list[Skipped] = []
    for path in paths:
        source = path.relative_to(root).as_posix()
        reason = _skip_reason(path, root, registry)
        if reason:
            skipped.append(Skipped(source, reason))
            continue
        try:
            st = path.stat()
        except OSError as exc:
            skipped.append(Skipped(source, f"cannot read the file ({exc.strerror}) — check its permissions"))
            continue
        entries.append(FileEntry(path, source, st.st_size, st.st_mtime_ns, registry[path.suffix.lower()].name))
    return entries, skipped

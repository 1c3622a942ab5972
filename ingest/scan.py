"""Walk a folder: which files are there, which can be loaded, and what each one's content hash is.

An unzipped Slack or Notion export in the folder (or the folder itself) is one entry, read whole by its
loader: its size is the total of its files, its modification time the newest of its files and folders,
and its hash covers each file's relative name and content (so a renamed file inside counts as a change).
The top-most folder that looks like an export is its root; the files in it are not listed one by one.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import notion, slack
from ingest.loaders.safezip import folder_files
from ingest.loaders.spec import LoaderSpec


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
    """sha256 of a file's bytes; of a folder entry, of its files' sorted relative names, sizes and bytes."""
    h = hashlib.sha256()
    is_folder = path.is_dir()
    for name, file in folder_files(path) if is_folder else [("", path)]:
        if is_folder:
            h.update(f"{name}\0{file.stat().st_size}\0".encode("utf-8", "surrogateescape"))
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def export_key(folder: Path, registry: dict[str, LoaderSpec]) -> str | None:
    """The registry key ("slack/", "notion/") when `folder` is the top of an unzipped export, else None."""
    try:
        children = [c for c in os.scandir(folder) if not c.name.startswith(".")]
        files = [c.name for c in children if c.is_file()]
        folders = [c.name for c in children if c.is_dir()]
    except OSError:
        return None
    if "slack/" in registry and slack.is_export_listing(set(files)):
        return "slack/"
    if "notion/" in registry and notion.is_export_listing(files, folders):
        return "notion/"
    return None


def _export_entry(folder: Path, source: str, key: str, registry: dict[str, LoaderSpec]) -> FileEntry | Skipped:
    try:
        stats = [p.stat() for _, p in folder_files(folder)]
        times = [Path(d).stat().st_mtime_ns for d, _, _ in os.walk(folder)] + [s.st_mtime_ns for s in stats]
    except OSError as exc:
        return Skipped(source, f"cannot read the export folder ({exc.strerror}) — check its permissions")
    return FileEntry(folder, source, sum(s.st_size for s in stats), max(times), registry[key].name)


def _skip_reason(path: Path, root: Path, registry: dict[str, LoaderSpec]) -> str | None:
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root):
            return f"symlink points outside the folder (to {target}) — copy the file in instead"
        if not target.exists():
            return f"broken symlink (its target {target} does not exist) — fix or remove the link"
    if path.suffix.lower() not in registry:
        kinds = " ".join(sorted(k for k in registry if k.startswith(".")))
        shown = path.suffix or "(no extension)"
        return f"no loader for {shown} files — supported: {kinds}"
    return None


def source_name(path: Path, root: Path) -> str:
    """The path relative to the ingested folder, with "/" separators. A name that is not valid UTF-8
    (bytes from an old Latin-1 disk) keeps its odd bytes as "\\xe9" escapes, so it can be stored and shown."""
    relative = path.relative_to(root).as_posix()
    return re.sub("[\udc80-\udcff]", lambda m: f"\\x{ord(m.group()) - 0xdc00:02x}", relative)


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
    key = export_key(root, registry)
    if key:
        found = _export_entry(root, root.name, key, registry)
        return ([found], []) if isinstance(found, FileEntry) else ([], [found])
    paths: list[Path] = []
    exports: list[FileEntry | Skipped] = []
    excluded = {p.resolve() for p in exclude}
    patterns = ignore_patterns(root)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and (here / d).resolve() not in excluded)
        for name in list(dirnames):
            source = source_name(here / name, root)
            key = export_key(here / name, registry)
            if key:   # one entry for the whole export, unless .ragignore leaves it out
                dirnames.remove(name)
                if not is_ignored(source, patterns):
                    exports.append(_export_entry(here / name, source, key, registry))
        paths.extend(here / name for name in sorted(filenames) if not name.startswith(".")
                     and not is_ignored((here / name).relative_to(root).as_posix(), patterns))
    entries, skipped = _entries(paths, root, registry)
    entries += [e for e in exports if isinstance(e, FileEntry)]
    skipped += [e for e in exports if isinstance(e, Skipped)]
    return entries, skipped


def _entries(paths: list[Path], root: Path,
             registry: dict[str, LoaderSpec]) -> tuple[list[FileEntry], list[Skipped]]:
    entries: list[FileEntry] = []
    skipped: list[Skipped] = []
    for path in paths:
        source = source_name(path, root)
        reason = _skip_reason(path, root, registry)
        if reason:
            skipped.append(Skipped(source, reason))
            continue
        try:
            st = path.stat()
        except OSError as exc:
            skipped.append(Skipped(source, f"cannot read the file ({exc.strerror}) — check its permissions"))
            continue
        if not stat.S_ISREG(st.st_mode):   # a FIFO would block the read forever; a device never ends
            skipped.append(Skipped(source, "not a regular file (a FIFO, socket or device) — only regular "
                                           "files are read"))
            continue
        entries.append(FileEntry(path, source, st.st_size, st.st_mtime_ns, registry[path.suffix.lower()].name))
    return entries, skipped

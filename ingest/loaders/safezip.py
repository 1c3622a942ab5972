"""Read zip archives (and unzipped export folders) without trusting them.

    with open_tree(path, source) as tree:        # a zip file or a folder, read the same way
        for name in tree.names():
            data = tree.read(name)
        tree.warnings                             # what was skipped, each naming the entry

An archive's entries are checked before anything is read:
- a name that escapes (`../x`, `/etc/x`, `C:\\x`), a symbolic link, an encrypted entry, an entry that
  expands more than `max_ratio` times (a zip bomb's mark) or past `max_member` bytes: skipped, with a
  warning naming it;
- more than `max_entries` entries, or more than `max_total` bytes uncompressed as the headers say: the
  whole archive is refused (LoaderError). Headers can lie, so the bytes are also counted while reading,
  against the same budget, shared with the archives nested inside (at most `max_depth` deep);
- a file that is not a readable zip: LoaderError naming it.
Names are cleaned (backslashes read as separators, "." and empty parts dropped, control characters
removed). Members are read into memory or streamed into a folder the caller owns (`extract`), under a
name made here, so nothing is ever written outside that folder.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rag.core.errors import LoaderError

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BLOCK = 1 << 16
_SMALL = 1 << 20   # a member this small cannot be a bomb, whatever its ratio


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 10_000
    max_total: int = 1 << 30       # bytes uncompressed, the archive and the archives inside it together
    max_member: int = 512 << 20
    max_ratio: int = 200           # uncompressed / compressed size, for members over 1 MiB
    max_depth: int = 3             # archives inside archives


class MemberError(Exception):
    """One entry of an archive cannot be used; the message names it. The rest of the archive can."""


class Tree(Protocol):
    """Files under one root, by relative "/"-separated name: a zip archive or a folder."""

    warnings: list[str]

    def names(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...


def clean_part(part: str) -> str:
    """One path component without control characters."""
    return _CONTROL.sub("", part)


def safe_name(raw: str) -> str | None:
    """The entry name as a clean relative path, or None when it would escape the folder it is read into."""
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return None
    parts = [clean_part(p) for p in name.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(p or "_" for p in parts)


class _Budget:
    """Uncompressed bytes still allowed, shared by an archive and those nested in it."""

    def __init__(self, total: int) -> None:
        self.left = total


class Archive:
    """An open zip whose entries passed the checks above. Warnings name entries relative to this archive;
    `depth` counts the archives it sits in."""

    def __init__(self, zf: zipfile.ZipFile, source: str, limits: ZipLimits, budget: _Budget,
                 depth: int = 0) -> None:
        self._zf, self.source, self.limits, self._budget, self.depth = zf, source, limits, budget, depth
        self.warnings: list[str] = []
        self._entries: dict[str, zipfile.ZipInfo] = {}
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise LoaderError(f"{source}: the archive has {len(infos)} entries, more than the limit of "
                              f"{limits.max_entries} — if you trust it, unzip it and ingest the folder")
        for info in infos:
            self._admit(info)
        declared = sum(i.file_size for i in self._entries.values())
        if declared > budget.left:
            raise LoaderError(f"{source}: the archive would expand to {declared:,} bytes, more than the limit "
                              f"of {budget.left:,} — if you trust it, unzip it and ingest the folder")

    def _admit(self, info: zipfile.ZipInfo) -> None:
        if info.is_dir():
            return
        name = safe_name(info.filename)
        problem = _problem(info, name, self.limits)
        if problem or name is None:
            self.warnings.append(f"{info.filename!r}: skipped — {problem}")
        elif name in self._entries:
            self.warnings.append(f"{name}: appears twice in the archive — the first copy is used")
        else:
            self._entries[name] = info

    def names(self) -> list[str]:
        return sorted(self._entries)

    def size(self, name: str) -> int:
        return self._entries[name].file_size

    def _blocks(self, name: str) -> Iterator[bytes]:
        """The member's bytes, counted against its header and the shared budget while they are read."""
        info = self._entries[name]
        seen = 0
        try:
            with self._zf.open(info) as f:
                while block := f.read(_BLOCK):
                    seen += len(block)
                    self._budget.left -= len(block)
                    if seen > info.file_size:
                        raise MemberError(f"{name}: holds more than its header says "
                                          f"({info.file_size:,} bytes) — the archive was tampered with; skipped")
                    if self._budget.left < 0:
                        raise LoaderError(f"{self.source}: expands past the limit of {self.limits.max_total:,} "
                                          "bytes while being read — if you trust it, unzip it and ingest the folder")
                    yield block
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
            raise MemberError(f"{name}: is damaged or cannot be unpacked ({exc}) — skipped") from exc

    def read(self, name: str) -> bytes:
        return b"".join(self._blocks(name))

    def extract(self, name: str, folder: Path) -> Path:
        """Stream the member into `folder/<its base name, shortened>` and return that path."""
        target = folder / _short_base(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            for block in self._blocks(name):
                out.write(block)
        return target

    def open_nested(self, name: str) -> Archive:
        """The zip stored as entry `name`, read with the same budget, one level deeper."""
        if self.depth + 1 > self.limits.max_depth:
            raise MemberError(f"{name}: skipped — archives nested more than "
                              f"{self.limits.max_depth} deep")
        data = self.read(name)
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise MemberError(f"{name}: skipped — not a readable zip archive ({exc})") from exc
        try:
            return Archive(zf, self.source, self.limits, self._budget, self.depth + 1)
        except LoaderError as exc:
            zf.close()
            raise MemberError(f"{name}: skipped — {str(exc).split(': ', 1)[-1]}") from exc

    def close(self) -> None:
        self._zf.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _problem(info: zipfile.ZipInfo, name: str | None, limits: ZipLimits) -> str:
    """Why an entry cannot be read safely ("" when it can)."""
    if name is None:
        return "its path points outside the archive's folder"
    if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
        return "it is a symbolic link"
    if info.flag_bits & 0x1:
        return "it is encrypted — export the archive without a password"
    if info.file_size > limits.max_member:
        return f"it would expand to {info.file_size:,} bytes, more than the limit of {limits.max_member:,}"
    if info.file_size > _SMALL and info.file_size > limits.max_ratio * max(1, info.compress_size):
        ratio = info.file_size // max(1, info.compress_size)
        return f"it expands {ratio:,} times ({info.compress_size:,} → {info.file_size:,} bytes), like a zip bomb"
    return ""


def _short_base(name: str) -> str:
    """The member's base name, cut to fit any file system (the suffix kept)."""
    base = name.rsplit("/", 1)[-1]
    if len(base.encode("utf-8")) <= 120:
        return base
    stem, dot, suffix = base.rpartition(".")
    keep = ("." + suffix) if dot and len(suffix) <= 10 else ""
    return (stem if keep else base).encode("utf-8")[:100].decode("utf-8", "ignore") + keep


def open_archive(path: Path, source: str, limits: ZipLimits | None = None) -> Archive:
    """The zip at `path`, checked; a file that is not a readable zip is a LoaderError naming `source`."""
    limits = limits or ZipLimits()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise LoaderError(f"{source}: not a readable zip archive ({exc}) — the file is damaged or is not a zip; "
                          "download or create it again") from exc
    try:
        return Archive(zf, source, limits, _Budget(limits.max_total))
    except BaseException:
        zf.close()
        raise


def _unreadable(exc: OSError) -> None:
    raise exc


def folder_files(root: Path) -> list[tuple[str, Path]]:
    """(relative name, path) of every file under `root`, sorted; hidden files and links out of it left out
    (links to folders are never followed). A subfolder that cannot be listed is an OSError, not a gap."""
    found: list[tuple[str, Path]] = []
    top = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, onerror=_unreadable):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            path = here / name
            if name.startswith(".") or (path.is_symlink() and not path.resolve().is_relative_to(top)):
                continue
            if path.is_file():
                found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


class Folder:
    """An unzipped export, read like an archive."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.warnings: list[str] = []
        self._files = dict(folder_files(root))

    def names(self) -> list[str]:
        return sorted(self._files)

    def read(self, name: str) -> bytes:
        try:
            return self._files[name].read_bytes()
        except OSError as exc:
            raise MemberError(f"{name}: cannot be read ({exc.strerror}) — skipped") from exc

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def open_tree(path: Path, source: str) -> Archive | Folder:
    """A folder as it is, anything else as a zip archive."""
    return Folder(path) if path.is_dir() else open_archive(path, source)

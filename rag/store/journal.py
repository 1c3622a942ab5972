"""commits.jsonl: one line per commit, written after it, so that a lost commit can be noticed and named.

SQLite keeps recent commits in rag.sqlite-wal until a checkpoint copies them into rag.sqlite. If that
file is deleted (or the disk loses writes), the index silently goes back to an older commit. Each commit
therefore also appends a line here (its number, what changed, a checksum of the line); after a complete
checkpoint the lines are no longer needed and the file is emptied. A line whose commit is newer than the
database's, like a vectors.N.faiss file newer than it, means committed changes were lost: a rollback.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rag.store.checksum import digest

JOURNAL_NAME = "commits.jsonl"
_VECTORS = re.compile(r"^vectors\.(\d+)\.(?:faiss|json)$")   # a base, or any commit's sidecar


@dataclass(frozen=True)
class Entry:
    commit: int
    op: str          # put | remove | fail
    root: str
    source: str


@dataclass(frozen=True)
class Rollback:
    """The database is at `commit` but `newest` was written: what the commits in between changed is lost."""
    commit: int
    newest: int
    lost: tuple[Entry, ...]
    vector_files: tuple[str, ...]   # vectors.N.faiss files newer than the database

    def describe(self, folder: Path) -> str:
        names = sorted({e.source for e in self.lost if e.op == "put"})
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        what = f"; documents lost: {shown}" if names else ""
        seen = " and ".join(x for x in (f"{JOURNAL_NAME}" if self.lost else "",
                                        ", ".join(self.vector_files)) if x)
        return (f"{folder}: committed changes were lost — rag.sqlite is at commit {self.commit} but commit "
                f"{self.newest} was written ({seen}){what}. Most likely rag.sqlite-wal was deleted or the disk "
                f"lost writes. `rag check --index {folder} --repair` re-ingests them from their files")


def record(folder: Path, commit: int, op: str, root: str, source: str) -> None:
    """Append one line; a failure to write it (a full disk) costs only the naming of a later loss."""
    body = {"commit": commit, "op": op, "root": root, "source": source}
    line = json.dumps({**body, "check": digest([commit, op, root, source])}, ensure_ascii=True)
    try:
        with open(folder / JOURNAL_NAME, "a", encoding="ascii") as f:
            f.write(line + "\n")
    except OSError:
        pass


def entries(folder: Path) -> tuple[list[Entry], int]:
    """The journal's intact lines, and how many lines were damaged (they are ignored)."""
    try:
        raw = (folder / JOURNAL_NAME).read_bytes()
    except OSError:
        return [], 0
    found: list[Entry] = []
    damaged = 0
    for line in raw.splitlines():
        try:
            item = json.loads(line)
            entry = Entry(int(item["commit"]), str(item["op"]), str(item["root"]), str(item["source"]))
            if item["check"] != digest([entry.commit, entry.op, entry.root, entry.source]):
                raise ValueError("checksum")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            damaged += 1
            continue
        found.append(entry)
    return found, damaged


def clear(folder: Path) -> None:
    """Empty the journal once every commit it names is in rag.sqlite itself (after a full checkpoint)."""
    path = folder / JOURNAL_NAME
    try:
        if path.exists() and path.stat().st_size:
            os.truncate(path, 0)
    except OSError:
        pass


def vector_files(folder: Path) -> dict[int, Path]:
    """Vector files by N: vectors.N.json (every saved commit has one) or vectors.N.faiss (a base)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    found: dict[int, Path] = {}
    for n in sorted(names):   # the .json sidecar (read for its roots) wins over the .faiss base
        if m := _VECTORS.match(n):
            found[int(m.group(1))] = folder / n
    return found


def rollback(folder: Path, commit: int) -> Rollback | None:
    """The rollback, if the journal or a vector file names a commit newer than the database's."""
    lost = [e for e in entries(folder)[0] if e.commit > commit]
    files = vector_files(folder)
    newer = sorted(n for n in files if n > commit)
    if not lost and not newer:
        return None
    newest = max([e.commit for e in lost] + newer)
    return Rollback(commit, newest, tuple(lost), tuple(files[n].name for n in newer))

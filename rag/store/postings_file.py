"""The postings file of rag/store/postings.py: how it is built from an FTS5 table and read a term at a time.

A file is [postings][directory arrays][JSON header][header length][magic]. A posting is 7 bytes: the row (an
index into the directory's `rows`), its occurrences in the title and in the text. The directory holds each
term's 64-bit key (sorted, with the order of the terms), where each term's postings start, the rows (chunk
row ids, ascending), their lengths in tokens, and for a delta the base rows removed since. Searches read
the directory into memory (a few MB) and each term's postings with one pread, so no mapping counts towards a
search process's memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

K1, B = 1.2, 0.75
_MAGIC = b"RAGPOST1"
BLOCK = 4 << 20         # bytes of postings under one sha256: a search checks those it reads, once
_BATCH = 4_000_000       # term occurrences turned into postings at a time by a build
_RECORD = [("row", "<u4"), ("title", "u1"), ("text", "<u2")]   # one posting: 7 bytes
_ARRAYS = ("keys", "order", "starts", "rows", "lengths", "removed")


class Untrusted(Exception):
    """The postings do not agree with FTS5 at this state: BM25 must come from FTS5."""


def term_key(term: str) -> int:
    """A term's 64-bit key (the first 8 bytes of its blake2b): a build checks its keys are distinct."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def build_file(db: sqlite3.Connection, table: str, path: Path, removed: np.ndarray | None = None) -> dict[str, Any]:
    """Write the postings of every row of FTS5 table `table` (in `db`) and the `removed` row ids to `path` (a
    temporary name the caller renames); its size and sha256, or {} when a count does not fit the file or two
    terms share a key."""
    import numpy as np

    schema_name, name = table.split(".") if "." in table else ("main", table)
    found = db.execute(f"SELECT id, sz FROM {schema_name}.{name}_docsize ORDER BY id").fetchall()
    rows = np.array([r for r, _ in found], dtype=np.int64)
    lengths = np.array([sum(_varints(bytes(sz))) for _, sz in found], dtype=np.uint32)
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.rag_post_{name} USING fts5vocab({schema_name}, {name}, "
               "'instance')")
    # one row a term: its occurrences in (row, column, offset) order, a title one as -1 - row
    sql = (f"SELECT term, group_concat(iif(col = 'title', -1 - doc, doc)) FROM temp.rag_post_{name} "
           "GROUP BY term")
    digest, size = hashlib.sha256(), 0   # of the whole file
    blocks = _Blocks()                    # of each BLOCK of the postings, then of the directory
    keys: list[int] = []
    starts = [0]
    pending: list[tuple[str, str]] = []
    waiting = 0
    with open(path, "wb") as out:
        def flush() -> bool:
            nonlocal size
            if not pending:
                return True
            counts = [text.count(",") + 1 for _, text in pending]
            values = np.fromstring(",".join(text for _, text in pending), dtype=np.int64, sep=",")
            if len(values) != sum(counts):
                return False
            term = np.repeat(np.arange(len(pending)), counts)
            title = values < 0
            row = np.where(title, -1 - values, values)
            first = np.ones(len(row), dtype=bool)
            first[1:] = (term[1:] != term[:-1]) | (row[1:] != row[:-1])
            group = np.cumsum(first) - 1
            titles = np.bincount(group, weights=title)
            texts = np.bincount(group, weights=~title)
            if len(titles) and (titles.max() > 255 or texts.max() > 65535):
                return False
            record = np.empty(int(first.sum()), dtype=_RECORD)
            at = np.minimum(np.searchsorted(rows, row[first]), max(len(rows) - 1, 0))
            if len(at) and not np.array_equal(rows[at], row[first]):   # a row FTS5 has no length for
                return False
            record["row"] = at
            record["title"], record["text"] = titles, texts
            per_term = np.bincount(term[first], minlength=len(pending))
            data = record.tobytes()
            out.write(data)
            digest.update(data)
            blocks.update(data)
            size += len(data)
            for (word, _), n in zip(pending, per_term.tolist(), strict=True):
                if n:
                    keys.append(term_key(word))
                    starts.append(starts[-1] + n)
            pending.clear()
            return True

        for word, text in db.execute(sql):
            pending.append((str(word), str(text)))
            waiting += len(text) // 6
            if waiting > _BATCH:
                waiting = 0
                if not flush():
                    return {}
        if not flush():
            return {}
        key_array = np.array(keys, dtype=np.uint64)
        order = np.argsort(key_array, kind="stable").astype(np.uint32)
        if len(np.unique(key_array)) != len(key_array):   # two terms with one key: FTS5 stays in charge
            return {}
        arrays: dict[str, Any] = {"keys": key_array[order], "order": order, "starts": np.array(starts, dtype=np.int64),
                  "rows": rows, "lengths": lengths,
                  "removed": np.asarray(removed if removed is not None else [], dtype=np.int64)}
        header: dict[str, Any] = {"postings": int(starts[-1]), "arrays": {}}
        offset = size
        block_digests, directory = blocks.finish(), hashlib.sha256()
        for label in _ARRAYS:
            data = arrays[label].tobytes()
            header["arrays"][label] = [offset, str(arrays[label].dtype), len(arrays[label])]
            out.write(data)
            digest.update(data)
            directory.update(data)
            offset += len(data)
        tail = json.dumps(header).encode()
        tail += len(tail).to_bytes(8, "little") + _MAGIC
        out.write(tail)
        digest.update(tail)
        directory.update(tail)
        out.flush()
        os.fsync(out.fileno())
    return {"bytes": offset + len(tail), "sha256": digest.hexdigest(), "postings": int(starts[-1]),
            "rows": len(rows), "postings_bytes": size, "blocks": block_digests,
            "directory_sha256": directory.hexdigest()}


class _Blocks:
    """sha256 of each BLOCK bytes of a stream."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.current, self.filled = hashlib.sha256(), 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):
            part = view[: BLOCK - self.filled]
            self.current.update(part)
            self.filled += len(part)
            view = view[len(part):]
            if self.filled == BLOCK:
                self.done.append(self.current.hexdigest())
                self.current, self.filled = hashlib.sha256(), 0

    def finish(self) -> list[str]:
        return self.done + ([self.current.hexdigest()] if self.filled else [])



@dataclass
class Segment:
    """One postings file: its directory in memory, its postings read a term at a time."""
    path: Path
    keys: np.ndarray      # term keys, ascending
    order: np.ndarray     # keys[i] is term order[i]'s
    starts: np.ndarray    # term t's postings are [starts[t], starts[t + 1])
    rows: np.ndarray      # the chunk row ids, ascending; a posting names an index into them
    lengths: np.ndarray   # each row's length in tokens (all columns)
    removed: np.ndarray   # a delta: base row ids removed since the base
    fd: int = -1
    norms: dict[float, np.ndarray] = field(default_factory=dict)
    blocks: list[str] = field(default_factory=list)   # the postings' BLOCK digests (its sidecar's), to check
    checked: set[int] = field(default_factory=set)    # blocks this process has checked
    split: int = 0                                    # where the postings end (the directory begins)

    @classmethod
    def open(cls, path: Path, described: dict[str, Any] | None = None) -> Segment:
        """The file's directory; ValueError when it is not a postings file. With `described` (its sidecar's
        entry) the size and the directory's sha256 are checked here, and each block of postings the first time
        a search reads it (Untrusted when one fails): a search at 1M chunks reads a few of its 550 MB."""
        import numpy as np

        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            if described is not None:
                _check_directory(fd, size, described, path)
            end = os.pread(fd, 16, size - 16)
            if len(end) != 16 or end[8:] != _MAGIC:
                raise ValueError("is not a postings file")
            length = int.from_bytes(end[:8], "little")
            header = json.loads(os.pread(fd, length, size - 16 - length))
            arrays: dict[str, Any] = {}
            for label in _ARRAYS:
                offset, dtype, count = header["arrays"][label]
                data = os.pread(fd, count * np.dtype(dtype).itemsize, offset)
                arrays[label] = np.frombuffer(data, dtype=dtype, count=count)
        except BaseException:
            os.close(fd)
            raise
        segment = cls(path, arrays["keys"], arrays["order"], arrays["starts"], arrays["rows"], arrays["lengths"],
                      arrays["removed"], fd, blocks=list(described["blocks"]) if described is not None else [],
                      split=int(described["postings_bytes"]) if described is not None else 0)
        if len(segment.starts) != len(segment.keys) + 1 or len(segment.lengths) != len(segment.rows):
            segment.close()
            raise ValueError("has a directory of the wrong shape")
        return segment

    def postings(self, term: str) -> np.ndarray | None:
        """The term's postings (records of _RECORD), or None when no row here holds it."""
        import numpy as np

        key = term_key(term)
        at = int(np.searchsorted(self.keys, np.uint64(key)))
        if at == len(self.keys) or int(self.keys[at]) != key:
            return None
        t = int(self.order[at])
        start, end = int(self.starts[t]), int(self.starts[t + 1])
        size = np.dtype(_RECORD).itemsize
        if self.blocks and end > start:
            self._check(start * size // BLOCK, (end * size - 1) // BLOCK)
        data = os.pread(self.fd, (end - start) * size, start * size)
        if len(data) != (end - start) * size:
            raise Untrusted(f"{self.path.name} is shorter than its directory says")
        return np.frombuffer(data, dtype=_RECORD)

    def _check(self, first: int, last: int) -> None:
        for n in range(first, last + 1):
            if n in self.checked:
                continue
            data = os.pread(self.fd, min(BLOCK, self.split - n * BLOCK), n * BLOCK)
            if n >= len(self.blocks) or hashlib.sha256(data).hexdigest() != self.blocks[n]:
                raise Untrusted(f"{self.path.name} does not match its checksum (damaged, block {n})")
            self.checked.add(n)

    def norm(self, avgdl: float) -> np.ndarray:
        """k1 · (1 − b + b · length / avgdl) for every row (kept for the last mean length)."""
        if avgdl not in self.norms:
            self.norms = {avgdl: K1 * (1 - B + B * self.lengths / avgdl)}
        return self.norms[avgdl]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _check_directory(fd: int, size: int, described: dict[str, Any], path: Path) -> None:
    """Untrusted unless the file has the size and directory sha256 its sidecar entry `described` names."""
    try:
        split, blocks = int(described["postings_bytes"]), described["blocks"]
        ok = size == described["bytes"] and 0 <= split <= size and len(blocks) == -(-split // BLOCK)
    except (KeyError, TypeError, ValueError):
        raise Untrusted(f"{path.name} is not named by its sidecar") from None
    if ok:
        digest = hashlib.sha256()
        for at in range(split, size, BLOCK):
            digest.update(os.pread(fd, min(BLOCK, size - at), at))
        ok = digest.hexdigest() == described.get("directory_sha256")
    if not ok:
        raise Untrusted(f"{path.name} does not match its checksum (damaged)")


def _varints(data: bytes) -> list[int]:
    from rag.store.focused_bm25 import _varints as varints

    return varints(data)

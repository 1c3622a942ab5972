"""Compare a scanned folder with the index: what was added, changed, renamed, removed or left alone.

A file whose size and modification time match the index is unchanged without being read. Otherwise
its content hash decides: same hash means unchanged (only the time is updated), a hash that belongs
to a file gone from the folder means a rename (no re-embedding), anything else is new content.
An unzipped export is one entry whose path is its folder; scan.file_hash hashes it over its files.
A record that failed its checksum (`damaged`), or was read by another loader (`--include-dms`), is
always read again. Nothing under a name the scan could not read (`kept`: an unreadable folder or file)
is removed: only what is really gone is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.scan import FileEntry, file_hash
from rag.store.records import DocRecord


@dataclass(frozen=True)
class Planned:
    entry: FileEntry
    content_hash: str
    previous: DocRecord | None = None


@dataclass(frozen=True)
class Plan:
    added: tuple[Planned, ...]
    changed: tuple[Planned, ...]      # new content, or a failed file to retry
    renamed: tuple[Planned, ...]      # previous = the record under its old name
    touched: tuple[Planned, ...]      # same content, new modification time
    removed: tuple[DocRecord, ...]
    unchanged: tuple[DocRecord, ...]
    still_failed: tuple[DocRecord, ...] = ()   # failed before and unchanged since: not retried
    unreadable: tuple[tuple[FileEntry, str], ...] = ()   # could not even be hashed: (entry, why)
    kept: tuple[DocRecord, ...] = ()          # under a folder or name that could not be read: left alone

    @property
    def to_load(self) -> tuple[Planned, ...]:
        return self.added + self.changed


def covered(source: str, unreadable: tuple[str, ...]) -> bool:
    """Is `source` at or under one of the names the scan could not read ("." is the whole folder)?"""
    return any(u in ("", ".") or source == u or source.startswith(u + "/") for u in unreadable)


def make_plan(entries: list[FileEntry], records: list[DocRecord], retry_failed: bool = False,
              unreadable: tuple[str, ...] = ()) -> Plan:
    by_source = {r.source: r for r in records}
    seen = {e.source for e in entries}
    kept = tuple(r for r in records if r.source not in seen and covered(r.source, unreadable))
    kept_ids = {r.id for r in kept}
    gone = {r.content_hash: r for r in records
            if r.source not in seen and r.status == "ok" and not r.damaged and r.id not in kept_ids}
    added: list[Planned] = []
    changed: list[Planned] = []
    renamed: list[Planned] = []
    touched: list[Planned] = []
    unchanged: list[DocRecord] = []
    still_failed: list[DocRecord] = []
    failed_hash: list[tuple[FileEntry, str]] = []
    for entry in entries:
        record = by_source.get(entry.source)
        if record and record.status == "failed" and not retry_failed and record.loader == entry.loader \
                and (record.size, record.mtime_ns) == (entry.size, entry.mtime_ns) and not record.damaged:
            still_failed.append(record)
            continue
        same_loader = record is not None and record.loader == entry.loader   # e.g. --include-dms: read again
        if record and record.status == "ok" and not record.error and not record.damaged and same_loader and \
                (record.size, record.mtime_ns) == (entry.size, entry.mtime_ns):
            unchanged.append(record)
            continue
        try:
            digest = file_hash(entry.path)
        except OSError as exc:   # reported as a failure, so an older good version stays in the index
            failed_hash.append((entry, exc.strerror or str(exc)))
            continue
        if record is None:
            moved = gone.pop(digest, None)
            (renamed if moved else added).append(Planned(entry, digest, moved))
        elif record.status == "ok" and not record.error and not record.damaged and record.content_hash == digest \
                and same_loader:
            touched.append(Planned(entry, digest, record))
        else:
            changed.append(Planned(entry, digest, record))
    moved_ids = {p.previous.id for p in renamed if p.previous}
    removed = tuple(r for r in records if r.source not in seen and r.id not in moved_ids | kept_ids)
    return Plan(tuple(added), tuple(changed), tuple(renamed), tuple(touched), removed, tuple(unchanged),
                tuple(still_failed), tuple(failed_hash), kept)

"""One line per change, from what the index held for the folder before and after a batch.

    added a.md (3 chunks) · updated c.txt (4 chunks) · renamed a.md -> b.md · removed b.pdf ·
    error: x.pdf: the PDF is damaged … — <the fix> · skipped notes.xyz: no loader for .xyz files — …
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rag.store.records import DocRecord

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary


def _chunks(record: DocRecord) -> str:
    return f"{record.chunks} chunk{'s' * (record.chunks != 1)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error(record: DocRecord) -> str:
    message = _one_line(record.error or "could not be read")
    return "error: " + (message if message.startswith(record.source) else f"{record.source}: {message}")


def change_lines(before: dict[str, DocRecord], after: dict[str, DocRecord]) -> list[str]:
    """What changed between two listings of one folder's documents (by source), in source order."""
    gone = {s: r for s, r in before.items() if s not in after}
    by_hash = {r.content_hash: s for s, r in gone.items() if r.status == "ok"}
    lines: list[tuple[str, str]] = []
    for source, new in sorted(after.items()):
        old = before.get(source)
        if old is None:
            moved = by_hash.pop(new.content_hash, None) if new.status == "ok" else None
            if moved is not None:
                gone.pop(moved)
                lines.append((source, f"renamed {moved} -> {source}"))
            else:
                lines.append((source, f"added {source} ({_chunks(new)})" if new.status == "ok" else _error(new)))
        elif (old.content_hash, old.status, old.error, old.chunks, old.loader) != \
                (new.content_hash, new.status, new.error, new.chunks, new.loader):
            lines.append((source, f"updated {source} ({_chunks(new)})" if new.status == "ok" else _error(new)))
    lines += [(source, f"removed {source}") for source in gone]
    return [line for _, line in sorted(lines)]


def summary_lines(summary: IngestSummary, changed: Iterable[str] | None) -> list[str]:
    """Skipped files and warnings of a batch, for the paths it was run for (None: all of them)."""
    wanted = set(changed) if changed is not None else None

    def concerns(source: str) -> bool:
        return wanted is None or any(source == p or p.startswith(source + "/") for p in wanted)

    lines = [f"skipped {s.source}: {_one_line(s.reason)}" for s in summary.skipped if concerns(s.source)]
    return lines + [f"warning: {_one_line(w)}" for w in summary.warnings]

"""`rag check --repair`, the whole of it, under the write lock: the store repairs what it can on its own
(rag/store/repair.py: derived parts rebuilt, damaged rows set aside), then every folder the index was made
from is ingested again without removing anything (so the documents set aside, or lost with a WAL, come
back from their files), the vector file is rebuilt and saved, and the index is checked once more.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.isolation import LoaderLimits
    from rag.index import Index
    from rag.store.check import Report


@dataclass(frozen=True)
class RepairOutcome:
    before: Report
    actions: tuple[str, ...]
    restored: tuple[str, ...]   # documents set aside and read again from their files
    missing: tuple[str, ...]    # set aside, and their file is not where it was
    after: Report

    def to_json(self) -> dict[str, Any]:
        return {**self.after.to_json(), "before": self.before.to_json(), "repaired": list(self.actions),
                "restored": list(self.restored), "missing": list(self.missing)}


def repair_index(index: Index, limits: LoaderLimits | None = None) -> RepairOutcome:
    from ingest.isolation import LoaderLimits
    from ingest.pipeline import IngestOptions, ingest_folder
    from ingest.registry import default_registry
    from rag.store import postings
    from rag.store.faiss import VectorIndex

    store = index.store
    before = store.check()
    done = store.repair(before)
    actions = list(done.actions)
    options = IngestOptions(repair=True, limits=limits or LoaderLimits())
    roots = sorted(done.roots | {root for root, _, _ in done.lost if root})
    for root in roots:
        if not Path(root).is_dir():
            actions.append(f"{root}: not there any more — its documents were left as they are")
            continue
        summary = ingest_folder(store, Path(root), default_registry(), lambda: index.embedder, options)
        if summary.added or summary.changed or summary.repaired:
            actions.append(f"{root}: read {summary.added + summary.changed} file(s) again "
                           f"({summary.embedded_chunks} chunks embedded, {summary.reused_chunks} reused)")
    docs = [d for d in store.documents(check=False) if not d.damaged]
    present = {(d.root, d.source): d.source for d in docs} | {(d.root, d.content_hash): d.source for d in docs}
    restored = tuple(sorted({present.get((r, s)) or present[(r, h)] for r, s, h in done.lost
                             if (r, s) in present or (r, h) in present}))
    missing = tuple(sorted(str(Path(r, s)) if r else s for r, s, h in done.lost
                           if (r, s) not in present and (r, h) not in present))
    VectorIndex.build(store).save(store.folder, sorted({d.root for d in docs}))
    postings.drop_others(store.folder, set())   # and BM25's postings, as a new base
    postings.keep(store)
    store.checkpoint()
    if missing:
        actions.append(f"removed the damaged rows of {len(missing)} document(s) whose file is not where it was "
                       "— ingest them again from where they are now")
    return RepairOutcome(before, tuple(actions), restored, missing, store.check())

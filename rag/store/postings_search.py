"""Scoring a query from a commit's postings (rag/store/postings.py): every row holding a query term, in numpy,
exactly as FTS5's bm25() scores the whole query, and the state a store has open."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.store.postings import post_path, read_sidecar
from rag.store.postings_file import K1, Segment, Untrusted

if TYPE_CHECKING:
    import numpy as np

    from rag.store.focused_bm25 import Vocabulary

__all__ = ["Lexicons", "Postings", "Untrusted", "open_state", "scores_of", "top"]



@dataclass
class Postings:
    """One commit's postings: a base, and the delta since it (rows added, base rows removed)."""
    commit: int
    base: Segment
    delta: Segment | None
    dead: np.ndarray | None      # a mask over base.rows: removed since the base
    fts_state: str = ""          # fts_digest of the chunks_fts these postings were made from
    last: tuple[Any, ...] = ()   # (tokens, title weight, avgdl) and their scores (rows, scores), for `scores_of`

    @property
    def rows(self) -> int:
        gone = int(self.dead.sum()) if self.dead is not None else 0
        return len(self.base.rows) - gone + (len(self.delta.rows) if self.delta is not None else 0)

    def score(self, tokens: tuple[str, ...], avgdl: float, title_weight: float) -> tuple[np.ndarray, np.ndarray]:
        """(row ids, BM25 scores) of every row holding one of the query's `tokens`, as FTS5 scores them: each
        token's idf from the rows holding it (here: its live postings), a token twice in the query counted
        twice, a row's length against `avgdl` (FTS5's own mean)."""
        import numpy as np

        key = (tokens, title_weight, avgdl)
        if self.last and self.last[0] == key:
            return self.last[1], self.last[2]
        segments = [s for s in (self.base, self.delta) if s is not None and len(s.rows)]
        found = {t: [(s, s.postings(t)) for s in segments] for t in dict.fromkeys(tokens)}
        idf, total = {}, self.rows
        for token, parts in found.items():
            held = 0
            for segment, record in parts:
                if record is None:
                    continue
                at = record["row"].astype(np.intp)
                if at.size and int(at[-1]) >= len(segment.rows):
                    raise Untrusted(f"{segment.path.name} names a row it does not hold")
                dead = self.dead if segment is self.base else None
                held += len(at) - (int(np.count_nonzero(dead[at])) if dead is not None else 0)
            idf[token] = max(1e-6, math.log((total - held + 0.5) / (held + 0.5)))
        found_rows, found_scores = [], []
        for n, segment in enumerate(segments):
            acc = np.zeros(len(segment.rows), dtype=np.float64)
            norm = segment.norm(avgdl)
            for token in tokens:
                record = found[token][n][1]
                if record is None:
                    continue
                at = record["row"].astype(np.intp)
                f = record["text"].astype(np.float64)
                f += title_weight * record["title"]
                part = norm.take(at)   # idf · f · (k1 + 1) / (f + norm), in place
                part += f
                np.divide(f, part, out=part)
                part *= idf[token] * (K1 + 1)
                acc[at] += part
            if segment is self.base and self.dead is not None:
                acc[self.dead] = 0.0
            hit = np.flatnonzero(acc > 0)
            found_rows.append(segment.rows[hit])
            found_scores.append(acc[hit])
        # ascending: each segment's rows are, and a delta's rows all come after its base's (ids are not reused)
        rows = np.concatenate(found_rows) if found_rows else np.zeros(0, dtype=np.int64)
        scores = np.concatenate(found_scores) if found_scores else np.zeros(0)
        self.last = (key, rows, scores)
        return rows, scores

    def close(self) -> None:
        self.base.close()
        if self.delta is not None:
            self.delta.close()


def top(postings: Postings, vocab: Vocabulary, tokens: tuple[str, ...], limit: int,
        title_weight: float) -> list[tuple[int, float]]:
    """The best `limit` (row, score), as FTS5 orders the whole query (ties by row id)."""
    import numpy as np

    rows, scores = postings.score(tokens, vocab.avgdl, title_weight)
    if len(rows) > limit:
        cut = np.argpartition(-scores, limit - 1)[:limit]
        edge = scores[cut].min()
        cut = np.flatnonzero(scores >= edge)   # every row tied with the last place, so ties go by row id
    else:
        cut = np.arange(len(rows))
    best = cut[np.lexsort((rows[cut], -scores[cut]))[:limit]]
    return list(zip(rows[best].tolist(), scores[best].tolist(), strict=True))


def scores_of(postings: Postings, vocab: Vocabulary, tokens: tuple[str, ...], row_ids: list[int],
              title_weight: float) -> dict[int, float]:
    """The score of each of `row_ids` that holds a query term."""
    import numpy as np

    rows, scores = postings.score(tokens, vocab.avgdl, title_weight)
    asked = np.array(row_ids, dtype=np.int64)
    at = np.minimum(np.searchsorted(rows, asked), max(len(rows) - 1, 0))
    held = (rows[at] == asked) if len(rows) else np.zeros(len(asked), dtype=bool)
    return {int(r): float(s) for r, s in zip(asked[held], scores[at[held]], strict=True)}


def open_state(folder: Path, meta: dict[str, Any]) -> Postings:
    """The state `meta` describes, each file checked against its sidecar (its size and directory here, each
    block of postings when a search first reads it: rag/store/postings_file.py); Untrusted when one fails."""
    import numpy as np

    opened: list[Segment] = []
    try:
        base_meta, commit = meta["base"], int(meta["commit"])
        files = [(post_path(folder, int(base_meta["commit"])), base_meta["file"])]
        if meta.get("delta"):
            files.append((post_path(folder, commit), meta["delta"]["file"]))
        for path, described in files:
            if not path.is_file():
                raise Untrusted(f"{path.name} missing")
            opened.append(Segment.open(path, described if isinstance(described, dict) else {}))
    except (KeyError, TypeError, ValueError, OSError, Untrusted) as exc:
        for segment in opened:
            segment.close()
        if isinstance(exc, Untrusted):
            raise
        raise Untrusted(f"lexicon.{meta.get('commit')}.json: cannot be read ({exc})") from exc
    base, delta = opened[0], (opened[1] if len(opened) > 1 else None)
    if delta is not None and len(delta.rows) and len(base.rows) and int(delta.rows[0]) <= int(base.rows[-1]):
        base.close()
        delta.close()
        raise Untrusted(f"{post_path(folder, commit).name} adds rows its base already holds")
    dead = None
    if delta is not None and len(delta.removed):
        dead = np.zeros(len(base.rows), dtype=bool)
        at = np.searchsorted(base.rows, delta.removed)
        if at.size and (int(at.max()) >= len(base.rows) or not np.array_equal(base.rows[at], delta.removed)):
            base.close()
            delta.close()
            raise Untrusted(f"{post_path(folder, commit).name} removes rows its base does not hold")
        dead[at] = True
    return Postings(commit, base, delta, dead, str(meta.get("fts_state", "")))


class Lexicons:
    """The postings of one open index at its current commit (the store keeps one: no state outside it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.commit = -1
        self.state: Postings | None = None
        self.why = ""   # why the current commit has no usable postings ("" when it has, or needs none)

    def current(self, commit: int) -> Postings | None:
        """The state of `commit`. Its sidecar is looked for again on each call until it is there: the writer
        writes it after the commit, so a reader may see the commit first."""
        if commit != self.commit:
            self.close()
            self.commit = commit
        if self.state is None and not self.why:
            meta = read_sidecar(self.folder, commit)
            if meta is not None:
                try:
                    self.state = open_state(self.folder, meta)
                except Untrusted as exc:
                    self.why = str(exc)
        return self.state

    def set_aside(self, why: str) -> None:
        """The current state disagreed with FTS5: not used again in this process."""
        self.close()
        self.why = why

    def close(self) -> None:
        if self.state is not None:
            self.state.close()
        self.state, self.why = None, ""

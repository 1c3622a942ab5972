"""BM25 over PostgreSQL full text, scored as SQLite's FTS5 `bm25()` scores it, so that fusion sees the same
kind of number on both stores.

Each chunk keeps `tsv` (its title weighted 'A', its text 'D', both as `fold` makes them: FTS5's words,
Porter-stemmed) and `tokens` (its length in words). PostgreSQL's own ts_rank has no inverse document
frequency: with the OR queries retrieval sends, a common word would count as much as a rare one. So the
score is FTS5's BM25 (k1 = 1.2, b = 0.75): per query term idf · f·(k1+1) / (f + k1·(1 − b + b·tokens/avg)),
where f counts the term's title positions `title_weight` times; idf = ln((N − n + 0.5)/(n + 0.5)) (at
least 1e-6) over the whole table. The GIN index on `tsv` finds the candidates; the tsvector's positions and
weights give f.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rag.store.postgres.schema import TEXT_CONFIG

if TYPE_CHECKING:
    import psycopg

K1, B = 1.2, 0.75
_TERM = re.compile(r'"((?:[^"]|"")*)"')
_WORD = re.compile(r"[^\W_]+")

_SCORE = f"""
WITH q(lex, idf) AS (SELECT * FROM unnest(%(lex)s::text[], %(idf)s::float8[]))
SELECT c.id, SUM(q.idf * f.f * {K1 + 1} / (f.f + {K1} * ({1 - B} + {B} * c.tokens / %(avg)s))) AS s
FROM rag_chunks c
CROSS JOIN LATERAL unnest(c.tsv) AS u(lexeme, positions, weights)
JOIN q ON q.lex = u.lexeme
CROSS JOIN LATERAL (SELECT SUM(CASE WHEN w = 'A' THEN %(tw)s ELSE 1.0 END) AS f FROM unnest(u.weights) w) f
WHERE c.tsv @@ %(query)s::tsquery {{rows}}
GROUP BY c.id ORDER BY s DESC, c.id {{limit}}
"""


def terms(match: str) -> list[str]:
    """The words of an FTS5 MATCH expression as rag/retrieve/lexical.py writes it ("a" OR "b")."""
    return [t.replace('""', '"') for t in _TERM.findall(match)]


def fold(text: str) -> str:
    """Text as FTS5's `porter unicode61 remove_diacritics 2` tokenizer makes it: its words lower-cased, without
    diacritics (café → cafe) and Porter-stemmed, joined by spaces, for the `simple` configuration to index as
    they are. (PostgreSQL's english configuration stems with Snowball and keeps "0.5" or "covid-19" whole
    beside their parts: on SciFact that cost 0.005 nDCG@10 of BM25 alone against FTS5.)"""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_stem(w) for w in _WORD.findall(plain.lower()))


@lru_cache(maxsize=500_000)
def _stem(word: str) -> str:
    return _porter().stem(word) if word.isascii() else word   # FTS5's porter stems ASCII words only


@lru_cache(maxsize=1)
def _porter() -> Any:
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer(mode=PorterStemmer.ORIGINAL_ALGORITHM)   # the algorithm FTS5's porter implements


def tokens(text: str) -> int:
    """A text's length in words, as FTS5's unicode61 tokenizer counts them."""
    return len(_WORD.findall(text))


class Scorer:
    """BM25 for one store; the table's size, average length and each term's document frequency are kept
    per commit, so the queries of one search share them."""

    def __init__(self) -> None:
        self.commit = -1
        self.stats: tuple[int, float] = (0, 1.0)
        self.df: dict[str, int] = {}

    def _refresh(self, conn: psycopg.Connection[Any], commit: int) -> None:
        if commit != self.commit:
            row = conn.execute("SELECT COUNT(*), COALESCE(AVG(tokens), 0) FROM rag_chunks").fetchone()
            self.stats = (int(row[0]), float(row[1]) or 1.0) if row else (0, 1.0)
            self.df, self.commit = {}, commit

    def _query(self, conn: psycopg.Connection[Any], match: str, commit: int) -> dict[str, Any] | None:
        words = [fold(w) for w in terms(match)]
        if not words:
            return None
        self._refresh(conn, commit)
        lexemes = [str(r[0]) for r in conn.execute(
            f"SELECT unnest(tsvector_to_array(to_tsvector('{TEXT_CONFIG}', w))) FROM unnest(%s::text[]) "
            "WITH ORDINALITY AS t(w, n) ORDER BY n", (words,))]
        if not lexemes:
            return None
        for lex in set(lexemes) - self.df.keys():
            row = conn.execute("SELECT COUNT(*) FROM rag_chunks WHERE tsv @@ %s::tsquery", (quote(lex),)).fetchone()
            self.df[lex] = int(row[0]) if row else 0
        total = self.stats[0]   # counted apart from the df's: writers may commit in between, so n ≤ N is kept
        idf = [max(math.log((total - min(self.df[x], total) + 0.5) / (min(self.df[x], total) + 0.5)), 1e-6)
               for x in lexemes]
        return {"lex": lexemes, "idf": idf, "avg": self.stats[1],
                "query": " | ".join(quote(x) for x in dict.fromkeys(lexemes))}

    def top(self, conn: psycopg.Connection[Any], commit: int, match: str, limit: int,
            title_weight: float) -> list[tuple[int, float]]:
        args = self._query(conn, match, commit)
        if args is None:
            return []
        sql = _SCORE.format(rows="", limit="LIMIT %(limit)s")
        found = conn.execute(sql, {**args, "tw": float(title_weight), "limit": int(limit)})  # type: ignore[arg-type]
        return [(int(r), float(s)) for r, s in found]

    def for_rows(self, conn: psycopg.Connection[Any], commit: int, match: str, rows: list[int],
                 title_weight: float) -> dict[int, float]:
        args = self._query(conn, match, commit) if rows else None
        if args is None:
            return {}
        sql = _SCORE.format(rows="AND c.id = ANY(%(rows)s)", limit="")
        found = conn.execute(sql, {**args, "tw": float(title_weight), "rows": list(rows)})  # type: ignore[arg-type]
        return {int(r): float(s) for r, s in found}


def quote(lexeme: str) -> str:
    """One lexeme as a tsquery operand (quoted, so no query syntax leaks)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"

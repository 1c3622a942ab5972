"""Lexical query building: a question's content words (stop words out) and the FTS5 MATCH expression."""

from __future__ import annotations

import re

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves also
paper papers according described describe describes use used using does did do say says said
""".split())

def query_terms(question: str) -> list[str]:
    words = re.findall(r"[^\W_]+", question.lower())
    seen: dict[str, None] = {}
    for w in words:
        if w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
            seen.setdefault(w, None)
    return list(seen)


def fts_query(question: str) -> str:
    """An FTS5 MATCH expression: any of the question's content words (quoted, so no syntax leaks)."""
    return " OR ".join(f'"{t}"' for t in query_terms(question))

"""Which unit of the retrieved passages holds the asked fact: each unit (rag/answer/units.py) is scored by
the question's words it holds (stems, OCR-tolerant, weighted by how rare they are among the passages),
the words its context holds (the passage's title and heading, the units beside it), whether it holds a
candidate of the expected answer type (rag/answer/answertype.py) close to those words, and its meaning.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.answer import answertype as at
from rag.answer.answertype import SPECIFIC, Span, candidates, head_terms, number_values
from rag.answer.text import near_words, stem
from rag.answer.units import Unit, units
from rag.core.types import Hit
from rag.retrieve.lexical import STOPWORDS

if TYPE_CHECKING:
    from rag.embed.registry import Embedder

# Words that name the kind of answer rather than the fact: a candidate of the type stands for them.
TYPE_WORDS = frozenset(stem(w) for w in """many much number amount dollar dollars euro euros percentage percent
date day year when who whom whose name named value exactly share kind type written appear appears mentioned listed
give given state stated report reported tell according document documents page text""".split())
_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*")
_DROP = STOPWORDS - {"paper", "papers"}   # the counted thing in "how many papers …"
TITLE, NEIGHBOUR = 0.8, 0.6   # a question word in the passage's title, in the unit beside, counts this much
NEAR = 10   # tokens: a candidate this close to a question word is "near" it


@dataclass(frozen=True)
class Token:
    stem: str
    start: int
    end: int


@dataclass
class Scored:
    source: int                 # index of the passage among the sources
    unit: Unit
    text: str
    held: dict[int, float]      # term index -> match strength in the unit itself
    context: dict[int, float]   # term index -> match strength in the title (x TITLE) or a neighbour (x NEIGHBOUR)
    values: list[Span] = field(default_factory=list)   # candidates of the expected type, not in the question
    near: bool = False          # a candidate within NEAR tokens of a question word the unit holds
    quality: float = 0.0        # 1 for a telling candidate ("81.1M", "$30", "12.5%"), less for a bare integer
    head_in_passage: bool = False   # the passage holds a word that names the asked attribute
    head_in_unit: bool = False      # … and so does the unit
    named: float = 1.0          # the share of the question's names the passage holds
    about: float = 1.0          # for a database row: the share of those names its first column holds
    file_named: bool = False    # the question names the passage's file ("the receipt", "the JFK recording")
    passage: dict[int, float] = field(default_factory=dict)   # term index -> match strength in the passage
    covered: float = 0.0        # the weighted share of the question's words the passage holds
    similarity: float = 0.0
    lexical: float = 0.0
    score: float = 0.0


def tokens(text: str) -> list[Token]:
    out = []
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if "." in word or "," in word:   # "19,400", "0.536", "setup.py": whole, and its parts
            out.append(Token(word, match.start(), match.end()))
            for part in re.finditer(r"[^\W_]+", match.group()):
                out.append(Token(stem(part.group().lower()), match.start() + part.start(),
                                 match.start() + part.end()))
        elif word not in _DROP:
            out.append(Token(stem(word), match.start(), match.end()))
    return out


def question_terms(question: str) -> list[str]:
    """The question's content words, stemmed, in order: stop words and words that name the type left out."""
    seen: dict[str, None] = {}
    for token in tokens(question.replace("'", " ").replace("’", " ")):
        if token.stem not in TYPE_WORDS and (len(token.stem) > 1 or token.stem.isdigit()):
            seen.setdefault(token.stem, None)
    return list(seen)


def match(terms: list[str], found: list[Token]) -> dict[int, float]:
    """Term index -> the best match strength of that term among `found`."""
    held: dict[int, float] = {}
    stems_here = {t.stem for t in found}
    for i, term in enumerate(terms):
        if term in stems_here:
            held[i] = 1.0
            continue
        best = max((near_words(term, s) for s in stems_here), default=0.0)
        if best:
            held[i] = best
    return held


def term_coverage(terms: list[str], text: str) -> float:
    """The share of `terms` that `text` holds (each counted by its best match strength)."""
    held = match(terms, tokens(text))
    return sum(held.values()) / len(terms) if terms else 0.0


def naming_text(hit: Hit) -> str:
    """What names a passage besides its text: title, heading, Notion path, row, channel, file name."""
    loc = hit.chunk.locator
    return " ".join(str(loc.get(k, "")) for k in ("title", "heading", "notion_path", "row", "channel")) + \
        f" {hit.title} {_file_words(hit.source)}"


def _file_words(source: str) -> str:
    """The words of a file's name: "images/cord_test_receipt_00004.png" -> "cord test receipt 00004"."""
    return re.sub(r"[_\-.]+", " ", source.rsplit("/", 1)[-1].rsplit(".", 1)[0])


@dataclass
class Pool:
    """The scored units (best first) and what they were scored against."""

    units: list[Scored]
    terms: list[str]            # the question's content stems
    weights: list[float]        # each term's weight among these units
    head: list[str]             # the stems that name the asked attribute ("dropout rate")
    named: list[str]            # the stems of the names the question uses ("Project Hail Mary", "S2ORC")
    keys: set[str] = field(default_factory=set)   # stems of the keys of "Key: value" lines and rows
    attribute: bool = False     # the question asks for an attribute of a subject ("the budget of X")
    absent_head: list[str] = field(default_factory=list)   # head stems no unit holds


def named_terms(question: str) -> list[str]:
    """Stems of the question's names: capitalised words after the first, words with inner capitals or
    digits (S2ORC, BC5CDR, SciBERT), and quoted phrases."""
    out: dict[str, None] = {}
    quoted = " ".join(re.findall(r"['‘“\"]([^'’”\"]{2,60})['’”\"]", question))
    for n, match_ in enumerate(re.finditer(r"[^\W_][\w.-]*", question)):
        word = match_.group().strip(".-")
        if (n > 0 and word[:1].isupper()) or re.search(r"[a-z][A-Z]|[A-Z].*\d|\d.*[A-Za-z]", word):
            out.update((t.stem, None) for t in tokens(word))
    out.update((t.stem, None) for t in tokens(quoted))
    return [t for t in out if t not in TYPE_WORDS]


def score_units(question: str, sources: list[Hit], kind: str, embedder: Embedder | None,
                sources_rank: list[float] | None = None) -> Pool:
    """Every unit of every source, scored, best first."""
    terms = question_terms(question)
    words, attribute = head_terms(question)
    head = [h for h in (stem(w) for w in words) if h not in TYPE_WORDS and h not in _DROP and not h.isdigit()]
    named = named_terms(question)
    asked = _asked_values(question)
    pool: list[Scored] = []
    keys: set[str] = set()
    for i, hit in enumerate(sources):
        text = hit.chunk.text
        found = units(text, hit.chunk.locator)
        toks = [tokens(text[u.start:u.end]) for u in found]
        naming = tokens(naming_text(hit))
        title = {t: TITLE * v for t, v in match(terms, naming).items()}
        passage = [t for ts in toks for t in ts] + naming
        head_here = bool(match(head, passage))
        file_named = bool(match(terms, tokens(_file_words(hit.source))))
        in_passage = match(terms, passage)
        named_here = sum(match(named, passage).values()) / len(named) if named else 1.0
        for n, unit in enumerate(found):
            held = match(terms, toks[n])
            around = {t: NEIGHBOUR * v for t, v in
                      match(terms, [t for m in (n - 1, n + 1) if 0 <= m < len(found) for t in toks[m]]).items()}
            context = {t: max(title.get(t, 0.0), around.get(t, 0.0)) for t in set(title) | set(around)}
            scored = Scored(i, unit, text[unit.start:unit.end], held, context, head_in_passage=head_here,
                            named=named_here, passage=in_passage, file_named=file_named)
            scored.head_in_unit = bool(match(head, toks[n]))
            if unit.kind == "row" and named:   # a row is about its first column: "Name: Write the API client"
                name = tokens(scored.text.split(";", 1)[0] + " " + str(hit.chunk.locator.get("row", "")))
                scored.about = sum(match(named, name).values()) / len(named)
            _typed(scored, kind, asked, terms, toks[n], unit, set(named))
            if kind == "date" and not scored.values and unit.kind == "message" and hit.chunk.locator.get("date"):
                # a Slack message is dated by its day file: a zero-width span carries the locator's date
                scored.values, scored.near, scored.quality = [Span(0, 0, str(hit.chunk.locator["date"]))], True, 1.0
            pool.append(scored)
            if unit.kind in ("row", "key_value"):
                keys.update(t.stem for key in re.findall(r"(?:^|; )([^:;]{1,60}): ", scored.text)
                            for t in tokens(key))
    weights = _weights(terms, pool)
    if embedder is not None and pool:
        vectors = embedder.embed([question, *(s.text for s in pool)])
        for s, value in zip(pool, vectors[1:] @ vectors[0], strict=True):
            s.similarity = float(value)
    total = sum(weights) or 1.0
    for s in pool:
        s.lexical = sum(w * max(s.held.get(t, 0.0), s.context.get(t, 0.0))
                        for t, w in enumerate(weights)) / total
        s.covered = sum(w * s.passage.get(t, 0.0) for t, w in enumerate(weights)) / total
        typed = (1.0 if s.near else 0.5) * s.quality if s.values else 0.0
        prior = (sources_rank[s.source] if sources_rank else 0.0)
        s.score = (0.5 * s.lexical + (0.25 if kind in SPECIFIC else 0.1) * typed + 0.2 * s.similarity
                   + 0.05 * prior + (0.1 if s.head_in_unit else 0.0)) * (0.6 + 0.4 * s.named) * (0.6 + 0.4 * s.about)
    pool.sort(key=lambda s: -s.score)
    every = [t for s in pool for t in tokens(s.text)]
    absent = [h for h in head if not match([h], every)]
    return Pool(pool, terms, weights, head, named, keys, attribute, absent)


def _weights(terms: list[str], pool: list[Scored]) -> list[float]:
    """A term's weight: its inverse frequency among the passages (a term every passage holds says
    little about which one answers); a term no passage holds weighs nothing (it tells none apart)."""
    passages: dict[int, set[int]] = {}
    for s in pool:
        passages.setdefault(s.source, set()).update(t for t, v in s.held.items() if v >= 0.8)
        passages[s.source].update(t for t, v in s.context.items() if v >= 0.8 * NEIGHBOUR)
    n = len(passages) or 1
    out = []
    for t in range(len(terms)):
        df = sum(1 for held in passages.values() if t in held)
        out.append(math.log((n + 1) / (df + 0.5)) + 0.3 if df else 0.0)
    return out


def _asked_values(question: str) -> tuple[set[str], set[float]]:
    """The words and numbers the question itself states: a candidate that repeats them is no answer."""
    words = {t.stem for t in tokens(question)}
    numbers: set[float] = set()
    for match_ in re.finditer(r"\d[\d.,]*", question):
        numbers |= number_values(match_.group())
    return words, numbers


def _typed(scored: Scored, kind: str, asked: tuple[set[str], set[float]], terms: list[str], toks: list[Token],
           unit: Unit, named: set[str]) -> None:
    found = candidates(scored.text, kind)
    if unit.kind == "message" and kind in ("name", "entity"):
        author = scored.text.split(":", 1)[0]
        found = [Span(0, len(author), author), *found]
    words, numbers = asked
    values = []
    for span in found:
        span_stems = {t.stem for t in tokens(span.text)}
        if span_stems and span_stems <= words:
            continue
        if kind in ("name", "place") and span_stems & named:
            continue   # "Ralph the Timid" is no answer to "Who made Ralph earl?"
        if number_values(span.text) and number_values(span.text) <= numbers and kind not in ("name", "entity"):
            continue
        if kind in ("name", "place", "entity") and scored.text[span.end:span.end + 1] == ":" and \
                unit.kind != "message":
            continue   # a key ("Status:"), not a value
        if kind in ("number", "amount", "duration", "date") and at.is_reference(scored.text, span):
            continue
        if kind in ("name", "place", "entity") and at.is_common_opening(scored.text, span):
            continue
        values.append(span)
    scored.values = values
    scored.quality = max((at.value_quality(v.text, kind) for v in values), default=0.0)
    if not values:
        return
    positions = [t.start for t in toks if any(near_words(term, t.stem) for term in terms)]
    if len(toks) <= 2 * NEAR:
        scored.near = bool(positions) or bool(scored.context)
        return
    word_at = {t.start: k for k, t in enumerate(toks)}
    for span in values:
        k = word_at.get(span.start, next((m for m, t in enumerate(toks) if t.start >= span.start), len(toks)))
        if any(abs(k - word_at.get(p, k)) <= NEAR for p in positions):
            scored.near = True
            return



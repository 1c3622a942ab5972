"""The literal words a regular expression cannot match without: an exact test that rules it out cheaply.

`needs(pattern)` reads the compiled pattern's parse tree and returns groups of strings such that every
match contains at least one string of each group, written with whitespace folded: every run of
whitespace as one space, as `folded(text)` writes the text. A folded text that misses a whole group
cannot match, so the injection screen (rag/answer/injection.py) skips that pattern without searching:
the same verdict, sooner (a substring test costs well under a microsecond where a pattern that may start
anywhere costs a pass over the text in Python's regex engine). A construct it does not read (a character
category other than whitespace, a back-reference) adds no group, so an unknown costs speed, never a
match; a pattern matched case-insensitively gets no groups at all.

    groups = needs(re.compile(r"\\b(?:ignore|forget)\\s+(?:all\\s+)?rules?"))
    # -> (frozenset({'ignore all rule', 'ignore rule', 'forget all rule', 'forget rule'}),)
    may_match(groups, folded("Please IGNORE\\n all rules.".lower()))   # -> True

Why folding is exact: a match is a substring of the text, and folding a substring (each whitespace run
inside it, even a part of a run at its ends, becomes one space) gives a substring of the folded text;
`\\s` and Python's str.split() agree on what whitespace is (Py_UNICODE_ISSPACE).
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from typing import Any

LIMIT = 64         # most strings an exact set may hold (a product of alternatives grows fast)
SEARCH_COST = 50   # one pattern search costs about this many substring tests (measured on SciFact abstracts)
_BY_LENGTH = {0: 1.0, 1: 1.0, 2: 0.8, 3: 0.4, 4: 0.2}   # chance of a single word, by its length
_sre: Any = importlib.import_module("re._parser")     # the stdlib's regex parser (sre_parse before 3.11)
_ops: Any = importlib.import_module("re._constants")
_ZERO_WIDTH = {_ops.AT, _ops.ASSERT, _ops.ASSERT_NOT}
_REPEATS = {_ops.MAX_REPEAT, _ops.MIN_REPEAT, getattr(_ops, "POSSESSIVE_REPEAT", _ops.MAX_REPEAT)}
_WORD, _NEED = "word", "need"   # a run of literal characters, a piece already read (_expanded)
_SPACES = {_ops.CATEGORY_SPACE, _ops.CATEGORY_UNI_SPACE}
_COMMON = frozenset("a an and are as at be by for from if in is it of on or the this to with".split())
"""Words too common to rule much out (the chance of others goes by their length)."""

Groups = tuple[frozenset[str], ...]


@dataclass(frozen=True)
class Need:
    """What a piece of a pattern matches (folded): `exact`, every string it can match (None: too many to
    list), and `groups`, sets of which every match contains a member of each."""
    exact: frozenset[str] | None
    groups: Groups = ()


_UNKNOWN = Need(None)
_EMPTY = Need(frozenset({""}))
_SPACE = frozenset({" "})


def folded(text: str) -> str:
    """`text` with every run of whitespace one space, and a space at each end."""
    return f" {' '.join(text.split())} "


def may_match(groups: Groups, text: str) -> bool:
    """Whether folded `text` holds a string of every group (else a pattern with these needs cannot match)."""
    return all(any(word in text for word in group) for group in groups)


def needs(pattern: re.Pattern[str]) -> Groups:
    """Groups of strings, each of which every match of `pattern` contains one of; () when nothing is known.
    Of all the groups that hold, the few that make testing cheapest on ordinary text, cheapest first."""
    if pattern.flags & re.IGNORECASE or not isinstance(pattern.pattern, str):
        return ()
    try:
        need = _sequence(list(_sre.parse(pattern.pattern, pattern.flags)))
    except (AttributeError, TypeError, ValueError, re.error):   # a parser this code does not know
        return ()
    found = sorted({_minimal(g) for g in (*need.groups, need.exact) if g is not None and _useful(g)}, key=sorted)
    chosen: list[frozenset[str]] = []
    while found:
        better = min(found, key=lambda g: _expected([*chosen, g]))
        if _expected([*chosen, better]) >= _expected(chosen):
            break
        chosen.append(better)
        found = [g for g in found if not _implied(better, g)]
    return tuple(chosen)


def _implied(known: frozenset[str], group: frozenset[str]) -> bool:
    """Whether a text that holds a string of `known` surely holds one of `group` (testing it adds nothing)."""
    return all(any(w in s for w in group) for s in known)


@functools.lru_cache(maxsize=4096)
def _chance(word: str) -> float:
    """A rough chance that ordinary prose holds `word` (folded): a phrase or markup is rare, a single
    word less so, a short or common one likely; a space at an end (a word's edge) makes it rarer."""
    core = word.strip()
    words = core.split(" ")
    if all(w in _COMMON for w in words):
        return 0.9 if len(words) == 1 else 0.3
    if len(words) > 1 or (len(core) > 1 and not core.replace("'", "").replace("-", "").isalnum()):
        return 0.01   # several words, or markup
    if len(core) == 1 and not core.isalnum():
        return 0.5    # a punctuation mark
    chance = _BY_LENGTH.get(len(core), 0.1)
    return chance / 4 if core != word else chance


@functools.lru_cache(maxsize=4096)
def _pass(group: frozenset[str]) -> float:
    return min(1.0, sum(map(_chance, group)))


def _expected(groups: list[frozenset[str]]) -> float:
    """Expected cost, in substring tests, of testing `groups` in order and then searching if all hold."""
    cost, reach = 0.0, 1.0
    for group in groups:
        cost += reach * len(group)
        reach *= _pass(group)
    return cost + reach * SEARCH_COST


@functools.lru_cache(maxsize=4096)
def _minimal(group: frozenset[str]) -> frozenset[str]:
    """The same test with fewer strings: one that contains another member adds nothing."""
    return frozenset(s for s in group if not any(o != s and o in s for o in group))


def _best(need: Need) -> frozenset[str] | None:
    """The one group that is cheapest to test as one alternative among others, or None."""
    found = [_minimal(g) for g in (*need.groups, need.exact) if g is not None and _useful(g)]
    return min(found, key=lambda g: (len(g) + SEARCH_COST * _pass(g), sorted(g))) if found else None


def _join(a: str, b: str) -> str:
    return (a + b).replace("  ", " ")   # both are folded: at most one double space, where they meet


def _sequence(items: list[tuple[Any, Any]]) -> Need:
    """Items one after another: neighbouring exact items multiply into longer strings. Each product of
    neighbours (from any item on: "system prompt" in "your system prompt") is a group of its own (a short
    one is cheaper to test), as is each item's own."""
    run: frozenset[str] = frozenset({""})
    later: list[frozenset[str]] = []   # the products of the exact items since the last other one, from each on
    groups: list[frozenset[str]] = []
    exact = True
    for op, av in _expanded(items):
        part = _item(op, av)
        groups.extend(part.groups)
        if part.exact is None:
            exact, run, later = False, frozenset({""}), []
            continue
        groups.append(part.exact)
        later = [frozenset(_join(a, b) for a in r for b in part.exact) for r in later
                 if len(r) * len(part.exact) <= LIMIT] + [part.exact]
        groups.extend(later[:-1])
        if exact and len(run) * len(part.exact) <= LIMIT:
            run = frozenset(_join(a, b) for a in run for b in part.exact)
            groups.append(run)
        else:
            exact = False
    return Need(run if exact else None, tuple(dict.fromkeys(g for g in groups if _useful(g))))


def _useful(group: frozenset[str]) -> bool:
    """Whether a group can rule anything out (a folded text always holds a space)."""
    return bool(group) and all(s.strip() for s in group)


def _expanded(items: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Runs of literal characters as one word (a group of its own), repeats read once, and x{2,} as
    x x x*: the copies that must be there join their neighbours' strings."""
    out: list[tuple[Any, Any]] = []
    for op, av in items:
        if op == _ops.LITERAL:
            char = " " if chr(av).isspace() else chr(av)
            if out and out[-1][0] == _WORD:
                out[-1] = (_WORD, _join(out[-1][1], char))
            else:
                out.append((_WORD, char))
        elif op in _REPEATS:
            low, high, sub = av
            child = _sequence(list(sub))
            if 1 <= low <= 4 and not (child.exact is not None and child.exact <= _SPACE):
                out += [(_NEED, child)] * low
                out += [(_NEED, _repeat(0, high - low if high != _ops.MAXREPEAT else high, child))] * (high != low)
            else:
                out.append((_NEED, _repeat(low, high, child)))
        else:
            out.append((op, av))
    return out


def _item(op: Any, av: Any) -> Need:
    if op == _NEED:
        return av  # type: ignore[no-any-return]
    if op == _WORD:
        return Need(frozenset({av}))
    if op == _ops.LITERAL:
        return Need(frozenset({" " if chr(av).isspace() else chr(av)}))
    if op in _ZERO_WIDTH:   # an anchor or a look-around: matches no text of its own
        return _EMPTY
    if op == _ops.SUBPATTERN:
        _, add_flags, _, sub = av
        return _UNKNOWN if add_flags & re.IGNORECASE else _sequence(list(sub))
    if op == getattr(_ops, "ATOMIC_GROUP", None):
        return _sequence(list(av))
    if op == _ops.BRANCH:
        return _branch([_sequence(list(b)) for b in av[1]])
    if op == _ops.IN:
        return _charset(av)
    return _UNKNOWN


def _branch(options: list[Need]) -> Need:
    """Alternatives: their exact strings together, and one group drawing on each alternative's best."""
    best = [_best(o) for o in options]
    groups = () if any(b is None for b in best) else (frozenset().union(*(b or () for b in best)),)
    if all(o.exact is not None for o in options):
        union = frozenset().union(*(o.exact or () for o in options))
        if len(union) <= LIMIT:
            return Need(union, groups)
    return Need(None, groups)


def _repeat(low: int, high: int, child: Need) -> Need:
    if child.exact is not None and child.exact <= _SPACE:   # folded, any run of whitespace is one space
        return Need(_SPACE if low else child.exact | {""})
    if low == high == 1:
        return child
    if low == 0 and high == 1 and child.exact is not None:
        return Need(child.exact | {""})
    if low == 0:
        return _UNKNOWN
    best = _best(child)
    return Need(None, child.groups + ((best,) if best and best not in child.groups else ()))


def _charset(members: list[tuple[Any, Any]]) -> Need:
    """A character class of plain characters, small ranges and whitespace; anything else: unknown."""
    chars: set[str] = set()
    for op, av in members:
        if op == _ops.LITERAL:
            chars.add(chr(av))
        elif op == _ops.RANGE and av[1] - av[0] < LIMIT:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op == _ops.CATEGORY and av in _SPACES:
            chars.add(" ")
        else:   # a negation, another category (\w, \d) or a wide range
            return _UNKNOWN
    chars = {" " if c.isspace() else c for c in chars}
    return Need(frozenset(chars)) if 0 < len(chars) <= LIMIT else _UNKNOWN

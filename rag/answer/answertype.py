"""What kind of answer a question asks for, found by rules, and the spans of a text that could be one.

    expected_type("How many PDFs were in the snapshot?")   -> "number"
    candidates("It consists of 1.4M PDFs.", "number")      -> [Span(15, 19, "1.4M")]

Types: number, amount (money), date (also times and date ranges), duration (how long, how often),
name (who), place (where), yes_no, definition, entity (which X / what X: a capitalised or code-like
term), other. Numbers are read with thousands separators ("19,400"), decimal commas ("174,60"),
scale words ("37M", "1.4 million"), percentages, currency and scientific notation ("2e-5").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.retrieve.lexical import STOPWORDS

SPECIFIC = frozenset({"number", "amount", "date", "duration", "name", "place"})

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
          r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_NUM = r"(?:\d{1,3}(?:[,.]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
_SCALE = r"(?:\s?(?:%|percent\b|per cent\b|million\b|billion\b|thousand\b|[KMBk]\b|x\b))"
_NUMBER = re.compile(rf"(?<![\w.,])(?:[-+−]?\d+(?:\.\d+)?e[-−+]?\d+|\d+(?:\.\d+){{2,}}|[-+−]?{_NUM}{_SCALE}?"
                     rf"|(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty"
                     rf"|fifty|hundred|thousand)(?:[ -](?:hundred|thousand|million))?)(?![\w])", re.I)
_CURRENCY = r"(?:[$€£¥₩]|USD|EUR|GBP|Rp\.?|euros?\b|dollars?\b|cents?\b|pounds?\b|yen\b|won\b)"
_AMOUNT = re.compile(rf"(?:{_CURRENCY}\s?{_NUM}{_SCALE}?|{_NUM}{_SCALE}?\s?{_CURRENCY}"
                     rf"|(?<![\w.,])\d{{1,3}}(?:[,.]\s?\d{{3}})+(?:[.,]\d{{1,2}})?(?![\w])|(?<![\w.,])\d+[.,]\d{{2}}(?![\w]))")
_DATE = re.compile(
    rf"(?:\b\d{{4}}-\d{{2}}-\d{{2}}(?:\s*(?:→|–|-|to)\s*\d{{4}}-\d{{2}}-\d{{2}})?\b|\b\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}\b"
    rf"|\b{_MONTH}\.? \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)? (?:of )?{_MONTH}\b(?: \d{{4}})?"
    rf"|\b{_MONTH} \d{{4}}\b|\b(?:[1-9]\d{{2}}|1\d{{3}}|20\d{{2}})0?s?\b|\b\d{{1,2}}(?:st|nd|rd|th) century\b"
    rf"|\b\d{{1,2}}:\d{{2}}\b"
    rf"|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b)")
_UNIT_OF_TIME = (r"(?:ms|s|sec|secs|seconds?|min|mins|minutes?|h|hrs?|hours?|days?|weeks?|months?|years?"
                 r"|epochs?|steps?)")
_DURATION = re.compile(rf"(?:\bevery\s+(?:\w+\s+)?\w+|(?<![\w.]){_NUM}\s?{_UNIT_OF_TIME}\b"
                       rf"|\b(?:daily|weekly|monthly|yearly|annually|hourly|nightly)\b)", re.I)
_NAME = re.compile(r"(?<![\w@])(?:[A-Z][\w'’.-]*[a-z0-9][\w'’-]*|[A-Z]{2,}[\w-]*)(?:[ -](?:(?:van|von|de|der|al|bin|of|"
                   r"the)[ -])?(?:[A-Z][\w'’.-]*))*|(?<![\w])@[\w.-]+")
_ENTITY = re.compile(r"(?<![\w])(?:[A-Z][\w.+-]*|[a-z]+[A-Z0-9][\w.+-]*|[a-z][\w-]*\.(?:py|js|json|md|txt|csv)"
                     r"|[\w.+-]+@[\w-]+\.[\w.]+|[a-z]+(?:[._][a-z]+)+)(?:\s(?:[A-Z][\w.+-]*))*")
_SLACK_AUTHOR = re.compile(r"^(?:\[bot\] )?([^\s:@][^:\n]{0,38}):\s", re.M)

_NUMBER_NOUNS = frozenset("""number count total percentage percent share fraction proportion ratio rate score f1
f-score accuracy precision recall map ndcg mrr auc bleu rouge size length version kappa value average
median dimension dimensions dimensionality amount yield level temperature speed frequency limit index
correlation jaccard deviation error loss perplexity threshold rating""".split())
_MONEY_WORDS = frozenset("""cost costs costed price priced pay paid charge charged spend spent fee fees budget
bonus salary worth money dollar dollars euro euros discount change tax tip total subtotal bill invoice
amount approve approved grant granted raise raised earn earned invest invested donate donated""".split())
_DATE_WORDS = frozenset("date day year month time deadline due published released founded born".split())
_PLACE_WORDS = frozenset("city country place location room shelf building town region venue".split())
_WH = re.compile(r"\b(what|which|who|whom|whose|when|where|how|why)\b")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


def expected_type(question: str) -> str:
    q = " ".join(question.lower().replace("’", "'").split())
    words = re.findall(r"[a-z0-9'-]+", q)
    match = _WH.search(q)
    if not match:
        aux = {"is", "are", "was", "were", "does", "do", "did", "can", "could", "has", "have", "had", "will"}
        return "yes_no" if words and words[0] in aux else "other"
    wh, rest = match.group(1), q[match.end():].strip()
    after = re.findall(r"[a-z0-9'-]+", rest)
    if wh == "how":
        return _how(rest, after, set(words))
    if wh == "when":
        return "date"
    if wh in ("who", "whom", "whose"):
        return "name"
    if wh == "where":
        return "place"
    if re.search(r"\b(mean|means|meant) by\b|\bstand for\b|\bdefin(e|ed|ition)\b", q):
        return "definition"
    return _what(after)


def head_terms(question: str) -> tuple[list[str], bool]:
    """The words that name the asked attribute, and whether the question asks for an attribute of a
    subject ("what is the X of …", "what is Y's X", "how much X …") rather than for a member of a class
    ("which service did …"). "what dropout rate did …" -> [dropout, rate], "how much tax …" -> [tax],
    "who is the assignee of …" -> [assignee], "how much did … cost" -> [cost]; none for "who created …"."""
    q = " ".join(question.lower().replace("’", "'").split())
    match = _WH.search(q)
    if not match:
        return [], False
    wh, after = match.group(1), re.findall(r"[a-z0-9'-]+", q[match.end():])
    aux = ("is", "are", "was", "were", "does", "do", "did", "has", "have", "had")
    if wh == "how" and after and after[0] in ("much", "many", "large", "big", "small", "high", "low"):
        rest = after[1:]
        if rest and rest[0] in ("did", "does", "do"):
            return [w for w in rest if w in _MONEY_WORDS], True
        if rest and rest[0] in aux:
            rest = rest[2:] if len(rest) > 1 and rest[1] in ("the", "a", "an") else rest[1:]
        return sorted(_head(rest)), True
    if wh in ("what", "which", "who", "whose") and after and after[0] in aux:
        if len(after) > 2 and after[1] in ("the", "a", "an"):
            return sorted(_head(after[2:])), True
        owner = next((i for i, w in enumerate(after[:5]) if w.endswith("'s")), None)
        return (sorted(_head(after[owner + 1:])), True) if owner is not None else ([], False)
    if wh in ("what", "which"):
        return sorted(_head(after)), False
    return [], False


def _how(rest: str, after: list[str], words: set[str]) -> str:
    first = after[0] if after else ""
    if first in ("long", "often", "frequently") or rest.startswith("much time"):
        return "duration"
    if first in ("much", "many", "large", "big", "small", "high", "low", "accurate", "fast", "heavy", "far"):
        return "amount" if words & _MONEY_WORDS and first != "many" else "number"
    if re.search(r"\b(defined?|described|called|named)\b", rest):
        return "definition"
    return "other"


def _what(after: list[str]) -> str:
    """what/which + the words that name the kind of answer ("what F1 score", "what is the due date of")."""
    if not after:
        return "other"
    if after[0] in ("is", "are", "was", "were"):
        if len(after) > 1 and after[1] in ("the", "a", "an"):
            head = _head(after[2:])
        elif len(after) > 1 and after[1] not in _VERBISH and not after[1].endswith("ed"):
            head = _head(after[1:])
        else:
            return "entity"      # "which is bigger", "what is written in …"
    elif after[0] in ("does", "do", "did", "has", "have", "had", "can", "will", "would", "should"):
        return "other"           # "what does he tell …": no kind named
    else:
        head = _head(after)
    if head & (_MONEY_WORDS - {"change", "total", "amount"}) or {"dollar", "euro"} & head:
        return "amount"
    if "amount" in head:
        return "amount"
    if head & _DATE_WORDS and not head & _NUMBER_NOUNS:
        return "date"
    if head & _NUMBER_NOUNS:
        return "number"
    if head & _PLACE_WORDS:
        return "place"
    if head & {"name", "person", "author", "authors", "user", "member", "people"}:
        return "name"
    return "entity"


def _head(words: list[str]) -> set[str]:
    """The noun phrase that names the answer: up to four words, ending before a verb or preposition."""
    out: set[str] = set()
    for word in words[:4]:
        if word in _VERBISH or word in _PREPOSITIONS:
            break
        out.add(word)
    return out


_VERBISH = frozenset("""is are was were does do did has have had can could will would should be been being get gets got
reach reached reaches written given taken made used appear appears appeared show shows shown come comes
came""".split())
_PREPOSITIONS = frozenset("of in on for at by with from to between during after before about over under".split())


def candidates(text: str, kind: str) -> list[Span]:
    """Spans of `text` that could answer a question of type `kind` (none for yes_no, definition, other)."""
    if kind == "number":
        found = _spans(_NUMBER, text) + _spans(_AMOUNT, text)
    elif kind == "amount":
        found = _spans(_AMOUNT, text) or _spans(_NUMBER, text)
    elif kind == "date":
        found = _spans(_DATE, text)
    elif kind == "duration":
        found = _spans(_DURATION, text) or _spans(_NUMBER, text)
    elif kind in ("name", "place"):
        found = _spans(_NAME, text) + [Span(m.start(1), m.end(1), m.group(1)) for m in _SLACK_AUTHOR.finditer(text)]
    elif kind == "entity":
        found = _spans(_ENTITY, text) + _spans(_NUMBER, text)
    else:
        return []
    return _outermost(found)


def _spans(pattern: re.Pattern[str], text: str) -> list[Span]:
    return [Span(m.start(), m.end(), m.group()) for m in pattern.finditer(text) if m.group().strip()]


def _outermost(spans: list[Span]) -> list[Span]:
    """Overlapping spans reduced to the longest, in text order."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if out and span.start < out[-1].end:
            if span.end > out[-1].end:
                out[-1] = Span(out[-1].start, span.end, out[-1].text + span.text[out[-1].end - span.start:])
            continue
        out.append(span)
    return out


def number_values(token: str) -> set[float]:
    """The values a written number may stand for: "19,400" and "19.400" -> {19400.0, 19.4}; "174,60" ->
    {174.6}; "1.4M" -> {1400000.0}; "12.5%" -> {12.5}. Empty when `token` holds no number."""
    match = re.search(r"\d[\d.,\s]*\d|\d", token)
    if not match:
        return set()
    digits = re.sub(r"\s", "", match.group())
    scale = 1.0
    tail = token[match.end():].strip().lower()
    for word, factor in (("billion", 1e9), ("million", 1e6), ("thousand", 1e3), ("b", 1e9), ("m", 1e6),
                         ("k", 1e3)):
        if tail.startswith(word) and (len(tail) == len(word) or not tail[len(word)].isalpha()):
            scale = factor
            break
    values = set()
    parts = re.split(r"[.,]", digits)
    if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]):
        values.add(float("".join(parts)) * scale)          # thousands separators
    if len(parts) == 2:
        values.add(float(parts[0] + "." + parts[1]) * scale)  # a decimal point or comma
    if len(parts) == 1:
        values.add(float(digits) * scale)
    return values


_REFERENCE = re.compile(r"(?:Table|Tab\.|Figure|Fig\.|Section|Sec\.|§|Eq\.|Equation|Appendix|page|pages|pp\.|p\.)\s*$",
                        re.I)


def is_reference(text: str, span: Span) -> bool:
    """A number that points somewhere rather than states a fact: "Table 2", "§2.5", a citation's year
    ("et al. (2019)", "(Lipscomb, 2000)"), a section number opening the unit ("2.5 Filtering …")."""
    before = text[max(0, span.start - 12):span.start]
    if _REFERENCE.search(before):
        return True
    if re.fullmatch(r"(?:19|20)\d\d[a-z]?", span.text) and re.search(r"(?:al\.|,|\()\s*$", before):
        return True
    if span.start == 0 and re.fullmatch(r"\d+", span.text) and re.match(r" (?:[A-Za-z]|https?:)", text[span.end:]):
        return True   # a footnote's number: "11 https://github.com/…", "10 Learning rate …"
    return span.start == 0 and re.fullmatch(r"\d+(?:\.\d+)*", span.text) is not None and \
        text[span.end:span.end + 1] == " " and text[span.end + 1:span.end + 2].isupper()


def value_quality(value: str, kind: str) -> float:
    if kind in ("number", "amount"):
        if re.search(r"[%$€£¥]|\d[.,]\d|\d\s?[KMB]\b|million|billion|thousand|percent|e-\d", value):
            return 1.0
        return 0.7 if re.search(r"\d{2,}", value) else 0.5
    return 1.0


_COMMON = frozenset("""many example here there this these those such some each every one two table figure section
finally however also then thus hence instead overall first second third our please note see given following
unlike like while although because since after before during today yes no thanks thank hi hello ok""".split())


def is_common_opening(text: str, span: Span) -> bool:
    """A capitalised common word that only opens a sentence ("Its door code …", "Many author names …")."""
    if " " in span.text.strip() or not re.search(r"(?:^[\s\-•*▪◦>#|]*|[.!?:]\s+)$", text[:span.start]):
        return False
    word = span.text.strip().lower()
    return word in STOPWORDS or word in _COMMON

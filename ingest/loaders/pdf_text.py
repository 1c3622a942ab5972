"""Turn the raw text pypdf extracts from one page into readable paragraphs (pure functions).

pypdf gives one line per printed line and no blank lines between paragraphs. `clean_page_text`
removes control characters and ligatures, undoes line-end hyphenation ("embed-" + "ding" ->
"embedding", only when both sides are lowercase letters), joins the wrapped lines of a paragraph
and starts a new paragraph (a blank line) after a short line that ends a sentence and around
numbered headings such as "2.1 Node Types".
"""

from __future__ import annotations

import re

_LIGATURES = str.maketrans(
    {
        "ﬀ": "ff",
        "ﬁ": "fi",
        "ﬂ": "fl",
        "ﬃ": "ffi",
        "ﬄ": "ffl",
        "ﬅ": "st",
        "ﬆ": "st",
        "\xa0": " ",
        "\t": " ",
        "\r": "\n",
        "\x0c": "\n",
        "\u2028": "\n",
        "\u2029": "\n",
    }
)
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\xad\u200b-\u200d\ufeff]")
_SPACES = re.compile(r" {2,}")
_FOOTNOTE_MARK = re.compile(r"^(\d{1,2})(?=[A-Za-z\u201c\"][A-Za-z]{2,})")  # "7pronounced" -> "7 pronounced"
_COMPOUND = re.compile(r"\b([^\W\d_]{2,})-([^\W\d_]{2,})\b")
_HEADING = re.compile(r"^(\d{1,2}(\.\d{1,2})*\.?|[IVX]{1,5}\.|[A-H]\.)\s+[A-Z][^.!?]{0,80}$")
_NAMED_HEADINGS = frozenset(
    {
        "abstract",
        "introduction",
        "references",
        "acknowledgments",
        "acknowledgements",
        "conclusion",
        "conclusions",
        "related work",
        "appendix",
        "bibliography",
        "discussion",
        "limitations",
    }
)
_SENTENCE_END = (".", "!", "?", ":", ".)", ".”", '."')
_FULL = 0.8  # a line at least this share of the page's typical length was wrapped, not ended


def normalise_chars(text: str) -> str:
    """Ligatures to letters, tabs and odd line breaks to plain ones, control characters removed."""
    return _INVISIBLE.sub("", text.replace("\r\n", "\n").translate(_LIGATURES))


def is_heading(line: str) -> bool:
    """A numbered ("2.1 Node Types", "IV. Results") or well-known ("Abstract") section heading."""
    if line.lower().rstrip(".:") in _NAMED_HEADINGS:
        return True
    return len(line.split()) <= 12 and bool(_HEADING.match(line))


def _typical_length(lines: list[str]) -> int:
    lengths = sorted(len(line) for line in lines)
    return lengths[len(lengths) // 2]


def _glue(prev: str, line: str, typical: int) -> str:
    """What goes between two printed lines: "" (hyphenated word), " ", "\\n" or "\\n\\n"."""
    if len(prev) > 1 and prev.endswith("-") and prev[-2].isalnum():
        return ""
    if is_heading(prev) or is_heading(line):
        return "\n\n"
    ends_sentence = prev.endswith(_SENTENCE_END)
    if line[:1].islower() and not ends_sentence:
        return " "
    if len(prev) >= _FULL * typical:
        return " "
    return "\n\n" if ends_sentence else "\n"


def hyphenated_compounds(raw: str) -> frozenset[str]:
    """Hyphenated words printed whole on one line ("citation-informed"), lowercased: where such a word
    is broken at its hyphen across two lines, the hyphen is kept."""
    return frozenset(f"{a}-{b}".lower() for a, b in _COMPOUND.findall(normalise_chars(raw)))


def _dehyphenate(prev: str, line: str, compounds: frozenset[str] = frozenset()) -> str:
    """prev ends with "-": drop it when both sides are lowercase letters, unless prev is a compound."""
    last_word = prev.rsplit(" ", 1)[-1][:-1]
    next_word = re.match(r"[^\W\d_]*", line)
    joined = f"{last_word}-{next_word.group(0) if next_word else ''}".lower().lstrip("(\"'“")
    if prev[-2].islower() and line[:1].islower() and "-" not in last_word and joined not in compounds:
        return prev[:-1]
    return prev


def join_lines(lines: list[str], compounds: frozenset[str] = frozenset()) -> str:
    """Join one block's printed lines into paragraphs."""
    typical = _typical_length(lines)
    out = [lines[0]]
    for prev, line in zip(lines, lines[1:], strict=False):
        glue = _glue(prev, line, typical)
        if glue == "":
            out[-1] = _dehyphenate(out[-1], line, compounds)
        out.append(glue)
        out.append(line)
    return "".join(out)


def clean_page_text(raw: str, compounds: frozenset[str] = frozenset()) -> str:
    """Readable text for one page: paragraphs separated by blank lines, single spaces, no controls.
    `compounds` are hyphenated words the document prints whole elsewhere (see hyphenated_compounds)."""
    blocks: list[list[str]] = [[]]
    for line in normalise_chars(raw).split("\n"):
        line = _FOOTNOTE_MARK.sub(r"\1 ", _SPACES.sub(" ", line).strip())
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    paragraphs = [join_lines(block, compounds) for block in blocks if block]
    return "\n\n".join(paragraphs).strip()

"""JSON Lines files (.jsonl, .ndjson): one record per line, each record its own Section.

A record is a JSON object. Its text is the first string field among `text`, `contents`, `content`,
`body`, `abstract`, `passage`; its title the first among `title`, `name`, `heading`, `subject`; its id
the first among `_id`, `id`, `doc_id`, `docid` (else its line number). Each record becomes one Section
with the locator {"record": id, "line": n, "title": title} (the title only when there is one): the
chunker puts a section's own title before its text for the embedder and the lexical index, so each
record keeps its title even when one file holds thousands (a BEIR `corpus.jsonl`, an export of notes).
Blank lines are skipped; a line that is not a JSON object or has no text is skipped with a warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest.loaders.decode import decode_text, read_bytes
from ingest.loaders.spec import LoaderSpec
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

TEXT_FIELDS = ("text", "contents", "content", "body", "abstract", "passage")
TITLE_FIELDS = ("title", "name", "heading", "subject")
ID_FIELDS = ("_id", "id", "doc_id", "docid")
_MAX_WARNINGS = 5


def _first(record: dict[str, Any], fields: tuple[str, ...]) -> str:
    for name in fields:
        value = record.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return " ".join(str(value).split()) if name in TITLE_FIELDS else str(value).strip()
    return ""


def record_section(record: dict[str, Any], line: int) -> Section | None:
    """The Section for one record, or None when it has no text."""
    text = _first(record, TEXT_FIELDS)
    if not text:
        return None
    title = _first(record, TITLE_FIELDS)
    locator: dict[str, Any] = {"record": _first(record, ID_FIELDS) or str(line), "line": line}
    if title:
        locator["title"] = title
    return Section(text, locator)


def load_jsonl(path: Path, source: str, doc_id: str) -> Document:
    text, _ = decode_text(read_bytes(path, source))
    sections: list[Section] = []
    bad: list[int] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        section = record_section(record, number) if isinstance(record, dict) else None
        if section is None:
            bad.append(number)
        else:
            sections.append(section)
    if not sections:
        raise LoaderError(f"{source}: no line is a JSON object with a text field ({', '.join(TEXT_FIELDS)}) "
                          "— write one JSON object per line, e.g. {\"id\": \"1\", \"title\": \"…\", \"text\": \"…\"}")
    warnings = [f"line {n} skipped: not a JSON object with a text field" for n in bad[:_MAX_WARNINGS]]
    if len(bad) > _MAX_WARNINGS:
        warnings.append(f"… and {len(bad) - _MAX_WARNINGS} more lines skipped")
    return Document(doc_id, source, "records", Path(source).stem, tuple(sections),
                    {"records": len(sections), **({"warnings": warnings} if warnings else {})})


LOADERS: dict[str, LoaderSpec] = {
    ".jsonl": LoaderSpec("jsonl", "records", load_jsonl),
    ".ndjson": LoaderSpec("jsonl", "records", load_jsonl),
}

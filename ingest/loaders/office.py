"""Word (.docx) and PowerPoint (.pptx) files, read with python-docx and python-pptx.

A .docx is read in document order, paragraphs and tables alike, and split at headings ("Title", which
sits above "Heading 1" to "Heading 9") into Sections with the locator {"heading": "Parent > Child"},
as the Markdown loader does; text before the first heading has the locator {}. A table row reads
"Header: value; Header: value" under its first row (a one-row table reads "a | b | c"). The title is
the document's Title property, else its first Title/Heading 1 paragraph, else the file stem.

A .pptx gives one Section per slide with text, {"slide": n}: the slide title first, then the text
of every shape (text boxes, placeholders, tables, shapes inside groups), then "Notes: " and the
speaker notes. A slide without any text gives no Section. The title is the first slide's title, else
the Title property, else the file stem. Old binary .doc/.ppt files are not read: save them as .docx/.pptx.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.loaders.spec import LoaderSpec
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

_HEADING = re.compile(r"^(?:Heading (\d)|Title)$")


def _open(opener: Any, path: Path, source: str, what: str, app: str, suffix: str) -> Any:
    """The python-docx/pptx object of a file; a damaged file or another format is a LoaderError."""
    try:
        if path.stat().st_size == 0:
            raise LoaderError(f"{source}: the file is empty — nothing to index")
        return opener(str(path))
    except LoaderError:
        raise
    except Exception as exc:  # zipfile, lxml and python-docx/pptx each raise their own kinds
        reason = str(exc).replace(str(path), path.name).strip() or type(exc).__name__
        if type(exc).__name__ == "PackageNotFoundError":  # python-docx/pptx say so for anything not a zip
            reason = "not a zip package"
        raise LoaderError(
            f"{source}: not a readable {what} ({reason[:200]}) — the file is damaged or in another format; "
            f"open it in {app} or LibreOffice and save it again as {suffix}"
        ) from exc


def table_lines(rows: list[list[str]]) -> list[str]:
    """A table as text lines: "Header: value; …" per row under the first row, or "a | b" for one row."""
    rows = [[" ".join(cell.split()) for cell in row] for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        return [" | ".join(row) for row in rows]
    header, lines = rows[0], []
    for row in rows[1:]:
        pairs = [f"{h}: {v}" if h else v for h, v in zip(header, row, strict=False) if v]
        lines.append("; ".join(pairs + row[len(header) :]))
    return lines


def _docx_row(row: Any) -> list[str]:
    """A table row's cell texts; a cell merged across columns (python-docx repeats it) counts once."""
    seen: list[Any] = []
    texts = []
    for cell in row.cells:
        if not any(cell._tc is element for element in seen):
            seen.append(cell._tc)
            texts.append(cell.text)
    return texts


# --- docx ----------------------------------------------------------------------------------------


def _docx_blocks(document: Any) -> Iterator[tuple[int, str]]:
    """(heading level or 0, text) for each paragraph and table of the body, in order (Title is 1)."""
    from docx.table import Table

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = [_docx_row(row) for row in block.rows]
            text = "\n".join(table_lines(rows))
            if text.strip():
                yield 0, text
            continue
        text = block.text.strip()
        match = _HEADING.match(block.style.name if block.style is not None else "")
        if text:  # the Title style sits above Heading 1
            yield (int(match.group(1)) + 1 if match and match.group(1) else int(bool(match))), text


def docx_sections(blocks: Iterable[tuple[int, str]]) -> tuple[list[Section], str]:
    """(sections, first Title/Heading 1 text) from a document's blocks."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    locator: dict[str, Any] = {}
    first_heading = ""
    for level, text in blocks:
        if level:
            if len(lines) > (1 if locator else 0):
                sections.append(Section("\n\n".join(lines), locator))
            path = [(lvl, name) for lvl, name in path if lvl < level] + [(level, text)]
            locator, lines = {"heading": " > ".join(name for _, name in path)}, [text]
            first_heading = first_heading or (text if level <= 2 else "")
        else:
            lines.append(text)
    if len(lines) > (1 if locator else 0) or (lines and not sections):
        sections.append(Section("\n\n".join(lines), locator))
    return sections, first_heading


def load_docx(path: Path, source: str, doc_id: str) -> Document:
    """A Word document as Sections split at its headings."""
    import docx

    document = _open(docx.Document, path, source, "Word document", "Word", ".docx")
    sections, first_heading = docx_sections(_docx_blocks(document))
    if not sections:
        raise LoaderError(f"{source}: the document has no text — nothing to index (a scanned document "
                          "holds only images: export it as PDF to have it read by OCR)")
    title = (document.core_properties.title or "").strip() or first_heading or path.stem
    return Document(doc_id=doc_id, source=source, kind="docx", title=" ".join(title.split()),
                    sections=tuple(sections), meta={"warnings": []})


# --- pptx ----------------------------------------------------------------------------------------


def _shape_texts(shapes: Iterable[Any], skip: Any = None) -> Iterator[str]:
    """The text of each shape, groups opened and tables as lines; `skip` is the title already used."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if skip is not None and shape.shape_id == skip.shape_id:
            continue
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shape_texts(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [[c.text for c in row.cells if not c.is_spanned] for row in shape.table.rows]
            yield "\n".join(table_lines(rows))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield shape.text_frame.text.strip()


def slide_text(slide: Any) -> tuple[str, str]:
    """(title, all text of the slide with its speaker notes)."""
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
    parts = [title] + list(_shape_texts(slide.shapes, skip=title_shape))
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = slide.notes_slide.notes_text_frame.text.strip()
        parts.append(f"Notes: {notes}" if notes else "")
    return title, "\n\n".join(p for p in parts if p.strip())


def load_pptx(path: Path, source: str, doc_id: str) -> Document:
    """A presentation as one Section per slide."""
    from pptx import Presentation

    deck = _open(Presentation, path, source, "PowerPoint presentation", "PowerPoint", ".pptx")
    sections: list[Section] = []
    titles: list[str] = []
    empty: list[int] = []
    for number, slide in enumerate(deck.slides, 1):
        title, text = slide_text(slide)
        titles.append(title)
        if text:
            sections.append(Section(text, {"slide": number}))
        else:
            empty.append(number)
    if not sections:
        raise LoaderError(f"{source}: no slide has text — nothing to index (pictures of text are not read)")
    title = (titles[0] if titles else "") or (deck.core_properties.title or "").strip() or path.stem
    return Document(doc_id=doc_id, source=source, kind="pptx", title=" ".join(title.split()),
                    sections=tuple(sections), meta={"slides": len(titles), "empty_slides": empty, "warnings": []})


LOADERS: dict[str, LoaderSpec] = {
    ".docx": LoaderSpec("docx", "docx", load_docx),
    ".pptx": LoaderSpec("pptx", "pptx", load_pptx),
}

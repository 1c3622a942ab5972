"""PDF files, read with pypdf: one Section per physical page; scanned pages are read by OCR.

The locator is {"page": n} counted from 1; where the PDF defines printed page labels that differ
from n (proceedings printed as pp. 84-91), {"page": 1, "page_label": "84"}. A page with (nearly) no
text layer that shows a scan is rendered and OCR'd (ingest/loaders/pdf_ocr.py); its locator gains
"ocr": True and meta["ocr_pages"] counts such pages. Pages without text are skipped and listed in
meta["pages_without_text"]; a page whose extraction or OCR fails is skipped too and the failure
recorded in meta["warnings"], so one bad page never costs the whole document.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ingest.loaders.pdf_ocr import ScannedPages, read_scanned_pages
from ingest.loaders.pdf_text import clean_page_text, hyphenated_compounds, normalise_chars
from ingest.loaders.spec import LoaderSpec
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

_MAX_TITLE = 200
_NOT_TITLES = re.compile(
    r"^(untitled|title|document|slide \d+|microsoft (word|powerpoint) - .*"
    r"|.*\.(docx?|pdf|tex|dvi|ps|rtf|indd))$",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"proceedings|©|copyright|arxiv|doi|https?://|www\.|journal|conference|association for|vol\.|pages \d",
    re.IGNORECASE,
)


def _open(path: Path, source: str) -> Any:
    """A pypdf reader for the file, decrypted if it opens with the empty password."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    with path.open("rb") as handle:
        head = handle.read(1024)
    if not head:
        raise LoaderError(f"{source}: the file is empty — nothing to index")
    if b"%PDF-" not in head:
        raise LoaderError(
            f"{source}: this is not a PDF (no %PDF- header) — check the file; if it is another format, "
            "give it that format's suffix"
        )
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoaderError(
                f"{source}: the PDF is encrypted — decrypt it (e.g. qpdf --decrypt) and ingest again"
            )
        len(reader.pages)
    except LoaderError:
        raise
    except DependencyError as exc:
        raise LoaderError(
            f"{source}: the PDF is encrypted and pypdf needs an extra library to open it ({exc}) — "
            "pip install cryptography, or decrypt it (e.g. qpdf --decrypt) and ingest again"
        ) from exc
    except Exception as exc:  # pypdf raises many types on damaged files
        raise LoaderError(
            f"{source}: the PDF is damaged and cannot be read ({type(exc).__name__}: {exc}) — "
            "download or export it again, or repair it (e.g. qpdf in.pdf out.pdf)"
        ) from exc
    return reader


def _page_texts(reader: Any, warnings: list[str]) -> list[str]:
    """The raw text of every page ("" where there is none or extraction failed)."""
    texts: list[str] = []
    for index in range(len(reader.pages)):
        try:
            texts.append(reader.pages[index].extract_text() or "")
        except Exception as exc:  # one bad page must not cost the document
            warnings.append(f"page {index + 1}: text extraction failed ({type(exc).__name__}: {exc})")
            texts.append("")
    return texts


def _page_labels(reader: Any, count: int, warnings: list[str]) -> list[str]:
    """Printed page labels, or [] when the PDF defines none or they cannot be read."""
    try:
        labels = [str(label) for label in reader.page_labels]
    except Exception as exc:
        warnings.append(f"page labels could not be read ({type(exc).__name__}: {exc})")
        return []
    return labels if len(labels) == count else []


def _locator(page: int, labels: list[str], ocr: bool = False) -> dict[str, Any]:
    locator: dict[str, Any] = {"page": page}
    if labels and labels[page - 1] and labels[page - 1] != str(page):
        locator["page_label"] = labels[page - 1]
    if ocr:
        locator["ocr"] = True
    return locator


def _meaningful(title: str) -> str:
    """The title, squeezed to one line, or "" when it is a placeholder or a file name."""
    title = " ".join(normalise_chars(title).split())[:_MAX_TITLE]
    if len(title) < 3 or not re.search(r"[^\W\d_]", title) or _NOT_TITLES.match(title):
        return ""
    return title


def _metadata_title(reader: Any) -> str:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # a broken /Info dictionary only costs the title
        return ""
    return _meaningful(str(title)) if title else ""


def _largest_font_title(page: Any) -> str:
    """The text set in the page's largest font (a paper's title), from its first to last fragment."""
    fragments: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        scale = math.hypot(tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3])
        fragments.append((round(size * scale, 1), text))

    page.extract_text(visitor_text=visit)
    sizes = [size for size, text in fragments if text.strip()]
    if not sizes:
        return ""
    biggest = max(sizes)
    hits = [i for i, (size, text) in enumerate(fragments) if size == biggest and text.strip()]
    title = _meaningful("".join(text for _, text in fragments[hits[0] : hits[-1] + 1]))
    return title if len(title.split()) >= 2 else ""


def _first_line_title(raw: str) -> str:
    """The first line of page 1 that reads like a title rather than a running header."""
    for line in normalise_chars(raw).split("\n"):
        line = " ".join(line.split())
        if len(line.split()) >= 2 and len(line) >= 8 and not _BOILERPLATE.search(line):
            return _meaningful(line)
    return ""


def _title(reader: Any, first_page_text: str, path: Path) -> str:
    title = _metadata_title(reader)
    if not title:
        try:
            title = _largest_font_title(reader.pages[0])
        except Exception:  # the title is a nicety; the page text was read already
            title = ""
    return title or _first_line_title(first_page_text) or path.stem


def _no_text_error(source: str, count: int, warnings: list[str], scans: ScannedPages) -> LoaderError:
    failed = [w for w in warnings if "text extraction failed" in w]
    if failed and len(failed) == count:
        return LoaderError(
            f"{source}: text extraction failed on every page (first: {failed[0]}) — the PDF may be "
            "damaged; repair it (e.g. qpdf in.pdf out.pdf) or export it again"
        )
    if scans.unavailable:
        return LoaderError(
            f"{source}: no page has a text layer (a scanned PDF) and OCR is unavailable: {scans.unavailable}; "
            "or add a text layer first (e.g. ocrmypdf in.pdf out.pdf) and ingest again"
        )
    if scans.scanned:
        ocr_failed = [w for w in warnings if w.startswith("page ") and "text extraction" not in w]
        why = f" ({ocr_failed[0]})" if ocr_failed else ""
        return LoaderError(
            f"{source}: no page has a text layer and OCR found no text on its {len(scans.scanned)} scanned "
            f"page(s){why} — if the pages hold text, scan them again sharper (300 dpi), or add a text layer "
            "(e.g. ocrmypdf in.pdf out.pdf) and ingest again"
        )
    return LoaderError(
        f"{source}: no page has a text layer or anything drawn on it to OCR (the pages are blank) — check "
        "that this is the file you meant"
    )


def load_pdf(path: Path, source: str, doc_id: str) -> Document:
    """Read a PDF's text layer into one Section per page that has text."""
    reader = _open(path, source)
    warnings: list[str] = []
    raw_pages = _page_texts(reader, warnings)
    count = len(raw_pages)
    labels = _page_labels(reader, count, warnings)
    compounds = hyphenated_compounds("\n".join(raw_pages))
    texts = [clean_page_text(raw, compounds) for raw in raw_pages]
    scans = read_scanned_pages(path, source, raw_pages, warnings)
    ocr_text = {i: text for i, text in scans.texts.items() if text}
    texts = [ocr_text.get(i, text) for i, text in enumerate(texts)]
    sections = tuple(
        Section(text, _locator(n, labels, n - 1 in ocr_text)) for n, text in enumerate(texts, 1) if text
    )
    if not sections:
        raise _no_text_error(source, count, warnings, scans)
    meta: dict[str, Any] = {
        "page_count": count,
        "pages": count,
        "ocr_pages": len(scans.texts),  # pages OCR read, whether it found text there or not
        "pages_without_text": [n for n, text in enumerate(texts, 1) if not text],
        "warnings": warnings,
    }
    title = _title(reader, ocr_text.get(0, raw_pages[0]), path)
    return Document(doc_id=doc_id, source=source, kind="pdf", title=title, sections=sections, meta=meta)


LOADERS: dict[str, LoaderSpec] = {".pdf": LoaderSpec("pdf", "pdf", load_pdf)}

"""The scanned pages of a PDF: found, rendered with pypdfium2 and read by OCR (ingest/loaders/ocr.py).

A page is scanned when its text layer holds fewer than MIN_TEXT_CHARS characters and it draws
something: an image (a scan) or vector paths (text converted to outlines). Only those pages are
OCR'd, so a mixed PDF costs OCR time only for its scanned pages.

A page is rendered at its scan's own resolution, kept between 200 and 300 dpi (a 150 dpi scan gives
the same CER at 200 dpi as at 300, in 60% of the time), and never beyond MAX_RENDER_PIXELS: a page
with a huge MediaBox is rendered smaller rather than as a giant bitmap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.loaders import ocr
from rag.core.errors import LoaderError

MIN_TEXT_CHARS = 20
MAX_RENDER_PIXELS = 40_000_000
DPI_MIN, DPI_MAX = 200, 300


@dataclass(frozen=True)
class ScannedPages:
    scanned: list[int] = field(default_factory=list)  # 0-based indices of the pages that needed OCR
    texts: dict[int, str] = field(default_factory=dict)  # what OCR read on each ("" where nothing)
    unavailable: str = ""  # why OCR could not run, with the fix ("" when it ran or was not needed)


def needs_ocr(raw: str) -> bool:
    """Too little text-layer text to be the page's real content."""
    return len("".join(raw.split())) < MIN_TEXT_CHARS


def _drawing_dpi(page: Any) -> float | None:
    """The resolution of the page's largest image (DPI_MAX for vector-only drawing), None when blank."""
    import pypdfium2.raw as pdfium_c

    best_area, dpi = 0.0, None
    kinds = (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH)
    for obj in page.get_objects(filter=kinds, max_depth=4):
        if obj.type != pdfium_c.FPDF_PAGEOBJ_IMAGE:
            dpi = dpi or float(DPI_MAX)
            continue
        left, bottom, right, top = (obj.get_bounds if hasattr(obj, "get_bounds") else obj.get_pos)()
        area = abs(right - left) * abs(top - bottom)
        if area > best_area:
            best_area, dpi = area, obj.get_px_size()[0] / max(abs(right - left) / 72, 1e-6)
    return dpi


def render_scale(width_pt: float, height_pt: float, dpi: float) -> float:
    """pdfium's scale for `dpi`, kept between DPI_MIN and DPI_MAX, shrunk to fit MAX_RENDER_PIXELS."""
    scale = min(max(dpi, DPI_MIN), DPI_MAX) / 72
    area = max(width_pt * height_pt, 1e-6)
    return min(scale, math.sqrt(MAX_RENDER_PIXELS / area))


def _read_page(pdf: Any, index: int, source: str) -> str | None:
    """The OCR text of one page ("" when none found), or None when the page draws nothing."""
    page = pdf[index]
    try:
        dpi = _drawing_dpi(page)
        if dpi is None:
            return None
        width, height = page.get_size()
        bitmap = page.render(scale=render_scale(width, height, dpi), grayscale=True)
        image = ocr.prepare(bitmap.to_pil(), upscale=False)
        return ocr.read_text(image, source, f"page {index + 1}", psm=ocr.PSM_AUTO)
    finally:
        page.close()


def read_scanned_pages(path: Path, source: str, raw_pages: list[str], warnings: list[str]) -> ScannedPages:
    """OCR every page whose text layer is (nearly) empty and that draws something."""
    candidates = [i for i, raw in enumerate(raw_pages) if needs_ocr(raw)]
    if not candidates:
        return ScannedPages()
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        warnings.append(f"pages without a text layer could not be rendered for OCR (pdfium: {exc})")
        return ScannedPages()
    try:
        return _read_all(pdf, candidates, source, warnings)
    finally:
        pdf.close()


def _read_all(pdf: Any, candidates: list[int], source: str, warnings: list[str]) -> ScannedPages:
    missing = ocr.tesseract_missing()
    scanned: list[int] = []
    texts: dict[int, str] = {}
    for index in candidates:
        if missing:  # only find out which pages would need OCR
            page = pdf[index]
            drawn = _drawing_dpi(page) is not None
            page.close()
            scanned += [index] if drawn else []
            continue
        try:
            text = _read_page(pdf, index, source)
        except LoaderError as exc:  # one page's OCR failing must not cost the document
            warnings.append(f"page {index + 1}: {str(exc).removeprefix(source + ': ')}")
            scanned.append(index)
            continue
        except Exception as exc:  # pdfium failing to render a damaged page
            warnings.append(f"page {index + 1}: could not be rendered for OCR ({type(exc).__name__}: {exc})")
            scanned.append(index)
            continue
        if text is not None:
            scanned.append(index)
            texts[index] = text
    if missing and scanned:
        pages = ("pages " if len(scanned) > 1 else "page ") + ", ".join(str(i + 1) for i in scanned)
        warnings.append(f"{pages}: no text layer, and OCR is unavailable: {missing}")
    return ScannedPages(scanned, texts, missing if scanned else "")

"""Images read by OCR: photos of receipts and whiteboards, screenshots, scans (ingest/loaders/ocr.py).

One image is one Section with locator {}; a multi-page TIFF (a fax, a scanner's output) gives one
Section per page, {"page": n}. Of a GIF or an animated WebP only the first frame is read. The text
keeps its lines: Tesseract reads an image as one block (psm 6), which keeps a receipt's item and its
price on one line (CER on sample_docs/receipt.png 0.02, against 0.17 with the page layout analysis).

Before any pixel is decoded, the size in the file's header is checked against MAX_PIXELS, so a
decompression bomb (a 30000 x 30000 PNG of a few kilobytes) is refused without allocating it.
"""

from __future__ import annotations

import re
import warnings as pywarnings
from pathlib import Path
from typing import Any

from ingest.loaders import ocr
from ingest.loaders.spec import LoaderSpec
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

MAX_PIXELS = 60_000_000
FORMATS = frozenset({"PNG", "JPEG", "MPO", "TIFF", "WEBP", "BMP", "DIB", "GIF"})
_DAMAGED_FIX = "download or export the image again, or open it in an image editor and save it anew"


def _too_large(source: str, size: str) -> LoaderError:
    return LoaderError(
        f"{source}: the image is too large to read safely ({size}; the limit is {MAX_PIXELS:,} pixels) — "
        "scale it down (e.g. to 300 dpi) and ingest it again"
    )


def _open(path: Path, source: str) -> Any:
    """The image, opened from its header only (no pixels decoded yet)."""
    from PIL import Image, UnidentifiedImageError

    if path.stat().st_size == 0:
        raise LoaderError(f"{source}: the file is empty — nothing to index")
    try:
        with pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_large(source, f"{int(found.group(1)):,} pixels" if found else str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise LoaderError(
            f"{source}: this is not an image Pillow can read (the content matches no image format) — "
            "check the file; if it is another format, give it that format's suffix"
        ) from exc
    except Exception as exc:  # Pillow's plugins raise many types on damaged headers
        problem = f"the image header is damaged ({type(exc).__name__}: {exc})"
        raise LoaderError(f"{source}: {problem} — {_DAMAGED_FIX}") from exc
    if image.format not in FORMATS:
        image.close()
        raise LoaderError(
            f"{source}: this is a {image.format} image, not one of {', '.join(sorted(FORMATS))} — "
            "convert it to PNG and ingest it again"
        )
    return image


def _frame(image: Any, index: int, source: str) -> Any:
    """Frame `index`, size-checked and decoded."""
    try:
        image.seek(index)
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise _too_large(source, f"{width} x {height} = {width * height:,} pixels")
        image.load()
        return image
    except LoaderError:
        raise
    except Exception as exc:  # truncated or corrupt pixel data
        where = f"page {index + 1} of the image" if index else "the image"
        raise LoaderError(
            f"{source}: {where} is damaged or truncated ({type(exc).__name__}: {exc}) — {_DAMAGED_FIX}"
        ) from exc


def _page_count(image: Any) -> int:
    """Pages of a multi-page TIFF; 1 for every other image (a GIF's or WebP's first frame is read)."""
    if image.format != "TIFF":
        return 1
    try:
        return max(1, int(getattr(image, "n_frames", 1)))
    except Exception:  # a damaged chain of TIFF pages: read what the first one holds
        return 1


def _title(lines: list[ocr.Line], path: Path) -> str:
    """The first line when it reads like a heading (a shop's name), else the file name."""
    first = next((line for line in lines if line.best >= ocr.LINE_CONFIDENCE), None)
    if first is None:
        return path.stem
    words = first.text.split()
    letters = sum(c.isalpha() for c in first.text) / max(1, len(first.text.replace(" ", "")))
    if first.confidence >= 80 and 2 <= len(words) <= 8 and len(first.text) <= 60 and letters >= 0.7:
        return first.text
    return path.stem


def _read_pages(image: Any, source: str, warnings: list[str]) -> tuple[list[Section], list[ocr.Line], int, int]:
    """OCR every page: the Sections with text, the first page's lines (for the title), pages OCR'd, pages.
    A damaged or unreadable later page of a multi-page TIFF costs only itself (a warning)."""
    count = _page_count(image)
    sections: list[Section] = []
    first_lines: list[ocr.Line] = []
    read = 0
    for index in range(count):
        where = f"page {index + 1}" if count > 1 else "the image"
        try:
            frame = _frame(image, index, source)
            lines = ocr.read_image_lines(frame, source, where, psm=ocr.PSM_BLOCK)
        except LoaderError as exc:
            if count == 1 or "too large" in str(exc):
                raise
            warnings.append(f"page {index + 1}: {str(exc).removeprefix(source + ': ')}")
            continue
        read += 1
        text = ocr.lines_to_text(lines)
        if text:
            sections.append(Section(text, {"page": index + 1} if count > 1 else {}))
            first_lines = first_lines or lines
    return sections, first_lines, read, count


def load_image(path: Path, source: str, doc_id: str) -> Document:
    """OCR an image (every page of a multi-page TIFF) into Sections that keep the text's lines."""
    problem = ocr.tesseract_missing()
    if problem:
        raise LoaderError(f"{source}: images are read by OCR, and {problem}")
    warnings: list[str] = []
    with _open(path, source) as image:
        sections, first_lines, read, count = _read_pages(image, source, warnings)
    if not sections:
        failed = f" ({warnings[0]})" if warnings else ""
        raise LoaderError(
            f"{source}: no text found by OCR{failed} — if the image does hold text, use a sharper, larger or "
            "better-lit picture (text at least 20 pixels high reads best)"
        )
    with_text = {s.locator.get("page", 1) for s in sections}
    meta: dict[str, Any] = {
        "pages": count,
        "ocr_pages": read,
        "pages_without_text": [n for n in range(1, count + 1) if n not in with_text],
        "warnings": warnings,
    }
    title = _title(first_lines, path)
    return Document(doc_id=doc_id, source=source, kind="image", title=title, sections=tuple(sections), meta=meta)


LOADERS: dict[str, LoaderSpec] = {
    suffix: LoaderSpec("image", "image", load_image)
    for suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif")
}

"""A PDF page as an image with a quoted passage highlighted (pypdfium2 renders; Pillow draws the boxes).

The quote comes from our own text extraction (de-hyphenated, whitespace collapsed), so it is matched
against the page's characters with both sides reduced to letters and digits; the characters that
match give the boxes. When the whole quote is not found, the longest stretch of it that is (half of
the quote at least) is highlighted instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING

from rag.core.errors import RagError

if TYPE_CHECKING:
    from PIL.Image import Image

Box = tuple[float, float, float, float]
"""(left, top, right, bottom) in image pixels."""

HIGHLIGHT = (255, 200, 0, 110)     # translucent yellow
OUTLINE = (230, 140, 0, 255)


@dataclass(frozen=True)
class PageImage:
    image: Image
    boxes: tuple[Box, ...]         # where the quote is, in image pixels (empty: not found on the page)
    page_count: int


def normalised(text: str) -> tuple[str, list[int]]:
    """`text` lowercased with only letters and digits kept, and for each kept character its index."""
    kept: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch.isalnum():
            kept.append(ch.lower())
            where.append(i)
    return "".join(kept), where


def quote_span(page_text: str, quote: str) -> tuple[int, int] | None:
    """(first, last + 1) character indices of `quote` in `page_text`, ignoring spacing and punctuation."""
    hay, where = normalised(page_text)
    needle, _ = normalised(quote)
    if not needle or not hay:
        return None
    at = hay.find(needle)
    if at >= 0:
        return where[at], where[at + len(needle) - 1] + 1
    match = SequenceMatcher(None, hay, needle, autojunk=False).find_longest_match(0, len(hay), 0, len(needle))
    if match.size < max(12, len(needle) // 2):
        return None
    return where[match.a], where[match.a + match.size - 1] + 1


def char_boxes(textpage: object, first: int, last: int, page_height: float, scale: float) -> list[Box]:
    """One box per text line of characters first..last-1, in image pixels (PDF y grows upwards)."""
    count = textpage.count_rects(first, last - first)  # type: ignore[attr-defined]
    boxes = []
    for i in range(count):
        left, bottom, right, top = textpage.get_rect(i)  # type: ignore[attr-defined]
        boxes.append((left * scale - 2, (page_height - top) * scale - 2,
                      right * scale + 2, (page_height - bottom) * scale + 2))
    return boxes


def draw_boxes(image: Image, boxes: list[Box]) -> Image:
    from PIL import Image as PILImage
    from PIL import ImageDraw

    base = image.convert("RGBA")
    layer = PILImage.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for box in boxes:
        draw.rectangle(box, fill=HIGHLIGHT, outline=OUTLINE, width=2)
    return PILImage.alpha_composite(base, layer).convert("RGB")


def focus(shown: PageImage, margin: int = 160, side: int = 48) -> Image:
    """The part of the page around the highlighted passage: `margin` pixels above and below, `side` beside."""
    if not shown.boxes:
        return shown.image
    left = max(0, int(min(b[0] for b in shown.boxes)) - side)
    right = min(shown.image.width, int(max(b[2] for b in shown.boxes)) + side)
    top = max(0, int(min(b[1] for b in shown.boxes)) - margin)
    bottom = min(shown.image.height, int(max(b[3] for b in shown.boxes)) + margin)
    return shown.image.crop((left, top, right, bottom))


def highlighted_page(path: Path, page: int, quote: str, scale: float = 2.0) -> PageImage:
    """Page `page` (counted from 1) of the PDF at `path`, rendered, with `quote` highlighted."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except (pdfium.PdfiumError, OSError) as exc:
        raise RagError(f"{path.name}: the PDF cannot be opened to show the page ({exc}) — the file may have "
                       "moved or changed since it was ingested; re-ingest it") from exc
    try:
        if not 1 <= page <= len(pdf):
            raise RagError(f"{path.name}: has {len(pdf)} pages, not {page} — re-ingest it, it has changed")
        pdf_page = pdf[page - 1]
        _, height = pdf_page.get_size()
        image = pdf_page.render(scale=scale).to_pil()
        textpage = pdf_page.get_textpage()
        span = quote_span(textpage.get_text_range(), quote)
        boxes = char_boxes(textpage, span[0], span[1], height, scale) if span else []
        return PageImage(draw_boxes(image, boxes) if boxes else image, tuple(boxes), len(pdf))
    finally:
        pdf.close()

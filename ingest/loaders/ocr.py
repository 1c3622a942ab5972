"""Tesseract OCR through pytesseract, shared by the image loader and the PDF loader's scanned pages.

`read_text(image, ...)` turns a Pillow image into lines of text, in reading order, with the line
structure kept (a receipt stays readable line by line; blocks are separated by a blank line). A line
in which Tesseract trusts no word (every word's confidence under LINE_CONFIDENCE) is dropped: on
photos such lines are creases, rules and table edges read as "OE na" or "—".

`prepare(image, upscale=...)` is the preprocessing, each step kept because it measured better on the
real files (figures in tests/test_ocr.py): EXIF orientation, grayscale (transparency on white), a 2x
upscale when the image is under UPSCALE_BELOW pixels wide (text 9-16 px high: CER 1.00-0.04 -> 0.04-0.00),
a 3x3 median filter (it removes scanner specks: CER of the scanned memo 0.054 -> 0.002; handwriting
0.37 -> 0.26) and autocontrast.

Tesseract runs with OMP_THREAD_LIMIT=1 (its OpenMP threads only slow it down on 2 shared cores: 1.2 s
against 2.1 s for a 300 dpi page) and every call has a timeout, so one page can never hang a worker.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ingest.loaders.pdf_text import normalise_chars
from rag.core.errors import LoaderError

LANG = "eng"
TIMEOUT_S = 120
UPSCALE_BELOW = 1500
UPSCALE_MAX_PIXELS = 40_000_000  # no upscale that would make a bigger image than this (a long screenshot)
LINE_CONFIDENCE = 50
PHOTO_RETRY_BELOW = 70   # mean line confidence under which an image is read again as a photo
PHOTO_THRESHOLD = 225    # on the lighting-corrected photo, darker than this is ink
TESSERACT_FIX = "install tesseract-ocr (apt-get install tesseract-ocr tesseract-ocr-eng; pip install pytesseract)"
PSM_AUTO = 3   # page segmentation: find columns and blocks (documents, scanned PDF pages)
PSM_BLOCK = 6  # one uniform block of text: keeps a receipt's item and price on one line (images)


@dataclass(frozen=True)
class Line:
    text: str
    confidence: float  # Tesseract's mean word confidence, 0-100
    best: float  # the most confident word's
    block: tuple[int, int]  # (block, paragraph): a change starts a new paragraph


def tesseract_missing() -> str:
    """Why OCR cannot run on this machine ("" when it can): what is missing and how to install it."""
    try:
        import pytesseract
    except ImportError:
        return f"pytesseract is not installed — {TESSERACT_FIX}"
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        return f"the tesseract program is not installed — {TESSERACT_FIX}"
    return ""


def _grayscale(image: Any) -> Any:
    """8-bit grayscale; transparent areas become white paper, 16-bit and float images are rescaled."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        import numpy as np

        pixels = np.asarray(image, dtype=np.float64)
        low, high = float(pixels.min()), float(pixels.max())
        scaled = (pixels - low) * (255.0 / (high - low)) if high > low else np.zeros_like(pixels)
        return Image.fromarray(scaled.astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("L")
    return image.convert("L")


def prepare(image: Any, upscale: bool = True) -> Any:
    """The image as Tesseract reads it best (see the module docstring for what each step buys)."""
    from PIL import Image, ImageFilter, ImageOps

    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block only costs the orientation
        pass
    gray = _grayscale(image)
    if upscale and gray.width < UPSCALE_BELOW and 4 * gray.width * gray.height <= UPSCALE_MAX_PIXELS:
        gray = gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.LANCZOS)
    return ImageOps.autocontrast(gray.filter(ImageFilter.MedianFilter(3)), cutoff=1)


def prepare_photo(image: Any) -> Any:
    """For a photo of a faint print on crumpled paper (a thermal receipt): the uneven lighting divided
    out (the image over its own blur), a hard threshold, strokes thickened, then the usual 2x upscale.
    On the CORD receipt photo this turns nothing readable into the amounts and most item names."""
    import numpy as np
    from PIL import Image, ImageFilter, ImageOps

    try:
        image = ImageOps.exif_transpose(image)
    except Exception:
        pass
    gray = _grayscale(image)
    background = np.asarray(gray.filter(ImageFilter.GaussianBlur(12)), dtype=np.float32) + 1.0
    flat = np.asarray(gray, dtype=np.float32) / background * 255.0
    binary = Image.fromarray(np.where(flat < PHOTO_THRESHOLD, 0, 255).astype(np.uint8), "L")
    binary = binary.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.MedianFilter(3))
    if 4 * binary.width * binary.height <= UPSCALE_MAX_PIXELS:
        binary = binary.resize((binary.width * 2, binary.height * 2), Image.Resampling.LANCZOS)
    return binary


def confident_chars(lines: list[Line]) -> int:
    """How much text Tesseract trusts: characters on the lines lines_to_text keeps, weighted by confidence."""
    return int(sum(len(line.text) * line.confidence / 100 for line in lines if line.best >= LINE_CONFIDENCE))


def read_image_lines(image: Any, source: str, where: str, psm: int = PSM_BLOCK) -> list[Line]:
    """OCR an image as a document or photo: the usual preprocessing first; when Tesseract trusts little
    of what it read (a photo), the photo preprocessing too, keeping whichever reading it trusts more."""
    lines = read_lines(prepare(image), source, where, psm)
    mean = sum(line.confidence for line in lines) / len(lines) if lines else 0.0
    if mean >= PHOTO_RETRY_BELOW:
        return lines
    photo = read_lines(prepare_photo(image), source, where, psm)
    return photo if confident_chars(photo) > confident_chars(lines) else lines


def _lines(data: dict[str, list[Any]]) -> list[Line]:
    """Tesseract's word table (image_to_data) grouped into lines."""
    words: dict[tuple[int, int, int], list[tuple[str, float]]] = {}
    for i, text in enumerate(data["text"]):
        if data["level"][i] == 5 and str(text).strip():
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            words.setdefault(key, []).append((str(text).strip(), float(data["conf"][i])))
    return [
        Line(" ".join(w for w, _ in ws), sum(c for _, c in ws) / len(ws), max(c for _, c in ws), key[:2])
        for key, ws in words.items()
    ]


def lines_to_text(lines: list[Line]) -> str:
    """Lines Tesseract trusts, one per line, a blank line between paragraphs."""
    kept = [line for line in lines if line.best >= LINE_CONFIDENCE and not _noise(line.text)]
    out: list[str] = []
    for prev, line in zip([None, *kept], kept, strict=False):
        if prev is not None and prev.block != line.block:
            out.append("")
        out.append(line.text)
    return normalise_chars("\n".join(out)).strip()


def _noise(text: str) -> bool:
    """A line of specks and creases read as punctuation (", a ; . ."): under half of it letters or digits,
    or no word of two letters or digits."""
    solid = text.replace(" ", "")
    alnum = sum(c.isalnum() for c in solid)
    return alnum < 0.5 * len(solid) or not re.search(r"\w\w", text)


@contextmanager
def _one_thread() -> Iterator[None]:
    """OMP_THREAD_LIMIT=1 for the tesseract process only (pytesseract hands it os.environ): measured 1.2 s
    against 2.1 s a page on 2 shared cores. A value the user set is kept."""
    if "OMP_THREAD_LIMIT" in os.environ:
        yield
        return
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        yield
    finally:
        os.environ.pop("OMP_THREAD_LIMIT", None)


def read_lines(image: Any, source: str, where: str, psm: int = PSM_AUTO) -> list[Line]:
    """OCR one prepared image; `where` says which part of the file it is ("page 3") in errors."""
    import pytesseract

    try:
        with _one_thread():
            data = pytesseract.image_to_data(
                image, lang=LANG, config=f"--psm {psm}", timeout=TIMEOUT_S, output_type=pytesseract.Output.DICT
            )
    except pytesseract.TesseractNotFoundError as exc:
        raise LoaderError(f"{source}: {where} needs OCR, but {tesseract_missing() or TESSERACT_FIX}") from exc
    except pytesseract.TesseractError as exc:  # a RuntimeError too: caught first
        raise LoaderError(f"{source}: tesseract failed on {where} ({exc}) — check the image opens in a viewer") from exc
    except RuntimeError as exc:  # pytesseract's timeout
        raise LoaderError(
            f"{source}: OCR of {where} took longer than {TIMEOUT_S} s and was stopped — "
            "split the file or scan it at a lower resolution"
        ) from exc
    return _lines(data)


def read_text(image: Any, source: str, where: str, psm: int = PSM_AUTO) -> str:
    return lines_to_text(read_lines(image, source, where, psm))

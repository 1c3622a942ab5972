"""Regenerate the scanned samples: a phone photo of a receipt and a scanned one-page memo (Pillow, numpy).

    python sample_docs/make_scans.py          # writes receipt.png and scanned_memo.pdf into sample_docs/

The text is set in Pillow's own scalable font (ImageFont.load_default(size=...), Pillow >= 10.1), so no
system font is needed; the "camera" and "scanner" noise comes from a seeded numpy generator, and the PDF
carries no dates, so running it again writes the same bytes. sample_docs/README.md lists the facts the
tests assert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

RESTAURANT = "HARBOR LIGHTS BISTRO"
Row = str | tuple[str, str]  # a centred line, or a line with a right-aligned price; "-" is a rule
RECEIPT_ITEMS: list[Row] = [  # (line, price): the prices add up to the subtotal
    ("2 x Fish Chowder", "17.80"),
    ("1 x Grilled Mackerel", "16.50"),
    ("1 x Harbor Salad", "11.25"),
    ("2 x Sparkling Water", "6.40"),
    ("1 x Lemon Tart", "7.90"),
]
RECEIPT_TOTALS: list[Row] = [("SUBTOTAL", "59.85"), ("SERVICE 10%", "5.99"), ("TOTAL", "65.84")]
RECEIPT_HEAD: list[Row] = [RESTAURANT, "14 Quay Street, Port Elwin", "Tel 0161 555 0187", "",
                "Date: 14/03/2024  Time: 19:42", "Table 7   Server: Maren", "-"]
RECEIPT_FOOT: list[Row] = ["-", ("CARD VISA ****4821", "65.84"), "", "Thank you - see you again!"]

MEMO_LINES = [
    "# BRACKWATER FIELD STATION",
    "Internal memo No. 2024-17",
    "",
    "To: All survey staff",
    "From: Ines Okafor, station lead",
    "Date: 3 April 2024",
    "Subject: Moving the sediment core archive",
    "",
    "The sediment core archive moves from the boathouse cellar",
    "to Hall C on 22 April 2024. Cores taken before 2015 go to",
    "shelf row K; all newer cores go to shelf rows L and M.",
    "",
    "The new archive room is kept at 4 degrees Celsius.",
    "Its door code is 7391. Please do not write it down.",
    "",
    "Until the move is finished, book core access with",
    "Greta Lindqvist (extension 218).",
]


def receipt_reference() -> str:
    """The receipt's text as printed, one line per printed line (the ground truth for its CER)."""
    rows = RECEIPT_HEAD + RECEIPT_ITEMS + RECEIPT_TOTALS + RECEIPT_FOOT
    return "\n".join(" ".join(row) if isinstance(row, tuple) else row for row in rows if row and row != "-")


def memo_reference() -> str:
    """The memo's text as printed (the ground truth for its CER)."""
    return "\n".join(line.removeprefix("# ") for line in MEMO_LINES)


def _font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _receipt_paper() -> Any:
    """The receipt as printed: dark text on a narrow white slip, prices right-aligned."""
    from PIL import Image, ImageDraw

    font, big = _font(21), _font(27)
    width, left, right, step = 470, 24, 446, 31
    rows = RECEIPT_HEAD + RECEIPT_ITEMS + ["-"] + RECEIPT_TOTALS + RECEIPT_FOOT
    paper = Image.new("L", (width, 70 + step * len(rows)), 250)
    draw = ImageDraw.Draw(paper)
    y = 30
    for row in rows:
        if row == "-":
            draw.line((left, y + 12, right, y + 12), fill=60, width=2)
        elif isinstance(row, tuple):
            font_for = big if row[0] == "TOTAL" else font
            draw.text((left, y), row[0], font=font_for, fill=35)
            draw.text((right - draw.textlength(row[1], font=font_for), y), row[1], font=font_for, fill=35)
        elif row:
            font_for = big if row == RESTAURANT else font
            draw.text(((width - draw.textlength(row, font=font_for)) / 2, y), row, font=font_for, fill=35)
        y += step + (6 if row in (RESTAURANT, ("TOTAL", "65.84")) else 0)
    return paper


def receipt_image() -> Any:
    """The receipt photographed on a table: tilted, unevenly lit, slightly soft, with sensor noise."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(7)
    paper = _receipt_paper().rotate(2.5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=0)
    photo = Image.new("L", (paper.width + 60, paper.height + 60), 95)
    photo.paste(paper, (30, 30), paper.point(lambda v: 255 if v > 0 else 0))
    pixels = np.asarray(photo.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32)
    ys, xs = np.mgrid[0 : pixels.shape[0], 0 : pixels.shape[1]]
    light = 0.82 + 0.18 * (xs / pixels.shape[1]) * (1 - 0.4 * ys / pixels.shape[0])  # a lamp at the right
    pixels = pixels * light + rng.normal(0, 6, pixels.shape)
    pixels = np.round(np.clip(pixels, 0, 255) / 8) * 8  # a coarse sensor: fewer levels, a smaller PNG
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")


def memo_image() -> Any:
    """The memo as a 150 dpi A4 scan: grey paper, slightly skewed, with specks of dust."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(11)
    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    y = 150
    for line in MEMO_LINES:
        heading = line.startswith("# ")
        draw.text((140, y), line.removeprefix("# "), font=_font(40 if heading else 31), fill=20)
        y += 70 if heading else 46
    page = page.rotate(-0.7, resample=Image.Resampling.BICUBIC, fillcolor=255).filter(ImageFilter.GaussianBlur(0.6))
    pixels = np.asarray(page, dtype=np.float32) * 0.93 + rng.normal(0, 5, (page.height, page.width))
    specks = rng.random((page.height, page.width)) < 0.0015
    pixels[specks] = rng.uniform(40, 140, int(specks.sum()))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")


def text_image(lines: list[str], size: int = 28, width: int = 900, margin: int = 40) -> Any:
    """Clean black-on-white lines of text (tests build small scans, TIFF pages and PDFs from it)."""
    from PIL import Image, ImageDraw

    step = int(size * 1.5)
    image = Image.new("L", (width, 2 * margin + step * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((margin, margin + i * step), line, font=_font(size), fill=0)
    return image


def write_scanned_pdf(path: Path, pages: list[Any], dpi: int = 150) -> None:
    """An image-only PDF (no text layer), one page per image, with no dates in it."""
    first, *rest = pages
    first.save(path, "PDF", resolution=dpi, save_all=True, append_images=rest, quality=60,
               creationDate=None, modDate=None, producer="make_scans.py", title="")


def main(folder: Path = HERE) -> None:
    receipt_image().save(folder / "receipt.png", optimize=True)
    write_scanned_pdf(folder / "scanned_memo.pdf", [memo_image()])


if __name__ == "__main__":
    main()

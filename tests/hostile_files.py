"""Broken and hostile inputs, generated on the spot (nothing hostile is committed).

`write_all(folder)` writes every case into `folder` and returns {name: Case}; tests/test_hostile.py
ingests them next to good files and checks each outcome. Every writer is cheap: the zip bomb is
streamed, the 30000x30000 PNG is a header with a tiny body, the 3000-page PDF is a few hundred KB.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import wave
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import SAMPLES


@dataclass(frozen=True)
class Case:
    name: str              # the path written, relative to the folder
    outcome: str           # "failed" | "skipped" | "warning" | "ok" | "absent"
    reason: str            # a regex the report must contain (case-insensitive); "" for "ok"/"absent"
    searchable: str = ""   # for "ok"/"warning": words that must find this file


CASES: list[tuple[Case, Callable[[Path], None]]] = []


def case(name: str, outcome: str, reason: str = "", searchable: str = "") -> Callable[..., Callable[[Path], None]]:
    def register(write: Callable[[Path], None]) -> Callable[[Path], None]:
        CASES.append((Case(name, outcome, reason, searchable), write))
        return write
    return register


def _pdf(pages: list[list[str]]) -> bytes:
    import tempfile

    if str(SAMPLES) not in sys.path:
        sys.path.append(str(SAMPLES))
    from make_samples import write_pdf

    with tempfile.TemporaryDirectory() as tmp:
        write_pdf(Path(tmp) / "x.pdf", pages)
        return (Path(tmp) / "x.pdf").read_bytes()


def _png(width: int, height: int, body: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)   # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = compression
            z.writestr(info, data)
    return buffer.getvalue()


# --- PDFs -------------------------------------------------------------------------------------------------
@case("truncated.pdf", "failed", r"truncated.pdf: .*(damaged|truncated|could not be read|not a readable)")
def _truncated_pdf(p: Path) -> None:
    data = (SAMPLES / "paper.pdf").read_bytes()
    p.write_bytes(data[: len(data) // 3])


@case("encrypted.pdf", "failed", r"encrypted")
def _encrypted_pdf(p: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(SAMPLES / "paper.pdf"))
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="RC4-128")
    writer.write(p)


@case("fake.pdf", "failed", r"not a PDF")
def _fake_pdf(p: Path) -> None:
    p.write_text("Dear diary, this is not a PDF at all.\n")


@case("empty.pdf", "failed", r"empty")
def _empty_pdf(p: Path) -> None:
    p.write_bytes(b"")


@case("thousands_of_pages.pdf", "ok", "", "kelp forest census page 2999")
def _many_pages(p: Path) -> None:
    p.write_bytes(_pdf([[f"Kelp forest census page {i}: {i % 17} otters counted."] for i in range(1, 3001)]))


@case("garbage_xref.pdf", "failed", r"garbage_xref.pdf: ")
def _garbage_xref(p: Path) -> None:
    p.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj\nxref\n0 99999999\n"
                  b"trailer << /Root 1 0 R /Size 99999999 /Prev 9 >>\nstartxref\n9\n%%EOF\n")


# --- images -----------------------------------------------------------------------------------------------
@case("huge.png", "failed", r"(pixel|too large|decompression bomb)")
def _huge_png(p: Path) -> None:
    p.write_bytes(_png(30000, 30000, zlib.compress(b"\x00" * 30001 * 8)))


@case("truncated.png", "failed", r"truncated.png: ")
def _truncated_png(p: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("L", (800, 300), 255)
    ImageDraw.Draw(image).text((20, 20), "TOTAL 12.50", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    p.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


@case("truncated.jpg", "failed", r"truncated.jpg: ")
def _truncated_jpg(p: Path) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (400, 300), 255).save(buffer, "JPEG")
    p.write_bytes(buffer.getvalue()[:200])


@case("notanimage.jpg", "failed", r"notanimage.jpg: ")
def _fake_jpg(p: Path) -> None:
    p.write_text("<html>this came from a web page, not a camera</html>")


@case("blank.png", "failed", r"no text")
def _blank_png(p: Path) -> None:
    from PIL import Image

    Image.new("L", (600, 400), 255).save(p)


# --- archives ---------------------------------------------------------------------------------------------
@case("zipslip.zip", "warning", r"(\.\./|outside|escape|unsafe)", "lighthouse keeper logbook")
def _zip_slip(p: Path) -> None:
    p.write_bytes(_zip({"../../evil.txt": b"pwned", "/etc/evil2.txt": b"pwned",
                        "good/log.txt": b"The lighthouse keeper logbook lists 41 storms in 1911."}))


@case("zipbomb.zip", "failed", r"(bomb|too large|limit|ratio)")
def _zip_bomb(p: Path) -> None:
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open(zipfile.ZipInfo("zeros.txt", date_time=(2026, 1, 1, 0, 0, 0)), "w", force_zip64=True) as f:
            block = b"\x00" * (1 << 20)
            for _ in range(1024):          # 1 GiB of zeros, about 1 MB compressed
                f.write(block)


@case("nested.zip", "warning", r"(nest|depth)", "matryoshka inner doll text")
def _nested_zip(p: Path) -> None:
    inner = _zip({"deep.txt": b"too deep"})
    for _ in range(6):
        inner = _zip({"inner.zip": inner})
    p.write_bytes(_zip({"inner.zip": inner, "top.txt": b"The matryoshka inner doll text is at the top."}))


@case("notazip.zip", "failed", r"(not a readable zip|not a zip|zip archive)")
def _not_a_zip(p: Path) -> None:
    p.write_text("PK? no, just text pretending.")


@case("truncated.zip", "failed", r"truncated.zip: ")
def _truncated_zip(p: Path) -> None:
    data = _zip({f"f{i}.txt": os.urandom(2000) for i in range(5)}, zipfile.ZIP_STORED)
    p.write_bytes(data[: len(data) // 2])


# --- Slack and Notion -------------------------------------------------------------------------------------
def _slack(users: bytes, channels: bytes, days: dict[str, bytes]) -> bytes:
    return _zip({"users.json": users, "channels.json": channels, **days})


@case("slack_malformed.zip", "failed", r"users\.json")
def _slack_malformed(p: Path) -> None:
    p.write_bytes(_slack(b"{", b'[{"id": "C1", "name": "general"}]', {"general/2026-01-02.json": b"[]"}))


@case("slack_bad_day.zip", "warning", r"general/2026-01-03\.json", "tidal gauge replaced on Tuesday")
def _slack_bad_day(p: Path) -> None:
    users = b'[{"id": "U1", "name": "ana", "real_name": "Ana Lima"}]'
    good = b'[{"type": "message", "user": "U1", "text": "The tidal gauge replaced on Tuesday.", "ts": "1767312000.0"}]'
    p.write_bytes(_slack(users, b'[{"id": "C1", "name": "general"}]',
                         {"general/2026-01-02.json": good, "general/2026-01-03.json": b"\x00garbage{[",
                          "general/2026-01-04.json": b""}))


@case("slack_empty.zip", "failed", r"(no messages|empty|nothing)")
def _slack_empty(p: Path) -> None:
    p.write_bytes(_slack(b"[]", b"[]", {}))


@case("notion_odd_names.zip", "ok", "", "osprey nest platform repaired")
def _notion_odd(p: Path) -> None:
    hexid = "0123456789abcdef0123456789abcdef"
    p.write_bytes(_zip({
        f"Field Sites {hexid}.md": b"# Field Sites\n\nThe osprey nest platform repaired in May.\n",
        f"Field Sites {hexid}/\u00c9t\u00e9  \u2014 notes \U0001f426 {hexid[::-1]}.md": b"# Summer\n\nWarm.\n",
        f"Field Sites {hexid}/{'very long name ' * 12}{hexid}.md": b"# Long\n\nA long name.\n",
        f"Field Sites {hexid}/tab\tand\x07bell {hexid}.md": b"# Odd\n\nControl characters in the name.\n",
    }))


# --- audio and transcripts --------------------------------------------------------------------------------
@case("notaudio.mp3", "failed", r"notaudio.mp3: .*audio")
def _fake_mp3(p: Path) -> None:
    p.write_text("ID3? no. These are meeting minutes saved with the wrong extension.\n" * 20)


@case("silence.wav", "failed", r"(no speech|silence)")
def _silence(p: Path) -> None:
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 16000 * 5)


@case("malformed.srt", "warning", r"malformed.srt", "harbour seals hauled out")
def _malformed_srt(p: Path) -> None:
    p.write_text("1\n00:00:01,000 --> 00:00:04,000\nThe harbour seals hauled out at dawn.\n\n"
                 "two\n00:00:xx,000 --> banana\nbroken cue\n\n3\n00:00:09,000 --> 00:00:07,000\n")


@case("empty.vtt", "failed", r"empty.vtt: ")
def _empty_vtt(p: Path) -> None:
    p.write_text("WEBVTT\n\n")


# --- office and mail --------------------------------------------------------------------------------------
@case("random.docx", "failed", r"random.docx: ")
def _random_docx(p: Path) -> None:
    p.write_bytes(os.urandom(4096))


@case("truncated.pptx", "failed", r"truncated.pptx: ")
def _truncated_pptx(p: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    deck.slides.add_slide(deck.slide_layouts[1]).shapes.title.text = "Quarterly roadmap"
    buffer = io.BytesIO()
    deck.save(buffer)
    p.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


@case("garbage.eml", "failed", r"garbage.eml: ")
def _garbage_eml(p: Path) -> None:
    p.write_bytes(b"\x00\x01\x02" * 100)


# --- plain files and names --------------------------------------------------------------------------------
@case("empty.txt", "failed", r"empty")
def _empty_txt(p: Path) -> None:
    p.write_bytes(b"")


@case("binary.txt", "failed", r"binary.txt: .*(binary|not text)")
def _binary_txt(p: Path) -> None:
    p.write_bytes(bytes(range(256)) * 64)


@case("nested_divs.html", "ok", "", "abyssal anglerfish lantern")
def _nested_html(p: Path) -> None:
    p.write_text("<html><body>" + "<div>" * 100_000 + "The abyssal anglerfish lantern glows." +
                 "</div>" * 100_000 + "</body></html>")


@case("one_long_line.txt", "ok", "", "zooplankton bloom")
def _long_line(p: Path) -> None:
    p.write_text("zooplankton bloom " + "x" * 2_000_000)


@case("bell\x07and\nnewline.md", "ok", "", "barnacle settlement plates")
def _control_name(p: Path) -> None:
    p.write_text("# Plates\n\nBarnacle settlement plates were scraped weekly.\n")


@case("stuck_fifo.txt", "skipped", r"(not a regular file|special file|fifo)")
def _fifo(p: Path) -> None:
    os.mkfifo(p)


@case("folder_named.pdf/inner.md", "ok", "", "sea urchin barren")
def _folder_named_pdf(p: Path) -> None:
    p.write_text("# Urchins\n\nA sea urchin barren spread north of the reef.\n")


@case("dangling_link.md", "skipped", r"(broken|dangling|does not exist|missing)")
def _dangling(p: Path) -> None:
    p.symlink_to(p.parent / "no_such_target.md")


@case("escape_link.md", "skipped", r"outside the folder")
def _escape_link(p: Path) -> None:
    outside = p.parent.parent / "outside_secret.md"
    outside.write_text("# Secret\n\nThe outside secret must not be indexed.\n")
    p.symlink_to(outside)


@case("unreadable.md", "failed", r"unreadable.md: .*permission")
def _unreadable(p: Path) -> None:
    """Unreadable for anyone but root: tests/test_hostile.py runs the ingest as `nobody` when it is root."""
    p.write_text("# Locked\n\nlocked away\n")
    p.chmod(0)


@case("latin1_caf\udce9.md", "ok", "", "espresso machine descaled")
def _undecodable_name(p: Path) -> None:
    """A name that is not valid UTF-8 (bytes from an old Latin-1 file system)."""
    p.write_text("# Kitchen\n\nThe espresso machine descaled on Fridays.\n")


def write_all(folder: Path) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for c, write in CASES:
        path = folder / c.name
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        cases[c.name] = c
    return cases

"""Bytes to text for every text-based loader: a BOM's encoding, else UTF-8, else cp1252, else latin-1;
an unreadable, empty or binary file is a LoaderError naming it."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from rag.core.errors import LoaderError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): a BOM's encoding, else UTF-8, else cp1252, else latin-1; NULs removed."""
    encodings = [enc for bom, enc in _BOMS if data.startswith(bom)] or ["utf-8", "cp1252", "latin-1"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n"), encoding
    return data.decode("latin-1").replace("\x00", ""), "latin-1"


def read_bytes(path: Path, source: str) -> bytes:
    """The file's bytes; an unreadable or empty (whitespace-only) file is a LoaderError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(
            f"{source}: the file cannot be read ({exc.strerror}) — check that it exists "
            "and that you may read it"
        ) from exc
    if not data.replace(b"\x00", b"").strip():
        raise LoaderError(f"{source}: the file is empty — nothing to index")
    return data


def read_text(path: Path, source: str) -> tuple[str, str]:
    """(text, encoding) of a text file; an unreadable or empty file is a LoaderError."""
    data = read_bytes(path, source)
    text, encoding = decode_text(data)
    if not text.strip():
        raise LoaderError(f"{source}: the file is empty — nothing to index")
    if len(data) >= 256 and _binary_share(data[:65536], text[:65536]) > 0.1:
        raise LoaderError(f"{source}: this looks like a binary file, not text (many control bytes) — if it "
                          "is a document in another format, give it that format's suffix")
    return text, encoding


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _binary_share(head: bytes, text: str) -> float:
    """The share of control characters (or of NUL bytes, for text with no BOM) at the start of a file."""
    nuls = 0.0 if any(head.startswith(bom) for bom, _ in _BOMS) else head.count(0) / max(1, len(head))
    return max(nuls, len(_CONTROL.findall(text)) / max(1, len(text)))

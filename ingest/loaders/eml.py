"""E-mail messages (.eml), read with the standard library's email package (policy=default).

One Section: the From, To, Cc, Date and Subject headers as lines at the top, a blank line, then the
body: the text/plain part, else the text/html part as text (read by the HTML loader's parser).
Attachments are not opened; their file names are listed in meta["attachments"]. The locator is
{"date": "YYYY-MM-DD", "author": the sender's name, else address}; the title is the Subject, else the
file stem. What the parser found damaged (a cut-off multipart, a bad header) is in meta["warnings"].
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from ingest.loaders.decode import decode_text, read_bytes
from ingest.loaders.html import html_to_text
from ingest.loaders.spec import LoaderSpec
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

HEADERS = ("From", "To", "Cc", "Date", "Subject")


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, AttributeError):  # a header the parser cannot model
        value = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    return " ".join(str(value or "").split())


def _locator(message: EmailMessage) -> dict[str, Any]:
    locator: dict[str, Any] = {}
    date = getattr(message.get("Date"), "datetime", None) if "Date" in message else None
    if date is not None:
        locator["date"] = date.date().isoformat()
    addresses = getattr(message.get("From"), "addresses", ()) if "From" in message else ()
    if addresses:
        locator["author"] = addresses[0].display_name or addresses[0].addr_spec
    elif _header(message, "From"):
        locator["author"] = _header(message, "From")
    return locator


def _content(part: EmailMessage) -> str:
    """A text part's content as str; an unknown charset is read as UTF-8/cp1252 instead."""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = decode_text(payload)[0] if isinstance(payload, bytes) else str(payload or "")
    return content if isinstance(content, str) else ""


def body_text(message: EmailMessage) -> str:
    """The message's plain text body, else its HTML body as text, else ""."""
    part = message.get_body(preferencelist=("plain", "html"))
    if not isinstance(part, EmailMessage):
        return ""
    text = _content(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def _defects(message: EmailMessage) -> list[str]:
    names = sorted({type(defect).__name__.removesuffix("Defect") for part in message.walk()
                    for defect in part.defects})
    if not names:
        return []
    return [f"the message is damaged or cut short ({', '.join(names)}); what could be read was kept"]


def load_eml(path: Path, source: str, doc_id: str) -> Document:
    """An e-mail as one Section: its headers, then its text body."""
    message = BytesParser(policy=policy.default).parsebytes(read_bytes(path, source))
    assert isinstance(message, EmailMessage)  # policy.default makes EmailMessage objects
    headers = {name: _header(message, name) for name in HEADERS}
    if not any(headers[name] for name in ("From", "To", "Subject", "Date")):
        raise LoaderError(
            f"{source}: not an e-mail message (no From, To, Subject or Date header) — save the message from "
            "your mail program as .eml (the raw message with its headers)"
        )
    warnings = _defects(message)
    body = body_text(message)
    if not body:
        warnings.append("the message has no text body; only its headers were indexed")
    head = "\n".join(f"{name}: {value}" for name, value in headers.items() if value)
    attachments = [part.get_filename() or part.get_content_type() for part in message.iter_attachments()]
    return Document(
        doc_id=doc_id,
        source=source,
        kind="email",
        title=headers["Subject"] or path.stem,
        sections=(Section(f"{head}\n\n{body}".strip(), _locator(message)),),
        meta={"attachments": attachments, "warnings": warnings},
    )


LOADERS: dict[str, LoaderSpec] = {".eml": LoaderSpec("email", "email", load_eml)}

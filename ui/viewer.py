"""The source viewer: what a citation points at, shown the way its kind is read.

A PDF page is rendered with the quoted passage highlighted; an image is shown; a recording plays from
the cited time; a Slack thread and a Notion page show their text; anything else shows the section
text with the quote marked.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

import streamlit as st

from rag.chat.conversations import SourceRef, memory_date
from rag.core.types import render_locator
from rag.index import Index
from rag.store.records import DocRecord
from ui.sanitize import html_text, md_text

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"})
AUDIO_SUFFIXES = frozenset({".mp3", ".wav", ".m4a", ".ogg", ".flac", ".aac", ".opus", ".webm"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi"})


def source_kind(kind: str, path: Path, locator: dict[str, object]) -> str:
    """pdf | image | audio | video | slack | notion | text: which viewer shows this source."""
    suffix = path.suffix.lower()
    if "channel" in locator or kind == "slack":
        return "slack"
    if "notion_path" in locator or kind == "notion":
        return "notion"
    if "member" in locator:           # inside an archive: only its text is at hand
        return "text"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if kind == "audio" or suffix in AUDIO_SUFFIXES:   # a .vtt/.srt has times too, but no sound: text
        return "audio"
    if suffix in IMAGE_SUFFIXES or kind == "image":
        return "image"
    if suffix == ".pdf" and "page" in locator:
        return "pdf"
    return "text"


def quote_range(section: str, ref: SourceRef) -> tuple[int, int] | None:
    """Where the quote sits in the section text: the stored offsets, or else wherever the quote occurs."""
    if 0 <= ref.start < ref.end <= len(section) and section[ref.start:ref.end] == ref.quote:
        return ref.start, ref.end
    at = section.find(ref.quote.strip())
    return (at, at + len(ref.quote.strip())) if at >= 0 and ref.quote.strip() else None


def marked_html(section: str, span: tuple[int, int] | None) -> str:
    """The section as inert HTML (ui/sanitize.py: no tag, image or link of the document survives) with
    the quoted span in <mark>, keeping line breaks."""
    if span is None:
        body = html_text(section)
    else:
        a, b = span
        body = html_text(section[:a]) + "<mark>" + html_text(section[a:b]) + "</mark>" + html_text(section[b:])
    return f'<div class="rag-source" style="white-space: pre-wrap; line-height: 1.5">{body}</div>'


def find_record(index: Index, ref: SourceRef) -> DocRecord | None:
    docs = [d for d in index.documents() if d.source == ref.source]
    return next((d for d in docs if d.doc_id == ref.doc_id), docs[0] if docs else None)


def show_source(index: Index, ref: SourceRef) -> None:
    """The viewer for one citation."""
    st.markdown(f"#### [{ref.number}] {md_text(ref.label())}")
    record = find_record(index, ref)
    if record is None:
        st.warning(md_text(f"{ref.source} is no longer in the index — the quote was: “{ref.quote}”"))
        return
    path = Path(record.root, record.source)
    section = index.store.section_text(record.doc_id, ref.section)
    span = quote_range(section, ref)
    kind = source_kind(record.kind, path, ref.locator)
    caption = f"{record.title or record.source} · {render_locator(ref.locator) or 'whole document'} · {path}"
    if memory_date(ref.source):
        caption = f"Remembered from our conversation on {memory_date(ref.source)} · {path}"
    st.caption(md_text(caption))
    if kind in ("pdf", "image", "audio", "video") and not path.is_file():
        st.warning(md_text(f"{path} is gone from disk, so only its indexed text can be shown — re-ingest it to "
                           "see it again"))
        kind = "text"
    VIEWERS[kind](path, ref, section, span)


def show_pdf(path: Path, ref: SourceRef, section: str, span: tuple[int, int] | None) -> None:
    from ui.pdfpage import focus, highlighted_page

    page = int(str(ref.locator["page"]))
    shown = highlighted_page(path, page, ref.quote)
    if shown.boxes:
        st.image(focus(shown), caption=f"page {page} of {shown.page_count}: the quoted passage", width="stretch")
        with st.expander("The whole page"):
            st.image(shown.image, width="stretch")
        return
    st.image(shown.image, caption=f"page {page} of {shown.page_count}", width="stretch")
    st.info("The quoted passage could not be located on the rendered page; it reads:")
    st.markdown(marked_html(ref.quote, None), unsafe_allow_html=True)


def show_image(path: Path, ref: SourceRef, section: str, span: tuple[int, int] | None) -> None:
    st.image(str(path), width="stretch")
    with st.expander("Text read from the image", expanded=True):
        st.markdown(marked_html(section, span), unsafe_allow_html=True)


def _start(ref: SourceRef) -> int:
    try:
        return int(float(str(ref.locator.get("start", 0))))
    except ValueError:
        return 0


def show_audio(path: Path, ref: SourceRef, section: str, span: tuple[int, int] | None) -> None:
    mime = mimetypes.guess_type(path.name)[0] or "audio/wav"
    st.audio(str(path), format=mime, start_time=_start(ref))
    st.caption(f"plays from {render_locator({'start': _start(ref)})}")
    st.markdown(marked_html(section, span), unsafe_allow_html=True)


def show_video(path: Path, ref: SourceRef, section: str, span: tuple[int, int] | None) -> None:
    st.video(str(path), start_time=_start(ref))
    st.markdown(marked_html(section, span), unsafe_allow_html=True)


_SPEAKER = re.compile(r"^(\[[^\]]{1,40}\]\s*)?([^:\n]{1,40}):\s")


def slack_html(section: str, span: tuple[int, int] | None) -> str:
    """A Slack thread: one message per line, the author in bold, the quoted part marked."""
    rows = []
    offset = 0
    for line in section.split("\n"):
        a, b = offset, offset + len(line)
        offset = b + 1
        marked = span is not None and a < span[1] and span[0] < b
        body = html_text(line)
        match = _SPEAKER.match(line)
        if match:
            body = f"<b>{html_text(line[: match.end()])}</b>{html_text(line[match.end():])}"
        style = "background: #fff3c4;" if marked else ""
        rows.append(f'<div style="padding: 4px 8px; border-left: 3px solid #ddd; {style}">{body or "&nbsp;"}</div>')
    return "".join(rows)


def show_slack(path: Path, ref: SourceRef, section: str, span: tuple[int, int] | None) -> None:
    st.markdown(slack_html(section, span), unsafe_allow_html=True)


def show_notion(path: Path, ref: SourceRef, section: str, span: tuple[int, int] | None) -> None:
    """A Notion page as its text (its Markdown is not rendered: an image in it would load by itself)."""
    with st.container(border=True):
        st.markdown(marked_html(section, span), unsafe_allow_html=True)


def show_text(path: Path, ref: SourceRef, section: str, span: tuple[int, int] | None) -> None:
    with st.container(border=True):
        st.markdown(marked_html(section or ref.quote, span if section else None), unsafe_allow_html=True)


VIEWERS = {"pdf": show_pdf, "image": show_image, "audio": show_audio, "video": show_video, "slack": show_slack,
           "notion": show_notion, "text": show_text}

"""The library page: drop files to add them, see every indexed document, remove one, re-ingest a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from rag.core.types import render_locator
from rag.launch import MAX_UPLOAD_MB
from rag.store.records import DocRecord
from ui.messages import shown_errors
from ui.sanitize import md_text
from ui.session import AppContext
from ui.upload import UPLOADS_DIR, FileStatus, remove_document, save_and_ingest, supported_suffixes

STATUS_ICONS = {"added": ":green[:material/check_circle:]", "updated": ":green[:material/sync:]",
                "unchanged": ":gray[:material/check:]", "failed": ":red[:material/error:]",
                "rejected": ":red[:material/block:]"}


def extent(meta: dict[str, Any]) -> str:
    """"3 pages", "00:04:10" (a recording) or ""."""
    if meta.get("duration"):
        return render_locator({"start": float(meta["duration"])})
    pages = meta.get("pages") or meta.get("page_count")
    return f"{pages} page{'s' if pages != 1 else ''}" if pages else ""


def document_rows(docs: list[DocRecord]) -> list[dict[str, Any]]:
    return [{"document": d.source, "title": d.title, "kind": d.kind or "—", "pages / duration": extent(d.meta),
             "OCR pages": int(d.meta.get("ocr_pages", 0) or 0), "chunks": d.chunks,
             "status": d.status if not d.error else f"{d.status} — last update failed: {d.error}",
             "folder": d.root} for d in docs]


def status_line(s: FileStatus) -> str:
    extra = [f"{s.chunks} chunks"] if s.ok and s.chunks else []
    if s.ocr_pages:
        extra.append(f"{s.ocr_pages} page{'s' if s.ocr_pages != 1 else ''} read by OCR")
    detail = f": {md_text(s.detail)}" if s.detail else (f" ({', '.join(extra)})" if extra else "")
    saved = f" → uploads/{md_text(s.saved_as)}" if s.saved_as and s.saved_as != s.name else ""
    return f"{STATUS_ICONS.get(s.status, '')} **{md_text(s.name)}**{saved} — {s.status}{detail}"


def render_upload(ctx: AppContext) -> None:
    st.subheader("Add files")
    suffixes = supported_suffixes()
    generation = st.session_state.setdefault("upload-generation", 0)
    files = st.file_uploader(f"Drop files here ({' '.join(suffixes)}; up to {MAX_UPLOAD_MB} MB each)",
                             accept_multiple_files=True, key=f"upload-{generation}",
                             max_upload_size=MAX_UPLOAD_MB)
    if files:
        bar = st.progress(0.0, text=f"Ingesting {len(files)} file(s)…")

        def progress(done: int, name: str) -> None:
            bar.progress(done / len(files), text=f"{done} of {len(files)} done (last: {name})")

        with shown_errors(), ctx.lock:
            results = save_and_ingest(ctx.index, [(f.name, f.getvalue()) for f in files], progress)
            st.session_state["upload-results"] = results
        st.session_state["upload-generation"] = generation + 1   # a fresh, empty uploader
        st.rerun()
    for status in st.session_state.get("upload-results", []):
        st.markdown(status_line(status))


def render_documents(ctx: AppContext) -> None:
    docs = ctx.index.documents()
    st.subheader(f"Library — {len(docs)} document{'s' if len(docs) != 1 else ''}")
    if not docs:
        st.info("The index is empty: drop files above, or re-ingest a folder below.")
    else:
        st.dataframe(document_rows(docs), hide_index=True, width="stretch")
        labels = {f"{d.source}  ({d.root})": d for d in docs}
        choice = st.selectbox("Remove a document from the index", list(labels), index=None,
                              placeholder="choose a document", key="remove-choice")
        if st.button("Remove", key="remove", disabled=choice is None) and choice is not None:
            doc = labels[choice]
            with shown_errors(), ctx.lock:
                remove_document(ctx.index, doc.root, doc.source)
                st.session_state["library-note"] = f"Removed {doc.source}."
                st.rerun()
    note = st.session_state.pop("library-note", None)
    if note:
        st.success(md_text(note))
    for error in st.session_state.pop("library-errors", []):
        st.error(md_text(error))
    render_reingest(ctx, docs)


def known_roots(ctx: AppContext, docs: list[DocRecord]) -> list[str]:
    """The folders the app may re-ingest: those already in the index, and its own uploads folder. Any
    other path is refused, so the app (perhaps served to a network) cannot be made to read the machine. On a
    database index, only those on this machine: the others were ingested by other machines."""
    roots = {d.root for d in docs if ctx.index.local or Path(d.root).is_dir()}
    return sorted(roots | {str((ctx.folder / UPLOADS_DIR).resolve())})


def render_reingest(ctx: AppContext, docs: list[DocRecord]) -> None:
    st.subheader("Re-ingest a folder")
    st.caption("New and changed files are added, deleted files leave the index; unchanged files cost nothing. "
               "Only folders already in the index are offered: add a new folder with `rag ingest FOLDER`.")
    roots = known_roots(ctx, docs)
    folder = st.selectbox("Folder", roots, key="reingest-folder")
    if st.button("Re-ingest", key="reingest") and folder:
        if folder not in known_roots(ctx, ctx.index.documents()):
            st.error(md_text(f"{folder} is not a folder of this index — add it with `rag ingest {folder}`"))
            return
        with shown_errors(), st.spinner(md_text(f"Ingesting {folder}…")), ctx.lock:
            summary = ctx.index.ingest(Path(folder))
            st.session_state["library-note"] = (
                f"{folder}: added {summary.added}, changed {summary.changed}, removed {summary.removed}, "
                f"unchanged {summary.unchanged}, failed {len(summary.failed)}, skipped {len(summary.skipped)}")
            st.session_state["library-errors"] = [f.error for f in summary.failed]
            st.rerun()


def render_library(ctx: AppContext) -> None:
    render_upload(ctx)
    st.divider()
    render_documents(ctx)

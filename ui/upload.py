"""Uploads for the app: the checks (type and size), safe names and the one-file-at-a-time ingest live in
rag/uploads/files.py, shared with `rag serve`'s POST /v1/documents, so both faces accept the same files.

`save_and_ingest` is what the upload widget calls; tests call it directly (AppTest cannot drive a
file uploader).
"""

from __future__ import annotations

from rag.uploads.files import (
    MAX_NAME,
    MAX_UPLOAD_MB,
    UPLOADS_DIR,
    FileStatus,
    check_upload,
    remove_document,
    safe_name,
    save_and_ingest,
    save_upload,
    status_of,
    stored_path,
    supported_suffixes,
)

__all__ = ["MAX_NAME", "MAX_UPLOAD_MB", "UPLOADS_DIR", "FileStatus", "check_upload", "remove_document",
           "safe_name", "save_and_ingest", "save_upload", "status_of", "stored_path", "supported_suffixes"]

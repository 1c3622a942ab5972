"""Uploaded files (the app's upload widget, `rag serve`'s POST /v1/documents): checked, saved, ingested."""

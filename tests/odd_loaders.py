"""Loaders that misbehave on purpose, registered through the real registry by tests/test_isolation.py.

They live in a module (not in the test file) so that the worker process can import them by name.
"""

from __future__ import annotations

import ctypes
import time
from pathlib import Path

from rag.core.types import Document, Section


def sleeps(path: Path, source: str, doc_id: str) -> Document:
    time.sleep(600)
    raise AssertionError("unreachable")


def eats_memory(path: Path, source: str, doc_id: str) -> Document:
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))  # 64 MiB at a time, touched so that it is resident
        hoard[-1][::4096] = b"x" * len(hoard[-1][::4096])


def segfaults(path: Path, source: str, doc_id: str) -> Document:
    ctypes.string_at(0)
    raise AssertionError("unreachable")


def raises(path: Path, source: str, doc_id: str) -> Document:
    raise ValueError("the parser gave up at byte 17")


def prints_then_loads(path: Path, source: str, doc_id: str) -> Document:
    print("chatty library output on stdout\x00\xff", flush=True)
    text = path.read_text(encoding="utf-8")
    return Document(doc_id, source, "text", path.stem, (Section(text, {"line": 1}),), {"ocr_pages": 2})

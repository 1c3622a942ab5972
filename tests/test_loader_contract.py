"""One contract test over every registered loader, each fed a real sample of its own format.

Samples come from sample_docs/ (the project makes them itself); a suffix without its own sample gets
the sample converted into that format (ffmpeg for audio and video containers, Pillow for images), so
every loader reads a real file of its kind. The loaders run the way ingest runs them: in the worker
process, with the Document coming back as JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLES

from ingest.isolation import LoaderLimits, LoaderWorker, LoadJob
from ingest.registry import default_registry
from rag.core.types import Document, render_locator

SAMPLE_FOR = {
    ".pdf": "paper.pdf", ".txt": "meeting.txt", ".md": "notes.md", ".markdown": "notes.md",
    ".html": "guide.html", ".htm": "guide.html", ".vtt": "talk.vtt", ".srt": "standup.srt",
    ".docx": "budget.docx", ".pptx": "roadmap.pptx", ".eml": "invoice_email.eml", ".zip": "bundle.zip",
    ".wav": "talk.wav", ".png": "receipt.png", ".jsonl": "records.jsonl",
}
CONVERTED_FROM = {**{s: "talk.wav" for s in (".mp3", ".m4a", ".flac", ".ogg", ".opus", ".mp4", ".mkv", ".webm",
                                             ".mov")},
                  **{s: "receipt.png" for s in (".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif")},
                  ".ndjson": "records.jsonl"}
FOLDER_FROM = {"slack/": "slack_export.zip", "notion/": "notion_export.zip", "twitter/": "twitter_archive.zip"}
SLOW_KINDS = {"audio", "video"}
KEYS = sorted(default_registry())


def _params() -> list[object]:
    registry = default_registry()
    return [pytest.param(k, marks=pytest.mark.slow) if registry[k].kind in SLOW_KINDS else k for k in KEYS]


def _convert(original: Path, target: Path) -> None:
    if original.suffix == ".wav":
        extra = ["-vn"] if target.suffix in (".mp3", ".m4a", ".flac", ".ogg", ".opus") else \
            ["-f", "lavfi", "-i", "color=c=black:s=64x64:r=5", "-shortest"]
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(original), *extra, str(target)], check=True)
    elif original.suffix == ".png":
        from PIL import Image

        with Image.open(original) as image:
            image.convert("RGB").save(target)
    else:
        shutil.copyfile(original, target)


def _sample(key: str, tmp: Path) -> Path:
    if key in FOLDER_FROM:
        folder = tmp / "export"
        with zipfile.ZipFile(SAMPLES / FOLDER_FROM[key]) as z:
            z.extractall(folder)
        for inner in folder.glob("*.zip"):      # Notion wraps big exports in parts: unzip them in place
            with zipfile.ZipFile(inner) as z:
                z.extractall(folder)
            inner.unlink()
        return folder
    if key in SAMPLE_FOR:
        return SAMPLES / SAMPLE_FOR[key]
    target = tmp / f"sample{key}"
    _convert(SAMPLES / CONVERTED_FROM[key], target)
    return target


@pytest.fixture(scope="module")
def worker() -> Iterator[LoaderWorker]:
    with LoaderWorker(LoaderLimits(fixed_seconds=300)) as w:
        yield w


def test_every_registered_loader_has_a_sample() -> None:
    missing = [k for k in KEYS if k not in SAMPLE_FOR and k not in CONVERTED_FROM and k not in FOLDER_FROM]
    assert not missing, f"add a sample for {missing} to sample_docs/ and to this test"


@pytest.mark.parametrize("key", _params())
def test_every_loader_keeps_the_contract(key: str, tmp_path: Path, worker: LoaderWorker) -> None:
    spec = default_registry()[key]
    path = _sample(key, tmp_path)
    worker.submit(LoadJob(spec, path, f"sub/dir/x{key.rstrip('/')}", "the-doc-id", path.stat().st_size))
    doc = worker.result()
    assert isinstance(doc, Document)
    assert (doc.doc_id, doc.source, doc.kind) == ("the-doc-id", f"sub/dir/x{key.rstrip('/')}", spec.kind) or \
        spec.name == "archive"   # a zip says what it held: "slack", "notion" or "archive"
    assert doc.title.strip() and "\n" not in doc.title
    assert isinstance(doc.sections, tuple) and doc.sections
    for section in doc.sections:
        assert section.text.strip(), f"empty section {section.locator}"
        assert isinstance(section.locator, dict)
        render_locator(section.locator)
    json.dumps([s.locator for s in doc.sections])  # the store keeps locators and meta as JSON
    json.dumps(doc.meta)
    assert isinstance(doc.meta.get("warnings", []), list)
    assert isinstance(doc.meta.get("ocr_pages", 0), int)


@pytest.mark.parametrize("key", [k for k in KEYS if default_registry()[k].load.__module__.startswith("ingest.")])
def test_loaders_run_in_the_worker_by_name(key: str) -> None:
    from ingest.worker import loader_name

    assert loader_name(default_registry()[key].load) is not None, "a built-in loader must be importable by name"

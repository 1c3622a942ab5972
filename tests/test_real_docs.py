"""All of ../shared/data/real_docs/ ingested with the bundled model, then questions about every kind of
source: the right file and place must come back in the top 5."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ingest.pipeline import IngestSummary
from rag import Index
from rag.core.types import Hit

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


@pytest.fixture(scope="module")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Index, IngestSummary]]:
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"real-world data folder {SHARED_DATA} is absent")
    with Index.open(tmp_path_factory.mktemp("real") / "idx") as idx:
        summary = idx.ingest(SHARED_DATA / "real_docs")
        yield idx, summary


def test_everything_goes_in(real_index: tuple[Index, IngestSummary]) -> None:
    _, summary = real_index
    assert not summary.failed, summary.failed
    assert summary.added >= 13
    assert summary.ocr_pages >= 6     # 2 scanned PDF pages + 4 images


def _matches(hit: Hit, source: str, locator: dict[str, Any]) -> bool:
    loc = hit.chunk.locator
    return source in hit.source and all(
        (str(loc.get(k, "")).startswith(v) if isinstance(v, str) else loc.get(k) == v) for k, v in locator.items())


QUESTIONS = [
    ("How much did the avocado coffee cost on the receipt?", "cord_test_receipt_00004.png", {}),
    ("What was the total on the receipt, and how much change was given?", "cord_test_receipt_00004.png", {}),
    ("the quick brown dog jumped over the lazy fox in 12 point text", "tesseract_phototest", {}),
    ("Der schnelle braune Fuchs springt über den faulen Hund", "tesseract_eurotext", {}),
    ("What did the speaker ask his fellow Americans to do for their country?", "jfk.flac", {"start": 0.0}),
    ("Who committed the executor with simulated annealing rough draft?", "slack-export-viewer_testarchive.zip",
     {"channel": "enrique", "date": "2016-02-07"}),
    ("What is the status of the Mobile App Launch project and who is assigned?", "notion_export_sample.zip",
     {"notion_path": "Projects"}),
    ("Which tasks of the API Integration project are done?", "notion_export_sample.zip",
     {"notion_path": "Projects/API Integration"}),
    ("Who wrote The Name of the Wind and when was it read?", "notion_export_sample.zip",
     {"notion_path": "Book Library"}),
]


@pytest.mark.parametrize("question,source,locator", QUESTIONS, ids=[q[0][:40] for q in QUESTIONS])
def test_the_right_place_comes_back(question: str, source: str, locator: dict[str, Any],
                                    real_index: tuple[Index, IngestSummary]) -> None:
    idx, _ = real_index
    hits = idx.search(question, k=5)
    assert any(_matches(h, source, locator) for h in hits), [(h.source, h.chunk.locator) for h in hits]


def test_files_are_found_by_their_relative_paths(real_index: tuple[Index, IngestSummary]) -> None:
    idx, _ = real_index
    sources = {d.source for d in idx.documents()}
    assert {"audio/jfk.flac", "images/cord_test_receipt_00004.png", "pdfs/tesseract_phototest_scanned.pdf",
            "slack/slack-export-viewer_testarchive.zip", "notion/notion_export_sample.zip"} <= sources

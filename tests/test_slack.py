"""Slack exports: the sample export (zip and unzipped folder), broken day files, the real test archive."""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from conftest import SAMPLES, sample_script
from test_archive import zip_of

from ingest.loaders.slack import load_slack
from ingest.registry import default_registry
from ingest.scan import scan_folder
from rag import Index
from rag.core.errors import LoaderError
from rag.core.types import Document, render_locator


def load_zip(path: Path) -> Document:
    return default_registry()[".zip"].load(path, path.name, "doc-1")


@pytest.fixture(scope="module")
def sample() -> Document:
    return load_zip(SAMPLES / "slack_export.zip")


def section_with(doc: Document, words: str) -> dict:
    found = [s for s in doc.sections if words in s.text]
    assert len(found) == 1, f"{words!r} is in {len(found)} sections"
    return {"text": found[0].text, "locator": found[0].locator}


def test_sample_is_one_document_of_conversations(sample: Document) -> None:
    assert (sample.kind, sample.title) == ("slack", "Slack export (#general, #launch)")
    assert sample.meta == {"channels": 2, "users": 4, "messages": 10, "threads": 1, "warnings": []}
    launch = section_with(sample, "the launch moves to March 3")
    ts = sample_script("make_exports").ts(10, 9, 0)
    assert launch["locator"] == {"channel": "general", "date": "2026-02-10", "ts": ts,
                                 "author": "Ana Lima", "title": "#general"}
    assert render_locator(launch["locator"]) == "#general, 2026-02-10, Ana Lima"
    assert launch["text"].startswith("Ana Lima: Heads-up: the launch moves to March 3 & the sensor")


def test_names_mentions_and_links_are_readable(sample: Document) -> None:
    text = "\n".join(s.text for s in sample.sections)
    assert not re.search(r"<[@#!]|U0\dANA|U02BEN|C02LAUNCH|&amp;|https://example.com/press", text)
    assert "Ben Sato: Thanks @Ana Lima! I'll tell the field crew in #launch." in text
    assert "Reminder @here: the press embargo lifts at 09:00 CET on launch day. See the press kit." in text
    guest = section_with(sample, "guided tours resume on March 5")  # a name only its user_profile gives
    assert guest["locator"]["author"] == "Dana Reyes" and guest["text"].startswith("Dana Reyes: ")


def test_housekeeping_is_dropped(sample: Document) -> None:
    text = "\n".join(s.text for s in sample.sections)
    assert "has joined the channel" not in text and "set the channel" not in text


def test_a_thread_is_one_section_across_day_files(sample: Document) -> None:
    thread = section_with(sample, "Which beta sites go first?")
    assert thread["text"].split("\n") == [
        "Ben Sato: Which beta sites go first?",
        "Ana Lima: Saltmarsh and Eelgrass Point first; the other four sites follow a week later.",
        "Ben Sato: Agreed with @Ana Lima: Saltmarsh and Eelgrass Point go first.",  # from the next day's file
    ]
    assert thread["locator"]["date"] == "2026-02-10" and thread["locator"]["ts"] == sample_script("make_exports").THREAD


def test_bots_are_kept_and_labelled(sample: Document) -> None:
    build = section_with(sample, "Build 412 passed all 86 checks")
    assert build["text"] == "[bot] Launchbot: Nightly firmware build\nBuild 412 passed all 86 checks. Open build 412"
    assert build["locator"]["author"] == "[bot] Launchbot"
    assert section_with(sample, "Countdown")["text"] == "[bot] Launchbot: Countdown: 20 days to launch."


def test_folder_loads_like_the_zip(sample: Document, tmp_path: Path) -> None:
    zipfile.ZipFile(SAMPLES / "slack_export.zip").extractall(tmp_path / "export")
    doc = load_slack(tmp_path / "export", "export", "doc-1")
    assert doc.sections == sample.sections and doc.kind == "slack"


def test_export_folder_is_one_entry_and_reingest_changes_nothing(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    zipfile.ZipFile(SAMPLES / "slack_export.zip").extractall(docs / "work" / "slack")
    (docs / "readme.txt").write_text("The station log is kept in the office.", encoding="utf-8")
    entries, skipped = scan_folder(docs, default_registry())
    assert sorted((e.source, e.loader) for e in entries) == [("readme.txt", "text"), ("work/slack", "slack")]
    assert skipped == [] and entries[1].size == sum(p.stat().st_size for p in (docs / "work/slack").rglob("*.json"))
    idx = Index.open(tmp_path / "idx", embedder="hashing-128")
    first = idx.ingest(docs)
    assert (first.added, first.failed, first.skipped) == (2, (), ())
    assert {d.source for d in idx.documents()} == {"readme.txt", "work/slack"}
    again = idx.ingest(docs)
    assert (again.added, again.changed, again.unchanged, again.embedded_chunks) == (0, 0, 2, 0)
    day = docs / "work/slack/general/2026-02-11.json"
    day.write_text(day.read_text(encoding="utf-8").replace("15:00", "16:00"), encoding="utf-8")
    changed = idx.ingest(docs)
    assert (changed.changed, changed.unchanged) == (1, 1)
    assert any("16:00 on Fridays" in h.chunk.text for h in idx.search("when does the harbour cafe close", k=5))


def _export(tmp_path: Path, users: bytes, days: dict[str, bytes]) -> Path:
    channels = json.dumps([{"id": "C1", "name": "general"}]).encode()
    return zip_of(tmp_path / "slack.zip", [("users.json", users), ("channels.json", channels), *days.items()])


def test_broken_files_are_skipped_with_warnings(tmp_path: Path) -> None:
    good = [{"type": "message", "user": "U1", "ts": "1767261600.000100", "text": "Ping <@U2> about the buoy"}]
    path = _export(tmp_path, b"{", {
        "general/2026-01-01.json": json.dumps(good).encode(),
        "general/2026-01-02.json": b"[]",
        "general/2026-01-03.json": b"garbage",
        "general/2026-01-04.json": b"",
        "general/2026-01-05.json": b'{"not": "a list"}',
    })
    doc = load_zip(path)
    assert [s.text for s in doc.sections] == ["U1: Ping @U2 about the buoy"]  # no names: users.json is broken
    warnings = doc.meta["warnings"]
    assert warnings[0].startswith("users.json: not valid JSON (") and "user ids are shown" in warnings[0]
    assert "general/2026-01-02.json: holds no messages — skipped" in warnings
    assert any(w.startswith("general/2026-01-03.json: not valid JSON (") for w in warnings)
    assert "general/2026-01-04.json: the file is empty — skipped" in warnings
    assert "general/2026-01-05.json: not a list of messages — skipped" in warnings


def test_export_without_messages_is_an_error(tmp_path: Path) -> None:
    path = _export(tmp_path, b"[]", {"general/2026-01-01.json": b"garbage"})
    with pytest.raises(LoaderError, match=r"^slack\.zip: the Slack export holds no messages "
                                          r"\(general/2026-01-01\.json: not valid JSON .*\) — export the workspace"):
        load_zip(path)


def test_without_users_json_it_is_an_archive_of_documents(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "misc.zip", [("channels.json", b"[]"), ("notes.txt", b"Buoy 7 was repainted.")])
    doc = load_zip(path)
    assert doc.kind == "archive" and [s.locator["member"] for s in doc.sections] == ["notes.txt"]


def test_private_channels_and_direct_messages(tmp_path: Path) -> None:
    users = [{"id": "U1", "name": "ana", "real_name": "Ana Lima"}, {"id": "U2", "name": "ben", "profile": {}}]
    message = [{"type": "message", "user": "U1", "ts": "1767261600.000100", "text": "See you at the pier."}]
    path = zip_of(tmp_path / "dm.zip", [
        ("users.json", json.dumps(users).encode()),
        ("groups.json", json.dumps([{"id": "G1", "name": "boat-crew"}]).encode()),
        ("dms.json", json.dumps([{"id": "D1", "members": ["U1", "U2"]}]).encode()),
        ("boat-crew/2026-01-01.json", json.dumps(message).encode()),
        ("D1/2026-01-01.json", json.dumps(message).encode()),
    ])
    doc = load_zip(path)
    assert [s.locator["channel"] for s in doc.sections] == ["DM Ana Lima, ben", "boat-crew"]


def test_ingesting_the_export_folder_itself(tmp_path: Path) -> None:
    zipfile.ZipFile(SAMPLES / "slack_export.zip").extractall(tmp_path / "slack")
    entries, skipped = scan_folder(tmp_path / "slack", default_registry())
    assert [(e.source, e.loader, e.path) for e in entries] == [("slack", "slack", tmp_path / "slack")]
    summary = Index.open(tmp_path / "idx", embedder="hashing-128").ingest(tmp_path / "slack")
    assert (summary.added, summary.failed) == (1, ())


@pytest.mark.realdata
def test_real_export(shared_data: Path) -> None:
    path = shared_data / "real_docs" / "slack" / "slack-export-viewer_testarchive.zip"
    started = time.perf_counter()
    doc = load_zip(path)
    seconds = time.perf_counter() - started
    text = "\n".join(s.text for s in doc.sections)
    assert doc.kind == "slack" and seconds < 5
    assert "<@U" not in text and "has joined the channel" not in text
    assert {s.locator["channel"] for s in doc.sections} == {"enrique", "traveling-sailor"}
    authors = {s.locator["author"] for s in doc.sections}
    assert {"Hamza Faran", "Hermione Granger", "Harry Potter", "[bot] github"} <= authors
    assert doc.meta["users"] == 4 and doc.meta["channels"] == 2 and doc.meta["warnings"] == []
    assert "Hamza Faran: @Harry Potter: Created an issue for a setup.py" in text
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", s.locator["date"]) for s in doc.sections)

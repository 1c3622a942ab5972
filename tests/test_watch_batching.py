"""rag watch's pure parts: when a batch is due (a fake clock), which paths are noise, and the line per change."""

from __future__ import annotations

from rag.store.records import DocRecord
from rag.watch.debounce import Debouncer, is_noise
from rag.watch.report import change_lines


def test_a_burst_of_1000_new_files_is_one_batch_once_the_folder_is_quiet() -> None:
    batches = Debouncer(quiet=1.0, longest=30.0)
    now = 100.0
    for i in range(1000):              # 1,000 files written within 2 s: never quiet for 1 s meanwhile
        batches.add(f"inbox/f{i:04}.txt", now)
        now += 0.002
        assert not batches.due(now)
    assert not batches.due(now + 0.9)
    assert batches.due(now + 1.0)
    taken = batches.take()
    assert len(taken) == 1000 and not batches.due(now + 5) and not batches.pending


def test_the_same_file_written_in_chunks_is_one_change() -> None:
    batches = Debouncer(quiet=1.0)
    for t in (0.0, 0.4, 0.8, 1.2, 1.6):   # a download appending every 0.4 s
        batches.add("big.pdf", t)
        assert not batches.due(t + 0.5)
    assert batches.due(2.6) and batches.take() == {"big.pdf"}


def test_a_folder_that_never_goes_quiet_is_still_read_in_batches() -> None:
    batches = Debouncer(quiet=1.0, longest=10.0)
    sizes, now, i = [], 0.0, 0
    while now < 35.0:                   # a change every 0.5 s for 35 s
        batches.add(f"log{i}.txt", now)
        i += 1
        now += 0.5
        if batches.due(now):
            sizes.append(len(batches.take()))
    assert sizes == [20, 20, 20]        # a batch every 10 s, not one ingest per file


def test_changes_during_an_ingest_wait_for_the_next_batch_and_a_busy_index_retries_later() -> None:
    batches = Debouncer(quiet=1.0)
    batches.add("a.md", 0.0)
    first = batches.take()              # the ingest starts…
    batches.add("b.md", 0.5)            # …and a change arrives meanwhile
    assert first == {"a.md"} and batches.pending == {"b.md"}
    batches.later(first, 3.0, wait=2.0)  # the index was busy: put the batch back
    assert batches.pending == {"a.md", "b.md"}
    assert not batches.due(4.5) and batches.due(5.0)


def test_editor_and_download_temporaries_are_noise_documents_are_not() -> None:
    noise = [".notes.md.swp", "notes.md~", "notes.md.tmp", "paper.pdf.part", "paper.pdf.crdownload", "~$budget.docx",
             "#notes.md#", "4913", ".git/index", "sub/.cache/x.txt", ".~lock.budget.docx#", "a/b.swx"]
    kept = ["notes.md", "sub/paper.pdf", ".ragignore", "slack/general/2026-02-10.json", "data/tweets.js", "x.zip"]
    assert [p for p in noise if not is_noise(p)] == []
    assert [p for p in kept if is_noise(p)] == []


def record(source: str, content: str, chunks: int = 2, status: str = "ok", error: str | None = None) -> DocRecord:
    return DocRecord(id=hash(source) & 0xFFFF, root="/docs", source=source, doc_id=content[:8], content_hash=content,
                     size=10, mtime_ns=1, loader="text", kind="text", title=source, status=status, error=error,
                     meta={}, chunks=chunks)


def test_one_line_per_change_added_updated_renamed_removed_and_errors() -> None:
    before = {s: record(s, h) for s, h in [("a.md", "h1"), ("b.pdf", "h2"), ("c.txt", "h3"), ("old.md", "h4"),
                                           ("same.txt", "h5")]}
    after = {s: r for s, r in before.items() if s not in ("b.pdf", "old.md")}
    after["c.txt"] = record("c.txt", "h3-new", chunks=4)
    after["new.md"] = record("new.md", "h4")                       # old.md's content under a new name
    after["d.md"] = record("d.md", "h6", chunks=3)
    after["bad.pdf"] = record("bad.pdf", "h7", 0, "failed", "bad.pdf: the PDF is damaged\nand cannot be read — "
                              "export it again")
    assert change_lines(before, after) == [
        "removed b.pdf",
        "error: bad.pdf: the PDF is damaged and cannot be read — export it again",
        "updated c.txt (4 chunks)",
        "added d.md (3 chunks)",
        "renamed old.md -> new.md",
    ]
    assert change_lines(after, after) == []

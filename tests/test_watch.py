"""`rag watch` on real file operations: the README's command started as a subprocess in a temporary folder,
files added, saved the way editors save them, written in pieces, renamed, deleted, 200 at once, while
another writer holds the index; SIGTERM stops it with exit 0 and `rag check` passes after. SIGTERM during a
batch finishes that batch; a second one abandons it, and the index stays consistent.

The embedder is the hashing one (registered through the real registry), so that the test measures the
watcher, not the model."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT

from rag.store.lock import WriteLock

RAG = str(Path(sys.executable).with_name("rag"))


def readme_command() -> list[str]:
    """The `rag watch` line of the README's watch section, as arguments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Keeping a folder indexed: `rag watch`", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "the README's rag watch section has no code block"
    lines = [line.split("#")[0].split() for line in block.group(1).splitlines() if line.startswith("rag watch")]
    assert lines, "the README's rag watch section shows no rag watch command"
    return lines[0]


class Watch:
    """The running watcher; its stdout lines collected by a thread."""

    def __init__(self, cwd: Path, args: list[str]) -> None:
        self.proc = subprocess.Popen([RAG, *args[1:]], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines if re.search(pattern, line)]
            if len(found) >= count:
                return found
            assert self.proc.poll() is None, f"rag watch exited early: {self.lines}"
            time.sleep(0.05)
        raise AssertionError(f"no {count}× {pattern!r} within {timeout} s; output: {self.lines}")


def rag_json(cwd: Path, *args: str) -> dict:
    result = subprocess.run([RAG, *args, "--json"], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_rag_watch_keeps_the_index_in_step_with_real_file_operations(tmp_path: Path) -> None:
    command = readme_command()
    folder, index = tmp_path / command[2], tmp_path / command[command.index("--index") + 1]
    folder.mkdir()
    (folder / "a.md").write_text("# Herons\n\nThe heron count was 41 in March.\n")
    watch = Watch(tmp_path, [*command, "--embedder", "hashing-256", "--quiet", "0.5"])
    try:
        watch.wait_for(r"^watching ")
        assert "added a.md (1 chunk)" in watch.lines

        (folder / "b.txt").write_text("Seven otters were seen at the weir.\n")
        watch.wait_for(r"^added b\.txt \(1 chunk\)$")

        # an editor's save: a swap file and a backup beside it, the new text written to a temporary file
        # that then replaces the original (os.replace, as vim, VS Code and most libraries do)
        (folder / ".a.md.swp").write_bytes(b"\x00swap")
        (folder / "a.md~").write_text("# Herons\n\nThe heron count was 41 in March.\n")
        (folder / "a.md.tmp").write_text("# Herons\n\nThe heron count was 58 in April.\n")
        os.replace(folder / "a.md.tmp", folder / "a.md")
        watch.wait_for(r"^updated a\.md \(1 chunk\)$")

        # a file written in several pieces, 0.2 s apart (under --quiet 0.5): read once, whole
        with open(folder / "c.txt", "w") as f:
            for piece in ("The kelp line ", "was moved ", "to the south ", "jetty in May.\n"):
                f.write(piece)
                f.flush()
                time.sleep(0.2)
        watch.wait_for(r"^added c\.txt")

        os.rename(folder / "b.txt", folder / "d.txt")
        watch.wait_for(r"^renamed b\.txt -> d\.txt$")
        (folder / "d.txt").unlink()
        watch.wait_for(r"^removed d\.txt$")

        (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really a pdf")
        error = watch.wait_for(r"^error: broken\.pdf: ")[0]
        assert " — " in error   # the problem and the fix

        burst = folder / "burst"
        burst.mkdir()
        for i in range(200):
            (burst / f"note{i:03}.txt").write_text(f"Observation number {i} of the burst.\n")
        watch.wait_for(r"^added burst/note\d{3}\.txt", count=200, timeout=60)
        batches = [line for line in watch.lines if line.startswith("batch: ")]
        assert 1 <= len([b for b in batches if int(b.split()[1]) >= 20]) <= 5, batches   # batches, not 200 ingests

        # another writer holds the index: the watcher waits for it, then reads the change
        lock = WriteLock(index, 0.0)
        try:
            (folder / "e.md").write_text("The tern colony returned on 2 May.\n")
            watch.wait_for(r"^waiting: .*being written by pid")
            assert not any(line.startswith("added e.md") for line in watch.lines)
        finally:
            lock.release()
        watch.wait_for(r"^added e\.md")
    finally:
        watch.proc.send_signal(signal.SIGTERM)
        code = watch.proc.wait(timeout=30)
    assert code == 0, watch.lines
    assert watch.lines[-1].startswith("stopped: ")
    assert not [line for line in watch.lines if "swp" in line or "~" in line or ".tmp" in line or "Traceback" in line]
    assert sum(line.startswith("added c.txt") for line in watch.lines) == 1

    listed = rag_json(tmp_path, "ls", "--index", str(index))["documents"]
    ok = sorted(d["source"] for d in listed if d["status"] == "ok")
    assert ok == sorted(["a.md", "c.txt", "e.md", *(f"burst/note{i:03}.txt" for i in range(200))])
    assert [d["source"] for d in listed if d["status"] == "failed"] == ["broken.pdf"]
    hits = rag_json(tmp_path, "search", "heron count April", "--index", str(index), "-k", "1")["hits"]
    assert "58 in April" in hits[0]["text"]
    kelp = rag_json(tmp_path, "search", "kelp line jetty", "--index", str(index), "-k", "1")["hits"]
    assert "The kelp line was moved to the south jetty in May." in kelp[0]["text"]
    check = subprocess.run([RAG, "check", "--index", str(index)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_rag_watch_refuses_a_file_and_stops_on_sigint_with_exit_0(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("A single file.\n")
    result = subprocess.run([RAG, "watch", str(tmp_path / "one.txt"), "--index", str(tmp_path / "idx")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "is a file" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "docs").mkdir()
    watch = Watch(tmp_path, ["rag", "watch", "docs", "--index", "idx", "--embedder", "hashing-64"])
    watch.wait_for(r"^watching ")
    watch.proc.send_signal(signal.SIGINT)
    assert watch.proc.wait(timeout=30) == 0
    assert watch.lines[-1].startswith("stopped: ")


def _wait_for_ingest(index: Path, timeout: float = 30.0) -> None:
    """Until the watcher holds the index's write lock (an ingest is running): write.lock then says its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (index / "write.lock").read_text().startswith("pid"):
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise AssertionError("the watcher never started an ingest")


def test_sigterm_during_a_batch_finishes_it_and_a_second_signal_abandons_it(tmp_path: Path) -> None:
    folder, index = tmp_path / "docs", tmp_path / "idx"
    folder.mkdir()
    args = ["rag", "watch", "docs", "--index", "idx", "--embedder", "hashing-64", "--quiet", "0.3"]
    for stops, expected in ((1, "stopping after the current batch"), (2, "stopped mid-batch")):
        watch = Watch(tmp_path, args)
        watch.wait_for(r"^watching ")
        for i in range(150):
            (folder / f"r{stops}-{i:03}.txt").write_text(f"Reading {i} of run {stops}.\n")
        _wait_for_ingest(index)
        for _ in range(stops):
            watch.proc.send_signal(signal.SIGTERM)
            time.sleep(0.05)
        assert watch.proc.wait(timeout=60) == 0, watch.lines
        assert any(line.startswith(expected) for line in watch.lines), watch.lines   # the signal landed mid-batch
        check = subprocess.run([RAG, "check", "--index", str(index)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        added = sum(line.startswith(f"added r{stops}-") for line in watch.lines)   # what was committed, said
        assert added == 150 if stops == 1 else added < 150
    rest = rag_json(tmp_path, "ingest", "docs", "--index", "idx")   # the abandoned batch's files are read now
    assert rest["failed"] == [] and rest["added"] == 150 - added > 0
    assert len(rag_json(tmp_path, "ls", "--index", "idx")["documents"]) == 300


@pytest.mark.slow
def test_rag_watch_with_the_bundled_embedder(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "boats.md").write_text("# Boats\n\nThe research boat Skarv is moored at the east pier.\n")
    watch = Watch(tmp_path, ["rag", "watch", "docs", "--index", "idx", "--quiet", "0.5"])
    try:
        watch.wait_for(r"^watching ", timeout=120)
        (tmp_path / "docs" / "birds.txt").write_text("Eider ducks nest on the outer skerries from April.\n")
        watch.wait_for(r"^added birds\.txt \(1 chunk\)$", timeout=120)
    finally:
        watch.proc.send_signal(signal.SIGTERM)
        assert watch.proc.wait(timeout=60) == 0, watch.lines
    hits = rag_json(tmp_path, "search", "Where do the ducks breed?", "--index", "idx", "-k", "1")["hits"]
    assert hits[0]["source"] == "birds.txt"

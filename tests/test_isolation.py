"""Loaders run in a worker process: a file that hangs, eats memory or crashes its parser costs only itself.

The misbehaving loaders (tests/odd_loaders.py) are registered through the real registry; every good
file still goes in, and what was already in the index stays.
"""

from __future__ import annotations

import time
from pathlib import Path

import odd_loaders
import pytest

from ingest.isolation import LoaderLimits, LoaderWorker, LoadJob
from ingest.loaders.spec import LoaderSpec
from ingest.registry import default_registry
from rag import Index
from rag.core.errors import LoaderError


def _registry() -> dict[str, LoaderSpec]:
    registry = default_registry()
    registry[".hang"] = LoaderSpec("hang", "text", odd_loaders.sleeps)
    registry[".hog"] = LoaderSpec("hog", "text", odd_loaders.eats_memory)
    registry[".crash"] = LoaderSpec("crash", "text", odd_loaders.segfaults)
    registry[".raise"] = LoaderSpec("raise", "text", odd_loaders.raises)
    registry[".chatty"] = LoaderSpec("chatty", "text", odd_loaders.prints_then_loads)
    return registry


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Tides\n\nThe spring tide at Brackwater reached 4.2 metres.\n")
    for name in ("x.hang", "x.hog", "x.crash", "x.raise"):
        (folder / name).write_text("whatever")
    (folder / "z.txt").write_text("The heron colony nests on the eastern mudflat every April.\n")
    (folder / "talk.chatty").write_text("The buoy at station 9 records salinity hourly.\n")
    return folder


def test_hang_memory_crash_and_errors_cost_only_their_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    limits = LoaderLimits(fixed_seconds=3, memory_mb=400)
    with Index.open(tmp_path / "idx", embedder="hashing") as idx:
        started = time.monotonic()
        summary = idx.ingest(folder, registry=_registry(), limits=limits)
        took = time.monotonic() - started
        errors = {f.source: f.error for f in summary.failed}
        assert set(errors) == {"x.hang", "x.hog", "x.crash", "x.raise"}
        assert "longer than 3 s" in errors["x.hang"] and "--loader-timeout" in errors["x.hang"]
        assert "more than 400 MiB" in errors["x.hog"] and "--loader-memory" in errors["x.hog"]
        assert "crashed" in errors["x.crash"] and "signal 11" in errors["x.crash"]
        assert "ValueError: the parser gave up at byte 17" in errors["x.raise"]
        assert all(e.startswith(s + ":") for s, e in errors.items()), errors
        assert summary.added == 3 and summary.ocr_pages == 2
        assert took < 30, f"the limits did not stop the bad files soon enough ({took:.1f} s)"
        assert idx.search("spring tide Brackwater", k=1)[0].source == "a.md"
        assert idx.search("buoy salinity station", k=1)[0].source == "talk.chatty"
        # nothing already in the index is lost when the bad files are tried again
        again = idx.ingest(folder, registry=_registry(), limits=limits, retry_failed=True)
        assert len(again.failed) == 4 and again.unchanged == 3
        assert {d.source for d in idx.documents() if d.status == "ok"} == {"a.md", "z.txt", "talk.chatty"}


def test_the_worker_is_reused_and_replaced_after_a_crash(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha beta gamma")
    spec_text = default_registry()[".txt"]
    crash = LoaderSpec("crash", "text", odd_loaders.segfaults)
    with LoaderWorker(LoaderLimits(fixed_seconds=20)) as worker:
        pids = []
        for spec in (spec_text, spec_text, crash, spec_text):
            worker.submit(LoadJob(spec, tmp_path / "a.txt", "a.txt", "id"))
            try:
                assert worker.result().sections[0].text.strip() == "alpha beta gamma"
            except LoaderError as exc:
                assert "crashed" in str(exc)
            assert worker._proc is not None or spec is crash
            pids.append(worker._proc.pid if worker._proc else None)
        assert pids[0] == pids[1] and pids[2] is None and pids[3] not in (None, pids[0])


def test_a_local_function_runs_in_process_with_the_same_error_wording(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha")

    def local_loader(path: Path, source: str, doc_id: str) -> None:
        raise KeyError("missing")

    with LoaderWorker() as worker:
        worker.submit(LoadJob(LoaderSpec("local", "text", local_loader), tmp_path / "a.txt", "a.txt", "id"))  # type: ignore[arg-type]
        with pytest.raises(LoaderError, match=r"^a.txt: could not be read \(KeyError"):
            worker.result()


def test_time_limit_grows_with_size() -> None:
    limits = LoaderLimits()
    assert limits.seconds_for(0) == 120
    assert limits.seconds_for(100_000_000) == 1120       # a 100 MB recording
    assert limits.seconds_for(10**12) == 3600
    assert LoaderLimits(fixed_seconds=5).seconds_for(10**9) == 5

"""At least 30 broken and hostile files (tests/hostile_files.py) ingested next to good files.

Each one: the ingest finishes, the report names the file and the reason, and every good file is
searchable. The ingest runs through the real CLI (`rag ingest --json`) in a subprocess; when the tests
run as root, it runs without the capability to override file permissions (util-linux `setpriv`), so
that an unreadable file really is unreadable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES
from hostile_files import CASES, Case, write_all

from ingest.scan import source_name

GOOD = ["paper.pdf", "notes.md", "meeting.txt", "guide.html"]
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
               "--inh-caps=-dac_override,-dac_read_search", "--"]


def _rag(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """`rag ARGS` in a fresh process; as root, without the power to read unreadable files."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    prefix = NO_OVERRIDE if os.geteuid() == 0 and shutil.which("setpriv") else []
    return subprocess.run([*prefix, sys.executable, "-c", "from rag.cli import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=900, cwd=home)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Case], dict[str, Any], Path,
                                                                           float]]:
    base = tmp_path_factory.mktemp("hostile")
    folder = base / "docs"
    folder.mkdir()
    for name in GOOD:
        shutil.copyfile(SAMPLES / name, folder / name)
    cases = write_all(folder)
    started = time.monotonic()
    result = _rag("ingest", str(folder), "--index", str(base / "idx"), "--embedder", "hashing", "--json",
                  home=base)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    yield cases, json.loads(result.stdout), base, took


def test_there_are_at_least_30_hostile_inputs() -> None:
    assert len(CASES) >= 30


def test_the_ingest_finishes_in_bounded_time(ingested: tuple[dict[str, Case], dict[str, Any], Path, float]) -> None:
    assert ingested[3] < 600


def _report(summary: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """source -> (outcome, text) from the ingest summary."""
    out: dict[str, tuple[str, str]] = {}
    for f in summary["failed"]:
        out[f["source"]] = ("failed", f["error"])
    for s in summary["skipped"]:
        out[s["source"]] = ("skipped", s["reason"])
    for w in summary["warnings"]:
        source = next((c for c in CASE_NAMES if w.startswith(c + ":")), None)
        if source and source not in out:
            out[source] = ("warning", w)
        elif source:
            out[source] = (out[source][0], out[source][1] + " | " + w)
    return out


CASE_NAMES = [c.name for c, _ in CASES]


@pytest.mark.parametrize("name", CASE_NAMES, ids=[re.sub(r"[^\w.]", "_", n) for n in CASE_NAMES])
def test_each_hostile_file_is_named_with_its_reason(
        name: str, ingested: tuple[dict[str, Case], dict[str, Any], Path, float]) -> None:
    cases, summary, base, _ = ingested
    case = cases[name]
    report = _report(summary)
    name = source_name(base / "docs" / name, base / "docs")   # odd bytes in a name are shown escaped
    if case.outcome in ("ok", "absent"):
        assert name not in report or report[name][0] == "warning", report.get(name)
    else:
        assert name in report, f"{name} is not in the report: {json.dumps(summary)[:2000]}"
        outcome, text = report[name]
        assert outcome == case.outcome, (outcome, text)
        assert text.startswith(name + ":") or outcome == "skipped", text
        assert re.search(case.reason, text, re.IGNORECASE), text
        assert " — " in text or outcome == "skipped", f"no fix given: {text}"
    if case.searchable:
        hits = _search(base, case.searchable)
        assert name in [h["source"] for h in hits], (case.searchable, [h["source"] for h in hits])


def _search(base: Path, query: str) -> list[dict[str, Any]]:
    result = _rag("search", query, "--index", str(base / "idx"), "-k", "5", "--json", home=base)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)["hits"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name,query", [("paper.pdf", "Harbor-7 corpus field notes Lumen trained"),
                                        ("notes.md", "hydrophones recalibrated"),
                                        ("meeting.txt", "new engine for the survey boat Kestrel"),
                                        ("guide.html", "Tidepool Benchmark")])
def test_every_good_file_is_searchable(name: str, query: str,
                                       ingested: tuple[dict[str, Case], dict[str, Any], Path, float]) -> None:
    _, summary, base, _ = ingested
    assert summary["added"] >= len(GOOD)
    assert name in [h["source"] for h in _search(base, query)]


def test_nothing_escaped_the_folder(ingested: tuple[dict[str, Case], dict[str, Any], Path, float]) -> None:
    base = ingested[2]
    assert not (base / "evil.txt").exists() and not Path("/etc/evil2.txt").exists()
    assert "outside secret" not in json.dumps(_search(base, "outside secret must not be indexed"))

"""The `rag` command: JSON shapes (a contract outside checks rely on), errors as messages, --help."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SAMPLES, sample_sources

from rag.cli import main

EMB = ["--embedder", "hashing-256"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run_json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_ingest_search_ask_ls_shapes(runner: CliRunner, tmp_path: Path) -> None:
    index = str(tmp_path / "idx")
    summary = run_json(runner, "ingest", str(SAMPLES), "--index", index, *EMB)
    for key in ("added", "changed", "removed", "unchanged", "embedded_chunks"):
        assert isinstance(summary[key], int)
    assert summary["added"] == len(sample_sources()) and summary["embedded_chunks"] > 0 and summary["failed"] == []
    assert summary["skipped"] == []  # README.md and make_samples.py are listed in sample_docs/.ragignore
    again = run_json(runner, "ingest", str(SAMPLES), "--index", index)
    assert again["embedded_chunks"] == 0 and again["unchanged"] == len(sample_sources())
    hits = run_json(runner, "search", "Harbor-7 corpus field notes", "--index", index, "-k", "3")["hits"]
    assert len(hits) == 3
    assert set(hits[0]) == {"source", "locator", "text", "score", "suspect"} and hits[0]["suspect"] is False
    assert ("paper.pdf", 2) in [(h["source"], h["locator"].get("page")) for h in hits]
    answer = run_json(runner, "ask", "What corpus was Lumen trained on?", "--index", index, "--llm", "none")
    assert isinstance(answer["answer"], str) and answer["citations"]
    assert set(answer["citations"][0]) == {"source", "locator", "quote", "number", "start", "end"}
    assert answer["suspect_sources"] == []
    listing = runner.invoke(main, ["ls", "--index", index])
    assert listing.exit_code == 0 and "paper.pdf" in listing.output


def test_show_prompt_prints_the_exact_prompt(runner: CliRunner, tmp_path: Path) -> None:
    index = str(tmp_path / "idx")
    runner.invoke(main, ["ingest", str(SAMPLES), "--index", index, *EMB], catch_exceptions=False)
    data = run_json(runner, "ask", "When is the annual review?", "--index", index, "--llm", "none",
                    "--show-prompt")
    assert "[1] " in data["prompt"] and "When is the annual review?" in data["prompt"]


def test_dry_run_and_rm(runner: CliRunner, tmp_path: Path) -> None:
    index = str(tmp_path / "idx")
    plan = run_json(runner, "ingest", str(SAMPLES), "--index", index, "--dry-run", *EMB)
    assert plan["dry_run"] and sorted(plan["plan"]["add"]) == sorted(sample_sources())
    listing = runner.invoke(main, ["ls", "--index", index])
    assert "empty" in listing.output
    runner.invoke(main, ["ingest", str(SAMPLES), "--index", index], catch_exceptions=False)
    result = runner.invoke(main, ["rm", "notes.md", "--index", index])
    assert result.exit_code == 0 and "removed 1" in result.output
    assert "notes.md" not in runner.invoke(main, ["ls", "--index", index]).output


def test_errors_are_messages_not_tracebacks(runner: CliRunner, tmp_path: Path) -> None:
    index = str(tmp_path / "idx")
    missing = runner.invoke(main, ["ingest", str(tmp_path / "nope"), "--index", index, *EMB])
    assert missing.exit_code == 1 and "no such file or folder" in missing.stderr
    assert "Traceback" not in missing.output
    runner.invoke(main, ["ingest", str(SAMPLES), "--index", index, *EMB])
    other = runner.invoke(main, ["ingest", str(SAMPLES), "--index", index, "--embedder", "hashing-64"])
    assert other.exit_code == 1 and "built with embedder hashing-256" in other.stderr and "rebuild" in other.stderr
    bad_llm = runner.invoke(main, ["ask", "x", "--index", index, "--llm", "gpt9"])
    assert bad_llm.exit_code == 1 and "gpt9" in bad_llm.stderr and "none" in bad_llm.stderr


def test_help_is_instant() -> None:
    began = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rag.cli", "--help"], capture_output=True, text=True,
                         check=True)
    assert "ingest" in out.stdout and "ask" in out.stdout and "search" in out.stdout
    assert time.perf_counter() - began < 5
    heavy = subprocess.run([sys.executable, "-c", "import rag.cli, sys; "
                            "print(sorted(m for m in ('torch', 'faiss', 'numpy', 'llama_index', 'onnxruntime') "
                            "if m in sys.modules))"], capture_output=True, text=True, check=True)
    assert heavy.stdout.strip() == "[]"


@pytest.mark.slow
def test_outside_contract_check_holds() -> None:
    from conftest import ROOT

    checker = ROOT.parent / "shared" / "tools" / "check_cli_contract.py"
    if not checker.exists():
        pytest.skip(f"{checker} is absent (it sits beside the checkout in CI)")
    rag = Path(sys.executable).parent / "rag"
    result = subprocess.run([sys.executable, str(checker), str(SAMPLES), "--rag", str(rag)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "contract holds" in result.stdout

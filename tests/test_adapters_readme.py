"""The README's LangChain and LlamaIndex examples, run as they are written, in a folder holding "my-index"
(the sample files, hashing embedder) and "notes/plan.note"."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def section_blocks(heading: str, language: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}")
    section = text[start:text.find("\n## ", start + 1)]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


@pytest.fixture
def workdir(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "my-index")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "plan.note").write_text(
        "== Launch ==\nThe rover launches on 4 May.\n== Budget ==\nThe budget is 7,300 crowns.\n", encoding="utf-8")
    return tmp_path


def run(code: str, cwd: Path) -> str:
    env = {"PATH": "/usr/bin:/bin", "RAG_NO_NETWORK": "1", "RAG_LLM": "none", "HOME": str(cwd),
           "OMP_WAIT_POLICY": "passive", "PYTHONPATH": str(cwd)}
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_langchain_and_llamaindex_examples_run(workdir: Path) -> None:
    blocks = section_blocks("From LangChain and LlamaIndex", "python")
    assert len(blocks) == 4, "the section shows a chain, a query engine, a reader module and its registration"
    chain, engine, reader_module, register = blocks
    out = run(chain + "\nprint('-- query engine --')\n" + engine, workdir)   # one process for both: faster
    out, engine_out = out.split("-- query engine --")
    assert "[paper.pdf, p. 2 (printed 102)]" in out and "Harbor-7 corpus" in out
    assert "Question: What corpus was Lumen trained on?" in out
    out = engine_out
    assert "Jonas Berg" in out and "[1] notes.md, § Brackwater Field Station Notes > Contacts:" in out

    assert reader_module.startswith("# my_readers.py\n")
    (workdir / "my_readers.py").write_text(reader_module, encoding="utf-8")
    out = run(register, workdir)
    assert out.strip() == "plan.note {'heading': 'Launch'}"

"""`rag serve` against its own OpenAPI document (schemathesis: no 5xx, every response as documented, invalid
input rejected), and the README's curl and `openai` examples run against a live server as written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import ROOT
from serve_fixture import copy_index, running

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,"
          "allow_header_conformance")
"""Every check but `positive_data_acceptance`: a request can be schema-valid and still wrong in ways a
schema cannot say (the last message is the assistant's, a file type no loader reads) — those get a 4xx."""


def test_schemathesis_finds_no_server_error_and_no_schema_violation(built: Path, tmp_path: Path) -> None:
    index = copy_index(built, tmp_path / "samples")
    with running(index) as base:
        spec = httpx.get(f"{base}/openapi.json").json()
        assert {"/v1/chat/completions", "/v1/search", "/v1/ask", "/v1/documents", "/v1/models", "/health"} \
            <= set(spec["paths"])
        out = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "run", f"{base}/openapi.json", "--checks", CHECKS,
             "--max-examples", "8", "--phases", "coverage,fuzzing", "--workers", "1", "--seed", "20261202",
             "--generation-database", "none", "--request-timeout", "30", "--no-color"],
            capture_output=True, text=True, timeout=240, cwd=tmp_path)
    summary = out.stdout[-3000:]
    assert out.returncode == 0, summary + out.stderr[-2000:]
    tested = re.search(r"(\d+) generated, (\d+) passed", out.stdout)
    assert tested and int(tested.group(1)) > 100 and tested.group(1) == tested.group(2), summary
    assert "Tested: 9" in out.stdout, summary


def readme_blocks() -> tuple[str, str]:
    """The bash and the python block of the README's "HTTP API" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## HTTP API: `rag serve`", 1)[1].split("\n## ", 1)[0]
    bash = re.search(r"```bash\n(.*?)```", section, re.S)
    python = re.search(r"```python\n(.*?)```", section, re.S)
    assert bash and python, "the README's HTTP API section needs a bash and a python example"
    return bash.group(1), python.group(1)


def test_the_readme_examples_run(built: Path, tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    bash, python = readme_blocks()
    assert bash.startswith("rag serve --index ./my-index &")
    index = copy_index(built, tmp_path / "my-index")
    (tmp_path / "notes.md").write_text("# Boat log\n\nThe survey boat Kestrel got its new engine in May 2024.\n")
    with running(index) as base:
        port = base.rsplit(":", 1)[1]
        outputs = []
        for command in bash.replace("\\\n", "").splitlines()[1:]:   # the server is already running
            command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120, cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            outputs.append(json.loads(done.stdout))
        ran = subprocess.run([sys.executable, "-c", python.replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    chat, search, upload = outputs
    assert chat["model"] == "my-index" and "Harbor-7" in chat["choices"][0]["message"]["content"]
    assert chat["choices"][0]["message"]["citations"][0]["source"] == "paper.pdf"
    assert search["hits"] and search["hits"][0]["source"] == "paper.pdf"
    assert upload["status"] == "added" and upload["document"]["source"] == "notes.md"
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert "Harbor-7 corpus" in lines[0] and lines[1].startswith("[1] paper.pdf {'page': 2, 'page_label': '102'}: ")
    assert "'source':" in ran.stdout.split("\n", 2)[-1], ran.stdout   # the streamed answer's citations

"""The README opens with the two commands that install and run everything; they must stay real."""

from __future__ import annotations

import re
import subprocess

from conftest import ROOT


def first_block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(.*?)```", text, re.S)
    assert block, "README.md must open with a code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_demo_and_test() -> None:
    assert first_block() == ["make demo", "make test"]


def test_the_commands_are_make_targets() -> None:
    for command in first_block():
        result = subprocess.run([*command.split(), "-n"], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()

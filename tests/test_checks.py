"""The checks good Python projects run on every change, run by the test command: ruff (lint and
format), mypy, and import-linter's contracts that keep the layers' arrows pointing one way."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOOLS = Path(sys.executable).parent
CHECKED = ["voicecoach", "tests", "scripts"]


def run(tool: str, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TOOLS / tool), *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    result = run("ruff", "check", "--no-cache", *CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_as_ruff_formats_it():
    result = run("ruff", "format", "--check", "--no-cache", *CHECKED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    result = run("mypy")  # what to check and how: [tool.mypy] in pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_the_import_contracts_are_kept():
    result = run("lint-imports")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("core/words.py", "from voicecoach.audio import devices", "core, errors BROKEN"),
        ("core/coach.py", "import threading", "wall\nclock BROKEN"),
        ("hear/segmenter.py", "from voicecoach.session import loop", "core, errors BROKEN"),
        ("session/loop.py", "from voicecoach.apps import cli", "core, errors BROKEN"),
    ],
)
def test_an_import_against_the_layers_fails_the_checks(tmp_path: Path, module: str, line: str, broken: str):
    """A copy of the package with one import that points the wrong way: the contracts catch it."""
    shutil.copytree(REPO / "voicecoach", tmp_path / "voicecoach", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    with (tmp_path / "voicecoach" / module).open("a") as source:
        source.write(f"\n{line}  # noqa: E402, F401\n")
    result = run("lint-imports", "--no-cache", cwd=tmp_path)
    assert result.returncode != 0
    assert broken.replace("\n", " ") in " ".join(result.stdout.split())

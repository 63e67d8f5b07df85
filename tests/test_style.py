"""Lint: ruff over the package, tests, examples and benchmarks (absolute imports only)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    if shutil.which("ruff") is None:
        pytest.importorskip("ruff", reason="ruff is in the [test] extras")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "sklstm", "tests", "examples", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""Every script in examples/ runs to the end (on the CPU, with a non-interactive backend)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# quickstart.py has its own test below, which also checks what it prints.
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if p.name != "quickstart.py")

pytest.importorskip("sktime", reason="the examples use sktime's datasets")


def run_example(path: Path, tmp_path: Path) -> str:
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, tmp_path):
    run_example(path, tmp_path)


def test_quickstart_beats_the_naive_baselines(tmp_path):
    out = run_example(ROOT / "examples" / "quickstart.py", tmp_path)
    mape = {
        name.strip(): float(value)
        for name, value in re.findall(r"^\s+(.+?)\s+MAPE\s+([\d.]+) %$", out, flags=re.M)
    }
    assert set(mape) == {
        "LSTMRegressor",
        "naive (last month)",
        "seasonal naive (same month last year)",
    }, out
    assert mape["LSTMRegressor"] < min(
        mape["naive (last month)"], mape["seasonal naive (same month last year)"]
    ), out

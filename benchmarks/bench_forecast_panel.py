"""Cost of ``LSTMForecaster.forecast_panel`` on a wide panel: the per-series work around
the one batched network call (index checks, cutoffs, absolute time points).

A tiny pretrained network (the network's share is small here on purpose); panels of
``--series`` series of 30 points, a daily ``DatetimeIndex`` and an integer time level;
the best of 3 calls after a warm-up, one torch thread.

    OMP_NUM_THREADS=1 python benchmarks/bench_forecast_panel.py [--series 3000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from sklstm import LSTMForecaster  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=3000)
    parser.add_argument("--points", type=int, default=30)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # sktime's notices; this measures time only
    n, m = args.series, args.points
    names = [f"s{i}" for i in range(n)]
    values = {"v": 10 + np.random.RandomState(0).rand(n * m)}
    daily = pd.date_range("2024-01-01", periods=m, freq="D")
    panels = {
        "daily (DatetimeIndex)": pd.DataFrame(
            values, index=pd.MultiIndex.from_product([names, daily])
        ),
        "integer": pd.DataFrame(values, index=pd.MultiIndex.from_product([names, range(m)])),
    }
    print(f"# forecast_panel, {n} series of {m} points, fh=[1, 2], torch {torch.__version__}")
    print("| time level | best of 3, s | µs per series |")
    print("|---|---|---|")
    for name, y in panels.items():
        f = LSTMForecaster(lookback=6, max_iter=1, hidden_size=4, n_models=1, random_state=0)
        f.pretrain(y.iloc[: 50 * m], fh=[1, 2])
        f.forecast_panel(y.iloc[: 10 * m])  # warm-up
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            f.forecast_panel(y)
            best = min(best, time.perf_counter() - start)
        print(f"| {name} | {best:.3f} | {1e6 * best / n:.0f} |")


if __name__ == "__main__":
    main()

"""Global LSTMForecaster over many series: pretrain and batched forecast, time and memory.

Trains one global model (``LSTMForecaster.pretrain``) on panels of 250, 500 and 1,000
series of 200 points each and forecasts every series with one batched call
(``forecast_panel``). Prints, per panel size: pretrain and forecast time, series per
second, time per point, the tracemalloc peak of Python/numpy allocations during pretrain
and the process's peak RSS. The cost should grow linearly with the number of points.

Default: ``max_iter=3`` epochs, ``n_models=1``, ``hidden_size=32``, ``lookback=24``,
``fh=1..12``, ``early_stopping=False``, one CPU thread; a few minutes on one core.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_global.py
    python benchmarks/bench_global.py --device cuda --sizes 1000 4000 --max-iter 10
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import torch

from sklstm import LSTMForecaster


def make_panel(n_series: int, n_points: int, seed: int = 0) -> pd.DataFrame:
    """Seasonal series with their own levels, amplitudes, trends and noise."""
    rng = np.random.RandomState(seed)
    t = np.arange(n_points)
    level = rng.uniform(5, 100, size=(n_series, 1))
    amplitude = rng.uniform(0.05, 0.3, size=(n_series, 1))
    trend = rng.uniform(-0.001, 0.003, size=(n_series, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n_series, 1))
    values = level * (
        1 + trend * t + amplitude * np.sin(2 * np.pi * t / 12 + phase)
    ) + 0.02 * level * rng.randn(n_series, n_points)
    index = pd.MultiIndex.from_product(
        [np.arange(n_series), pd.RangeIndex(n_points)], names=["series", "time"]
    )
    return pd.DataFrame({"y": values.ravel()}, index=index)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n_series: int, args) -> dict:
    panel = make_panel(n_series, args.points, seed=n_series)
    fh = np.arange(1, args.horizon + 1)
    forecaster = LSTMForecaster(
        lookback=args.lookback,
        hidden_size=args.hidden_size,
        max_iter=args.max_iter,
        n_models=1,
        window_scaling=args.window_scaling,
        batch_size=args.batch_size,
        early_stopping=False,
        device=args.device,
        random_state=0,
    )
    tracemalloc.start()
    start = time.perf_counter()
    forecaster.pretrain(panel, fh=fh)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    fit_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    start = time.perf_counter()
    forecast = forecaster.forecast_panel(panel, fh=fh)
    predict_s = time.perf_counter() - start
    assert forecast.shape == (n_series * len(fh), 1) and np.isfinite(forecast.to_numpy()).all()
    n_points = n_series * args.points
    n_windows = n_series * (args.points - args.lookback - args.horizon + 1)
    return {
        "series": n_series,
        "points": n_points,
        "windows": n_windows,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "fit_series_per_s": n_series / fit_s,
        "predict_series_per_s": n_series / predict_s,
        "fit_us_per_point": 1e6 * fit_s / n_points,
        "fit_us_per_point_epoch": 1e6 * fit_s / n_points / args.max_iter,
        "tracemalloc_peak_mib": peak / 2**20,
        "windows_if_materialised_mib": n_windows * args.lookback * 4 / 2**20,
        "peak_rss_mib": peak_rss_mib(),
        "final_loss": forecaster.pretrained_ensemble_.loss_curve_[-1],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--lookback", type=int, default=24)
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--hidden-size", type=int, default=32)
    parser.add_argument("--max-iter", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--window-scaling",
        default="both",
        choices=["both", "mean", "last"],
        help="LSTMForecaster's window_scaling; 'both' (its default) trains two global networks",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", FutureWarning)  # sktime 1.2's remember_data notice

    print(
        f"# bench_global: torch {torch.__version__}, device={args.device}, "
        f"threads={torch.get_num_threads()}, {args.points} points/series, "
        f"lookback={args.lookback}, fh=1..{args.horizon}, hidden_size={args.hidden_size}, "
        f"max_iter={args.max_iter}, batch_size={args.batch_size}, n_models=1, "
        f"window_scaling={args.window_scaling!r}"
    )
    run(20, args)  # warm-up: lazy imports and first-call allocations are not the data
    rows = [run(n, args) for n in args.sizes]
    header = (
        "| series | points | windows | pretrain s | forecast s | series/s (pretrain) "
        "| series/s (forecast) | µs/point (pretrain) | µs/point/epoch | tracemalloc peak MiB "
        "| windows if materialised MiB | peak RSS MiB |"
    )
    print(header)
    print("|" + "---|" * 12)
    for r in rows:
        print(
            f"| {r['series']} | {r['points']:,} | {r['windows']:,} | {r['fit_s']:.1f} "
            f"| {r['predict_s']:.3f} | {r['fit_series_per_s']:.1f} "
            f"| {r['predict_series_per_s']:,.0f} | {r['fit_us_per_point']:.1f} "
            f"| {r['fit_us_per_point_epoch']:.1f} | {r['tracemalloc_peak_mib']:.1f} "
            f"| {r['windows_if_materialised_mib']:.1f} | {r['peak_rss_mib']:.0f} |"
        )
    per_point = [r["fit_us_per_point"] for r in rows]
    print(
        f"# pretrain time per point, largest / smallest panel: "
        f"{per_point[-1] / per_point[0]:.2f} (1.00 = linear in the number of points)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

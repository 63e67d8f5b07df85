"""Coverage of recursive intervals past the steps their scale was measured on.

``LSTMForecaster(strategy="recursive")`` fitted with ``fh=1..h`` measures its interval
scale on ``h`` steps ahead of held-out origins; asked for more steps, it extends the scale
(square-root growth) and, since 0.3, follows the level of the rolled-out windows
(``intervals.rolled_level_ratio``, never below 1). This script measures, on the
selection set, what that buys on real data: each series is fitted at origins k (the
training part ends ``(k - 1) h + 3 h`` points before the end) with ``fh=1..h`` (with
``--fit-all``: ``fh=1..3h``, every step measured) and
asked for 90 % intervals over ``3 h`` steps, which are scored on the truth after the
origin, separately over the measured steps ``1..h`` and the steps ``h+1..3h`` beyond them:

- coverage: the share of points inside the interval (pooled over series and origins, and
  the mean of the per-series shares);
- the interval score (Gneiting & Raftery: width + 20 x the distance of a point outside),
  divided by the series' MASE scale, averaged per series, geometric mean over series.

Every rule sees the same fit and the same point forecast: ``rolled`` is what
``predict_interval`` returns, ``sqrt only`` the same scale without the level ratio (the
behaviour before 0.3), ``power`` a candidate (:func:`power_scale`, with the level ratio).

    OMP_NUM_THREADS=1 python benchmarks/bench_recursive_intervals.py --jobs 2
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _selection import selection  # noqa: E402

LEVEL = 0.9
SPAN = 3  # horizons asked for past the fitted one, in all


def interval_score(lo, hi, truth, scale):
    """Mean interval score of a central 90 % interval, in MASE units."""
    a = 1 - LEVEL
    score = (hi - lo) + 2 / a * (np.maximum(lo - truth, 0) + np.maximum(truth - hi, 0))
    return float(np.mean(score) / scale)


def power_scale(scale, steps):
    """The ``power`` candidate: past the measured steps, their own growth carried on.

    ``scale[-1] * (s / n) ** beta``, ``beta`` the least-squares slope of log scale on log
    step over the measured steps (first target), clipped to [0.5, 1] (0.5: the library's
    square root; 1: errors that grow linearly, as a misjudged trend's).
    """
    n = len(scale)
    ks = np.arange(1, n + 1)
    ok = scale[:, 0] > 0
    beta = 0.5
    if ok.sum() >= 3:
        beta = float(np.polyfit(np.log(ks[ok]), np.log(scale[ok, 0]), 1)[0])
    beta = min(max(beta, 0.5), 1.0)
    grow = np.where(steps > n, (steps / n) ** beta, 1.0)[:, None]
    return np.stack([scale[min(s, n) - 1] for s in steps]) * grow


def run(task):
    """One fit and its two intervals, scored: a dict of per-part figures."""
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from sklstm import LSTMForecaster
    from sklstm._forecast import intervals

    name, k, seed, fit_all = task
    (series,) = selection([name])
    y, h, sp = series.y, series.horizon, series.sp
    end = len(y) - (k - 1) * h
    train, test = y.iloc[: end - SPAN * h], y.iloc[end - SPAN * h : end]
    f = LSTMForecaster(strategy="recursive", random_state=seed)
    start = time.perf_counter()
    f.fit(train, fh=list(range(1, (SPAN if fit_all else 1) * h + 1)))
    seconds = time.perf_counter() - start
    steps = np.arange(1, SPAN * h + 1)
    values = train.to_numpy(dtype=float)
    band = f.predict_interval(fh=list(steps), coverage=LEVEL).to_numpy()
    lo_r, hi_r = band[:, 0], band[:, 1]
    # the same point forecast and scale without the level ratio (before 0.3)
    mean, level = f._forecast_path(int(steps.max()), None)
    sigma = intervals.step_scale(f.residual_scale_, steps) * level[None, :]
    q = intervals.quantiles(
        mean,
        sigma,
        [(1 - LEVEL) / 2, (1 + LEVEL) / 2],
        intervals.degrees_of_freedom(f.n_residual_origins_),
    )
    lo_s, hi_s = q[:, 0, 0], q[:, 0, 1]
    ratio = intervals.rolled_level_ratio(
        values[-f.lookback_ :, None], mean, steps, len(f.residual_scale_), f._fitted_model.level
    )
    sigma_p = power_scale(f.residual_scale_, steps) * level[None, :] * ratio
    q = intervals.quantiles(
        mean, sigma_p, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], f.n_residual_origins_
    )
    lo_p, hi_p = q[:, 0, 0], q[:, 0, 1]
    truth = test.to_numpy(dtype=float)
    scale = np.mean(np.abs(values[sp:] - values[:-sp]))
    out = {"series": name, "k": k, "seed": seed, "fit_s": seconds, "n": len(truth)}
    for part, sl in (("measured", slice(0, h)), ("beyond", slice(h, SPAN * h))):
        for rule, lo, hi in (("rolled", lo_r, hi_r), ("sqrt", lo_s, hi_s), ("power", lo_p, hi_p)):
            t = truth[sl]
            inside = (t >= lo[sl]) & (t <= hi[sl])
            out[f"{rule}_{part}_in"] = int(inside.sum())
            out[f"{rule}_{part}_n"] = len(t)
            out[f"{rule}_{part}_score"] = interval_score(lo[sl], hi[sl], t, scale)
            out[f"{rule}_{part}_width"] = float(np.mean(hi[sl] - lo[sl]) / scale)
    return out


def tasks_for(names, origins, seeds, fit_all=False):
    for series in selection(names):
        n, h, sp = len(series.y), series.horizon, series.sp
        for k in origins:
            if n - (k - 1) * h - SPAN * h >= max(2 * sp, 2 * h, 4 * h):
                for seed in seeds:
                    yield series.name, k, seed, fit_all


def gmean(values):
    values = np.asarray(values, dtype=float)
    return float(np.exp(np.mean(np.log(values))))


def table(rows):
    frame = pd.DataFrame(rows)
    lines = [
        "| steps | rule | coverage pooled | coverage, mean of series | interval score "
        "(gmean of series) | mean width / MASE scale |",
        "|---|---|---|---|---|---|",
    ]
    for part in ("measured", "beyond"):
        for rule, label in (
            ("rolled", "rolled (0.3)"),
            ("sqrt", "sqrt only (before)"),
            ("power", "power (candidate)"),
        ):
            inside, n = frame[f"{rule}_{part}_in"], frame[f"{rule}_{part}_n"]
            per = frame.groupby("series")
            share = (per[f"{rule}_{part}_in"].sum() / per[f"{rule}_{part}_n"].sum()).mean()
            score = gmean(per[f"{rule}_{part}_score"].mean())
            width = frame[f"{rule}_{part}_width"].mean()
            steps = "1..h" if part == "measured" else f"h+1..{SPAN}h"
            lines.append(
                f"| {steps} | {label} | {inside.sum() / n.sum():.3f} | {share:.3f} | "
                f"{score:.3f} | {width:.2f} |"
            )
    return lines


def per_series(rows):
    frame = pd.DataFrame(rows)
    lines = [
        "| series | fits | coverage beyond, rolled | sqrt only | score beyond, rolled | "
        "sqrt only |",
        "|---|---|---|---|---|---|",
    ]
    for name, g in frame.groupby("series", sort=True):
        cov = {r: g[f"{r}_beyond_in"].sum() / g[f"{r}_beyond_n"].sum() for r in ("rolled", "sqrt")}
        sc = {r: g[f"{r}_beyond_score"].mean() for r in ("rolled", "sqrt")}
        lines.append(
            f"| {name} | {len(g)} | {cov['rolled']:.3f} | {cov['sqrt']:.3f} | "
            f"{sc['rolled']:.2f} | {sc['sqrt']:.2f} |"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", nargs="+", default=None)
    parser.add_argument("--origins", nargs="+", type=int, default=[2, 3, 4])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--max-points", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--per-series", action="store_true")
    parser.add_argument(
        "--fit-all", action="store_true", help="fit with fh=1..3h (every step measured)"
    )
    args = parser.parse_args(argv)
    names = [s.name for s in selection(args.series) if len(s.y) <= args.max_points]
    tasks = list(tasks_for(names, args.origins, args.seeds, args.fit_all))
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(run, tasks))
    wall = time.perf_counter() - start
    series = sorted({r["series"] for r in rows})
    print(
        f"# recursive intervals: {len(rows)} fits, {len(series)} series, origins "
        f"{args.origins}, seeds {args.seeds}, fh=1..{SPAN if args.fit_all else ''}h fitted, "
        f"{SPAN}h steps asked; "
        f"{wall:.0f} s with {args.jobs} worker(s)\n"
    )
    print("\n".join(table(rows)))
    if args.per_series:
        print()
        print("\n".join(per_series(rows)))


if __name__ == "__main__":
    main()

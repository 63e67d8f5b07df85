"""Measured, not adopted: a damped-trend exponential-smoothing baseline in the safety net.

Replays the default blend (``context``: the library's ``history_forecasts``,
``blend_weights``, ``series_unit``) on the fits dumped by ``dump_heldout.py``, with a fifth
candidate baseline: Gardner's damped-trend exponential smoothing on the history before each
origin (deseasonalised as the theta baseline is; alpha, beta and phi chosen per history on
a grid by the least one-step squared error). Also ``comb``: the mean of theta and damped.
No refits: only the baselines offered change.

    OMP_NUM_THREADS=1 python benchmarks/dump_heldout.py --jobs 2 --out /tmp/dump \\
        --series <the 35 series> --max-points 100000
    python benchmarks/experiments/replay_damped_baseline.py /tmp/dump [--per-series]
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bench_forecast_accuracy import mase  # noqa: E402
from select_blend import gmean  # noqa: E402

from sklstm._forecast.baselines import (  # noqa: E402
    blend,
    blend_weights,
    context_length,
    history_forecasts,
    origin_histories,
    seasonal_indices,
)
from sklstm._forecast.model import series_unit  # noqa: E402

ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
BETAS = (0.01, 0.05, 0.1, 0.2)
PHIS = (0.8, 0.9, 0.98)
FOUR = ("seasonal_naive", "naive", "drift", "theta")
RULES = {
    "context (the default)": FOUR,
    "context + damped": (*FOUR, "damped"),
    "context, damped for drift": ("seasonal_naive", "naive", "theta", "damped"),
    "context + comb": (*FOUR, "comb"),
}


def damped_forecast(past_y, n_steps: int, sp: int) -> np.ndarray:
    """Damped-trend smoothing of windows ``(m, L, ny)``: forecasts ``(m, n_steps, ny)``."""
    m, L, ny = past_y.shape
    index = seasonal_indices(past_y, sp)
    z = past_y if index is None else past_y / index[:, np.arange(L) % sp]
    a, b, p = np.meshgrid(ALPHAS, BETAS, PHIS, indexing="ij")
    keep = b <= a
    a, b, p = (x[keep][:, None, None] for x in (a, b, p))
    level = np.repeat(z[None, :, 0, :], len(a), axis=0)
    trend = np.repeat(z[None, :, 1, :] - z[None, :, 0, :], len(a), axis=0)
    unit = np.abs(z - z[:, :1]).max(axis=1)
    unit = np.where(unit > 0, unit, 1.0)[None]
    sse = np.zeros_like(level)
    for t in range(1, L):
        pred = level + p * trend
        err = z[None, :, t, :] - pred
        sse += (err / unit) ** 2
        level, trend = pred + a * err, p * trend + b * err
    best = np.argmin(sse, axis=0)[None]
    lv, tr = np.take_along_axis(level, best, 0)[0], np.take_along_axis(trend, best, 0)[0]
    phi = p[:, 0, 0][best[0]]
    steps = np.arange(1, n_steps + 1)
    path = lv[:, None] + tr[:, None] * np.cumsum(phi[:, None] ** steps[None, :, None], axis=1)
    return path if index is None else path * index[:, (L - 1 + steps) % sp]


def history_damped(histories, n_steps: int, sp: int) -> np.ndarray:
    out = np.full((len(histories), n_steps, histories[0].shape[1]), np.nan)
    lengths = np.array([len(h) for h in histories])
    for n in np.unique(lengths[lengths >= 3]):
        rows = np.flatnonzero(lengths == n)
        for s in range(0, len(rows), 256):
            part = rows[s : s + 256]
            out[part] = damped_forecast(np.stack([histories[i] for i in part]), n_steps, sp)
    return out


def load(path):
    d = dict(np.load(path))
    d["series"] = Path(path).name.rsplit("_k", 1)[0]
    Y, L, n = d["y_train"], int(d["lookback"]), len(d["truth"])
    starts = np.arange(len(Y) - L - n, len(Y) - L)
    sp, h_tail, h = int(d["model_sp"]), d["truth"].shape[1], len(d["y_test"])
    C, Y2 = context_length(sp, L), Y[:, None]
    hist, now = origin_histories(Y2, starts + L, C), [Y2[-C:]]
    d["tail"], d["now"] = history_forecasts(hist, h_tail, sp), history_forecasts(now, h, sp)
    d["tail"]["damped"], d["now"]["damped"] = (
        history_damped(hist, h_tail, sp),
        history_damped(now, h, sp),
    )
    for k in ("tail", "now"):
        damped = np.where(np.isnan(d[k]["damped"]), d[k]["theta"], d[k]["damped"])
        d[k]["comb"] = 0.5 * (d[k]["theta"] + damped)
    return d


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump")
    parser.add_argument("--per-series", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for d in (load(p) for p in sorted(glob.glob(str(Path(args.dump) / "*.npz")))):
        y, sp, h = d["y_train"], int(d["sp"]), len(d["y_test"])
        row = {
            "series": d["series"],
            "seasonal naive": mase(d["y_test"], y[len(y) - sp + np.arange(h) % sp], y, sp),
        }
        for name in ("theta", "damped"):
            row[f"{name} alone"] = mase(d["y_test"], d["now"][name][0, :, 0], y, sp)
        net_tail, net_now = d["members_tail"].mean(axis=0), d["members_now"].mean(axis=0)
        for rule, names in RULES.items():
            w = blend_weights(
                d["truth"], net_tail, {k: d["tail"][k] for k in names}, series_unit(d["level"])
            )
            row[rule] = mase(
                d["y_test"], blend(net_now, {k: d["now"][k] for k in names}, w)[0, :, 0], y, sp
            )
        rows.append(row)
    per = pd.DataFrame(rows).groupby("series").agg(gmean)
    print(f"{len(rows)} fits, {len(per)} series, origins k >= 2")
    print("| rule | gmean MASE | better than seasonal naive |")
    print("|---|---|---|")
    for col in per.columns:
        wins = int((per[col] < per["seasonal naive"]).sum())
        print(f"| {col} | {gmean(per[col]):.4f} | {wins} of {len(per)} |")
    if args.per_series:
        print(per.round(3).to_string())


if __name__ == "__main__":
    main()

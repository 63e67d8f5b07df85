"""Score interval rules on the fits dumped by ``dump_heldout.py``, no refits.

Every rule sees the same networks and the same blend (the default ``context`` rule of
``select_blend_dump.py``: the library's ``history_forecasts`` and ``blend_weights``); only
how the held-out errors of the blend turn into a 90 % interval changes. For each fit
(series, origin), the interval from the origin is scored on the truth after it:

- coverage: the share of points inside (pooled, and the mean over series);
- the interval score (Gneiting & Raftery's proper score of a central interval: its width
  plus 20 times the distance of a point outside it), divided by the MASE scale of the
  series and averaged over the horizon: lower is better, and widening only pays where it
  catches points.

Rules (``NAME: scale / quantile``):

- ``current``: the library's ``residual_scale`` (RMSE per step of the held-out relative
  errors, non-decreasing), Student-t with ``n_origins - 1`` degrees of freedom;
- ``x1.05`` ... ``x1.3``: the same scale times a factor;
- ``df_per_step``: Student-t with ``n_origins / k - 1`` degrees of freedom at step ``k``
  (origins closer than ``k`` share their errors' shocks: about ``n / k`` independent ones);
- ``df_horizon``: ``n_origins / h - 1`` for every step;
- ``conformal``: per step the ``ceil(0.9 (n + 1))``-th smallest absolute error
  (non-decreasing over the steps).

    OMP_NUM_THREADS=1 python benchmarks/dump_heldout.py --jobs 2 --out /tmp/dump
    python benchmarks/select_intervals_dump.py /tmp/dump
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402
from select_blend_dump import load  # noqa: E402

from sklstm._forecast import baselines as B  # noqa: E402
from sklstm._forecast import intervals as I  # noqa: E402
from sklstm._forecast.model import blend_errors, series_unit  # noqa: E402

LEVEL = 0.9
FACTORS = (1.05, 1.1, 1.2, 1.3)


def held_out_errors(d):
    """The blend's relative errors at the held-out origins, as ``ForecastModel.calibrate``
    measures them, and the blend's forecast from the origin ``(h,)``."""
    net_tail, net_now = d["members_tail"].mean(0), d["members_now"].mean(0)
    w = B.blend_weights(d["truth"], net_tail, d["context_tail"], series_unit(d["level"]))
    errors = blend_errors(d["truth"], net_tail, d["context_tail"], w, d["level"])
    return errors, B.blend(net_now, d["context_now"], w)[0, :, 0]


def half_widths(errors, h):
    """``{rule: half-width per step, relative to the level, (h,)}``."""
    scale, n = I.residual_scale(errors)
    sig = I.step_scale(scale, np.arange(1, h + 1))[:, 0]
    steps = np.arange(1, h + 1)

    def t(df):
        return stats.t(df=np.maximum(df, 1)).ppf(0.5 + LEVEL / 2)

    rules = {"current": t(n - 1) * sig}
    for c in FACTORS:
        rules[f"x{c}"] = c * t(n - 1) * sig
    rules["df_per_step"] = t(n / steps - 1) * sig
    rules["df_horizon"] = t(n // h - 1) * sig
    a = np.abs(errors[:, :, 0])
    q = np.zeros(a.shape[1])
    for k in range(a.shape[1]):
        v = np.sort(a[:, k][np.isfinite(a[:, k])])
        if len(v):
            q[k] = v[min(int(np.ceil((len(v) + 1) * LEVEL)) - 1, len(v) - 1)]
    q = np.maximum.accumulate(q)
    # past the measured steps: square-root growth, as step_scale does
    rules["conformal"] = I.step_scale(q[:, None], steps)[:, 0]
    return rules


def mase_scale(y, sp):
    sp = sp if 1 < sp < len(y) else 1
    return float(np.mean(np.abs(y[sp:] - y[:-sp])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dump", help="the --out folder of dump_heldout.py")
    args = parser.parse_args(argv)
    inside, points, scores = {}, {}, {}
    files = sorted(glob.glob(str(Path(args.dump) / "*.npz")))
    if not files:
        raise SystemExit(f"no .npz files in {args.dump}")
    for path in files:
        d = load(path)
        errors, now = held_out_errors(d)
        y, truth, L = d["y_train"], d["y_test"], int(d["lookback"])
        level = max(float(np.abs(y[-L:]).mean()), 1e-12)
        scale = mase_scale(y, int(d["sp"]))
        for rule, half in half_widths(errors, len(truth)).items():
            lo, hi = now - half * level, now + half * level
            miss = np.maximum(lo - truth, 0) + np.maximum(truth - hi, 0)
            score = (hi - lo) + (2 / (1 - LEVEL)) * miss
            key = (rule, d["series"])
            inside[key] = inside.get(key, 0) + int(((truth >= lo) & (truth <= hi)).sum())
            points[key] = points.get(key, 0) + len(truth)
            scores.setdefault(key, []).append(float(np.mean(score)) / scale)
    rules = list(dict.fromkeys(r for r, _ in inside))
    series = sorted({s for _, s in inside})
    print(f"{len(files)} fits, {len(series)} series\n")
    print("| rule | coverage pooled | mean of series | lowest series | interval score (gmean) |")
    print("|---|---|---|---|---|")
    for rule in rules:
        share = [inside[rule, s] / points[rule, s] for s in series]
        pooled = sum(inside[rule, s] for s in series) / sum(points[rule, s] for s in series)
        g = np.exp(np.mean([np.mean(np.log(scores[rule, s])) for s in series]))
        print(f"| {rule} | {pooled:.3f} | {np.mean(share):.3f} | {min(share):.2f} | {g:.3f} |")


if __name__ == "__main__":
    main()

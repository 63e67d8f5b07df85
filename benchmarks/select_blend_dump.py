"""Score blend rules and baseline sets on the fits dumped by ``dump_heldout.py``, no refits.

Every rule sees the same networks (one default fit per series and origin, k >= 2);
only how the held-out tail turns into blend weights, and which baselines are offered,
change. MASE with the series' seasonal period; geometric mean over origins, then series.

    OMP_NUM_THREADS=1 python benchmarks/dump_heldout.py --jobs 2 --out /tmp/dump
    python benchmarks/select_blend_dump.py /tmp/dump [--baselines acc.jsonl] [--per-series]
    python benchmarks/select_blend_dump.py /tmp/dump --cross-check 300

``--cross-check N`` is the held-out check of a choice made on these fits: N random
halvings of the series; on one half, the best rule of a family (the penalty grid
``PENALTIES``, and separately every rule of ``RULES``) is chosen, and on the other half
it is scored against the default (``context``).

Rules (``NAME: baselines offered / how``):

- ``networks``: the networks alone;
- ``inv_mse_3``: seasonal naive, naive, drift; the best by inverse MSE (the 0.2 rule);
- ``inv_mse_theta_A``: the same plus the window theta with alpha ``A`` (0.5: the default);
- ``all_theta``: inverse-MSE weights over the networks and every baseline;
- ``penalised_C``: ``inv_mse_theta_0.5`` with the networks' held-out MSE multiplied by
  ``1 + C / n_origins`` (the optimism of an early-stopping choice made on the same tail);
- ``equal_best``: equal weights of the networks and the best of the four baselines;
- ``history_theta``: ``inv_mse_3`` plus theta on the whole history before each origin;
- ``optimal_context``: the ``context`` baselines, but the weight of the networks against
  each baseline is the one in [0, 1] with the least held-out MSE of the blend (it counts
  the correlation of the two errors, which inverse MSE ignores); the baseline whose blend
  has the least MSE is taken;
- ``context_window_level``: ``context`` with each origin's errors relative to its own
  window level (the default before the errors were measured in one unit per series);
- ``context``: the default since 0.3: all four baselines from up to ``context_length``
  rows of history before each origin (``history_forecasts``, ``blend_weights``,
  ``series_unit``: the library's own functions), not only the network's window.
  ``inv_mse_theta_0.5`` is the default of 0.2 (every baseline from the window).
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bench_forecast_accuracy import mase  # noqa: E402
from select_blend import gmean  # noqa: E402

from sklstm._forecast.baselines import (  # noqa: E402
    MIN_SHARE,
    baseline_forecasts,
    blend,
    blend_weights,
    context_length,
    history_forecasts,
    networks_alone,
    origin_histories,
    theta_forecast,
)
from sklstm._forecast.model import series_unit  # noqa: E402

THREE = ("seasonal_naive", "naive", "drift")


def load(path):
    d = dict(np.load(path))
    d["series"] = Path(path).name.rsplit("_k", 1)[0]
    Y, L, n = d["y_train"], int(d["lookback"]), len(d["truth"])
    starts = np.arange(len(Y) - L - n, len(Y) - L)
    sp, h_tail, h = int(d["model_sp"]), d["truth"].shape[1], len(d["y_test"])
    tail, now = Y[starts[:, None] + np.arange(L)][:, :, None], Y[-L:].reshape(1, -1, 1)
    d["tail"] = {k: v for k, v in baseline_forecasts(tail, h_tail, sp).items() if k in THREE}
    d["now"] = {k: v for k, v in baseline_forecasts(now, h, sp).items() if k in THREE}
    for alpha in (0.2, 0.5, 0.8):
        d["tail"][f"theta_{alpha}"] = theta_forecast(tail, h_tail, sp, alpha)
        d["now"][f"theta_{alpha}"] = theta_forecast(now, h, sp, alpha)
    d["tail"]["history_theta"] = np.stack(
        [theta_forecast(Y[None, : s + L, None], h_tail, sp)[0] for s in starts]
    )
    d["now"]["history_theta"] = theta_forecast(Y[None, :, None], h, sp)
    C, Y2 = context_length(sp, L), Y[:, None]
    d["context_tail"] = history_forecasts(origin_histories(Y2, starts + L, C), h_tail, sp)
    d["context_now"] = history_forecasts([Y2[-C:]], h, sp)
    return d


def _mse(truth, path, level):
    err = (truth - path) / level[:, None, :]
    return float(np.nanmean(err**2)) if np.isfinite(err).any() else np.nan


def optimal_weights(d, net_tail):
    """The ``optimal_context`` weights: least held-out MSE of network + one baseline."""
    truth, level = d["truth"], d["level"][:, None, :]
    net_err = (truth - net_tail) / level
    n_scored, best = int(np.isfinite(net_err).sum()), None
    for name, path in d["context_tail"].items():
        err = (truth - path) / level
        both = np.isfinite(err) & np.isfinite(net_err)
        if not both.any() or both.sum() < MIN_SHARE * n_scored:
            continue
        a, b = net_err[both], err[both]
        gap = a - b  # the blend's error is b + w * gap
        w = float(np.clip(-np.mean(b * gap) / max(np.mean(gap * gap), 1e-300), 0.0, 1.0))
        mse = float(np.mean((b + w * gap) ** 2))
        if best is None or mse < best[0]:
            best = (mse, name, w)
    weights = networks_alone()
    if best is not None:
        weights.update({"network": best[2], best[1]: 1.0 - best[2]})
    return weights


def forecast(d, rule):
    """The rule's forecast from the origin, ``(1, h, 1)``."""
    net_tail, net_now = d["members_tail"].mean(axis=0), d["members_now"].mean(axis=0)
    if rule == "networks":
        return net_now
    if rule == "context":
        unit = series_unit(d["level"])
        weights = blend_weights(d["truth"], net_tail, d["context_tail"], unit)
        return blend(net_now, d["context_now"], weights)
    if rule == "context_window_level":
        weights = blend_weights(d["truth"], net_tail, d["context_tail"], d["level"])
        return blend(net_now, d["context_now"], weights)
    if rule == "optimal_context":
        return blend(net_now, d["context_now"], optimal_weights(d, net_tail))
    names, combine_all, penalty = THREE, False, 0.0
    if rule.startswith("inv_mse_theta_"):
        names = (*THREE, "theta_" + rule.rsplit("_", 1)[1])
    elif rule == "all_theta":
        names, combine_all = (*THREE, "theta_0.5"), True
    elif rule.startswith("penalised_"):
        names, penalty = (*THREE, "theta_0.5"), float(rule.rsplit("_", 1)[1])
    elif rule == "history_theta":
        names = (*THREE, "history_theta")
    elif rule == "equal_best":
        names = (*THREE, "theta_0.5")
    truth, level = d["truth"], d["level"]
    scores = {k: _mse(truth, d["tail"][k], level) for k in names if k in d["tail"]}
    scores = {k: v for k, v in scores.items() if np.isfinite(v) and v > 0}
    net = _mse(truth, net_tail, level) * (1 + penalty / len(truth))
    if not scores or not np.isfinite(net) or net <= 0:
        return net_now
    keys = list(scores) if combine_all else [min(scores, key=scores.get)]
    if rule == "equal_best":
        return 0.5 * net_now + 0.5 * d["now"][keys[0]]
    inverse = np.array([1 / net] + [1 / scores[k] for k in keys])
    w = inverse / inverse.sum()
    return w[0] * net_now + sum(wk * d["now"][k] for wk, k in zip(w[1:], keys, strict=True))


PENALTIES = tuple(f"penalised_{c}" for c in (0, 5, 10, 20, 40, 80, 160, 320))
DEFAULT = "context"

RULES = (
    "networks",
    "inv_mse_3",
    "inv_mse_theta_0.2",
    "inv_mse_theta_0.5",
    "inv_mse_theta_0.8",
    "all_theta",
    "penalised_20",
    "penalised_40",
    "equal_best",
    "history_theta",
    "optimal_context",
    "context_window_level",
    "context",
)


def cross_check(per, family, repeats, seed=0):
    """Choose the best of ``family`` on random halves of the series, score on the rest.

    ``per``: a frame of per-series MASE (one column per rule). Returns the chosen rules'
    counts, the mean held-out gmean of the chosen rule and of :data:`DEFAULT`, and the
    share of halvings where the chosen rule beat the default on the held-out half.
    """
    rng = np.random.default_rng(seed)
    chosen, scores = [], []
    for _ in range(repeats):
        half = rng.permutation(per.index.to_numpy())[: len(per) // 2]
        pick, rest = per.loc[half], per.drop(index=half)
        best = min(family, key=lambda r: gmean(pick[r]))
        chosen.append(best)
        scores.append((gmean(rest[best]), gmean(rest[DEFAULT])))
    scores = np.array(scores)
    return (
        pd.Series(chosen).value_counts(),
        float(scores[:, 0].mean()),
        float(scores[:, 1].mean()),
        float((scores[:, 0] < scores[:, 1]).mean()),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", help="the --out folder of dump_heldout.py")
    parser.add_argument("--baselines", help="a bench_forecast_accuracy --out JSONL")
    parser.add_argument("--per-series", action="store_true")
    parser.add_argument("--cross-check", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    data = [load(p) for p in sorted(glob.glob(str(Path(args.dump) / "*.npz")))]
    rows = [
        {
            "series": d["series"],
            **{
                r: mase(d["y_test"], forecast(d, r)[0, :, 0], d["y_train"], int(d["sp"]))
                for r in dict.fromkeys(RULES + PENALTIES)
            },
        }
        for d in data
    ]
    per = pd.DataFrame(rows).groupby("series").agg(gmean)
    snaive = {}
    for d in data:  # the seasonal-naive forecast from the origin (lag sp of the series)
        y, sp, h = d["y_train"], int(d["sp"]), len(d["y_test"])
        pred = y[len(y) - sp + np.arange(h) % sp]
        snaive.setdefault(d["series"], []).append(mase(d["y_test"], pred, y, sp))
    snaive = pd.Series({k: gmean(v) for k, v in snaive.items()})
    print(f"{len(data)} fits, {len(per)} series, origins k >= 2")
    print("| rule | gmean MASE | better than seasonal naive |")
    print("|---|---|---|")
    for r in RULES:
        wins = int((per[r] < snaive.loc[per.index]).sum())
        print(f"| {r} | {gmean(per[r]):.3f} | {wins} of {len(per)} |")
    print(f"| seasonal naive | {gmean(snaive):.3f} | - |")
    if args.baselines:
        base = pd.read_json(args.baselines, lines=True)
        for model in ("Theta", "AutoETS"):
            b = base[(base["model"] == model) & (base["origin"] >= 2)]
            b = b[b["series"].isin(per.index)].groupby("series")["mase"].agg(gmean)
            print(f"| {model} (sktime, same series and origins) | {gmean(b):.3f} | - |")
    if args.cross_check:
        for label, family in (("penalty grid", PENALTIES), ("every rule", RULES)):
            counts, chosen, default, share = cross_check(per, family, args.cross_check)
            top = ", ".join(f"{k} {v}" for k, v in counts.head(4).items())
            print(
                f"cross-check, {label}, {args.cross_check} halvings: held-out gmean of the "
                f"chosen rule {chosen:.4f} vs {DEFAULT} {default:.4f}; chosen better in "
                f"{100 * share:.0f} %; chosen most often: {top}"
            )
    if args.per_series:
        print(per.round(3).to_string())


if __name__ == "__main__":
    main()

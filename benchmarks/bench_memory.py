"""Peak memory of training on sliding windows: does it grow with the points or with the windows?

Each case runs in a fresh Python process (``tests/_memory.py``): it builds a float32
series and its windows (``make_windows``, a read-only view), makes one small warm-up fit
(lazily imported modules are not the data), then measures the rise of the peak resident
set size (RSS) over the measured fit. The ratio is that rise over the bytes the windows
would take if materialised, ``n_windows * lookback * 4``.

    python benchmarks/bench_memory.py                 # LSTMRegressor, 200,000 and 400,000 steps
    python benchmarks/bench_memory.py --contiguous    # also on np.ascontiguousarray(windows)
    python benchmarks/bench_memory.py --forecaster    # also LSTMForecaster on 1,000,000 points
    python benchmarks/bench_memory.py --no-warm-up    # count the first call's imports too

Regressor: ``LSTMRegressor(hidden_size=4, max_iter=1, batch_size=8192).fit(windows, targets)``
with ``lookback=256``. Forecaster:
``LSTMForecaster(lookback=256, hidden_size=4, max_iter=1, n_models=1).fit(y, fh=[1])``.
Each process runs with one thread. Recorded results: benchmarks/RESULTS.md ("Memory").
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests._memory import peak_rss_growth  # noqa: E402

LOOKBACK = 256

REGRESSOR_SETUP = """
import numpy as np
from sklstm import LSTMRegressor, make_windows

y = np.random.RandomState(0).normal(size={n}).astype(np.float32)
windows, targets = make_windows(y, lookback={lookback})
if {contiguous}:
    windows = np.ascontiguousarray(windows)
if {warm_up}:
    LSTMRegressor(hidden_size=4, max_iter=1, batch_size=64).fit(windows[:100], targets[:100])
report["n_windows"] = len(windows)
"""
REGRESSOR_RUN = """
LSTMRegressor(hidden_size=4, max_iter=1, batch_size={batch_size}).fit(windows, targets)
"""

FORECASTER_SETUP = """
import numpy as np
import pandas as pd
from sklstm import LSTMForecaster

params = dict(lookback={lookback}, hidden_size=4, max_iter=1, n_models=1)
y = pd.Series(np.random.RandomState(0).normal(size={n}).astype(np.float32))
if {warm_up}:
    LSTMForecaster(**params).fit(y[:2000], fh=[1])
report["n_windows"] = {n} - {lookback}
"""
FORECASTER_RUN = """
LSTMForecaster(**params).fit(y, fh=[1])
"""


def measure(name, setup, run, timeout):
    start = time.perf_counter()
    usage = peak_rss_growth(setup, run, timeout=timeout)
    seconds = time.perf_counter() - start
    windows = usage["report"]["n_windows"] * LOOKBACK * 4
    return {
        "case": name,
        "windows_mb": windows / 1e6,
        "growth_mb": usage["growth"] / 1e6,
        "ratio": usage["growth"] / windows,
        "seconds": seconds,
        "exact": usage["exact"],
    }


def cpu_name() -> str:
    """The CPU's model name (what ``lscpu | grep 'Model name'`` prints), where Linux says it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[200_000, 400_000])
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--contiguous", action="store_true", help="also contiguous windows")
    parser.add_argument("--forecaster", action="store_true", help="also LSTMForecaster, 1e6")
    parser.add_argument("--forecaster-steps", type=int, default=1_000_000)
    parser.add_argument("--no-warm-up", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    warm_up = not args.no_warm_up

    cases = []
    for contiguous in (False, True) if args.contiguous else (False,):
        for n in args.steps:
            kind = "contiguous" if contiguous else "view"
            name = f"LSTMRegressor, {n:,} steps, {kind}, batch {args.batch_size}"
            setup = REGRESSOR_SETUP.format(
                n=n, lookback=LOOKBACK, contiguous=contiguous, warm_up=warm_up
            )
            cases.append((name, setup, REGRESSOR_RUN.format(batch_size=args.batch_size)))
    if args.forecaster:
        n = args.forecaster_steps
        setup = FORECASTER_SETUP.format(n=n, lookback=LOOKBACK, warm_up=warm_up)
        cases.append((f"LSTMForecaster, {n:,} points, fh=[1]", setup, FORECASTER_RUN))

    print(f"machine: {cpu_name()}, python {sys.version.split()[0]}")
    print(f"lookback {LOOKBACK}, float32, hidden 4, max_iter 1, warm-up fit: {warm_up}\n")
    print("| case | windows (MB) | peak RSS increase (MB) | ratio | run (s) |")
    print("|---|---:|---:|---:|---:|")
    for name, setup, run in cases:
        row = measure(name, setup, run, args.timeout)
        flag = "" if row["exact"] else " (lower bound)"
        print(
            f"| {row['case']} | {row['windows_mb']:.0f} | {row['growth_mb']:.0f}{flag} "
            f"| {row['ratio']:.3f} | {row['seconds']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

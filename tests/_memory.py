"""Peak resident memory of a piece of code, measured in a fresh Python process.

``tracemalloc`` sees only Python's own allocator, not torch's nor most of numpy's
large buffers: a test built on it passes while the windows are copied. This helper
measures what the operating system sees instead, the peak resident set size (RSS),
in a subprocess so that earlier tests (and their freed memory) do not blur the figure.

Used by the memory tests (tests/test_regressor.py, tests/test_global.py) and by
benchmarks/bench_memory.py::

    from tests._memory import peak_rss_growth

    usage = peak_rss_growth(
        setup="import numpy as np; a = np.zeros(10**6)",
        run="b = a + 1",
    )
    usage["growth"]  # bytes: peak RSS while ``run`` ran, minus the RSS before it

Linux only for the exact figure (``/proc/self/status``; the peak is reset with
``/proc/self/clear_refs`` just before ``run``); elsewhere it falls back to
``resource.getrusage`` (``ru_maxrss``), whose peak cannot be reset: the growth is then
the rise of the lifetime peak, a lower bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, sys

def _status():
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f if line.startswith(("VmRSS", "VmHWM")))
        return {k: int(v.split()[0]) * 1024 for k, v in fields.items()}
    except OSError:
        return None

def _maxrss():
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux

def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

report = {}
exec(compile(SETUP, "<setup>", "exec"))
import gc
gc.collect()
status = _status()
before = status["VmRSS"] if status else _maxrss()
exact = status is not None and _reset_peak()
exec(compile(RUN, "<run>", "exec"))
peak = _status()["VmHWM"] if exact else _maxrss()
print("PEAK_RSS_JSON=" + json.dumps(
    {"before": before, "peak": peak, "growth": peak - before, "exact": exact, "report": report}
))
"""


def peak_rss_growth(setup: str, run: str, *, timeout: float = 300, threads: int = 1) -> dict:
    """How much the peak RSS of a fresh Python process rises while ``run`` executes.

    Parameters
    ----------
    setup : str
        Python code run first (imports, data, a warm-up call so that lazily imported
        modules are not counted). Not measured.
    run : str
        The code measured, in the same namespace as ``setup``.
    timeout : float, default=300
        Seconds before the subprocess is killed (the test then fails).
    threads : int, default=1
        ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` of the subprocess.

    Returns
    -------
    usage : dict
        ``before`` (RSS in bytes just before ``run``), ``peak`` (peak RSS during ``run``),
        ``growth`` (``peak - before``), ``exact`` (False when the peak could not be reset,
        see the module docstring) and ``report``: whatever JSON-serialisable values the
        code stored in the dict ``report`` (e.g. ``report["nbytes"] = windows.nbytes``).
    """
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    program = f"SETUP = {textwrap.dedent(setup)!r}\nRUN = {textwrap.dedent(run)!r}\n" + _CHILD
    result = subprocess.run(
        [sys.executable, "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"the measured code failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
        )
    lines = [line for line in result.stdout.splitlines() if line.startswith("PEAK_RSS_JSON=")]
    if not lines:
        raise RuntimeError(f"no measurement in the output:\n{result.stdout[-2000:]}")
    return json.loads(lines[-1].split("=", 1)[1])

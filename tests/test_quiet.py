"""A default run prints no warning the user did not cause.

The calls a new user makes run in a fresh interpreter (so import-time warnings
count too) with every warning shown (``simplefilter("always")``, stricter than
Python's defaults); the test fails on any warning at all.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("sktime", reason="LSTMForecaster needs sktime (pip install sklstm[sktime])")

# The forecaster's everyday calls, on tiny parameters (the defaults otherwise).
FORECASTER_CALLS = textwrap.dedent(
    """
    import numpy as np
    import pandas as pd
    from sklstm import LSTMForecaster

    tiny = dict(hidden_size=2, max_iter=2, n_models=1, random_state=0)
    t = np.arange(48)
    y = pd.Series(10 + np.sin(t / 2), index=pd.period_range("2000-01", periods=48, freq="M"))
    X = pd.DataFrame({"x": np.cos(t / 3)}, index=y.index)

    forecaster = LSTMForecaster(**tiny)
    forecaster.fit(y.iloc[:40], fh=[1, 2, 3])
    forecaster.predict()
    forecaster.predict_interval(coverage=0.9)
    forecaster.update(y.iloc[40:44], update_params=False)
    forecaster.update(y.iloc[44:], update_params=True)
    forecaster.predict()

    with_x = LSTMForecaster(**tiny).fit(y.iloc[:40], X=X.iloc[:40], fh=[1, 2])
    with_x.predict(X=X.iloc[40:42])
    with_x.update(y.iloc[40:42], X=X.iloc[40:42])

    LSTMForecaster(strategy="recursive", **tiny).fit(y).predict(fh=[1, 5])

    index = pd.MultiIndex.from_product([["a", "b", "c"], pd.RangeIndex(48)], names=["s", "t"])
    panel = pd.DataFrame({"y": np.tile(y.to_numpy(), 3)}, index=index)
    LSTMForecaster(**tiny).fit(panel, fh=[1, 2]).predict()  # series by series
    pretrained = LSTMForecaster(**tiny).pretrain(panel, fh=[1, 2])
    pretrained.pretrain(panel, fh=[1, 2])  # a second batch
    pretrained.forecast_panel(panel)
    pretrained.fit(y, fh=[1, 2]).predict()
    """
)

RUNNER = textwrap.dedent(
    """
    import json, sys, warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(sys.stdin.read(), "<calls>", "exec"), {"__name__": "__calls__"})
    print(json.dumps([
        f"{w.category.__name__} at {w.filename}:{w.lineno}: {w.message}" for w in caught
    ]))
    """
)


def warnings_emitted(calls: str) -> list[str]:
    """Every warning ``calls`` emits when run in a fresh interpreter, as text."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": ""}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=calls,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_forecasters_everyday_calls_emit_no_warning():
    """Construction, fit, predict, predict_interval, update, X, panels, pretrain and
    forecast_panel: not one warning (sktime's remember_data FutureWarning and pandas'
    groupby FutureWarning included)."""
    emitted = warnings_emitted(FORECASTER_CALLS)
    assert emitted == [], "\n".join(emitted)

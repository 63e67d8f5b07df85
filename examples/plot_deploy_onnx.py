"""
=====================================================
Deploying a tuned pipeline with ONNX, without PyTorch
=====================================================

A model is tuned with scikit-learn's tools, then served by a process that has neither
PyTorch nor sklstm nor scikit-learn installed: :func:`sklstm.to_onnx` writes the fitted
:class:`~sklearn.pipeline.Pipeline` -- windows, scaling, the LSTM and the target scaling --
as one ONNX graph, and `onnxruntime <https://onnxruntime.ai>`_ runs it. The last part does
the same for an :class:`~sklstm.LSTMForecaster`: the graph turns the newest points of the
series into ``predict``'s forecast.

See :ref:`deploying` for what the graph takes and returns, and for the skl2onnx route
that handles Pipelines with scikit-learn steps.
"""

# %%
# Tune a pipeline
# ---------------
# An hourly load with a daily cycle that also follows the temperature; the target is
# the next hour's load. The pipeline windows the table (each row gets the window of
# ``lookback`` rows ending at it), scales each channel and fits the LSTM; a small,
# chronological grid search picks the lookback.
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline

import sklstm
from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer

rng = np.random.RandomState(0)
hours = np.arange(900)
temperature = 15 + 8 * np.sin(2 * np.pi * hours / 24 - 1.0) + rng.normal(0, 1, hours.size)
load = 100 + 20 * np.sin(2 * np.pi * hours / 24) + 1.5 * temperature
load += rng.normal(0, 2, hours.size)
table = np.column_stack([load, temperature]).astype(np.float32)  # rows: hours, oldest first
X, y = table[:-1], table[1:, 0]  # row t predicts the load of hour t + 1
n_train = 700

pipe = Pipeline(
    [
        ("windows", WindowTransformer(lookback=12)),
        ("scale", SequenceScaler()),
        ("lstm", LSTMRegressor(hidden_size=16, batch_size=64, max_iter=25, random_state=0)),
    ]
)
search = GridSearchCV(
    pipe,
    {"windows__lookback": [6, 12]},
    cv=TimeSeriesSplit(n_splits=2),
    scoring="neg_root_mean_squared_error",
).fit(X[:n_train], y[:n_train])
model = search.best_estimator_
print("best lookback:", search.best_params_["windows__lookback"])

# %%
# Export it
# ---------
# One call writes the whole pipeline. The graph's input ``"X"`` is what the pipeline
# takes -- the table's rows, float32 ``(n_rows, 2)``, any number of rows -- and its
# output ``"y"`` is ``predict``'s, in the units of the target.
workdir = Path(tempfile.mkdtemp(prefix="sklstm-deploy-"))  # where the service lives
sklstm.to_onnx(model, str(workdir / "load_model.onnx"))

# %%
# Serve it without PyTorch
# ------------------------
# The service below needs only numpy and onnxruntime; it is run in a separate process in
# which importing torch, sklstm or scikit-learn fails. A window needs the rows before
# the one predicted for, so the service keeps the last ``lookback`` rows and predicts
# from the last window.
lookback = model.named_steps["windows"].lookback
service = textwrap.dedent(
    f"""
    import sys
    for name in ("torch", "sklstm", "sklearn"):
        sys.modules[name] = None  # not installed, as far as this process can tell
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession("load_model.onnx", providers=["CPUExecutionProvider"])
    history = np.load("recent_rows.npy")  # the newest rows of the table, oldest first

    def next_hour_load(rows):
        return float(session.run(None, {{"X": rows[-{lookback}:]}})[0][-1])

    print(f"{{next_hour_load(history):.3f}}")
    """
)
with open(workdir / "service.py", "w") as f:
    f.write(service)
np.save(workdir / "recent_rows.npy", X[: n_train + 50])
answer = subprocess.run(
    [sys.executable, "service.py"], capture_output=True, text=True, check=True, cwd=workdir
).stdout
print("the service says:", answer.strip())
print(f"pipe.predict says: {model.predict(X[: n_train + 50])[-1]:.3f}")

# %%
# The same numbers as ``predict``
# -------------------------------
# On the whole table, the graph gives ``predict``'s outputs up to float32 rounding, and
# runs without scikit-learn's validation and skorch's batching around the network.
session = ort.InferenceSession(
    str(workdir / "load_model.onnx"), providers=["CPUExecutionProvider"]
)
y_onnx = session.run(None, {"X": X})[0]
y_sklstm = model.predict(X)
print(f"max relative difference: {np.abs(y_onnx - y_sklstm).max() / np.abs(y_sklstm).max():.1e}")

start = time.perf_counter()
session.run(None, {"X": X})
onnx_ms = 1e3 * (time.perf_counter() - start)
start = time.perf_counter()
model.predict(X)
predict_ms = 1e3 * (time.perf_counter() - start)
print(f"{len(X)} rows: onnxruntime {onnx_ms:.1f} ms, predict {predict_ms:.1f} ms")

fig, ax = plt.subplots(figsize=(8, 3.5))
test = slice(n_train, n_train + 120)
ax.plot(hours[1:][test], y[test], color="0.6", label="load (next hour)")
ax.plot(hours[1:][test], y_onnx[test], label="onnxruntime")
ax.plot(hours[1:][test], y_sklstm[test], ls="--", label="pipe.predict")
ax.set_xlabel("hour")
ax.set_ylabel("load")
ax.set_title("Held-out hours: the ONNX graph and predict agree")
ax.legend(loc="upper right")
fig.tight_layout()
plt.show()

# %%
# A forecaster, without sktime or PyTorch
# ---------------------------------------
# :func:`sklstm.to_onnx` also exports a fitted :class:`~sklstm.LSTMForecaster`: the
# graph's input ``"y"`` is the newest ``context_`` points of the series, float32
# ``(context_, n_targets)`` (the networks read the newest ``lookback_`` of them, the
# baselines of the blend all of them), and its output ``"y_pred"`` the forecast of steps
# ``1 .. 12`` -- the window normalisations, every network of the ensemble, their mean and
# the blend with the baselines are all in the graph. A small forecaster keeps this fast.
from sktime.datasets import load_airline  # noqa: E402

from sklstm import LSTMForecaster  # noqa: E402

airline = load_airline()
forecaster = LSTMForecaster(lookback=24, max_iter=20, n_models=1, random_state=0)
forecaster.fit(airline, fh=list(range(1, 13)))
sklstm.to_onnx(forecaster, str(workdir / "forecaster.onnx"))
np.save(
    workdir / "newest_points.npy",
    airline.to_numpy(dtype=np.float32)[-forecaster.context_ :, None],
)

forecast_service = textwrap.dedent(
    """
    import sys
    for name in ("torch", "sklstm", "sklearn", "sktime", "pandas"):
        sys.modules[name] = None  # not installed, as far as this process can tell
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession("forecaster.onnx", providers=["CPUExecutionProvider"])
    y_pred = session.run(None, {"y": np.load("newest_points.npy")})[0]
    print(" ".join(f"{v:.6f}" for v in y_pred[:, 0]))
    """
)
with open(workdir / "forecast_service.py", "w") as f:
    f.write(forecast_service)
answer = subprocess.run(
    [sys.executable, "forecast_service.py"],
    capture_output=True,
    text=True,
    check=True,
    cwd=workdir,
).stdout
served = np.array(answer.split(), dtype=np.float64)
expected = forecaster.predict().to_numpy()
difference = np.abs(served - expected).max() / np.abs(expected).max()
print("the forecast service says:", " ".join(f"{v:.1f}" for v in served))
print("forecaster.predict says:  ", " ".join(f"{v:.1f}" for v in expected))
print(f"max relative difference: {difference:.1e}")

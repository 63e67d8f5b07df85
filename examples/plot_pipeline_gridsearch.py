"""
===========================================================
LSTM against gradient boosting in one GridSearchCV
===========================================================

:class:`~sklstm.WindowTransformer` gives every row of a time-ordered table the window of
``lookback`` rows ending at it: 3-D for :class:`~sklstm.LSTMRegressor`, or flat
(``output="flat"``) for any tabular model. So an LSTM and a
:class:`~sklearn.ensemble.HistGradientBoostingRegressor` can be tuned and compared in
*one* :class:`~sklearn.model_selection.GridSearchCV`, on exactly the same windows, with
chronological cross-validation (:class:`~sklearn.model_selection.TimeSeriesSplit`).

See :ref:`windows` for lookback, horizon and stride, and :ref:`validation` for why the
folds must be chronological.
"""

# %%
# The data: a noisy Mackey-Glass series
# -------------------------------------
# The Mackey-Glass delay equation :math:`\dot x = 0.2\,x_{t-17} / (1 + x_{t-17}^{10})
# - 0.1\,x_t` is the classic chaotic benchmark for recurrent networks: the next value
# depends non-linearly on values 17 time units back. 1200 samples (every 3 time units),
# plus 2 % observation noise; the target is the value 2 samples ahead. The last 200
# samples are a final test set that the search never sees.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import Pipeline

from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer


def mackey_glass(n_samples, tau=17, every=3, noise=0.02, seed=0):
    """``n_samples`` values of the Mackey-Glass series (Euler steps of 1), with noise."""
    rng = np.random.RandomState(seed)
    x = np.full(n_samples * every + tau + 500, 1.2)
    x[:tau] += 0.1 * rng.rand(tau)
    for t in range(tau, len(x) - 1):
        x[t + 1] = x[t] + 0.2 * x[t - tau] / (1 + x[t - tau] ** 10) - 0.1 * x[t]
    clean = x[tau + 500 :: every][:n_samples]
    return clean + noise * rng.normal(size=n_samples)


series = pd.Series(mackey_glass(1202), name="x")
X = series.to_frame().iloc[:-2]  # the series up to sample t ...
y = series.shift(-2).iloc[:-2]  # ... predicts sample t + 2
n_train = len(X) - 200
X_train, y_train = X.iloc[:n_train], y.iloc[:n_train]

# %%
# One pipeline, two families of models
# ------------------------------------
# The steps are named so that the grid can swap them: ``windows`` cuts the windows,
# ``scale`` scales each channel, ``model`` learns. The second grid replaces the LSTM by
# gradient boosting on the *flat* windows (columns ``x_lag0 .. x_lag{k}``), which
# needs no scaling. Both grids tune the lookback. The LSTM trains for a fixed budget of
# small batches.
pipe = Pipeline(
    [
        ("windows", WindowTransformer(lookback=12)),
        ("scale", SequenceScaler()),
        (
            "model",
            LSTMRegressor(
                hidden_size=16, batch_size=32, max_iter=40, n_iter_no_change=None, random_state=0
            ),
        ),
    ]
)
grid = [
    {"windows__lookback": [8, 16]},
    {
        "windows__lookback": [8, 16],
        "windows__output": ["flat"],
        "scale": ["passthrough"],
        "model": [HistGradientBoostingRegressor(max_iter=100, random_state=0)],
        "model__learning_rate": [0.05, 0.2],
    },
]
search = GridSearchCV(
    pipe, grid, cv=TimeSeriesSplit(n_splits=3), scoring="neg_root_mean_squared_error"
)
search.fit(X_train, y_train)

# %%
# :class:`~sklearn.model_selection.TimeSeriesSplit` trains every fold on the samples before
# its test samples only, and the whole pipeline -- windows, scaler, model -- is refitted in
# each fold, so no statistic of a test sample reaches training. (Each test fold is windowed
# on its own, so its first ``lookback - 1`` windows are padded; both families see the same
# padded windows, so the comparison stays fair; with ~250 test rows per fold the padded
# rows are few.)
cv = pd.DataFrame(search.cv_results_)
cv["model"] = [type(p["model"]).__name__ if "model" in p else "LSTMRegressor" for p in cv.params]
cv["lookback"] = cv["param_windows__lookback"]
cv["learning_rate"] = cv["param_model__learning_rate"]
cv["RMSE (cv)"] = -cv["mean_test_score"]
table = cv[["model", "lookback", "learning_rate", "RMSE (cv)", "mean_fit_time"]]
print(table.sort_values("RMSE (cv)").to_string(index=False, float_format="{:.4f}".format))
print("best:", search.best_params_)

# %%
# The held-out test samples
# -------------------------
# The best candidate of each family, refitted on all 1000 training samples, forecasts the
# 200 test samples. As in :ref:`windows`, the *whole* table is windowed and the test rows
# kept, so the test windows reach back into known past samples instead of being padded.
best = {}
for family in ["LSTMRegressor", "HistGradientBoostingRegressor"]:
    rows = cv[cv["model"] == family]
    params = rows.loc[rows["RMSE (cv)"].idxmin(), "params"]
    model = clone(pipe).set_params(**params).fit(X_train, y_train)
    best[family] = model.predict(X)[n_train:]

y_test = y.iloc[n_train:]
forecasts = {"naive (last value)": X.iloc[n_train:, 0], **best}
for name, forecast in forecasts.items():
    print(f"test RMSE {name:<38s} {root_mean_squared_error(y_test, forecast):.4f}")

steps = y_test.index[:100]  # the first half of the test set, for legibility
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(steps, y_test.iloc[:100], "k.", label="observed")
for name, forecast in forecasts.items():
    rmse = root_mean_squared_error(y_test, forecast)
    ax.plot(steps, np.asarray(forecast)[:100], label=f"{name} (RMSE {rmse:.3f})")
ax.set_xlabel("sample")
ax.set_title("Two-step-ahead forecasts, held-out test samples")
ax.legend(fontsize=8, loc="lower left")
fig.tight_layout()

# %%
# Reading the result: the printed numbers are those of the run that built this page. The
# point of the example is the method -- one search, the same windows, chronological folds,
# and a final check on samples nobody tuned on -- more than the winner: with a larger
# budget (more epochs, more units) the LSTM improves, and gradient boosting on lags
# stays the baseline any network has to beat.

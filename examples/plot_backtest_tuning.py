"""
Backtesting and tuning an LSTMForecaster with sktime
====================================================

:class:`~sklstm.LSTMForecaster` is an ordinary sktime forecaster, so sktime's
model-selection tools work on it unchanged:

* ``evaluate`` backtests it: refit on an expanding window, forecast the next
  year, score, move on one year;
* ``ForecastingGridSearchCV`` tunes its parameters with the same kind of
  temporal cross-validation.

The grid here is small and the networks are trained briefly (one network,
fewer epochs) so that the example runs in well under a minute on a CPU.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sktime.datasets import load_airline
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError
from sktime.split import ExpandingWindowSplitter

from sklstm import LSTMForecaster

y = load_airline()
fh = np.arange(1, 13)
quick = {"n_models": 1, "max_iter": 60, "random_state": 0}

# %%
# Backtest: three yearly folds, each trained on all the months before it.
cv = ExpandingWindowSplitter(fh=fh, initial_window=108, step_length=12)
results = evaluate(
    LSTMForecaster(**quick),
    cv,
    y,
    scoring=MeanAbsoluteScaledError(sp=12),
    return_data=True,
)
print(results[["cutoff", "test_MeanAbsoluteScaledError", "fit_time"]])

# %%
# Tuning: lookback and network width, scored by the same kind of backtest on
# the data before the last year (which stays out of the search).
y_search, y_last_year = y.iloc[:-12], y.iloc[-12:]
search_cv = ExpandingWindowSplitter(fh=fh, initial_window=108, step_length=12)
search = ForecastingGridSearchCV(
    LSTMForecaster(**quick),
    cv=search_cv,
    param_grid={"lookback": [12, 24], "hidden_size": [16, 32]},
    scoring=MeanAbsoluteScaledError(sp=12),
)
search.fit(y_search, fh=fh)
print("best parameters:", search.best_params_)
print(search.cv_results_[["params", "mean_test_MeanAbsoluteScaledError"]])
score = MeanAbsoluteScaledError(sp=12)(y_last_year, search.predict(), y_train=y_search)
print(f"tuned model on the last year: MASE {score:.2f}")

# %%
# The backtest's forecasts against the data.
shown = y.loc["1955-01":]
fig, ax = plt.subplots(figsize=(9, 4))
ax.plot(shown.index.to_timestamp(), shown.to_numpy(), color="black", label="airline passengers")
for i, (y_pred, score) in enumerate(
    zip(results["y_pred"], results["test_MeanAbsoluteScaledError"], strict=True)
):
    ax.plot(
        y_pred.index.to_timestamp(),
        y_pred.to_numpy(),
        color=f"C{i + 1}",
        label=f"forecast from {y_pred.index[0] - 1} (MASE {score:.2f})",
    )
ax.set_ylabel("passengers (thousands)")
ax.set_title("Expanding-window backtest of LSTMForecaster")
ax.legend()
fig.tight_layout()
plt.show()

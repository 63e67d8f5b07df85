"""
Forecasting airline passengers with 90 % prediction intervals
=============================================================

:class:`~sklstm.LSTMForecaster` with its default settings forecasts the last
year of the monthly airline passenger series (shipped with sktime) from the
eleven years before it, with 90 % prediction intervals, and sktime's
``plot_series`` draws them.

The forecaster normalises every window by its own level, so it follows the
series' trend and its growing seasonal swings (by default half of its networks
forecast relative to the window's level, half the change from its last value);
the interval widths come from its errors on the held-out newest windows (see
the class docstring).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sktime.datasets import load_airline
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import MeanAbsoluteScaledError
from sktime.split import temporal_train_test_split
from sktime.utils.plotting import plot_series

from sklstm import LSTMForecaster

y = load_airline()
y_train, y_test = temporal_train_test_split(y, test_size=12)
fh = np.arange(1, 13)  # the twelve months after the end of y_train

forecaster = LSTMForecaster(random_state=0)  # the defaults, seeded
forecaster.fit(y_train, fh=fh)
y_pred = forecaster.predict()
intervals = forecaster.predict_interval(coverage=0.9)

# %%
# Accuracy against the seasonal naive forecast (the same month last year), and
# how many of the twelve held-out months fall inside the 90 % intervals.
mase = MeanAbsoluteScaledError(sp=12)
naive = NaiveForecaster(strategy="last", sp=12).fit(y_train, fh=fh).predict()
lower, upper = intervals.iloc[:, 0], intervals.iloc[:, 1]
inside = ((y_test >= lower) & (y_test <= upper)).mean()
print(f"LSTMForecaster  MASE {mase(y_test, y_pred, y_train=y_train):.2f}")
print(f"seasonal naive  MASE {mase(y_test, naive, y_train=y_train):.2f}")
print(f"held-out months inside the 90 % intervals: {inside:.0%}")
print(f"lookback used: {forecaster.lookback_} months")

# %%
# The last four years of training data, the held-out year, the forecast and
# its 90 % intervals.
fig, ax = plot_series(
    y_train.iloc[-48:],
    y_test,
    y_pred,
    labels=["training data", "held-out year", "LSTMForecaster"],
    pred_interval=intervals,
)
ax.set_title("Airline passengers: LSTMForecaster with 90 % prediction intervals")
ax.set_ylabel("passengers (thousands)")
fig.tight_layout()
plt.show()

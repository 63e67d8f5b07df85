"""
Quickstart: one-step forecasts of airline passengers
====================================================

Fits an :class:`~sklstm.LSTMRegressor` on windows of the monthly airline
passenger series (shipped with sktime), holds out the last two years, and
compares its one-month-ahead forecasts with two naive baselines.
"""

# %%
import numpy as np
from sktime.datasets import load_airline

from sklstm import LSTMRegressor, make_windows

y = np.log(load_airline().to_numpy(dtype=float))  # 144 months, log scale
windows, targets = make_windows(y, lookback=12)  # (132, 12, 1) windows, next month's value

# Each window relative to its last value: the model learns the shape of a
# year, not the level (airline's last two years lie above all it trains on).
last = windows[:, -1, 0]
X, target = windows - last[:, None, None], targets - last

test = slice(len(X) - 24, None)  # the last two years, never seen in training
train = slice(0, len(X) - 24)
model = LSTMRegressor(hidden_size=32, max_iter=300, random_state=0)
model.fit(X[train], target[train])

# %%
# Back to passengers, then the mean absolute percentage error of each method.
actual = np.exp(targets[test])
forecasts = {
    "LSTMRegressor": np.exp(model.predict(X[test]) + last[test]),
    "naive (last month)": np.exp(last[test]),
    "seasonal naive (same month last year)": np.exp(windows[test, 0, 0]),
}
print("one-month-ahead forecasts of the last 24 months")
for name, forecast in forecasts.items():
    mape = 100 * np.mean(np.abs(forecast - actual) / actual)
    print(f"  {name:<40s} MAPE {mape:5.2f} %")

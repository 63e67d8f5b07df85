"""
===============================================
The Keras LSTM recipe, rebuilt the sklearn way
===============================================

The most copied LSTM tutorial forecasts the monthly number of airline passengers: scale
the series to [0, 1] with a ``MinMaxScaler``, cut it into windows with a hand-written
``create_dataset(data, look_back)`` loop, train two stacked LSTM layers with dropout 0.2,
``inverse_transform`` the predictions and report the RMSE in passengers.

Here is the same recipe as one scikit-learn pipeline. Three things change on the way:

* the scaler is fitted on the training months only (the tutorial fits it on the whole
  series, so the test years' maximum leaks into the training inputs);
* every window is used (the tutorial loop ``range(len(data) - look_back - 1)`` drops the
  last one);
* there is no ``inverse_transform`` to write: :class:`~sklstm.LSTMRegressor` scales the
  target itself and predicts in passengers.

See :ref:`windows` for the definitions of lookback, horizon and stride.
"""

# %%
# The recipe
# ----------
# Row ``t`` of the input table is the passenger count of month ``t``; its target is the
# count of month ``t + 1`` (in thousands). The first 80 % of the months train the model,
# the last 20 % test it -- in time order, never shuffled.
from sklearn.metrics import root_mean_squared_error
from sklearn.pipeline import make_pipeline
from sktime.datasets import load_airline

from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer

passengers = load_airline()  # 144 monthly totals, 1949-1960
X = passengers.to_frame().iloc[:-1]  # month t ...
y = passengers.shift(-1).iloc[:-1]  # ... predicts month t + 1
n_train = int(0.8 * len(X))

# Windows of the 12 months up to month t, MinMax-scaled with the training rows' minimum and
# maximum, into two stacked LSTM layers of 50 units with dropout 0.2. As in Keras'
# ``fit(epochs=100)``, train for a fixed 100 epochs of small batches (the defaults -- full
# batches, stop when the loss stalls -- suit bigger data: on 100 samples a full batch makes
# one update per epoch).
fixed_epochs = dict(batch_size=16, max_iter=100, n_iter_no_change=None)
lstm = LSTMRegressor(hidden_size=50, num_layers=2, dropout=0.2, random_state=0, **fixed_epochs)
model = make_pipeline(WindowTransformer(lookback=12), SequenceScaler(method="minmax"), lstm)
# Fit on the training months, predict every month, keep the test months' predictions.
y_pred = model.fit(X.iloc[:n_train], y.iloc[:n_train]).predict(X)[n_train:]
rmse = root_mean_squared_error(y.iloc[n_train:], y_pred)
naive = root_mean_squared_error(y.iloc[n_train:], X.iloc[n_train:, 0])  # next = this month
print(f"RMSE in thousands of passengers: LSTM {rmse:.1f}, naive (last value) {naive:.1f}")

# %%
# Side by side: the hand-written version
# --------------------------------------
# For comparison, the tutorial's code (Keras 2 style; not run here). Every line of it has a
# counterpart in the pipeline above:
#
# .. code-block:: python
#
#     scaler = MinMaxScaler(feature_range=(0, 1))
#     dataset = scaler.fit_transform(series.reshape(-1, 1))  # the whole series: test leaks
#     train, test = dataset[:train_size], dataset[train_size:]
#
#     def create_dataset(data, look_back=1):  # -> WindowTransformer(lookback=12)
#         X, Y = [], []
#         for i in range(len(data) - look_back - 1):  # drops the last window
#             X.append(data[i : i + look_back, 0])
#             Y.append(data[i + look_back, 0])
#         return np.array(X), np.array(Y)
#
#     trainX, trainY = create_dataset(train, look_back=12)
#     testX, testY = create_dataset(test, look_back=12)  # the first 12 test months are lost
#     trainX = trainX.reshape(trainX.shape[0], 12, 1)  # -> no reshape: 3-D is the default
#     testX = testX.reshape(testX.shape[0], 12, 1)
#
#     model = Sequential()  # -> LSTMRegressor(hidden_size=50, num_layers=2, dropout=0.2)
#     model.add(LSTM(50, return_sequences=True, input_shape=(12, 1)))
#     model.add(Dropout(0.2))
#     model.add(LSTM(50))
#     model.add(Dropout(0.2))
#     model.add(Dense(1))
#     model.compile(loss="mean_squared_error", optimizer="adam")
#     model.fit(trainX, trainY, epochs=100, batch_size=16)  # -> max_iter=100, batch_size=16
#
#     testPredict = scaler.inverse_transform(model.predict(testX))  # -> not needed
#     testY = scaler.inverse_transform([testY])
#     rmse = math.sqrt(mean_squared_error(testY[0], testPredict[:, 0]))
#
# ===============================================  ===========================================
# hand-written                                     the sklearn pipeline
# ===============================================  ===========================================
# ``MinMaxScaler`` fitted on the whole series      ``SequenceScaler(method="minmax")`` fitted
#                                                  on the training rows only
# ``create_dataset`` loop, drops the last window   ``WindowTransformer(lookback=12)``, every
#                                                  window
# ``reshape(n, 12, 1)``                            nothing: 3-D windows are the default
# ``Sequential`` of 2 ``LSTM`` + ``Dropout``       ``LSTMRegressor(num_layers=2, dropout=0.2)``
# ``inverse_transform`` of the predictions         nothing: predictions are in passengers
# test set windowed on its own (12 months lost)    ``predict(X)[n_train:]``: every test month
# ===============================================  ===========================================

# %%
# Two details worth a second look:
#
# * ``model.predict(X)[n_train:]`` windows the *whole* table and keeps the test months.
#   A test month's window reaches back into the training months: those are past
#   observations, known when the forecast is made, and the scaler and the network were
#   fitted on the training rows alone, so nothing leaks. ``model.predict(X.iloc[n_train:])``
#   would instead pad the first 11 test windows (a transformer only sees the rows it is
#   given).
# * The target is scaled too, just not by us: ``LSTMRegressor`` standardises ``y`` with the
#   training targets' mean and standard deviation and maps its predictions back, so they
#   come out in passengers. Wrapping it in
#   ``TransformedTargetRegressor(transformer=MinMaxScaler())`` -- the literal Keras step --
#   would change nothing, because that standardisation undoes any affine rescaling of
#   ``y``.
#
# What actually helps
# -------------------
# On this series the recipe does not beat "next month = this month". The test years climb
# above every level seen in training, and an LSTM, whose units saturate, cannot extrapolate
# to a level it has never seen. The cure is not a bigger network but a target of a kind it
# has seen: the change from one month to the next. Same pipeline, differenced series; the
# forecast is this month's count plus the predicted change.
change = passengers.diff()  # change[t] = passengers[t] - passengers[t - 1]
X_change = change.to_frame().iloc[1:-1]  # months 1 .. 142 (month 0 has no change)
y_change = change.shift(-1).iloc[1:-1]  # the change to the next month
model.fit(X_change.iloc[: n_train - 1], y_change.iloc[: n_train - 1])  # same training months
y_pred_change = X.iloc[n_train:, 0] + model.predict(X_change)[n_train - 1 :]
rmse_change = root_mean_squared_error(y.iloc[n_train:], y_pred_change)
print(f"RMSE in thousands of passengers: LSTM on monthly changes {rmse_change:.1f}")

# %%
# The test months
# ---------------
import matplotlib.pyplot as plt

months = y.index[n_train:].to_timestamp()
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(months, y.iloc[n_train:], "k.-", label="observed")
ax.plot(months, X.iloc[n_train:, 0], color="0.6", label=f"naive (RMSE {naive:.0f})")
ax.plot(months, y_pred, label=f"LSTM on levels (RMSE {rmse:.0f})")
ax.plot(months, y_pred_change, label=f"LSTM on changes (RMSE {rmse_change:.0f})")
ax.set_ylabel("thousands of passengers")
ax.set_title("One-month-ahead forecasts of the test months")
ax.legend(loc="upper left", fontsize=8)
fig.tight_layout()

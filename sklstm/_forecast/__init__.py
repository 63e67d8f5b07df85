"""The forecaster's machinery, for one series or a panel, without sktime (private).

- :mod:`~sklstm._forecast.spec`: the window geometry (lookback, horizon, channels).
- :mod:`~sklstm._forecast.normalise`: one window normaliser (fit, encode, decode).
- :mod:`~sklstm._forecast.windows`: series stored once, windows cut by index.
- :mod:`~sklstm._forecast.ensemble`: all networks of a fit trained together.
- :mod:`~sklstm._forecast.rollout`: the multi-output and recursive forecasts.
- :mod:`~sklstm._forecast.intervals`: prediction intervals from held-out errors.
- :mod:`~sklstm._forecast.baselines`: seasonal naive, naive, drift and the blend weights.
- :mod:`~sklstm._forecast.model`: the trained ensemble with its normalisers, used.
- :mod:`~sklstm._forecast.index`: checks that the time index has no gaps.

``sklstm.forecasting`` is the sktime glue on top; nothing here imports sktime.
"""

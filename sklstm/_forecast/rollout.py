"""One rollout for both strategies, for one window or many (private)."""

from __future__ import annotations

import numpy as np


def rollout(forecast, past, future, n_steps: int, *, horizon: int, recursive: bool):
    """Forecasts ``(m, n_steps, n_targets)`` from ``m`` raw windows.

    Parameters
    ----------
    forecast : callable
        ``forecast(past, future) -> (m, horizon, n_targets)`` in the series' units:
        the network's outputs for windows ``past`` ``(m, lookback, n_targets +
        n_exog)`` and the exogenous columns over their horizon ``future``
        ``(m, horizon, n_exog)`` (None without exogenous data).
    past : ndarray of shape (m, lookback, n_targets + n_exog)
    future : ndarray of shape (m, >= max(n_steps, horizon), n_exog) or None
        Exogenous values of the steps after each window.
    n_steps : int
        Steps to forecast.
    horizon : int
        Steps the network predicts at once (1 for the recursive strategy).
    recursive : bool
        Iterate a one-step network, feeding each forecast back as the newest row
        (with that step's exogenous values); else one multi-output call, of which
        the first ``n_steps`` are kept (``n_steps <= horizon``).
    """
    if not recursive:
        if n_steps > horizon:
            raise ValueError(f"the network predicts {horizon} step(s); {n_steps} were asked")
        fut = None if future is None else future[:, :horizon]
        return forecast(past, fut)[:, :n_steps]
    m, _, width = past.shape
    window = np.array(past, dtype=np.float64)
    path = None
    for k in range(n_steps):
        fut = None if future is None else future[:, k : k + 1]
        step = forecast(window, fut)[:, 0]
        if path is None:
            path = np.empty((m, n_steps, step.shape[1]))
        path[:, k] = step
        if k + 1 < n_steps:
            row = np.empty((m, 1, width))
            row[:, 0, : step.shape[1]] = step
            if future is not None:
                row[:, 0, step.shape[1] :] = future[:, k]
            window = np.concatenate([window[:, 1:], row], axis=1)
    return path

"""Simple baselines from a window, and the weights that blend them with the networks.

(Private.) The safety net of the forecaster: on the held-out tail the networks'
forecasts are scored against the seasonal-naive, naive and drift forecasts made
from the same windows, at the same horizons; the networks are then blended with the
best of them by inverse mean squared error (Bates & Granger), so that a network that
is no better than a baseline on data it did not train on leans on that baseline.
"""

from __future__ import annotations

import numpy as np

#: The baselines, in the order of ``baseline_weights_``.
NAMES = ("seasonal_naive", "naive", "drift")


def baseline_forecasts(past_y, n_steps: int, sp: int) -> dict:
    """Forecasts ``(m, n_steps, ny)`` of each baseline from windows ``(m, L, ny)``.

    - ``seasonal_naive``: the value one season before each step (needs ``L >= sp``;
      left out for ``sp == 1`` or a shorter window);
    - ``naive``: the window's last value;
    - ``drift``: the straight line through the window's first and last values, carried
      on (needs ``L >= 2``).
    """
    m, L, ny = past_y.shape
    steps = np.arange(n_steps)
    last = past_y[:, -1:, :]
    out = {}
    if 1 < sp <= L:
        out["seasonal_naive"] = past_y[:, L - sp + (steps % sp), :]
    out["naive"] = np.repeat(last, n_steps, axis=1)
    if L >= 2:
        slope = (past_y[:, -1, :] - past_y[:, 0, :]) / (L - 1)
        out["drift"] = last + slope[:, None, :] * (steps + 1)[None, :, None]
    return out


def blend_weights(truth, network, baselines, level) -> dict:
    """Weights of the network and the best baseline, by inverse mean squared error.

    ``truth`` and every forecast are ``(n_origins, n_steps, ny)`` (NaN where no truth),
    ``level`` ``(n_origins, ny)``: errors are measured relative to the window level.
    Returns ``{"network": w, <each baseline>: w}``, summing to 1; only the best
    baseline gets a weight above 0. No origin with truth: the network alone.
    """
    weights = {"network": 1.0, **{name: 0.0 for name in NAMES}}

    def mse(path):
        err = (truth - path) / level[:, None, :]
        return float(np.nanmean(err**2)) if np.isfinite(err).any() else np.nan

    net = mse(network)
    scores = {name: mse(path) for name, path in baselines.items()}
    scores = {k: v for k, v in scores.items() if np.isfinite(v)}
    if not np.isfinite(net) or not scores:
        return weights
    best = min(scores, key=scores.get)
    if net <= 0:
        return weights
    if scores[best] <= 0:
        return {**weights, "network": 0.0, best: 1.0}
    inverse = np.array([1 / net, 1 / scores[best]])
    w = inverse / inverse.sum()
    return {**weights, "network": float(w[0]), best: float(w[1])}


def blend(network, baselines, weights) -> np.ndarray:
    """``weights["network"] * network + sum of weight * baseline`` (zero weights skipped)."""
    out = weights["network"] * network
    for name, path in baselines.items():
        if weights.get(name, 0.0) > 0:
            out = out + weights[name] * path
    return out

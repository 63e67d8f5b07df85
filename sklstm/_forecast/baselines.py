"""Simple baselines from a series' history, and the weights that blend them with the networks.

(Private.) The safety net of the forecaster: on the held-out tail the networks'
forecasts are scored against the seasonal-naive, naive, drift and theta forecasts made
from the same origins, at the same horizons; the networks are then blended with the
best of them by inverse mean squared error (Bates & Granger), so that a network that
is no better than a baseline on data it did not train on leans on that baseline.

The baselines read the history before each origin, up to :func:`context_length` rows
(not just the network's lookback): the seasonal-naive forecast exists as soon as one
season has been seen, the drift and the theta trend run over the whole context, and the
theta method's seasonal indices are averaged over every season in it, as sktime's
``NaiveForecaster`` and ``ThetaForecaster`` do on the whole series. The context is
bounded so that an exported graph, which takes the newest ``context`` rows, computes
the same forecast.
"""

from __future__ import annotations

import numpy as np

#: The baselines, in the order of ``baseline_weights_``.
NAMES = ("seasonal_naive", "naive", "drift", "theta")
#: The smoothing constants the theta baseline chooses from, per window: the one with the
#: least one-step squared error of its simple exponential smoothing (the theta method's
#: own estimate, as sktime's ``ThetaForecaster`` makes it, on a grid).
THETA_ALPHAS = np.linspace(0.05, 1.0, 20)
#: The baselines read at most this many newest rows (or four seasons, or the lookback).
CONTEXT_POINTS = 200
#: A baseline is a candidate of the blend where it exists on at least this share of the
#: points the networks are scored on.
MIN_SHARE = 0.5


def context_length(sp: int, lookback: int) -> int:
    """The most rows of history the baselines read: ``max(lookback, 200, 4 * sp)``."""
    return int(max(lookback, CONTEXT_POINTS, 4 * sp))


def moving_average_weights(sp: int) -> np.ndarray:
    """The centred moving average of classical decomposition: ``2 x sp`` for an even ``sp``."""
    if sp % 2 == 0:
        return np.r_[0.5, np.ones(sp - 1), 0.5] / sp
    return np.ones(sp) / sp


def least_squares_slope(L: int) -> np.ndarray:
    """The row ``(L,)`` whose product with a window of ``L`` rows is its least-squares slope
    per row (0 for a single row)."""
    centred = np.arange(L) - (L - 1) / 2
    return centred / np.sum(centred**2) if L >= 2 else np.zeros(L)


def theta_ahead(L: int, n_steps: int, alphas) -> np.ndarray:
    """Multipliers ``(len(alphas), n_steps)`` of the slope per step ahead of a window of ``L``
    rows smoothed at each of ``alphas`` (Hyndman & Billah's form of the theta method)."""
    a = np.asarray(alphas, dtype=np.float64)[:, None]
    steps = np.arange(1, n_steps + 1)[None, :]
    return 0.5 * (steps - 1 + 1 / a - (1 - a) ** L / a)


def position_means(rows, first: int, sp: int) -> np.ndarray:
    """Means ``(m, sp, ny)`` of ``rows`` ``(m, n, ny)`` by season position.

    Row ``r`` is at position ``(first + r) % sp``; every position needs a row (``n >= sp``).
    One reshape: the rows are padded with zeros to whole seasons and summed per position.
    """
    m, n, ny = rows.shape
    n_seasons = -(-(first + n) // sp)
    padded = np.zeros((m, n_seasons * sp, ny))
    padded[:, first : first + n] = rows
    counts = np.bincount((first + np.arange(n)) % sp, minlength=sp)
    return padded.reshape(m, n_seasons, sp, ny).sum(axis=1) / counts[None, :, None]


def seasonal_indices(past_y, sp: int):
    """Multiplicative seasonal indices ``(m, sp, ny)`` of windows ``(m, L, ny)``, or None.

    Classical decomposition: the ratio of each row to the centred moving average,
    averaged by position in the season (position ``j`` holds the rows ``r`` with
    ``r % sp == j``) and normalised to mean 1. None without a season or with fewer than
    two seasons in the window; 1 for a window (and column) with a value <= 0.
    """
    m, L, ny = past_y.shape
    if sp <= 1 or L < 2 * sp:
        return None
    k = len(moving_average_weights(sp))  # the rows one moving average spans
    off, n_trend = (k - 1) // 2, L - k + 1
    total = np.concatenate([np.zeros((m, 1, ny)), np.cumsum(past_y, axis=1)], axis=1)
    trend = total[:, k:] - total[:, :n_trend]  # the sum of each span of k rows
    if sp % 2 == 0:  # the end rows of a 2 x sp average count half
        trend = trend - 0.5 * (past_y[:, :n_trend] + past_y[:, k - 1 :])
    trend = trend / sp
    positive = np.all(past_y > 0, axis=1, keepdims=True)
    # A window that is not positive everywhere gets indices of 1 (below): its ratios are 1
    # here too, so that an all-zero window divides no zero by zero (a RuntimeWarning).
    ratio = past_y[:, off : off + n_trend] / np.where(positive, trend, 1.0)
    ratio = np.where(positive, ratio, 1.0)
    index = position_means(ratio, off % sp, sp)
    index = index / index.mean(axis=1, keepdims=True)
    return np.where(positive, index, 1.0)


def smoothing_choice(z, alphas=THETA_ALPHAS):
    """Simple exponential smoothing of windows ``z`` ``(m, L, ny)`` at each of ``alphas``.

    The smoothing starts at the first row; each window (and column) takes the constant with
    the least sum of squared one-step errors (the first on a tie). Returns ``(level, best)``,
    both ``(m, ny)``: the chosen smoothing's level after the last row, and the index of its
    constant in ``alphas``.
    """
    a = np.asarray(alphas, dtype=np.float64)[:, None, None]
    level = np.repeat(z[None, :, 0, :], len(a), axis=0)  # (G, m, ny)
    sse = np.zeros_like(level)
    # the error sums of each window in its own units (its largest move from the first
    # row): the same choice at any scale, and no overflow for a huge series
    unit = np.abs(z - z[:, :1]).max(axis=1)
    unit = np.where(unit > 0, unit, 1.0)[None]
    for t in range(1, z.shape[1]):
        err = z[None, :, t, :] - level
        sse += (err / unit) ** 2
        level += a * err
    best = np.argmin(sse, axis=0)  # (m, ny)
    return np.take_along_axis(level, best[None], axis=0)[0], best


def theta_forecast(past_y, n_steps: int, sp: int, alpha: float | None = None) -> np.ndarray:
    """The theta method on each window: ``(m, n_steps, ny)``.

    Deseasonalise by :func:`seasonal_indices` (when the window holds two seasons and is
    positive), smooth exponentially (with ``alpha``, or the constant of
    :data:`THETA_ALPHAS` :func:`smoothing_choice` takes for the window), add half the
    least-squares trend, reseasonalise.
    """
    m, L, ny = past_y.shape
    index = seasonal_indices(past_y, sp)
    rows = np.arange(L)
    z = past_y if index is None else past_y / index[:, rows % sp]
    alphas = THETA_ALPHAS if alpha is None else np.array([alpha], dtype=np.float64)
    level, best = smoothing_choice(z, alphas)
    slope = np.einsum("l,mln->mn", least_squares_slope(L), z)
    ahead = theta_ahead(L, n_steps, alphas)[best].transpose(0, 2, 1)  # (m, n_steps, ny)
    path = level[:, None, :] + slope[:, None, :] * ahead
    if index is not None:
        path = path * index[:, (L - 1 + np.arange(1, n_steps + 1)) % sp]
    return path


def networks_alone() -> dict:
    """Blend weights that leave the networks' forecast as it is."""
    return {"network": 1.0, **dict.fromkeys(NAMES, 0.0)}


def baseline_forecasts(past_y, n_steps: int, sp: int, names=NAMES) -> dict:
    """Forecasts ``(m, n_steps, ny)`` of each baseline from windows ``(m, L, ny)``.

    A window here is the history before an origin (see :func:`history_forecasts`):

    - ``seasonal_naive``: the value one season before each step (needs ``L >= sp``;
      left out for ``sp == 1`` or a shorter window);
    - ``naive``: the window's last value;
    - ``drift``: the straight line through the window's first and last values, carried
      on (needs ``L >= 2``);
    - ``theta``: the theta method on the window (:func:`theta_forecast`; needs ``L >= 2``).

    Only the baselines in ``names`` are computed.
    """
    m, L, ny = past_y.shape
    steps = np.arange(n_steps)
    last = past_y[:, -1:, :]
    out = {}
    if 1 < sp <= L and "seasonal_naive" in names:
        out["seasonal_naive"] = past_y[:, L - sp + (steps % sp), :]
    if "naive" in names:
        out["naive"] = np.repeat(last, n_steps, axis=1)
    if L >= 2 and "drift" in names:
        slope = (past_y[:, -1, :] - past_y[:, 0, :]) / (L - 1)
        out["drift"] = last + slope[:, None, :] * (steps + 1)[None, :, None]
    if L >= 2 and "theta" in names:
        out["theta"] = theta_forecast(past_y, n_steps, sp)
    return out


def history_forecasts(histories, n_steps: int, sp: int, names=NAMES) -> dict:
    """:func:`baseline_forecasts` of histories of any lengths: name -> ``(m, n_steps, ny)``.

    ``histories`` is a sequence of ``m`` arrays ``(n_i, ny)`` (each the rows before one
    origin, oldest first). Histories of one length are forecast together; a baseline
    that a history is too short for (seasonal naive before one season, drift and theta
    before two rows) is NaN there. Every name in ``names`` is in the result.
    """
    m = len(histories)
    ny = histories[0].shape[1] if m else 1
    out = {name: np.full((m, n_steps, ny), np.nan) for name in names}
    lengths = np.array([len(h) for h in histories], dtype=np.int64)
    for n in np.unique(lengths):
        rows = np.flatnonzero(lengths == n)
        if n == 0:
            continue
        size = max(1, _CHUNK_VALUES // int(n * ny))
        for first in range(0, len(rows), size):
            part = rows[first : first + size]
            past = np.stack([histories[i] for i in part])
            for name, path in baseline_forecasts(past, n_steps, sp, names).items():
                out[name][part] = path
    return out


# Values of the histories forecast at once (bounds the temporary memory to a few MiB).
_CHUNK_VALUES = 2**18


def origin_histories(Y, origins, context: int) -> list:
    """The rows of ``Y`` before each origin, at most the newest ``context``: views."""
    return [Y[max(0, int(o) - context) : int(o)] for o in origins]


def blend_weights(truth, network, baselines, level) -> dict:
    """Weights of the network and the best baseline, by inverse mean squared error.

    ``truth`` and every forecast are ``(n_origins, n_steps, ny)`` (NaN where no truth,
    and in a baseline where the history was too short for it), ``level``
    ``(n_origins, ny)``: errors are measured relative to the window level. Each
    baseline is compared with the network on the points where both exist. Returns
    ``{"network": w, <each baseline>: w}``, summing to 1; only the best baseline (the
    lowest ratio of its error to the network's) gets a weight above 0. A baseline that
    exists on fewer than ``MIN_SHARE`` of the network's scored points is not a
    candidate (a choice made on a handful of points is noise). No point with truth:
    the network alone.
    """
    weights = networks_alone()
    net_err = ((truth - network) / level[:, None, :]) ** 2
    n_scored = int(np.isfinite(net_err).sum())
    best, best_ratio, best_pair = None, np.inf, None
    for name, path in baselines.items():
        err = ((truth - path) / level[:, None, :]) ** 2
        both = np.isfinite(err) & np.isfinite(net_err)
        if not both.any() or both.sum() < MIN_SHARE * n_scored:
            continue
        pair = float(net_err[both].mean()), float(err[both].mean())
        if pair[0] <= 0:
            continue
        ratio = pair[1] / pair[0]
        if ratio < best_ratio:
            best, best_ratio, best_pair = name, ratio, pair
    if best is None:
        return weights
    net, base = best_pair
    if base <= 0:
        return {**weights, "network": 0.0, best: 1.0}
    inverse = np.array([1 / net, 1 / base])
    w = inverse / inverse.sum()
    return {**weights, "network": float(w[0]), best: float(w[1])}


def blend(network, baselines, weights) -> np.ndarray:
    """``weights["network"] * network + sum of weight * baseline`` (zero weights skipped).

    Where a weighted baseline is NaN (a history too short for it), the naive forecast
    stands in for it (what each baseline becomes with too little history: seasonal
    naive without a whole season, drift and theta from one row), or the network where
    ``baselines`` has no naive forecast either.
    """
    out = weights["network"] * network
    naive = baselines.get("naive")
    stand_in = network if naive is None else np.where(np.isnan(naive), network, naive)
    for name, path in baselines.items():
        w = weights.get(name, 0.0)
        if w > 0:
            out = out + w * np.where(np.isnan(path), stand_in, path)
    return out


def missing_weighted(baselines, weights):
    """Where a weighted baseline is NaN: a bool array like the forecasts (None if none is)."""
    missing = None
    for name, path in baselines.items():
        if weights.get(name, 0.0) > 0:
            missing = np.isnan(path) if missing is None else missing | np.isnan(path)
    return missing

"""Prediction intervals from the errors of forecasts made at held-out origins (private).

The scale of each horizon step is the root mean squared error, relative to the
window level, of forecasts made from origins the networks did not train on; it is
made non-decreasing over the steps, and steps measured on fewer than two origins
(or past the measured ones) grow like the square root of the step; past the measured
steps a recursive forecast's scale follows the level of the windows it is made from
(:func:`rolled_level_ratio`). Intervals are
Student-t around the point forecast, with the number of origins as degrees of
freedom. Everything here is numpy and can be tested on synthetic forecasts.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats


def residual_scale(errors: np.ndarray) -> tuple[np.ndarray, int]:
    """Scale ``(n_steps, n_targets)`` and origin count from relative errors.

    ``errors`` is ``(n_origins, n_steps, n_targets)``: (truth - forecast) / level,
    NaN where a step has no truth (an origin near the end of the data).
    """
    errors = np.asarray(errors, dtype=np.float64)
    n_steps = errors.shape[1]
    counts = np.sum(~np.isnan(errors[:, :, 0]), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN steps, handled below
        scale = np.sqrt(np.nanmean(errors**2, axis=0))
    reliable = np.flatnonzero(counts >= 2)
    last = int(reliable[-1]) if len(reliable) else 0
    for k in range(last + 1, n_steps):
        scale[k] = scale[last] * np.sqrt((k + 1) / (last + 1))
    # Uncertainty does not shrink with the horizon: smooth out sampling noise.
    scale = np.maximum.accumulate(np.nan_to_num(scale, nan=0.0), axis=0)
    return scale, int(counts[0]) if len(counts) else 0


def step_scale(scale: np.ndarray, steps) -> np.ndarray:
    """The scale ``(len(steps), n_targets)`` of the 1-based ``steps`` (sqrt growth beyond)."""
    scale = np.asarray(scale, dtype=np.float64)
    n = len(scale)
    out = np.empty((len(steps), scale.shape[1]))
    for i, s in enumerate(steps):
        out[i] = scale[s - 1] if s <= n else scale[-1] * np.sqrt(s / n)
    return out


def rolled_level_ratio(past_y, path, steps, measured: int, level) -> np.ndarray:
    """Ratios ``(len(steps), n_targets)`` that carry the scale past the measured steps.

    The scale is relative to the level of the window a forecast is made from. Within the
    ``measured`` steps that is the origin's window; past them, a recursive forecast is
    made from windows that hold its own forecasts, so step ``s`` is scaled by the level
    of the newest ``L`` rows before it (history, then ``path``), relative to the
    origin's, and never below 1 (a falling forecast keeps the origin's width). Without
    this, a compounding forecast outgrows its interval (90 % bands of +-0.5 % at step
    500 of a trending series).

    ``past_y``: the origin's window ``(L, n_targets)``; ``path``: the point forecasts
    ``(n, n_targets)`` of steps ``1 .. n``; ``steps``: 1-based, at most ``n``;
    ``level``: windows ``(m, L, n_targets)`` -> levels ``(m, n_targets)``.
    """
    steps = np.asarray(steps)
    ratio = np.ones((len(steps), past_y.shape[1]))
    beyond = np.flatnonzero(steps > measured)
    if len(beyond) == 0:
        return ratio
    L = len(past_y)
    rows = np.concatenate([past_y, path])
    windows = rows[(steps[beyond] - 1)[:, None] + np.arange(L)]  # the L rows before step s
    origin = level(past_y[None])[0]
    ratio[beyond] = np.maximum(level(windows) / origin, 1.0)
    return ratio


def degrees_of_freedom(n_origins: int) -> int:
    """The Student-t degrees of freedom of the intervals: ``n_origins - 1``, at least 1."""
    return max(int(n_origins) - 1, 1)


def quantiles(mean, sigma, alpha, df: int) -> np.ndarray:
    """Quantiles ``(n_steps, n_targets, len(alpha))`` of Student-t forecasts.

    ``mean`` and ``sigma`` are ``(n_steps, n_targets)`` in the series' units; ``df``
    the degrees of freedom (:func:`degrees_of_freedom`: few origins, wider bands).
    """
    dist = stats.t(df=df)
    mean, sigma = np.asarray(mean), np.asarray(sigma)
    return np.stack([mean + dist.ppf(a) * sigma for a in alpha], axis=-1)

"""Prediction intervals from the errors of forecasts made at held-out origins (private).

The scale of each horizon step is the root mean squared error, relative to the
window level, of forecasts made from origins the networks did not train on; it is
made non-decreasing over the steps, and steps measured on fewer than two origins
(or past the measured ones) grow like the square root of the step. Intervals are
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


def quantiles(mean, sigma, alpha, n_origins: int) -> np.ndarray:
    """Quantiles ``(n_steps, n_targets, len(alpha))`` of Student-t forecasts.

    ``mean`` and ``sigma`` are ``(n_steps, n_targets)`` in the series' units; the
    degrees of freedom are ``n_origins - 1`` (at least 1): few origins, wider bands.
    """
    dist = stats.t(df=max(int(n_origins) - 1, 1))
    mean, sigma = np.asarray(mean), np.asarray(sigma)
    return np.stack([mean + dist.ppf(a) * sigma for a in alpha], axis=-1)

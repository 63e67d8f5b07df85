"""One window normaliser: fit its statistics, encode windows for the network, decode (private).

Every window is normalised on its own, per target column: ``(y - shift) / level``,
where the *level* is the window's mean absolute value (1 in mode ``"none"``) and
the *shift* its last value in modes ``"last"`` and ``"season"`` (else 0). Targets are
measured from the same shift, except in mode ``"season"``: there each target step is
measured from the value one season before it (the seasonal-naive forecast), so that the
network's zero output is the seasonal-naive forecast. The normalised target
channels are then standardised with statistics pooled over all training windows
(``y_loc``, ``y_scale``), the exogenous channels with the series' own
(``x_loc``, ``x_scale``), and the network's outputs, one per horizon step and
target, with the statistics of the training targets (``t_loc``, ``t_scale``).
This is the one place where targets are standardised.

Every statistic is accumulated a chunk of rows (or windows) at a time, so fitting
holds no full-length temporary, and the shift and level of a window are always
computed from the window itself (:meth:`WindowNormaliser.norms`), in training as at
predict time: nothing is stored per window.
"""

from __future__ import annotations

import numpy as np

#: The window normalisations: name -> (divide by the level, subtract the last value).
MODES = {
    "mean": (True, False),
    "last": (True, True),
    "season": (True, True),
    "none": (False, False),
}

# Rows (or windows) processed at once when a statistic is computed over all of them:
# bounds the temporary memory to about this many float64 values (2 MiB) per array.
_CHUNK_VALUES = 2**18
# The least window level, as a share of the mean |y| of the non-zero values of the series
# of the smallest magnitude (see _smallest_magnitude).
LEVEL_FLOOR = 0.1


def _chunks(n: int, per_item: int):
    size = max(1, _CHUNK_VALUES // max(per_item, 1))
    for first in range(0, n, size):
        yield slice(first, min(first + size, n))


class _Moments:
    """Mean and standard deviation per column, merged a chunk of rows at a time.

    Each chunk's mean and sum of squared deviations are combined with the running ones
    (Chan, Golub and LeVeque's pairwise update): one pass, as accurate as two.
    """

    def __init__(self, n_columns: int):
        self.n = 0
        self.mean = np.zeros(n_columns)
        self.m2 = np.zeros(n_columns)

    def add(self, rows: np.ndarray) -> None:
        k = len(rows)
        if k == 0:
            return
        with np.errstate(over="ignore", invalid="ignore"):  # huge values: inf, refused later
            mean = rows.mean(axis=0)
            m2 = ((rows - mean) ** 2).sum(axis=0)
            n = self.n + k
            delta = mean - self.mean
            self.mean = self.mean + delta * (k / n)
            self.m2 = self.m2 + m2 + delta**2 * (self.n * k / n)
        self.n = n

    def result(self):
        """``(mean, std)``; zeros for no rows."""
        return self.mean, np.sqrt(self.m2 / max(self.n, 1))


def _column_moments(A: np.ndarray):
    """``(A.mean(axis=0), A.std(axis=0))`` of a 2-D array, a chunk of rows at a time."""
    moments = _Moments(A.shape[1])
    for part in _chunks(len(A), A.shape[1]):
        moments.add(A[part])
    return moments.result()


def _safe_scale(scale: np.ndarray, loc: np.ndarray) -> np.ndarray:
    """``scale``, with 1 for constant columns: a spread within the rounding of ``loc``.

    Relative to the column, not absolute: a column in tiny units is not constant.
    """
    scale = np.array(scale, dtype=np.float64)
    constant = ~(scale > 10 * np.finfo(np.float64).eps * np.abs(np.asarray(loc)))
    scale[constant | ~np.isfinite(scale)] = 1.0
    return scale


def _smallest_magnitude(Y, offsets=None) -> np.ndarray:
    """Per column, the least over the series of the mean ``|y|`` of their non-zero values.

    What a window level is never below (times :data:`LEVEL_FLOOR`): a window of zeros (a
    product before its launch, intermittent demand) is no scale to divide by, and in a
    panel no series is floored above a tenth of its own typical magnitude.
    """
    if offsets is None:
        offsets = np.array([0, len(Y)])
    least = np.full(Y.shape[1], np.inf)
    for a, b in zip(offsets[:-1], offsets[1:], strict=True):
        total, nonzero = np.zeros(Y.shape[1]), np.zeros(Y.shape[1])
        for part in _chunks(int(b - a), Y.shape[1]):
            rows = Y[a + part.start : a + part.stop]
            total += np.abs(rows).sum(axis=0)
            nonzero += (rows != 0).sum(axis=0)
        typical = np.where(nonzero > 0, total / np.maximum(nonzero, 1), np.inf)
        least = np.minimum(least, typical)
    return np.where(np.isfinite(least), least, 0.0)


class WindowNormaliser:
    """The statistics of one window normalisation, and the maps to and from network units.

    Build with :meth:`fit`. All arrays are float64; windows are ``(m, rows, columns)``.
    """

    def __init__(
        self,
        mode,
        n_targets,
        level_floor,
        y_loc,
        y_scale,
        x_loc=None,
        x_scale=None,
        t_loc=None,
        t_scale=None,
        sp=1,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
        self.mode = mode
        self.n_targets = int(n_targets)
        self.level_floor = np.asarray(level_floor, dtype=np.float64)
        self.y_loc = np.asarray(y_loc, dtype=np.float64)
        self.y_scale = np.asarray(y_scale, dtype=np.float64)
        self.x_loc = None if x_loc is None else np.asarray(x_loc, dtype=np.float64)
        self.x_scale = None if x_scale is None else np.asarray(x_scale, dtype=np.float64)
        self.t_loc = None if t_loc is None else np.asarray(t_loc, dtype=np.float64)
        self.t_scale = None if t_scale is None else np.asarray(t_scale, dtype=np.float64)
        self.sp = int(sp)

    # ---- fitting -------------------------------------------------------------------

    @classmethod
    def fit(cls, mode, values, n_targets, spec, stat_starts, target_starts, sp=1, offsets=None):
        """Statistics from a panel stored as one array, without materialising windows.

        Parameters
        ----------
        mode : {"mean", "last", "none"}
        values : ndarray of shape (n_points, n_targets + n_exog)
            The series one after the other (see :class:`~sklstm._forecast.windows.SeriesPanel`).
        n_targets : int
        spec : WindowSpec
        stat_starts : ndarray of int
            Starts of the windows whose normalised inputs set ``y_loc`` / ``y_scale``
            (every window with at least one step after it).
        target_starts : ndarray of int
            Starts of the training windows whose targets set ``t_loc`` / ``t_scale``.
        sp : int, default=1
            The seasonal period, used by mode ``"season"`` (which needs
            ``spec.lookback >= sp``).
        offsets : ndarray of int, default=None
            Where each series of the panel starts in ``values`` (and the end), as
            :class:`~sklstm._forecast.windows.SeriesPanel`'s; None: one series. The
            level floor is taken from the series of the smallest magnitude.
        """
        if mode == "season" and spec.lookback < sp:
            raise ValueError(
                f"window normalisation 'season' needs a lookback of at least one season "
                f"(sp={sp}); got lookback={spec.lookback}."
            )
        Y = values[:, :n_targets]
        floor = LEVEL_FLOOR * _smallest_magnitude(Y, offsets)
        floor[~(floor > 0)] = 1.0
        scale_by_level, _ = MODES[mode]
        Xs = values[:, n_targets:] if values.shape[1] > n_targets else None
        x_loc = x_scale = None
        if Xs is not None:
            x_loc, x_std = _column_moments(Xs)
            x_scale = _safe_scale(x_std, x_loc)
        norm = cls(
            mode, n_targets, floor, np.zeros(n_targets), np.ones(n_targets), x_loc, x_scale, sp=sp
        )
        if scale_by_level:
            norm.y_loc, y_scale = norm._pooled_moments(Y, stat_starts, spec.lookback)
        else:
            norm.y_loc, y_scale = _column_moments(Y)
        norm.y_scale = _safe_scale(y_scale, norm.y_loc)
        norm.t_loc, t_scale = norm._target_moments(Y, target_starts, spec)
        norm.t_scale = _safe_scale(t_scale, norm.t_loc)
        return norm

    def norms_at(self, Y, starts, lookback):
        """``(shift, level)``, each ``(len(starts), n_targets)``, of the windows at ``starts``.

        :meth:`norms` of the windows ``Y[s : s + lookback]``, gathered a chunk at a time
        (``shift`` is None when the mode subtracts nothing).
        """
        parts = [self.norms(past) for past, _ in self._windows(Y, starts, lookback)]
        if not parts:
            parts = [self.norms(np.empty((0, lookback, Y.shape[1])))]
        shifts, levels = zip(*parts, strict=True)
        shift = None if shifts[0] is None else np.concatenate(shifts)
        return shift, np.concatenate(levels)

    def norms(self, past_y):
        """``(shift, level)`` of windows given as an array ``(m, lookback, n_targets)``."""
        scale_by_level, by_last = MODES[self.mode]
        shift = past_y[:, -1, :].copy() if by_last else None
        if not scale_by_level:
            return shift, np.ones((len(past_y), past_y.shape[2]))
        return shift, np.maximum(np.abs(past_y).mean(axis=1), self.level_floor)

    @staticmethod
    def _windows(Y, starts, lookback: int, horizon: int = 0):
        """``(past, ahead)``: the windows' rows of ``Y`` and the ``horizon`` rows after
        them (None for 0), ``(m, rows, columns)``, a chunk of windows at a time."""
        for part in _chunks(len(starts), (lookback + horizon) * Y.shape[1]):
            first = starts[part, None]
            past = Y[first + np.arange(lookback)]
            yield past, (Y[first + lookback + np.arange(horizon)] if horizon else None)

    def _pooled_moments(self, Y, starts, lookback):
        """Mean and std per column of every window's ``(y - shift) / level``."""
        moments = _Moments(Y.shape[1])
        for past, _ in self._windows(Y, starts, lookback):
            shift, level = self.norms(past)
            if shift is not None:
                past = past - shift[:, None, :]
            moments.add((past / level[:, None, :]).reshape(-1, Y.shape[1]))
        return moments.result()

    def _target_moments(self, Y, starts, spec):
        """Mean and std of the (normalised) targets per output, over ``starts``' windows."""
        n_out = spec.n_outputs
        if len(starts) == 0:
            return np.zeros(n_out), np.ones(n_out)
        moments = _Moments(n_out)
        for past, ahead in self._windows(Y, starts, spec.lookback, spec.horizon):
            shift, level = self.norms(past)
            tshift = self.target_shift(past, shift, spec.horizon)
            moments.add(self._scale_y(ahead, tshift, level).reshape(len(past), -1))
        return moments.result()

    def target_shift(self, past_y, shift, horizon: int):
        """What each target step is measured from: ``(m, horizon, ny)``, or None for 0.

        The window's shift for every step, except in mode ``"season"`` (with ``sp > 1``):
        the value one season before each step, ``past_y[:, L - sp + (k % sp)]``.
        """
        if self.mode == "season" and self.sp > 1:
            rows = past_y.shape[1] - self.sp + (np.arange(horizon) % self.sp)
            return past_y[:, rows, :]
        if shift is None:
            return None
        return np.broadcast_to(shift[:, None, :], (len(shift), horizon, shift.shape[1]))

    # ---- encoding and decoding -----------------------------------------------------

    def _scale_y(self, y, shift, level):
        """Target-channel values ``(m, T, ny)`` -> normalised, standardised."""
        if shift is not None:
            y = y - (shift[:, None, :] if shift.ndim == 2 else shift)
        return (y / level[:, None, :] - self.y_loc) / self.y_scale

    def encode_inputs(self, past, future, shift, level):
        """Network inputs ``(m, seq_len, n_channels)`` (float32) from raw windows.

        ``past`` is ``(m, lookback, n_targets + n_exog)``; ``future`` the exogenous
        columns over the horizon ``(m, horizon, n_exog)`` or None.
        """
        ny = self.n_targets
        parts = [self._scale_y(past[:, :, :ny], shift, level)]
        if past.shape[2] > ny:
            parts.append((past[:, :, ny:] - self.x_loc) / self.x_scale)
        seq = np.concatenate(parts, axis=2)
        if future is not None:
            m, n_future = future.shape[:2]
            ahead = np.concatenate(
                [
                    np.zeros((m, n_future, ny)),
                    (future - self.x_loc) / self.x_scale,
                    np.zeros((m, n_future, 1)),
                ],
                axis=2,
            )
            seq = np.concatenate([seq, np.ones((m, seq.shape[1], 1))], axis=2)
            seq = np.concatenate([seq, ahead], axis=1)
        with np.errstate(over="ignore"):
            out = seq.astype(np.float32)
        if not np.isfinite(out).all():  # the raw windows are finite (checked on the way in)
            raise ValueError(
                "The normalised network inputs overflow float32 (largest |value| "
                f"{np.abs(seq).max():.3g}): y or X holds values too large to normalise, or "
                "far outside those the model was fitted on. Check their units; divide them "
                "by a constant (and multiply the forecasts back)."
            )
        return out

    def encode_targets(self, ahead, tshift, level):
        """Targets ``(m, horizon, ny)`` -> network outputs ``(m, horizon * ny)``, float32.

        ``tshift`` is :meth:`target_shift`'s ``(m, horizon, ny)`` (or None).
        """
        raw = self._scale_y(ahead, tshift, level).reshape(len(ahead), -1)
        return ((raw - self.t_loc) / self.t_scale).astype(np.float32)

    def decode(self, out, tshift, level):
        """Network outputs ``(m, horizon * ny)`` -> forecasts ``(m, horizon, ny)`` in y units."""
        m = len(out)
        raw = np.asarray(out, dtype=np.float64) * self.t_scale + self.t_loc
        y = raw.reshape(m, -1, self.n_targets) * self.y_scale + self.y_loc
        y = y * level[:, None, :]
        return y if tshift is None else y + tshift

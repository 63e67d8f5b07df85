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
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: The window normalisations: name -> (divide by the level, subtract the last value).
MODES = {
    "mean": (True, False),
    "last": (True, True),
    "season": (True, True),
    "none": (False, False),
}

# Windows processed at once when a statistic is computed over all of them: bounds the
# temporary memory to about this many float64 values (2 MiB) per array.
_CHUNK_VALUES = 2**18


def _chunks(n: int, per_item: int):
    size = max(1, _CHUNK_VALUES // max(per_item, 1))
    for first in range(0, n, size):
        yield slice(first, min(first + size, n))


def _safe_scale(scale: np.ndarray) -> np.ndarray:
    scale = np.array(scale, dtype=np.float64)
    scale[~(scale > 1e-12)] = 1.0  # constant columns: divide by 1
    return scale


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
    def fit(cls, mode, values, n_targets, spec, stat_starts, target_starts, sp=1):
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
        """
        if mode == "season" and spec.lookback < sp:
            raise ValueError(
                f"window normalisation 'season' needs a lookback of at least one season "
                f"(sp={sp}); got lookback={spec.lookback}."
            )
        Y = values[:, :n_targets]
        floor = np.abs(Y).mean(axis=0) * 1e-3
        floor[~(floor > 0)] = 1.0
        scale_by_level, _ = MODES[mode]
        Xs = values[:, n_targets:] if values.shape[1] > n_targets else None
        x_loc = x_scale = None
        if Xs is not None:
            x_loc, x_scale = Xs.mean(axis=0), _safe_scale(Xs.std(axis=0))
        norm = cls(
            mode, n_targets, floor, np.zeros(n_targets), np.ones(n_targets), x_loc, x_scale, sp=sp
        )
        if scale_by_level:
            norm.y_loc, y_scale = norm._pooled_moments(Y, stat_starts, spec.lookback)
        else:
            norm.y_loc, y_scale = Y.mean(axis=0), Y.std(axis=0)
        norm.y_scale = _safe_scale(y_scale)
        norm.t_loc, t_scale = norm._target_moments(Y, target_starts, spec)
        norm.t_scale = _safe_scale(t_scale)
        return norm

    def norms_at(self, Y, starts, lookback):
        """``(shift, level)``, each ``(len(starts), n_targets)``, of the windows at ``starts``.

        ``shift`` is None when the mode subtracts nothing. Computed in chunks from a
        sliding-window view of ``Y`` (no window is copied whole).
        """
        scale_by_level, by_last = MODES[self.mode]
        shift = Y[starts + lookback - 1] if by_last else None
        if not scale_by_level:
            return shift, np.ones((len(starts), Y.shape[1]))
        view = sliding_window_view(Y, lookback, axis=0)  # (n - L + 1, ny, L), no copy
        level = np.empty((len(starts), Y.shape[1]))
        for part in _chunks(len(starts), lookback * Y.shape[1]):
            level[part] = np.maximum(np.abs(view[starts[part]]).mean(axis=2), self.level_floor)
        return shift, level

    def norms(self, past_y):
        """``(shift, level)`` of windows given as an array ``(m, lookback, n_targets)``."""
        scale_by_level, by_last = MODES[self.mode]
        shift = past_y[:, -1, :].copy() if by_last else None
        if not scale_by_level:
            return shift, np.ones((len(past_y), past_y.shape[2]))
        return shift, np.maximum(np.abs(past_y).mean(axis=1), self.level_floor)

    def _pooled_moments(self, Y, starts, lookback):
        """Mean and std per column of every window's ``(y - shift) / level``, two passes."""
        view = sliding_window_view(Y, lookback, axis=0)
        shift, level = self.norms_at(Y, starts, lookback)

        def scaled(part):
            w = view[starts[part]]
            if shift is not None:
                w = w - shift[part, :, None]
            return w / level[part, :, None]

        n = max(len(starts) * lookback, 1)
        parts = list(_chunks(len(starts), lookback * Y.shape[1]))
        mean = sum(scaled(p).sum(axis=(0, 2)) for p in parts) / n
        sq = sum(((scaled(p) - mean[None, :, None]) ** 2).sum(axis=(0, 2)) for p in parts)
        return mean, np.sqrt(sq / n)

    def _target_moments(self, Y, starts, spec):
        """Mean and std of the (normalised) targets per output, over ``starts``' windows."""
        n_out = spec.n_outputs
        if len(starts) == 0:
            return np.zeros(n_out), np.ones(n_out)
        total, sq = np.zeros(n_out), np.zeros(n_out)
        for part in _chunks(len(starts), spec.span * Y.shape[1]):
            total += self._raw_targets(Y, starts[part], spec).sum(axis=0)
        mean = total / len(starts)
        for part in _chunks(len(starts), spec.span * Y.shape[1]):
            sq += ((self._raw_targets(Y, starts[part], spec) - mean) ** 2).sum(axis=0)
        return mean, np.sqrt(sq / len(starts))

    def _raw_targets(self, Y, starts, spec):
        past = Y[starts[:, None] + np.arange(spec.lookback)]
        ahead = Y[starts[:, None] + spec.lookback + np.arange(spec.horizon)]
        shift, level = self.norms(past)
        tshift = self.target_shift(past, shift, spec.horizon)
        return self._scale_y(ahead, tshift, level).reshape(len(starts), -1)

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
        return seq.astype(np.float32)

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

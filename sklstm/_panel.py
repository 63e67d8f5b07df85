"""Windows of a panel of series, streamed from one contiguous array (private).

A global model trains on every window of every series. Materialising them costs
``lookback`` times the data (a ``np.concatenate`` of sliding-window views copies every
window); here the series are stored once, one after the other, in a single
``(n_points, n_channels)`` array, and a window is only an index: its start row. The
dataset gathers, scales and returns the windows of one batch at a time, so memory grows
with the number of points, not with points x lookback.

The features are the forecaster's (``LSTMForecaster._features``): each window's target
channels are divided by the window's own level, then standardised; exogenous channels
are standardised; with future exogenous data the horizon's rows follow, marked by an
indicator channel. ``PanelWindows`` has the interface the training loop uses from
:class:`sklstm._training.SequenceDataset`: ``__len__``, ``subset(slice)`` and
``batch(index)``.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

# Windows processed at once when a statistic is computed over all of them: bounds the
# temporary memory to about this many float64 values (2 MiB) per array.
_CHUNK_VALUES = 2**18


class PanelWindows(torch.utils.data.Dataset):
    """All windows of a panel, gathered batch by batch from one contiguous array.

    Parameters
    ----------
    values : ndarray of shape (n_points, n_targets + n_exog), float64
        The series one after the other (targets first, then exogenous columns).
    starts : ndarray of shape (n_windows,), int64
        Row in ``values`` where each window starts, in training order.
    levels : ndarray of shape (n_windows, n_targets)
        Each window's level (1 without window scaling).
    shifts : ndarray of shape (n_windows, n_targets) or None
        Subtracted from each window's target channels before they are divided by the
        level (the window's last value with ``window_scaling="last"``); None: zero.
    lookback, horizon, n_targets : int
    stats : dict of arrays
        ``y_loc``, ``y_scale`` (and ``x_loc``, ``x_scale`` with exogenous columns).
    future : bool
        Append the horizon's exogenous rows to each input (direct strategy with X).
    weights : ndarray of shape (n_windows,) or None
    y_mean, y_div : ndarray of shape (horizon * n_targets,) or None
        The regressor's target standardisation, applied to each batch of targets.
    """

    def __init__(
        self,
        values,
        starts,
        levels,
        *,
        shifts=None,
        lookback,
        horizon,
        n_targets,
        stats,
        future=False,
        weights=None,
        y_mean=None,
        y_div=None,
    ):
        self.values = values
        self.starts = starts
        self.levels = levels
        self.shifts = shifts
        self.lookback = lookback
        self.horizon = horizon
        self.n_targets = n_targets
        self.stats = stats
        self.future = future
        self.weights = weights
        self.y_mean = y_mean
        self.y_div = y_div

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def seq_len(self) -> int:
        return self.lookback + (self.horizon if self.future else 0)

    @property
    def n_channels(self) -> int:
        return self.values.shape[1] + (1 if self.future else 0)

    def subset(self, index: slice) -> PanelWindows:
        """The windows ``index`` (a slice); the values are shared, not copied."""
        sub = PanelWindows.__new__(PanelWindows)
        sub.__dict__.update(self.__dict__)
        sub.starts = self.starts[index]
        sub.levels = self.levels[index]
        sub.shifts = None if self.shifts is None else self.shifts[index]
        sub.weights = None if self.weights is None else self.weights[index]
        return sub

    def _normalise(self, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(values - shift) / level of the windows ``rows``; values is (b, T, n_targets)."""
        if self.shifts is not None:
            values = values - self.shifts[rows][:, None, :]
        return values / self.levels[rows][:, None, :]

    def features(self, rows: np.ndarray) -> np.ndarray:
        """Network inputs (b, seq_len, n_channels), float32, of the windows ``rows``."""
        ny, lookback, st = self.n_targets, self.lookback, self.stats
        starts = self.starts[rows]
        past = self.values[starts[:, None] + np.arange(lookback)]  # (b, L, C): this batch only
        parts = [(self._normalise(past[:, :, :ny], rows) - st["y_loc"]) / st["y_scale"]]
        if past.shape[2] > ny:
            parts.append((past[:, :, ny:] - st["x_loc"]) / st["x_scale"])
        seq = np.concatenate(parts, axis=2)
        if self.future:
            b, n_future = len(rows), self.horizon
            ahead = self.values[starts[:, None] + lookback + np.arange(n_future), ny:]
            future_part = np.concatenate(
                [
                    np.zeros((b, n_future, ny)),
                    (ahead - st["x_loc"]) / st["x_scale"],
                    np.zeros((b, n_future, 1)),
                ],
                axis=2,
            )
            seq = np.concatenate([seq, np.ones((b, lookback, 1))], axis=2)
            seq = np.concatenate([seq, future_part], axis=1)
        return seq.astype(np.float32)

    def targets(self, rows: np.ndarray) -> np.ndarray:
        """Level-scaled, standardised targets (b, horizon * n_targets), float32."""
        ny, st = self.n_targets, self.stats
        starts = self.starts[rows]
        ahead = self.values[starts[:, None] + self.lookback + np.arange(self.horizon), :ny]
        targ = (self._normalise(ahead, rows) - st["y_loc"]) / st["y_scale"]
        return targ.reshape(len(rows), -1).astype(np.float32)

    def batch(self, index: torch.Tensor):
        """``(X, y)`` or ``(X, [y, w])`` of the windows at ``index``, as CPU tensors."""
        rows = index.numpy()
        Xb = torch.from_numpy(self.features(rows))
        y = self.targets(rows)
        if self.y_mean is not None:
            y = ((y - self.y_mean) / self.y_div).astype(np.float32)
        yb = torch.from_numpy(y)
        if self.weights is None:
            return Xb, yb
        return Xb, [yb, torch.from_numpy(self.weights[rows])]

    def __getitem__(self, i):
        return self.batch(torch.as_tensor([i]))

    def chunks(self):
        """Row indices in chunks of bounded temporary memory."""
        size = max(1, _CHUNK_VALUES // (self.seq_len * self.n_channels))
        for first in range(0, len(self), size):
            yield np.arange(first, min(first + size, len(self)))


def window_norms(Y: np.ndarray, starts: np.ndarray, lookback: int, floor, mode: str):
    """``(shifts, levels)`` (each (n_windows, ny)) of the windows starting at ``starts``.

    The level is the mean absolute value per target column (1 in mode ``"none"``); the
    shift is the window's last value in mode ``"last"``, else None (no shift). As
    ``LSTMForecaster._window_norm`` computes them, without materialising the windows.
    """
    shifts = Y[starts + lookback - 1] if mode == "last" else None
    if mode == "none":
        return shifts, np.ones((len(starts), Y.shape[1]))
    view = sliding_window_view(Y, lookback, axis=0)  # (n - L + 1, ny, L), no copy
    size = max(1, _CHUNK_VALUES // (lookback * Y.shape[1]))
    levels = np.empty((len(starts), Y.shape[1]))
    for first in range(0, len(starts), size):
        part = np.abs(view[starts[first : first + size]]).mean(axis=2)
        levels[first : first + size] = np.maximum(part, floor)
    return shifts, levels


def _scaled_chunk(view, starts, shifts, levels, chunk: slice) -> np.ndarray:
    """(window - shift) / level of the windows ``chunk``, as (b, ny, lookback)."""
    part = view[starts[chunk]]
    if shifts is not None:
        part = part - shifts[chunk, :, None]
    return part / levels[chunk, :, None]


def scaled_moments(Y, starts, shifts, levels, lookback: int):
    """Mean and standard deviation (per column) of every window's (values - shift) / level.

    Two passes in chunks (the mean, then the squared deviations), as numpy's mean / std
    over the materialised windows would compute them, without materialising them.
    """
    view = sliding_window_view(Y, lookback, axis=0)
    size = max(1, _CHUNK_VALUES // (lookback * Y.shape[1]))
    n = len(starts) * lookback
    total = np.zeros(Y.shape[1])
    for first in range(0, len(starts), size):
        part = _scaled_chunk(view, starts, shifts, levels, slice(first, first + size))
        total += part.sum(axis=(0, 2))
    mean = total / n
    sq = np.zeros(Y.shape[1])
    for first in range(0, len(starts), size):
        part = _scaled_chunk(view, starts, shifts, levels, slice(first, first + size))
        sq += ((part - mean[None, :, None]) ** 2).sum(axis=(0, 2))
    return mean, np.sqrt(sq / n)


def fit_on_windows(reg, dataset: PanelWindows, *, warm: bool, max_iter=None) -> None:
    """Train an ``LSTMRegressor`` on ``dataset`` through its own training entry point.

    The same steps as ``LSTMRegressor.fit`` (parameter validation, its ``_cold_start``
    with the sample-weighted target statistics, the seeded ``BaseLSTM._train``), but the
    windows are gathered batch by batch instead of being passed as one array.
    """
    reg._validate_params()
    if not warm:
        w = np.ones(len(dataset)) if dataset.weights is None else dataset.weights
        n_outputs = dataset.horizon * dataset.n_targets
        total = np.zeros(n_outputs)
        for rows in dataset.chunks():
            total += (dataset.targets(rows) * w[rows, None]).sum(axis=0)
        mean = total / w.sum()
        sq = np.zeros(n_outputs)
        for rows in dataset.chunks():
            sq += (((dataset.targets(rows) - mean) ** 2) * w[rows, None]).sum(axis=0)
        reg._cold_start(
            n_features=dataset.seq_len,  # what validate_data records for 3-D X
            n_channels=dataset.n_channels,
            dtype=np.float32,
            n_outputs=n_outputs,
            y_ndim=2,
            y_mean=mean,
            y_var=sq / w.sum(),
            n_train=len(dataset),
        )
    elif dataset.n_channels != reg.n_channels_in_ or dataset.seq_len != reg.n_features_in_:
        raise ValueError(
            f"These windows have {dataset.n_channels} channel(s) and {dataset.seq_len} "
            f"steps, but the network was trained on {reg.n_channels_in_} and "
            f"{reg.n_features_in_}."
        )
    dataset.y_mean = reg.y_mean_
    dataset.y_div = reg._target_divisor()
    if dataset.weights is not None:
        w = dataset.weights
        dataset.weights = None if np.all(w == w[0]) else w.astype(np.float32)
    reg._train(dataset, epochs=reg.max_iter if max_iter is None else max_iter)

"""Series stored once, windows cut by index, batches gathered on demand (private).

A series is a panel of one. The series are stored one after the other in a single
``(n_points, n_targets + n_exog)`` float64 array; a window is only its start row
(int32 where the panel has fewer than 2**31 rows). Datasets gather and normalise the
windows of one batch at a time, their shifts and levels included, so training memory
grows with the number of points (4 bytes of start per window), not with points x
lookback.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pandas as pd
import torch

from sklstm._forecast.index import cutoff_of
from sklstm._training import TailSplit


def index_dtype(n_rows: int) -> type:
    """The dtype of row numbers into ``n_rows`` rows: int32 where it can hold them, else int64."""
    return np.int32 if n_rows <= np.iinfo(np.int32).max else np.int64


def _join(parts, dtype) -> np.ndarray:
    """``np.concatenate(parts)``, without the copy when there is one part."""
    if len(parts) == 1:
        return np.asarray(parts[0], dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)


class SeriesPanel:
    """One or more series in one contiguous array, and where each starts.

    Parameters
    ----------
    values : ndarray of shape (n_points, n_targets + n_exog), float64
    offsets : ndarray of shape (n_series + 1,), int64
        Series ``i`` is ``values[offsets[i]:offsets[i + 1]]``.
    n_targets : int
    """

    def __init__(self, values, offsets, n_targets):
        self.values = values
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.n_targets = int(n_targets)

    @classmethod
    def from_arrays(cls, series):
        """From a list of ``(Y, Xa)``: targets ``(n, ny)`` and exogenous ``(n, nx)`` or None."""
        blocks = [Y if Xa is None else np.concatenate([Y, Xa], axis=1) for Y, Xa in series]
        offsets = np.cumsum([0] + [len(b) for b in blocks])
        # One float64 series is stored as it is (read only here): no second copy of it.
        values = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
        values = np.ascontiguousarray(values, dtype=np.float64)
        return cls(values, offsets, series[0][0].shape[1])

    @property
    def Y(self):
        return self.values[:, : self.n_targets]

    @property
    def n_exog(self) -> int:
        return self.values.shape[1] - self.n_targets

    def bounds(self):
        return list(pairwise(self.offsets.tolist()))

    @property
    def index_dtype(self) -> type:
        """The dtype of the window starts (:func:`index_dtype` of the number of rows)."""
        return index_dtype(len(self.values))

    def stat_starts(self, lookback: int) -> np.ndarray:
        """Every window start with at least one step after the window."""
        dtype = self.index_dtype
        return _join([np.arange(a, b - lookback, dtype=dtype) for a, b in self.bounds()], dtype)

    def split(self, spec, validation_fraction, validation: bool):
        """Starts of the training and the held-out windows, chronological per series.

        With ``validation``, the newest ``validation_fraction`` of each series' windows
        are held out, and the ``horizon - 1`` windows before each held-out tail, whose
        targets overlap the held-out targets, are left out of training: the held-out
        errors are honest.
        """
        dtype, train, valid = self.index_dtype, [], []
        for a, b in self.bounds():
            m = max((b - a) - spec.span + 1, 0)  # the windows of this series
            n_val = TailSplit(validation_fraction).n_valid(m) if validation and m >= 2 else 0
            cut = m - n_val
            purge = min(spec.horizon - 1, cut - 1) if n_val else 0
            train.append(np.arange(a, a + cut - purge, dtype=dtype))
            valid.append(np.arange(a + cut, a + m, dtype=dtype))
        return _join(train, dtype), _join(valid, dtype)


class WindowDataset(torch.utils.data.Dataset):
    """Windows of a :class:`SeriesPanel` for an ensemble, gathered batch by batch.

    Member ``m`` of the ensemble reads channels ``m * C .. (m + 1) * C`` of each input
    and predicts outputs ``m * K .. (m + 1) * K``; its rows are the windows
    ``(a_m * index + b_m) % n`` of the batch ``index``, with ``a_m`` coprime to ``n``:
    a bijection, so that every member sees every window once per epoch, in its own
    order. Member ``m`` is normalised by ``normalisers[modes[m]]``, with the shift and
    level of each window computed from the batch's gathered windows (nothing is
    stored per window but its start).

    The interface is the training loop's (:class:`sklstm._training.SequenceDataset`):
    ``__len__``, ``subset(slice)``, ``batch(index)``.
    """

    def __init__(self, panel, starts, spec, normalisers, modes, orders=None):
        self.panel = panel
        self.starts = np.asarray(starts, dtype=panel.index_dtype)
        self.spec = spec
        self.normalisers = normalisers
        self.modes = list(modes)
        self.orders = [(1, 0)] * len(self.modes) if orders is None else list(orders)

    @staticmethod
    def member_orders(n: int, n_members: int, rng) -> list[tuple[int, int]]:
        """``(a, b)`` per member: member 0 reads the shared order, the others a bijection."""
        orders = [(1, 0)]
        for _ in range(n_members - 1):
            a = int(rng.randint(1, max(n, 2)))
            while math.gcd(a, n) != 1:
                a = a % max(n - 1, 1) + 1
            orders.append((a, int(rng.randint(0, max(n, 1)))))
        return orders

    def __len__(self) -> int:
        return len(self.starts)

    def subset(self, index: slice):
        sub = WindowDataset.__new__(WindowDataset)
        sub.__dict__.update(self.__dict__)
        sub.starts = self.starts[index]
        sub.orders = [(1, 0)] * len(self.modes)
        return sub

    def _rows(self, index: np.ndarray, member: int) -> np.ndarray:
        a, b = self.orders[member]
        return index if (a, b) == (1, 0) else (a * index + b) % len(self.starts)

    def member_arrays(self, rows: np.ndarray, mode: str, targets: bool = True):
        """Inputs (and targets) of the windows ``rows`` under normalisation ``mode``."""
        spec, values = self.spec, self.panel.values
        ny = spec.n_targets
        starts = self.starts[rows]
        past = values[starts[:, None] + np.arange(spec.lookback)]  # this batch only
        future = None
        if spec.future:
            future = values[starts[:, None] + spec.lookback + np.arange(spec.horizon), ny:]
        norm = self.normalisers[mode]
        shift, level = norm.norms(past[:, :, :ny])  # as at predict time, this batch only
        X = norm.encode_inputs(past, future, shift, level)
        if not targets:
            return X, None
        ahead = values[starts[:, None] + spec.lookback + np.arange(spec.horizon), :ny]
        tshift = norm.target_shift(past[:, :, :ny], shift, spec.horizon)
        return X, norm.encode_targets(ahead, tshift, level)

    def batch(self, index: torch.Tensor):
        """``(X, y)``: every member's inputs side by side on the channel axis, and targets."""
        index = index.numpy()
        cache, xs, ys = {}, [], []
        for member, mode in enumerate(self.modes):
            key = (mode, self.orders[member])
            if key not in cache:
                cache[key] = self.member_arrays(self._rows(index, member), mode)
            X, y = cache[key]
            xs.append(X)
            ys.append(y)
        return torch.from_numpy(np.concatenate(xs, axis=2)), torch.from_numpy(
            np.concatenate(ys, axis=1)
        )

    def __getitem__(self, i):
        return self.batch(torch.as_tensor([i]))


def by_instance(frame):
    """``frame.groupby`` over the instance level(s), a scalar level for a 2-level index."""
    levels = list(range(frame.index.nlevels - 1))
    return frame.groupby(level=levels[0] if len(levels) == 1 else levels, sort=False)


def check_finite(values, what: str, owner: str) -> None:
    """Raise a ValueError naming the first missing (NaN) or infinite value of ``values``.

    (sktime rejects NaN in what it is given; this also guards the paths it does not see.)
    """
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(np.argwhere(bad)[0])
        row, kind = int(first[0]), "missing values (NaN)"
        if not np.isnan(values[first]):
            kind = "infinite values"
        name = what if what.isidentifier() else what.split()[-1]  # "series 'a' of y": y
        fill, where = "interpolate().bfill()", f"row {row}"  # bfill: for a first value
        if not what.isidentifier():  # one series of a panel: fill within each series
            instances = f"list(range({name}.index.nlevels - 1))"
            fill = f"groupby(level={instances}).transform(lambda s: s.{fill})"
            where = f"row {row} of that series"
        raise ValueError(
            f"{owner}: {what} contains {kind} (the first at {where}); replace them (e.g. "
            f"{name} = {name}.replace([np.inf, -np.inf], np.nan).{fill}) before passing it."
        )


def update_frames(y, X, y_columns, hist_X, owner: str):
    """The ``y`` and ``X`` of an update, checked against fit's columns (nothing changes).

    The same columns in another order are put in fit's; a one-column ``y`` is renamed as
    fit's (its name does not matter, as in sktime); ``X``
    keeps fit's exogenous columns (those of ``hist_X``; None: fitted without X) only.
    """
    same = len(y.columns) == len(y_columns) and set(y.columns) == set(y_columns)
    if same and list(y.columns) != list(y_columns):
        y = y[list(y_columns)]  # the same columns in another order
    if list(y.columns) != list(y_columns):
        if len(y.columns) != 1 or len(y_columns) != 1:
            raise ValueError(
                f"{owner}.update got y with the columns {list(y.columns)}, but fit got "
                f"{list(y_columns)}: pass y with the same columns."
            )
        y = y.set_axis(list(y_columns), axis=1)
    check_finite(y.to_numpy(dtype=np.float64), "y", owner)
    if hist_X is None:
        return y, X
    if X is None:
        raise ValueError(
            f"{owner} was fitted with exogenous X: update needs X for the new time points too."
        )
    missing = [c for c in hist_X.columns if c not in X.columns]
    if missing:
        raise ValueError(
            f"{owner} was fitted with exogenous X columns {list(hist_X.columns)}; the X given "
            f"to update lacks the column(s) {missing}."
        )
    X = X[list(hist_X.columns)]
    # All the rows given, as sktime refuses NaN in all of them (it does not look for inf).
    check_finite(X.to_numpy(dtype=np.float64), "X", owner)
    return y, X


def panel_arrays(y, X=None, owner="LSTMForecaster"):
    """List of ``(Y, Xa)`` float64 arrays, one per instance of a multi-indexed panel."""
    X_groups = {} if X is None else dict(list(by_instance(X)))
    series = []
    for key, y_i in by_instance(y):
        Y = y_i.to_numpy(dtype=np.float64)
        Xa = None if X is None else X_groups[key].loc[y_i.index].to_numpy(dtype=np.float64)
        check_finite(Y, f"series {key!r} of y", owner)
        if Xa is not None:
            check_finite(Xa, f"series {key!r} of X", owner)
        series.append((Y, Xa))
    return series


def _numeric(frame, what: str, owner: str):
    """``frame`` as float64, or a TypeError naming its non-numeric columns."""
    bad = [
        c
        for c, dtype in frame.dtypes.items()
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
    ]
    if bad:
        raise TypeError(
            f"{owner}: {what} must hold numbers only, but the column(s) {bad} are not numeric. "
            "Drop or encode them (e.g. y.select_dtypes('number')) first."
        )
    return frame.to_numpy(dtype=np.float64)


def _series_cutoff(times, positions, cutoffs):
    """A series' last time point as a one-point index; a datetime one keeps the step.

    A bare time point of a MultiIndex has lost the step (check_index has made sure
    every series has one). The step inferred for the previous series is reused when it
    leads from this series' first time point to its last (one ``infer_freq`` per series
    would cost seconds on a panel of 10,000 series).
    """
    if isinstance(times, pd.DatetimeIndex) and cutoffs:
        previous = cutoffs[-1]
        freq = previous.freq
        first, last = times[positions[0]], times[positions[-1]]
        if freq is not None and first + (len(positions) - 1) * freq == last:
            # the same index object where the series end together (most panels)
            return previous if previous[0] == last else pd.DatetimeIndex([last], freq=freq)
    return cutoff_of(times[positions])


def last_windows(frame, lookback: int, context: int, owner: str = "forecast_panel"):
    """The last ``lookback`` (and ``context``) rows of every series of a panel.

    Returns ``(keys, cutoffs, windows, histories)``: the instance key of each series as
    a tuple, its last time point (a one-point index that keeps the series' step), an
    array ``(n_series, lookback, n_columns)``, and each series' last ``context`` rows
    (fewer for a shorter series). Raises a ValueError for a frame without instance
    levels, a series too short, NaN or infinite values, and a TypeError for non-numeric
    columns.
    """
    if not isinstance(frame.index, pd.MultiIndex):
        raise ValueError(
            f"{owner} needs a panel: y with a MultiIndex (instance level(s), then time), but "
            f"got one series with a {type(frame.index).__name__}. For one series use fit / "
            "predict, or make it a panel of one: pd.concat({'series': y}, names=['series'])."
        )
    values = _numeric(frame, "y", owner)
    keys, cutoffs, pasts, histories = [], [], [], []
    grouped = by_instance(frame)
    rows = grouped.indices  # each series' row positions (its rows need not be together)
    times = frame.index.get_level_values(-1)
    for key, positions in rows.items():
        if len(positions) < lookback:
            raise ValueError(
                f"{owner} needs the last {lookback} points of every series; series "
                f"{key!r} has {len(positions)}."
            )
        series = values[positions]
        check_finite(series, f"series {key!r} of y", owner)
        keys.append(key if isinstance(key, tuple) else (key,))
        cutoffs.append(_series_cutoff(times, positions, cutoffs))
        pasts.append(series[-lookback:])
        histories.append(series[-context:])
    return keys, cutoffs, np.stack(pasts), histories

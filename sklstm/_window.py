"""Sliding windows over time-ordered data.

:func:`make_windows` cuts ``(windows, targets)`` pairs from a series for training a sequence
model by hand; :class:`WindowTransformer` is the Pipeline step that turns every row of a
time-ordered table into the window of rows that ends at it.

Both return read-only views of the data instead of copies, so windowing a long series costs
(at most) one copy of the series, never ``lookback`` copies of it.
"""

from numbers import Integral, Real

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

from sklstm._checks import reject_bools, reject_time_dtypes

__all__ = ["make_windows", "WindowTransformer"]

_FLOAT_DTYPES = (np.float64, np.float32)


def _check_series(a, name):
    """Convert ``a`` to a 1-D or 2-D finite float array (a view whenever possible).

    float32 and float64 are kept; any other numeric dtype (int, bool, float16) becomes
    float64. Raises TypeError for non-numeric data and ValueError for NaN/inf or a wrong
    number of dimensions, each with a hint on how to fix it.
    """
    reject_time_dtypes("make_windows", **{name: a})
    if getattr(a, "ndim", None) == 2 and a.shape[1] == 0:
        raise ValueError(
            f"make_windows: {name} has no columns (shape {a.shape}); pass at least one "
            "series (a column per series, time along the first axis)."
        )
    try:
        arr = check_array(
            a,
            dtype=list(_FLOAT_DTYPES),
            ensure_2d=False,
            allow_nd=True,
            ensure_all_finite=False,
            ensure_min_samples=0,
            input_name=name,
        )
    except (TypeError, ValueError) as exc:
        if "omplex" in str(exc):
            raise ValueError(
                f"make_windows: {name} holds complex numbers, which are not supported; pass "
                f"the real part (np.real({name})) or split real and imaginary parts into two "
                "columns."
            ) from exc
        raise TypeError(
            f"make_windows: {name} must hold numbers only ({exc}). Drop or encode the "
            "non-numeric columns (e.g. df.select_dtypes('number')) before windowing."
        ) from exc
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"make_windows: {name} must be 1-D (n_steps,) or 2-D (n_steps, n_columns) with "
            f"time along the first axis; got an array of shape {arr.shape}. "
            + (
                f"Wrap a single value in a list or pass the whole series as {name}."
                if arr.ndim == 0
                else "Reshape it to 2-D (e.g. a.reshape(len(a), -1)) or pass one series."
            )
        )
    try:
        # sklearn's finiteness check runs in O(1) extra memory for float arrays.
        check_array(arr, ensure_2d=False, ensure_min_samples=0, dtype=None, input_name=name)
    except ValueError as exc:
        raise ValueError(
            f"make_windows: {exc} Windows must be finite: fill or drop the missing values "
            "(e.g. with pandas' interpolate() or dropna()) before windowing."
        ) from exc
    return arr


def _read_only(a):
    """A read-only view of ``a`` (the caller's array stays writeable)."""
    view = a.view()
    view.flags.writeable = False
    return view


@validate_params(
    {
        "y": ["array-like"],
        "X": ["array-like", None],
        "lookback": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def make_windows(y, X=None, *, lookback, horizon=1, stride=1):
    """Cut a time series into (input window, target) pairs, as read-only views.

    Window ``i`` starts at row ``s = i * stride`` and covers rows ``[s, s + lookback)``;
    its targets are the ``y`` rows ``[s + lookback, s + lookback + horizon)``, i.e. the
    ``horizon`` steps right after the window. Every window that fits is produced: a
    series of ``n_steps`` rows gives ``(n_steps - lookback - horizon) // stride + 1``
    windows (the last one ends exactly at the last row when ``stride == 1``).

    Parameters
    ----------
    y : array-like of shape (n_steps,) or (n_steps, n_targets)
        The series to forecast, time along the first axis: a list, a numpy array, a pandas
        Series or DataFrame. Its columns are both the first input channels and the targets.
    X : array-like of shape (n_steps,) or (n_steps, n_exog), default=None
        Exogenous series aligned with ``y`` row by row (same length). Window ``i`` holds
        ``X``'s rows ``[s, s + lookback)``, the same time steps as ``y``'s part of the
        window. ``X`` is not used for targets.
    lookback : int
        Number of time steps in each input window (``>= 1``).
    horizon : int, default=1
        Number of future ``y`` steps each window is paired with (``>= 1``).
    stride : int, default=1
        Step, in rows, between the starts of two consecutive windows (``>= 1``).

    Returns
    -------
    windows : ndarray of shape (n_windows, lookback, n_channels)
        Read-only view. The channels are ``y``'s columns followed by ``X``'s columns
        (``n_channels = n_targets + n_exog``; a 1-D input counts as one column).
    targets : ndarray
        Read-only view of ``y``:

        - ``(n_windows,)`` when ``y`` is 1-D and ``horizon == 1``;
        - ``(n_windows, horizon)`` when ``y`` is 1-D and ``horizon > 1``;
        - ``(n_windows, n_targets)`` when ``y`` is 2-D and ``horizon == 1`` (the
          scikit-learn multi-output layout; a 2-D ``y`` with one column keeps its column);
        - ``(n_windows, horizon, n_targets)`` when ``y`` is 2-D and ``horizon > 1``.

        In short: the horizon axis is there iff ``horizon > 1``, the target axis iff ``y``
        is 2-D.

    Raises
    ------
    ValueError
        If the series is shorter than ``lookback + horizon`` steps, contains NaN or
        infinity, has the wrong number of dimensions, if ``y`` and ``X`` differ in length,
        or if ``lookback``, ``horizon`` or ``stride`` is not a positive int.
    TypeError
        If the data is not numeric.

    See Also
    --------
    WindowTransformer : Windows as a scikit-learn Pipeline step (one window per row).

    Notes
    -----
    **Views, not copies.** ``windows`` and ``targets`` are built with
    :func:`numpy.lib.stride_tricks.sliding_window_view`: overlapping windows share memory,
    so windowing a 10-million-step series with ``lookback=512`` costs no extra memory. They
    are read-only (``windows.flags.writeable`` is False) because writing to one window
    would change its neighbours too; call ``np.array(windows)`` for a private, writeable
    copy (which does cost ``lookback`` times the series). One copy of the series is made
    when ``y`` and ``X`` are both given (the channels are concatenated into one
    ``(n_steps, n_channels)`` array) or when the input is not already a float array
    (list, integer data, most pandas objects).

    **dtypes.** float32 and float64 are kept as they are (float32 with float64 gives
    float64); other numeric dtypes become float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import make_windows
    >>> y = np.arange(6.0)
    >>> windows, targets = make_windows(y, lookback=3)
    >>> windows.shape, targets.shape
    ((3, 3, 1), (3,))
    >>> windows[:, :, 0]
    array([[0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 4.]])
    >>> targets
    array([3., 4., 5.])
    >>> windows, targets = make_windows(y, 10 * y, lookback=2, horizon=2, stride=2)
    >>> windows[1]
    array([[ 2., 20.],
           [ 3., 30.]])
    >>> targets
    array([[2., 3.],
           [4., 5.]])
    """
    reject_bools("make_windows", lookback=lookback, horizon=horizon, stride=stride)
    y_arr = _check_series(y, "y")
    n_steps = y_arr.shape[0]
    y2d = y_arr[:, np.newaxis] if y_arr.ndim == 1 else y_arr  # always a view
    if X is None:
        data = y2d
    else:
        X_arr = _check_series(X, "X")
        if X_arr.shape[0] != n_steps:
            raise ValueError(
                f"make_windows: y and X must have one row per time step, but y has {n_steps} "
                f"rows and X has {X_arr.shape[0]}. Align them on the same time index first "
                "(e.g. X = X.loc[y.index])."
            )
        X2d = X_arr[:, np.newaxis] if X_arr.ndim == 1 else X_arr
        data = np.empty((n_steps, y2d.shape[1] + X2d.shape[1]), np.result_type(y_arr, X_arr))
        data[:, : y2d.shape[1]] = y2d
        data[:, y2d.shape[1] :] = X2d

    needed = lookback + horizon
    if n_steps < needed:
        raise ValueError(
            f"make_windows needs at least lookback + horizon = {lookback} + {horizon} = "
            f"{needed} time steps to cut one window, but the series has {n_steps}. Pass a "
            "longer series or a smaller lookback/horizon."
        )
    n_windows = (n_steps - needed) // stride + 1
    last_start = (n_windows - 1) * stride

    # sliding_window_view puts the window axis last: (n_steps - lookback + 1, n_ch, lookback).
    windows = sliding_window_view(data, lookback, axis=0)[: last_start + 1 : stride]
    windows = windows.swapaxes(1, 2)

    if horizon == 1:
        targets = _read_only(y_arr[lookback : lookback + last_start + 1 : stride])
    else:
        targets = sliding_window_view(y_arr, horizon, axis=0)
        targets = targets[lookback : lookback + last_start + 1 : stride]
        if targets.ndim == 3:  # (n_windows, n_targets, horizon) -> (n_windows, horizon, n_targets)
            targets = targets.swapaxes(1, 2)
    return windows, targets


def _causal_windows(X, lookback, padding, fill_value):
    """Read-only view (n_rows, lookback, n_channels): row t's window ends at row t.

    The ``lookback - 1`` rows before the first row are padded, so every row has a window.
    Costs one copy of ``X`` (the padded table), not ``lookback`` copies.
    """
    n_rows, n_channels = X.shape
    padded = np.empty((n_rows + lookback - 1, n_channels), dtype=X.dtype)
    padded[lookback - 1 :] = X
    padded[: lookback - 1] = X[0] if padding == "edge" else fill_value
    return sliding_window_view(padded, lookback, axis=0).swapaxes(1, 2)


class WindowTransformer(TransformerMixin, BaseEstimator):
    """Turn each row of a time-ordered table into the window of rows ending at it.

    The input is a table whose rows are time steps (oldest first) and whose columns are
    channels. Output row ``t`` holds input rows ``t - lookback + 1, ..., t`` (the row
    itself is the last, newest step of its window). The first ``lookback - 1`` rows have
    no full history: the missing steps before the first row are padded (see
    ``padding``). The number of rows never changes, so ``y`` stays aligned with ``X`` in
    a :class:`~sklearn.pipeline.Pipeline`.

    Parameters
    ----------
    lookback : int, default=10
        Number of time steps in each window, the row itself included (``>= 1``;
        ``lookback=1`` just reshapes each row to a one-step window).
    output : {"3d", "flat"}, default="3d"
        - ``"3d"``: an array of shape ``(n_samples, lookback, n_channels)``, what
          :class:`sklstm.LSTMRegressor` takes (it learns ``seq_len = lookback`` and the
          channel count from this shape at fit).
        - ``"flat"``: a table of shape ``(n_samples, lookback * n_channels)`` for any
          scikit-learn regressor, with feature names (see ``get_feature_names_out``) and
          ``set_output(transform="pandas")`` support.

        Flat column ``j`` is window step ``j // n_channels`` (oldest first) of channel
        ``j % n_channels``, so ``flat.reshape(n_samples, lookback, n_channels)`` is the
        3-D form.
    padding : {"edge", "constant"}, default="edge"
        How the steps before the first row are filled. ``"edge"`` repeats the first row,
        which adds no value that is not in the data (so a :class:`SequenceScaler` or a
        min/max after this step is not skewed by made-up values); ``"constant"`` uses
        ``fill_value``.
    fill_value : float, default=0.0
        The padding value when ``padding="constant"``; ignored otherwise.

    Attributes
    ----------
    n_features_in_ : int
        Number of channels (columns) seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during fit. Defined only when X has string column names.

    See Also
    --------
    make_windows : Windows and their future targets as views, for a training loop by hand.
    SequenceScaler : Per-channel scaling of 2-D tables and 3-D windows.

    Notes
    -----
    **Stateless.** ``fit`` only learns the number (and names) of the columns; ``transform``
    windows whatever table it is given.

    **Transforming a test set on its own pads its start.** A causal window only sees the
    rows of the table passed to ``transform``, so the first ``lookback - 1`` rows of a
    separately transformed test table are padded instead of using the end of the training
    data. This is what happens inside ``cross_val_score`` / ``GridSearchCV`` and in
    ``pipe.predict(X_test)``; the effect is limited to those rows and nothing leaks from
    the future. To avoid it, transform (or ``predict`` on) the full, time-ordered table and
    split the result afterwards (``pipe.predict(X_all)[n_train:]``), or use
    :class:`sklstm.LSTMForecaster`, which keeps the history itself.

    **Outputs are read-only views** into one padded copy of the table (the windows overlap
    in memory, so a window costs nothing extra). Call ``np.array(Xt)`` if you need to write
    to them. A pandas or polars table (``set_output``) is a writeable copy.

    **set_output.** ``set_output(transform="pandas"/"polars")`` applies to
    ``output="flat"`` only: a 3-D array cannot be a table, so with ``output="3d"``
    ``transform`` raises a ValueError when a non-default output container is configured
    (for this step or globally).

    **Default output** is ``"3d"``, so ``make_pipeline(WindowTransformer(24),
    SequenceScaler(), LSTMRegressor())`` needs no shape parameter anywhere. The default
    instance passes scikit-learn's ``check_estimator`` except
    ``check_methods_sample_order_invariance`` and ``check_methods_subset_invariance``:
    row ``t``'s window depends on the rows before it, so shuffling or splitting the rows
    changes the output by design.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklstm import WindowTransformer
    >>> X = pd.DataFrame({"sales": [1.0, 2.0, 3.0, 4.0], "price": [5.0, 6.0, 7.0, 8.0]})
    >>> WindowTransformer(lookback=2).fit_transform(X).shape
    (4, 2, 2)
    >>> flat = WindowTransformer(lookback=2, output="flat").set_output(transform="pandas")
    >>> flat.fit_transform(X)
       sales_lag1  price_lag1  sales_lag0  price_lag0
    0         1.0         5.0         1.0         5.0
    1         1.0         5.0         2.0         6.0
    2         2.0         6.0         3.0         7.0
    3         3.0         7.0         4.0         8.0
    """

    _parameter_constraints: dict = {
        "lookback": [Interval(Integral, 1, None, closed="left")],
        "output": [StrOptions({"3d", "flat"})],
        "padding": [StrOptions({"edge", "constant"})],
        "fill_value": [Interval(Real, None, None, closed="neither")],
    }

    def __init__(self, lookback=10, *, output="3d", padding="edge", fill_value=0.0):
        self.lookback = lookback
        self.output = output
        self.padding = padding
        self.fill_value = fill_value

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the number and names of the columns (channels).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels)
            Time-ordered table: rows are time steps, columns are channels.
        y : None
            Ignored; present for Pipeline compatibility.

        Returns
        -------
        self : WindowTransformer
            The fitted transformer.
        """
        reject_bools(type(self).__name__, lookback=self.lookback)
        validate_data(self, X, dtype=list(_FLOAT_DTYPES))
        return self

    def transform(self, X):
        """Replace each row by the window of the ``lookback`` rows ending at it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels)
            Time-ordered table with the columns seen in ``fit``.

        Returns
        -------
        Xt : ndarray of shape (n_samples, lookback, n_channels) or \
(n_samples, lookback * n_channels)
            Read-only view; 3-D for ``output="3d"``, 2-D (or a DataFrame, a
            writeable copy, under ``set_output``) for ``output="flat"``. float32
            input stays float32.
        """
        check_is_fitted(self)
        self._check_params_again()
        X = validate_data(self, X, reset=False, dtype=list(_FLOAT_DTYPES))
        container = _get_output_config("transform", self)["dense"]
        if self.output == "3d" and container != "default":
            raise ValueError(
                f"WindowTransformer(output='3d') returns a 3-D array (n_samples, lookback, "
                f"n_channels), which cannot be a {container} table, but transform output "
                f"{container!r} is configured (by set_output on this step or a Pipeline, or "
                "by sklearn.set_config). Use output='flat' for a table with named lag "
                "columns, or call set_output(transform='default') on this step; under a "
                "global set_config, on every step that passes 3-D windows (a "
                "SequenceScaler after it too)."
            )
        if self.padding == "constant" and self.lookback > 1:
            with np.errstate(over="ignore"):
                fill = np.asarray(self.fill_value, dtype=X.dtype)
            if not np.isfinite(fill):
                raise ValueError(
                    f"WindowTransformer(fill_value={self.fill_value!r}) does not fit in X's "
                    f"dtype {X.dtype} (it would pad with {fill}): pass a smaller fill_value, "
                    "or X as float64."
                )
        windows = _causal_windows(X, self.lookback, self.padding, self.fill_value)
        if self.output == "flat":
            # A view too: the padded table is C-contiguous, so the (lookback, channel) axes
            # of each window merge into one axis without a copy.
            flat = windows.reshape(X.shape[0], -1)
            # A DataFrame over a read-only view refuses every in-place edit (df.loc[...] =,
            # fillna(inplace=True)) with numpy's errors: a table gets its own copy.
            return flat if container == "default" else np.array(flat)
        return windows

    def _check_params_again(self):
        """lookback, padding and fill_value are read at transform time, not in fit: a
        set_params after fit is checked too, rather than failing inside numpy."""
        self._validate_params()
        reject_bools(type(self).__name__, lookback=self.lookback)

    def get_feature_names_out(self, input_features=None):
        """Names of the window values: ``"{channel}_lag{k}"``.

        ``k`` is how many rows before the current row the value was observed: ``lag0`` is
        the row itself, ``lag{lookback - 1}`` the oldest step of the window. Names are in
        the flat column order: oldest step first, channels in input order within a step
        (``a_lag1, b_lag1, a_lag0, b_lag0``). For ``output="3d"`` they name the columns of
        ``Xt.reshape(n_samples, -1)``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Channel names. If None, ``feature_names_in_`` is used, or ``x0, x1, ...`` when
            it is not defined. If given, it must match ``feature_names_in_`` when that is
            defined.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``lookback * n_features_in_`` names.
        """
        check_is_fitted(self, "n_features_in_")
        self._check_params_again()
        channels = _check_feature_names_in(self, input_features)
        names = [
            f"{channel}_lag{lag}"
            for lag in range(self.lookback - 1, -1, -1)
            for channel in channels
        ]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

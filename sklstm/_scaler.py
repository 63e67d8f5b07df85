"""Per-channel scaling of time-ordered tables and 3-D windows."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

__all__ = ["SequenceScaler"]

_FLOAT_DTYPES = [np.float64, np.float32]


class SequenceScaler(TransformerMixin, BaseEstimator):
    """Scale each channel with statistics pooled over all samples and time steps.

    Accepts a time-ordered table of shape ``(n_samples, n_channels)`` (one channel per
    column) or windows of shape ``(n_samples, seq_len, n_channels)``. Each channel gets one
    center and one scale, computed over every value of that channel, whatever its sample
    or time step. A per-column scaler such as :class:`~sklearn.preprocessing.StandardScaler`
    on flattened windows would instead give each lag of a channel its own statistics, so
    the same value would be scaled differently depending on its position in the window.

    The transform is ``X_scaled = (X - center_) / scale_`` with, per channel:

    - ``"standard"``: ``center_`` = mean, ``scale_`` = standard deviation (ddof=0);
    - ``"minmax"``: the values are mapped onto ``feature_range``: ``scale_`` =
      ``(max - min) / (feature_range[1] - feature_range[0])``, ``center_`` =
      ``min - feature_range[0] * scale_``;
    - ``"robust"``: ``center_`` = median, ``scale_`` = interquartile range (25th to 75th
      percentile).

    A channel whose spread is zero (constant, or an interquartile range of zero) gets
    ``(max - min)`` or the deviation replaced by 1, as scikit-learn's scalers do, so it is
    only shifted and never divided by zero.

    Parameters
    ----------
    method : {"standard", "minmax", "robust"}, default="standard"
        Which statistics to scale with (see above).
    feature_range : tuple (min, max), default=(0, 1)
        Target range of ``method="minmax"``; ignored by the other methods.

    Attributes
    ----------
    center_ : ndarray of shape (n_channels_in_,)
        Per-channel value subtracted before scaling (float64).
    scale_ : ndarray of shape (n_channels_in_,)
        Per-channel divisor (float64, never zero).
    n_channels_in_ : int
        Number of channels (last axis) seen during fit.
    n_features_in_ : int
        ``X.shape[1]`` seen during fit: the number of channels for a 2-D table, ``seq_len``
        for 3-D windows (the convention of :class:`sklstm.LSTMRegressor`).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen during fit. Defined only when X is a DataFrame with string
        column names.

    See Also
    --------
    WindowTransformer : Windows of a time-ordered table, 3-D or flat.
    sklearn.preprocessing.StandardScaler : Per-column scaling of a 2-D table.

    Notes
    -----
    **No leakage.** The statistics are learned in ``fit`` from the data passed to it and
    nothing else; in a Pipeline under cross-validation that is the training fold only.

    **Overlapping windows.** Fitted on 3-D windows from :class:`WindowTransformer` (or
    :func:`make_windows` with ``stride=1``), each time step is counted up to ``lookback``
    times: the first and last ``lookback - 1`` steps of the series fewer times than the
    rest, and with ``padding="edge"`` the first row more often. ``"minmax"`` is exactly
    unaffected (min and max do not depend on how often a value occurs); mean, deviation,
    median and quartiles move by a boundary effect of order ``lookback / n_samples``, which
    is negligible for training but not zero. For statistics of the series exactly (and
    ``lookback`` times less work), scale the table before windowing:
    ``make_pipeline(SequenceScaler(), WindowTransformer(24), LSTMRegressor())``.

    The input at ``transform`` must have the same number of dimensions and channels as in
    ``fit`` (and, for 3-D input, the same ``seq_len``). float32 input stays float32; the
    statistics are computed in float64.

    ``set_output(transform="pandas")`` applies to 2-D tables; for 3-D input ``transform``
    raises a ValueError if a non-default output container is configured, since a 3-D array
    cannot be a table.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import SequenceScaler
    >>> windows = np.array([[[1.0, 10.0], [2.0, 20.0]],
    ...                     [[3.0, 30.0], [4.0, 40.0]]])  # (2 samples, 2 steps, 2 channels)
    >>> scaler = SequenceScaler(method="minmax").fit(windows)
    >>> scaler.transform(windows)[:, :, 1]
    array([[0.        , 0.33333333],
           [0.66666667, 1.        ]])
    >>> np.allclose(scaler.inverse_transform(scaler.transform(windows)), windows)
    True
    """

    _parameter_constraints: dict = {
        "method": [StrOptions({"standard", "minmax", "robust"})],
        "feature_range": [tuple],
    }

    def __init__(self, method="standard", *, feature_range=(0, 1)):
        self.method = method
        self.feature_range = feature_range

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn one center and one scale per channel from X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels) or (n_samples, seq_len, n_channels)
            A time-ordered table (one channel per column) or a batch of windows.
        y : None
            Ignored; present for Pipeline compatibility.

        Returns
        -------
        self : SequenceScaler
            The fitted scaler.
        """
        if self.method == "minmax":
            self._check_feature_range()
        X = self._validate(X, reset=True)
        self._n_dims_in = X.ndim
        self.n_channels_in_ = X.shape[-1]
        values = X.reshape(-1, self.n_channels_in_)  # all samples and steps pooled
        data_min = values.min(axis=0).astype(np.float64)
        data_max = values.max(axis=0).astype(np.float64)
        constant = data_max == data_min
        if self.method == "standard":
            center = values.mean(axis=0, dtype=np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                spread = np.sqrt(values.var(axis=0, dtype=np.float64))
            # huge values (the variance overflows) or tiny ones (it underflows, or keeps
            # only a few digits among subnormal numbers): in units of the largest |value|
            tiny = np.sqrt(np.finfo(np.float64).tiny) * 1e8
            if not np.isfinite(spread).all() or np.any((spread < tiny) & ~constant):
                unit = np.maximum(np.abs(data_min), np.abs(data_max))
                unit[~(unit > 0) | ~np.isfinite(unit)] = 1.0
                spread = unit * np.sqrt((values / unit).var(axis=0, dtype=np.float64))
        elif self.method == "robust":
            with np.errstate(over="ignore", invalid="ignore"):
                q25, center, q75 = np.percentile(values, [25.0, 50.0, 75.0], axis=0)
            if not np.isfinite([q25, center, q75]).all():  # float32 interpolation overflowed
                q25, center, q75 = np.percentile(
                    values.astype(np.float64), [25.0, 50.0, 75.0], axis=0
                )
            center = center.astype(np.float64)
            spread = (q75 - q25).astype(np.float64)
        else:
            with np.errstate(over="ignore"):
                spread = data_max - data_min
        if not np.isfinite(spread).all():
            raise ValueError(
                f"SequenceScaler(method={self.method!r}): the spread of X overflows float64 "
                f"(channel(s) {np.flatnonzero(~np.isfinite(spread)).tolist()} span more than "
                "1.8e308). Divide X by a constant first."
            )
        spread[constant | (spread == 0.0)] = 1.0
        if self.method == "minmax":
            low, high = (float(v) for v in self.feature_range)
            self.scale_ = spread / (high - low)
            self.center_ = data_min - low * self.scale_
        else:
            self.scale_ = spread
            self.center_ = center
        return self

    def transform(self, X):
        """Scale X with the statistics learned in ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels) or (n_samples, seq_len, n_channels)
            Data with the same number of dimensions and channels as in ``fit``.

        Returns
        -------
        X_scaled : ndarray of the same shape as X
            A new array; float32 input stays float32.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        if X.ndim == 3:
            container = _get_output_config("transform", self)["dense"]
            if container != "default":
                raise ValueError(
                    f"SequenceScaler got 3-D windows, which cannot be returned as a "
                    f"{container} table, but transform output {container!r} is configured "
                    "(by set_output on this step or a Pipeline, or by sklearn.set_config). "
                    "Call set_output(transform='default') on this step; under a global "
                    "set_config, on every step that passes 3-D windows (a "
                    "WindowTransformer(output='3d') before it too)."
                )
        with np.errstate(over="ignore", invalid="ignore"):
            out = (X - self.center_.astype(X.dtype)) / self.scale_.astype(X.dtype)
        return self._finite_or_float64(out, X, lambda X64: (X64 - self.center_) / self.scale_)

    def inverse_transform(self, X):
        """Undo ``transform``: ``X * scale_ + center_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels) or (n_samples, seq_len, n_channels)
            Scaled data with the same number of dimensions and channels as in ``fit``.

        Returns
        -------
        X_original : ndarray of the same shape as X
            A new array in the original units; float32 input stays float32.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False, inverse=True)
        with np.errstate(over="ignore", invalid="ignore"):
            out = X * self.scale_.astype(X.dtype) + self.center_.astype(X.dtype)
        return self._finite_or_float64(out, X, lambda X64: X64 * self.scale_ + self.center_)

    @staticmethod
    def _finite_or_float64(out, X, compute):
        """``out``, or, if float32 arithmetic overflowed, ``compute`` redone in float64.

        float32 data near the float32 limits can give a center or scale (or an intermediate
        difference) that only float64 holds; the result is then recomputed in float64 and
        cast back. A result that is still not finite in float32 raises.
        """
        if out.dtype == np.float64 or np.isfinite(out).all():
            return out
        with np.errstate(over="ignore", invalid="ignore"):
            out = compute(X.astype(np.float64))
            finite = np.isfinite(out).all()
            out = out.astype(X.dtype)
        if not (finite and np.isfinite(out).all()):
            raise ValueError(
                "SequenceScaler: the result does not fit in float32 (it overflows to inf); "
                "pass X as float64 (X.astype(np.float64))."
            )
        return out

    def get_feature_names_out(self, input_features=None):
        """Output column names: the input column names (one channel per column).

        Defined for a scaler fitted on a 2-D table only.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Column names. If None, ``feature_names_in_`` is used, or ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Same names as the input columns.
        """
        check_is_fitted(self, "n_features_in_")
        if self._n_dims_in != 2:
            raise ValueError(
                "SequenceScaler was fitted on 3-D windows, whose output has no column names; "
                "get_feature_names_out is defined for 2-D tables only."
            )
        return _check_feature_names_in(self, input_features)

    def _check_feature_range(self):
        """Raise unless ``feature_range`` is two finite real numbers, min < max."""
        bounds = self.feature_range
        real = len(bounds) == 2 and all(
            isinstance(b, Real) and not isinstance(b, bool) and np.isfinite(b) for b in bounds
        )
        if not real or not bounds[0] < bounds[1]:
            raise ValueError(
                "SequenceScaler: feature_range must be a tuple (min, max) of two finite numbers "
                f"with min < max, e.g. (0, 1) or (-1, 1); got {bounds!r}."
            )

    def _validate(self, X, reset, inverse=False):
        """Validate X; at transform time check its layout against the one seen in fit."""
        ndim = getattr(X, "ndim", None)
        if ndim is None and isinstance(X, (list, tuple)):
            try:
                ndim = np.ndim(X)  # nested lists: the layout before any conversion
            except ValueError:  # ragged: validate_data says what is wrong
                ndim = None
        if not reset and ndim in (2, 3):
            self._check_same_ndim(ndim)  # before validate_data's less specific message
        if inverse:
            # Like scikit-learn's scalers, inverse_transform does not check column names.
            X = check_array(X, dtype=_FLOAT_DTYPES, allow_nd=True, input_name="X")
        else:
            X = validate_data(self, X, reset=reset, dtype=_FLOAT_DTYPES, allow_nd=True)
        if X.ndim > 3:
            raise ValueError(
                "SequenceScaler takes a 2-D table (n_samples, n_channels) or 3-D windows "
                f"(n_samples, seq_len, n_channels); got input of shape {X.shape}."
            )
        if X.ndim == 3 and 0 in X.shape[1:]:
            raise ValueError(
                "SequenceScaler needs windows with at least one time step and one channel; got "
                f"input of shape {X.shape} (n_samples, seq_len, n_channels)."
            )
        if not reset:
            self._check_same_ndim(X.ndim)
            if X.shape[-1] != self.n_channels_in_:
                raise ValueError(
                    f"X has {X.shape[-1]} channels (last axis), but SequenceScaler was "
                    f"fitted on {self.n_channels_in_}."
                )
        return X

    def _check_same_ndim(self, ndim):
        if ndim != self._n_dims_in:
            raise ValueError(
                f"SequenceScaler was fitted on {self._n_dims_in}-D input, but got {ndim}-D "
                "input; pass data of the same layout as in fit (2-D: (n_samples, "
                "n_channels), 3-D: (n_samples, seq_len, n_channels))."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

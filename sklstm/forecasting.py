"""LSTMForecaster: an sktime forecaster on the sklstm LSTM core.

This is the only sklstm module that imports sktime. The forecaster cuts the
series into windows with :func:`sklstm.make_windows`, scales every window by
its own level and trains :class:`sklstm.LSTMRegressor` (and so the same
skorch-based training loop) on them; it has no training loop of its own.
"""

from __future__ import annotations

import copy
import warnings
from itertools import pairwise
from numbers import Integral

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sktime.datatypes import update_data
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon

from sklstm._base import BaseLSTM
from sklstm._panel import PanelWindows, fit_on_windows, scaled_moments, window_norms
from sklstm._regressor import LSTMRegressor
from sklstm._training import TailSplit
from sklstm._window import make_windows

__all__ = ["LSTMForecaster"]

_INT32_MAX = np.iinfo(np.int32).max

# Parameters handed unchanged to the internal LSTMRegressor(s).
_REGRESSOR_PARAMS = (
    "hidden_size",
    "num_layers",
    "dropout",
    "peephole",
    "max_iter",
    "batch_size",
    "learning_rate_init",
    "weight_decay",
    "early_stopping",
    "validation_fraction",
    "n_iter_no_change",
    "tol",
    "device",
    "verbose",
)


def _n_valid(n_rows: int, validation_fraction: float) -> int:
    """Rows the regressor's chronological validation split holds out."""
    return TailSplit(validation_fraction).n_valid(n_rows)


def _as_steps(values: np.ndarray, n_rows: int, horizon: int, n_cols: int) -> np.ndarray:
    """``make_windows`` targets of any of its layouts as ``(n_rows, horizon, n_cols)``."""
    return np.asarray(values, dtype=np.float64).reshape(n_rows, horizon, n_cols)


class LSTMForecaster(BaseForecaster):
    """A (peephole) LSTM forecaster for sktime, trained on sliding windows of the series.

    The series is cut into windows of ``lookback`` steps with
    :func:`sklstm.make_windows`; each window is normalised by its own level (the
    mean absolute value of every target column over the window), so the network
    learns the *shape* of the next steps relative to the recent level and keeps
    up with trends and growing seasonal swings. By default two kinds of networks
    are trained: one sees each window divided by its level, the other sees the
    change from the window's last value divided by its level
    (``window_scaling="both"``). Each kind is an :class:`sklstm.LSTMRegressor`
    trained on these windows; ``n_models`` of each, seeded differently, are
    averaged.

    Parameters
    ----------
    lookback : int or "auto", default="auto"
        Number of past time steps the network reads for one forecast.
        ``"auto"`` is twice the longest step of ``fh`` (at least 8; 24 when
        ``fh`` is first given in ``predict``). On a series too short to cut
        enough windows of this length (at least half of the windows that would
        fit with lookback 1), it shrinks to ``(n_timepoints - horizon + 1) // 2``,
        with a ``UserWarning`` when the lookback was given as an int. The value
        used is ``lookback_``.
    strategy : {"direct", "recursive"}, default="direct"
        ``"direct"``: one network with a multi-output head predicts all steps
        ``1 .. max(fh)`` at once, so ``fh`` is needed in ``fit``.
        ``"recursive"``: a one-step network is iterated, feeding its forecasts
        back as inputs; ``fh`` may be given in ``predict`` only.
    n_models : int, default=3
        Number of networks trained with different seeds, for each window
        normalisation, whose forecasts are averaged (a seed ensemble: smoother,
        more accurate forecasts on small series). ``window_scaling="both"``
        trains ``2 * n_models`` networks.
    window_scaling : {"both", "mean", "last"} or bool, default="both"
        How each window (inputs and targets, per target column) is normalised
        before the network sees it:

        - ``"mean"`` (or True): divided by the window's level, the mean absolute
          value of its ``lookback`` steps. The network forecasts the next steps
          relative to the recent level; strong on trends with seasonality that
          grows with the level.
        - ``"last"``: the window's last value is subtracted, then the result is
          divided by the level. The network forecasts the change from the last
          observation (its zero is the naive forecast); strong on series that
          wander like random walks.
        - ``"both"``: ``n_models`` networks of each kind; their forecasts, in the
          series' units, are averaged with equal weight. The most accurate
          default in the selection runs (docs/forecasting_benchmark.rst).
        - False: no window normalisation; the target columns are standardised
          with the mean and standard deviation of the training series instead
          (the level then is an input, useful for series that revert to a fixed
          mean).
    hidden_size : int, default=64
        Number of units in each LSTM layer.
    num_layers : int, default=1
        Number of stacked LSTM layers.
    dropout : float in [0, 1), default=0.0
        Dropout between stacked layers and before the head (training only).
    peephole : {"diagonal", "full", "none"}, default="diagonal"
        Peephole connections of the cells; see :class:`sklstm.nn.PeepholeLSTM`.
    max_iter : int, default=200
        Maximum number of epochs.
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"`` is ``min(200, n_windows)``.
    learning_rate_init : float, default=0.01
        Learning rate of the Adam optimiser.
    weight_decay : float, default=0.0
        L2 penalty (Adam's ``weight_decay``).
    early_stopping : bool, default=True
        Hold out the chronological tail of the windows (``validation_fraction``
        of them, the newest) and stop when its loss has stopped improving. The
        windows whose targets overlap the held-out targets are left out of
        training (zero weight), so that the held-out errors are honest: they set
        the width of the prediction intervals. The final networks are then
        retrained on *all* windows, the newest included, for the number of
        epochs that scored best on the held-out tail.
    validation_fraction : float in (0, 1), default=0.2
        Share of the windows held out with ``early_stopping=True``.
    n_iter_no_change : int or None, default=20
        Epochs without improvement before training stops; None never stops early.
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    device : str or torch.device, default="auto"
        Where to train: ``"auto"`` is CUDA when available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds every network (initialisation, shuffling, dropout). With an int,
        forecasts are reproducible on the CPU.
    verbose : int, default=0
        Progress output of the internal regressors (0: none).

    Attributes
    ----------
    regressor_ : LSTMRegressor
        The first (or only) trained network.
    regressors_ : list of LSTMRegressor
        All trained networks: ``n_models`` per window normalisation.
    regressor_modes_ : list of str
        The window normalisation (``"mean"``, ``"last"`` or ``"none"``) of each
        network in ``regressors_``.
    scaling_stats_ : dict
        Per window normalisation, the statistics that standardise the network's
        inputs and outputs.
    lookback_ : int
        The lookback actually used.
    horizon_ : int
        Number of steps the network predicts at once: ``max(fh)`` for
        ``"direct"``, 1 for ``"recursive"``.
    residual_scale_ : ndarray of shape (n_steps, n_targets)
        Root mean squared error per horizon step and target column, in units of
        the window level, of the forecasts from the origins in the held-out
        tail (from in-sample origins when ``early_stopping=False``); the
        prediction intervals are built from it.
    interval_source_ : {"validation", "in-sample"}
        Where ``residual_scale_`` was measured.
    n_residual_origins_ : int
        Number of forecast origins ``residual_scale_`` was measured on.
    pretrained_regressors_ : dict of str to LSTMRegressor
        After :meth:`pretrain`: the global network trained on a panel of series,
        one per window normalisation.
    pretrained_regressor_ : LSTMRegressor
        After :meth:`pretrain`: the first of ``pretrained_regressors_``.

    See Also
    --------
    sklstm.LSTMRegressor : The regressor trained on the windows.
    sklstm.make_windows : How the windows and targets are cut.

    Notes
    -----
    **Exogenous data.** Columns of ``X`` are extra input channels of the past
    ``lookback`` steps. With ``strategy="direct"`` the values of ``X`` over the
    horizon (known future covariates, e.g. calendar or planned prices) are
    appended as further time steps of the input sequence, marked by an
    indicator channel; ``predict`` therefore needs ``X`` for every step
    ``1 .. max(fh)``. With ``"recursive"`` the next step's ``X`` is appended.

    **Multivariate y.** All columns are forecast jointly by one network: every
    column is an input channel and an output.

    **Prediction intervals** are Student-t intervals around the point forecast:
    the scale of each horizon step is the root mean squared error, relative to
    the window level, of the forecasts made from the held-out origins
    (``residual_scale_``, made non-decreasing over the steps), times the level
    of the current window; the degrees of freedom are the number of origins
    scored, so few origins give wider intervals. For ``"recursive"``, steps
    beyond those that could be measured grow like the square root of the step.
    Measured on held-out data, the width reflects real forecast errors rather
    than the (smaller) training errors; in backtests the 90 % intervals cover
    somewhat over 80 % of the points (docs/forecasting_benchmark.rst).

    **Global models.** :meth:`pretrain` on a panel trains one network (per
    window normalisation) on the windows of all series (they share the
    scale-free representation); ``fit`` then fine-tunes copies of it on the one
    series (warm start, early stopping on the series' newest windows). Without
    ``pretrain``, panel and
    hierarchical ``y`` are forecast series by series (one model each).
    ``pretrain`` streams the windows of the panel batch by batch from one
    copy of the data (memory grows with the number of points, not points x
    lookback); :meth:`forecast_panel` forecasts every series of a panel with
    the global network in one batched call.

    **History.** The forecaster keeps the data seen in ``fit`` and ``update``
    itself (it does not rely on sktime's ``remember_data``);
    ``update(update_params=True)`` continues training the networks (warm
    start) on the whole history for as many epochs as ``fit`` chose,
    ``update_params=False`` only moves the forecast origin.

    **Threads.** Seeded training reseeds torch's global RNG inside
    ``torch.random.fork_rng``; fits of this class are serialised across
    threads (e.g. ``evaluate(..., backend="dask")``) so that they stay
    reproducible.

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from sklstm import LSTMForecaster
    >>> y = load_airline()
    >>> forecaster = LSTMForecaster(lookback=12, max_iter=20, n_models=1, random_state=0)
    >>> forecaster = forecaster.fit(y, fh=[1, 2, 3])
    >>> forecaster.predict().shape  # a pd.Series, as y was one
    (3,)
    >>> forecaster.predict_interval(coverage=0.9).shape  # lower and upper bounds
    (3, 2)
    """

    _tags = {
        "authors": ["sklstm developers"],
        "maintainers": ["sklstm developers"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:categorical_in_X": False,
        # direct: the network reads X over every step 1 .. max(fh); recursive: step by step.
        "capability:non_contiguous_X": False,
        "capability:random_state": True,
        "property:randomness": "derandomized",
        "capability:pretrain": True,
        "capability:update": True,
        "requires-fh-in-fit": True,
        "X-y-must-have-same-index": True,
        "fit_is_empty": False,
    }

    _parameter_constraints: dict = {
        "lookback": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "strategy": [StrOptions({"direct", "recursive"})],
        "n_models": [Interval(Integral, 1, None, closed="left")],
        "window_scaling": ["boolean", StrOptions({"both", "mean", "last"})],
        **{name: BaseLSTM._parameter_constraints[name] for name in _REGRESSOR_PARAMS},
        "random_state": BaseLSTM._parameter_constraints["random_state"],
    }

    def __init__(
        self,
        lookback="auto",
        strategy="direct",
        n_models=3,
        window_scaling="both",
        hidden_size=64,
        num_layers=1,
        dropout=0.0,
        peephole="diagonal",
        max_iter=200,
        batch_size="auto",
        learning_rate_init=0.01,
        weight_decay=0.0,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=20,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.lookback = lookback
        self.strategy = strategy
        self.n_models = n_models
        self.window_scaling = window_scaling
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.peephole = peephole
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        super().__init__()
        # The recursive strategy iterates a one-step model: any fh works in predict.
        self.set_tags(**{"requires-fh-in-fit": strategy != "recursive"})

    # ---- parameters ---------------------------------------------------------------

    def _check_params(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )

    def _seeds(self) -> list[int]:
        """One seed per network: ``n_models`` for each window normalisation, in order."""
        rng = check_random_state(self.random_state)
        size = self.n_models * len(self._modes())
        return [int(s) for s in rng.randint(_INT32_MAX, size=size)]

    def _modes(self) -> list[str]:
        """The window normalisations trained: ``["mean", "last"]`` for ``"both"``."""
        if self.window_scaling == "both":
            return ["mean", "last"]
        if self.window_scaling is True:
            return ["mean"]
        if self.window_scaling is False:
            return ["none"]
        return [self.window_scaling]

    def _new_regressor(self, seed: int) -> LSTMRegressor:
        params = {name: getattr(self, name) for name in _REGRESSOR_PARAMS}
        return LSTMRegressor(random_state=seed, **params)

    def _train_horizon(self, fh) -> int:
        """Number of outputs of the network: max(fh) for direct, 1 for recursive."""
        if self.strategy == "recursive":
            return 1
        steps = self._relative_steps(fh)
        return int(steps.max())

    def _relative_steps(self, fh) -> np.ndarray:
        if fh.is_relative:
            steps = fh.to_numpy()
        else:
            steps = fh.to_relative(self.cutoff).to_numpy()
        return np.asarray(steps, dtype=np.int64)

    def _effective_lookback(self, n_timepoints: int, horizon: int, fh, what: str) -> int:
        """``lookback`` (``"auto"``: twice the horizon), shrunk to leave enough windows."""
        n_usable = n_timepoints - horizon + 1  # windows of length 1 that fit
        if n_usable < 2:
            raise ValueError(
                f"{type(self).__name__}: {what} has {n_timepoints} time points, too few to "
                f"train on with a horizon of {horizon} step(s): at least {horizon + 1} "
                "are needed (lookback 1, one window). Pass a longer series or a shorter fh."
            )
        limit = max(1, n_usable // 2)
        if self.lookback == "auto":
            max_fh = 12 if fh is None else int(self._relative_steps(fh).max())
            return int(min(max(2 * max_fh, 8), limit))
        if self.lookback > limit:
            warnings.warn(
                f"{type(self).__name__}: lookback={self.lookback} is too long for {what} "
                f"({n_timepoints} time points, horizon {horizon}); using lookback={limit} "
                "instead, so that enough windows remain to train on.",
                UserWarning,
                stacklevel=4,
            )
            return limit
        return int(self.lookback)

    # ---- windows and features -----------------------------------------------------

    def _windows(self, Y, Xa, lookback, horizon):
        """Raw windows of one series: past (m, L, ny+nx), future X (m, F, nx) or None, targets.

        ``Y`` is (n, ny), ``Xa`` (n, nx) or None. Targets are (m, horizon, ny).
        """
        past, targets = make_windows(Y, Xa, lookback=lookback, horizon=horizon)
        n_rows = past.shape[0]
        targets = _as_steps(targets, n_rows, horizon, Y.shape[1])
        future = None
        if Xa is not None:
            # The X rows of the target steps: the "targets" of X cut from the last past row.
            _, future = make_windows(Xa[lookback - 1 :], lookback=1, horizon=horizon)
            future = _as_steps(future, n_rows, horizon, Xa.shape[1])
        return np.asarray(past, dtype=np.float64), future, targets

    @staticmethod
    def _window_norm(past_y: np.ndarray, st) -> tuple[np.ndarray, np.ndarray]:
        """Per-window, per-column ``(offset, level)``, each (m, ny): y -> (y - offset) / level.

        The level is the mean |y| over the window (1 in mode ``"none"``); the offset is the
        window's last value in mode ``"last"``, else 0. ``st`` holds the mode and the floor.
        """
        mode = st["mode"]
        offsets = past_y[:, -1, :].copy() if mode == "last" else np.zeros(past_y.shape[::2])
        if mode == "none":
            return offsets, np.ones(past_y.shape[::2])
        return offsets, np.maximum(np.abs(past_y).mean(axis=1), st["level_floor"])

    @staticmethod
    def _to_net(values, norm, st):
        """Target-channel values (m, T, ny) in the network's units."""
        offsets, levels = norm
        return ((values - offsets[:, None, :]) / levels[:, None, :] - st["y_loc"]) / st["y_scale"]

    @staticmethod
    def _from_net(out, norm, st):
        """Network outputs (m, T, ny) back in the series' units."""
        offsets, levels = norm
        return (out * st["y_scale"] + st["y_loc"]) * levels[:, None, :] + offsets[:, None, :]

    def _features(self, past, future, stats_):
        """Network inputs (m, L [+ F], C) and window ``(offsets, levels)`` from raw windows."""
        ny = stats_["n_targets"]
        past_y = past[:, :, :ny]
        norm = self._window_norm(past_y, stats_)
        parts = [self._to_net(past_y, norm, stats_)]
        if past.shape[2] > ny:
            parts.append((past[:, :, ny:] - stats_["x_loc"]) / stats_["x_scale"])
        seq = np.concatenate(parts, axis=2)
        if future is not None:
            m, n_future = future.shape[:2]
            marker = np.ones((m, seq.shape[1], 1))
            future_part = np.concatenate(
                [
                    np.zeros((m, n_future, ny)),
                    (future - stats_["x_loc"]) / stats_["x_scale"],
                    np.zeros((m, n_future, 1)),
                ],
                axis=2,
            )
            seq = np.concatenate([np.concatenate([seq, marker], axis=2), future_part], axis=1)
        return seq.astype(np.float32), norm

    def _fit_stats(self, series, lookback, mode):
        """Scaling statistics from the training series (list of (Y, Xa)), as plain lists.

        ``level_floor`` keeps window levels away from zero; ``y_loc`` / ``y_scale``
        standardise the (level-scaled) target channels over all training windows,
        ``x_loc`` / ``x_scale`` the exogenous channels.
        """
        n_targets = series[0][0].shape[1]
        Ys = np.concatenate([Y for Y, _ in series])
        floor = np.abs(Ys).mean(axis=0) * 1e-3
        floor[floor == 0] = 1.0
        if mode != "none":
            scaled = []
            for Y, _ in series:
                past, _ = make_windows(Y, lookback=lookback)
                past = np.asarray(past, dtype=np.float64)
                norm = self._window_norm(past, {"mode": mode, "level_floor": floor})
                offsets, levels = norm
                scaled.append(((past - offsets[:, None]) / levels[:, None]).reshape(-1, n_targets))
            scaled = np.concatenate(scaled)
            y_loc, y_scale = scaled.mean(axis=0), scaled.std(axis=0)
        else:
            y_loc, y_scale = Ys.mean(axis=0), Ys.std(axis=0)
        Xs = None if series[0][1] is None else np.concatenate([Xa for _, Xa in series])
        return self._stats_dict(mode, n_targets, floor, y_loc, y_scale, Xs)

    @staticmethod
    def _stats_dict(mode, n_targets, floor, y_loc, y_scale, Xs):
        """The scaling statistics as plain lists; constant columns get a scale of 1."""
        y_scale[y_scale < 1e-12] = 1.0
        out = {
            "mode": mode,
            "n_targets": n_targets,
            "level_floor": floor,
            "y_loc": y_loc,
            "y_scale": y_scale,
        }
        if Xs is not None:
            x_scale = Xs.std(axis=0)
            x_scale[x_scale < 1e-12] = 1.0
            out["x_loc"], out["x_scale"] = Xs.mean(axis=0), x_scale
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}

    @staticmethod
    def _as_arrays(stats_):
        return {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in stats_.items()}

    # ---- training -----------------------------------------------------------------

    def _training_set(self, series, lookback, horizon, stats_, validation=None):
        """Inputs, flat targets, sample weights and levels over a list of (Y, Xa) series.

        Rows are ordered so that the regressor's chronological validation split
        (its last rows) holds out the newest windows of *every* series; with
        ``early_stopping`` the ``horizon - 1`` windows before each held-out tail
        get zero weight, so no held-out target is also a training target.
        ``validation=False`` holds nothing out (default: ``early_stopping``).
        """
        validation = self.early_stopping if validation is None else validation
        st = self._as_arrays(stats_)
        train_parts, valid_parts = [], []
        for Y, Xa in series:
            past, future, targets = self._windows(Y, Xa, lookback, horizon)
            seq, norm = self._features(past, future, st)
            targ = self._to_net(targets, norm, st)
            m = len(seq)
            weights = np.ones(m)
            n_val = _n_valid(m, self.validation_fraction) if validation and m >= 2 else 0
            if n_val:
                purge = min(horizon - 1, m - n_val - 1)
                weights[m - n_val - purge : m - n_val] = 0.0
            cut = m - n_val
            flat = targ.reshape(m, -1).astype(np.float32)
            train_parts.append((seq[:cut], flat[:cut], weights[:cut]))
            valid_parts.append((seq[cut:], flat[cut:], weights[cut:]))
        parts = train_parts + valid_parts
        X = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        w = np.concatenate([p[2] for p in parts])
        n_valid_total = sum(len(p[0]) for p in valid_parts)
        return X, y, w, n_valid_total

    def _train(self, regressors, X, y, w, n_valid, warm):
        """Fit every regressor on the windows, holding out exactly the last ``n_valid`` rows."""
        early = n_valid > 0
        # The regressor holds out ceil(fraction * n_rows) rows: a hair below n_valid / n_rows.
        fraction = float(np.nextafter(n_valid / len(X), 0)) if early else None
        weights = None if np.all(w == 1) else w
        for reg in regressors:
            if warm:
                # The fitted net keeps its own split: point it at this data's held-out tail.
                reg.set_params(warm_start=True)
                if reg.early_stopping:
                    fraction = fraction or float(np.nextafter(1 / len(X), 0))
                    reg.net_.train_split = TailSplit(fraction)
            else:
                reg.set_params(
                    early_stopping=early,
                    validation_fraction=fraction or self.validation_fraction,
                    warm_start=False,
                )
            reg.fit(X, y, sample_weight=weights)
        return regressors

    # ---- sktime interface -----------------------------------------------------------

    def _fit(self, y, X=None, fh=None):
        self._check_params()
        horizon = self._train_horizon(fh)
        self._y_columns = list(y.columns)
        self._hist_y = y.copy()
        self._hist_X = None if X is None else X.loc[y.index].copy()
        Y, Xa = self._arrays(y, X)

        seeds = iter(self._seeds())
        pretrained = getattr(self, "pretrained_regressors_", None)
        if pretrained is not None:
            stats_ = self.pretrain_stats_
            lookback = self.pretrain_lookback_
            horizon = self._check_pretrained(Y, Xa, horizon)
            if len(Y) < lookback + horizon:
                raise ValueError(
                    f"{type(self).__name__} was pretrained with lookback={lookback} and a "
                    f"horizon of {horizon}; fit needs a series of at least "
                    f"{lookback + horizon} time points, got {len(Y)}."
                )
            warm = True
        else:
            lookback = self._effective_lookback(len(Y), horizon, fh, "y")
            stats_ = {mode: self._fit_stats([(Y, Xa)], lookback, mode) for mode in self._modes()}
            warm = False
        self.regressors_, self.regressor_modes_ = [], []
        training = {}
        for mode, st in stats_.items():
            training[mode] = self._training_set([(Y, Xa)], lookback, horizon, st)
            if warm:
                regressors = [copy.deepcopy(pretrained[mode]) for _ in range(self.n_models)]
                for reg in regressors:
                    reg.set_params(random_state=next(seeds))
            else:
                regressors = [self._new_regressor(next(seeds)) for _ in range(self.n_models)]
            self.regressors_ += self._train(regressors, *training[mode], warm)
            self.regressor_modes_ += [mode] * self.n_models
        n_valid = next(iter(training.values()))[3]  # the same split for every mode
        self.regressor_ = self.regressors_[0]
        self.lookback_ = int(lookback)
        self.horizon_ = int(horizon)
        self.scaling_stats_ = stats_
        self.interval_source_ = "validation" if n_valid else "in-sample"
        self.residual_scale_ = self._residual_scale(Y, Xa, fh)
        if n_valid and not warm:
            self._refit_all(training)
        return self

    def _refit_all(self, training):
        """Retrain on every window (the held-out tail too) for the epochs early stopping chose."""
        refitted = []
        for reg, mode, seed in zip(
            self.regressors_, self.regressor_modes_, self._seeds(), strict=True
        ):
            valid = np.asarray(reg.history_[:, "valid_loss"], dtype=np.float64)
            n_epochs = int(np.argmin(valid)) + 1
            new = self._new_regressor(seed).set_params(early_stopping=False, max_iter=n_epochs)
            X_train, y_train = training[mode][:2]
            refitted.append(new.fit(X_train, y_train))
        self.regressors_ = refitted
        self.regressor_ = refitted[0]

    def _check_pretrained(self, Y, Xa, horizon):
        stats_ = next(iter(self.pretrain_stats_.values()))
        if Y.shape[1] != stats_["n_targets"]:
            raise ValueError(
                f"{type(self).__name__} was pretrained on {stats_['n_targets']} target "
                f"column(s); fit got {Y.shape[1]}."
            )
        if (Xa is None) != ("x_loc" not in stats_) or (
            Xa is not None and Xa.shape[1] != len(stats_["x_loc"])
        ):
            raise ValueError(
                f"{type(self).__name__}: fit must get exogenous X with the same columns as "
                "pretrain (or none if pretrain had none)."
            )
        if horizon > self.pretrain_horizon_:
            raise ValueError(
                f"{type(self).__name__} was pretrained for {self.pretrain_horizon_} step(s) "
                f"ahead; fh reaches {horizon}. Pretrain with the longer fh."
            )
        return self.pretrain_horizon_

    @staticmethod
    def _arrays(y, X):
        """y as (n, ny) and X, aligned to y's time points, as (n, nx) or None; float64."""
        Y = y.to_numpy(dtype=np.float64)
        Xa = None if X is None else X.loc[y.index].to_numpy(dtype=np.float64)
        return Y, Xa

    def _update(self, y, X=None, update_params=True):
        self._hist_y = update_data(self._hist_y, y)
        if self._hist_X is not None:
            if X is None:
                raise ValueError(
                    f"{type(self).__name__} was fitted with exogenous X: update needs X for "
                    "the new time points too."
                )
            self._hist_X = update_data(self._hist_X, X)
        if update_params:
            Y, Xa = self._arrays(self._hist_y, self._hist_X)
            for mode, st in self.scaling_stats_.items():
                # Networks retrained after early stopping hold nothing out any more.
                training = self._training_set(
                    [(Y, Xa)],
                    self.lookback_,
                    self.horizon_,
                    st,
                    validation=self.regressor_.early_stopping,
                )
                regressors = self._networks(mode)
                self._train(regressors, *training, warm=True)
        return self

    def _predict(self, fh, X=None):
        steps = self._relative_steps(fh)
        mean, _ = self._forecast_path(int(steps.max()), X)
        return self._frame(mean[steps - 1], fh)

    def _predict_quantiles(self, fh, X, alpha):
        steps = self._relative_steps(fh)
        mean, level = self._forecast_path(int(steps.max()), X)
        sigma = self._sigma(steps) * level[None, :]
        columns = pd.MultiIndex.from_product([self._y_columns, list(alpha)])
        values = np.empty((len(steps), len(self._y_columns), len(alpha)))
        # Student t with the number of scored origins as degrees of freedom: wider
        # intervals when the scale was measured on few origins.
        dist = stats.t(df=max(self.n_residual_origins_ - 1, 1))
        for k, a in enumerate(alpha):
            values[:, :, k] = mean[steps - 1] + dist.ppf(a) * sigma
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(values.reshape(len(steps), -1), index=index, columns=columns)

    def _frame(self, values, fh):
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(values, index=index, columns=self._y_columns)

    # ---- forecasting --------------------------------------------------------------

    def _networks(self, mode):
        """The trained networks of one window normalisation."""
        return [
            r for r, m in zip(self.regressors_, self.regressor_modes_, strict=True) if m == mode
        ]

    def _ensemble(self, past, future, n_out, members=None):
        """Forecasts (m, n_out, ny) of the whole ensemble from raw windows, and their levels.

        ``members``: (scaling statistics, networks) per window normalisation; default the
        fitted ones. Each normalisation's networks are averaged in its own units, mapped
        back to the series' units, and the normalisations are averaged with equal weight.
        """
        if members is None:
            members = [(st, self._networks(mode)) for mode, st in self.scaling_stats_.items()]
        paths = []
        for st, networks in members:
            st = self._as_arrays(st)
            seq, norm = self._features(past, future, st)
            outs = [reg.predict(seq).reshape(len(seq), -1) for reg in networks]
            out = np.mean(outs, axis=0).astype(np.float64).reshape(len(seq), n_out, -1)
            paths.append(self._from_net(out, norm, st))
        # Every mode's level is the window's mean |y| (1 without scaling): the same for all.
        return np.mean(paths, axis=0), norm[1]

    def _forecast_windows(self, past, future, n_steps):
        """Forecasts (m, n_steps, ny) from raw past windows and future X (m, >= n_steps, nx)."""
        ny = next(iter(self.scaling_stats_.values()))["n_targets"]
        if self.strategy == "direct":
            fut = None if future is None else future[:, : self.horizon_]
            out, levels = self._ensemble(past, fut, self.horizon_)
            return out[:, :n_steps], levels
        # recursive: one step at a time, feeding the forecast back in.
        m, lookback = past.shape[:2]
        path = np.empty((m, n_steps, ny))
        window = past.copy()
        first_levels = None
        for k in range(n_steps):
            fut = None if future is None else future[:, k : k + 1]
            out, levels = self._ensemble(window, fut, 1)
            if first_levels is None:
                first_levels = levels
            step = out[:, 0]
            path[:, k] = step
            if k + 1 < n_steps:
                new_row = np.empty((m, 1, window.shape[2]))
                new_row[:, 0, :ny] = step
                if window.shape[2] > ny:
                    new_row[:, 0, ny:] = future[:, k]
                window = np.concatenate([window[:, 1:], new_row], axis=1)
        return path, first_levels

    def _forecast_path(self, n_steps, X):
        """Point forecasts (n_steps, ny) from the cutoff, and the level of the last window."""
        lookback = self.lookback_
        Y, Xa = self._arrays(self._hist_y, self._hist_X)
        if len(Y) < lookback:
            raise ValueError(
                f"{type(self).__name__} needs the last {lookback} time points before the "
                f"cutoff to forecast, but only {len(Y)} are known."
            )
        past = Y[-lookback:]
        if Xa is not None:
            past = np.concatenate([past, Xa[-lookback:]], axis=1)
        future = None
        if Xa is not None:
            future = self._future_X(X, n_steps)[None]
        path, levels = self._forecast_windows(past[None], future, n_steps)
        return path[0], levels[0]

    def _future_X(self, X, n_steps):
        """X over the steps 1 .. max(n_steps, horizon_) after the cutoff, as (n, nx)."""
        n_needed = max(n_steps, self.horizon_ if self.strategy == "direct" else 1)
        index = ForecastingHorizon(np.arange(1, n_needed + 1)).to_absolute_index(self.cutoff)
        if X is None or not index.isin(X.index).all():
            raise ValueError(
                f"{type(self).__name__} was fitted with exogenous X, so predict needs X for "
                f"every time point from the cutoff + 1 to cutoff + {n_needed} "
                f"({index[0]} .. {index[-1]})."
            )
        missing = [c for c in self._hist_X.columns if c not in X.columns]
        if missing:
            raise ValueError(
                f"{type(self).__name__} was fitted with exogenous X columns "
                f"{list(self._hist_X.columns)}; the X given to predict lacks the column(s) "
                f"{missing}."
            )
        return X.loc[index, self._hist_X.columns].to_numpy(dtype=np.float64)

    # ---- intervals ----------------------------------------------------------------

    def _residual_scale(self, Y, Xa, fh):
        """RMS error (in window levels) per step and column from the held-out origins.

        The origins are the starts of the held-out windows (all windows with
        ``early_stopping=False``). Without exogenous data, origins closer to the
        end than the horizon also count, on the steps they have data for.
        """
        lookback, ny = self.lookback_, Y.shape[1]
        n_origins = len(Y) - lookback  # every start that has at least one step to score
        n_full = n_origins - self.horizon_ + 1  # starts of complete training windows
        first = 0
        if self.interval_source_ == "validation":
            first = n_full - _n_valid(n_full, self.validation_fraction)
        if self.strategy == "direct":
            n_steps = self.horizon_
            if Xa is not None:
                n_origins = n_full  # the network reads X over the whole horizon
        elif fh is not None:
            n_steps = int(self._relative_steps(fh).max())
        else:
            n_steps = max(1, min(lookback, n_origins - first))
        n_future = max(n_steps, self.horizon_)
        starts = np.arange(first, n_origins)
        past = np.stack([Y[s : s + lookback] for s in starts])
        future = None
        if Xa is not None:
            past = np.concatenate([past, np.stack([Xa[s : s + lookback] for s in starts])], 2)
            # Steps past the end of the data are never scored; their X is a stand-in.
            padded = np.concatenate([Xa, np.repeat(Xa[-1:], n_future, axis=0)])
            future = np.stack([padded[s + lookback : s + lookback + n_future] for s in starts])
        path, levels = self._forecast_windows(past, future, n_steps)
        sq = np.full((len(starts), n_steps, ny), np.nan)
        for i, s in enumerate(starts):
            truth = Y[s + lookback : s + lookback + n_steps]
            sq[i, : len(truth)] = ((truth - path[i, : len(truth)]) / levels[i]) ** 2
        counts = np.sum(~np.isnan(sq[:, :, 0]), axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN steps, handled below
            scale = np.sqrt(np.nanmean(sq, axis=0))
        # Steps scored on fewer than 2 origins: the last well-measured one, grown like sqrt.
        reliable = np.flatnonzero(counts >= 2)
        last = int(reliable[-1]) if len(reliable) else 0
        for k in range(last + 1, n_steps):
            scale[k] = scale[last] * np.sqrt((k + 1) / (last + 1))
        # Uncertainty does not shrink with the horizon: smooth out sampling noise.
        scale = np.maximum.accumulate(np.nan_to_num(scale, nan=0.0), axis=0)
        self.n_residual_origins_ = int(counts[0])
        return scale

    def _sigma(self, steps):
        """Residual scale (len(steps), ny) for the requested steps (sqrt growth beyond)."""
        scale = np.asarray(self.residual_scale_)
        n = len(scale)
        out = np.empty((len(steps), scale.shape[1]))
        for i, s in enumerate(steps):
            out[i] = scale[s - 1] if s <= n else scale[-1] * np.sqrt(s / n)
        return out

    # ---- global (panel) pretraining ---------------------------------------------------

    def _panel_series(self, y, X):
        """List of (Y, Xa) arrays, one per instance of a (hierarchical) multi-indexed panel."""
        levels = list(range(y.index.nlevels - 1))
        X_groups = {} if X is None else dict(list(X.groupby(level=levels, sort=False)))
        series = []
        for key, y_i in y.groupby(level=levels, sort=False):
            X_i = None
            if X is not None:
                X_i = X_groups[key].loc[y_i.index]
            series.append(self._arrays(y_i, X_i))
        return series

    def _pretrain(self, y, X=None, fh=None):
        self._check_params()
        if self.strategy == "direct":
            if fh is None:
                raise ValueError(
                    f"{type(self).__name__}(strategy='direct').pretrain needs fh: the "
                    "network predicts steps 1 .. max(fh) at once."
                )
            if not fh.is_relative:
                raise ValueError("pretrain needs a relative fh (steps ahead, e.g. [1, 2, 3]).")
            horizon = int(np.max(fh.to_numpy()))
        else:
            horizon = 1
        series = self._panel_series(y, X)
        shortest = min(len(Y) for Y, _ in series)
        lookback = self._effective_lookback(shortest, horizon, fh, "the shortest pretrain series")
        values, offsets = self._panel_values(series)
        # One global network per window normalisation: the panel has data enough; fit
        # copies each n_models times.
        seeds = self._seeds()[:: self.n_models]
        self.pretrain_stats_, self.pretrained_regressors_ = {}, {}
        for mode, seed in zip(self._modes(), seeds, strict=True):
            st = self._panel_stats(values, offsets, series[0][0].shape[1], lookback, mode)
            regressor = self._new_regressor(seed)
            dataset = self._panel_windows(values, offsets, lookback, horizon, st)
            self._train_panel(regressor, dataset, warm=False)
            del dataset  # one mode's per-window arrays alive at a time
            self.pretrain_stats_[mode] = st
            self.pretrained_regressors_[mode] = regressor
        self.pretrained_regressor_ = next(iter(self.pretrained_regressors_.values()))
        self.pretrain_lookback_ = int(lookback)
        self.pretrain_horizon_ = int(horizon)
        self.n_pretrain_series_ = len(series)
        return self

    def _pretrain_update(self, y, X=None, fh=None):
        if getattr(self, "pretrained_regressors_", None) is None:
            return self._pretrain(y, X=X, fh=fh)
        series = self._panel_series(y, X)
        values, offsets = self._panel_values(series)
        for mode, st in self.pretrain_stats_.items():
            dataset = self._panel_windows(
                values, offsets, self.pretrain_lookback_, self.pretrain_horizon_, st
            )
            self._train_panel(self.pretrained_regressors_[mode], dataset, warm=True)
        self.n_pretrain_series_ += len(series)
        return self

    @staticmethod
    def _panel_values(series):
        """The series one after the other in one (n_points, ny + nx) array, and their offsets.

        One copy of the data: windows are cut from it by index, batch by batch.
        """
        blocks = [Y if Xa is None else np.concatenate([Y, Xa], axis=1) for Y, Xa in series]
        offsets = np.cumsum([0] + [len(b) for b in blocks])
        return np.ascontiguousarray(np.concatenate(blocks), dtype=np.float64), offsets

    def _panel_stats(self, values, offsets, n_targets, lookback, mode):
        """``_fit_stats`` over a panel in bounded memory (no window is materialised)."""
        Ys = values[:, :n_targets]
        floor = np.abs(Ys).mean(axis=0) * 1e-3
        floor[floor == 0] = 1.0
        if mode != "none":
            # The windows _fit_stats cuts: every start with one step after the window.
            starts = np.concatenate([np.arange(a, b - lookback) for a, b in pairwise(offsets)])
            shifts, levels = window_norms(Ys, starts, lookback, floor, mode)
            y_loc, y_scale = scaled_moments(Ys, starts, shifts, levels, lookback)
        else:
            y_loc, y_scale = Ys.mean(axis=0), Ys.std(axis=0)
        Xs = values[:, n_targets:] if values.shape[1] > n_targets else None
        return self._stats_dict(mode, n_targets, floor, y_loc, y_scale, Xs)

    def _panel_windows(self, values, offsets, lookback, horizon, stats_):
        """The training windows of a panel as a :class:`PanelWindows` (starts, not copies).

        The order and weights are ``_training_set``'s: the training windows of every
        series, then the newest ``validation_fraction`` of each series' windows (held
        out with ``early_stopping``), the ``horizon - 1`` windows before each held-out
        tail with zero weight.
        """
        st = self._as_arrays(stats_)
        ny = st["n_targets"]
        train, valid, train_w, valid_w = [], [], [], []
        for a, b in pairwise(offsets):
            m = (b - a) - lookback - horizon + 1
            starts = np.arange(a, a + m)
            weights = np.ones(m)
            n_val = _n_valid(m, self.validation_fraction) if self.early_stopping and m >= 2 else 0
            if n_val:
                purge = min(horizon - 1, m - n_val - 1)
                weights[m - n_val - purge : m - n_val] = 0.0
            train.append(starts[: m - n_val])
            valid.append(starts[m - n_val :])
            train_w.append(weights[: m - n_val])
            valid_w.append(weights[m - n_val :])
        starts = np.concatenate(train + valid)
        weights = np.concatenate(train_w + valid_w)
        shifts, levels = window_norms(
            values[:, :ny], starts, lookback, st["level_floor"], st["mode"]
        )
        dataset = PanelWindows(
            values,
            starts,
            levels,
            shifts=shifts,
            lookback=lookback,
            horizon=horizon,
            n_targets=ny,
            stats=st,
            future=values.shape[1] > ny,  # the next step(s) of X follow the window
            weights=weights,
        )
        dataset.n_valid = sum(len(v) for v in valid)
        return dataset

    def forecast_panel(self, y, fh=None):
        """Forecast every series of a panel with the pretrained global network, at once.

        The last ``pretrain_lookback_`` points of each series are stacked into one
        batch and go through the network in a single ``predict`` call (``"recursive"``:
        one call per step, each over all series). No fine-tuning: this is the global
        model's forecast, the fast path for many series; ``fit`` / ``predict`` on a
        panel instead fine-tunes and forecasts series by series.

        Parameters
        ----------
        y : pd.DataFrame or pd.Series with a MultiIndex (instance level(s), time)
            The panel (or hierarchy) to forecast; each series needs at least
            ``pretrain_lookback_`` points.
        fh : int, list or ForecastingHorizon of relative steps, default=None
            Steps ahead; default ``1 .. pretrain_horizon_``.

        Returns
        -------
        y_pred : pd.DataFrame
            Forecasts indexed like ``y`` (instance level(s), time), one row per
            series and step, one column per target.
        """
        networks = getattr(self, "pretrained_regressors_", None)
        if networks is None:
            raise ValueError(f"{type(self).__name__}.forecast_panel needs pretrain first.")
        if "x_loc" in next(iter(self.pretrain_stats_.values())):
            raise ValueError(
                "forecast_panel does not take exogenous X yet; the network was pretrained "
                "with X: use fit / predict per series."
            )
        if fh is None:
            fh = np.arange(1, self.pretrain_horizon_ + 1)
        fh = fh if isinstance(fh, ForecastingHorizon) else ForecastingHorizon(fh)
        steps = np.asarray(fh.to_numpy(), dtype=np.int64)
        n_steps = int(steps.max())
        if self.strategy == "direct" and n_steps > self.pretrain_horizon_:
            raise ValueError(
                f"{type(self).__name__} was pretrained for {self.pretrain_horizon_} step(s) "
                f"ahead; fh reaches {n_steps}."
            )
        frame = y.to_frame() if isinstance(y, pd.Series) else y
        lookback = self.pretrain_lookback_
        keys, cutoffs, pasts = [], [], []
        for key, y_i in frame.groupby(level=list(range(frame.index.nlevels - 1)), sort=False):
            if len(y_i) < lookback:
                raise ValueError(
                    f"forecast_panel needs the last {lookback} points of every series; "
                    f"series {key!r} has {len(y_i)}."
                )
            keys.append(key if isinstance(key, tuple) else (key,))
            cutoffs.append(y_i.index.get_level_values(-1)[-1])
            pasts.append(y_i.to_numpy(dtype=np.float64)[-lookback:])
        window = np.stack(pasts)  # (n_series, lookback, ny): one window per series
        m, ny = len(window), window.shape[2]
        members = [(st, [networks[mode]]) for mode, st in self.pretrain_stats_.items()]
        if self.strategy == "direct":
            path, _ = self._ensemble(window, None, self.pretrain_horizon_, members)
        else:
            path = np.empty((m, n_steps, ny))
            for k in range(n_steps):
                out, _ = self._ensemble(window, None, 1, members)
                path[:, k] = out[:, 0]
                window = np.concatenate([window[:, 1:], path[:, k : k + 1]], axis=1)
        values = path[:, steps - 1].reshape(m * len(steps), ny)
        index = pd.MultiIndex.from_tuples(
            [
                (*key, t)
                for key, cutoff in zip(keys, cutoffs, strict=True)
                for t in fh.to_absolute_index(cutoff)
            ],
            names=frame.index.names,
        )
        return pd.DataFrame(values, index=index, columns=frame.columns)

    def _train_panel(self, reg, dataset, warm):
        """``_train`` for one regressor on a :class:`PanelWindows` (windows streamed)."""
        n_valid, n = dataset.n_valid, len(dataset)
        fraction = float(np.nextafter(n_valid / n, 0)) if n_valid else None
        if warm:
            reg.set_params(warm_start=True)
            if reg.early_stopping:
                reg.net_.train_split = TailSplit(fraction or float(np.nextafter(1 / n, 0)))
        else:
            reg.set_params(
                early_stopping=bool(n_valid),
                validation_fraction=fraction or self.validation_fraction,
                warm_start=False,
            )
        fit_on_windows(reg, dataset, warm=warm)
        return reg

    def plot_history(self, ax=None):
        """Plot the loss per epoch of every trained network (``regressors_``), log scale.

        Needs matplotlib.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure is created when None.

        Returns
        -------
        ax : matplotlib Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sktime.datasets import load_airline
        >>> from sklstm import LSTMForecaster
        >>> forecaster = LSTMForecaster(lookback=12, max_iter=5, n_models=2, random_state=0)
        >>> ax = forecaster.fit(load_airline(), fh=[1, 2]).plot_history()
        >>> len(ax.get_lines())  # 2 networks for each of the 2 window normalisations
        4
        """
        from sklstm._plotting import plot_history

        self.check_is_fitted()
        return plot_history(self, ax=ax)

    # ---- test parameters ----------------------------------------------------------

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny, fast parameter sets for sktime's test suite.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters to return (only one set of sets).

        Returns
        -------
        params : list of dict
        """
        return [
            {
                "lookback": 3,
                "hidden_size": 4,
                "max_iter": 2,
                "n_models": 1,
                "random_state": 0,
            },
            {
                "strategy": "recursive",
                "lookback": 2,
                "hidden_size": 3,
                "max_iter": 2,
                "n_models": 2,
                "window_scaling": False,
                "early_stopping": False,
                "random_state": 1,
            },
        ]

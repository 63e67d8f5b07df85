"""LSTMForecaster: an sktime forecaster on the sklstm LSTM core.

This is the only sklstm module that imports sktime, and it is glue only: tags,
parameters, and sktime's ``_fit`` / ``_predict`` / ``_update`` / ``_pretrain``.
The windows, their normalisation, the ensemble, the rollout and the intervals
live in :mod:`sklstm._forecast`; training goes through the same entry point as
:class:`sklstm.LSTMRegressor` (``BaseLSTM._fit_dataset``).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sktime.datatypes import update_data
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon

from sklstm._base import BaseLSTM
from sklstm._forecast import baselines, intervals
from sklstm._forecast.ensemble import LSTMEnsemble
from sklstm._forecast.index import check_index, check_update
from sklstm._forecast.model import ForecastModel, fit_normalisers
from sklstm._forecast.spec import WindowSpec, resolve_lookback, season_length
from sklstm._forecast.windows import SeriesPanel, check_finite, last_windows, panel_arrays
from sklstm._plotting import plot_curves

__all__ = ["LSTMForecaster"]

# Parameters handed unchanged to the ensemble of networks.
_NETWORK_PARAMS = (
    "hidden_size",
    "num_layers",
    "dropout",
    "peephole",
    "max_iter",
    "batch_size",
    "learning_rate_init",
    "weight_decay",
    "n_iter_no_change",
    "tol",
    "device",
    "verbose",
)
# After early stopping, every network continues from its best epoch on all windows (the
# held-out newest ones included) for this share of the best epochs (at least one epoch).
_CONTINUE_FRACTION = 0.1
_FORMAT = 2  # the layout of the fitted state; pickles of another layout do not load


class LSTMForecaster(BaseForecaster):
    """A (peephole) LSTM forecaster for sktime, trained on sliding windows of the series.

    The series is cut into windows of ``lookback`` steps; each window is normalised
    on its own (``window_scaling``), so the networks learn the *shape* of the next
    steps relative to the recent level and keep up with trends and growing seasonal
    swings. ``n_models`` networks per window normalisation, seeded differently, are
    trained together in one loop (each with its own early stopping) and averaged.

    Parameters
    ----------
    lookback : int or "auto", default="auto"
        Number of past time steps the network reads for one forecast. ``"auto"`` is
        twice the longest step of ``fh`` (at least 8; 24 when ``fh`` is first given
        in ``predict``). On a series too short to cut enough windows of this length
        (at least half of the windows that would fit with lookback 1), it shrinks
        to ``(n_timepoints - horizon + 1) // 2``, with a ``UserWarning`` when the
        lookback was given as an int. The value used is ``lookback_``.
    strategy : {"multioutput", "recursive", "direct"}, default="multioutput"
        ``"multioutput"``: one network with a multi-output head predicts all steps
        ``1 .. max(fh)`` at once, so ``fh`` is needed in ``fit``.
        ``"recursive"``: a one-step network is iterated, feeding its forecasts back
        as inputs; ``fh`` may be given in ``predict`` only. ``"direct"`` is a
        deprecated alias of ``"multioutput"`` (sktime's ``"direct"`` means one model
        per step, which this forecaster does not do).
    n_models : int, default=2
        Networks trained with different seeds for each window normalisation; their
        forecasts are averaged. ``"auto"`` and ``"both"`` train ``2 * n_models`` (4 by default).
    window_scaling : {"auto", "both", "mean", "last", "season", "none"}, default="auto"
        How each window (inputs and targets, per target column) is normalised:
        ``"mean"`` divides by the window's level (its mean absolute value);
        ``"last"`` subtracts the window's last value, then divides by the level (the
        network's zero is the naive forecast); ``"season"`` does the same to the
        inputs, and measures each target step from the value one season before it
        (the network's zero is the seasonal-naive forecast; needs ``lookback >= sp``);
        ``"none"`` standardises the target columns with the training series' mean
        and standard deviation instead (the level is then an input). ``"auto"``
        trains ``n_models`` networks of ``"mean"`` and ``n_models`` of ``"season"``
        (``"last"`` when there is no season, ``sp=1``, or the lookback is shorter
        than a season) and averages them with equal weight; ``"both"`` is
        ``"mean"`` and ``"last"``. True and False are deprecated aliases of
        ``"mean"`` and ``"none"``.
    sp : int or "auto", default="auto"
        The seasonal period, in steps. ``"auto"`` reads it from the index's frequency,
        sktime's convention: quarterly 4, monthly 12, weekly 52, daily 7, hourly 24,
        half-hourly 48; 1 (no season) for yearly data and for indices without a
        frequency. It sets the ``"auto"`` lookback (at least two seasons where the
        series allows), the ``"season"`` normalisation and the seasonal-naive baseline.
        The value used is ``sp_``.
    blend_baselines : bool, default=True
        The safety net. With ``early_stopping=True``, the networks' forecasts from the
        held-out origins are scored against the seasonal-naive, naive and drift
        forecasts from the same windows, at the same horizons; the networks are then
        blended with the best of these baselines by inverse mean squared error
        (``baseline_weights_``): a network no better than a baseline on data it did
        not train on leans on that baseline (a random walk ends up close to naive).
        False forecasts with the networks alone.
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
        Hold out the newest ``validation_fraction`` of the windows; every network
        stops when its loss there has stopped improving and keeps its best epoch.
        The windows whose targets overlap the held-out targets are left out of
        training, so the held-out errors are honest: they set the width of the
        prediction intervals. Each network then continues from its best epoch on
        *all* windows, the newest included, for a tenth of its best epochs (at
        least one): no second training from scratch.
    validation_fraction : float in (0, 1), default=0.2
        Share of the windows held out with ``early_stopping=True``.
    n_iter_no_change : int or None, default=20
        Epochs without improvement before a network stops; None never stops early.
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    device : str or torch.device, default="auto"
        Where to train: ``"auto"`` is CUDA when available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds every network (initialisation, shuffling, dropout). With an int,
        forecasts are reproducible on the CPU.
    verbose : int, default=0
        Progress output of the training loop (0: none).

    Attributes
    ----------
    ensemble_ : LSTMEnsemble
        The trained networks, one module (``ensemble_.module_.members``).
    member_modes_ : list of str
        The window normalisation of each network in ``ensemble_``.
    normalisers_ : dict of str to WindowNormaliser
        Per window normalisation, the statistics that map windows to the networks'
        units and back.
    lookback_ : int
        The lookback actually used.
    horizon_ : int
        Steps the networks predict at once: ``max(fh)`` for ``"multioutput"``, 1
        for ``"recursive"``.
    sp_ : int
        The seasonal period used.
    baseline_weights_ : dict of str to float
        The blend of the forecast: ``"network"`` (the ensemble's average) and each
        baseline (``"seasonal_naive"``, ``"naive"``, ``"drift"``: the value one
        season before, the last value, the line through the window's first and last
        values); the weights sum to 1, and at most one baseline is above 0.
        ``{"network": 1.0, ...}`` with ``blend_baselines=False`` or without a
        held-out tail.
    best_epochs_ : ndarray of shape (n_networks,)
        The epoch each network scored best on the held-out windows (0 without them).
    residual_scale_ : ndarray of shape (n_steps, n_targets)
        Root mean squared error per horizon step and target, in units of the window
        level, of the forecasts from held-out origins (in-sample origins with
        ``early_stopping=False``); the prediction intervals are built from it.
    interval_source_ : {"validation", "in-sample"}
        Where ``residual_scale_`` was measured.
    n_residual_origins_ : int
        Number of forecast origins ``residual_scale_`` was measured on.
    pretrained_ensemble_ : LSTMEnsemble
        After :meth:`pretrain`: the global networks, one per window normalisation.
    pretrain_normalisers_ : dict of str to WindowNormaliser
        After :meth:`pretrain`: the normalisation statistics of the panel.
    pretrain_modes_ : list of str
        After :meth:`pretrain`: the window normalisation of each global network.
    pretrain_sp_ : int
        After :meth:`pretrain`: the seasonal period of the panel.
    pretrain_spec_ : WindowSpec
        After :meth:`pretrain`: the window geometry every later fit uses (lookback,
        horizon, target and exogenous columns).
    pretrain_lookback_, pretrain_horizon_ : int
        After :meth:`pretrain`: the lookback and horizon of ``pretrain_spec_``.
    n_pretrain_series_ : int
        After :meth:`pretrain`: the number of series pretrained on (all calls).

    See Also
    --------
    sklstm.LSTMRegressor : The regressor on the same training core.
    sklstm.make_windows : How windows and targets are cut.

    Notes
    -----
    **Exogenous data.** Columns of ``X`` are extra input channels of the past
    ``lookback`` steps; their values over the horizon (known future covariates)
    follow as further time steps of the input sequence, marked by an indicator
    channel. ``predict`` therefore needs ``X`` for every step ``1 .. max(fh)``.

    **Multivariate y.** All columns are forecast jointly: every column is an input
    channel and an output.

    **Prediction intervals** are Student-t intervals around the point forecast,
    scaled per step by ``residual_scale_`` times the level of the current window,
    with the number of scored origins as degrees of freedom; steps beyond those
    measured grow like the square root of the step.

    **Global models.** :meth:`pretrain` on a panel trains one network per window
    normalisation on the windows of all series (streamed: memory grows with the
    points, not points x lookback); ``fit`` then fine-tunes copies of them on one
    series; :meth:`forecast_panel` forecasts every series of a panel at once.
    Without ``pretrain``, panel and hierarchical ``y`` are forecast series by series.

    **History.** The forecaster keeps the data seen in ``fit`` and ``update`` itself
    (sktime's ``remember_data`` config is off); ``update(update_params=True)``
    continues training the networks on the whole history for as many epochs as
    ``fit``'s final phase ran; ``update_params=False`` only moves the origin.

    **Time index.** Each series must be on consecutive time steps: an integer index
    stepping by 1, a ``PeriodIndex``, or a ``DatetimeIndex`` with a ``freq`` (given,
    or one ``pd.infer_freq`` finds); gaps raise a ``ValueError`` naming the fix.
    ``update`` must continue the data seen without a gap; it may repeat time points
    already seen, and a changed value replaces the old one (sktime's ``update_data``).
    In-sample forecasts (``fh`` steps <= 0) are not supported: sktime raises
    ``NotImplementedError``.

    **Pickles** of a forecaster fitted with sklstm 0.1 do not load (the fitted
    layout changed): refit.

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
        "python_dependencies": ["torch", "skorch"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:categorical_in_X": False,
        "capability:non_contiguous_X": False,
        "capability:random_state": True,
        "property:randomness": "derandomized",
        "capability:pretrain": True,
        "capability:update": True,
        "requires-fh-in-fit": True,
        "X-y-must-have-same-index": True,
        "fit_is_empty": False,
    }
    # The forecaster keeps its own history: sktime's copy would only double the memory.
    _config = {**BaseForecaster._config, "remember_data": False}

    _parameter_constraints: dict = {
        "lookback": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "strategy": [StrOptions({"multioutput", "recursive", "direct"})],
        "n_models": [Interval(Integral, 1, None, closed="left")],
        "window_scaling": [
            "boolean",
            StrOptions({"auto", "both", "mean", "last", "season", "none"}),
        ],
        "sp": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "blend_baselines": ["boolean"],
        **{name: BaseLSTM._parameter_constraints[name] for name in _NETWORK_PARAMS},
        "early_stopping": ["boolean"],
        "validation_fraction": BaseLSTM._parameter_constraints["validation_fraction"],
        "random_state": BaseLSTM._parameter_constraints["random_state"],
    }

    def __init__(
        self,
        lookback="auto",
        strategy="multioutput",
        n_models=2,
        window_scaling="auto",
        sp="auto",
        blend_baselines=True,
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
        self.sp = sp
        self.blend_baselines = blend_baselines
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
        self._y, self._X = None, None  # sktime's copies, kept only with remember_data=True
        # The recursive strategy iterates a one-step model: any fh works in predict.
        self.set_tags(**{"requires-fh-in-fit": strategy != "recursive"})

    # ---- parameters ---------------------------------------------------------------

    def _check_params(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        if self.strategy == "direct":
            warnings.warn(
                f"{type(self).__name__}(strategy='direct') is deprecated: use "
                "strategy='multioutput' (the same model: one network predicts every step).",
                FutureWarning,
                stacklevel=4,
            )
        if isinstance(self.window_scaling, bool):
            new = "mean" if self.window_scaling else "none"
            warnings.warn(
                f"{type(self).__name__}(window_scaling={self.window_scaling}) is deprecated: "
                f"use window_scaling={new!r}.",
                FutureWarning,
                stacklevel=4,
            )

    @property
    def _recursive(self) -> bool:
        return self.strategy == "recursive"

    def _modes(self, sp: int, lookback: int) -> list[str]:
        """The window normalisations trained (``"auto"``: mean and season, or mean and last)."""
        scaling = self.window_scaling
        if isinstance(scaling, bool):
            return ["mean" if scaling else "none"]
        if scaling == "season" and sp > lookback:
            raise ValueError(
                f"{type(self).__name__}(window_scaling='season') needs a lookback of at least "
                f"one season: sp={sp}, lookback={lookback}. Pass a longer lookback, or "
                "window_scaling='auto'."
            )
        if scaling == "auto":
            return ["mean", "season" if 1 < sp <= lookback else "last"]
        return {"both": ["mean", "last"]}.get(scaling, [scaling])

    def _season(self, index) -> int:
        """``sp`` resolved: ``"auto"`` reads the index's frequency."""
        return season_length(index) if self.sp == "auto" else int(self.sp)

    def _model(self, n_members, normalisers, modes, spec, rng):
        params = {name: getattr(self, name) for name in _NETWORK_PARAMS}
        seed = int(rng.randint(np.iinfo(np.int32).max))
        ensemble = LSTMEnsemble(n_members=n_members, random_state=seed, **params)
        return ForecastModel(ensemble, normalisers, modes, spec, self._recursive)

    @property
    def _fitted_model(self):
        args = (self.ensemble_, self.normalisers_, self.member_modes_, self._spec)
        return ForecastModel(*args, self._recursive, self.sp_, self.baseline_weights_)

    def _relative_steps(self, fh) -> np.ndarray:
        steps = fh.to_numpy() if fh.is_relative else fh.to_relative(self.cutoff).to_numpy()
        return np.asarray(steps, dtype=np.int64)

    def _horizon(self, fh) -> int:
        return 1 if self._recursive else int(self._relative_steps(fh).max())

    def _arrays(self, y, X):
        """y as (n, ny) and X, aligned to y's time points, as (n, nx) or None; float64."""
        Y = y.to_numpy(dtype=np.float64)
        Xa = None if X is None else X.loc[y.index].to_numpy(dtype=np.float64)
        check_finite(Y, "y", type(self).__name__)
        if Xa is not None:
            check_finite(Xa, "X", type(self).__name__)
        return Y, Xa

    # ---- sktime interface -------------------------------------------------------------

    def _fit(self, y, X=None, fh=None):
        self._check_params()
        check_index(y, type(self).__name__)
        self._y_columns = list(y.columns)
        self._hist_y = y.copy()
        self._hist_X = None if X is None else X.loc[y.index].copy()
        Y, Xa = self._arrays(y, X)
        panel = SeriesPanel.from_arrays([(Y, Xa)])
        rng = check_random_state(self.random_state)
        pretrained = getattr(self, "pretrained_ensemble_", None)
        if pretrained is not None:
            spec, normalisers = self._check_pretrained(Y, Xa, fh), self.pretrain_normalisers_
            sp = self.pretrain_sp_
        else:
            max_fh = None if fh is None else int(self._relative_steps(fh).max())
            horizon, sp = self._horizon(fh), self._season(y.index)
            owner = type(self).__name__
            lookback = resolve_lookback(
                self.lookback, len(Y), horizon, max_fh, owner=owner, what="y", sp=sp
            )
            spec = WindowSpec(lookback, horizon, Y.shape[1], 0 if Xa is None else Xa.shape[1])
            modes = self._modes(sp, lookback)
            normalisers = fit_normalisers(panel, spec, modes, self.validation_fraction, sp)
        modes = [mode for mode in normalisers for _ in range(self.n_models)]
        model = self._model(len(modes), normalisers, modes, spec, rng)
        model.sp = self.sp_ = sp
        start = True
        if pretrained is not None:  # fine-tune copies of the global networks
            index = {mode: k for k, mode in enumerate(self.pretrain_modes_)}
            start = [pretrained.member_state(index[m]) for m in modes]
        fraction = self.validation_fraction
        valid = model.train(
            panel, rng, start=start, validation=self.early_stopping, validation_fraction=fraction
        )
        self.ensemble_, self.member_modes_, self.normalisers_ = model.ensemble, modes, normalisers
        self._spec, self.lookback_, self.horizon_ = spec, spec.lookback, spec.horizon
        self.best_epochs_ = model.ensemble.best_epochs_.copy()
        self.interval_source_ = "validation" if len(valid) else "in-sample"
        n_steps = int(self._relative_steps(fh).max()) if self._recursive and fh else None
        truth, network, base, level = model.held_out(
            Y, Xa, int(valid[0]) if len(valid) else 0, n_steps
        )
        self._held_out = (truth, network, base, level)  # bounded: MAX_ORIGINS origins
        # The safety net: lean on the best baseline as far as it beat the networks on the
        # held-out tail (never measured on windows the networks trained on).
        weights = {"network": 1.0, **dict.fromkeys(baselines.NAMES, 0.0)}
        if self.blend_baselines and len(valid):
            weights = baselines.blend_weights(truth, network, base, level)
        self.baseline_weights_ = model.weights = weights
        path = baselines.blend(network, base, weights)
        errors = (truth - path) / level[:, None, :]
        self.residual_scale_, self.n_residual_origins_ = intervals.residual_scale(errors)
        self._final_epochs = 0
        if len(valid):  # the newest windows reach the networks: a short continuation
            self._final_epochs = max(1, math.ceil(_CONTINUE_FRACTION * self.best_epochs_.max()))
            model.continue_training(panel, rng, self._final_epochs, fraction)
        self._format = _FORMAT
        return self

    def _check_pretrained(self, Y, Xa, fh):
        spec, owner = self.pretrain_spec_, type(self).__name__
        if Y.shape[1] != spec.n_targets:
            raise ValueError(
                f"{owner} was pretrained on {spec.n_targets} target column(s); fit got "
                f"{Y.shape[1]}."
            )
        if (0 if Xa is None else Xa.shape[1]) != spec.n_exog:
            raise ValueError(
                f"{owner}: fit must get exogenous X with the same columns as pretrain (or "
                "none if pretrain had none)."
            )
        if self._horizon(fh) > spec.horizon:
            raise ValueError(
                f"{owner} was pretrained for {spec.horizon} step(s) ahead; fh reaches "
                f"{self._horizon(fh)}. Pretrain with the longer fh."
            )
        if len(Y) < spec.span:
            raise ValueError(
                f"{owner} was pretrained with lookback={spec.lookback} and a horizon of "
                f"{spec.horizon}; fit needs a series of at least {spec.span} time points, "
                f"got {len(Y)}."
            )
        return spec

    def _forecast_path(self, n_steps, X):
        """Point forecasts (n_steps, ny) from the cutoff, and the level of the last window."""
        model, lookback = self._fitted_model, self.lookback_
        Y, Xa = self._arrays(self._hist_y, self._hist_X)
        past, future = Y[-lookback:], None
        if Xa is not None:
            past = np.concatenate([past, Xa[-lookback:]], axis=1)
            future = self._future_X(X, n_steps)[None]
        path = model.forecast(past[None], future, n_steps)
        return path[0], model.level(past[None, :, : Y.shape[1]])[0]

    def _future_X(self, X, n_steps):
        """X over the steps 1 .. max(n_steps, horizon_) after the cutoff, as (n, nx)."""
        n_needed = max(n_steps, self.horizon_)
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

    def _predict(self, fh, X=None):
        steps = self._relative_steps(fh)
        mean, _ = self._forecast_path(int(steps.max()), X)
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(mean[steps - 1], index=index, columns=self._y_columns)

    def _predict_quantiles(self, fh, X, alpha):
        steps = self._relative_steps(fh)
        mean, level = self._forecast_path(int(steps.max()), X)
        sigma = intervals.step_scale(self.residual_scale_, steps) * level[None, :]
        values = intervals.quantiles(mean[steps - 1], sigma, alpha, self.n_residual_origins_)
        columns = pd.MultiIndex.from_product([self._y_columns, list(alpha)])
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(values.reshape(len(steps), -1), index=index, columns=columns)

    def _update(self, y, X=None, update_params=True):
        check_update(self._hist_y.index, y.index, type(self).__name__, restore=self._set_cutoff)
        check_finite(y.to_numpy(dtype=np.float64), "y", type(self).__name__)
        self._hist_y = update_data(self._hist_y, y)
        if self._hist_X is not None:
            if X is None:
                raise ValueError(
                    f"{type(self).__name__} was fitted with exogenous X: update needs X for "
                    "the new time points too."
                )
            self._hist_X = update_data(self._hist_X, X)
        if update_params:
            panel = SeriesPanel.from_arrays([self._arrays(self._hist_y, self._hist_X)])
            rng = check_random_state(self.random_state)
            epochs = max(self._final_epochs, 1)
            self._fitted_model.continue_training(panel, rng, epochs, self.validation_fraction)
        return self

    # ---- global (panel) pretraining ---------------------------------------------------

    def _pretrain(self, y, X=None, fh=None):
        self._check_params()
        check_index(y, type(self).__name__)
        if not self._recursive and (fh is None or not fh.is_relative):
            raise ValueError(
                f"{type(self).__name__}(strategy={self.strategy!r}).pretrain needs a relative "
                "fh (steps ahead, e.g. [1, 2, 3]): the network predicts steps 1 .. max(fh)."
            )
        horizon = 1 if self._recursive else int(np.max(fh.to_numpy()))
        series = panel_arrays(y, X, type(self).__name__)
        max_fh = None if fh is None else int(np.max(fh.to_numpy()))
        sp = self._season(y.index.levels[-1]) if self.sp == "auto" else int(self.sp)
        lookback = resolve_lookback(
            self.lookback,
            min(len(Y) for Y, _ in series),
            horizon,
            max_fh,
            owner=type(self).__name__,
            what="the shortest pretrain series",
            sp=sp,
        )
        panel = SeriesPanel.from_arrays(series)
        spec = WindowSpec(lookback, horizon, panel.n_targets, panel.n_exog)
        modes = self._modes(sp, lookback)  # one global network per normalisation; fit copies it
        normalisers = fit_normalisers(panel, spec, modes, self.validation_fraction, sp)
        rng = check_random_state(self.random_state)
        model = self._model(len(modes), normalisers, modes, spec, rng)
        model.train(
            panel,
            rng,
            start=True,
            validation=self.early_stopping,
            validation_fraction=self.validation_fraction,
        )
        self.pretrained_ensemble_, self.pretrain_normalisers_ = model.ensemble, normalisers
        self.pretrain_modes_, self.pretrain_spec_, self.pretrain_sp_ = modes, spec, sp
        self.pretrain_lookback_, self.pretrain_horizon_ = spec.lookback, spec.horizon
        self.n_pretrain_series_ = len(series)
        return self

    def _pretrained_model(self):
        args = (self.pretrained_ensemble_, self.pretrain_normalisers_, self.pretrain_modes_)
        return ForecastModel(*args, self.pretrain_spec_, self._recursive, self.pretrain_sp_)

    def _pretrain_update(self, y, X=None, fh=None):
        if getattr(self, "pretrained_ensemble_", None) is None:
            return self._pretrain(y, X=X, fh=fh)
        check_index(y, type(self).__name__)
        panel = SeriesPanel.from_arrays(panel_arrays(y, X, type(self).__name__))
        rng = check_random_state(self.random_state)
        self._pretrained_model().train(
            panel,
            rng,
            start=False,
            validation=self.early_stopping,
            validation_fraction=self.validation_fraction,
        )
        self.n_pretrain_series_ += len(panel.offsets) - 1
        return self

    def forecast_panel(self, y, fh=None):
        """Forecast every series of a panel with the pretrained global networks, at once.

        The last ``pretrain_lookback_`` points of each series are stacked into one
        batch and go through the networks in one call (``"recursive"``: one call per
        step, each over all series). No fine-tuning: the fast path for many series;
        ``fit`` / ``predict`` on a panel instead fine-tunes series by series.

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
            Forecasts indexed like ``y`` (instance level(s), time), one row per series
            and step, one column per target.
        """
        if getattr(self, "pretrained_ensemble_", None) is None:
            raise ValueError(f"{type(self).__name__}.forecast_panel needs pretrain first.")
        spec = self.pretrain_spec_
        if spec.future:
            raise ValueError(
                "forecast_panel does not take exogenous X yet; the network was pretrained "
                "with X: use fit / predict per series."
            )
        fh = ForecastingHorizon(np.arange(1, spec.horizon + 1) if fh is None else fh)
        steps = np.asarray(fh.to_numpy(), dtype=np.int64)
        if not self._recursive and steps.max() > spec.horizon:
            raise ValueError(
                f"{type(self).__name__} was pretrained for {spec.horizon} step(s) ahead; fh "
                f"reaches {steps.max()}."
            )
        frame = y.to_frame() if isinstance(y, pd.Series) else y
        check_index(frame, type(self).__name__)
        keys, cutoffs, windows = last_windows(frame, spec.lookback)
        path = self._pretrained_model().forecast(windows, None, int(steps.max()))
        values = path[:, steps - 1].reshape(len(windows) * len(steps), -1)
        times = [
            (*key, t)
            for key, c in zip(keys, cutoffs, strict=True)
            for t in fh.to_absolute_index(c)
        ]
        index = pd.MultiIndex.from_tuples(times, names=frame.index.names)
        return pd.DataFrame(values, index=index, columns=frame.columns)

    # ---- history, pickles, test parameters -------------------------------------------

    def plot_history(self, ax=None):
        """Plot the loss per epoch of every network of the ensemble, on a log scale.

        Needs matplotlib. Each network's training loss is drawn solid, its loss on
        the held-out windows dashed (the final epochs on all windows have none).

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
        >>> len(ax.get_lines())  # 4 networks, each with a training and a validation curve
        8
        """
        self.check_is_fitted()
        if getattr(self, "ensemble_", None) is None:
            raise ValueError(
                f"{type(self).__name__} holds no networks of its own (a panel or hierarchical "
                "y is forecast series by series): call plot_history on its forecasters_."
            )
        curves = self.ensemble_.member_curves()
        labelled = [
            (f"network {k} ({mode}): " if len(curves) > 1 else "", train, valid)
            for k, ((train, valid), mode) in enumerate(
                zip(curves, self.member_modes_, strict=True)
            )
        ]
        return plot_curves(labelled, title=f"{type(self).__name__}: loss per epoch", ax=ax)

    def __setstate__(self, state):
        if state.get("_is_fitted") and "regressors_" in state and "_format" not in state:
            raise ValueError(
                f"This {type(self).__name__} was fitted and pickled with sklstm 0.1, whose "
                "fitted layout (one LSTMRegressor per network) is gone; refit it with this "
                "version."
            )
        self.__dict__.update(state)

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
            {"lookback": 3, "hidden_size": 4, "max_iter": 2, "n_models": 1, "random_state": 0},
            {
                "strategy": "recursive",
                "lookback": 2,
                "hidden_size": 3,
                "max_iter": 2,
                "n_models": 2,
                "window_scaling": "none",
                "early_stopping": False,
                "random_state": 1,
            },
        ]

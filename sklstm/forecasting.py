"""LSTMForecaster: an sktime forecaster on the sklstm LSTM core.

This is the only sklstm module that imports sktime, and it is glue only: tags,
parameters, and sktime's ``_fit`` / ``_predict`` / ``_update`` / ``_pretrain``.
The windows, their normalisation, the ensemble, the rollout and the intervals
live in :mod:`sklstm._forecast`; training goes through the same entry point as
:class:`sklstm.LSTMRegressor` (``BaseLSTM._fit_dataset``).
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sktime.datatypes import update_data
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon

from sklstm._base import BaseLSTM
from sklstm._checks import reject_int_bools
from sklstm._forecast import intervals
from sklstm._forecast.ensemble import LSTMEnsemble
from sklstm._forecast.index import check_index, check_update, cutoff_of, steps_ahead
from sklstm._forecast.model import ForecastModel, design
from sklstm._forecast.spec import check_trainable, panel_steps, season_length
from sklstm._forecast.windows import (
    SeriesPanel,
    by_instance,
    check_finite,
    panel_arrays,
    update_frames,
)
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
_FORMAT = 2  # the layout of the fitted state; pickles of another layout do not load


def _few(names, shown: int = 5) -> str:
    """``'a', 'b' and 3 more``: a readable list of series names; "none" for none."""
    if not names:
        return "none"
    text = ", ".join(repr(n) for n in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


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
        How each window is normalised (per target column, see :ref:`scaling_concept`):
        ``"mean"`` divides by the window's level (mean absolute value); ``"last"``
        also subtracts the last value (zero output: the naive forecast); ``"season"``
        measures each target step from the value one season before (zero output:
        seasonal naive; needs ``lookback >= sp``); ``"none"`` standardises with the
        series' mean and standard deviation. ``"auto"``: ``n_models`` networks each of
        ``"mean"`` and ``"season"`` (``"last"`` without a season or with a lookback
        under one season), averaged; ``"both"``: ``"mean"`` and ``"last"``. True and
        False are deprecated aliases of ``"mean"`` and ``"none"``.
    sp : int or "auto", default="auto"
        The seasonal period, in steps. ``"auto"`` reads it from the index's frequency,
        sktime's convention: quarterly 4, monthly 12, weekly 52, daily 7, hourly 24,
        half-hourly 48; a multiple of one of these divides the period where it divides
        evenly (3-monthly 4, 2-weekly 26); 1 (no season) for yearly data, for indices
        without a frequency, and for multiples that do not divide (2-daily). It sets
        the ``"auto"`` lookback (at least two seasons where the series allows), the
        ``"season"`` normalisation and the seasonal-naive baseline. The value used is
        ``sp_``.
    blend_baselines : bool, default=True
        The safety net. With ``early_stopping=True``, the networks' forecasts from the
        held-out origins are scored against the seasonal-naive, naive, drift and theta
        forecasts from the same origins (each from up to ``context_`` rows of history
        before the origin), at the same horizons; the networks are then
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
        Hold out the newest ``validation_fraction`` of the windows (and leave out of
        training those whose targets overlap them); every network stops when its
        loss there stops improving and keeps its best epoch. The held-out errors set
        the blend and the interval widths; then every network continues on *all*
        windows for the same number of epochs, a tenth of the largest best epoch
        among them (at least one).
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
        baseline (``"seasonal_naive"``, ``"naive"``, ``"drift"``, ``"theta"``, each
        read from the newest ``context_`` rows: the value one season before, the last
        value, the line through the first and last of those rows, and the theta
        method on them: classical multiplicative deseasonalisation when they hold two
        seasons and are positive, exponential smoothing with the constant of least
        one-step error on them, plus half the least-squares trend); the weights sum
        to 1, and at most one baseline is above 0.
        ``{"network": 1.0, ...}`` with ``blend_baselines=False`` or without a
        held-out tail.
    context_ : int
        The rows of history one forecast reads: the networks the newest
        ``lookback_``, the baselines all of them. ``max(lookback_, 200, 4 * sp_)``,
        or the whole history when it is shorter (it grows with ``update``).
    best_epochs_ : ndarray of shape (n_networks,)
        The epoch each network scored best on the held-out windows (0 without them).
    residual_scale_ : ndarray of shape (n_steps, n_targets)
        Root mean squared error per horizon step and target, in units of the window
        level, of the blended forecasts from held-out origins (in-sample origins with
        ``early_stopping=False``); the prediction intervals are built from it. Origins
        whose history was too short for a weighted baseline are left out (that blend
        is not the one ``predict`` makes), unless fewer than two would remain.
    interval_source_ : {"validation", "in-sample"}
        Where ``residual_scale_`` was measured.
    n_residual_origins_ : int
        Number of forecast origins ``residual_scale_`` was measured on.
    pretrained_ensemble_, pretrain_normalisers_, pretrain_modes_, pretrain_sp_
        After :meth:`pretrain`: the global networks (one per window normalisation),
        the panel's normalisation statistics, each network's normalisation, and the
        seasonal period; ``fit`` fine-tunes copies of the networks.
    pretrain_spec_ : WindowSpec
        After :meth:`pretrain`: the window geometry every later fit uses (lookback,
        horizon, target and exogenous columns); also ``pretrain_lookback_`` and
        ``pretrain_horizon_``.
    n_pretrain_series_ : int
        After :meth:`pretrain`: the number of series pretrained on (all calls).
    pretrain_baseline_weights_ : dict of str to float
        After :meth:`pretrain`: the blend of :meth:`forecast_panel` (as
        ``baseline_weights_``), scored on the held-out origins of all the series of the
        last pretrain call together.

    See Also
    --------
    sklstm.LSTMRegressor : The regressor on the same training core.
    sklstm.make_windows : How windows and targets are cut.

    Notes
    -----
    ``predict`` needs exogenous ``X`` for every step ``1 .. max(fh)``; all columns of
    a multivariate ``y`` are forecast jointly; intervals are Student-t, scaled by
    ``residual_scale_`` times the current window's level (``"recursive"``, past the
    measured steps: the level of the window each step is forecast from, when higher);
    each series must be on
    consecutive time steps. The details, global models, ``update`` and old pickles:
    :ref:`forecaster` in the user guide.

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

    def _check_param_values(self):
        params = self.get_params(deep=False)
        owner = type(self).__name__
        validate_parameter_constraints(self._parameter_constraints, params, caller_name=owner)
        reject_int_bools(owner, params, self._parameter_constraints)

    def _check_params(self):
        self._check_param_values()
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

    def _design(self, panel, fh, time_index, what):
        """Window geometry, normalisers and ``sp`` of new networks for ``panel``."""
        sp = season_length(time_index) if self.sp == "auto" else int(self.sp)
        max_fh = None if fh is None else int(self._relative_steps(fh).max())
        spec, normalisers = design(
            panel,
            lookback=self.lookback,
            horizon=self._horizon(fh),
            max_fh=max_fh,
            sp=sp,
            scaling=self.window_scaling,
            validation_fraction=self.validation_fraction,
            owner=type(self).__name__,
            what=what,
        )
        return spec, normalisers, sp

    def _model(self, modes, normalisers, spec, sp, rng):
        params = {name: getattr(self, name) for name in _NETWORK_PARAMS}
        seed = int(rng.randint(np.iinfo(np.int32).max))
        ensemble = LSTMEnsemble(n_members=len(modes), random_state=seed, **params)
        return ForecastModel(ensemble, normalisers, modes, spec, self._recursive, sp)

    def _train(self, model, panel, rng, start):
        fraction = self.validation_fraction
        return model.train(
            panel, rng, start=start, validation=self.early_stopping, validation_fraction=fraction
        )

    @property
    def context_(self) -> int:
        """The rows of history one forecast reads (see the class docstring)."""
        return min(self._fitted_model.context, len(self._hist_y))

    @property
    def _fitted_model(self):
        args = (self.ensemble_, self.normalisers_, self.member_modes_, self._spec)
        return ForecastModel(*args, self._recursive, self.sp_, self.baseline_weights_)

    def _relative_steps(self, fh) -> np.ndarray:
        if fh.is_relative and pd.api.types.is_integer_dtype(fh.to_pandas().dtype):
            return np.asarray(fh.to_numpy(), dtype=np.int64)
        absolute = fh.to_absolute(self.cutoff)  # time points, or durations

        def round_trip():
            relative = absolute.to_relative(self.cutoff)
            return relative.to_numpy(), relative.to_absolute(self.cutoff).to_pandas()

        return steps_ahead(absolute.to_pandas(), self.cutoff, round_trip, type(self).__name__)

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
        owner = type(self).__name__
        check_index(y, owner)
        self._y_columns = list(y.columns)
        self._hist_y, self._hist_X = y.copy(), None if X is None else X.loc[y.index].copy()
        Y, Xa = self._arrays(y, X)
        panel = SeriesPanel.from_arrays([(Y, Xa)])
        rng = check_random_state(self.random_state)
        pretrained = getattr(self, "pretrained_ensemble_", None)
        if pretrained is None:
            spec, normalisers, sp = self._design(panel, fh, y.index, "y")
        else:  # fine-tune copies of the global networks, whose geometry is fixed
            spec, sp = self.pretrain_spec_, self.pretrain_sp_
            normalisers = self.pretrain_normalisers_
            spec.check_fits(len(Y), panel.n_targets, panel.n_exog, self._horizon(fh), owner)
        modes = [mode for mode in normalisers for _ in range(self.n_models)]
        model = self._model(modes, normalisers, spec, sp, rng)
        start = True
        if pretrained is not None:
            start = [pretrained.member_state(self.pretrain_modes_.index(m)) for m in modes]
        valid = self._train(model, panel, rng, start)
        self.ensemble_, self.member_modes_, self.normalisers_ = model.ensemble, modes, normalisers
        self._spec, self.lookback_, self.horizon_, self.sp_ = spec, spec.lookback, spec.horizon, sp
        self.best_epochs_ = model.ensemble.best_epochs_.copy()
        self.interval_source_ = "validation" if len(valid) else "in-sample"
        n_steps = int(self._relative_steps(fh).max()) if self._recursive and fh else None
        # _held_out is bounded: at most MAX_ORIGINS origins.
        self._held_out, self.residual_scale_, self.n_residual_origins_ = model.calibrate(
            Y, Xa, valid, n_steps, blend=self.blend_baselines
        )
        self.baseline_weights_ = model.weights
        self._final_epochs = model.continuation_epochs() if len(valid) else 0
        if len(valid):  # the newest windows reach the networks: a short continuation
            model.continue_training(panel, rng, self._final_epochs, self.validation_fraction)
        self._format = _FORMAT
        return self

    def _forecast_path(self, n_steps, X):
        """Point forecasts (n_steps, ny) from the cutoff, and the level of the last window."""
        Y, Xa = self._arrays(self._hist_y, self._hist_X)
        future = None if Xa is None else self._future_X(X, n_steps)
        return self._fitted_model.forecast_history(Y, Xa, future, n_steps)

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
        future = X.loc[index, self._hist_X.columns].to_numpy(dtype=np.float64)
        check_finite(future, "X", type(self).__name__)
        return future

    def _predict(self, fh, X=None):
        steps = self._relative_steps(fh)
        mean, _ = self._forecast_path(int(steps.max()), X)
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(mean[steps - 1], index=index, columns=self._y_columns)

    def _forecast_distribution(self, fh, X):
        """The Student-t forecast of the steps of ``fh``: ``(mean, sigma, df)``.

        ``mean`` and ``sigma`` are ``(len(fh), ny)`` in y's units, ``df`` the degrees of
        freedom (:func:`~sklstm._forecast.intervals.degrees_of_freedom`).
        """
        steps = self._relative_steps(fh)
        mean, level = self._forecast_path(int(steps.max()), X)
        sigma = intervals.step_scale(self.residual_scale_, steps) * level[None, :]
        if self._recursive:  # past the measured steps, scale by the rolled-out windows
            past_y = self._hist_y.to_numpy(dtype=np.float64)[-self.lookback_ :]
            measured, level_of = len(self.residual_scale_), self._fitted_model.level
            sigma = sigma * intervals.rolled_level_ratio(past_y, mean, steps, measured, level_of)
        return mean[steps - 1], sigma, intervals.degrees_of_freedom(self.n_residual_origins_)

    def _predict_quantiles(self, fh, X, alpha):
        mean, sigma, df = self._forecast_distribution(fh, X)
        values = intervals.quantiles(mean, sigma, alpha, df)
        columns = pd.MultiIndex.from_product([self._y_columns, list(alpha)])
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(values.reshape(len(mean), -1), index=index, columns=columns)

    def _predict_var(self, fh, X=None, cov=False):
        # the variance of the Student-t of the intervals (infinite for df <= 2); ``cov``
        # is not supported: the marginal variances, as sktime's default
        mean, sigma, df = self._forecast_distribution(fh, X)
        factor = df / (df - 2) if df > 2 else np.inf
        var = np.zeros_like(sigma)  # a zero scale stays 0 (0 * inf would be NaN)
        var[sigma > 0] = sigma[sigma > 0] ** 2 * factor
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(var, index=index, columns=self._y_columns)

    def _predict_proba(self, fh, X, marginal=True):
        try:  # skpro: sktime's distributions (the sktime extra installs it)
            from skpro.distributions import TDistribution
        except ImportError:  # sktime's fallback: a Normal of predict_var's variance
            return super()._predict_proba(fh=fh, X=X, marginal=marginal)
        mean, sigma, df = self._forecast_distribution(fh, X)
        index, columns = fh.to_absolute_index(self.cutoff), pd.Index(self._y_columns)
        frames = [pd.DataFrame(v, index=index, columns=columns) for v in (mean, sigma)]
        return TDistribution(mu=frames[0], sigma=frames[1], df=df, index=index, columns=columns)

    def fit(self, y, X=None, fh=None):
        """Fit the networks to ``y`` (and ``X``); see sktime's ``BaseForecaster.fit``.

        A panel or hierarchy without ``pretrain`` is fitted series by series (sktime's
        vectorisation); a series too short to train on is named before any is fitted.
        """
        if isinstance(getattr(y, "index", None), pd.MultiIndex):
            self._check_param_values()  # a bad parameter is named before any series
            self._check_every_series_length(y, fh)
        return super().fit(y, X=X, fh=fh)

    def _check_every_series_length(self, y, fh):
        if self._recursive:
            horizon = 1
        else:
            try:
                fh = fh if isinstance(fh, ForecastingHorizon) else ForecastingHorizon(fh)
            except (TypeError, ValueError):
                return  # sktime says what is wrong with it (or that fh is needed)
            values = fh.to_pandas()
            if not (fh.is_relative and pd.api.types.is_integer_dtype(values.dtype)):
                return  # steps from each series' own cutoff: checked there
            horizon = int(values.max())
        owner = type(self).__name__
        spec = getattr(self, "pretrain_spec_", None)
        for name, part in by_instance(y):
            n = len(part)
            if spec is None:
                check_trainable(int(n), horizon, owner, f"series {name!r} of y")
            else:  # the pretrained geometry (its column counts are checked in fit)
                call = f"fit of series {name!r}"
                spec.check_fits(int(n), spec.n_targets, spec.n_exog, horizon, owner, call=call)

    def update(self, y, X=None, update_params=True):
        """Update the cutoff, the data seen and (``update_params``) the networks.

        sktime's ``update``; for a panel or hierarchy fitted series by series, every
        series' new time points are checked first (sktime updates the series one by
        one, so a refused one left those before it updated and the cutoff moved).
        See sktime's ``BaseForecaster.update`` for the parameters.
        """
        if getattr(self, "_is_vectorized", False) and isinstance(
            getattr(y, "index", None), pd.MultiIndex
        ):
            self._check_every_series_update(y)
        return super().update(y, X=X, update_params=update_params)

    def _check_every_series_update(self, y):
        owner = type(self).__name__
        forecasters = self.forecasters_.iloc[:, 0]
        parts = dict(list(by_instance(y)))
        missing = [name for name in forecasters.index if name not in parts]
        new = [name for name in parts if name not in forecasters.index]
        if missing or new:  # sktime's own message only compares the counts
            raise ValueError(
                f"{owner}.update: the panel was fitted on {len(forecasters)} series and "
                "sktime updates it series by series, so the new rows must hold every "
                f"fitted series and no other (missing: {_few(missing)}; not fitted: "
                f"{_few(new)}). Pass new rows of every fitted series, or fit again on "
                "the series you have (no series was updated)."
            )
        for name, part in parts.items():
            seen = forecasters.loc[name]._hist_y.index
            try:
                check_update(seen, part.index.get_level_values(-1), owner)
            except ValueError as exc:
                raise ValueError(f"series {name!r}: {exc} (no series was updated)") from None

    def _update(self, y, X=None, update_params=True):
        try:
            check_update(self._hist_y.index, y.index, type(self).__name__)
            y, X = update_frames(y, X, self._y_columns, self._hist_X, type(self).__name__)
        except ValueError:  # sktime has moved the cutoff already: a refused update leaves it
            self._set_cutoff(cutoff_of(self._hist_y.index))
            raise
        self._hist_y = update_data(self._hist_y, y)
        if self._hist_X is not None:
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
        panel = SeriesPanel.from_arrays(panel_arrays(y, X, type(self).__name__))
        # One global network per normalisation; fit fine-tunes copies of them.
        what = "the shortest pretrain series"
        spec, normalisers, sp = self._design(panel, fh, y.index.levels[-1], what)
        rng = check_random_state(self.random_state)
        model = self._model(list(normalisers), normalisers, spec, sp, rng)
        valid = self._train(model, panel, rng, start=True)
        self._pretrain_calibrate(model, panel, valid, fh)
        self.pretrained_ensemble_, self.pretrain_normalisers_ = model.ensemble, normalisers
        self.pretrain_modes_, self.pretrain_spec_, self.pretrain_sp_ = model.modes, spec, sp
        self.pretrain_lookback_, self.pretrain_horizon_ = spec.lookback, spec.horizon
        self.n_pretrain_series_ = len(panel.offsets) - 1
        return self

    def _pretrain_calibrate(self, model, panel, valid, fh):
        """The safety net of ``forecast_panel``: blend weights pooled over the panel."""
        spec = model.spec
        n_steps = spec.lookback if self._recursive else spec.horizon
        if self._recursive and fh is not None:
            n_steps = int(self._relative_steps(fh).max())
        blend = self.blend_baselines and len(valid) > 0
        self.pretrain_baseline_weights_ = model.calibrate_panel(panel, valid, n_steps, blend=blend)

    def _pretrained_model(self):
        args = (self.pretrained_ensemble_, self.pretrain_normalisers_, self.pretrain_modes_)
        weights = getattr(self, "pretrain_baseline_weights_", None)
        return ForecastModel(
            *args, self.pretrain_spec_, self._recursive, self.pretrain_sp_, weights
        )

    def _pretrain_update(self, y, X=None, fh=None):
        if getattr(self, "pretrained_ensemble_", None) is None:
            return self._pretrain(y, X=X, fh=fh)
        owner = type(self).__name__
        check_index(y, owner)
        panel = SeriesPanel.from_arrays(panel_arrays(y, X, owner))
        horizon = 0 if fh is None else self._horizon(fh)  # the networks' geometry is fixed
        shortest = int(np.diff(panel.offsets).min())
        self.pretrain_spec_.check_fits(
            shortest, panel.n_targets, panel.n_exog, horizon, owner, call="pretrain"
        )
        rng = check_random_state(self.random_state)
        model = self._pretrained_model()
        valid = self._train(model, panel, rng, start=False)
        if len(valid):  # no held-out origins: the blend weights measured before stand
            self._pretrain_calibrate(model, panel, valid, fh)
        self.n_pretrain_series_ += len(panel.offsets) - 1
        return self

    def forecast_panel(self, y, fh=None):
        """Forecast every series of a panel with the pretrained global networks, at once.

        The last ``pretrain_lookback_`` points of each series are stacked into one
        batch and go through the networks in one call (``"recursive"``: one call per
        step, each over all series), then blended by ``pretrain_baseline_weights_`` with
        the baselines, each from up to ``max(pretrain_lookback_, 200, 4 *
        pretrain_sp_)`` points of its series. No fine-tuning: the fast path for many series;
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
        owner = type(self).__name__
        fh = np.arange(1, self.pretrain_horizon_ + 1) if fh is None else fh
        fh = fh if isinstance(fh, ForecastingHorizon) else ForecastingHorizon(fh)
        steps = panel_steps(fh.to_pandas(), fh.is_relative, owner)
        frame = y.to_frame() if isinstance(y, pd.Series) else y
        if frame.shape[1] != self.pretrain_spec_.n_targets:
            raise ValueError(
                f"{owner} was pretrained on {self.pretrain_spec_.n_targets} target column(s); "
                f"forecast_panel got {frame.shape[1]}: pass the same columns as pretrain."
            )
        check_index(frame, owner)
        model = self._pretrained_model()
        keys, cutoffs, values = model.forecast_last(frame, steps, owner)
        absolute = {}  # one sktime call per distinct cutoff (most panels end together)
        times = []
        for key, cutoff in zip(keys, cutoffs, strict=True):
            at = (cutoff[0], getattr(cutoff, "freq", None))
            if at not in absolute:
                absolute[at] = list(fh.to_absolute_index(cutoff))
            times.extend((*key, t) for t in absolute[at])
        index = pd.MultiIndex.from_tuples(times, names=frame.index.names)
        return pd.DataFrame(values.reshape(len(times), -1), index=index, columns=frame.columns)

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
        # sktime's fitted flag: _state "fitted" (sktime >= 1.0; _is_fitted before)
        fitted = state.get("_state") == "fitted" or bool(state.get("_is_fitted"))
        if fitted and "regressors_" in state and "_format" not in state:
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
        tiny = {"hidden_size": 4, "max_iter": 2}
        return [
            {**tiny, "lookback": 3, "n_models": 1, "random_state": 0},
            {
                **tiny,
                "strategy": "recursive",
                "lookback": 2,
                "n_models": 2,
                "random_state": 1,
                "window_scaling": "none",
                "early_stopping": False,
            },
        ]

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
from sklstm._forecast import intervals
from sklstm._forecast.ensemble import LSTMEnsemble, ensemble_forecast
from sklstm._forecast.normalise import WindowNormaliser
from sklstm._forecast.rollout import rollout
from sklstm._forecast.spec import WindowSpec, resolve_lookback
from sklstm._forecast.windows import SeriesPanel, WindowDataset
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
# Held-out origins whose errors set the interval widths: the newest ones, at most this many.
_MAX_ORIGINS = 2000
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
    n_models : int, default=3
        Networks trained with different seeds for each window normalisation; their
        forecasts are averaged. ``window_scaling="both"`` trains ``2 * n_models``.
    window_scaling : {"both", "mean", "last", "none"}, default="both"
        How each window (inputs and targets, per target column) is normalised:
        ``"mean"`` divides by the window's level (its mean absolute value);
        ``"last"`` subtracts the window's last value, then divides by the level (the
        network's zero is the naive forecast); ``"both"`` trains ``n_models``
        networks of each kind and averages them with equal weight; ``"none"``
        standardises the target columns with the training series' mean and standard
        deviation instead (the level is then an input). True and False are
        deprecated aliases of ``"mean"`` and ``"none"``.
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
        "window_scaling": ["boolean", StrOptions({"both", "mean", "last", "none"})],
        **{name: BaseLSTM._parameter_constraints[name] for name in _NETWORK_PARAMS},
        "early_stopping": ["boolean"],
        "validation_fraction": BaseLSTM._parameter_constraints["validation_fraction"],
        "random_state": BaseLSTM._parameter_constraints["random_state"],
    }

    def __init__(
        self,
        lookback="auto",
        strategy="multioutput",
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

    def _modes(self) -> list[str]:
        """The window normalisations trained: ``["mean", "last"]`` for ``"both"``."""
        scaling = self.window_scaling
        if isinstance(scaling, bool):
            return ["mean" if scaling else "none"]
        return ["mean", "last"] if scaling == "both" else [scaling]

    def _ensemble(self, n_members: int, seed: int) -> LSTMEnsemble:
        params = {name: getattr(self, name) for name in _NETWORK_PARAMS}
        return LSTMEnsemble(n_members=n_members, random_state=seed, **params)

    def _relative_steps(self, fh) -> np.ndarray:
        steps = fh.to_numpy() if fh.is_relative else fh.to_relative(self.cutoff).to_numpy()
        return np.asarray(steps, dtype=np.int64)

    @staticmethod
    def _arrays(y, X):
        """y as (n, ny) and X, aligned to y's time points, as (n, nx) or None; float64."""
        Y = y.to_numpy(dtype=np.float64)
        Xa = None if X is None else X.loc[y.index].to_numpy(dtype=np.float64)
        return Y, Xa

    # ---- training ---------------------------------------------------------------

    def _train(self, ensemble, panel, spec, normalisers, modes, rng, *, start, validation):
        """Train ``ensemble`` on the panel's windows; returns the held-out starts.

        ``start``: False continues the ensemble as it is; True starts it afresh, and a
        list of member state dicts starts it from those weights (fine-tuning).
        """
        train, valid = panel.split(spec, self.validation_fraction, validation)
        orders = WindowDataset.member_orders(len(train), len(modes), rng)
        train_ds = WindowDataset(panel, train, spec, normalisers, modes, orders)
        valid_ds = WindowDataset(panel, valid, spec, normalisers, modes) if len(valid) else None
        if start is not False:
            ensemble.start(
                n_channels=spec.n_channels, n_outputs=spec.n_outputs, n_train=len(train)
            )
            if start is not True:
                ensemble.initialise_from(start)
        ensemble.fit_windows(train_ds, valid_ds, warm=start is not True)
        return valid

    def _continue(self, ensemble, panel, spec, normalisers, modes, rng, epochs):
        """Continue every network on all windows (the newest too) for ``epochs`` epochs."""
        starts, _ = panel.split(spec, self.validation_fraction, validation=False)
        orders = WindowDataset.member_orders(len(starts), len(modes), rng)
        dataset = WindowDataset(panel, starts, spec, normalisers, modes, orders)
        ensemble.fit_windows(dataset, None, epochs=epochs, warm=True)

    def _fit(self, y, X=None, fh=None):
        self._check_params()
        self._y_columns = list(y.columns)
        self._hist_y = y.copy()
        self._hist_X = None if X is None else X.loc[y.index].copy()
        Y, Xa = self._arrays(y, X)
        panel = SeriesPanel.from_arrays([(Y, Xa)])
        rng = check_random_state(self.random_state)
        pretrained = getattr(self, "pretrained_ensemble_", None)
        if pretrained is not None:
            spec, normalisers = self._check_pretrained(Y, Xa, fh), self.pretrain_normalisers_
        else:
            horizon = 1 if self._recursive else int(self._relative_steps(fh).max())
            max_fh = None if fh is None else int(self._relative_steps(fh).max())
            lookback = resolve_lookback(
                self.lookback, len(Y), horizon, max_fh, owner=type(self).__name__, what="y"
            )
            spec = WindowSpec(lookback, horizon, Y.shape[1], 0 if Xa is None else Xa.shape[1])
            starts, _ = panel.split(spec, self.validation_fraction, validation=False)
            normalisers = {
                mode: WindowNormaliser.fit(
                    mode, panel.values, spec.n_targets, spec, panel.stat_starts(lookback), starts
                )
                for mode in self._modes()
            }
        modes = [mode for mode in normalisers for _ in range(self.n_models)]
        ensemble = self._ensemble(len(modes), int(rng.randint(np.iinfo(np.int32).max)))
        start = True
        if pretrained is not None:  # fine-tune copies of the global networks
            index = {mode: k for k, mode in enumerate(self.pretrain_modes_)}
            start = [pretrained.member_state(index[m]) for m in modes]
        args = (ensemble, panel, spec, normalisers, modes, rng)
        valid = self._train(*args, start=start, validation=self.early_stopping)
        self.ensemble_, self.member_modes_, self.normalisers_ = ensemble, modes, normalisers
        self._spec = spec
        self.lookback_, self.horizon_ = spec.lookback, spec.horizon
        self.best_epochs_ = ensemble.best_epochs_.copy()
        self.interval_source_ = "validation" if len(valid) else "in-sample"
        first = int(valid[0]) if len(valid) else 0
        self.residual_scale_, self.n_residual_origins_ = self._residual_scale(Y, Xa, fh, first)
        self._final_epochs = 0
        if len(valid):
            self._final_epochs = max(1, math.ceil(_CONTINUE_FRACTION * self.best_epochs_.max()))
            self._continue(ensemble, panel, spec, normalisers, modes, rng, self._final_epochs)
        self._format = _FORMAT
        return self

    def _check_pretrained(self, Y, Xa, fh):
        spec = self.pretrain_spec_
        owner = type(self).__name__
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
        horizon = 1 if self._recursive else int(self._relative_steps(fh).max())
        if horizon > spec.horizon:
            raise ValueError(
                f"{owner} was pretrained for {spec.horizon} step(s) ahead; fh reaches "
                f"{horizon}. Pretrain with the longer fh."
            )
        if len(Y) < spec.span:
            raise ValueError(
                f"{owner} was pretrained with lookback={spec.lookback} and a horizon of "
                f"{spec.horizon}; fit needs a series of at least {spec.span} time points, "
                f"got {len(Y)}."
            )
        return spec

    # ---- forecasting --------------------------------------------------------------

    def _forecaster(self, ensemble=None, normalisers=None, modes=None):
        ensemble = self.ensemble_ if ensemble is None else ensemble
        normalisers = self.normalisers_ if normalisers is None else normalisers
        modes = self.member_modes_ if modes is None else modes
        return lambda past, future: ensemble_forecast(ensemble, normalisers, modes, past, future)

    def _level(self, past_y):
        """The window levels (m, ny) that interval widths are measured in."""
        return self.normalisers_[self.member_modes_[0]].norms(past_y)[1]

    def _residual_scale(self, Y, Xa, fh, first):
        """Relative RMS error per step from the origins ``first ..`` (see intervals)."""
        spec = self._spec
        n_origins = len(Y) - spec.lookback  # every start with at least one step to score
        if spec.future and not self._recursive:
            n_origins = len(Y) - spec.span + 1  # the network reads X over the whole horizon
        if self._recursive:
            n_steps = int(self._relative_steps(fh).max()) if fh is not None else None
            n_steps = n_steps or max(1, min(spec.lookback, n_origins - first))
        else:
            n_steps = spec.horizon
        starts = np.arange(max(first, n_origins - _MAX_ORIGINS), n_origins)
        values = Y if Xa is None else np.concatenate([Y, Xa], axis=1)
        past = values[starts[:, None] + np.arange(spec.lookback)]
        future = None
        if Xa is not None:  # steps past the end of the data are never scored
            padded = np.concatenate([Xa, np.repeat(Xa[-1:], n_steps + spec.horizon, axis=0)])
            ahead = np.arange(max(n_steps, spec.horizon))
            future = padded[starts[:, None] + spec.lookback + ahead]
        path = rollout(
            self._forecaster(),
            past,
            future,
            n_steps,
            horizon=spec.horizon,
            recursive=self._recursive,
        )
        level = self._level(past[:, :, : spec.n_targets])
        padded_y = np.concatenate([Y, np.full((n_steps, Y.shape[1]), np.nan)])
        truth = padded_y[starts[:, None] + spec.lookback + np.arange(n_steps)]
        return intervals.residual_scale((truth - path) / level[:, None, :])

    def _forecast_path(self, n_steps, X):
        """Point forecasts (n_steps, ny) from the cutoff, and the level of the last window."""
        spec = self._spec
        Y, Xa = self._arrays(self._hist_y, self._hist_X)
        past = Y[-spec.lookback :]
        future = None
        if Xa is not None:
            past = np.concatenate([past, Xa[-spec.lookback :]], axis=1)
            future = self._future_X(X, n_steps)[None]
        path = rollout(
            self._forecaster(),
            past[None],
            future,
            n_steps,
            horizon=spec.horizon,
            recursive=self._recursive,
        )
        return path[0], self._level(past[None, :, : spec.n_targets])[0]

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
            args = (self.ensemble_, panel, self._spec, self.normalisers_, self.member_modes_)
            self._continue(*args, rng, epochs)
        return self

    # ---- global (panel) pretraining ---------------------------------------------------

    @staticmethod
    def _panel_series(y, X):
        """List of (Y, Xa) arrays, one per instance of a (hierarchical) multi-indexed panel."""
        levels = list(range(y.index.nlevels - 1))
        level = levels[0] if len(levels) == 1 else levels  # a scalar level: pandas' own form
        X_groups = {} if X is None else dict(list(X.groupby(level=level, sort=False)))
        series = []
        for key, y_i in y.groupby(level=level, sort=False):
            X_i = None if X is None else X_groups[key].loc[y_i.index]
            series.append(LSTMForecaster._arrays(y_i, X_i))
        return series

    def _pretrain(self, y, X=None, fh=None):
        self._check_params()
        if self._recursive:
            horizon = 1
        elif fh is None or not fh.is_relative:
            raise ValueError(
                f"{type(self).__name__}(strategy={self.strategy!r}).pretrain needs a relative "
                "fh (steps ahead, e.g. [1, 2, 3]): the network predicts steps 1 .. max(fh)."
            )
        else:
            horizon = int(np.max(fh.to_numpy()))
        series = self._panel_series(y, X)
        shortest = min(len(Y) for Y, _ in series)
        max_fh = None if fh is None else int(np.max(fh.to_numpy()))
        lookback = resolve_lookback(
            self.lookback,
            shortest,
            horizon,
            max_fh,
            owner=type(self).__name__,
            what="the shortest pretrain series",
        )
        panel = SeriesPanel.from_arrays(series)
        spec = WindowSpec(lookback, horizon, panel.n_targets, panel.n_exog)
        starts, _ = panel.split(spec, self.validation_fraction, validation=False)
        modes = self._modes()  # one global network per normalisation; fit copies it
        normalisers = {
            mode: WindowNormaliser.fit(
                mode, panel.values, spec.n_targets, spec, panel.stat_starts(lookback), starts
            )
            for mode in modes
        }
        rng = check_random_state(self.random_state)
        ensemble = self._ensemble(len(modes), int(rng.randint(np.iinfo(np.int32).max)))
        args = (ensemble, panel, spec, normalisers, modes, rng)
        self._train(*args, start=True, validation=self.early_stopping)
        self.pretrained_ensemble_, self.pretrain_normalisers_ = ensemble, normalisers
        self.pretrain_modes_, self.pretrain_spec_ = modes, spec
        self.pretrain_lookback_, self.pretrain_horizon_ = spec.lookback, spec.horizon
        self.n_pretrain_series_ = len(series)
        return self

    def _pretrain_update(self, y, X=None, fh=None):
        if getattr(self, "pretrained_ensemble_", None) is None:
            return self._pretrain(y, X=X, fh=fh)
        panel = SeriesPanel.from_arrays(self._panel_series(y, X))
        rng = check_random_state(self.random_state)
        args = (self.pretrained_ensemble_, panel, self.pretrain_spec_)
        normalisers, modes = self.pretrain_normalisers_, self.pretrain_modes_
        self._train(*args, normalisers, modes, rng, start=False, validation=self.early_stopping)
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
        n_steps = int(steps.max())
        if not self._recursive and n_steps > spec.horizon:
            raise ValueError(
                f"{type(self).__name__} was pretrained for {spec.horizon} step(s) ahead; fh "
                f"reaches {n_steps}."
            )
        frame = y.to_frame() if isinstance(y, pd.Series) else y
        levels = list(range(frame.index.nlevels - 1))
        keys, cutoffs, pasts = [], [], []
        for key, y_i in frame.groupby(level=levels[0] if len(levels) == 1 else levels, sort=False):
            if len(y_i) < spec.lookback:
                raise ValueError(
                    f"forecast_panel needs the last {spec.lookback} points of every series; "
                    f"series {key!r} has {len(y_i)}."
                )
            keys.append(key if isinstance(key, tuple) else (key,))
            cutoffs.append(y_i.index.get_level_values(-1)[-1])
            pasts.append(y_i.to_numpy(dtype=np.float64)[-spec.lookback :])
        forecast = self._forecaster(
            self.pretrained_ensemble_, self.pretrain_normalisers_, self.pretrain_modes_
        )
        path = rollout(
            forecast,
            np.stack(pasts),
            None,
            n_steps,
            horizon=spec.horizon,
            recursive=self._recursive,
        )
        values = path[:, steps - 1].reshape(len(pasts) * len(steps), -1)
        index = pd.MultiIndex.from_tuples(
            [
                (*key, t)
                for key, cutoff in zip(keys, cutoffs, strict=True)
                for t in fh.to_absolute_index(cutoff)
            ],
            names=frame.index.names,
        )
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

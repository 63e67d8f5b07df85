"""A forecast model: the ensemble, its normalisers and window geometry, trained and used.

(Private.) :class:`ForecastModel` ties the pieces of :mod:`sklstm._forecast` together:
it trains the ensemble on a panel's windows (held-out tail, per-member early stopping,
then a short continuation on every window), forecasts from raw windows with the one
rollout, and measures the errors of forecasts from held-out origins for the intervals.
"""

from __future__ import annotations

import math

import numpy as np

from sklstm._forecast import baselines as _baselines
from sklstm._forecast import intervals
from sklstm._forecast.ensemble import ensemble_forecast
from sklstm._forecast.normalise import WindowNormaliser
from sklstm._forecast.rollout import rollout
from sklstm._forecast.spec import WindowSpec, resolve_lookback
from sklstm._forecast.windows import WindowDataset, last_windows

# Held-out origins whose errors set the interval widths: the newest ones, at most this many.
MAX_ORIGINS = 2000
# After early stopping, every network continues from its best epoch on all windows (the
# held-out newest ones included) for this share of the best epochs (at least one epoch).
CONTINUE_FRACTION = 0.1


def normalisation_modes(scaling, sp: int, lookback: int, owner: str) -> list[str]:
    """The window normalisations to train for ``window_scaling=scaling``.

    ``"auto"``: mean and season (mean and last without a season, ``sp == 1``, or with
    a lookback shorter than one season); ``"both"``: mean and last; the deprecated
    bools: mean (True) or none (False); any other mode: itself.
    """
    if isinstance(scaling, bool):
        return ["mean" if scaling else "none"]
    if scaling == "season" and sp > lookback:
        raise ValueError(
            f"{owner}(window_scaling='season') needs a lookback of at least one season: "
            f"sp={sp}, lookback={lookback} (the lookback in use: a longer one than the "
            "series allows is shortened). Pass a longer lookback if the series has room "
            "for it; else a longer series, a smaller sp, or window_scaling='auto'."
        )
    if scaling == "auto":
        return ["mean", "season" if 1 < sp <= lookback else "last"]
    return {"both": ["mean", "last"]}.get(scaling, [scaling])


def design(panel, *, lookback, horizon, max_fh, sp, scaling, validation_fraction, owner, what):
    """The window geometry and the fitted normalisers of a new model on ``panel``.

    ``lookback`` is the parameter (``"auto"`` or an int, resolved on the panel's
    shortest series, see :func:`resolve_lookback`); returns ``(spec, normalisers)``,
    one normaliser per mode of :func:`normalisation_modes`.
    """
    n_points = int(np.diff(panel.offsets).min())
    lookback = resolve_lookback(lookback, n_points, horizon, max_fh, owner=owner, what=what, sp=sp)
    spec = WindowSpec(lookback, horizon, panel.n_targets, panel.n_exog)
    modes = normalisation_modes(scaling, sp, lookback, owner)
    return spec, fit_normalisers(panel, spec, modes, validation_fraction, sp)


def fit_normalisers(panel, spec, modes, validation_fraction, sp=1):
    """One :class:`WindowNormaliser` per mode, from the panel's windows."""
    starts, _ = panel.split(spec, validation_fraction, validation=False)
    stat_starts = panel.stat_starts(spec.lookback)
    return {
        mode: WindowNormaliser.fit(
            mode, panel.values, spec.n_targets, spec, stat_starts, starts, sp, panel.offsets
        )
        for mode in modes
    }


def series_unit(level):
    """The unit of one series' held-out errors for the blend weights, like ``level``.

    The mean of its origins' window levels ``(n_origins, ny)``, the same at every origin:
    one origin whose window is near zero (before a launch, intermittent demand) does not
    outweigh the others, and a panel's series still count alike.
    """
    return np.broadcast_to(level.mean(axis=0), level.shape)


def blend_errors(truth, network, baselines, weights, level):
    """Relative errors ``(n_origins, n_steps, ny)`` of the blend at held-out origins.

    What the intervals measure: the forecast ``predict`` makes. Where a weighted baseline
    had too short a history (early origins), that blend was not made; those origins are
    NaN, unless fewer than two would remain with a first step to score.
    """
    errors = (truth - _baselines.blend(network, baselines, weights)) / level[:, None, :]
    missing = _baselines.missing_weighted(baselines, weights)
    if missing is not None:
        masked = np.where(missing, np.nan, errors)
        if np.isfinite(masked[:, 0, 0]).sum() >= 2:
            errors = masked
    return errors


class ForecastModel:
    """The networks of a forecaster and what they need to forecast.

    Parameters
    ----------
    ensemble : LSTMEnsemble
    normalisers : dict of str to WindowNormaliser
    modes : list of str
        The normalisation of each member of ``ensemble``.
    spec : WindowSpec
    recursive : bool
        One-step network iterated (``spec.horizon == 1``), or one multi-output call.
    sp : int, default=1
        The seasonal period (of the seasonal-naive baseline).
    weights : dict or None, default=None
        Blend weights of the networks and the baselines (see
        :func:`~sklstm._forecast.baselines.blend_weights`); None: the networks alone.
    """

    def __init__(self, ensemble, normalisers, modes, spec, recursive, sp=1, weights=None):
        self.ensemble = ensemble
        self.normalisers = normalisers
        self.modes = list(modes)
        self.spec = spec
        self.recursive = bool(recursive)
        self.sp = int(sp)
        self.weights = weights

    # ---- training ---------------------------------------------------------------

    def train(self, panel, rng, *, start, validation, validation_fraction):
        """Train on the panel's windows; returns the starts of the held-out windows.

        ``start``: False continues the ensemble as it is; True starts it afresh; a list
        of member state dicts starts it from those weights (fine-tuning).
        """
        spec, modes = self.spec, self.modes
        train, valid = panel.split(spec, validation_fraction, validation)
        orders = WindowDataset.member_orders(len(train), len(modes), rng)
        train_ds = WindowDataset(panel, train, spec, self.normalisers, modes, orders)
        valid_ds = None
        if len(valid):
            valid_ds = WindowDataset(panel, valid, spec, self.normalisers, modes)
        if start is not False:
            self.ensemble.start(
                n_channels=spec.n_channels, n_outputs=spec.n_outputs, n_train=len(train)
            )
            if start is not True:
                self.ensemble.initialise_from(start)
        self.ensemble.fit_windows(train_ds, valid_ds, warm=start is not True)
        return valid

    def continue_training(self, panel, rng, epochs: int, validation_fraction):
        """Continue every network on all windows (the newest too) for ``epochs`` epochs."""
        starts, _ = panel.split(self.spec, validation_fraction, validation=False)
        orders = WindowDataset.member_orders(len(starts), len(self.modes), rng)
        dataset = WindowDataset(panel, starts, self.spec, self.normalisers, self.modes, orders)
        self.ensemble.fit_windows(dataset, None, epochs=epochs, warm=True)

    def continuation_epochs(self) -> int:
        """Epochs of the continuation on all windows: a tenth of the best epochs (>= 1)."""
        return max(1, math.ceil(CONTINUE_FRACTION * int(self.ensemble.best_epochs_.max())))

    def calibrate(self, Y, Xa, valid, n_steps, *, blend: bool):
        """Blend weights and interval scale from the held-out origins (``valid`` starts).

        The safety net: the networks lean on the best baseline as far as it beat them
        on the held-out tail (never measured on windows they trained on); the
        intervals are measured on the blended errors. Sets ``self.weights``; returns
        ``(held_out, residual_scale, n_origins)``, ``held_out`` the
        ``(truth, network, baselines, level)`` of :meth:`held_out`'s origins (the
        baselines forecast from its histories). Without held-out
        windows the origins are in-sample and the networks stand alone.
        """
        first = int(valid[0]) if len(valid) else 0
        truth, network, histories, level = self.held_out(Y, Xa, first, n_steps)
        base = _baselines.history_forecasts(histories, network.shape[1], self.sp)
        weights = _baselines.networks_alone()
        if blend and len(valid):
            weights = _baselines.blend_weights(truth, network, base, series_unit(level))
        self.weights = weights
        errors = blend_errors(truth, network, base, weights, level)
        scale, n_origins = intervals.residual_scale(errors)
        return (truth, network, base, level), scale, n_origins

    def calibrate_panel(self, panel, valid, n_steps: int, *, blend: bool) -> dict:
        """Blend weights from the held-out origins of every series of a panel, pooled.

        As :meth:`calibrate` (``valid``: the held-out window starts of
        :meth:`SeriesPanel.split`), with every series' origins scored together (at most
        ``MAX_ORIGINS // n_series`` newest ones per series, at least one). Sets and
        returns ``self.weights``.
        """
        weights = _baselines.networks_alone()
        cap = max(1, MAX_ORIGINS // (len(panel.offsets) - 1))
        ny, parts = self.spec.n_targets, []
        for a, b in panel.bounds() if blend else []:
            mine = valid[(valid >= a) & (valid < b)]
            if len(mine):
                Y, X = panel.values[a:b, :ny], panel.values[a:b, ny:] if panel.n_exog else None
                parts.append(self.held_out(Y, X, int(mine[0]) - a, n_steps, max_origins=cap))
        if parts:
            truth, network = (np.concatenate([p[i] for p in parts]) for i in (0, 1))
            level = np.concatenate([series_unit(p[3]) for p in parts])
            # every series' histories at once: one call per history length, not per series
            histories = [h for p in parts for h in p[2]]
            base = _baselines.history_forecasts(histories, network.shape[1], self.sp)
            weights = _baselines.blend_weights(truth, network, base, level)
        self.weights = weights
        return weights

    # ---- forecasting --------------------------------------------------------------

    def forecast_history(self, Y, Xa, future_X, n_steps: int):
        """Forecasts ``(n_steps, ny)`` after the end of one series, and its window level.

        ``Y`` / ``Xa``: the series' history ``(n, ny)`` / ``(n, nx)`` or None;
        ``future_X``: the exogenous rows after it (None without X).
        """
        lookback = self.spec.lookback
        past, future = Y[-lookback:], None
        if Xa is not None:
            past = np.concatenate([past, Xa[-lookback:]], axis=1)
            future = future_X[None]
        path = self.forecast(past[None], future, n_steps, [Y[-self.context :]])
        return path[0], self.level(past[None, :, : Y.shape[1]])[0]

    def network_forecast(self, past, future):
        """The ensemble's forecast ``(m, horizon, ny)`` of raw windows, in y's units."""
        return ensemble_forecast(self.ensemble, self.normalisers, self.modes, past, future)

    @property
    def context(self) -> int:
        """The most rows of history before an origin that the baselines read."""
        return _baselines.context_length(self.sp, self.spec.lookback)

    def forecast(self, past, future, n_steps: int, histories):
        """Forecasts ``(m, n_steps, ny)`` from raw windows: the networks, blended.

        ``histories``: the target rows before each window's origin (``m`` arrays
        ``(n_i, ny)``, at most :attr:`context` rows each), which the baselines read.
        """
        network = self.network_path(past, future, n_steps)
        if self.weights is None or self.weights["network"] == 1.0:
            return network
        used = [name for name in _baselines.NAMES if self.weights.get(name, 0.0) > 0]
        names = dict.fromkeys([*used, "naive"])  # naive stands in where one is missing
        baselines = _baselines.history_forecasts(histories, n_steps, self.sp, names=names)
        return _baselines.blend(network, baselines, self.weights)

    def network_path(self, past, future, n_steps: int):
        """The networks' forecasts ``(m, n_steps, ny)`` from raw windows (:func:`rollout`)."""
        return rollout(
            self.network_forecast,
            past,
            future,
            n_steps,
            horizon=self.spec.horizon,
            recursive=self.recursive,
        )

    def forecast_last(self, frame, steps, owner: str):
        """Forecasts of ``steps`` (1-based) after the end of every series of a panel.

        ``frame``: a long (instance, time) frame of the targets. Returns ``(keys,
        cutoffs, values)``: each series' instance key (a tuple) and last time point, and
        ``values`` ``(n_series, len(steps), ny)``; the networks run once on all the last
        windows (recursively: once per step).
        """
        spec = self.spec
        if spec.future:
            raise ValueError(
                "forecast_panel does not take exogenous X yet; the network was pretrained "
                "with X: use fit / predict per series."
            )
        if not self.recursive and steps.max() > spec.horizon:
            raise ValueError(
                f"{owner} was pretrained for {spec.horizon} step(s) ahead; fh reaches "
                f"{steps.max()}."
            )
        keys, cutoffs, windows, histories = last_windows(frame, spec.lookback, self.context)
        values = self.forecast(windows, None, int(steps.max()), histories)
        return keys, cutoffs, values[:, steps - 1]

    def level(self, past_y):
        """The window levels ``(m, ny)`` that interval widths are measured in."""
        return self.normalisers[self.modes[0]].norms(past_y)[1]

    def held_out(self, Y, Xa, first: int, n_steps: int | None, max_origins: int = MAX_ORIGINS):
        """Forecasts from origins ``first ..``: truth, networks, histories, levels.

        Returns ``(truth, network, histories, level)``: arrays ``(n_origins, n_steps,
        ny)`` (truth NaN past the data), each origin's history (up to :attr:`context`
        rows before it, a list of views: what the baselines read, see
        :func:`~sklstm._forecast.baselines.history_forecasts`), and the window levels
        ``(n_origins, ny)``.

        The origins are window starts from ``first`` on (the newest ``max_origins``);
        an origin near the end has NaN for the steps with no truth. Without exogenous
        data (or recursively), origins closer to the end than the horizon also count.
        ``n_steps`` None: the horizon (recursive: up to ``lookback`` steps).
        """
        spec = self.spec
        n_origins = len(Y) - spec.lookback  # every start with at least one step to score
        if spec.future and not self.recursive:
            n_origins = len(Y) - spec.span + 1  # the network reads X over the whole horizon
        if n_steps is None:
            n_steps = max(1, min(spec.lookback, n_origins - first)) if self.recursive else None
            n_steps = n_steps or spec.horizon
        starts = np.arange(max(first, n_origins - max_origins), n_origins)
        values = Y if Xa is None else np.concatenate([Y, Xa], axis=1)
        past = values[starts[:, None] + np.arange(spec.lookback)]
        future = None
        if Xa is not None:  # steps past the end of the data are never scored
            padded = np.concatenate([Xa, np.repeat(Xa[-1:], n_steps + spec.horizon, axis=0)])
            future = padded[
                starts[:, None] + spec.lookback + np.arange(max(n_steps, spec.horizon))
            ]
        network = self.network_path(past, future, n_steps)
        past_y = past[:, :, : spec.n_targets]
        level = self.level(past_y)
        padded_y = np.concatenate([Y, np.full((n_steps, Y.shape[1]), np.nan)])
        truth = padded_y[starts[:, None] + spec.lookback + np.arange(n_steps)]
        histories = _baselines.origin_histories(Y, starts + spec.lookback, self.context)
        return truth, network, histories, level

"""A forecast model: the ensemble, its normalisers and window geometry, trained and used.

(Private.) :class:`ForecastModel` ties the pieces of :mod:`sklstm._forecast` together:
it trains the ensemble on a panel's windows (held-out tail, per-member early stopping,
then a short continuation on every window), forecasts from raw windows with the one
rollout, and measures the errors of forecasts from held-out origins for the intervals.
"""

from __future__ import annotations

import numpy as np

from sklstm._forecast import baselines as _baselines
from sklstm._forecast.ensemble import ensemble_forecast
from sklstm._forecast.normalise import WindowNormaliser
from sklstm._forecast.rollout import rollout
from sklstm._forecast.windows import WindowDataset

# Held-out origins whose errors set the interval widths: the newest ones, at most this many.
MAX_ORIGINS = 2000


def fit_normalisers(panel, spec, modes, validation_fraction, sp=1):
    """One :class:`WindowNormaliser` per mode, from the panel's windows."""
    starts, _ = panel.split(spec, validation_fraction, validation=False)
    stat_starts = panel.stat_starts(spec.lookback)
    return {
        mode: WindowNormaliser.fit(
            mode, panel.values, spec.n_targets, spec, stat_starts, starts, sp=sp
        )
        for mode in modes
    }


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

    # ---- forecasting --------------------------------------------------------------

    def network_forecast(self, past, future):
        """The ensemble's forecast ``(m, horizon, ny)`` of raw windows, in y's units."""
        return ensemble_forecast(self.ensemble, self.normalisers, self.modes, past, future)

    def forecast(self, past, future, n_steps: int):
        """Forecasts ``(m, n_steps, ny)`` from raw windows: the networks, blended."""
        network = self.network_path(past, future, n_steps)
        if self.weights is None or self.weights["network"] == 1.0:
            return network
        past_y = past[:, :, : self.spec.n_targets]
        baselines = _baselines.baseline_forecasts(past_y, n_steps, self.sp)
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

    def level(self, past_y):
        """The window levels ``(m, ny)`` that interval widths are measured in."""
        return self.normalisers[self.modes[0]].norms(past_y)[1]

    def held_out(self, Y, Xa, first: int, n_steps: int | None):
        """Forecasts from origins ``first ..``: truth, networks, baselines, levels.

        Returns ``(truth, network, baselines, level)``: arrays ``(n_origins, n_steps,
        ny)`` (truth NaN past the data), a dict of baseline forecasts of that shape,
        and the window levels ``(n_origins, ny)``.

        The origins are window starts from ``first`` on (the newest :data:`MAX_ORIGINS`);
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
        starts = np.arange(max(first, n_origins - MAX_ORIGINS), n_origins)
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
        return truth, network, _baselines.baseline_forecasts(past_y, n_steps, self.sp), level

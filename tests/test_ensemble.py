"""The batched ensemble: members train as if apart, stop on their own, keep their best epoch."""

import numpy as np
import torch

from sklstm._forecast.ensemble import LSTMEnsemble
from sklstm._forecast.model import fit_normalisers
from sklstm._forecast.spec import WindowSpec
from sklstm._forecast.windows import SeriesPanel, WindowDataset


def _data(n=120, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    Y = (10 + np.sin(2 * np.pi * t / 12) + 0.3 * rng.normal(size=n))[:, None]
    panel = SeriesPanel.from_arrays([(Y, None)])
    spec = WindowSpec(12, 3, 1)
    modes = ["mean", "mean", "last"]
    norms = fit_normalisers(panel, spec, ["mean", "last"], 0.2)
    train, valid = panel.split(spec, 0.2, validation=True)
    orders = WindowDataset.member_orders(len(train), 3, np.random.RandomState(0))
    return (
        WindowDataset(panel, train, spec, norms, modes, orders),
        WindowDataset(panel, valid, spec, norms, modes),
        spec,
    )


def _ensemble(**params):
    return LSTMEnsemble(n_members=3, hidden_size=4, random_state=0, device="cpu", **params)


def test_each_member_keeps_the_weights_of_its_best_held_out_epoch():
    train, valid, spec = _data()
    ens = _ensemble(max_iter=25, n_iter_no_change=4, learning_rate_init=0.05)
    ens.start(n_channels=spec.n_channels, n_outputs=spec.n_outputs, n_train=len(train))
    ens.fit_windows(train, valid)
    X, y = valid.batch(torch.arange(len(valid)))
    out = ens.predict(X.numpy())  # (m, members, outputs)
    per_member = ((out - y.numpy().reshape(len(y), 3, -1)) ** 2).mean(axis=(0, 2))
    curves = ens.member_curves()
    for m, (_, held_out) in enumerate(curves):
        scored = np.array(held_out)[~np.isnan(held_out)]
        best = int(np.argmin(scored))
        assert ens.best_epochs_[m] == best + 1
        # the restored weights score exactly the best epoch's held-out loss
        np.testing.assert_allclose(per_member[m], scored[best], rtol=1e-4)
    # members stop on their own: not all run the same number of epochs
    lengths = [int(np.sum(~np.isnan(c[1]))) for c in curves]
    assert lengths == [min(b + 4, 25) for b in ens.best_epochs_]


def test_members_learn_as_if_trained_apart():
    """A member's training does not depend on the others: same seed and data, same weights."""
    train, valid, spec = _data()
    ens = _ensemble(max_iter=3, n_iter_no_change=None)
    ens.start(n_channels=spec.n_channels, n_outputs=spec.n_outputs, n_train=len(train))
    ens.net_.initialize()
    before = [ens.member_state(m) for m in range(3)]
    ens.initialise_from(before)
    ens.fit_windows(train, None, warm=True)
    # The same member trained alone (the others frozen by zeroing their learning signal)
    # ends equal: its loss term is its own, and Adam is elementwise.
    alone = _ensemble(max_iter=3, n_iter_no_change=None)
    alone.start(n_channels=spec.n_channels, n_outputs=spec.n_outputs, n_train=len(train))
    alone.initialise_from(before)
    module = alone.net_.module_
    for m in (1, 2):
        for p in module.members[m].parameters():
            p.register_hook(lambda g: torch.zeros_like(g))
    alone.fit_windows(train, None, warm=True)
    for key, value in ens.member_state(0).items():
        np.testing.assert_allclose(value.numpy(), alone.member_state(0)[key].numpy(), atol=1e-6)
    assert not np.allclose(
        ens.member_state(1)["lstm.weight_hh_l0"].numpy(), before[1]["lstm.weight_hh_l0"].numpy()
    )


def test_forecast_per_member_averages_to_the_ensemble_forecast(monkeypatch):
    import pandas as pd

    import sklstm._forecast.ensemble as ens_module
    from sklstm import LSTMForecaster

    t = np.arange(80)
    series = 10 + np.sin(2 * np.pi * t / 12) + 0.3 * np.random.RandomState(0).normal(size=80)
    f = LSTMForecaster(lookback=6, hidden_size=4, max_iter=2, n_models=2, random_state=0)
    f.fit(pd.Series(series), fh=[1, 2])
    model = f._fitted_model
    past = np.stack([series[i : i + 6, None] for i in range(20)])
    args = (model.ensemble, model.normalisers, model.modes, past)
    each = ens_module.ensemble_forecast(*args, members=True)
    assert each.shape == (len(model.modes), 20, 2, 1)
    np.testing.assert_allclose(each.mean(axis=0), ens_module.ensemble_forecast(*args))
    # members differ (two normalisations, two seeds), and the chunked path stacks them alike
    assert np.abs(each[0] - each[-1]).max() > 0
    monkeypatch.setattr(ens_module, "_PREDICT_CHUNK", 7)
    np.testing.assert_allclose(ens_module.ensemble_forecast(*args, members=True), each)

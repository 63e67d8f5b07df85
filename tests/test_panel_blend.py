"""forecast_panel's safety net: blend weights scored on the whole panel's held-out origins."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime")

from sklstm import LSTMForecaster  # noqa: E402
from sklstm._forecast.baselines import baseline_forecasts, context_length  # noqa: E402

TINY = {"hidden_size": 4, "max_iter": 2, "n_models": 1, "lookback": 12, "random_state": 0}


def _random_walks(n_series=5, n=90, seed=0):
    rng = np.random.RandomState(seed)
    frames = []
    for i in range(n_series):
        index = pd.MultiIndex.from_product(
            [[f"s{i}"], pd.period_range("2000-01", periods=n, freq="M")],
            names=["instance", "time"],
        )
        values = 100 + 10 * i + rng.normal(size=n).cumsum()
        frames.append(pd.DataFrame({"y": values}, index=index))
    return pd.concat(frames)


def test_forecast_panel_blends_the_networks_with_the_best_baseline():
    panel = _random_walks()
    fh = [1, 2, 3]
    blended = LSTMForecaster(**TINY).pretrain(panel, fh=fh)
    alone = LSTMForecaster(**TINY, blend_baselines=False).pretrain(panel, fh=fh)
    w = blended.pretrain_baseline_weights_
    assert alone.pretrain_baseline_weights_["network"] == 1.0
    assert sum(w.values()) == pytest.approx(1.0)
    # two epochs of a tiny network on random walks: a baseline beats it on the held-out tail
    assert w["network"] < 0.9, w
    best = max((k for k in w if k != "network"), key=w.get)
    network = alone.forecast_panel(panel, fh=fh)
    got = blended.forecast_panel(panel, fh=fh)
    # the baselines read each series' history (all 90 points), not only the window
    sp = blended.pretrain_sp_
    C = context_length(sp, blended.pretrain_lookback_)
    histories = np.stack([g.to_numpy()[-C:] for _, g in panel.groupby(level=0)])
    assert histories.shape[1] == 90
    base = baseline_forecasts(histories, 3, sp)[best].reshape(-1, 1)
    expected = w["network"] * network.to_numpy() + w[best] * base
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-6)
    for name in ("drift", "theta"):  # and a forecast from the window alone differs
        windows = histories[:, -blended.pretrain_lookback_ :]
        assert not np.allclose(
            baseline_forecasts(windows, 3, sp)[name], baseline_forecasts(histories, 3, sp)[name]
        )
    # pretraining on more series re-scores the blend with the networks as they are now
    blended.pretrain(_random_walks(seed=1), fh=fh)
    assert blended.pretrain_baseline_weights_ != w

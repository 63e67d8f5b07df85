"""Global models over panels: windows streamed by index, one batched forecast."""

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime", reason="LSTMForecaster needs sktime (pip install sklstm[sktime])")

from sklstm import LSTMForecaster  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:The default of config ``remember_data``:FutureWarning"
)


def _panel(n_series, n_points, seed=0, exog=False):
    rng = np.random.RandomState(seed)
    t = np.arange(n_points)
    shape = np.sin(2 * np.pi * t / 24)[None]
    values = 10 + (1 + rng.rand(n_series, 1)) * shape + 0.1 * rng.randn(n_series, n_points)
    values *= 1 + np.arange(n_series)[:, None] % 5
    index = pd.MultiIndex.from_product(
        [[f"s{i}" for i in range(n_series)], pd.RangeIndex(n_points)], names=["instance", "time"]
    )
    y = pd.DataFrame({"y": values.ravel()}, index=index)
    X = None
    if exog:
        X = pd.DataFrame({"x": np.tile(np.cos(t / 3.0), n_series)}, index=index)
    return y, X


@pytest.mark.parametrize(
    "params, exog",
    [
        ({"strategy": "direct", "window_scaling": "mean"}, False),
        ({"strategy": "direct", "window_scaling": "last"}, False),
        ({"strategy": "direct", "window_scaling": "last"}, True),
        ({"strategy": "recursive", "window_scaling": False}, True),
        ({"strategy": "direct", "early_stopping": False, "window_scaling": "mean"}, False),
    ],
)
def test_streamed_windows_equal_the_materialised_ones(params, exog):
    """Batch by batch, the panel dataset gives exactly the windows _training_set builds."""
    y, X = _panel(5, 40, exog=exog)
    f = LSTMForecaster(lookback=6, max_iter=1, hidden_size=3, n_models=1, **params)
    horizon = 1 if params["strategy"] == "recursive" else 3
    series = f._panel_series(y, X)
    values, offsets = f._panel_values(series)
    (mode,) = f._modes()
    stats_ = f._fit_stats(series, 6, mode)
    streamed_stats = f._panel_stats(values, offsets, 1, 6, mode)
    assert streamed_stats.pop("mode") == stats_.pop("mode") == mode
    for key, value in stats_.items():
        np.testing.assert_allclose(streamed_stats[key], value, rtol=1e-12, err_msg=key)
    stats_["mode"] = mode
    X_train, y_train, w, n_valid = f._training_set(series, 6, horizon, stats_)
    dataset = f._panel_windows(values, offsets, 6, horizon, stats_)
    rows = np.arange(len(dataset))
    assert dataset.n_valid == n_valid and len(dataset) == len(X_train)
    np.testing.assert_array_equal(dataset.features(rows), X_train)
    np.testing.assert_array_equal(dataset.targets(rows), y_train)
    np.testing.assert_array_equal(dataset.weights, w)
    # subset (the validation split) shares the values and slices the starts.
    first = len(dataset) - n_valid
    tail = dataset.subset(slice(first, None))
    assert tail.values is dataset.values
    np.testing.assert_array_equal(tail.features(np.arange(n_valid)), X_train[first:])


def test_pretrain_memory_grows_with_points_not_points_times_lookback():
    """200 series x 500 points, lookback 64: the windows would take 24 MiB in float32."""
    y, _ = _panel(200, 500)
    lookback = 64
    params = {"lookback": lookback, "hidden_size": 4, "max_iter": 1, "n_models": 1}
    params.update(batch_size=1024, early_stopping=False, random_state=0, device="cpu")
    # First call loads sktime's and skorch's lazy modules, which are not the data.
    LSTMForecaster(**params).pretrain(_panel(3, 200)[0], fh=[1, 2, 3])
    f = LSTMForecaster(**params)
    tracemalloc.start()
    try:
        f.pretrain(y, fh=[1, 2, 3])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    n_points = 200 * 500
    materialised = n_points * lookback * 4
    data = y.memory_usage(deep=True).sum()
    assert peak < materialised / 2, (peak / 2**20, materialised / 2**20, data / 2**20)
    assert f.pretrained_regressor_.n_iter_ == 1
    assert np.isfinite(f.pretrained_regressor_.loss_curve_).all()


@pytest.mark.parametrize(
    "strategy, window_scaling", [("direct", "both"), ("recursive", "both"), ("direct", "last")]
)
def test_forecast_panel_is_one_batched_forward(strategy, window_scaling, monkeypatch):
    y, _ = _panel(6, 60)
    f = LSTMForecaster(
        lookback=8,
        hidden_size=4,
        max_iter=3,
        n_models=1,
        strategy=strategy,
        window_scaling=window_scaling,
        random_state=0,
    ).pretrain(y, fh=[1, 2, 3])
    reg = f.pretrained_regressor_
    calls = []
    original = type(reg).predict
    monkeypatch.setattr(
        type(reg), "predict", lambda self, X: calls.append(len(X)) or original(self, X)
    )
    pred = f.forecast_panel(y, fh=[1, 2, 3])
    n_steps = 1 if strategy == "direct" else 3
    n_networks = len(f.pretrained_regressors_)  # one global network per normalisation
    assert n_networks == (2 if window_scaling == "both" else 1)
    assert calls == [6] * n_steps * n_networks  # every series in each network call
    assert pred.shape == (6 * 3, 1) and list(pred.columns) == ["y"]
    assert pred.index.names == ["instance", "time"]
    assert list(pred.loc["s2"].index) == [60, 61, 62]
    # The same numbers as the global network's forecast of each series on its own.
    calls.clear()
    for key in ["s0", "s5"]:
        alone = f.forecast_panel(y.loc[[key]], fh=[1, 2, 3])
        np.testing.assert_allclose(alone.to_numpy(), pred.loc[[key]].to_numpy(), rtol=1e-6)
    assert pred.loc["s4"].to_numpy().mean() > pred.loc["s0"].to_numpy().mean()


def test_forecast_panel_needs_pretrain_and_fitting_after_pretrain_still_works():
    y, _ = _panel(4, 50)
    with pytest.raises(ValueError, match="needs pretrain"):
        LSTMForecaster().forecast_panel(y)
    f = LSTMForecaster(lookback=6, hidden_size=4, max_iter=2, n_models=1, random_state=0)
    f.pretrain(y, fh=[1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        fitted = f.clone().fit(y.loc["s1"]["y"], fh=[1, 2])
    assert fitted.predict().shape == (2,)
    with pytest.raises(ValueError, match="pretrained for 2"):
        f.forecast_panel(y, fh=[1, 2, 3])

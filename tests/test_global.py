"""Global models over panels: windows streamed by index, one batched forecast."""

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime", reason="LSTMForecaster needs sktime (pip install sklstm[sktime])")

import torch  # noqa: E402

from sklstm import LSTMForecaster, make_windows  # noqa: E402
from sklstm._forecast import normalise as _normalise  # noqa: E402
from sklstm._forecast.ensemble import LSTMEnsemble  # noqa: E402
from sklstm._forecast.normalise import WindowNormaliser  # noqa: E402
from sklstm._forecast.spec import WindowSpec  # noqa: E402
from sklstm._forecast.windows import SeriesPanel, WindowDataset, panel_arrays  # noqa: E402
from tests._memory import peak_rss_growth  # noqa: E402


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
    "horizon, mode, exog, validation",
    [
        (3, "mean", False, True),
        (3, "last", False, True),
        (3, "last", True, True),
        (1, "none", True, True),
        (3, "mean", False, False),
    ],
)
def test_streamed_windows_equal_the_materialised_ones(horizon, mode, exog, validation):
    """Batch by batch, the dataset gives exactly the windows make_windows cuts, normalised."""
    y, X = _panel(5, 40, exog=exog)
    series = panel_arrays(y, X)
    panel = SeriesPanel.from_arrays(series)
    spec = WindowSpec(6, horizon, 1, 1 if exog else 0)
    train, valid = panel.split(spec, 0.2, validation)
    starts = np.concatenate([train, valid])
    norm = WindowNormaliser.fit(mode, panel.values, 1, spec, panel.stat_starts(6), train)
    dataset = WindowDataset(panel, starts, spec, {mode: norm}, [mode])
    X_batch, y_batch = dataset.batch(torch.arange(len(starts)))
    # The same windows, materialised series by series with make_windows.
    expected_X, expected_y = [], []
    for (Y, Xa), (a, _) in zip(series, panel.bounds(), strict=True):
        past, ahead = make_windows(Y, Xa, lookback=6, horizon=horizon)
        past, ahead = np.asarray(past), np.asarray(ahead).reshape(len(past), horizon, 1)
        future = None
        if exog:
            _, future = make_windows(Xa[5:], lookback=1, horizon=horizon)
            future = np.asarray(future).reshape(len(past), horizon, 1)
        mine = np.isin(a + np.arange(len(past)), starts)
        order = np.argsort(a + np.flatnonzero(mine))
        past, ahead = past[mine][order], ahead[mine][order]
        future = None if future is None else future[mine][order]
        shift, level = norm.norms(past[:, :, :1])
        expected_X.append(norm.encode_inputs(past, future, shift, level))
        expected_y.append(
            norm.encode_targets(ahead, norm.target_shift(past[:, :, :1], shift, horizon), level)
        )
    order = np.argsort(np.concatenate([train, valid]))
    np.testing.assert_allclose(
        X_batch.numpy()[order], np.concatenate(expected_X), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        y_batch.numpy()[order], np.concatenate(expected_y), rtol=1e-6, atol=1e-6
    )
    # No held-out target is a training target: the purged windows are left out.
    for a, b in panel.bounds():
        mine_valid = valid[(valid >= a) & (valid < b)]
        mine_train = train[(train >= a) & (train < b)]
        if validation and len(mine_valid):
            assert mine_train.max() + spec.span - 1 < mine_valid.min() + spec.lookback
    # subset (a slice of the windows) shares the values and slices the starts.
    tail = dataset.subset(slice(len(train), None))
    assert tail.panel.values is dataset.panel.values
    np.testing.assert_array_equal(tail.starts, valid)


def test_members_read_their_own_normalisation_and_order():
    y, _ = _panel(3, 40)
    panel = SeriesPanel.from_arrays(panel_arrays(y, None))
    spec = WindowSpec(6, 2, 1)
    starts, _ = panel.split(spec, 0.2, validation=False)
    norms = {
        mode: WindowNormaliser.fit(mode, panel.values, 1, spec, panel.stat_starts(6), starts)
        for mode in ["mean", "last"]
    }
    modes = ["mean", "mean", "last"]
    orders = WindowDataset.member_orders(len(starts), 3, np.random.RandomState(0))
    dataset = WindowDataset(panel, starts, spec, norms, modes, orders)
    index = torch.arange(len(starts))
    X, Y = dataset.batch(index)
    assert X.shape == (len(starts), 6, 3) and Y.shape == (len(starts), 3 * 2)
    seen = []
    for m, mode in enumerate(modes):
        a, b = orders[m]
        rows = (a * index.numpy() + b) % len(starts)
        seen.append(rows)
        X_m, y_m = dataset.member_arrays(rows, mode)
        np.testing.assert_array_equal(X[:, :, m : m + 1].numpy(), X_m)
        np.testing.assert_array_equal(Y[:, 2 * m : 2 * m + 2].numpy(), y_m)
    # Every member sees every window once per epoch, in its own order.
    for rows in seen:
        np.testing.assert_array_equal(np.sort(rows), np.arange(len(starts)))
    assert not np.array_equal(seen[0], seen[1])


def _traced_peak(fn):
    """``(result, peak)``: what ``fn()`` returns and the peak of numpy's traced memory (bytes)."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_window_dataset_holds_one_int32_start_per_window():
    """Shifts and levels are computed batch by batch: nothing else is stored per window."""
    n, lookback = 300_000, 16
    Y = 10 + np.random.RandomState(0).normal(size=(n, 1))
    panel = SeriesPanel.from_arrays([(Y, None)])
    assert np.shares_memory(panel.values, Y)  # one float64 series: no second copy
    spec = WindowSpec(lookback, 2, 1)
    train, valid = panel.split(spec, 0.2, validation=True)
    assert train.dtype == valid.dtype == panel.stat_starts(lookback).dtype == np.int32
    norms = {
        mode: WindowNormaliser.fit(mode, panel.values, 1, spec, train[:1000], train[:1000])
        for mode in ["mean", "last"]
    }
    dataset, peak = _traced_peak(
        lambda: WindowDataset(panel, train, spec, norms, ["mean", "last"]).subset(slice(None))
    )
    # The old dataset kept a float64 level per window and mode, and a shift for "last".
    assert peak < 0.5 * len(train) * 8, (peak, len(train))
    assert dataset.starts.dtype == np.int32 and len(dataset) == len(train)
    # The batch's shifts and levels are those of its windows.
    rows = np.array([0, 7, len(train) - 1])
    for mode in ["mean", "last"]:
        X, _ = dataset.member_arrays(rows, mode)
        past = Y[train[rows, None] + np.arange(lookback)]
        np.testing.assert_allclose(
            X, norms[mode].encode_inputs(past, None, *norms[mode].norms(past))
        )


def test_the_level_floor_of_a_panel_is_a_tenth_of_its_smallest_series():
    """A series 1000x smaller than the others is not floored (the floor was pooled)."""
    rng = np.random.RandomState(0)
    big = 1000 + rng.rand(60, 1)
    small = np.r_[np.zeros(20), 1 + rng.rand(40)][:, None]  # zeros do not count
    panel = SeriesPanel.from_arrays([(big, None), (small, None), (big * 2, None)])
    spec = WindowSpec(6, 2, 1, 0)
    starts, _ = panel.split(spec, 0.2, validation=False)
    norm = WindowNormaliser.fit(
        "mean", panel.values, 1, spec, panel.stat_starts(6), starts, offsets=panel.offsets
    )
    np.testing.assert_allclose(norm.level_floor, _normalise.LEVEL_FLOOR * small[20:].mean())
    model = LSTMForecaster(lookback=6, hidden_size=2, max_iter=1, n_models=1, random_state=0)
    series = zip("abc", [big, small, 2 * big], strict=True)
    frames = {k: pd.DataFrame({"y": v[:, 0]}) for k, v in series}
    pretrained = model.pretrain(pd.concat(frames, names=["id", "t"]), fh=[1, 2])
    floors = [n.level_floor for n in pretrained.pretrain_normalisers_.values()]
    np.testing.assert_allclose(floors, _normalise.LEVEL_FLOOR * small[20:].mean())


@pytest.mark.parametrize("mode", ["mean", "last", "season", "none"])
def test_normaliser_statistics_equal_the_materialised_windows(mode, monkeypatch):
    """Accumulated over many chunks, the statistics are numpy's over all the windows at once."""
    monkeypatch.setattr(_normalise, "_CHUNK_VALUES", 64)  # dozens of chunks, uneven ones
    rng = np.random.RandomState(1)
    n, ny, lookback, horizon = 500, 2, 12, 3
    Y = 100 + rng.normal(size=(n, ny)).cumsum(axis=0) * [1, 30]
    Xa = rng.normal(size=(n, 1)) * 5 - 2
    panel = SeriesPanel.from_arrays([(Y[:200], Xa[:200]), (Y[200:], Xa[200:])])
    spec = WindowSpec(lookback, horizon, ny, 1)
    starts, _ = panel.split(spec, 0.2, validation=False)
    stat_starts = panel.stat_starts(lookback)
    norm = WindowNormaliser.fit(mode, panel.values, ny, spec, stat_starts, starts, sp=4)
    values = panel.values
    np.testing.assert_allclose(norm.x_loc, values[:, ny:].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(norm.x_scale, values[:, ny:].std(axis=0), rtol=1e-12)
    target = values[:, :ny]
    nonzero_mean = np.abs(target).sum(axis=0) / (target != 0).sum(axis=0)
    np.testing.assert_allclose(norm.level_floor, _normalise.LEVEL_FLOOR * nonzero_mean)
    windows = values[stat_starts[:, None] + np.arange(lookback), :ny]
    shift, level = norm.norms(windows)
    if mode == "none":
        scaled = values[:, :ny]
    else:
        scaled = (windows - (0 if shift is None else shift[:, None])) / level[:, None]
        scaled = scaled.reshape(-1, ny)
    np.testing.assert_allclose(norm.y_loc, scaled.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(norm.y_scale, scaled.std(axis=0), rtol=1e-10)
    past = values[starts[:, None] + np.arange(lookback), :ny]
    ahead = values[starts[:, None] + lookback + np.arange(horizon), :ny]
    shift, level = norm.norms(past)
    raw = norm._scale_y(ahead, norm.target_shift(past, shift, horizon), level)
    raw = raw.reshape(len(starts), -1)
    np.testing.assert_allclose(norm.t_loc, raw.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(norm.t_scale, raw.std(axis=0), rtol=1e-10)


@pytest.mark.parametrize("mode", ["mean", "last", "none"])
def test_normaliser_fit_holds_no_full_length_temporary(mode, monkeypatch):
    """Statistics a chunk at a time: the fit's peak is a few chunks, not the series' size."""
    monkeypatch.setattr(_normalise, "_CHUNK_VALUES", 2**10)  # 8 KiB per chunk array
    n, lookback = 100_000, 8
    rng = np.random.RandomState(0)
    panel = SeriesPanel.from_arrays([(rng.normal(size=(n, 1)), rng.normal(size=(n, 1)))])
    spec = WindowSpec(lookback, 2, 1, 1)
    starts, _ = panel.split(spec, 0.2, validation=False)
    stat_starts = panel.stat_starts(lookback)
    _, peak = _traced_peak(
        lambda: WindowNormaliser.fit(mode, panel.values, 1, spec, stat_starts, starts)
    )
    # One full-length float64 column would be 800 KB; a chunk's arrays are 8 KiB each.
    assert peak < 0.25 * n * 8, peak


def test_a_panel_with_exogenous_columns_is_copied_once():
    rng = np.random.RandomState(0)
    Y, Xa = rng.normal(size=(200_000, 1)), rng.normal(size=(200_000, 2))
    panel, peak = _traced_peak(lambda: SeriesPanel.from_arrays([(Y, Xa)]))
    np.testing.assert_array_equal(panel.values, np.concatenate([Y, Xa], axis=1))
    assert peak < 1.1 * panel.values.nbytes, (peak, panel.values.nbytes)


def test_validation_batches_are_no_larger_than_training_batches(monkeypatch):
    """The held-out windows are gathered batch_size at a time, as the training ones are."""
    sizes = []
    original = WindowDataset.batch
    monkeypatch.setattr(
        WindowDataset,
        "batch",
        lambda self, index: sizes.append(len(index)) or original(self, index),
    )
    y = pd.Series(np.sin(np.arange(300) / 3.0))
    LSTMForecaster(lookback=8, hidden_size=2, max_iter=1, n_models=1, batch_size=16).fit(y, fh=[1])
    # One epoch of about 230 training and 58 held-out windows, then one on all of them.
    assert len(sizes) > 300 // 16 and max(sizes) == 16, sizes


def test_pretrain_memory_grows_with_points_not_points_times_lookback():
    """50 series x 2,000 points, lookback 256: the windows would take 85 MiB in float32."""
    usage = peak_rss_growth(
        setup=(
            "import warnings; warnings.simplefilter('ignore')\n"
            "import numpy as np, pandas as pd\n"
            "from sklstm import LSTMForecaster\n"
            "rng = np.random.RandomState(0)\n"
            "values = 10 + np.sin(np.arange(2000) / 4)[None] + 0.1 * rng.randn(50, 2000)\n"
            "index = pd.MultiIndex.from_product([range(50), range(2000)])\n"
            "y = pd.DataFrame({'y': values.ravel()}, index=index)\n"
            "params = dict(lookback=256, hidden_size=2, max_iter=1, n_models=1, "
            "batch_size=256, early_stopping=False, random_state=0, device='cpu')\n"
            "LSTMForecaster(**params).pretrain(y.loc[[0, 1]], fh=[1, 2, 3])  # warm-up\n"
            "f = LSTMForecaster(**params)"
        ),
        run="f.pretrain(y, fh=[1, 2, 3])",
    )
    materialised = 50 * (2000 - 256 - 2) * 256 * 4
    # The data's copies, one int32 start per window (shifts and levels are computed per
    # batch), one batch's activations and torch's first-use buffers (about 19 MiB here in
    # all); a single materialised copy of the windows would be 85 MiB.
    assert usage["growth"] < 0.5 * materialised, (usage["growth"] / 2**20, materialised / 2**20)


@pytest.mark.parametrize(
    "strategy, window_scaling",
    [("multioutput", "both"), ("recursive", "both"), ("multioutput", "last")],
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
    calls = []
    original = LSTMEnsemble.predict
    monkeypatch.setattr(
        LSTMEnsemble, "predict", lambda self, X: calls.append(X.shape) or original(self, X)
    )
    pred = f.forecast_panel(y, fh=[1, 2, 3])
    n_steps = 1 if strategy == "multioutput" else 3
    n_networks = f.pretrained_ensemble_.n_members  # one global network per normalisation
    assert n_networks == (2 if window_scaling == "both" else 1)
    # One call per step, every series and every network in it.
    assert calls == [(6, 8, n_networks)] * n_steps
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


@pytest.mark.parametrize("freq, tz", [("D", None), ("B", None), ("ME", None), ("h", "UTC")])
def test_forecast_panel_steps_on_from_each_datetime_cutoff(freq, tz):
    """A DatetimeIndex time level (sktime's hierarchical data) has no freq once in a
    MultiIndex: each series' cutoff carries its own step, so fh can be made absolute."""
    y, _ = _panel(3, 30)
    times = pd.date_range("2024-01-01", periods=33, freq=freq, tz=tz)
    y.index = y.index.set_levels(times[:30], level=-1)
    y = y.drop(index=y.loc[["s2"]].index[-3:])  # s2 ends three steps earlier
    f = LSTMForecaster(lookback=4, hidden_size=4, max_iter=2, n_models=1, random_state=0)
    pred = f.pretrain(y, fh=[1, 2]).forecast_panel(y)
    assert list(pred.loc["s0"].index) == list(times[30:32])
    assert list(pred.loc["s2"].index) == list(times[27:29])
    stepped = pd.date_range(times[29], periods=3, freq=freq)[1:]  # pandas steps on its own
    assert list(pred.loc["s1"].index) == list(stepped)

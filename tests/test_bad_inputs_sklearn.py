"""Bad inputs to the sklearn-side API: clear errors, never NaN output or raw numpy errors."""

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer, make_windows


def test_regressor_overflowing_sample_weight_blames_sample_weight():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(8, 5, 2)), rng.normal(size=8)
    sample_weight = np.r_[1e308, 1e308, np.ones(6)]
    kept = sample_weight.copy()
    reg = LSTMRegressor(hidden_size=4, max_iter=2, device="cpu", random_state=0)
    with pytest.raises(ValueError, match="sample_weight is too large.*sample_weight.max"):
        reg.fit(X, y, sample_weight)
    np.testing.assert_array_equal(sample_weight, kept)
    assert not hasattr(reg, "net_")


@pytest.mark.parametrize("param", ["lookback", "horizon", "stride"])
def test_make_windows_rejects_bool_parameters(param):
    kwargs = {"lookback": 2, param: True}
    with pytest.raises(InvalidParameterError, match=f"'{param}'.*not a bool"):
        make_windows(np.arange(10.0), **kwargs)


@pytest.mark.parametrize("empty", [[], np.empty(0), np.empty((0, 2))])
def test_make_windows_empty_series_says_too_short(empty):
    with pytest.raises(ValueError, match="needs at least lookback \\+ horizon.*has 0"):
        make_windows(empty, lookback=1)


def test_make_windows_empty_exog_says_too_short():
    with pytest.raises(ValueError, match="has 0"):
        make_windows(np.empty(0), np.empty(0), lookback=1)


def test_window_transformer_rejects_bool_lookback():
    with pytest.raises(InvalidParameterError, match="not a bool"):
        WindowTransformer(lookback=True).fit(np.ones((4, 2)))


@pytest.mark.parametrize(
    "params", [{"lookback": 0}, {"lookback": -2}, {"lookback": 2.5}, {"padding": "bogus"}]
)
def test_window_transformer_params_set_after_fit_are_checked_in_transform(params):
    X = np.arange(12.0).reshape(6, 2)
    kept = X.copy()
    wt = WindowTransformer(lookback=2, padding="constant").fit(X)
    wt.set_params(**params)
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        wt.transform(X)
    flat = WindowTransformer(lookback=2, output="flat").fit(X).set_params(**params)
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        flat.get_feature_names_out()
    np.testing.assert_array_equal(X, kept)


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_sequence_scaler_float32_near_limits_gives_finite_output(method):
    # Statistics of float32 data near float32's limits only fit in float64; transform and
    # inverse_transform used to return NaN (minmax) or inf without an error.
    X = np.array([[3e38], [-3e38], [1e38]], dtype=np.float32)
    kept = X.copy()
    scaler = SequenceScaler(method).fit(X)
    Xt = scaler.transform(X)
    assert Xt.dtype == np.float32
    assert np.isfinite(Xt).all()
    back = scaler.inverse_transform(Xt)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, X, rtol=1e-5)
    np.testing.assert_array_equal(X, kept)
    if method == "minmax":
        np.testing.assert_allclose(Xt.ravel(), [1.0, 0.0, 2 / 3], rtol=1e-6)


def test_sequence_scaler_float32_overflowing_result_raises():
    scaler = SequenceScaler().fit(np.array([[0.0], [1e-30]], dtype=np.float32))
    with pytest.raises(ValueError, match="does not fit in float32.*float64"):
        scaler.transform(np.array([[3e38]], dtype=np.float32))


def _fitted_regressor():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(20, 5, 2)), rng.normal(size=20)
    return LSTMRegressor(hidden_size=4, max_iter=2, device="cpu", random_state=0).fit(X, y), X


@pytest.mark.parametrize(
    "bad",
    [
        dict(X=np.zeros((20, 5, 3)), sample_weight=-np.ones(20)),  # a new layout, bad weights
        dict(X=np.zeros((20, 5, 2, 2))),  # 4-D
        dict(params=dict(hidden_size=0)),
        dict(params=dict(device="meta")),
    ],
    ids=["weights", "4d", "hidden_size", "meta"],
)
def test_a_failed_refit_leaves_the_fitted_regressor_as_it_was(bad):
    reg, X = _fitted_regressor()
    before, state = reg.predict(X), dict(reg.__dict__)
    reg.set_params(**bad.get("params", {}))
    with pytest.raises((ValueError, TypeError)):
        reg.fit(bad.get("X", X), np.zeros(20), sample_weight=bad.get("sample_weight"))
    reg.set_params(**{k: state[k] for k in bad.get("params", {})})
    assert reg.__dict__.keys() == state.keys()
    assert all(reg.__dict__[k] is v for k, v in state.items())
    np.testing.assert_array_equal(reg.predict(X), before)
    unfitted = LSTMRegressor(hidden_size=4, max_iter=2, device="cpu")
    with pytest.raises(ValueError):
        unfitted.fit(np.zeros((20, 5, 2, 2)), np.zeros(20))
    assert not hasattr(unfitted, "n_features_in_")


@pytest.mark.parametrize("param", ["hidden_size", "num_layers", "max_iter", "batch_size"])
def test_regressor_and_forecaster_reject_bools_for_int_parameters(param):
    from sklstm import LSTMForecaster

    rng = np.random.RandomState(0)
    reg = LSTMRegressor(**{param: True})
    with pytest.raises(InvalidParameterError, match=f"'{param}'.*not a bool"):
        reg.fit(rng.normal(size=(8, 3)), rng.normal(size=8))
    assert not hasattr(reg, "n_features_in_")
    with pytest.raises(InvalidParameterError, match=f"'{param}'.*not a bool"):
        LSTMForecaster(**{param: True}).fit(np.arange(30.0), fh=[1])
    # early_stopping takes a bool, and is not an int parameter
    LSTMRegressor(hidden_size=2, max_iter=1, early_stopping=True).fit(
        rng.normal(size=(8, 3)), rng.normal(size=8)
    )


def test_dates_and_time_spans_are_refused_not_turned_into_nanoseconds():
    import pandas as pd

    rng = np.random.RandomState(0)
    X = rng.normal(size=(10, 4, 1))
    dates = pd.Series(pd.date_range("2020-01-01", periods=10))
    reg = LSTMRegressor(hidden_size=2, max_iter=1, device="cpu")
    with pytest.raises(TypeError, match="y holds datetime values.*days since the start"):
        reg.fit(X, dates)
    with pytest.raises(TypeError, match="X holds datetime values"):
        reg.fit(np.asarray(dates).reshape(5, 2), np.zeros(5))
    with pytest.raises(TypeError, match="X holds datetime values"):
        reg.fit(pd.DataFrame({"a": np.arange(10.0), "t": dates}), np.zeros(10))
    reg.fit(X, rng.normal(size=10))
    with pytest.raises(TypeError, match="X holds datetime values"):
        reg.predict(pd.DataFrame({"t": dates.dt.tz_localize("UTC")}))
    with pytest.raises(TypeError, match="y holds datetime values"):
        make_windows(dates, lookback=2)
    with pytest.raises(TypeError, match="y holds timedelta values"):
        make_windows(np.arange(10).astype("timedelta64[D]"), lookback=2)


def test_make_windows_of_a_table_without_columns_says_so():
    with pytest.raises(ValueError, match="has no columns"):
        make_windows(np.zeros((10, 0)), lookback=1)


def test_the_pandas_table_of_flat_windows_can_be_edited_the_array_stays_a_view():
    import pandas as pd

    X = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) * 10})
    kept = X.copy()
    wt = WindowTransformer(lookback=2, output="flat").set_output(transform="pandas")
    table = wt.fit_transform(X)
    table.loc[0, "b_lag0"] = -1.0
    table.fillna(0.0, inplace=True)
    table.iloc[:, 0] += 1
    assert table.loc[0, "b_lag0"] == -1.0
    pd.testing.assert_frame_equal(X, kept)
    array = WindowTransformer(lookback=2, output="flat").fit_transform(X.to_numpy())
    assert not array.flags.writeable  # the documented read-only view


def test_unfitted_history_properties_raise_not_fitted():
    from sklearn.exceptions import NotFittedError

    reg = LSTMRegressor()
    for name in ("loss_curve_", "n_iter_", "history_", "validation_loss_curve_", "module_"):
        with pytest.raises(NotFittedError):
            getattr(reg, name)
        assert not hasattr(reg, name)


def test_callbacks_must_be_skorch_callbacks():
    from skorch.callbacks import EpochTimer

    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    with pytest.raises(InvalidParameterError, match="skorch callbacks.*got 'x'"):
        LSTMRegressor(callbacks=["x"]).fit(X, y)
    for bad in (["x"], [int], [("timer", "x")], [(1, EpochTimer())], [("a", "b", "c")]):
        with pytest.raises(InvalidParameterError, match="skorch callbacks"):
            LSTMRegressor(callbacks=bad).fit(X, y)
    # what skorch itself takes: instances, classes, (name, either or None) as tuple or list
    for ok in (
        [EpochTimer()],
        [EpochTimer],
        [("timer", EpochTimer())],
        [("timer", EpochTimer)],
        [["timer", EpochTimer()]],
        [("unused", None)],
    ):
        LSTMRegressor(hidden_size=2, max_iter=1, callbacks=ok).fit(X, y)


@pytest.mark.parametrize(
    "data",
    [
        [[1e-300], [2e-300], [3e-300]],
        [[1e-170], [3e-170], [2e-170]],
        [[1e-160], [3e-160], [2e-160]],  # the variance is subnormal: a few digits only
    ],
)
def test_sequence_scaler_standardises_tiny_values(data):
    X = np.array(data)
    scaler = SequenceScaler(method="standard").fit(X)
    np.testing.assert_allclose(scaler.scale_, np.std(X / X.max()) * X.max(), rtol=1e-12)
    Xt = scaler.transform(X)
    np.testing.assert_allclose(Xt.std(), 1.0, rtol=1e-9)
    np.testing.assert_allclose(scaler.inverse_transform(Xt), X, rtol=1e-9)


def test_sequence_scaler_names_the_layout_of_a_list_at_transform():
    scaler = SequenceScaler().fit(np.ones((4, 3, 2)) * np.arange(3)[None, :, None])
    with pytest.raises(ValueError, match="fitted on 3-D input, but got 2-D"):
        scaler.transform([[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("param", ["lookback", "sp", "n_models", "n_iter_no_change"])
def test_forecaster_rejects_bools_for_its_own_int_parameters(param):
    from sklstm import LSTMForecaster

    with pytest.raises(InvalidParameterError, match=f"'{param}'.*not a bool"):
        LSTMForecaster(hidden_size=2, max_iter=1, **{param: True}).fit(np.arange(30.0), fh=[1])


def test_a_zero_weight_row_does_not_set_the_target_unit():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(10, 4, 1)), rng.normal(size=10)
    w = np.ones(10)
    y[0], w[0] = 1e170, 0.0  # a placeholder the weights leave out
    reg = LSTMRegressor(hidden_size=2, max_iter=1, device="cpu").fit(X, y, sample_weight=w)
    np.testing.assert_allclose(reg.y_scale_, np.std(y[1:]), rtol=1e-12)

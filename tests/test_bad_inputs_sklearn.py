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

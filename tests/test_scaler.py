"""Tests for SequenceScaler."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import config_context
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils.estimator_checks import (
    check_global_output_transform_pandas,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
)

from sklstm import SequenceScaler, WindowTransformer

METHODS = ["standard", "minmax", "robust"]
SKLEARN_SCALERS = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "robust": RobustScaler,
}


# The pandas checks fit on a DataFrame and transform arrays (and back) on purpose;
# sklearn's own scalers raise the same feature-name warnings under them.
@pytest.mark.filterwarnings("ignore:X (does not have valid|has) feature names:UserWarning")
@pytest.mark.parametrize(
    "check",
    [
        check_set_output_transform,
        check_set_output_transform_pandas,
        check_global_output_transform_pandas,
        check_transformer_get_feature_names_out,
        check_transformer_get_feature_names_out_pandas,
    ],
    ids=lambda check: check.__name__,
)
def test_sequence_scaler_set_output_checks_on_tables(check):
    check("SequenceScaler", SequenceScaler())


@pytest.mark.parametrize("method", METHODS)
def test_2d_table_matches_sklearn_scaler(method):
    X = np.random.default_rng(0).standard_normal((50, 3)) * [1.0, 10.0, 100.0] + [0, 5, -5]
    expected = SKLEARN_SCALERS[method]().fit_transform(X)
    np.testing.assert_allclose(
        SequenceScaler(method=method).fit_transform(X), expected, atol=1e-12
    )


@pytest.mark.parametrize("method", METHODS)
def test_3d_statistics_are_pooled_over_samples_and_steps(method):
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((40, 6, 2)) * [1.0, 50.0] + [3.0, -7.0]
    scaled = SequenceScaler(method=method).fit_transform(windows)
    # The same as scaling the pooled (n_samples * seq_len, n_channels) table ...
    reference = SKLEARN_SCALERS[method]().fit_transform(windows.reshape(-1, 2))
    np.testing.assert_allclose(scaled, reference.reshape(windows.shape), atol=1e-12)
    # ... and not what a per-column scaler on flat windows does (one statistic per lag).
    per_lag = SKLEARN_SCALERS[method]().fit_transform(windows.reshape(40, -1))
    assert not np.allclose(scaled, per_lag.reshape(windows.shape))
    # One value is scaled the same wherever it sits in the window.
    windows[:, :, 0] = 1.5
    windows[0, 0, 0] = 0.0  # keep the channel non-constant
    scaled = SequenceScaler(method=method).fit_transform(windows)
    assert np.unique(scaled[:, :, 0]).size == 2


def test_minmax_feature_range():
    X = np.random.default_rng(0).standard_normal((30, 4, 2))
    scaled = SequenceScaler(method="minmax", feature_range=(-1, 2)).fit_transform(X)
    np.testing.assert_allclose(scaled.min(axis=(0, 1)), [-1, -1])
    np.testing.assert_allclose(scaled.max(axis=(0, 1)), [2, 2])
    with pytest.raises(ValueError, match="min < max"):
        SequenceScaler(method="minmax", feature_range=(1, 0)).fit(X)
    with pytest.raises(ValueError, match="'feature_range' parameter"):
        SequenceScaler(feature_range=[0, 1]).fit(X)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ndim", [2, 3])
def test_zero_variance_channels_are_safe(method, ndim):
    X = np.random.default_rng(0).standard_normal((20, 5, 3))
    X[..., 1] = 7.0  # constant channel
    X[..., 2] = 0.0
    X[0, 0, 2] = 1.0  # interquartile range 0, but not constant
    if ndim == 2:
        X = X.reshape(-1, 3)
    scaler = SequenceScaler(method=method).fit(X)
    assert np.all(scaler.scale_ > 0) and np.all(np.isfinite(scaler.scale_))
    scaled = scaler.transform(X)
    assert np.all(np.isfinite(scaled))
    assert np.unique(scaled[..., 1]).size == 1  # constant stays constant, no division by 0
    if method != "minmax":
        assert scaler.scale_[1] == 1.0
    np.testing.assert_allclose(scaler.inverse_transform(scaled), X, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(30, 2), (30, 4, 2)])
def test_keeps_float_dtype(method, dtype, shape):
    X = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    scaler = SequenceScaler(method=method).fit(X)
    scaled = scaler.transform(X)
    assert scaled.dtype == dtype
    assert scaler.inverse_transform(scaled).dtype == dtype
    assert scaler.scale_.dtype == scaler.center_.dtype == np.float64


def test_learns_from_the_fitted_data_only():
    rng = np.random.default_rng(0)
    train = rng.standard_normal((50, 4, 1))
    test = 100 + rng.standard_normal((10, 4, 1))
    scaler = SequenceScaler().fit(train)
    center, scale = scaler.center_.copy(), scaler.scale_.copy()
    scaled_test = scaler.transform(test)
    np.testing.assert_array_equal(scaler.center_, center)  # transform learns nothing
    np.testing.assert_array_equal(scaler.scale_, scale)
    np.testing.assert_allclose(scaled_test, (test - train.mean()) / train.std())


def test_layout_must_match_fit():
    scaler = SequenceScaler().fit(np.zeros((5, 4, 2)))
    with pytest.raises(ValueError, match="fitted on 3-D input, but got 2-D"):
        scaler.transform(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="fitted on 3-D input, but got 2-D"):
        scaler.inverse_transform(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="3 channels.*fitted on 2"):
        scaler.inverse_transform(np.zeros((5, 4, 3)))
    with pytest.raises(ValueError, match="3 channels.*fitted on 2"):
        scaler.transform(np.zeros((5, 4, 3)))
    with pytest.raises(ValueError, match="shape \\(2, 2, 2, 2\\)"):
        SequenceScaler().fit(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="Reshape your data"):
        SequenceScaler().fit(np.zeros(5))


@pytest.mark.parametrize("method", ["standard", "robust", "minmax"])
def test_statistics_of_huge_values_do_not_overflow(method):
    """X * 1e300: the statistics scale with X (the variance overflowed: scale_ 1, as for a
    constant channel, and the output was inf); a range beyond float64 is refused."""
    X = np.random.default_rng(0).standard_normal((30, 5, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ones = SequenceScaler(method=method).fit(X)
        huge = SequenceScaler(method=method).fit(X * 1e300)
        np.testing.assert_allclose(huge.scale_, ones.scale_ * 1e300, rtol=1e-9)
        np.testing.assert_allclose(huge.transform(X * 1e300), ones.transform(X), atol=1e-12)
    wide = X.copy()
    wide[0, 0, 0], wide[1, 0, 0] = 1.5e308, -1.5e308
    if method == "minmax":
        with pytest.raises(
            ValueError, match=r"spread of X overflows float64 \(channel\(s\) \[0\]"
        ):
            SequenceScaler(method=method).fit(wide)
    else:
        assert np.isfinite(SequenceScaler(method=method).fit(wide).scale_).all()


def test_a_global_pandas_output_names_every_3d_step_to_set_back():
    """set_config(transform_output="pandas") reaches every step: the fix names them all."""
    from sklearn.pipeline import make_pipeline

    from sklstm import LSTMRegressor, WindowTransformer

    rng = np.random.default_rng(0)
    X, y = pd.DataFrame({"a": rng.standard_normal(40)}), pd.Series(rng.standard_normal(40))
    with config_context(transform_output="pandas"):
        pipe = make_pipeline(
            WindowTransformer(lookback=3),
            SequenceScaler(),
            LSTMRegressor(hidden_size=2, max_iter=1),
        )
        with pytest.raises(ValueError, match="every step that passes 3-D.*SequenceScaler after"):
            pipe.fit(X, y)
        pipe[0].set_output(transform="default")
        with pytest.raises(ValueError, match="every step.*WindowTransformer.output='3d'. before"):
            pipe.fit(X, y)
        pipe[1].set_output(transform="default")
        assert pipe.fit(X, y).predict(X).shape == (40,)


def test_3d_input_and_pandas_output():
    windows = np.random.default_rng(0).standard_normal((5, 3, 2))
    scaler = SequenceScaler().set_output(transform="pandas").fit(windows)
    with pytest.raises(ValueError, match="3-D windows, which cannot be returned as a pandas"):
        scaler.transform(windows)
    with pytest.raises(ValueError, match="2-D tables only"):
        scaler.get_feature_names_out()
    with config_context(transform_output="pandas"):
        # On a table the pandas output keeps the columns and index.
        table = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 0.0, 1.0]}, index=[7, 8, 9])
        out = SequenceScaler(method="minmax").fit_transform(table)
        assert isinstance(out, pd.DataFrame) and list(out.columns) == ["a", "b"]
        assert list(out.index) == [7, 8, 9]


def test_minmax_after_edge_padded_windows_equals_minmax_of_the_table():
    # Documented: min/max do not depend on how often a value occurs, so scaling the
    # overlapping windows gives the same statistics as scaling the table itself.
    table = np.random.default_rng(0).standard_normal((40, 3))
    windows = WindowTransformer(lookback=7).fit_transform(table)
    on_windows = SequenceScaler(method="minmax").fit(windows)
    on_table = SequenceScaler(method="minmax").fit(table)
    np.testing.assert_allclose(on_windows.center_, on_table.center_)
    np.testing.assert_allclose(on_windows.scale_, on_table.scale_)
    np.testing.assert_allclose(
        on_windows.transform(windows),
        WindowTransformer(lookback=7).fit_transform(on_table.transform(table)),
    )


def test_accepts_read_only_windows_and_pickles():
    windows = WindowTransformer(lookback=4).fit_transform(np.arange(20.0).reshape(10, 2))
    assert not windows.flags.writeable
    scaler = SequenceScaler(method="robust").fit(windows)
    restored = pickle.loads(pickle.dumps(scaler))
    np.testing.assert_array_equal(restored.transform(windows), scaler.transform(windows))


@st.composite
def scaling_problems(draw):
    ndim = draw(st.sampled_from([2, 3]))
    n_samples = draw(st.integers(1, 20))
    seq_len = draw(st.integers(1, 8))
    n_channels = draw(st.integers(1, 4))
    shape = (n_samples, n_channels) if ndim == 2 else (n_samples, seq_len, n_channels)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    magnitude = 10.0 ** draw(st.integers(-3, 4))
    offset = draw(st.sampled_from([0.0, 1.0, -50.0, 1e3]))
    X = (offset + magnitude * rng.standard_normal(shape)).astype(dtype)
    if draw(st.booleans()):  # a constant channel now and then
        X[..., 0] = offset
    return X


@settings(max_examples=60, deadline=None)
@given(
    X=scaling_problems(),
    method=st.sampled_from(METHODS),
    feature_range=st.sampled_from([(0, 1), (-1, 1), (0.2, 0.8)]),
)
def test_inverse_transform_round_trip(X, method, feature_range):
    scaler = SequenceScaler(method=method, feature_range=feature_range).fit(X)
    scaled = scaler.transform(X)
    assert scaled.shape == X.shape and scaled.dtype == X.dtype
    assert np.all(np.isfinite(scaled))
    restored = scaler.inverse_transform(scaled)
    assert restored.dtype == X.dtype
    eps = np.finfo(X.dtype).eps
    atol = 100 * eps * max(1.0, float(np.abs(X).max()))
    np.testing.assert_allclose(restored, X, rtol=100 * eps, atol=atol)

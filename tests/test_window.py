"""Tests for make_windows and WindowTransformer."""

import pickle
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import config_context
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_global_output_transform_pandas,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
)

from sklstm import WindowTransformer, make_windows

# ---------------------------------------------------------------------------
# Reference implementations: the plain loops every tutorial writes.


def naive_windows(y, X, lookback, horizon, stride):
    """Loop version of make_windows (the oracle)."""
    y = np.asarray(y)
    data = y.reshape(len(y), -1)
    if X is not None:
        X = np.asarray(X)
        data = np.hstack([data, X.reshape(len(X), -1)])
    windows, targets = [], []
    start = 0
    while start + lookback + horizon <= len(y):
        windows.append(data[start : start + lookback])
        target = y[start + lookback : start + lookback + horizon]
        targets.append(target[0] if horizon == 1 else target)
        start += stride
    return np.array(windows), np.array(targets)


def naive_causal_windows(X, lookback, padding="edge", fill_value=0.0):
    """Loop version of WindowTransformer's 3-D output (the oracle)."""
    X = np.asarray(X)
    out = np.empty((len(X), lookback, X.shape[1]), dtype=X.dtype)
    for t in range(len(X)):
        for j in range(lookback):
            row = t - lookback + 1 + j
            if row >= 0:
                out[t, j] = X[row]
            else:
                out[t, j] = X[0] if padding == "edge" else fill_value
    return out


# ---------------------------------------------------------------------------
# make_windows


def test_make_windows_documented_layout():
    y = np.arange(10.0)
    windows, targets = make_windows(y, lookback=3)
    assert windows.shape == (7, 3, 1)
    assert targets.shape == (7,)
    # Window i covers rows [i, i + 3); its target is row i + 3.
    for i in range(7):
        np.testing.assert_array_equal(windows[i, :, 0], y[i : i + 3])
        assert targets[i] == y[i + 3]


def test_make_windows_produces_the_last_window():
    # The tutorial loop range(len(data) - look_back - 1) drops the window ending at the
    # next-to-last row, whose target is the last row.
    y = np.arange(100.0)
    windows, targets = make_windows(y, lookback=12)
    assert len(windows) == len(y) - 12
    assert targets[-1] == y[-1]
    np.testing.assert_array_equal(windows[-1, :, 0], y[-13:-1])


@pytest.mark.parametrize(
    "n_steps, lookback, horizon, stride, n_windows",
    [(10, 3, 1, 1, 7), (10, 3, 2, 1, 6), (10, 3, 1, 2, 4), (10, 3, 2, 3, 2), (4, 3, 1, 5, 1)],
)
def test_make_windows_counts_every_window(n_steps, lookback, horizon, stride, n_windows):
    windows, targets = make_windows(
        np.arange(float(n_steps)), lookback=lookback, horizon=horizon, stride=stride
    )
    assert len(windows) == len(targets) == n_windows
    # The last window's targets are within the series and one more window would not be.
    last_start = (n_windows - 1) * stride
    assert last_start + lookback + horizon <= n_steps < last_start + stride + lookback + horizon


@pytest.mark.parametrize(
    "y_shape, horizon, expected",
    [
        ((20,), 1, (17,)),
        ((20,), 4, (14, 4)),
        ((20, 2), 1, (17, 2)),
        ((20, 2), 4, (14, 4, 2)),
        ((20, 1), 1, (17, 1)),
        ((20, 1), 4, (14, 4, 1)),
    ],
)
def test_make_windows_targets_shape(y_shape, horizon, expected):
    y = np.arange(np.prod(y_shape), dtype=float).reshape(y_shape)
    windows, targets = make_windows(y, lookback=3, horizon=horizon)
    assert targets.shape == expected
    n_targets = 1 if len(y_shape) == 1 else y_shape[1]
    assert windows.shape == (expected[0], 3, n_targets)


def test_make_windows_multi_column_horizon_targets_are_y_rows():
    y = np.arange(40.0).reshape(20, 2)
    _, targets = make_windows(y, lookback=3, horizon=4, stride=2)
    for i in range(len(targets)):
        np.testing.assert_array_equal(targets[i], y[2 * i + 3 : 2 * i + 7])


def test_make_windows_exogenous_channels_follow_y_and_align():
    y = pd.DataFrame({"sales": np.arange(8.0), "visits": 10 + np.arange(8.0)})
    X = pd.DataFrame({"price": 100 + np.arange(8.0)})
    windows, targets = make_windows(y, X, lookback=3)
    assert windows.shape == (5, 3, 3)
    np.testing.assert_array_equal(windows[2], [[2, 12, 102], [3, 13, 103], [4, 14, 104]])
    np.testing.assert_array_equal(targets[2], [5, 15])  # X is never a target


def test_make_windows_accepts_lists_series_and_frames():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    expected_w, expected_t = make_windows(np.array(values), lookback=2)
    for y in (values, pd.Series(values), pd.Series(values, dtype="float32")):
        windows, targets = make_windows(y, lookback=2)
        np.testing.assert_array_equal(windows, expected_w)
        np.testing.assert_array_equal(targets, expected_t)
    windows, targets = make_windows(pd.DataFrame({"a": values}), lookback=2)
    assert targets.shape == (3, 1)


def test_make_windows_are_read_only_views():
    y = np.arange(50.0)
    windows, targets = make_windows(y, lookback=5)
    assert np.shares_memory(windows, y) and np.shares_memory(targets, y)
    assert not windows.flags.writeable and not targets.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        windows[0, 0, 0] = 1.0
    assert y.flags.writeable  # the caller's array is untouched
    _, targets = make_windows(y, lookback=5, horizon=3)
    assert np.shares_memory(targets, y) and not targets.flags.writeable


def test_make_windows_with_exogenous_copies_the_series_once():
    y = np.arange(30.0)
    X = np.arange(30.0)[:, None] * np.ones(2)
    windows, targets = make_windows(y, X, lookback=5)
    assert windows.base is not None and not windows.flags.writeable
    assert np.shares_memory(targets, y)  # targets still view y itself
    assert not np.shares_memory(windows, y)  # the concatenated channels are one new table


@pytest.mark.parametrize(
    "y_dtype, X_dtype, expected",
    [
        (np.float32, None, np.float32),
        (np.float64, None, np.float64),
        (np.int64, None, np.float64),
        (np.float32, np.float32, np.float32),
        (np.float32, np.float64, np.float64),
        (np.float32, np.int32, np.float64),
    ],
)
def test_make_windows_dtypes(y_dtype, X_dtype, expected):
    y = np.arange(10).astype(y_dtype)
    X = None if X_dtype is None else np.arange(10).astype(X_dtype)
    windows, targets = make_windows(y, X, lookback=3)
    assert windows.dtype == expected
    assert targets.dtype == (np.float64 if y_dtype == np.int64 else y_dtype)


def test_make_windows_memory_is_a_view_of_a_10m_series():
    """10M float32 steps (40 MB), lookback 512: windows would be 20 GB if copied."""
    y = np.random.default_rng(0).standard_normal(10_000_000, dtype=np.float32)
    tracemalloc.start()
    try:
        windows, targets = make_windows(y, lookback=512)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"peak extra memory: {peak} bytes = {peak / y.nbytes:.4%} of the series")
    assert peak < 0.10 * y.nbytes
    assert windows.shape == (10_000_000 - 512, 512, 1)
    assert windows.dtype == np.float32 and targets.dtype == np.float32
    np.testing.assert_array_equal(windows[-1, :, 0], y[-513:-1])
    assert targets[-1] == y[-1]


def test_make_windows_memory_with_exogenous_is_one_copy_of_the_series():
    n_steps = 1_000_000
    y = np.ones(n_steps, dtype=np.float32)
    X = np.ones((n_steps, 3), dtype=np.float32)
    series_bytes = y.nbytes + X.nbytes
    tracemalloc.start()
    try:
        make_windows(y, X, lookback=256, horizon=8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.10 * series_bytes


def test_make_windows_too_short_names_the_length_needed():
    with pytest.raises(ValueError, match=r"at least lookback \+ horizon = 5 \+ 2 = 7"):
        make_windows(np.arange(6.0), lookback=5, horizon=2)
    make_windows(np.arange(7.0), lookback=5, horizon=2)  # exactly enough: one window


@pytest.mark.parametrize(
    "y, error, match",
    [
        (np.array([1.0, np.nan, 3.0, 4.0]), ValueError, "NaN.*interpolate"),
        (np.array([1.0, np.inf, 3.0, 4.0]), ValueError, "infinity"),
        (["a", "b", "c", "d"], TypeError, "numbers only.*select_dtypes"),
        (pd.DataFrame({"a": [1.0, 2, 3, 4], "b": list("wxyz")}), TypeError, "numbers only"),
        (np.array([1 + 1j, 2, 3, 4]), ValueError, "complex"),
        (np.zeros((6, 2, 2)), ValueError, r"1-D \(n_steps,\) or 2-D.*shape \(6, 2, 2\)"),
    ],
)
def test_make_windows_rejects_bad_data(y, error, match):
    with pytest.raises(error, match=match):
        make_windows(y, lookback=1)
    with pytest.raises(error, match=match):  # the same checks on X
        make_windows(np.arange(float(len(y))), y, lookback=1)


def test_make_windows_rejects_misaligned_exogenous():
    with pytest.raises(ValueError, match="y has 6 rows and X has 5"):
        make_windows(np.arange(6.0), np.arange(5.0), lookback=2)


@pytest.mark.parametrize("name", ["lookback", "horizon", "stride"])
@pytest.mark.parametrize("value", [0, -1, 2.5, "3", None])
def test_make_windows_rejects_bad_sizes(name, value):
    params = {"lookback": 2, "horizon": 1, "stride": 1, name: value}
    with pytest.raises((ValueError, TypeError), match=f"'{name}' parameter.*int in the range"):
        make_windows(np.arange(10.0), **params)


@st.composite
def window_problems(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    lookback = draw(st.integers(1, 8))
    horizon = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 4))
    n_steps = draw(st.integers(lookback + horizon, lookback + horizon + 25))
    n_targets = draw(st.sampled_from([None, 1, 3]))
    n_exog = draw(st.sampled_from([None, 0, 1, 2]))  # 0: a 1-D X
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    y_shape = (n_steps,) if n_targets is None else (n_steps, n_targets)
    y = rng.standard_normal(y_shape).astype(dtype)
    if n_exog is None:
        X = None
    else:
        X = rng.standard_normal((n_steps,) if n_exog == 0 else (n_steps, n_exog)).astype(dtype)
    return y, X, lookback, horizon, stride


@settings(max_examples=60, deadline=None)
@given(window_problems())
def test_make_windows_equals_naive_loop(problem):
    y, X, lookback, horizon, stride = problem
    windows, targets = make_windows(y, X, lookback=lookback, horizon=horizon, stride=stride)
    expected_w, expected_t = naive_windows(y, X, lookback, horizon, stride)
    assert windows.shape == expected_w.shape and targets.shape == expected_t.shape
    np.testing.assert_array_equal(windows, expected_w)
    np.testing.assert_array_equal(targets, expected_t)
    assert windows.dtype == y.dtype and targets.dtype == y.dtype
    assert not windows.flags.writeable and not targets.flags.writeable


# ---------------------------------------------------------------------------
# WindowTransformer: the ecosystem's check suite

FLAT_CHECKS = [
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
]


# The pandas checks fit on a DataFrame and transform arrays (and back) on purpose;
# sklearn's own scalers raise the same feature-name warnings under them.
@pytest.mark.filterwarnings("ignore:X (does not have valid|has) feature names:UserWarning")
@pytest.mark.parametrize("check", FLAT_CHECKS, ids=lambda check: check.__name__)
def test_window_transformer_flat_output_checks(check):
    # check_estimator does not generate these; the flat form is the one with named columns.
    check("WindowTransformer", WindowTransformer(lookback=3, output="flat"))


# ---------------------------------------------------------------------------
# WindowTransformer: behaviour


def test_window_transformer_keeps_rows_and_pads_with_the_first_row():
    X = np.arange(12.0).reshape(6, 2)
    Xt = WindowTransformer(lookback=3).fit_transform(X)
    assert Xt.shape == (6, 3, 2)
    np.testing.assert_array_equal(Xt[0], [[0, 1], [0, 1], [0, 1]])
    np.testing.assert_array_equal(Xt[1], [[0, 1], [0, 1], [2, 3]])
    np.testing.assert_array_equal(Xt[5], X[3:6])  # the row itself is the last step


def test_window_transformer_constant_padding():
    X = np.arange(12.0).reshape(6, 2)
    Xt = WindowTransformer(lookback=3, padding="constant", fill_value=-1.0).fit_transform(X)
    np.testing.assert_array_equal(Xt[0], [[-1, -1], [-1, -1], [0, 1]])
    # fill_value is ignored with edge padding
    Xt_edge = WindowTransformer(lookback=3, fill_value=-1.0).fit_transform(X)
    np.testing.assert_array_equal(Xt_edge[0], [[0, 1]] * 3)
    # a fill_value float32 X cannot hold is refused (it padded with inf)
    big = WindowTransformer(lookback=3, padding="constant", fill_value=1e300)
    with pytest.raises(ValueError, match="fill_value=1e.300. does not fit in X's dtype float32"):
        big.fit_transform(X.astype(np.float32))
    assert big.fit_transform(X)[0, 0, 0] == 1e300  # float64 holds it


def test_window_transformer_full_windows_match_make_windows():
    y = np.random.default_rng(0).standard_normal((40, 3))
    Xt = WindowTransformer(lookback=5).fit_transform(y)
    windows, _ = make_windows(y, lookback=5)
    # make_windows' window i ends at row i + 4: the transformer's row i + 4.
    np.testing.assert_array_equal(Xt[4:-1], windows)


def test_window_transformer_flat_is_the_3d_form_reshaped():
    X = np.random.default_rng(0).standard_normal((15, 2))
    Xt3 = WindowTransformer(lookback=4).fit_transform(X)
    Xtf = WindowTransformer(lookback=4, output="flat").fit_transform(X)
    assert Xtf.shape == (15, 8)
    np.testing.assert_array_equal(Xtf.reshape(15, 4, 2), Xt3)


def test_window_transformer_lag_names():
    X = pd.DataFrame({"sales": np.arange(5.0), "price": 10 + np.arange(5.0)})
    wt = WindowTransformer(lookback=3, output="flat").fit(X)
    names = wt.get_feature_names_out()
    assert list(names) == [
        "sales_lag2",
        "price_lag2",
        "sales_lag1",
        "price_lag1",
        "sales_lag0",
        "price_lag0",
    ]
    # lag k is the value k rows before the current row.
    Xt = wt.set_output(transform="pandas").transform(X)
    assert list(Xt.columns) == list(names)
    np.testing.assert_array_equal(Xt["sales_lag0"], X["sales"])
    np.testing.assert_array_equal(Xt["price_lag1"].iloc[1:], X["price"].iloc[:-1])
    np.testing.assert_array_equal(Xt["sales_lag2"].iloc[2:], X["sales"].iloc[:-2])
    pd.testing.assert_index_equal(Xt.index, X.index)
    # Without column names: x0, x1, ...
    names = WindowTransformer(lookback=2).fit(X.to_numpy()).get_feature_names_out()
    assert list(names) == ["x0_lag1", "x1_lag1", "x0_lag0", "x1_lag0"]


def test_window_transformer_flat_feature_names_reach_the_next_step():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"sales": rng.standard_normal(30), "temp": rng.standard_normal(30)})
    y = X["sales"].shift(-1).fillna(0.0)
    pipe = make_pipeline(WindowTransformer(lookback=3, output="flat"), Ridge())
    pipe.set_output(transform="pandas").fit(X, y)
    assert list(pipe[-1].feature_names_in_) == list(pipe[0].get_feature_names_out())
    assert list(pipe[:-1].get_feature_names_out()) == list(pipe[0].get_feature_names_out())


def test_window_transformer_3d_refuses_a_pandas_output():
    X = pd.DataFrame({"a": np.arange(5.0)})
    wt = WindowTransformer(lookback=2).set_output(transform="pandas").fit(X)
    with pytest.raises(ValueError, match="output='3d'.*cannot be a pandas table.*'flat'"):
        wt.transform(X)
    with pytest.raises(ValueError, match="cannot be a pandas table"):
        clone(wt).fit_transform(X)
    with config_context(transform_output="pandas"):
        with pytest.raises(ValueError, match="set_config"):
            WindowTransformer(lookback=2).fit_transform(X)
        # The step-level setting wins over the global one, as everywhere in sklearn.
        wt = WindowTransformer(lookback=2).set_output(transform="default")
        assert wt.fit_transform(X).shape == (5, 2, 1)


@pytest.mark.parametrize("output", ["3d", "flat"])
def test_window_transformer_outputs_are_read_only_views(output):
    X = np.random.default_rng(0).standard_normal((50, 2))
    Xt = WindowTransformer(lookback=10, output=output).fit_transform(X)
    assert not Xt.flags.writeable
    # One padded copy of the table backs all the overlapping windows.
    assert np.shares_memory(Xt[1], Xt[2])
    assert not np.shares_memory(Xt, X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output", ["3d", "flat"])
def test_window_transformer_keeps_float_dtype(dtype, output):
    X = np.arange(20, dtype=dtype).reshape(10, 2)
    assert WindowTransformer(lookback=3, output=output).fit_transform(X).dtype == dtype


def test_window_transformer_checks_columns_and_params():
    wt = WindowTransformer(lookback=3).fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="X has 3 features.*expecting 2"):
        wt.transform(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="'lookback' parameter.*range"):
        WindowTransformer(lookback=0).fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="'output' parameter"):
        WindowTransformer(output="2d").fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="Reshape your data"):
        WindowTransformer().fit(np.zeros(5))


def test_window_transformer_lookback_longer_than_the_table():
    X = np.arange(3.0)[:, None]
    Xt = WindowTransformer(lookback=5).fit_transform(X)
    np.testing.assert_array_equal(Xt[:, :, 0], [[0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 2]])


def test_window_transformer_pickles_and_clones():
    X = np.random.default_rng(0).standard_normal((10, 2))
    wt = WindowTransformer(lookback=4, output="flat", padding="constant").fit(X)
    restored = pickle.loads(pickle.dumps(wt))
    np.testing.assert_array_equal(restored.transform(X), wt.transform(X))
    assert clone(wt).get_params() == wt.get_params()


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(1, 30),
    n_channels=st.integers(1, 3),
    lookback=st.integers(1, 10),
    padding=st.sampled_from(["edge", "constant"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_window_transformer_equals_naive_loop(n_rows, n_channels, lookback, padding, dtype, seed):
    X = np.random.default_rng(seed).standard_normal((n_rows, n_channels)).astype(dtype)
    wt = WindowTransformer(lookback=lookback, padding=padding, fill_value=2.5).fit(X)
    Xt = wt.transform(X)
    expected = naive_causal_windows(X, lookback, padding, 2.5)
    assert Xt.dtype == dtype
    np.testing.assert_array_equal(Xt, expected)
    flat = wt.set_params(output="flat").transform(X)
    np.testing.assert_array_equal(flat, expected.reshape(n_rows, -1))

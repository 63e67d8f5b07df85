"""What happens when things go wrong: bad input, degenerate input, persistence.

One table of cases (``CASES``) describes each public estimator: how to make
valid data for it, how to fit it and how to use it afterwards. Every test below
runs over the whole table, so a new estimator gets every check by adding a row.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer, make_windows
from sklstm.nn import PeepholeLSTM

FAST_LSTM = dict(hidden_size=3, max_iter=2, random_state=0)


@dataclass
class Case:
    """How to exercise one estimator."""

    make: Callable[..., Any]
    data: Callable[[np.random.RandomState, int], tuple[np.ndarray, np.ndarray | None]]
    use: str  # "predict" or "transform"
    supervised: bool
    invalid_params: dict = field(default_factory=dict)  # param -> bad value
    ndim: int = 3  # dimensions of X
    name: str = ""

    def fit(self, est, X, y):
        return est.fit(X, y) if self.supervised else est.fit(X)

    def apply(self, est, X):
        return getattr(est, self.use)(X)


def _sequences(rng, n):
    X = rng.normal(size=(n, 5, 2))
    return X, X[:, -1, 0] + X[:, -2, 1]


def _table(rng, n):
    return rng.normal(size=(n, 3)), None


CASES = [
    Case(
        make=lambda **kw: LSTMRegressor(**{**FAST_LSTM, **kw}),
        data=_sequences,
        use="predict",
        supervised=True,
        invalid_params={
            "hidden_size": 0,
            "num_layers": 0,
            "dropout": 1.5,
            "peephole": "sideways",
            "device": "tpu9",
            "max_iter": -1,
            "learning_rate_init": 0.0,
            "batch_size": 0,
        },
        name="LSTMRegressor",
    ),
    Case(
        make=lambda **kw: WindowTransformer(**{"lookback": 3, **kw}),
        data=_table,
        use="transform",
        supervised=False,
        invalid_params={"lookback": -1, "output": "4d", "padding": "mirror"},
        ndim=2,
        name="WindowTransformer",
    ),
    Case(
        make=lambda **kw: SequenceScaler(**kw),
        data=lambda rng, n: (rng.normal(size=(n, 5, 2)), None),
        use="transform",
        supervised=False,
        invalid_params={"method": "quantile", "feature_range": [0, 1]},
        name="SequenceScaler",
    ),
]
IDS = [case.name for case in CASES]


def _fitted(case, n=24, seed=0):
    rng = np.random.RandomState(seed)
    X, y = case.data(rng, n)
    return case.fit(case.make(), X, y), X, y


# ---------------------------------------------------------------------------
# Bad input gets a clear exception


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("where", ["fit", "apply"])
def test_nan_and_inf_are_rejected(case, bad, where):
    est, X, y = _fitted(case)
    X_bad = X.copy()
    X_bad.flat[7] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        if where == "fit":
            case.fit(case.make(), X_bad, y)
        else:
            case.apply(est, X_bad)


@pytest.mark.parametrize("case", [c for c in CASES if c.supervised], ids=lambda c: c.name)
def test_nan_in_y_is_rejected(case):
    X, y = case.data(np.random.RandomState(0), 20)
    y = y.copy()
    y[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        case.fit(case.make(), X, y)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_strings_are_rejected(case):
    X, y = case.data(np.random.RandomState(0), 20)
    X_str = X.astype(str).astype(object)
    X_str.flat[0] = "not a number"
    with pytest.raises((ValueError, TypeError), match="convert|numeric|string|dtype"):
        case.fit(case.make(), X_str, y)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_input_is_rejected(case):
    X, y = case.data(np.random.RandomState(0), 20)
    with pytest.raises(ValueError, match="0 sample|empty|minimum of 1|at least"):
        case.fit(case.make(), X[:0], None if y is None else y[:0])


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("ndim", [1, 4])
def test_wrong_number_of_dimensions_is_rejected(case, ndim):
    X, y = case.data(np.random.RandomState(0), 20)
    X_bad = X.reshape(-1) if ndim == 1 else X.reshape(X.shape + (1,) * (4 - X.ndim))
    if ndim == 4 and case.ndim == 2:
        X_bad = X.reshape(20, 3, 1, 1)
    y_bad = y if y is None or ndim == 4 else np.resize(y, len(X_bad))
    with pytest.raises(ValueError, match="[0-9]D|dimension|-D|dim [0-9]"):
        case.fit(case.make(), X_bad, y_bad)


@pytest.mark.parametrize("case", [c for c in CASES if c.supervised], ids=lambda c: c.name)
def test_x_and_y_of_different_lengths_are_rejected(case):
    X, y = case.data(np.random.RandomState(0), 20)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        case.fit(case.make(), X, y[:-1])


@pytest.mark.parametrize(
    "case, param, value",
    [(c, p, v) for c in CASES for p, v in c.invalid_params.items()],
    ids=lambda x: x.name if isinstance(x, Case) else str(x),
)
def test_invalid_hyperparameters_are_caught_at_fit(case, param, value):
    est = case.make(**{param: value})  # __init__ stores, never validates
    X, y = case.data(np.random.RandomState(0), 20)
    with pytest.raises(ValueError, match=f"'{param}' parameter"):
        case.fit(est, X, y)
    # Checked before anything is fitted: no half-fitted estimator is left behind.
    with pytest.raises(NotFittedError):
        case.apply(est, X)
    assert est.get_params()[param] == value  # and the parameter is left as given


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_use_before_fit_raises_not_fitted(case):
    X, _ = case.data(np.random.RandomState(0), 10)
    with pytest.raises(NotFittedError):
        case.apply(case.make(), X)


@pytest.mark.parametrize(
    "method, args",
    [("save_weights", (io.BytesIO(),)), ("export_torchscript", (io.BytesIO(),)),
     ("plot_history", ())],
)  # fmt: skip
def test_sklstm_methods_refuse_an_unfitted_regressor(method, args):
    reg = LSTMRegressor(**FAST_LSTM)
    with pytest.raises(NotFittedError, match="LSTMRegressor instance is not fitted"):
        getattr(reg, method)(*args)
    assert args == () or args[0].getvalue() == b""  # nothing was written


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_other_number_of_channels_at_predict_is_rejected(case):
    est, X, _ = _fitted(case)
    X_more = np.concatenate([X, X[..., :1]], axis=-1)
    with pytest.raises(ValueError, match="channel|features|columns"):
        case.apply(est, X_more)


def test_device_cuda_without_cuda_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error is for machines without it")
    X, y = _sequences(np.random.RandomState(0), 10)
    with pytest.raises(ValueError, match="CUDA is not available.*device='cpu'"):
        LSTMRegressor(device="cuda", **FAST_LSTM).fit(X, y)


def test_series_shorter_than_lookback_is_rejected():
    with pytest.raises(ValueError, match=r"needs at least lookback \+ horizon = 5 \+ 1 = 6"):
        make_windows(np.arange(5.0), lookback=5)
    with pytest.raises(ValueError, match="at least .* = 7"):
        make_windows(np.arange(6.0), lookback=4, horizon=3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lookback": -1}, "lookback"),
        ({"lookback": 2, "horizon": 0}, "horizon"),
        ({"lookback": 2, "stride": 1.5}, "stride"),
    ],
)
def test_make_windows_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_windows(np.arange(20.0), **kwargs)


def test_make_windows_rejects_nan_and_strings():
    with pytest.raises(ValueError, match="NaN"):
        make_windows(np.array([1.0, np.nan, 3.0, 4.0]), lookback=2)
    with pytest.raises(TypeError, match="make_windows: y must hold numbers only"):
        make_windows(np.array(["a", "b", "c", "d"]), lookback=2)


# ---------------------------------------------------------------------------
# Degenerate but valid input gives finite results


def _assert_finite(out):
    assert np.isfinite(np.asarray(out, dtype=np.float64)).all()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_constant_input_gives_finite_results(case):
    X, y = case.data(np.random.RandomState(0), 20)
    X_const = np.full_like(X, 3.5)
    est = case.fit(case.make(), X_const, None if y is None else np.full_like(y, -2.0))
    out = case.apply(est, X_const)
    _assert_finite(out)
    if case.supervised:  # a constant target is predicted as that constant
        np.testing.assert_allclose(out, -2.0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_constant_column_gives_finite_results(case):
    X, y = case.data(np.random.RandomState(0), 20)
    X = X.copy()
    X[..., 0] = 7.0
    _assert_finite(case.apply(case.fit(case.make(), X, y), X))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_single_sample_gives_finite_results(case):
    X, y = case.data(np.random.RandomState(0), 1)
    _assert_finite(case.apply(case.fit(case.make(), X, y), X))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("magnitude", [1e30, 1e-30])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_magnitudes_give_finite_results(case, magnitude, dtype):
    X, y = case.data(np.random.RandomState(0), 20)
    X = (X * magnitude).astype(dtype)
    y = None if y is None else y * magnitude
    out = case.apply(case.fit(case.make(), X, y), X)
    _assert_finite(out)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_integer_input_is_accepted(case):
    X, y = case.data(np.random.RandomState(0), 20)
    X_int = np.rint(X * 10).astype(np.int64)
    _assert_finite(case.apply(case.fit(case.make(), X_int, y), X_int))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("kind", ["read-only", "memmap"])
def test_read_only_and_memmapped_inputs_are_never_modified(case, kind, tmp_path):
    X, y = case.data(np.random.RandomState(0), 20)
    X_before, y_before = X.copy(), None if y is None else y.copy()
    if kind == "memmap":
        path = tmp_path / "X.npy"
        np.save(path, X)
        X = np.load(path, mmap_mode="r")
    else:
        X = X.copy()
        X.flags.writeable = False
    if y is not None:
        y = y.copy()
        y.flags.writeable = False
    est = case.fit(case.make(), X, y)
    _assert_finite(case.apply(est, X))
    np.testing.assert_array_equal(X, X_before)
    if y is not None:
        np.testing.assert_array_equal(y, y_before)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_writeable_inputs_are_not_modified_either(case):
    X, y = case.data(np.random.RandomState(0), 20)
    X_before, y_before = X.copy(), None if y is None else y.copy()
    est = case.fit(case.make(), X, y)
    case.apply(est, X)
    np.testing.assert_array_equal(X, X_before)
    if y is not None:
        np.testing.assert_array_equal(y, y_before)


# ---------------------------------------------------------------------------
# Persistence


def _round_trip(obj, how, tmp_path):
    if how == "pickle":
        return pickle.loads(pickle.dumps(obj))
    path = tmp_path / "model.joblib"
    joblib.dump(obj, path)
    return joblib.load(path)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_round_trips_give_identical_results(case, how, tmp_path):
    est, X, _ = _fitted(case)
    loaded = _round_trip(est, how, tmp_path)
    np.testing.assert_array_equal(case.apply(loaded, X), case.apply(est, X))


@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_pipeline_round_trips_give_identical_predictions(how, tmp_path):
    rng = np.random.RandomState(0)
    table = rng.normal(size=(40, 2))
    y = np.roll(table[:, 0], -1)
    pipe = make_pipeline(
        WindowTransformer(lookback=4), SequenceScaler(), LSTMRegressor(**FAST_LSTM)
    )
    pipe.fit(table, y)
    loaded = _round_trip(pipe, how, tmp_path)
    np.testing.assert_array_equal(loaded.predict(table), pipe.predict(table))


# ---------------------------------------------------------------------------
# The torch module


def test_peephole_lstm_bad_input_errors_are_clear():
    import torch

    lstm = PeepholeLSTM(2, 3)
    with pytest.raises(ValueError, match="input_size=2"):
        lstm(torch.randn(4, 1, 5))
    with pytest.raises(TypeError, match="floating-point"):
        lstm(torch.ones(4, 1, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="must be 3-D"):
        lstm(torch.randn(4, 1, 2, 1))


# ---------------------------------------------------------------------------
# Fuzzing: random shapes, dtypes and hyperparameters either work (finite
# output of the right shape) or raise one of the documented exceptions.

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DOCUMENTED = (ValueError, TypeError)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from([np.float32, np.float64, np.int64])


def mostly(valid, invalid):
    """Values from ``valid`` four times in five, else from ``invalid``."""
    return st.sampled_from([True, True, True, True, False]).flatmap(
        lambda ok: valid if ok else invalid
    )


@FUZZ
@given(
    n=mostly(st.integers(1, 10), st.just(0)),
    seq_len=mostly(st.integers(1, 5), st.just(0)),
    channels=st.integers(1, 3),
    dtype=DTYPES,
    y_cols=st.integers(0, 2),
    params=st.fixed_dictionaries(
        {
            "hidden_size": mostly(st.integers(1, 4), st.integers(-1, 0)),
            "num_layers": mostly(st.integers(1, 3), st.just(0)),
            "dropout": mostly(st.floats(0, 0.9), st.floats(-0.5, 1.5)),
            "peephole": mostly(st.sampled_from(["diagonal", "full", "none"]), st.just("both")),
            "batch_size": mostly(st.one_of(st.just("auto"), st.integers(1, 6)), st.just(0)),
            "early_stopping": st.booleans(),
            "max_iter": mostly(st.integers(1, 2), st.just(0)),
        }
    ),
)
def test_fuzz_lstm_regressor(n, seq_len, channels, dtype, y_cols, params):
    rng = np.random.RandomState(0)
    X = (rng.normal(size=(n, seq_len, channels)) * 3).astype(dtype)
    y = rng.normal(size=n) if y_cols == 0 else rng.normal(size=(n, y_cols))
    try:
        reg = LSTMRegressor(random_state=0, **params).fit(X, y)
    except DOCUMENTED as exc:
        assert str(exc)
        event("rejected")
        return
    event("fitted")
    pred = reg.predict(X)
    assert pred.shape == y.shape
    _assert_finite(pred)


@FUZZ
@given(
    n=st.integers(0, 12),
    channels=st.integers(0, 3),
    dtype=DTYPES,
    lookback=st.integers(-1, 6),
    output=st.sampled_from(["3d", "flat", "2d"]),
    padding=st.sampled_from(["edge", "constant", "wrap"]),
)
def test_fuzz_window_transformer(n, channels, dtype, lookback, output, padding):
    X = (np.random.RandomState(0).normal(size=(n, channels)) * 3).astype(dtype)
    try:
        out = WindowTransformer(lookback=lookback, output=output, padding=padding).fit_transform(X)
    except DOCUMENTED as exc:
        assert str(exc)
        return
    assert out.shape[0] == n
    _assert_finite(out)


@FUZZ
@given(
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    dtype=DTYPES,
    method=st.sampled_from(["standard", "minmax", "robust", "max"]),
    low=st.floats(-2, 2),
    width=st.floats(-1, 3),
)
def test_fuzz_sequence_scaler(shape, dtype, method, low, width):
    X = (np.random.RandomState(0).normal(size=shape) * 3).astype(dtype)
    scaler = SequenceScaler(method=method, feature_range=(low, low + width))
    try:
        out = scaler.fit_transform(X)
    except DOCUMENTED as exc:
        assert str(exc)
        return
    assert out.shape == X.shape
    _assert_finite(out)
    _assert_finite(scaler.inverse_transform(out))


@FUZZ
@given(
    n=st.integers(0, 15),
    y_cols=st.integers(0, 2),
    x_cols=st.integers(-1, 2),
    dtype=DTYPES,
    lookback=st.integers(-1, 6),
    horizon=st.integers(-1, 4),
    stride=st.integers(-1, 3),
)
def test_fuzz_make_windows(n, y_cols, x_cols, dtype, lookback, horizon, stride):
    rng = np.random.RandomState(0)
    y = rng.normal(size=n if y_cols == 0 else (n, y_cols)).astype(dtype)
    X = None if x_cols < 0 else rng.normal(size=(n, x_cols)).astype(dtype)
    try:
        windows, targets = make_windows(y, X, lookback=lookback, horizon=horizon, stride=stride)
    except DOCUMENTED as exc:
        assert str(exc)
        return
    assert windows.shape[1] == lookback and len(windows) == len(targets)
    _assert_finite(windows)
    _assert_finite(targets)


@FUZZ
@given(
    seq_len=st.integers(0, 5),
    batch=st.integers(0, 3),
    input_size=st.integers(1, 3),
    hidden_size=st.integers(-1, 4),
    num_layers=st.integers(0, 3),
    peephole=st.sampled_from(["diagonal", "full", "none", "other"]),
    batch_first=st.booleans(),
    dims=st.integers(1, 4),
)
def test_fuzz_peephole_lstm(
    seq_len, batch, input_size, hidden_size, num_layers, peephole, batch_first, dims
):
    import torch

    try:
        lstm = PeepholeLSTM(
            input_size, hidden_size, num_layers, batch_first=batch_first, peephole=peephole
        )
        shape = [(seq_len,), (seq_len, input_size), (seq_len, batch, input_size)][min(dims, 3) - 1]
        if dims == 4:
            shape = shape + (1,)
        out, (h, c) = lstm(torch.randn(shape))
    except DOCUMENTED as exc:
        assert str(exc)
        return
    assert out.shape[-1] == hidden_size
    assert torch.isfinite(out).all() and torch.isfinite(h).all() and torch.isfinite(c).all()


# ---------------------------------------------------------------------------
# Training faults and reproducibility


def test_out_of_memory_suggests_a_smaller_batch_size(monkeypatch):
    import skorch
    import torch

    def boom(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(skorch.NeuralNetRegressor, "partial_fit", boom)
    X, y = _sequences(np.random.RandomState(0), 20)
    with pytest.raises(torch.OutOfMemoryError, match="smaller batch_size.*Tried to allocate"):
        LSTMRegressor(batch_size=8, **FAST_LSTM).fit(X, y)


def test_grid_search_in_two_processes_is_bit_identical_to_one():
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

    X, y = _sequences(np.random.RandomState(0), 48)
    grid = {"hidden_size": [2, 3], "dropout": [0.0, 0.3], "num_layers": [2]}

    def search(n_jobs):
        return GridSearchCV(
            LSTMRegressor(max_iter=2, random_state=0, device="cpu"),
            grid,
            cv=TimeSeriesSplit(n_splits=2),
            n_jobs=n_jobs,
        ).fit(X, y)

    serial, parallel = search(1), search(2)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], parallel.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(serial.predict(X), parallel.predict(X))


# ---------------------------------------------------------------------------
# LSTMForecaster: the same list, through sktime's fit(y, X, fh) / predict(fh, X)


def _forecaster(**kw):
    from sklstm import LSTMForecaster

    params = dict(lookback=4, hidden_size=3, max_iter=2, n_models=1, random_state=0)
    return LSTMForecaster(**{**params, **kw})


def _series(n=30, columns=("y",), seed=0):
    import pandas as pd

    rng = np.random.RandomState(seed)
    index = pd.period_range("2000-01", periods=n, freq="M")
    values = 10 + np.cumsum(rng.normal(size=(n, len(columns))), axis=0)
    return pd.DataFrame(values, index=index, columns=list(columns))


FH = [1, 2, 3]


@pytest.fixture
def _sktime():
    return pytest.importorskip("sktime", reason="LSTMForecaster needs sktime")


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_forecaster_rejects_nan_and_inf(_sktime, bad):
    y = _series()
    y.iloc[5, 0] = bad
    with pytest.raises(ValueError, match="NaN|inf|missing"):
        _forecaster().fit(y, fh=FH)


def test_forecaster_rejects_strings_and_empty_series(_sktime):
    import pandas as pd

    with pytest.raises((ValueError, TypeError)):
        _forecaster().fit(pd.Series(["a"] * 20), fh=FH)
    with pytest.raises(ValueError, match="LSTMForecaster: y has 0 time points"):
        _forecaster().fit(_series().iloc[:0], fh=FH)


@pytest.mark.parametrize(
    "param, value",
    [
        ("hidden_size", 0),
        ("dropout", 1.5),
        ("lookback", -1),
        ("peephole", "sideways"),
        ("device", "tpu9"),
        ("strategy", "iterated"),
        ("n_models", 0),
    ],
)
def test_forecaster_invalid_hyperparameters_are_caught_at_fit(_sktime, param, value):
    forecaster = _forecaster(**{param: value})  # __init__ stores, never validates
    with pytest.raises(ValueError, match=param):
        forecaster.fit(_series(), fh=FH)


def test_forecaster_methods_of_its_own_refuse_an_unfitted_model(_sktime):
    """sktime guards predict itself; these are the forecaster's own methods."""
    from skbase._exceptions import NotFittedError as SkbaseNotFittedError  # sktime's own

    with pytest.raises((NotFittedError, SkbaseNotFittedError), match="LSTMForecaster"):
        _forecaster().plot_history()
    with pytest.raises(ValueError, match="forecast_panel needs pretrain first"):
        _forecaster().forecast_panel(_series())
    fitted = _forecaster().fit(_series(), fh=FH)  # fitted, but never pretrained
    with pytest.raises(ValueError, match="forecast_panel needs pretrain first"):
        fitted.forecast_panel(_series())


def test_forecaster_other_exogenous_columns_at_predict_are_rejected(_sktime):
    y = _series(40)
    X = _series(43, columns=("a", "b"), seed=1)
    forecaster = _forecaster().fit(y, X=X.iloc[:40], fh=FH)
    with pytest.raises(ValueError, match="column"):
        forecaster.predict(fh=FH, X=X.iloc[40:][["a"]])


def test_forecaster_x_of_another_length_is_aligned_by_time_or_rejected(_sktime):
    import pandas as pd

    y = _series(40)  # 2000-01 .. 2003-04
    X = _series(47, columns=("a", "b"), seed=1)
    X.index = pd.period_range("1999-09", periods=47, freq="M")  # 4 months before y too
    future = X.loc[y.index[-1] + 1 :]
    assert len(future) == len(FH)
    longer = _forecaster().fit(y, X=X, fh=FH).predict(X=future)
    cropped = _forecaster().fit(y, X=X.loc[y.index[0] : y.index[-1]], fh=FH).predict(X=future)
    pd.testing.assert_frame_equal(longer, cropped)  # X's rows are matched to y's by time
    shifted = X.iloc[: len(y)].set_axis(y.index)  # X read by position instead: 4 months off
    assert not _forecaster().fit(y, X=shifted, fh=FH).predict(X=future).equals(cropped)
    with pytest.raises(ValueError, match="not contained in index"):  # X misses y's times
        _forecaster().fit(y, X=X.iloc[:20], fh=FH)


def test_forecaster_series_shorter_than_lookback_shrinks_it_with_a_warning(_sktime):
    with pytest.warns(UserWarning, match="lookback"):
        forecaster = _forecaster(lookback=30).fit(_series(20), fh=FH)
    assert forecaster.lookback_ < 30
    _assert_finite(forecaster.predict(fh=FH))


def test_forecaster_series_shorter_than_the_horizon_is_rejected(_sktime):
    with pytest.raises(ValueError, match="time point|horizon|short"):
        _forecaster().fit(_series(3), fh=[1, 2, 3, 4, 5])


@pytest.mark.parametrize(
    "make",
    [
        lambda: _series() * 0 + 5.0,  # constant
        lambda: _series() * 1e30,
        lambda: _series() * 1e-30,
        lambda: _series().round().astype(int),
    ],
    ids=["constant", "1e30", "1e-30", "integer"],
)
def test_forecaster_degenerate_series_give_finite_forecasts(_sktime, make):
    y = make()
    forecaster = _forecaster().fit(y, fh=FH)
    _assert_finite(forecaster.predict())
    _assert_finite(forecaster.predict_interval(coverage=0.9))


def test_forecaster_does_not_modify_its_input(_sktime):
    y = _series()
    before = y.copy()
    _forecaster().fit(y, fh=FH).predict()
    assert y.equals(before)


@pytest.mark.parametrize("how", ["pickle", "joblib"])
def test_forecaster_round_trips_give_identical_forecasts(_sktime, how, tmp_path):
    forecaster = _forecaster().fit(_series(), fh=FH)
    loaded = _round_trip(forecaster, how, tmp_path)
    assert loaded.predict().equals(forecaster.predict())

"""ONNX export of LSTMForecaster: the graph gives ``predict``'s forecast without torch.

Every case is a tiny forecaster fitted and exported here; one subprocess, in which importing
torch, sklstm, scikit-learn, sktime or skl2onnx fails, feeds each saved ``.onnx`` file the
newest window (``y``, and ``X``: past and future rows) with onnxruntime and compares its
output with ``predict(fh=1..n_steps)`` saved next to it. The error measured is
``max |onnx - predict| / max |predict|`` in float32.
"""

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import onnx
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

pytest.importorskip("sktime")

from sktime.datasets import load_airline  # noqa: E402

from sklstm import LSTMForecaster, LSTMRegressor, to_onnx  # noqa: E402

TOL = 1e-5


def _f32(values):
    """Values exactly representable in float32 (the graph's input type)."""
    return np.asarray(values, dtype=np.float64).astype(np.float32).astype(np.float64)


def _airline():
    y = load_airline()
    return pd.Series(_f32(y.to_numpy()), index=y.index, name=y.name)


def _random_walk(n=120, seed=3):
    rng = np.random.RandomState(seed)
    index = pd.period_range("2000-01", periods=n, freq="M")
    return pd.Series(_f32(100 + np.cumsum(rng.normal(0, 1, n))), index=index)


def _trend_season(n=120, seed=5):
    """A multiplicative season on a linear trend: the theta baseline's home ground."""
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    values = (100 + 0.5 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 0.3, n)
    return pd.Series(_f32(values), index=pd.period_range("2000-01", periods=n, freq="M"))


def _daily(n=300, seed=6):
    """A positive daily series with a weekly season (sp 7, odd) and a trend, 300 days."""
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    values = (50 + 0.1 * t) * (1 + 0.1 * np.sin(2 * np.pi * t / 7)) + rng.normal(0, 0.5, n)
    return pd.Series(_f32(values), index=pd.date_range("2020-01-01", periods=n, freq="D"))


def _weighted(forecaster, name):
    """``forecaster`` with its blend set to half ``name``: every baseline's graph is run."""
    forecaster.baseline_weights_ = {
        **dict.fromkeys(forecaster.baseline_weights_, 0.0),
        "network": 0.5,
        name: 0.5,
    }
    return forecaster


def _exog(y, n_ahead, seed=4):
    rng = np.random.RandomState(seed)
    index = pd.period_range(y.index[0], periods=len(y) + n_ahead, freq=y.index.freq)
    values = np.column_stack(
        [np.sin(np.arange(len(index)) / 3.0), rng.normal(5.0, 2.0, len(index))]
    )
    X = pd.DataFrame(_f32(values), index=index, columns=["a", "b"])
    return X.iloc[: len(y)], X.iloc[len(y) :]


def _forecaster(**kw):
    params = {"lookback": 14, "hidden_size": 4, "max_iter": 3, "n_models": 1, "random_state": 0}
    return LSTMForecaster(**{**params, **kw})


FH = [1, 2, 3]


def _case(forecaster, n_steps=None, X_future=None):
    """(model, feeds, expected): the graph, its inputs and predict(fh=1..n_steps)."""
    model = to_onnx(forecaster, n_steps=n_steps)
    steps = model.graph.output[0].type.tensor_type.shape.dim[0].dim_value
    L, C = forecaster.lookback_, forecaster.context_
    feeds = {"y": forecaster._hist_y.to_numpy(dtype=np.float32)[-C:]}
    if X_future is not None:
        n_future = max(steps, forecaster.horizon_)
        rows = [forecaster._hist_X.to_numpy()[-L:], X_future.to_numpy()[:n_future]]
        feeds["X"] = np.concatenate(rows).astype(np.float32)
    if forecaster.strategy == "recursive":
        expected = forecaster.predict(fh=np.arange(1, steps + 1), X=X_future).to_numpy()
    else:  # fh was fixed at fit (1 .. horizon_): the first steps of that forecast
        expected = forecaster.predict(X=X_future).to_numpy()[:steps]
    return model, feeds, expected.reshape(steps, -1)


def _cases():
    """name -> (model, feeds, expected), plus the fitted baseline weights of each."""
    y = _airline()
    cases, weights = {}, {}

    def add(name, forecaster, **kw):
        cases[name] = _case(forecaster, **kw)
        weights[name] = dict(forecaster.baseline_weights_)

    f = _forecaster(n_models=2).fit(y, fh=FH)
    assert f.member_modes_ == ["mean", "mean", "season", "season"]
    add("auto-mean-season", f)
    add("auto-two-steps", f, n_steps=2)  # fewer steps than the horizon
    for scaling in ("both", "mean", "none"):
        add(f"scaling-{scaling}", _forecaster(window_scaling=scaling).fit(y, fh=FH))
    add("scaling-last", _forecaster(window_scaling="last", n_models=2).fit(y, fh=FH))
    add("recursive", _forecaster(strategy="recursive").fit(y, fh=[1, 2, 3, 4, 5]))
    rec = _forecaster(strategy="recursive", window_scaling="none", peephole="full").fit(y)
    add("recursive-n-steps-7", rec, n_steps=7)
    X, X_future = _exog(y, 6)
    add("exog-multioutput", _forecaster().fit(y, X=X, fh=FH), X_future=X_future)
    exog_rec = _forecaster(strategy="recursive", window_scaling="both").fit(y, X=X)
    add("exog-recursive", exog_rec, n_steps=6, X_future=X_future)
    add("random-walk-blend", _forecaster(lookback=12).fit(_random_walk(), fh=FH))
    add("no-blend", _forecaster(blend_baselines=False).fit(y, fh=FH))
    add("theta-blend", _forecaster(lookback=24).fit(_trend_season(), fh=FH))
    for peephole in ("none", "full"):
        add(f"peephole-{peephole}", _forecaster(peephole=peephole).fit(y, fh=FH))
    add("two-layers", _forecaster(num_layers=2, window_scaling="mean").fit(y, fh=FH))
    y2 = pd.DataFrame({"a": y, "b": _f32(y.to_numpy()[::-1] * 0.5 + 10.0)}, index=y.index)
    add("multivariate-y", _forecaster(window_scaling="both").fit(y2, fh=FH))
    updated = _forecaster().fit(y.iloc[:-6], fh=FH)
    updated.update(y.iloc[-6:], update_params=False)  # the window moves, the weights do not
    add("after-update", updated)
    # 300 days: the graph reads the newest context_ = 200 rows (of 300) and crops the
    # newest lookback_ = 14 for the networks; sp 7 (odd: a plain 7-day moving average)
    daily = _daily()
    for name in ("seasonal_naive", "naive", "drift", "theta"):
        f = _forecaster().fit(daily.iloc[:-10], fh=FH)
        assert (f.lookback_, f.context_, f.sp_) == (14, 200, 7)
        add(f"long-{name}", _weighted(f, name))
    f.update(daily.iloc[-10:], update_params=False)  # the newest 200 of 300 rows now
    add("long-theta-after-update", f)
    return cases, weights


RUNNER = textwrap.dedent(
    """
    import importlib.abc, json, sys

    BLOCKED = {"torch", "sklstm", "sklearn", "skl2onnx", "skorch", "sktime", "pandas"}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked in this test")

    sys.meta_path.insert(0, Blocker())
    for name in BLOCKED:
        sys.modules[name] = None
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    errors = {}
    for name, inputs in json.load(open("cases.json")).items():
        session = ort.InferenceSession(f"{name}.onnx", options, providers=["CPUExecutionProvider"])
        assert sorted(i.name for i in session.get_inputs()) == sorted(inputs), name
        feeds = {key: np.load(f"{name}.{key}.npy") for key in inputs}
        expected = np.load(f"{name}.expected.npy")
        out = session.run(["y_pred"], feeds)[0]
        assert out.dtype == np.float32, (name, out.dtype)
        assert out.shape == expected.shape, (name, out.shape, expected.shape)
        errors[name] = float(np.abs(out - expected).max() / np.abs(expected).max())
    loaded = [m for m in BLOCKED if sys.modules.get(m) is not None]
    assert not loaded, loaded
    print(json.dumps(errors))
    """
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(relative error per case measured by onnxruntime alone, fitted weights per case)."""
    folder = tmp_path_factory.mktemp("onnx_forecaster")
    cases, weights = _cases()
    for name, (model, feeds, expected) in cases.items():
        onnx.save_model(model, str(folder / f"{name}.onnx"))
        for key, value in feeds.items():
            np.save(folder / f"{name}.{key}.npy", value)
        np.save(folder / f"{name}.expected.npy", expected)
    (folder / "cases.json").write_text(
        json.dumps({name: sorted(feeds) for name, (_, feeds, _) in cases.items()})
    )
    result = subprocess.run(
        [sys.executable, "-c", RUNNER],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), weights, cases


CASE_NAMES = [
    "auto-mean-season",
    "auto-two-steps",
    "scaling-both",
    "scaling-mean",
    "scaling-none",
    "scaling-last",
    "recursive",
    "recursive-n-steps-7",
    "exog-multioutput",
    "exog-recursive",
    "random-walk-blend",
    "no-blend",
    "theta-blend",
    "peephole-none",
    "peephole-full",
    "two-layers",
    "multivariate-y",
    "after-update",
    "long-seasonal_naive",
    "long-naive",
    "long-drift",
    "long-theta",
    "long-theta-after-update",
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_onnxruntime_alone_reproduces_predict(exported, case):
    errors, _, _ = exported
    print(f"{case}: max relative error {errors[case]:.1e}")
    assert errors[case] <= TOL, (case, errors[case])


def test_every_case_is_checked_and_shapes_follow_n_steps(exported):
    errors, _, cases = exported
    assert sorted(errors) == sorted(CASE_NAMES)
    shapes = {name: expected.shape for name, (_, _, expected) in cases.items()}
    assert shapes["auto-mean-season"] == (3, 1) and shapes["auto-two-steps"] == (2, 1)
    assert shapes["recursive"] == (5, 1) and shapes["recursive-n-steps-7"] == (7, 1)
    assert shapes["exog-recursive"] == (6, 1) and shapes["multivariate-y"] == (3, 2)
    assert cases["exog-recursive"][1]["X"].shape == (14 + 6, 2)  # past and future rows
    assert cases["exog-multioutput"][1]["X"].shape == (14 + 3, 2)


def test_the_blend_is_exercised(exported):
    _, weights, _ = exported
    # the random walk leans on a baseline: the graph's blend is not a no-op there
    assert 0.0 < weights["random-walk-blend"]["network"] < 1.0
    assert max(weights["random-walk-blend"][k] for k in ("seasonal_naive", "naive", "drift")) > 0
    assert weights["no-blend"]["network"] == 1.0
    # the theta baseline (deseasonalised: lookback 24 = two seasons) is in a graph too
    assert weights["theta-blend"]["theta"] > 0.5, weights["theta-blend"]


def test_graph_structure(exported):
    _, _, cases = exported
    ops = {name: [n.op_type for n in model.graph.node] for name, (model, _, _) in cases.items()}
    # one LSTM operator per network of the ensemble (2 modes x 2 models), no Loop
    assert ops["auto-mean-season"].count("LSTM") == 4 and "Loop" not in ops["auto-mean-season"]
    assert "Scan" in ops["peephole-full"] and "LSTM" not in ops["peephole-full"]
    for name in ("recursive", "recursive-n-steps-7", "exog-recursive"):
        assert ops[name].count("Loop") == 1 and "LSTM" not in ops[name], name
    inputs = {name: [i.name for i in model.graph.input] for name, (model, _, _) in cases.items()}
    assert inputs["auto-mean-season"] == ["y"] and inputs["exog-multioutput"] == ["y", "X"]


def test_clear_errors():
    y = _airline()
    with pytest.raises(NotFittedError):
        to_onnx(_forecaster())
    f = _forecaster(max_iter=1).fit(y, fh=FH)
    with pytest.raises(ValueError, match="predicts 3 step"):
        to_onnx(f, n_steps=4)
    with pytest.raises(ValueError, match="positive int"):
        to_onnx(f, n_steps=0)
    rec = _forecaster(strategy="recursive", max_iter=1).fit(y)
    with pytest.raises(ValueError, match="pass n_steps"):
        to_onnx(rec)
    X = np.random.RandomState(0).normal(size=(20, 4, 1)).astype(np.float32)
    reg = LSTMRegressor(hidden_size=3, max_iter=1, random_state=0).fit(X, X[:, -1, 0])
    with pytest.raises(ValueError, match="n_steps is for an LSTMForecaster"):
        to_onnx(reg, n_steps=3)
    # a panel is forecast series by series: one fitted forecaster per series
    index = pd.MultiIndex.from_product([["a", "b"], y.index[:48]])
    panel = pd.DataFrame({"y": np.concatenate([y.to_numpy()[:48]] * 2)}, index=index)
    vectorized = _forecaster(lookback=6, max_iter=1).fit(panel, fh=FH)
    with pytest.raises(ValueError, match="forecasters_"):
        to_onnx(vectorized)
    # an sktime composite: export the forecaster inside it (skl2onnx cannot convert it)
    from sktime.transformations.series.boxcox import LogTransformer

    with warnings.catch_warnings():  # sktime's remember_data notice (its __init__, at fit)
        warnings.simplefilter("ignore", FutureWarning)
        composite = (LogTransformer() * _forecaster(max_iter=1)).fit(y, fh=FH)
    with pytest.raises(TypeError, match=r"not the sktime TransformedTargetForecaster.*"
                       r"to_onnx\(composite.forecaster_\)"):  # fmt: skip
        to_onnx(composite)
    assert to_onnx(composite.forecaster_).graph.output[0].name == "y_pred"


@pytest.mark.parametrize(
    ("L", "sp", "ny", "n_steps", "scale"),
    [
        (36, 12, 1, 18, 1.0),
        (24, 12, 2, 12, 1.0),
        (16, 4, 2, 8, 1.0),
        (20, 1, 1, 6, 1.0),
        (15, 7, 1, 30, 1.0),
        # float32 squares of the one-step errors overflow / vanish at these scales
        (36, 12, 1, 18, 1e20),
        (20, 1, 1, 6, 1e-25),
    ],
)
def test_theta_graph_matches_the_numpy_baseline(L, sp, ny, n_steps, scale):
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    from sklstm._forecast.baselines import theta_forecast
    from sklstm._onnx._forecaster import _theta
    from sklstm._onnx._graph import GraphBuilder

    g = GraphBuilder()
    out = _theta(g, "y", L, n_steps, sp)
    model = g.model(
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [L, ny])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [n_steps, ny])],
        opset=13,
    )
    rng = np.random.RandomState(L)
    t = np.arange(L)[:, None]
    y = _f32(50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / max(sp, 2)) + rng.rand(L, ny))
    if ny == 2:
        y[:, 1] -= 60  # a column with values <= 0 keeps indices of 1
    y = _f32(y * scale)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"y": y.astype(np.float32)})[0]
    want = theta_forecast(y[None], n_steps, sp)[0]
    assert np.abs(got - want).max() / np.abs(want).max() <= TOL


def test_the_graph_grows_with_the_context_not_its_square():
    """5-minute data (sp 288): context_ = 4 x 288 rows, the theta baseline in the graph.

    The constants of the baselines are a few rows of ``context_`` values (the moving
    average is a difference of cumulative sums, the season means a reshape), not the
    ``context_ x context_`` matrix they would be as products.
    """
    n = 1300
    t = np.arange(n)
    values = 20 + np.sin(2 * np.pi * t / 288) + 0.01 * t
    index = pd.date_range("2024-01-01", periods=n, freq="5min")
    y = pd.Series(_f32(values), index=index)
    f = _forecaster(lookback=8, max_iter=1).fit(y, fh=FH)
    assert f.sp_ == 288 and f.context_ == 4 * 288
    model = to_onnx(_weighted(f, "theta"))
    sizes = {i.name: int(np.prod(i.dims)) for i in model.graph.initializer}
    assert max(sizes.values()) <= 2 * f.context_, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    assert len(model.SerializeToString()) < 200_000

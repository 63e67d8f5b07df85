"""ONNX export: the exported graphs give ``predict``'s outputs in a process without torch.

Every case is fitted and exported here; one subprocess, in which importing torch, sklstm,
scikit-learn or skl2onnx fails, loads each saved ``.onnx`` file with onnxruntime and
compares it with the outputs saved next to it. The error measured is
``max |onnx - expected| / max |expected|`` over the batch, in float32.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import skl2onnx
import torch
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import sklstm.onnx  # noqa: F401  (registers the skl2onnx converters)
from sklstm import LSTMRegressor, SequenceScaler, WindowTransformer, to_onnx

TOL = 1e-5
PEEPHOLES = ("none", "diagonal", "full")


def _reg(peephole="diagonal", num_layers=1, **kw):
    return LSTMRegressor(
        hidden_size=5, num_layers=num_layers, peephole=peephole, max_iter=2, random_state=0, **kw
    )


def _sequences(n=40, seq_len=6, channels=3, seed=0):
    rng = np.random.RandomState(seed)
    X = (rng.normal(size=(n, seq_len, channels)) * [1.0, 3.0, 0.5] + [0.0, 2.0, -1.0]).astype(
        np.float32
    )
    return X, 2.0 * X[:, -1, 0] + X[:, -2, 1] + 3.0


def _table(n=50, seed=1):
    rng = np.random.RandomState(seed)
    T = (rng.normal(size=(n, 3)) * [1.0, 10.0, 3.0] + [0.0, 5.0, 1.0]).astype(np.float32)
    return T, 2.0 * T[:, 0] + 0.1 * T[:, 1] + 3.0


def _network(reg, X):
    """The bare torch network plus the target scaling: predict without its shape checks."""
    with torch.no_grad():
        out = reg.module_(torch.from_numpy(X)).double().numpy()
    out = out * reg.y_scale_ + reg.y_mean_
    return out.ravel() if reg._y_ndim == 1 else out


def _cases():
    """name -> (model, [(X, expected), ...]); model is an onnx.ModelProto."""
    cases = {}
    X, y = _sequences()
    for peephole in PEEPHOLES:
        for num_layers in (1, 2):
            reg = _reg(peephole, num_layers).fit(X, y)
            runs = [(X, reg.predict(X)), (X[:1], reg.predict(X[:1]))]
            # dynamic T: predict refuses another length, the bare network does not
            runs.append((X[:7, :3], _network(reg, np.ascontiguousarray(X[:7, :3]))))
            # a batch of 0 rows (onnxruntime's LSTM operator alone aborts the process on it)
            runs.append((X[:0], np.zeros(0, dtype=np.float32)))
            cases[f"regressor-{peephole}-{num_layers}"] = (to_onnx(reg), runs)
    Y2 = np.stack([y, -y], axis=1)
    reg = _reg("diagonal").fit(X, Y2)
    cases["regressor-two-outputs"] = (to_onnx(reg), [(X, reg.predict(X))])

    T, yt = _table()
    pipes = {
        "pipe-window-edge-scaler": make_pipeline(
            WindowTransformer(5), SequenceScaler(), _reg("diagonal", 2)
        ),
        "pipe-window-constant": make_pipeline(
            WindowTransformer(4, padding="constant", fill_value=-2.0), _reg("full", 2)
        ),
        "pipe-window-flat-scaler": make_pipeline(
            WindowTransformer(3, output="flat"), SequenceScaler(), _reg("none")
        ),
        "pipe-scaler-then-window": make_pipeline(
            SequenceScaler(method="minmax"), WindowTransformer(4), _reg("none", 2)
        ),
        "pipe-lookback-1": make_pipeline(WindowTransformer(1), _reg("full")),
    }
    for name, pipe in pipes.items():
        pipe.fit(T, yt)
        runs = [(T, pipe.predict(T)), (T[:7], pipe.predict(T[:7])), (T[:1], pipe.predict(T[:1]))]
        cases[name] = (to_onnx(pipe), runs)
    window = WindowTransformer(3, output="flat").fit(T)
    cases["window-only"] = (to_onnx(window), [(T, np.asarray(window.transform(T)))])

    # skl2onnx over Pipelines that mix scikit-learn and sklstm steps
    columns = ColumnTransformer([("a", StandardScaler(), [0, 1]), ("b", MinMaxScaler(), [2])])
    mixed = {
        "skl2onnx-standard-window-scaler": make_pipeline(
            StandardScaler(), WindowTransformer(4), SequenceScaler(), _reg("diagonal", 2)
        ),
        "skl2onnx-columns-window-full": make_pipeline(columns, WindowTransformer(4), _reg("full")),
        "skl2onnx-window-flat-ridge": make_pipeline(
            WindowTransformer(3, output="flat"), StandardScaler(), Ridge()
        ),
    }
    for name, pipe in mixed.items():
        pipe.fit(T, yt)
        runs = [(T, pipe.predict(T).reshape(-1, 1)), (T[:7], pipe.predict(T[:7]).reshape(-1, 1))]
        cases[name] = (skl2onnx.to_onnx(pipe, T[:1]), runs)
    return cases


RUNNER = textwrap.dedent(
    """
    import importlib.abc, json, sys

    BLOCKED = {"torch", "sklstm", "sklearn", "skl2onnx", "skorch", "sktime"}

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
    for name in json.load(open("cases.json")):
        session = ort.InferenceSession(f"{name}.onnx", options, providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        errors[name] = []
        for k in range(len(open(f"{name}.runs").read().split())):
            X = np.load(f"{name}.X{k}.npy")
            expected = np.load(f"{name}.y{k}.npy")
            out = session.run(None, {input_name: X})[0]
            assert out.dtype == np.float32, (name, out.dtype)
            assert out.shape == expected.shape, (name, out.shape, expected.shape)
            if expected.size == 0:
                errors[name].append(0.0)
                continue
            scale = max(float(np.abs(expected).max()), 1e-30)
            errors[name].append(float(np.abs(out - expected).max()) / scale)
    loaded = [m for m in ("torch", "sklstm", "sklearn") if sys.modules.get(m) is not None]
    assert not loaded, loaded
    print(json.dumps(errors))
    """
)


@pytest.fixture(scope="module")
def onnx_errors(tmp_path_factory):
    """Relative errors of every case's runs, measured by onnxruntime alone."""
    folder = tmp_path_factory.mktemp("onnx")
    cases = _cases()
    for name, (model, runs) in cases.items():
        onnx.save_model(model, str(folder / f"{name}.onnx"))
        for k, (X, expected) in enumerate(runs):
            np.save(folder / f"{name}.X{k}.npy", np.ascontiguousarray(X, dtype=np.float32))
            np.save(folder / f"{name}.y{k}.npy", np.asarray(expected, dtype=np.float32))
        (folder / f"{name}.runs").write_text(" ".join(str(k) for k in range(len(runs))))
    (folder / "cases.json").write_text(json.dumps(sorted(cases)))
    result = subprocess.run(
        [sys.executable, "-c", RUNNER],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


CASE_NAMES = (
    [f"regressor-{p}-{n}" for p in PEEPHOLES for n in (1, 2)]
    + ["regressor-two-outputs", "pipe-window-edge-scaler", "pipe-window-constant"]
    + ["pipe-window-flat-scaler", "pipe-scaler-then-window", "pipe-lookback-1", "window-only"]
    + ["skl2onnx-standard-window-scaler", "skl2onnx-columns-window-full"]
    + ["skl2onnx-window-flat-ridge"]
)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_onnxruntime_matches_predict_without_torch(onnx_errors, case):
    errors = onnx_errors[case]
    assert errors and max(errors) <= TOL, (case, errors)
    print(f"{case}: max relative error {max(errors):.1e}")


def test_every_case_is_checked(onnx_errors):
    assert sorted(onnx_errors) == sorted(CASE_NAMES)


def test_graph_uses_the_lstm_operator_and_a_scan_for_full_peepholes(tmp_path):
    X, y = _sequences(n=16)
    ops = {}
    for peephole in PEEPHOLES:
        model = to_onnx(_reg(peephole, 2).fit(X, y), tmp_path / f"{peephole}.onnx")
        assert onnx.load(str(tmp_path / f"{peephole}.onnx")) == model
        ops[peephole] = [node.op_type for node in model.graph.node]
        (x,) = model.graph.input
        dims = [d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim]
        assert dims == ["N", "T", 3]  # dynamic batch and sequence length
    assert ops["none"].count("LSTM") == 2 and "Scan" not in ops["none"]
    lstm = [n for n in to_onnx(_reg("diagonal").fit(X, y)).graph.node if n.op_type == "LSTM"]
    assert len(lstm[0].input) == 8 and lstm[0].input[7]  # the peephole input P
    assert ops["full"].count("Scan") == 2 and "LSTM" not in ops["full"]


def test_clear_errors(tmp_path):
    X, y = _sequences(n=16)
    with pytest.raises(NotFittedError):
        to_onnx(_reg())
    reg = _reg().fit(X, y)
    with pytest.raises(TypeError, match=r"skl2onnx\.to_onnx"):
        to_onnx(make_pipeline(StandardScaler(), reg))
    with pytest.raises(ValueError, match="last step"):
        to_onnx(Pipeline([("reg", reg), ("scale", SequenceScaler())]))
    with pytest.raises(ValueError, match="opset"):
        to_onnx(reg, opset=12)
    T, yt = _table(n=20)
    pipe = make_pipeline(WindowTransformer(3), _reg()).fit(T, yt)
    with pytest.raises(TypeError, match="float32"):
        skl2onnx.to_onnx(pipe, T[:1].astype(np.float64))
    scaler = SequenceScaler().fit(T)  # fitted on 2-D tables, given 3-D windows
    with pytest.raises(ValueError, match="2-D input but gets 3-D"):
        to_onnx(Pipeline([("w", WindowTransformer(3).fit(T)), ("s", scaler)]))


def test_import_sklstm_needs_no_onnx_and_to_onnx_names_the_extra():
    code = textwrap.dedent(
        """
        import sys
        import sklstm
        from sklstm import LSTMRegressor
        assert not [m for m in ("onnx", "skl2onnx", "onnxruntime") if m in sys.modules]
        sys.modules["onnx"] = None  # as if the extra were not installed
        try:
            sklstm.to_onnx
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pip install 'sklstm[onnx]'" in result.stdout


@pytest.mark.filterwarnings("ignore:.*LeafSpec:FutureWarning")  # inside torch.export
def test_peephole_lstm_exports_with_torch_onnx_dynamo():
    from sklstm.nn import PeepholeLSTM

    torch.manual_seed(0)
    # impl="auto": the fused CPU kernel in eager mode, the eager loop under export
    lstm = PeepholeLSTM(3, 4, batch_first=True, peephole="diagonal").eval()
    x = torch.randn(2, 5, 3)
    program = torch.onnx.export(
        lstm, (x,), dynamo=True, dynamic_shapes=({0: "batch"},), verbose=False
    )
    session = ort.InferenceSession(program.model_proto.SerializeToString())
    x = torch.randn(6, 5, 3)  # another batch size
    output, h_n, c_n = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected, (h_ref, c_ref) = lstm(x)
    for got, ref in ((output, expected), (h_n, h_ref), (c_n, c_ref)):
        np.testing.assert_allclose(got, ref.numpy(), rtol=TOL, atol=TOL)

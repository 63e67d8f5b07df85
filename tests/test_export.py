"""export_torchscript: a fitted LSTMRegressor (scaling included) runs with torch alone."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline

from sklstm import LSTMRegressor, SequenceScaler
from sklstm._export import export_torchscript

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*")


def _data(dtype=np.float64, n_outputs=1, seed=0):
    rng = np.random.RandomState(seed)
    X = (rng.normal(size=(48, 7, 3)) * [1.0, 10.0, 0.1] + [0.0, 50.0, -3.0]).astype(dtype)
    y = np.stack([X[:, -1, 0] * 100 + 1000 + k for k in range(n_outputs)], axis=1)
    return X, (y[:, 0] if n_outputs == 1 else y)


def _load(path):
    return torch.jit.load(str(path))


@pytest.mark.parametrize("peephole", ["diagonal", "full", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_export_matches_predict_for_any_batch_size(peephole, dtype, tmp_path):
    X, y = _data(dtype)
    reg = LSTMRegressor(
        hidden_size=5, num_layers=2, dropout=0.1, peephole=peephole, max_iter=3, random_state=0
    ).fit(X, y)
    reg.export_torchscript(tmp_path / "m.pt")
    model = _load(tmp_path / "m.pt")
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for n in (1, 5, 48):
        out = model(torch.from_numpy(X[:n]))
        assert out.shape == (n, 1) and out.dtype == torch.from_numpy(X).dtype
        assert not out.requires_grad
        np.testing.assert_allclose(out[:, 0].numpy(), reg.predict(X[:n]), rtol=tol, atol=tol)


def test_multi_output_and_cast_of_the_input(tmp_path):
    X, y = _data(np.float32, n_outputs=3)
    reg = LSTMRegressor(hidden_size=4, max_iter=2, random_state=0).fit(X, y)
    reg.export_torchscript(tmp_path / "m.pt")
    out = _load(tmp_path / "m.pt")(torch.from_numpy(X.astype(np.float64)))  # cast to float32
    assert out.shape == (48, 3) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), reg.predict(X), rtol=1e-4, atol=1e-3)


def test_scaler_in_front_as_argument_or_pipeline(tmp_path):
    X, y = _data()
    pipe = make_pipeline(
        SequenceScaler(), LSTMRegressor(hidden_size=4, max_iter=3, random_state=0)
    ).fit(X, y)
    expected = pipe.predict(X)
    export_torchscript(pipe, tmp_path / "pipe.pt")
    scaler, reg = pipe[0], pipe[-1]
    reg.export_torchscript(tmp_path / "reg.pt", scaler=scaler)
    for name in ("pipe.pt", "reg.pt"):
        out = _load(tmp_path / name)(torch.from_numpy(X))[:, 0].numpy()
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-8)
    # without the scaler, the exported network sees unscaled inputs: not the pipeline
    reg.export_torchscript(tmp_path / "bare.pt")
    bare = _load(tmp_path / "bare.pt")(torch.from_numpy(X))[:, 0].numpy()
    assert not np.allclose(bare, expected)


def test_wrong_input_shape_is_refused(tmp_path):
    X, y = _data()
    reg = LSTMRegressor(hidden_size=4, max_iter=1, random_state=0).fit(X, y)
    reg.export_torchscript(tmp_path / "m.pt")
    model = _load(tmp_path / "m.pt")
    for bad in (torch.zeros(2, 6, 3), torch.zeros(2, 7, 2), torch.zeros(7, 3)):
        with pytest.raises(Exception, match=r"shape \(n_samples, 7, 3\)"):
            model(bad)


def test_refuses_what_it_cannot_export(tmp_path):
    from sklearn.exceptions import NotFittedError

    from sklstm import WindowTransformer

    with pytest.raises(NotFittedError):
        LSTMRegressor().export_torchscript(tmp_path / "m.pt")
    with pytest.raises(TypeError, match="WindowTransformer cannot be exported"):
        export_torchscript(make_pipeline(WindowTransformer(), LSTMRegressor()), tmp_path / "m")


def test_loads_and_runs_in_a_fresh_process_without_sklstm(tmp_path):
    X, y = _data(np.float32)
    pipe = make_pipeline(
        SequenceScaler(method="minmax"),
        LSTMRegressor(hidden_size=6, peephole="diagonal", max_iter=3, random_state=0),
    ).fit(X, y)
    pipe[-1].export_torchscript(tmp_path / "model.pt", scaler=pipe[0])
    torch.save({"X": torch.from_numpy(X), "y": torch.from_numpy(pipe.predict(X))}, tmp_path / "d")
    code = textwrap.dedent(
        """
        import sys
        for name in ("sklstm", "sklearn", "skorch", "sktime"):
            sys.modules[name] = None  # any import of these now fails
        import torch
        data = torch.load("d", weights_only=True)
        model = torch.jit.load("model.pt")
        out = model(data["X"])[:, 0]
        assert torch.allclose(out, data["y"], rtol=1e-4, atol=1e-3), (out, data["y"])
        assert not any(m.startswith(("sklstm", "sklearn")) for m in sys.modules
                       if sys.modules[m] is not None)
        print("ok", tuple(out.shape))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok (48,)"


def test_export_module_is_a_leaf():
    """_export imports no sklstm module (the regressor imports it at module top)."""
    import ast
    from pathlib import Path

    import sklstm._export

    tree = ast.parse(Path(sklstm._export.__file__).read_text(encoding="utf-8"))
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names]  # fmt: skip
    imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in imported if name.split(".")[0] == "sklstm"], imported

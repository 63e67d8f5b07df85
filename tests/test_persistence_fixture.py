"""A model fitted on a CUDA GPU loads and predicts here, without CUDA.

The model was fitted on an NVIDIA H100 by ``tests/fixtures/make_cuda_fixture.py`` (see
benchmarks/gpu_session.sh), which pickled it there and saved its predictions computed on
the GPU; CI has no GPU, which is the point. See tests/fixtures/README.md.

- The main test reads ``lstm_regressor_cuda_weights.pt``, the ``save_weights`` file of
  that model: plain data (parameters, fitted statistics, history, the H100-trained
  weights), loaded with ``torch.load(weights_only=True)``. It names no class, so it
  survives refactors of sklstm's private modules and of skorch's internals.
- The legacy test unpickles ``lstm_regressor_cuda.pkl`` itself. A pickle names the classes
  it holds by their import paths (``sklstm._training.SequenceToVector``, skorch's
  callbacks, ...): ``PICKLED_SKLSTM_PATHS`` pins the sklstm ones, which must stay
  importable (as aliases, if the classes move) so that such pickles keep loading.
"""

import importlib
import pickle
import pickletools
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.exceptions import InconsistentVersionWarning
from skorch import NeuralNet

import sklstm

FIXTURES = Path(__file__).parent / "fixtures"

#: The sklstm import paths a fitted LSTMRegressor's pickle refers to. A refactor that
#: moves one of these must leave an alias at the old path (pickles made with earlier
#: versions, such as the CUDA fixture, name them).
PICKLED_SKLSTM_PATHS = {
    "sklstm._base.SklstmNet": NeuralNet,  # newer pickles; the CUDA fixture has skorch's net
    "sklstm._regressor.LSTMRegressor": sklstm.LSTMRegressor,
    "sklstm._training.BatchLoader": object,
    "sklstm._training.SequenceToVector": torch.nn.Module,
    "sklstm._training.TrainingGuard": object,
    "sklstm._training.WeightedMSELoss": torch.nn.Module,
    "sklstm.nn._layer.PeepholeLSTM": sklstm.nn.PeepholeLSTM,
}


def _expected():
    X = np.load(FIXTURES / "lstm_regressor_cuda_X.npy")
    return X, np.load(FIXTURES / "lstm_regressor_cuda_pred.npy")  # computed on the GPU


def test_cuda_weights_predict_on_the_cpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # as on a CPU-only machine
    path = FIXTURES / "lstm_regressor_cuda_weights.pt"
    blob = torch.load(path, map_location="cpu", weights_only=True)  # plain data only
    assert blob["params"]["device"] == "cuda"  # it really was fitted on a GPU
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeviceWarning or any other surprise...
        # ...but the file records the sklstm version it was written with.
        warnings.filterwarnings("ignore", message="These weights were saved with sklstm")
        reg = sklstm.LSTMRegressor.load_weights(path)  # device="auto": the CPU here
    assert isinstance(reg, sklstm.LSTMRegressor)
    assert reg.device_ == "cpu"
    assert all(p.device.type == "cpu" for p in reg.module_.parameters())
    assert reg.n_iter_ == blob["params"]["max_iter"] == len(blob["history"])
    X, expected = _expected()
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-9, atol=1e-12)


def test_legacy_cuda_pickle_predicts_on_the_cpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    blob = (FIXTURES / "lstm_regressor_cuda.pkl").read_bytes()
    assert b"cuda" in blob
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # The pickle records the sklearn / sklstm versions it was made with, and newer
        # installs warn about that, which is not what this test is about.
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        warnings.filterwarnings("ignore", message="This LSTMRegressor was pickled with sklstm")
        reg = pickle.loads(blob)
    assert isinstance(reg, sklstm.LSTMRegressor)
    assert reg.device_ == "cpu"
    assert all(p.device.type == "cpu" for p in reg.module_.parameters())
    X, expected = _expected()
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-9, atol=1e-12)


def _pickled_globals(data: bytes) -> set[str]:
    """The ``module.name`` paths a pickle imports (nested pickles included), without loading it."""
    found, memo, pushed = set(), {}, []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = pushed[-1] if pushed else None
        elif op.name in ("GET", "BINGET", "LONG_BINGET"):
            pushed.append(memo.get(arg))
        elif op.name == "GLOBAL":
            found.add(arg.replace(" ", ".", 1))
            pushed.append(None)
        elif op.name == "STACK_GLOBAL":
            found.add(f"{pushed[-2]}.{pushed[-1]}")
            pushed.append(None)
        else:
            if op.name.endswith("BINBYTES") or op.name == "BINBYTES8":
                if arg[:1] == b"\x80":  # a pickle inside (LSTMRegressor pickles its net_)
                    found |= _pickled_globals(arg)
            pushed.append(arg if isinstance(arg, str) else None)
    return found


def test_every_sklstm_path_in_the_pickles_is_pinned():
    """Both the CUDA fixture and a pickle made now name only the pinned sklstm paths."""
    X, _ = _expected()
    fresh = sklstm.LSTMRegressor(hidden_size=2, num_layers=2, max_iter=1, random_state=0)
    fresh.fit(X, X[:, -1, 0])
    for blob in ((FIXTURES / "lstm_regressor_cuda.pkl").read_bytes(), pickle.dumps(fresh)):
        paths = {p for p in _pickled_globals(blob) if p.split(".")[0] == "sklstm"}
        assert "sklstm._training.SequenceToVector" in paths
        assert paths <= set(PICKLED_SKLSTM_PATHS), sorted(paths - set(PICKLED_SKLSTM_PATHS))


@pytest.mark.parametrize("path", sorted(PICKLED_SKLSTM_PATHS))
def test_pickled_sklstm_paths_stay_importable(path):
    module, name = path.rsplit(".", 1)
    obj = getattr(importlib.import_module(module), name)
    assert isinstance(obj, type) and issubclass(obj, PICKLED_SKLSTM_PATHS[path]), obj


@pytest.mark.parametrize(
    "name",
    ["lstm_regressor_cuda_X.npy", "lstm_regressor_cuda_pred.npy"],
)
def test_fixture_arrays_are_finite(name):
    assert np.isfinite(np.load(FIXTURES / name)).all()

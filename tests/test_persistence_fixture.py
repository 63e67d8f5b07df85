"""A model fitted and pickled on a CUDA GPU loads and predicts here, without CUDA.

The fixture was made on an NVIDIA H100 by ``tests/fixtures/make_cuda_fixture.py``
(see benchmarks/gpu_session.sh); CI has no GPU, which is the point.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import InconsistentVersionWarning

import sklstm

FIXTURES = Path(__file__).parent / "fixtures"


def test_cuda_pickle_predicts_on_the_cpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)  # as on a CPU-only machine
    blob = (FIXTURES / "lstm_regressor_cuda.pkl").read_bytes()
    assert b"cuda" in blob  # it really was fitted on a GPU
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeviceWarning or any other surprise...
        # ...but the fixture records the sklearn / sklstm versions it was made with,
        # and newer installs warn about that, which is not what this test is about.
        warnings.simplefilter("ignore", InconsistentVersionWarning)
        warnings.filterwarnings("ignore", message="This LSTMRegressor was pickled with sklstm")
        reg = pickle.loads(blob)
    assert isinstance(reg, sklstm.LSTMRegressor)
    assert reg.device_ == "cpu"
    assert all(p.device.type == "cpu" for p in reg.module_.parameters())
    X = np.load(FIXTURES / "lstm_regressor_cuda_X.npy")
    expected = np.load(FIXTURES / "lstm_regressor_cuda_pred.npy")  # computed on the GPU
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["lstm_regressor_cuda_X.npy", "lstm_regressor_cuda_pred.npy"])
def test_fixture_arrays_are_finite(name):
    assert np.isfinite(np.load(FIXTURES / name)).all()

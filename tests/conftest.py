"""Test configuration shared by the whole suite."""

import os

# Pin torch (and OpenMP/MKL) to one thread before torch is imported anywhere:
# on a 2-core machine whose other core is busy, OpenMP spin-waits made one tiny
# LSTM fit take 41 s with two threads against 0.34 s with one.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# sklearn runs its array-API input check only when SciPy was imported with this set.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(params=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
def device(request):
    """Every available torch device: CPU always, CUDA when present."""
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _no_tf32():
    """Correctness is checked in exact float32: TF32 off for cuDNN and matmuls (torch's
    default lets cuDNN use TF32, which alone gives ~2e-4 relative error)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved

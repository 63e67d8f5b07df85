"""The fast recurrences (cpu_fused, triton) against the float64 reference.

Every check draws fresh random inputs, poisons the outputs with NaN before the
kernels write them, and compares outputs and every gradient by the relative
error ``||out - ref|| / ||ref||``. The Triton kernels run here under Triton's
interpreter (``TRITON_INTERPRET=1``, in a subprocess, on CPU tensors) and, when
a CUDA device is present, compiled on the GPU.

Every random seed is drawn from ``os.urandom`` by :func:`draw_seed`, which prints
it (pytest shows the output of a failed test) and puts it in the assertion
messages; ``SKLSTM_TEST_SEED=<seed>`` replays a failure.
"""

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from sklstm.nn import PeepholeLSTM
from sklstm.nn._kernels import IMPLS, _cpu, _cpu_binding, select_recurrence
from sklstm.nn._kernels._eager import eager_recurrence
from sklstm.nn._reference import reference_lstm, reference_weights
from tests.conftest import requires_cuda

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HAS_TRITON = importlib.util.find_spec("triton") is not None


def _triton_version():
    try:
        return tuple(int(p) for p in importlib.metadata.version("triton").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return (0, 0)


TOL = {torch.float32: 1e-5, torch.float64: 1e-12}
SHAPES = [(1, 1, 5), (3, 2, 50), (4, 5, 130), (2, 3, 16)]  # (seq_len, batch, hidden)


def rel(a, b):
    a, b = a.detach().double(), b.detach().double()
    assert torch.isfinite(a).all(), "non-finite values (an unwritten, poisoned element?)"
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def draw_seed() -> int:
    """A fresh seed (or ``$SKLSTM_TEST_SEED``), printed so that a failure can be replayed."""
    seed = int(os.environ.get("SKLSTM_TEST_SEED") or int.from_bytes(os.urandom(4), "little"))
    print(f"random seed {seed} (replay with SKLSTM_TEST_SEED={seed})")
    return seed


@pytest.fixture(autouse=True)
def seed():
    """Seed torch's global generator for the test (restored after), printing the seed."""
    value = draw_seed()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(value)
        yield value


def random_problem(T, B, H, dtype, device="cpu", seed=None):
    """Random (xw, h0, c0, w_hh, w_ch) and output gradients, as float64 masters."""
    g = torch.Generator().manual_seed(draw_seed() if seed is None else seed)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).to(device)

    ins = [rnd(T, B, 4 * H), rnd(B, H), rnd(B, H), rnd(4 * H, H, scale=H**-0.5), rnd(3 * H)]
    return ins, [rnd(T, B, H), rnd(B, H), rnd(B, H)]


def compare_recurrence(recurrence, T, B, H, dtype, device="cpu"):
    """``(max rel. error of outputs and all gradients against eager float64, seed)``."""
    seed = draw_seed()
    ins64, gouts = random_problem(T, B, H, dtype, device, seed)
    ins = [x.to(dtype).requires_grad_() for x in ins64]
    outs = recurrence(*ins, "diagonal")
    grads = torch.autograd.grad(outs, ins, [g.to(dtype) for g in gouts])
    with torch.no_grad():
        outs_nograd = recurrence(*ins, "diagonal")
    ref_in = [x.clone().requires_grad_() for x in ins64]
    ref = eager_recurrence(*ref_in, "diagonal")
    ref_grads = torch.autograd.grad(ref, ref_in, gouts)
    got = [*outs, *grads, *outs_nograd]
    want = [*ref, *ref_grads, *ref]
    return max(rel(a, b) for a, b in zip(got, want, strict=True)), seed


@pytest.fixture
def poison():
    _cpu._POISON = True
    yield
    _cpu._POISON = False


# --------------------------------------------------------------------------- dispatch


def test_impls_and_auto_dispatch():
    assert IMPLS == ("auto", "eager", "cpu_fused", "triton")
    x32 = torch.zeros(2, 3, 8)
    assert select_recurrence("auto", "diagonal", x32).__name__ == "_cpu_fused_recurrence"
    assert select_recurrence("auto", "diagonal", x32.double()).__name__ == "_cpu_fused_recurrence"
    assert select_recurrence("auto", "diagonal", x32.half()) is eager_recurrence
    assert select_recurrence("auto", "full", x32) is eager_recurrence
    assert select_recurrence("eager", "diagonal", x32) is eager_recurrence
    assert select_recurrence("auto", "diagonal", torch.zeros(0, 3, 8)) is eager_recurrence
    with pytest.raises(ValueError, match="impl must be one of"):
        select_recurrence("cudnn", "diagonal", x32)


def test_triton_is_preferred_below_the_cublas_threshold():
    from sklstm.nn._kernels._triton import triton_preferred

    assert triton_preferred(64, 50) and triton_preferred(64, 512) and triton_preferred(1024, 128)
    assert not triton_preferred(1024, 512)


def test_forced_impls_raise_where_they_cannot_run():
    ins64, _ = random_problem(2, 3, 4, torch.float32)
    xw, h0, c0, w_hh, w_ch = (x.float() for x in ins64)
    fused = select_recurrence("cpu_fused", "diagonal", xw)
    with pytest.raises(ValueError, match="diagonal"):
        fused(xw, h0, c0, w_hh, torch.zeros(16, 4), "full")
    with pytest.raises(ValueError, match="w_hh must have shape"):
        fused(xw, h0, c0, w_hh[:, :3], w_ch, "diagonal")
    with pytest.raises(ValueError, match="dtype of xw"):
        fused(xw, h0, c0, w_hh, w_ch.double(), "diagonal")
    interpreted = os.environ.get("TRITON_INTERPRET") == "1"
    if not (HAS_TRITON and torch.cuda.is_available()) and not interpreted:
        with pytest.raises(ValueError, match="cannot run"):
            select_recurrence("triton", "diagonal", xw)(xw, h0, c0, w_hh, w_ch, "diagonal")


def test_kernel_modules_import_without_triton():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["triton"] = None  # any import of triton fails
        import sklstm.nn._kernels._triton as t
        import sklstm.nn._kernels._triton_kernels as k
        import torch
        assert k.triton is None and not t.triton_available(torch.device("cpu"))
        print("ok")
        """
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr


# --------------------------------------------------------------------------- CPU path


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("variant", ["c_blas", "c_plain", "torch"])
def test_cpu_fused_matches_reference(dtype, variant, poison, monkeypatch):
    if variant == "torch":
        monkeypatch.setattr(_cpu, "compiled_library", lambda: None)
    elif _cpu.compiled_library() is None:
        pytest.skip("no C compiler: the cpu_fused path falls back to its PyTorch loop")
    if variant == "c_plain":
        monkeypatch.setattr(_cpu_binding, "blas_gemm", lambda dtype: None)
    for T, B, H in SHAPES:
        err, seed = compare_recurrence(_cpu.cpu_fused_recurrence, T, B, H, dtype)
        assert err < TOL[dtype], (variant, T, B, H, err, f"seed={seed}")


@pytest.mark.parametrize("variant", ["c", "torch"])
def test_cpu_fused_gradcheck(variant, monkeypatch, seed):
    if variant == "torch":
        monkeypatch.setattr(_cpu, "compiled_library", lambda: None)
    ins64, _ = random_problem(3, 2, 3, torch.float64, seed=seed)
    ins = [x.requires_grad_() for x in ins64]
    assert torch.autograd.gradcheck(
        lambda *a: _cpu.cpu_fused_recurrence(*a, "diagonal"), ins, eps=1e-6, atol=1e-7
    ), f"seed={seed}"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_peephole_lstm_auto_on_cpu_matches_reference(dtype, poison, seed):
    """Through the module: every parameter (weight_ih, biases, w_hh, peepholes), x, h0, c0."""
    lstm = PeepholeLSTM(3, 7, num_layers=2, batch_first=True).to(dtype)
    assert lstm.impl == "auto"
    x = torch.randn(4, 6, 3, dtype=dtype, requires_grad=True)
    h0 = torch.randn(2, 4, 7, dtype=dtype, requires_grad=True)
    c0 = torch.randn(2, 4, 7, dtype=dtype, requires_grad=True)
    out, (hn, cn) = lstm(x, (h0, c0))
    gouts = [torch.randn_like(t) for t in (out, hn, cn)]
    params = [x, h0, c0, *lstm.parameters()]
    grads = torch.autograd.grad((out, hn, cn), params, gouts)
    ref_out, (ref_hn, ref_cn) = reference_lstm(
        x, reference_weights(lstm), (h0, c0), batch_first=True
    )
    ref_grads = torch.autograd.grad((ref_out, ref_hn, ref_cn), params, [g.double() for g in gouts])
    got = [out, hn, cn, *grads]
    want = [ref_out, ref_hn, ref_cn, *ref_grads]
    for a, b in zip(got, want, strict=True):
        assert rel(a, b) < TOL[dtype], f"seed={seed}"
    # the forced impls agree too
    for impl in ("cpu_fused", "eager"):
        other = PeepholeLSTM(3, 7, num_layers=2, batch_first=True, impl=impl).to(dtype)
        other.load_state_dict(lstm.state_dict())
        assert rel(other(x, (h0, c0))[0], ref_out) < TOL[dtype], (impl, f"seed={seed}")


# --------------------------------------------------------------------------- Triton


_INTERPRETER_SCRIPT = """
import json, sys
import torch
sys.path.insert(0, {root!r})
from tests.nn.test_kernels import compare_recurrence, draw_seed
from sklstm.nn import PeepholeLSTM
from sklstm.nn._kernels import _triton
from sklstm.nn._reference import reference_lstm, reference_weights

_triton._POISON = True
errs = {{}}
for dtype in (torch.float32, torch.float64):
    for T, B, H in [(1, 1, 5), (3, 2, 50), (2, 17, 130), (2, 3, 16)]:
        key = f"{{dtype}} T={{T}} B={{B}} H={{H}}"
        errs[key] = compare_recurrence(_triton.triton_recurrence, T, B, H, dtype)
    seed = draw_seed()
    torch.manual_seed(seed)
    lstm = PeepholeLSTM(3, 6, num_layers=2, impl="triton").to(dtype)
    x = torch.randn(4, 2, 3, dtype=dtype, requires_grad=True)
    out, (hn, cn) = lstm(x)
    params = [x, *lstm.parameters()]
    grads = torch.autograd.grad(out.sum() + hn.sum() + cn.sum(), params)
    ref, (rh, rc) = reference_lstm(x, reference_weights(lstm))
    ref_grads = torch.autograd.grad(ref.sum() + rh.sum() + rc.sum(), params)
    errs[f"{{dtype}} module"] = max(
        ((a.double() - b).norm() / b.norm()).item()
        for a, b in zip([out, hn, cn, *grads], [ref, rh, rc, *ref_grads])
    ), seed
print(json.dumps(errs))
"""


@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed (pip install triton)")
@pytest.mark.skipif(
    HAS_TRITON and _triton_version() < (3, 9),
    reason="needs the interpreter of triton>=3.9 (3.6 cannot run loops with run-time bounds)",
)
def test_triton_kernels_under_the_interpreter():
    env = dict(os.environ, TRITON_INTERPRET="1", OMP_NUM_THREADS="1")
    res = subprocess.run(
        [sys.executable, "-c", _INTERPRETER_SCRIPT.format(root=ROOT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    errs = json.loads(res.stdout.strip().splitlines()[-1])
    for key, (err, seed) in errs.items():
        tol = TOL[torch.float64 if "float64" in key else torch.float32]
        assert err < tol, (key, err, f"seed={seed}")


def _gpu_configs(H, dtype):
    from sklstm.nn._kernels._triton import forced_configs

    return forced_configs(H, dtype)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_triton_on_cuda_matches_reference(dtype):
    from sklstm.nn._kernels import _triton

    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    _triton._POISON = True
    try:
        for T, B, H in [(1, 1, 5), (7, 3, 50), (5, 33, 130), (3, 70, 128), (2, 5, 512)]:
            for cfg in _gpu_configs(H, dtype):
                _triton._CONFIG_OVERRIDE = cfg
                err, seed = compare_recurrence(_triton.triton_recurrence, T, B, H, dtype, "cuda")
                assert err < TOL[dtype], (T, B, H, cfg, err, f"seed={seed}")
    finally:
        _triton._POISON = False
        _triton._CONFIG_OVERRIDE = None
        torch.backends.cuda.matmul.allow_tf32 = tf32


@pytest.mark.gpu
@requires_cuda
@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed")
def test_peephole_lstm_auto_on_cuda_uses_triton_and_matches_reference(seed):
    x = torch.zeros(2, 3, 8, device="cuda")
    assert select_recurrence("auto", "diagonal", x).__name__ == "_triton_recurrence"
    lstm = PeepholeLSTM(8, 50, num_layers=2).cuda()
    x = torch.randn(9, 4, 8, device="cuda", requires_grad=True)
    out, (hn, cn) = lstm(x)
    params = [x, *lstm.parameters()]
    grads = torch.autograd.grad(out.sum() + hn.sum() + cn.sum(), params)
    ref, (rh, rc) = reference_lstm(x, reference_weights(lstm))
    ref_grads = torch.autograd.grad(ref.sum() + rh.sum() + rc.sum(), params)
    for a, b in zip([out, hn, cn, *grads], [ref, rh, rc, *ref_grads], strict=True):
        assert rel(a, b) < 1e-5, f"seed={seed}"

"""The Triton path's planning, residency guard, barrier flags, precision policy and
the per-step GEMM path, against the float64 reference.

The kernels run under Triton's interpreter (``TRITON_INTERPRET=1``, in a
subprocess, on CPU tensors) and, with a CUDA device, compiled on the GPU. Every
random problem is drawn from a printed seed (in the assertion message), so a
failure can be replayed with :func:`compare`.
"""

import importlib.util
import json
import os
import subprocess
import sys
import types

import pytest
import torch

from sklstm.nn._kernels import _triton, _triton_gemm, _triton_plan
from sklstm.nn._kernels._eager import eager_recurrence
from tests.conftest import requires_cuda

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HAS_TRITON = importlib.util.find_spec("triton") is not None
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}
#: TF32 products (10-bit mantissa) over 24 steps; H100 measured 2e-3 to 4.4e-3.
TF32_TOL_24 = 1e-2


def rel(a, b):
    a, b = a.detach().double(), b.detach().double()
    assert torch.isfinite(a).all(), "non-finite values (an unwritten, poisoned element?)"
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def problem(T, B, H, seed, device="cpu"):
    """Random float64 (xw, h0, c0, w_hh, w_ch) and output gradients from ``seed``."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).to(device)

    ins = [rnd(T, B, 4 * H), rnd(B, H), rnd(B, H), rnd(4 * H, H, scale=H**-0.5), rnd(3 * H)]
    return ins, [rnd(T, B, H), rnd(B, H), rnd(B, H)]


def compare(recurrence, T, B, H, dtype, seed, device="cpu"):
    """Max rel. error of outputs, every gradient and the no-grad outputs against eager
    float64 on the problem of ``seed``."""
    ins64, gouts = problem(T, B, H, seed, device)
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
    return max(rel(a, b) for a, b in zip(got, want, strict=True))


def new_seed():
    return int.from_bytes(os.urandom(4), "little")


# --------------------------------------------------------------------------- precision


def test_precision_follows_the_cudnn_flag_like_nn_lstm():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = True
        assert _triton._precision(torch.float32, cuda) == "tf32"
        assert _triton._precision(torch.float64, cuda) == "ieee"
        assert _triton._precision(torch.float32, cpu) == "ieee"
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = True  # not the flag nn.LSTM follows
        assert _triton._precision(torch.float32, cuda) == "ieee"
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_gemm_path_sets_cublas_precision_for_its_loop_only():
    cuda = torch.device("cuda")
    saved = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        with _triton_gemm.matmul_precision(cuda, torch.float32, "tf32"):
            assert torch.backends.cuda.matmul.allow_tf32
        assert not torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = True
        with _triton_gemm.matmul_precision(cuda, torch.float32, "ieee"):
            assert not torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cuda.matmul.allow_tf32
        with _triton_gemm.matmul_precision(cuda, torch.float64, "ieee"):  # no float32 GEMM
            assert torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved


# --------------------------------------------------------------------------- plans


@pytest.fixture
def fake_sms(monkeypatch):
    monkeypatch.setattr(_triton, "_num_sms", lambda device: 132)
    _triton._pick_config.cache_clear()
    _triton._plan.cache_clear()
    yield
    _triton._pick_config.cache_clear()
    _triton._plan.cache_clear()


def test_plan_is_cached_and_picks_gemm_for_large_problems(fake_sms):
    cuda = torch.device("cuda")
    p = _triton._plan(64, 50, cuda, torch.float32, "tf32", None)
    assert p.impl == "persistent" and not p.forced and p.precision == "tf32"
    assert p.cfgs[0] == _triton._pick_config(64, 50, cuda, torch.float32)
    hits = _triton._plan.cache_info().hits
    assert _triton._plan(64, 50, cuda, torch.float32, "tf32", None) is p
    assert _triton._plan.cache_info().hits == hits + 1
    # the precision is part of the key
    assert _triton._plan(64, 50, cuda, torch.float32, "ieee", None).precision == "ieee"
    for B, H in [(1024, 512), (129, 512), (513, 256)]:
        assert _triton._plan(B, H, cuda, torch.float32, "tf32", None).impl == "gemm"
    assert _triton._plan(1024, 128, cuda, torch.float32, "tf32", None).impl == "persistent"
    forced = _triton._plan(8, 50, cuda, torch.float32, "ieee", (16, 2, 4, True))
    assert forced == _triton.Plan("persistent", ((16, 2, 4, True),), "ieee", True)
    assert _triton._plan(8, 50, cuda, torch.float32, "ieee", "gemm").impl == "gemm"


def test_forced_configs_include_the_gemm_path():
    for H in (5, 50, 128, 512):
        cfgs = _triton.forced_configs(H, torch.float32)
        assert cfgs[0] is None and cfgs[-1] == "gemm"


# --------------------------------------------------------------------------- residency guard

H100 = types.SimpleNamespace(
    multi_processor_count=132,
    max_threads_per_multi_processor=2048,
    regs_per_multiprocessor=65536,
    shared_memory_per_multiprocessor=233472,
    warp_size=32,
)


def test_max_resident_programs_with_fake_device_properties():
    f = _triton_plan.max_resident_programs
    # 4 warps, 96 registers, 20 KiB: threads allow 16, registers 5 (3072 per warp -> 21
    # warps), shared memory 10 (21 KiB each) -> 5 per SM
    assert f(H100, 96, 20480, 4) == 132 * 5
    # registers round up to 256 per warp: 100 regs -> 3328 per warp -> 19 warps -> 4 blocks
    assert f(H100, 100, 0, 4) == 132 * 4
    # shared memory limits: 160 KiB -> 1 per SM
    assert f(H100, 32, 163840, 8) == 132
    # threads limit: 32 warps per program -> 2 per SM
    assert f(H100, 16, 0, 32) == 132 * 2
    # the hardware cap of 32 blocks per SM
    assert f(H100, 16, 0, 1) == 132 * 32
    # one program larger than a multiprocessor's shared memory: none resident
    assert f(H100, 32, 240 * 1024, 4) == 0
    # torch builds that do not report registers: 65536 assumed
    no_regs = types.SimpleNamespace(**{**vars(H100), "regs_per_multiprocessor": None})
    assert f(no_regs, 96, 20480, 4) == 132 * 5


class _FakeCompiled:
    def __init__(self, n_regs, shared, num_warps):
        self.n_regs = n_regs
        self.metadata = types.SimpleNamespace(shared=shared, num_warps=num_warps)

    def _init_handles(self):
        pass


class _FakeKernel:
    """Stands in for a JIT kernel: records launches; ``warmup`` reports ``usage``."""

    def __init__(self, usage):
        self.usage, self.launches, self.warmups = usage, [], 0

    def warmup(self, *args, grid, **kw):
        self.warmups += 1
        return _FakeCompiled(*self.usage(kw["NS"]), kw["num_warps"])

    def __getitem__(self, grid):
        def launch(*args, **kw):
            self.launches.append((grid, kw["NS"], args))

        return launch


class _FakePool:
    def __init__(self):
        import threading

        self.lock = threading.Lock()

    def take(self, device, size, span):
        return torch.zeros(size, dtype=torch.int32), 0


@pytest.fixture
def fake_cuda(monkeypatch):
    """A pretend H100 for the launcher: the SM count, properties and flag pool."""
    pytest.importorskip("triton")
    monkeypatch.setattr(_triton, "_num_sms", lambda device: 132)
    monkeypatch.setattr(_triton_plan, "device_props", lambda device: H100)
    monkeypatch.setattr(_triton_plan, "FLAGS", _FakePool())
    _triton._RESIDENT.clear()
    _triton._SPECS.clear()
    yield torch.device("cuda")
    _triton._RESIDENT.clear()
    _triton._SPECS.clear()


def _args():
    return tuple(torch.zeros(1) for _ in range(10)) + (24, 1024, 128)


def test_launcher_skips_barrier_configs_that_cannot_be_resident(fake_cuda):
    # A kernel whose NS > 1 programs cannot be resident at all (240 KiB of shared memory
    # each) and whose NS = 1 programs can (NS = 1 needs no barrier: never checked).
    kernel = _FakeKernel(lambda ns: (64, 240 * 1024) if ns > 1 else (64, 1024))
    cfgs = [(16, 8, 4, True), (16, 1, 4, True)]
    used = _triton._launch(kernel, "fwd", cfgs, 1024, 128, fake_cuda, torch.float32, _args())
    assert used == (16, 1, 4, True)
    assert [(g, ns) for g, ns, _ in kernel.launches] == [((64,), 1)]
    # the verdict is cached: no second warm-up for the same key
    _triton._launch(kernel, "fwd", cfgs, 1024, 128, fake_cuda, torch.float32, _args())
    assert kernel.warmups == 1 and len(kernel.launches) == 2
    # forced: an error that says why, never a launch that would wait forever
    with pytest.raises(RuntimeError, match="cannot all be resident at once"):
        _triton._launch(
            kernel, "fwd", cfgs[:1], 1024, 128, fake_cuda, torch.float32, _args(), forced=True
        )
    # nothing fits and not forced: None (the caller runs the gemm path), no launch
    n = len(kernel.launches)
    assert (
        _triton._launch(kernel, "bwd", cfgs[:1], 1024, 128, fake_cuda, torch.float32, _args())
        is None
    )
    assert len(kernel.launches) == n


def test_launcher_guard_uses_the_grid_against_the_limit(fake_cuda, monkeypatch):
    # A device reporting 16 SMs for residency while the grid is sized for 132
    # (e.g. a partition): 128 programs > 16 x 5 -> skipped.
    small = types.SimpleNamespace(**{**vars(H100), "multi_processor_count": 16})
    monkeypatch.setattr(_triton_plan, "device_props", lambda device: small)
    kernel = _FakeKernel(lambda ns: (96, 20480))
    cfg = (16, 8, 4, True)
    assert _triton._grid(1024, cfg, fake_cuda) == 128
    assert (
        _triton._launch(kernel, "fwd", [cfg], 1024, 128, fake_cuda, torch.float32, _args()) is None
    )
    # batch 64: 4 blocks x 8 slices = 32 programs <= 80: launched, with the epoch argument
    assert _triton._launch(kernel, "fwd", [cfg], 64, 128, fake_cuda, torch.float32, _args()) == cfg
    grid, ns, args = kernel.launches[-1]
    assert grid == (32,) and ns == 8 and args[11] == 0  # flags at 10, epoch at 11


# --------------------------------------------------------------------------- barrier flags


def test_flag_pool_reuses_one_buffer_with_growing_epochs(monkeypatch):
    pool = _triton_plan.FlagPool()
    cpu = torch.device("cpu")
    with pool.lock:
        buf, e0 = pool.take(cpu, 8, span=24 * 3 + 1)
        buf2, e1 = pool.take(cpu, 8, span=10)
    assert buf2 is buf and e0 == 0 and e1 == 24 * 3 + 2  # above every value of launch 1
    buf.fill_(e1 + 10)  # what launch 2 left behind
    with pool.lock:
        _, e2 = pool.take(cpu, 8, span=5)
    assert e2 == e1 + 11 and e2 + 1 > e1 + 10
    # a larger grid gets a fresh, zeroed buffer and epochs from 0
    with pool.lock:
        big, e3 = pool.take(cpu, 4096, span=5)
    assert big is not buf and big.numel() >= 4096 and e3 == 0 and not big.any()
    # near the int32 limit the buffer is zeroed in place and the epochs restart
    monkeypatch.setattr(_triton_plan, "_EPOCH_LIMIT", 100)
    big.fill_(99)
    with pool.lock:
        again, e4 = pool.take(cpu, 4096, span=95)
    assert again is big and e4 == 0 and not big.any()


# --------------------------------------------------------------------------- interpreter

_INTERPRETER_SCRIPT = """
import json, os, sys
import torch
sys.path.insert(0, {root!r})
from tests.nn.test_triton_paths import compare, problem, rel
from sklstm.nn import PeepholeLSTM
from sklstm.nn._kernels import _triton
from sklstm.nn._kernels._eager import eager_recurrence
from sklstm.nn._reference import reference_lstm, reference_weights

seed0 = int.from_bytes(os.urandom(4), "little")
_triton._POISON = True
errs = {{}}
n = 0
def key(what):
    global n
    n += 1
    return f"{{what}} seed={{seed0 + n}}", seed0 + n

rec = _triton.triton_recurrence
for dtype in (torch.float32, torch.float64):
    for override, shapes in [
        ("gemm", [(1, 1, 5), (3, 2, 50), (4, 17, 20), (2, 3, 16)]),
        ((16, 1, 4, False), [(3, 2, 50), (2, 17, 20)]),  # W_hh re-read every step
    ]:
        _triton._CONFIG_OVERRIDE = override
        for T, B, H in shapes:
            k, s = key(f"{{dtype}} {{override}} T={{T}} B={{B}} H={{H}}")
            errs[k] = compare(rec, T, B, H, dtype, s)
    _triton._CONFIG_OVERRIDE = None

    # the gemm path through the module: 2 layers, biases, every parameter
    _triton._CONFIG_OVERRIDE = "gemm"
    k, s = key(f"{{dtype}} gemm PeepholeLSTM")
    torch.manual_seed(s)
    lstm = PeepholeLSTM(3, 6, num_layers=2, impl="triton").to(dtype)
    x = torch.randn(4, 5, 3, dtype=dtype, requires_grad=True)
    out, (hn, cn) = lstm(x)
    params = [x, *lstm.parameters()]
    grads = torch.autograd.grad(out.sum() + hn.sum() + cn.sum(), params)
    ref, (rh, rc) = reference_lstm(x, reference_weights(lstm))
    ref_grads = torch.autograd.grad(ref.sum() + rh.sum() + rc.sum(), params)
    errs[k] = max(rel(a, b) for a, b in zip([out, hn, cn, *grads], [ref, rh, rc, *ref_grads]))
    _triton._CONFIG_OVERRIDE = None

    # either backward after either forward: same saved layout
    T, B, H = 3, 5, 12
    k, s = key(f"{{dtype}} mixed T={{T}} B={{B}} H={{H}}")
    ins64, gouts = problem(T, B, H, s)
    xw, h0, c0, w_hh, w_ch = (t.to(dtype) for t in ins64)
    go = [g.to(dtype) for g in gouts]
    ref_in = [t.clone().requires_grad_() for t in ins64]
    ref_out = eager_recurrence(*ref_in, "diagonal")
    ref_g = torch.autograd.grad(ref_out, ref_in, gouts)
    pers = _triton.Plan("persistent", ((16, 1, 4, True),), "ieee", True)
    gemm = _triton.Plan("gemm", (), "ieee", True)
    e = 0.0
    for fplan in (pers, gemm):
        out, hn, cn, cs, acts = _triton._forward(xw, h0, c0, w_hh, w_ch, fplan, True)
        e = max(e, *(rel(a, b) for a, b in zip((out, hn, cn), ref_out)))
        for bplan in (pers, gemm):
            dxw, dh0, dc0, dwch = _triton._backward(*go, acts, cs, c0, w_hh, w_ch, bplan)
            for a, b in zip((dxw, dh0, dc0, dwch), (ref_g[0], ref_g[1], ref_g[2], ref_g[4])):
                e = max(e, rel(a, b))
    errs[k] = e

    # a barrier configuration the interpreter cannot run: the plan falls back to the
    # gemm path (not forced) or raises (forced); it never waits forever
    _triton._plan.cache_clear()
    k, s = key(f"{{dtype}} fallback")
    fallback = _triton.Plan("persistent", ((16, 2, 4, True),), "ieee", False)
    orig = _triton._plan
    _triton._plan = lambda *a: fallback
    errs[k] = compare(rec, 2, 3, 20, dtype, s)
    _triton._plan = orig
    _triton._CONFIG_OVERRIDE = (16, 2, 4, True)
    try:
        rec(*[t.to(dtype) for t in problem(2, 3, 20, s)[0]], "diagonal")
        errs[f"{{dtype}} forced NS=2 raised"] = 1.0
    except RuntimeError as exc:
        assert "wait forever" in str(exc), exc
        errs[f"{{dtype}} forced NS=2 raised"] = 0.0
    _triton._CONFIG_OVERRIDE = None
print(json.dumps(errs))
"""


@pytest.mark.skipif(not HAS_TRITON, reason="triton is not installed (pip install triton)")
def test_gemm_path_and_rereading_config_under_the_interpreter():
    env = dict(os.environ, TRITON_INTERPRET="1", OMP_NUM_THREADS="1")
    res = subprocess.run(
        [sys.executable, "-c", _INTERPRETER_SCRIPT.format(root=ROOT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Warning" not in res.stderr, res.stderr[-2000:]
    errs = json.loads(res.stdout.strip().splitlines()[-1])
    assert len(errs) == 2 * 10
    for key, err in errs.items():
        assert err < TOL[torch.float64 if "float64" in key else torch.float32], (key, err)


# --------------------------------------------------------------------------- GPU


@pytest.fixture
def exact():
    """TF32 off (the suite's default too) and poisoned outputs for the GPU checks."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    _triton._POISON = True
    yield
    _triton._POISON = False
    _triton._CONFIG_OVERRIDE = None
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "T, B, H, cfgs",
    [
        # several batch blocks per group of programs (n_bb > SMs / NS)
        (5, 129, 512, [None, "gemm", (16, 32, 8, True), (16, 32, 8, False)]),
        (4, 513, 256, [None, "gemm", (16, 16, 4, True), (16, 8, 4, True)]),
    ],
)
@pytest.mark.gpu
@requires_cuda
@pytest.mark.skipif(not HAS_TRITON, reason="no triton")
@pytest.mark.usefixtures("exact")
def test_multi_batch_block_paths_on_cuda(T, B, H, cfgs, dtype):
    for cfg in cfgs:
        _triton._CONFIG_OVERRIDE = cfg
        seed = new_seed()
        err = compare(_triton.triton_recurrence, T, B, H, dtype, seed, "cuda")
        assert err < TOL[dtype], (T, B, H, cfg, dtype, f"seed={seed}", err)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.skipif(not HAS_TRITON, reason="no triton")
@pytest.mark.usefixtures("exact")
def test_exact_mode_at_seq_168_on_cuda():
    for cfg in (None, "gemm"):
        _triton._CONFIG_OVERRIDE = cfg
        seed = new_seed()
        err = compare(_triton.triton_recurrence, 168, 64, 128, torch.float32, seed, "cuda")
        assert err < TOL[torch.float32], (cfg, f"seed={seed}", err)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.skipif(not HAS_TRITON, reason="no triton")
def test_tf32_mode_within_its_tolerance_on_cuda():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = True, False
    try:
        assert _triton._precision(torch.float32, torch.device("cuda")) == "tf32"
        for cfg in (None, "gemm"):
            _triton._CONFIG_OVERRIDE = cfg
            seed = new_seed()
            err = compare(_triton.triton_recurrence, 24, 64, 128, torch.float32, seed, "cuda")
            assert err < TF32_TOL_24, (cfg, f"seed={seed}", err)
            assert err > 1e-6, ("TF32 mode gave an exact float32 result", cfg, err)
    finally:
        _triton._CONFIG_OVERRIDE = None
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_transposed_weight_is_cached_per_version():
    w = torch.randn(8, 2)
    a = _triton._transposed(w)
    assert a.is_contiguous() and torch.equal(a, w.t())
    assert _triton._transposed(w) is a  # no second copy while w is unchanged
    w.mul_(2)  # an optimizer step: in place, the version counter moves
    b = _triton._transposed(w)
    assert b is not a and torch.equal(b, w.t())
    other = w.clone()  # same values, another tensor: its own copy
    assert _triton._transposed(other) is not b
    with torch.inference_mode():
        wi = torch.randn(8, 2)
        assert torch.equal(_triton._transposed(wi), wi.t())


@pytest.mark.gpu
@requires_cuda
@pytest.mark.skipif(not HAS_TRITON, reason="no triton")
@pytest.mark.usefixtures("exact")
def test_auto_on_cuda_runs_the_gemm_path_for_large_problems_and_guards_residency():
    from sklstm.nn._kernels import select_recurrence

    xw = torch.zeros(2, 1024, 4 * 512, device="cuda")
    assert select_recurrence("auto", "diagonal", xw).__name__ == "_triton_recurrence"
    plan = _triton._plan(1024, 512, xw.device, torch.float32, "ieee", None)
    assert plan.impl == "gemm"
    # a barrier launch on the real device goes through the guard with the compiled
    # kernel's own registers and shared memory
    _triton._RESIDENT.clear()
    seed = new_seed()
    _triton._CONFIG_OVERRIDE = (16, 8, 4, True)
    err = compare(_triton.triton_recurrence, 3, 64, 128, torch.float32, seed, "cuda")
    assert err < TOL[torch.float32], (f"seed={seed}", err)
    limits = [v for k, v in _triton._RESIDENT.items() if k[1] == (16, 8, 4, True)]
    assert limits and all(v >= _triton._grid(64, (16, 8, 4, True), xw.device) for v in limits)


@pytest.mark.gpu
@requires_cuda
@pytest.mark.skipif(not HAS_TRITON, reason="no triton")
@pytest.mark.usefixtures("exact")
def test_barrier_kernels_on_two_streams_at_once_on_cuda():
    """Each stream has its own flag buffer: concurrent barrier launches do not mix."""
    cfg = (16, 4, 4, True)
    _triton._CONFIG_OVERRIDE = cfg
    seeds = [new_seed(), new_seed()]
    probs = [[t.float() for t in problem(40, 64, 50, s, "cuda")[0]] for s in seeds]
    refs = [eager_recurrence(*[t.double() for t in p], "diagonal") for p in probs]
    streams = [torch.cuda.Stream(), torch.cuda.Stream()]
    torch.cuda.synchronize()
    outs = []
    with torch.no_grad():
        for _ in range(3):
            for st, p in zip(streams, probs, strict=True):
                with torch.cuda.stream(st):
                    outs.append(_triton.triton_recurrence(*p, "diagonal"))
    torch.cuda.synchronize()
    keys = {k for k in _triton_plan.FLAGS._bufs if k[0] == "cuda"}
    assert len(keys) >= 2
    for i, out in enumerate(outs):
        for a, b in zip(out, refs[i % 2], strict=True):
            assert rel(a, b) < TOL[torch.float32], (f"seeds={seeds}", i)

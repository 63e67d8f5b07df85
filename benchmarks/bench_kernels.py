"""Check and time the diagonal peephole LSTM kernels against ``torch.nn.LSTM``.

Usage::

    python benchmarks/bench_kernels.py --device cuda --check --precision --grid \
        --json benchmarks/results/kernels_gpu.json [--candidates] [--out DIR]
    python benchmarks/bench_kernels.py --device cpu --grid [--threads 1]
    python benchmarks/bench_kernels.py --profile [--device cpu|cuda]

``--check`` compares the fast path (outputs and every gradient) with the float64
reference on random inputs, with every output poisoned with NaN first, over
edge shapes and (on CUDA) every kernel configuration family. ``--precision``
measures the error of both precisions ("tf32", "ieee") at seq 24 and 168 against
the float64 reference, next to cuDNN's own error in the same precision.
``--grid`` times a training step (forward + backward) and inference
(``no_grad``) of ``PeepholeLSTM(peephole="diagonal")`` (impl "auto") against
``torch.nn.LSTM`` (cuDNN / oneDNN) in the same precision, interleaved, median
of several repeats, and prints a table of ratios; ``--grid-set full`` is the
24-point grid (batch 64/1024 x seq 24/168 x hidden 50/128/512 x train/infer),
the default on CUDA. ``--json PATH`` writes one row per grid point, mode and
precision: ``batch, seq, hidden, mode, precision, ours_ms, cudnn_ms, ratio,
device`` (on the CPU the "cuDNN" column is oneDNN and precision is "ieee").
``--candidates`` times several Triton configurations per grid point (used to tune
``_pick_config``). ``--profile`` measures the fixed host cost of one call with
``torch.profiler`` (on the CPU: the Triton wrapper with its launches replaced by
no-ops, and the cpu_fused path).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import torch

_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, _ROOT)
try:
    import sklstm  # noqa: F401
except ImportError:  # the estimators need skorch/sklearn; sklstm.nn needs torch only
    import types

    _pkg = types.ModuleType("sklstm")
    _pkg.__path__ = [os.path.join(_ROOT, "sklstm")]
    sys.modules["sklstm"] = _pkg

from sklstm.nn import PeepholeLSTM  # noqa: E402
from sklstm.nn._kernels import _cpu as kcpu  # noqa: E402
from sklstm.nn._kernels import _triton as ktriton  # noqa: E402
from sklstm.nn._kernels._eager import eager_recurrence  # noqa: E402
from sklstm.nn._reference import reference_lstm, reference_weights  # noqa: E402

INPUT = 8


def log(*args):
    print(*args, flush=True)


# --------------------------------------------------------------------------- timing


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_interleaved(fns, device, repeats, target_ms=20.0):
    """Median milliseconds per call of each function, run interleaved."""
    for fn in fns.values():  # warm-up (compilation, cuDNN plans, allocator)
        fn()
        fn()
    _sync(device)
    inner = {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        fn()
        _sync(device)
        dt = (time.perf_counter() - t0) * 1e3
        inner[name] = max(1, min(50, int(target_ms / max(dt, 1e-3))))
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            n = inner[name]
            if device.type == "cuda":
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(n):
                    fn()
                end.record()
                end.synchronize()
                samples[name].append(start.elapsed_time(end) / n)
            else:
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter() - t0) * 1e3 / n)
    return {name: statistics.median(v) for name, v in samples.items()}


class Flags:
    """Set TF32 flags for the duration of a call (the Triton kernels follow
    ``cudnn_tf32``, as ``torch.nn.LSTM`` does)."""

    def __init__(self, cudnn_tf32=None, matmul_tf32=None):
        self.cudnn_tf32, self.matmul_tf32 = cudnn_tf32, matmul_tf32

    def __enter__(self):
        self.saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
        if self.cudnn_tf32 is not None:
            torch.backends.cudnn.allow_tf32 = self.cudnn_tf32
        if self.matmul_tf32 is not None:
            torch.backends.cuda.matmul.allow_tf32 = self.matmul_tf32

    def __exit__(self, *exc):
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = self.saved

    @classmethod
    def precision(cls, name):
        """ "tf32": cuDNN and our kernels in TF32; "ieee": both in exact float32."""
        return cls(cudnn_tf32=name == "tf32", matmul_tf32=False)


def make_step(model, x, gout, train, flags=None, config=None, cpu_fallback=False):
    """One training step (forward + backward) or one no-grad forward."""
    lib = kcpu.compiled_library

    def step():
        with flags or Flags():
            ktriton._CONFIG_OVERRIDE = config
            if cpu_fallback:  # the PyTorch loop the cpu_fused path falls back to
                kcpu.compiled_library = lambda: None
            try:
                if train:
                    model.zero_grad(set_to_none=True)
                    out, _ = model(x)
                    out.backward(gout)
                else:
                    with torch.no_grad():
                        model(x)
            finally:
                ktriton._CONFIG_OVERRIDE = None
                kcpu.compiled_library = lib

    return step


def models(hidden, device):
    torch.manual_seed(0)
    plain = torch.nn.LSTM(INPUT, hidden).to(device)
    ours = PeepholeLSTM(INPUT, hidden, peephole="diagonal").to(device)
    eager = PeepholeLSTM(INPUT, hidden, peephole="diagonal", impl="eager").to(device)
    eager.load_state_dict(ours.state_dict())
    return plain, ours, eager


# --------------------------------------------------------------------------- checks


def rel(a, b):
    a, b = a.double(), b.double()
    if not torch.isfinite(a).all():
        return float("nan")
    den = b.norm().item()
    return (a - b).norm().item() / (den if den > 0 else 1.0)


def check_recurrence(recurrence, T, B, H, dtype, device, config=None):
    """Max rel. error of out, h_n, c_n and the grads of xw, h0, c0, w_hh, w_ch
    (and of the no-grad outputs) against the eager loop in float64."""
    g = torch.Generator(device="cpu").manual_seed(int.from_bytes(os.urandom(4), "little"))

    def rnd(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).to(device)

    ins64 = [rnd(T, B, 4 * H), rnd(B, H), rnd(B, H), rnd(4 * H, H, scale=H**-0.5), rnd(3 * H)]
    grads_out = [rnd(T, B, H), rnd(B, H), rnd(B, H)]
    ins = [x.to(dtype).requires_grad_() for x in ins64]
    ktriton._POISON = kcpu._POISON = True
    ktriton._CONFIG_OVERRIDE = config
    try:
        outs = recurrence(*ins, "diagonal")
        grads = torch.autograd.grad(outs, ins, [go.to(dtype) for go in grads_out])
        with torch.no_grad():
            out_nograd = recurrence(*ins, "diagonal")
    finally:
        ktriton._POISON = kcpu._POISON = False
        ktriton._CONFIG_OVERRIDE = None
    ref_in = [x.clone().requires_grad_() for x in ins64]
    ref_outs = eager_recurrence(*ref_in, "diagonal")
    ref_grads = torch.autograd.grad(ref_outs, ref_in, grads_out)
    errs = [rel(a, b) for a, b in zip([*outs, *grads], [*ref_outs, *ref_grads], strict=True)]
    errs += [rel(a, b) for a, b in zip(out_nograd, ref_outs, strict=True)]
    return max(errs) if all(e == e for e in errs) else float("nan")


def check_module(T, B, H, dtype, device, num_layers=2):
    """PeepholeLSTM (auto) against reference_lstm: outputs and every gradient."""
    torch.manual_seed(int.from_bytes(os.urandom(4), "little"))
    m = PeepholeLSTM(INPUT, H, num_layers=num_layers, peephole="diagonal")
    m = m.to(device=device, dtype=dtype)
    x = torch.randn(T, B, INPUT, device=device, dtype=dtype, requires_grad=True)
    h0 = torch.randn(num_layers, B, H, device=device, dtype=dtype, requires_grad=True)
    c0 = torch.randn(num_layers, B, H, device=device, dtype=dtype, requires_grad=True)
    ktriton._POISON = kcpu._POISON = True
    try:
        out, (hn, cn) = m(x, (h0, c0))
    finally:
        ktriton._POISON = kcpu._POISON = False
    go = [torch.randn_like(t) for t in (out, hn, cn)]
    params = [x, h0, c0] + list(m.parameters())
    grads = torch.autograd.grad((out, hn, cn), params, go)
    ref_out, (ref_hn, ref_cn) = reference_lstm(x, reference_weights(m), (h0, c0))
    ref_grads = torch.autograd.grad((ref_out, ref_hn, ref_cn), params, [t.double() for t in go])
    pairs = zip([out, hn, cn, *grads], [ref_out, ref_hn, ref_cn, *ref_grads], strict=True)
    errs = [rel(a, b) for a, b in pairs]
    return max(errs) if all(e == e for e in errs) else float("nan")


def check_configs(H, dtype):
    """The forced configurations the GPU tests check."""
    return ktriton.forced_configs(H, dtype)


CHECK_SHAPES = [(1, 1, 5), (7, 3, 50), (5, 33, 130), (3, 70, 128), (2, 5, 512)]
MODULE_SHAPES = [(1, 1, 5), (9, 4, 50), (6, 3, 130)]


def check_jobs(device):
    jobs = []
    for dtype in ("float32", "float64"):
        for T, B, H in CHECK_SHAPES:
            cfgs = check_configs(H, getattr(torch, dtype)) if device.type == "cuda" else [None]
            jobs += [["check", "rec", dtype, T, B, H, cfg, False] for cfg in cfgs]
        jobs += [["check", "mod", dtype, T, B, H, None, False] for T, B, H in MODULE_SHAPES]
    if device.type == "cuda":  # the TF32 mode (torch's default), float32 only
        for T, B, H in [(24, 64, 50), (168, 64, 128), (24, 64, 512), (24, 1024, 512)]:
            jobs.append(["check", "rec", "float32", T, B, H, None, True])
    return jobs


def _cfg(cfg):
    """A configuration from JSON: None, "gemm" or a tuple."""
    if cfg is None or isinstance(cfg, str):
        return cfg
    return tuple(cfg)


def run_check_job(job, device):
    _, kind, dtype, T, B, H, cfg, tf32 = job
    dt = getattr(torch, dtype)
    cfg = _cfg(cfg)
    with Flags.precision("tf32" if tf32 else "ieee"):
        if kind == "rec":
            rec = ktriton.triton_recurrence if device.type == "cuda" else kcpu.cpu_fused_recurrence
            return check_recurrence(rec, T, B, H, dt, device, config=cfg)
        return check_module(T, B, H, dt, device)


def check_line(job, err):
    _, kind, dtype, T, B, H, cfg, tf32 = job
    label = dtype + ("+tf32" if tf32 else "")
    what = "PeepholeLSTM 2 layers" if kind == "mod" else (str(_cfg(cfg)) if cfg else "auto")
    val = f"{err:.2e}" if isinstance(err, float) else str(err)
    return f"check {label:>13} T={T:<4} B={B:<5} H={H:<4} {what:<24} {val}"


# --------------------------------------------------------------------------- parallel jobs


def run_warm_job(job):
    _, B, H, cfg, tf32 = job
    dev = torch.device("cuda")
    ins = [
        torch.randn(24, B, 4 * H, device=dev, requires_grad=True),
        torch.randn(B, H, device=dev, requires_grad=True),
        torch.randn(B, H, device=dev, requires_grad=True),
        torch.randn(4 * H, H, device=dev, requires_grad=True),
        torch.randn(3 * H, device=dev, requires_grad=True),
    ]
    with Flags.precision("tf32" if tf32 else "ieee"):
        ktriton._CONFIG_OVERRIDE = _cfg(cfg)
        try:
            out = ktriton.triton_recurrence(*ins, "diagonal")
            torch.autograd.grad(out[0].sum(), ins)
            with torch.no_grad():
                ktriton.triton_recurrence(*ins, "diagonal")
            torch.cuda.synchronize()
        finally:
            ktriton._CONFIG_OVERRIDE = None
    return 0.0


def worker_main(jobs_json):
    """Run jobs in this process and print one RESULT line per job."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for job in json.loads(jobs_json):
        t0 = time.time()
        try:
            res = run_check_job(job, device) if job[0] == "check" else run_warm_job(job)
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            res = f"{type(exc).__name__}: {str(exc)[:300]}"
        print("RESULT " + json.dumps([job, res, round(time.time() - t0, 1)]), flush=True)


def _run_batch(batch, timeout):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(batch)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        out, err = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = "timeout"
    done = {}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            job, res, secs = json.loads(line[7:])
            done[json.dumps(job)] = (res, secs)
    tail = (err or "").strip().splitlines()[-1:] or ["?"]
    return [
        (job, *done.get(json.dumps(job), (f"crashed: {tail[0][:200]}", None))) for job in batch
    ]


def run_parallel(jobs, workers, per_batch=3, timeout=150):
    """Run jobs in subprocesses (a compiler crash only loses its own batch)."""
    n = max(1, -(-len(jobs) // per_batch))
    batches = [jobs[i::n] for i in range(n)]
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        parts = list(ex.map(lambda b: _run_batch(b, timeout), batches))
    return [r for part in parts for r in part]


# --------------------------------------------------------------------------- grid


FULL_GRID = [(b, t, h) for b in (64, 1024) for t in (24, 168) for h in (50, 128, 512)]

#: Triton configurations (BLOCK_B, NS, num_warps, W resident) timed beside "auto".
CANDIDATES = {
    (64, 50): [(16, 1, 4, True), (16, 2, 4, True), (16, 4, 4, True)],
    (64, 128): [(16, 4, 8, True), (16, 2, 8, True), (16, 1, 8, False)],
    (64, 512): [(16, 32, 4, False), (16, 16, 8, False)],
    (1024, 50): [(16, 1, 4, True), (32, 1, 8, True), (16, 2, 4, True)],
    (1024, 128): [(32, 4, 8, True), (16, 4, 4, True), (16, 8, 4, True)],
    (1024, 512): [(16, 32, 8, True), (32, 32, 8, False), "gemm"],
}


def grid_points(device, grid_set=None):
    """The 24-point grid ("full", the default on CUDA) or the CPU's small one."""
    if grid_set == "full" or (grid_set is None and device.type == "cuda"):
        return list(FULL_GRID)
    return [(64, t, h) for t in (24, 168) for h in (50, 128)]


def precisions(device):
    return ("tf32", "ieee") if device.type == "cuda" else ("ieee",)


def ours_runs(B, H, device):
    """What impl="auto" runs at this point ("triton <cfg>", "triton gemm", "cpu_fused")."""
    if device.type != "cuda":
        return "cpu_fused"
    if not ktriton.triton_preferred(B, H):
        return "triton gemm"
    return f"triton {ktriton._pick_config(B, H, device, torch.float32)}"


def run_grid(
    device, repeats, out_lines, deadline, with_eager=True, candidates=False, bad=(), points=None
):
    """Time the grid; ``bad`` holds the (B, H, config) whose compile/warm-up job failed.

    Returns the raw timings (one dict per point and mode) and the JSON rows (one per
    point, mode and precision; rows past the deadline or whose warm-up failed have
    ``ours_ms = None`` and a ``note``).
    """
    results, rows = [], []
    dev_name = device_name(device)

    def row(B, T, H, mode, prec, ours, ref, note=None):
        r = {
            "batch": B, "seq": T, "hidden": H, "mode": mode, "precision": prec,
            "ours_ms": ours, "cudnn_ms": ref,
            "ratio": (ours / ref) if ours is not None and ref else None,
            "device": dev_name, "ours_runs": ours_runs(B, H, device),
        }  # fmt: skip
        if note:
            r["note"] = note
        rows.append(r)

    for B, T, H in points or grid_points(device):
        note = None
        if time.time() > deadline:
            note = "not timed: --budget reached"
        elif (B, H, None) in bad or (B, H, "tf32") in bad:
            note = "not timed: its warm-up job failed"
        if note:
            log(f"B={B} T={T} H={H}: {note}")
            for train in (True, False):
                for prec in precisions(device):
                    row(B, T, H, "train" if train else "infer", prec, None, None, note)
            continue
        plain, ours, eager = models(H, device)
        x = torch.randn(T, B, INPUT, device=device)
        gout = torch.randn(T, B, H, device=device)
        for train in (True, False):
            mode = "train" if train else "infer"
            fns = {}
            for prec in precisions(device):
                fl = Flags.precision(prec)
                fns[f"torch_{prec}"] = make_step(plain, x, gout, train, fl)
                fns[f"ours_{prec}"] = make_step(ours, x, gout, train, fl)
            if device.type == "cuda":
                if candidates:
                    for cfg in CANDIDATES.get((B, H), []):
                        if (B, H, cfg) not in bad:
                            fns[str(cfg)] = make_step(ours, x, gout, train, config=cfg)
            else:
                fns["ours_torchloop"] = make_step(ours, x, gout, train, cpu_fallback=True)
            if with_eager:
                fns["eager"] = make_step(eager, x, gout, train)
            try:
                ms = time_interleaved(fns, device, repeats, target_ms=10.0)
            except Exception as exc:  # noqa: BLE001
                log(f"grid B={B} T={T} H={H} failed: {type(exc).__name__}: {exc}")
                for prec in precisions(device):
                    row(B, T, H, mode, prec, None, None, f"failed: {type(exc).__name__}")
                continue
            r = {"B": B, "T": T, "H": H, "mode": mode, **ms}
            results.append(r)
            log(json.dumps(r))
            for prec in precisions(device):
                row(B, T, H, mode, prec, ms[f"ours_{prec}"], ms[f"torch_{prec}"])
    return results, rows


def format_table(rows, device):
    ref = "cuDNN" if device.type == "cuda" else "oneDNN"
    lines = [
        f"| batch | seq | hidden | mode | precision | auto runs | {ref} ms | ours ms "
        f"| ours / {ref} |",
        "|---" * 9 + "|",
    ]
    for r in rows:
        if r["ours_ms"] is None:
            lines.append(
                f"| {r['batch']} | {r['seq']} | {r['hidden']} | {r['mode']} | {r['precision']} "
                f"| {r['ours_runs']} | {r.get('note', '')} | | |"
            )
            continue
        lines.append(
            f"| {r['batch']} | {r['seq']} | {r['hidden']} | {r['mode']} | {r['precision']} "
            f"| {r['ours_runs']} | {r['cudnn_ms']:.3f} | {r['ours_ms']:.3f} "
            f"| **{r['ratio']:.2f}** |"
        )
    return lines


def candidate_lines(results):
    lines = []
    for r in results:
        cands = {k: v for k, v in r.items() if k.startswith("(")}
        if cands:
            best = min(cands, key=cands.get)
            lines.append(
                f"candidates B={r['B']} T={r['T']} H={r['H']} {r['mode']}: "
                f"auto (tf32) {r['ours_tf32']:.3f} | "
                + " | ".join(f"{k} {v:.3f}" for k, v in cands.items())
                + f" | best {best}"
            )
    return lines


# --------------------------------------------------------------------------- precision

PRECISION_SHAPES = [(24, 64, 128), (168, 64, 128), (24, 1024, 512)]


def module_error(peephole, T, B, H, device, impl="auto", seed=None):
    """Max rel. error (outputs and every gradient: x and all parameters) of
    ``PeepholeLSTM(peephole=...)`` against the float64 reference on one random
    problem (``seed``): "diagonal" runs our kernels, "none" torch's fused LSTM (cuDNN
    / oneDNN), so both are measured on the same kind of problem."""
    torch.manual_seed(int.from_bytes(os.urandom(4), "little") if seed is None else seed)
    m = PeepholeLSTM(INPUT, H, peephole=peephole, impl=impl).to(device)
    x = torch.randn(T, B, INPUT, device=device, requires_grad=True)
    out, (hn, cn) = m(x)
    go = [torch.randn_like(t) for t in (out, hn, cn)]
    params = [x, *m.parameters()]
    grads = torch.autograd.grad((out, hn, cn), params, go)
    ref, (rh, rc) = reference_lstm(x, reference_weights(m), peephole=peephole)
    ref_grads = torch.autograd.grad((ref, rh, rc), params, [t.double() for t in go])
    pairs = zip([out, hn, cn, *grads], [ref, rh, rc, *ref_grads], strict=True)
    return max(rel(a, b) for a, b in pairs)


def run_precision(device, out_lines):
    """Relative error (outputs and all gradients, vs float64) of ours, of the eager
    float32 loop (what exact float32 reaches on the same problem) and of torch's fused
    LSTM, per precision, at seq 24 and 168."""
    rows = []
    for T, B, H in PRECISION_SHAPES:
        if device.type != "cuda" and B > 64:
            continue
        for prec in precisions(device):
            seed = int.from_bytes(os.urandom(4), "little")
            with Flags.precision(prec):
                ours = module_error("diagonal", T, B, H, device, seed=seed)
                eager = module_error("diagonal", T, B, H, device, impl="eager", seed=seed)
                theirs = module_error("none", T, B, H, device, seed=seed)
            r = {
                "seq": T, "batch": B, "hidden": H, "precision": prec, "ours_rel_err": ours,
                "eager_rel_err": eager, "cudnn_rel_err": theirs, "seed": seed,
                "device": device_name(device),
            }  # fmt: skip
            rows.append(r)
            out_lines.append(
                f"precision {prec:>4} T={T:<4} B={B:<5} H={H:<4} seed={seed}: ours {ours:.2e} "
                f"eager loop {eager:.2e} {'cuDNN' if device.type == 'cuda' else 'oneDNN'} "
                f"{theirs:.2e}"
            )
            log(out_lines[-1])
    return rows


# --------------------------------------------------------------------------- host cost


class _NoLaunch:
    """A kernel whose launches do nothing (to time the host code around them)."""

    def __getitem__(self, grid):
        return lambda *args, **kw: None


def run_profile(device, out_lines, calls=300):
    """Fixed host cost per call: tiny problems (1 step, batch 2, hidden 16), so that
    the time per call is the Python/ATen work around the kernels. On CUDA the real
    launches; on the CPU the Triton wrapper with no-op launches (its planning, checks,
    allocations and flag bookkeeping) and the cpu_fused path (its ctypes call)."""
    from torch.profiler import ProfilerActivity, profile

    from sklstm.nn._kernels import _triton_gemm as kgemm

    T, B, H = 1, 2, 16
    g = torch.Generator().manual_seed(0)
    ins = [
        torch.randn(*shape, generator=g).to(device)
        for shape in [(T, B, 4 * H), (B, H), (B, H), (4 * H, H), (3 * H,)]
    ]
    cases = {}
    if device.type == "cuda":
        for cfg in (None, "gemm"):
            cases[f"triton {cfg or 'auto'} (infer)"] = (ins, cfg)
        plain = torch.nn.LSTM(INPUT, H).to(device)
        xin = torch.randn(T, B, INPUT, device=device)
        cudnn = lambda: plain(xin)  # noqa: E731
    else:
        cases["triton wrapper, no-op launches, auto (infer)"] = (ins, None)
        cases["triton wrapper, no-op launches, gemm (infer)"] = (ins, "gemm")
    saved = (ktriton._kernels, kgemm._gate_kernels, ktriton.triton_available)
    if device.type != "cuda":
        ktriton._kernels = lambda: (_NoLaunch(), _NoLaunch())
        kgemm._gate_kernels = lambda: (_NoLaunch(), _NoLaunch())
        ktriton.triton_available = lambda device=None: True
    fns = {}
    for name, (args, cfg) in cases.items():

        def fn(args=args, cfg=cfg):
            ktriton._CONFIG_OVERRIDE = cfg
            try:
                with torch.no_grad():
                    ktriton.triton_recurrence(*args, "diagonal")
            finally:
                ktriton._CONFIG_OVERRIDE = None

        fns[name] = fn
    if device.type == "cuda":
        fns["torch.nn.LSTM (cuDNN)"] = lambda: cudnn()
    else:
        fns["cpu_fused (C) (infer)"] = lambda: kcpu.cpu_fused_recurrence(*ins, "diagonal")
    results = {}
    try:
        for name, fn in fns.items():
            for _ in range(20):
                fn()
            _sync(device)
            acts = [ProfilerActivity.CPU] + (
                [ProfilerActivity.CUDA] if device.type == "cuda" else []
            )
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            host_us = (time.perf_counter() - t0) * 1e6 / calls
            _sync(device)
            with profile(activities=acts) as prof:
                for _ in range(calls):
                    fn()
                _sync(device)
            ev = prof.key_averages()
            ops = {e.key: e.count / calls for e in ev if e.key.startswith("aten::")}
            top = sorted(ops.items(), key=lambda kv: -kv[1])[:6]
            launches = (
                sum(
                    e.count
                    for e in ev
                    if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cuLaunchKernelEx")
                )
                / calls
            )
            results[name] = {"host_us": host_us, "aten_ops": ops, "launches": launches}
            line = (
                f"profile {name}: {host_us:.1f} us per call (host, no sync), "
                f"{sum(ops.values()):.0f} aten ops per call"
                + (f", {launches:.0f} kernel launches" if device.type == "cuda" else "")
                + " | top: " + ", ".join(f"{k} x{v:g}" for k, v in top)
            )  # fmt: skip
            out_lines.append(line)
            log(line)
    finally:
        ktriton._kernels, kgemm._gate_kernels, ktriton.triton_available = saved
    return results


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return (
        f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} thread(s)"
    )


# --------------------------------------------------------------------------- end to end


def run_end_to_end(device, out_lines, repeats=3):
    """LSTMRegressor(peephole="diagonal") fit against peephole="none", same data."""
    try:
        from sklstm import LSTMRegressor
    except ImportError as exc:
        out_lines.append(f"end-to-end skipped: {exc}")
        log(out_lines[-1])
        return None
    rng = torch.Generator().manual_seed(0)
    X = torch.randn(4096, 24, INPUT, generator=rng).numpy()
    y = X[:, -5:, 0].sum(1) + 0.1 * torch.randn(4096, generator=rng).numpy()
    times = {"none": [], "diagonal": []}
    for _ in range(repeats):
        for peephole in times:
            est = LSTMRegressor(
                hidden_size=64,
                peephole=peephole,
                max_iter=5,
                n_iter_no_change=None,
                batch_size=256,
                device=str(device),
                random_state=0,
            )
            t0 = time.perf_counter()
            est.fit(X, y)
            _sync(device)
            times[peephole].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    line = (
        f"end-to-end LSTMRegressor.fit (4096 x 24 x 8, hidden 64, 5 epochs, batch 256, "
        f"{device}): none {med['none']:.2f}s, diagonal {med['diagonal']:.2f}s, "
        f"ratio {med['diagonal'] / med['none']:.2f}"
    )
    out_lines.append(line)
    log(line)
    return med


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--candidates", action="store_true", help="time other Triton configs too")
    ap.add_argument("--e2e", action="store_true", help="LSTMRegressor fit, diagonal vs none")
    ap.add_argument("--precision", action="store_true", help="TF32/exact errors vs cuDNN's")
    ap.add_argument("--profile", action="store_true", help="fixed host cost per call")
    ap.add_argument("--grid-set", choices=("small", "full"), default=None)
    ap.add_argument(
        "--points", default=None, help="only these grid points, e.g. 64x24x50,1024x168x512"
    )
    ap.add_argument("--json", default=None, help="write the grid's rows to this file")
    ap.add_argument("--no-eager", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=14, help="parallel compile/check processes")
    ap.add_argument("--budget", type=float, default=1e9, help="seconds; stop timing after")
    ap.add_argument("--out", default=None, help="folder for the log and JSON results")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        return worker_main(args.worker)
    deadline = time.time() + args.budget
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: torch.cuda.is_available() is False on this machine")
    torch.set_num_threads(args.threads)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.processor() or platform.machine()}, {args.threads} thread(s)"
    )
    lines = [
        f"device: {name}; torch {torch.__version__}; date {datetime.date.today()}",
        "command: python " + " ".join(sys.argv),
    ]
    if device.type == "cuda":
        import triton

        lines.append(
            f"triton {triton.__version__}; cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}, "
            f"matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}"
        )
    else:
        lib = kcpu.compiled_library()
        lines.append(f"cpu_fused C library: {lib._name if lib else None}")
    for ln in lines:
        log(ln)
    results = {}
    jobs = []
    bad = set()
    if args.check:
        jobs += check_jobs(device)
    points = grid_points(device, args.grid_set)
    if args.points:
        want = {tuple(int(v) for v in p.split("x")) for p in args.points.split(",")}
        points = [p for p in points if p in want] or sorted(want)
    if args.grid and device.type == "cuda":  # compile the grid's kernels in parallel first
        for B, _, H in points:
            cfgs = set(CANDIDATES.get((B, H), [])) if args.candidates else set()
            jobs += [
                ["warm", B, H, c if isinstance(c, str) else list(c), False]
                for c in sorted(cfgs, key=str)
            ]
            jobs += [["warm", B, H, None, False], ["warm", B, H, None, True]]
    if jobs:
        t0 = time.time()
        if device.type == "cuda":
            done = run_parallel(jobs, args.workers)
        else:
            done = [(j, run_check_job(j, device), None) for j in jobs]
        log(f"{len(jobs)} check/compile jobs took {time.time() - t0:.0f}s")
        worst = {}
        bad = set()
        for job, res, _ in done:
            if job[0] == "warm":
                if not isinstance(res, float):
                    lines.append(f"warm {job[1:]} failed: {res}")
                    log(lines[-1])
                    cfg = "tf32" if job[4] else _cfg(job[3])
                    bad.add((job[1], job[2], cfg))
                continue
            lines.append(check_line(job, res))
            log(lines[-1])
            key = job[2] + ("+tf32" if job[7] else "") + (" module" if job[1] == "mod" else "")
            ok = isinstance(res, float) and res == res
            worst[key] = max(worst.get(key, 0.0), res) if ok else float("nan")
        if args.check:
            results["check_worst"] = worst
            lines.append(f"worst rel. errors: {worst}")
            log(lines[-1])
    if args.precision:
        results["precision"] = run_precision(device, lines)
    if args.profile:
        results["profile"] = run_profile(device, lines)
    if args.grid:
        grid, rows = run_grid(
            device, args.repeats, lines, deadline, not args.no_eager, args.candidates, bad,
            points,
        )  # fmt: skip
        results["grid"] = grid
        results["rows"] = rows
        lines += format_table(rows, device)
        lines += candidate_lines(grid)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        meta = {
            "device": device_name(device), "torch": torch.__version__,
            "date": str(datetime.date.today()), "command": " ".join(sys.argv),
            "repeats": args.repeats,
        }  # fmt: skip
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "meta": meta,
                    "rows": results.get("rows", []),
                    "precision": results.get("precision", []),
                    "check_worst": results.get("check_worst"),
                },
                fh,
                indent=1,
                default=str,
            )
        log(f"wrote {args.json}")
    if args.e2e and time.time() < deadline:
        results["e2e"] = run_end_to_end(device, lines)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, f"bench_{device.type}.json"), "w") as fh:
            json.dump(results, fh, indent=1, default=str)
        with open(os.path.join(args.out, f"bench_{device.type}.log"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
    log("\n".join(ln for ln in lines if not ln.startswith("check ")))


if __name__ == "__main__":
    main()

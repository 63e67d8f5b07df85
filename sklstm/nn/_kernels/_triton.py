"""Triton kernels for the diagonal peephole recurrence (forward and backward).

One launch runs a whole layer over all time steps ("persistent" kernel). The
batch is cut into blocks of ``BLOCK_B`` rows and the hidden units into ``NS``
slices of ``HS`` units; program ``(group, s)`` owns one slice for the batch
blocks of its group and keeps its cell state in registers for all steps.

* ``NS == 1``: a program owns all units of its rows, so the recurrence of its
  rows needs nobody else and ``h`` stays in registers.
* ``W_hh``: with ``w_resident`` its slice is loaded once and stays in shared
  memory in the layout the product wants; else it is re-read (L1/L2) gate by
  gate at every step.
* ``NS > 1``: the slices of one batch block exchange ``h_t`` (forward) and the
  pre-activation gradients (backward) through global memory, with one flag
  barrier among the ``NS`` programs of the group per step. The grid never
  exceeds the number of multiprocessors, and a residency guard
  (:mod:`sklstm.nn._kernels._triton_plan`) checks, from the compiled kernel's
  registers and shared memory, that every program of the grid can be resident
  at once before it launches one (else the next configuration is tried).
* The forward reads ``W_hh^T`` (shape ``(H, 4H)``, one transposed copy per call)
  so that its tiles are contiguous along the units of the output, the layout of
  a dot's second operand; the backward reads ``W_hh`` itself, already so.
* Large problems (batch * hidden^2 above 2^25) and configurations that fit
  nowhere run the "gemm" path (:mod:`sklstm.nn._kernels._triton_gemm`): one
  cuBLAS product and one fused Triton gate kernel per step.

Precision follows the flag ``torch.nn.LSTM`` follows on CUDA,
``torch.backends.cudnn.allow_tf32`` (True by default): with it, float32 products
run on the tensor cores in TF32 (``tl.dot(..., input_precision="tf32")``, and
cuBLAS in TF32 on the gemm path), as cuDNN does for ``peephole="none"``; with it
off, in exact float32 (``"ieee"``). Relative errors against the float64
reference measured on an H100 in TF32 (with the earlier flag): 2e-3 to 4e-3 over
24 steps, up to 5e-2 on the gradients over 168 steps; exact float32 1e-6.
float64 is always exact (float64 FMA). Shapes: any hidden size (padded to a power
of two >= 16 with masks), batch and sequence length >= 1. A configuration that
does not fit the device's shared memory falls back to smaller hidden slices.
The configuration of a call is planned once per (batch, hidden, device, dtype,
precision) and cached.

The backward kernel runs time in reverse, reads the gate activations and cell
states the forward stored, writes ``d(pre-activation)`` for every step (which
is the gradient of ``xw``), and reduces the peephole gradients per program;
the gradient of ``W_hh`` is then one matrix product over all steps.

Importing this module never imports triton: :func:`triton_recurrence` does it
on first use (set ``TRITON_INTERPRET=1`` before that to run the kernels on the
CPU with Triton's interpreter, as the tests do).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import weakref
from typing import NamedTuple

import torch
from torch import Tensor

from sklstm.nn._kernels import _triton_plan
from sklstm.nn._kernels._autograd import FusedDiagonal
from sklstm.nn._kernels._checks import check_diagonal_args
from sklstm.nn._kernels._triton_gemm import gemm_backward, gemm_forward, launch_options

__all__ = ["triton_available", "triton_preferred", "triton_recurrence"]

#: dtypes the kernels support.
TRITON_DTYPES = (torch.float32, torch.float64)


def _interpret() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@functools.cache
def _has_triton() -> bool:
    return importlib.util.find_spec("triton") is not None


def triton_available(device: torch.device | None = None) -> bool:
    """Whether the Triton kernels can run on ``device`` (a CUDA device, or the
    CPU under ``TRITON_INTERPRET=1``)."""
    if not _has_triton():
        return False
    if device is None or device.type == "cuda":
        return torch.cuda.is_available()
    return device.type == "cpu" and _interpret()


def triton_preferred(batch: int, hidden: int) -> bool:
    """Whether the persistent kernels should run rather than the per-step GEMM path.

    Once the per-step product is large (batch * hidden^2 above 2^25, e.g. batch
    1024 at hidden 512) cuBLAS once per step beats the persistent kernels' own
    products (measured on an H100 against the eager loop, which calls cuBLAS per
    step too: benchmarks/KERNEL_NOTES.md); the "gemm" path runs there instead.
    """
    hp = max(16, _next_pow2(hidden))
    return batch * hp * hp <= 2**25


@functools.cache
def _kernels():  # the persistent kernels
    from sklstm.nn._kernels import _triton_kernels  # lazy: imports triton (optional)

    return _triton_kernels._fwd_kernel, _triton_kernels._bwd_kernel


def _next_pow2(n: int) -> int:
    return 1 << (max(n, 1) - 1).bit_length()


@functools.cache
def _num_sms(device: torch.device) -> int:
    if device.type != "cuda":
        return 1
    return torch.cuda.get_device_properties(device).multi_processor_count


@functools.lru_cache(maxsize=512)
def _pick_config(batch: int, hidden: int, device: torch.device, dtype: torch.dtype) -> tuple:
    """``(BLOCK_B, NS, num_warps, w_resident)`` for a call; see the module docstring.

    Batch blocks of 16 rows. ``W_hh`` stays on chip (``w_resident``: loaded
    once, kept in shared memory in the layout the product wants) when its slice
    takes at most 128 KiB. The hidden units are then split over more programs
    (NS) while the grid stays within the multiprocessors and a slice keeps at
    least 16 units: the FMA products are slow enough on Hopper that smaller
    slices win over the cost of one barrier per step. Tuned on an H100 (see
    benchmarks/KERNEL_NOTES.md).
    """
    hp = max(16, _next_pow2(hidden))
    if device.type != "cuda":  # the interpreter runs programs one after another
        return (16, 1, 4, True)
    es = 8 if dtype == torch.float64 else 4
    n_sm = _num_sms(device)
    block_b = 16
    n_bb = -(-batch // block_b)
    ns = 1
    while ns < hp // 16 and 4 * hp * (hp // ns) * es > 131072:  # W_hh slice <= 128 KiB
        ns *= 2
    resident = 4 * hp * (hp // ns) * es <= 131072
    while ns * 2 <= hp // 16 and n_bb * ns * 2 <= n_sm:
        ns *= 2
    hs = hp // ns
    num_warps = 8 if block_b * hs >= 1024 or hp >= 512 else 4
    return (block_b, ns, num_warps, resident)


#: Set by the benchmark to try other configurations; None uses ``_pick_config``.
_CONFIG_OVERRIDE: tuple | None = None
#: Set by the tests: fill every output with NaN before the kernels write it.
_POISON = False


def _new(*shape: int, like: Tensor) -> Tensor:
    if _POISON:
        return torch.full(shape, float("nan"), device=like.device, dtype=like.dtype)
    return torch.empty(shape, device=like.device, dtype=like.dtype)


def _grid(batch: int, cfg: tuple, device: torch.device) -> int:
    block_b, ns = cfg[0], cfg[1]
    n_bb = -(-batch // block_b)
    if ns == 1:
        return n_bb
    n_grp = max(1, min(n_bb, _num_sms(device) // ns))
    return n_grp * ns


def _precision(dtype: torch.dtype, device: torch.device) -> str:
    """ "tf32" for float32 on CUDA while ``torch.backends.cudnn.allow_tf32`` is True (the
    flag ``torch.nn.LSTM`` follows), else "ieee" (exact)."""
    if device.type == "cuda" and dtype == torch.float32 and torch.backends.cudnn.allow_tf32:
        return "tf32"
    return "ieee"


class Plan(NamedTuple):
    """How one call runs: ``impl`` "persistent" (try ``cfgs`` in turn, then the gemm
    path) or "gemm"; ``forced``: a configuration forced by ``_CONFIG_OVERRIDE`` (an
    error, not a fallback, when it cannot run); ``precision`` of the products."""

    impl: str
    cfgs: tuple
    precision: str
    forced: bool = False


@functools.lru_cache(maxsize=1024)
def _plan(batch, hidden, device, dtype, precision, override) -> Plan:
    if override == "gemm":
        return Plan("gemm", (), precision, True)
    if override is not None:
        return Plan("persistent", (tuple(override),), precision, True)
    if device.type == "cuda" and not triton_preferred(batch, hidden):
        return Plan("gemm", (), precision)
    cfg = _pick_config(batch, hidden, device, dtype)
    return Plan("persistent", tuple(_fallbacks(cfg, hidden)), precision)


def _fallbacks(cfg: tuple, hidden: int) -> list[tuple]:
    """``cfg``, then configurations with smaller tiles, tried in turn when a GPU
    has too little shared memory for the one before."""
    hp = max(16, _next_pow2(hidden))
    block_b, ns, num_warps, w_resident = cfg
    out = [cfg]
    while hp // ns > 16:
        ns *= 2
        out.append((block_b, ns, num_warps, w_resident))
    out += [(16, c[1], c[2], False) for c in out if c[0] != 16 or c[3]]
    return out


#: (kernel, cfg, hp, dtype, constexprs, device) that did not fit on the device.
_TOO_BIG: set = set()
#: the same keys -> the most programs of that compiled kernel resident at once.
_RESIDENT: dict = {}


def _resident_limit(kernel, key, grid, args, launch_kw) -> int:
    """Programs of this compiled kernel that fit on the device at once (cached per key)."""
    if key not in _RESIDENT:
        compiled = kernel.warmup(*args, grid=(grid,), **launch_kw)
        compiled._init_handles()  # loads the binary: n_regs; OutOfResources if too big
        _RESIDENT[key] = _triton_plan.max_resident_programs(
            _triton_plan.device_props(key[-1]),
            compiled.n_regs,
            compiled.metadata.shared,
            compiled.metadata.num_warps,
        )
    return _RESIDENT[key]


#: (name, cfgs, batch, hp, dtype, device, constexprs) -> what _launch needs per config.
_SPECS: dict = {}


def _launch_specs(name, cfgs, batch, hp, dtype, device, constexprs) -> list:
    """Per configuration ``(cfg, key, grid, n_iter, launch kwargs)``, computed once."""
    ckey = (name, tuple(cfgs), batch, hp, dtype, device, tuple(sorted(constexprs.items())))
    specs = _SPECS.get(ckey)
    if specs is None:
        specs = []
        for cfg in cfgs:
            block_b, ns, num_warps, w_resident = cfg
            grid = _grid(batch, cfg, device)
            n_bb = -(-batch // block_b)
            n_iter = -(-n_bb // max(1, grid // ns))  # batch blocks per group
            kw = dict(
                BLOCK_B=block_b, HP=hp, HS=hp // ns, NS=ns, W_RESIDENT=w_resident,
                num_warps=num_warps, **constexprs, **launch_options(device),
            )  # fmt: skip
            key = (name, cfg, hp, dtype, ckey[-1], device)
            specs.append((cfg, key, grid, n_iter, kw))
        if len(_SPECS) > 4096:
            _SPECS.clear()
        _SPECS[ckey] = specs
    return specs


def _launch(kernel, name, cfgs, batch, hp, device, dtype, args, forced=False, **constexprs):
    """Launch with the first configuration that fits and return it; None when none fits
    (the caller then runs the gemm path), or an error when the configuration was forced.

    ``args`` are the kernel's arguments up to its flag buffer and ``T, B, H`` after it.
    A barrier configuration (NS > 1) only launches when all its programs can be resident
    at once (never under the interpreter, which runs programs one after another).
    """
    from triton.runtime.errors import OutOfResources

    T = args[-3]
    why = "it does not fit the device's shared memory"
    for cfg, key, grid, n_iter, kw in _launch_specs(
        name, cfgs, batch, hp, dtype, device, constexprs
    ):
        if key in _TOO_BIG:
            continue
        ns = cfg[1]
        if ns > 1 and device.type != "cuda":
            why = "the interpreter runs programs one at a time: NS > 1 would wait forever"
            continue
        with _triton_plan.FLAGS.lock:
            # values epoch + 1 .. epoch + n_iter * T (see _group_barrier's callers)
            flags, epoch = _triton_plan.FLAGS.take(device, grid, n_iter * T + 1)
            full = (*args[:-3], flags, epoch, *args[-3:])
            try:
                if ns > 1 and grid > _resident_limit(kernel, key, grid, full, kw):
                    why = (
                        f"its {grid} programs cannot all be resident at once "
                        f"(at most {_RESIDENT[key]})"
                    )
                    continue
                kernel[(grid,)](*full, **kw)
                return cfg
            except OutOfResources:
                _TOO_BIG.add(key)
    if forced:
        raise RuntimeError(
            f"the forced Triton configuration {cfgs[0]} cannot run for hidden size {hp} "
            f"on {device}: {why}"
        )
    return None


#: id(w_hh) -> (weak reference, version counter, W_hh^T): one transposed copy per weight
#: version, so inference calls and repeated calls with unchanged weights copy nothing.
_WT: dict = {}


def _transposed(w: Tensor) -> Tensor:
    """``w.t().contiguous()``, cached while ``w`` is alive and not modified in place."""
    if w.is_inference():  # no version counter to tell an in-place change
        return w.t().contiguous()
    hit = _WT.get(id(w))
    if hit is not None and hit[0]() is w and hit[1] == w._version:
        return hit[2]
    wt = w.t().contiguous()
    if len(_WT) >= 64:
        _WT.clear()
    _WT[id(w)] = (weakref.ref(w), w._version, wt)
    return wt


def _forward(xw, h0, c0, w_hh, w_ch, plan, save):
    """``(out, h_n, c_n, cs, acts)``: the persistent kernel, or the gemm path."""
    T, B, H4 = xw.shape
    H = H4 // 4

    def new(*shape):
        return _new(*shape, like=xw)

    if plan.impl == "persistent":
        fwd, _ = _kernels()
        out, hn, cn = new(T, B, H), new(B, H), new(B, H)
        if save:
            cs, acts = new(T, B, H), new(T, B, H4)
        else:
            cs = acts = out  # never written
        hp = max(16, _next_pow2(H))
        used = _launch(
            fwd, "fwd", plan.cfgs, B, hp, xw.device, xw.dtype,
            (xw, h0, c0, _transposed(w_hh), w_ch, out, cs, acts, hn, cn, T, B, H),
            forced=plan.forced, SAVE=save, PRECISION=plan.precision,
        )  # fmt: skip
        if used is not None:
            return out, hn, cn, cs, acts
    return gemm_forward(xw, h0, c0, w_hh, w_ch, save, plan.precision, new)


def _backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch, plan):
    """``(dxw, dh0, dc0, dw_ch)``: the persistent kernel, or the gemm path."""
    T, B, H = gout.shape

    def new(*shape):
        return _new(*shape, like=gout)

    if plan.impl == "persistent":
        _, bwd = _kernels()
        hp = max(16, _next_pow2(H))
        dxw, dh0, dc0 = new(T, B, 4 * H), new(B, H), new(B, H)
        # one row of peephole gradients per group of programs, each written in full
        n_rows = max(_grid(B, cfg, gout.device) // cfg[1] for cfg in plan.cfgs)
        dwch = new(n_rows, 3 * H)
        used = _launch(
            bwd, "bwd", plan.cfgs, B, hp, gout.device, gout.dtype,
            (gout, ghn, gcn, acts, cs, c0, w_hh, w_ch, dxw, dh0, dc0, dwch, T, B, H),
            forced=plan.forced, PRECISION=plan.precision,
        )  # fmt: skip
        if used is not None:
            return dxw, dh0, dc0, dwch[: _grid(B, used, gout.device) // used[1]].sum(0)
    return gemm_backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch, plan.precision, new)


def forced_configs(hidden_size: int, dtype: torch.dtype) -> list:
    """Auto (None), one forced configuration per hidden split that fits on chip, and
    "gemm" (the per-step cuBLAS + fused gate path).

    The configurations the GPU tests and ``benchmarks/bench_kernels.py --check`` verify.
    """
    hp = max(16, _next_pow2(hidden_size))
    es = torch.tensor([], dtype=dtype).element_size()
    configs = [None]
    ns = 1
    while hp // ns >= 16:
        hs = hp // ns
        if 4 * hp * hs * es <= 65536:
            configs.append((16, ns, 4, 4 * hp * hs <= 4 * 32 * 64))
        ns *= 2
    return configs + ["gemm"]


def _check(xw: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, w_ch: Tensor | None, peephole: str):
    check_diagonal_args("the Triton kernels", TRITON_DTYPES, xw, h0, c0, w_hh, w_ch, peephole)
    if not triton_available(xw.device):
        raise ValueError(
            f"the Triton kernels cannot run on {xw.device}: they need triton and a CUDA "
            "device (or TRITON_INTERPRET=1 for CPU tensors)"
        )


def triton_recurrence(
    xw: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_hh: Tensor,
    w_ch: Tensor | None,
    peephole: str,
) -> tuple[Tensor, Tensor, Tensor]:
    """The diagonal peephole recurrence with the Triton kernels.

    Same contract as :func:`sklstm.nn._kernels._eager.eager_recurrence`
    (``peephole="diagonal"`` only); gradients flow to ``xw``, ``h0``, ``c0``,
    ``w_hh`` and ``w_ch``.
    """
    _check(xw, h0, c0, w_hh, w_ch, peephole)
    xw, h0, c0 = xw.contiguous(), h0.contiguous(), c0.contiguous()
    w_hh, w_ch = w_hh.contiguous(), w_ch.contiguous()
    override = _CONFIG_OVERRIDE
    if override is not None and override != "gemm":
        override = tuple(override)
    cfgs = _plan(
        xw.shape[1], h0.shape[1], xw.device, xw.dtype, _precision(xw.dtype, xw.device), override
    )
    inputs = (xw, h0, c0, w_hh, w_ch)
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return FusedDiagonal.apply(
            xw, h0, c0, w_hh, w_ch,
            lambda *args, save: _forward(*args, cfgs, save=save),
            lambda *args: _backward(*args, cfgs),
        )  # fmt: skip
    out, hn, cn, _, _ = _forward(xw, h0, c0, w_hh, w_ch, cfgs, save=False)
    return out, hn, cn

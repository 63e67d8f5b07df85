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
  exceeds the number of multiprocessors, so all programs are resident.

The matrix products are ``tl.dot`` in exact float32 (``input_precision="ieee"``)
unless ``torch.backends.cuda.matmul.allow_tf32`` is True, in which case they run
on the tensor cores in TF32 (measured relative error 2e-3 to 4e-3 over 24
steps, 5e-2 on the gradients over 168 steps). float64 is supported (exact
float64 FMA). Shapes: any hidden size (padded to a power of two >= 16 with
masks), batch and sequence length >= 1. A configuration that does not fit the
device's shared memory falls back to smaller hidden slices.

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

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from sklstm.nn._kernels._checks import check_diagonal_args

__all__ = ["triton_available", "triton_preferred", "triton_recurrence"]

#: dtypes the kernels support.
TRITON_DTYPES = (torch.float32, torch.float64)


def _interpret() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def triton_available(device: torch.device | None = None) -> bool:
    """Whether the Triton kernels can run on ``device`` (a CUDA device, or the
    CPU under ``TRITON_INTERPRET=1``)."""
    if importlib.util.find_spec("triton") is None:
        return False
    if device is None or device.type == "cuda":
        return torch.cuda.is_available()
    return device.type == "cpu" and _interpret()


def triton_preferred(batch: int, hidden: int) -> bool:
    """Whether "auto" should run these kernels rather than the eager loop on CUDA.

    The kernels' products run on the CUDA cores in exact float32; once the
    per-step product is large (batch * hidden^2 above 2^25, e.g. batch 1024 at
    hidden 512) cuBLAS, which the eager loop calls once per step, is faster
    (measured on an H100, benchmarks/KERNEL_NOTES.md).
    """
    hp = max(16, _next_pow2(hidden))
    return batch * hp * hp <= 2**25


@functools.cache
def _kernels():
    from sklstm.nn._kernels import _triton_kernels

    return _triton_kernels._fwd_kernel, _triton_kernels._bwd_kernel


def _next_pow2(n: int) -> int:
    return 1 << (max(n, 1) - 1).bit_length()


@functools.cache
def _num_sms(device: torch.device) -> int:
    if device.type != "cuda":
        return 1
    return torch.cuda.get_device_properties(device).multi_processor_count


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
    if device.type == "cuda" and dtype == torch.float32 and torch.backends.cuda.matmul.allow_tf32:
        return "tf32"
    return "ieee"


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


#: (kernel, cfg, hp, dtype) that did not fit on the device.
_TOO_BIG: set = set()


def _launch(kernel, name, cfgs, batch, hp, device, dtype, args, **constexprs):
    """Launch with the first configuration that fits; return the one used."""
    from triton.runtime.errors import OutOfResources

    for cfg in cfgs:
        key = (name, cfg, hp, dtype, tuple(sorted(constexprs.items())), device)
        if key in _TOO_BIG:
            continue
        block_b, ns, num_warps, w_resident = cfg
        grid = _grid(batch, cfg, device)
        flags = torch.zeros(grid if ns > 1 else 1, device=device, dtype=torch.int32)
        try:
            kernel[(grid,)](
                *args[:-3], flags, *args[-3:],
                BLOCK_B=block_b, HP=hp, HS=hp // ns, NS=ns, W_RESIDENT=w_resident,
                num_warps=num_warps, **constexprs,
            )  # fmt: skip
            return cfg
        except OutOfResources:
            _TOO_BIG.add(key)
    raise RuntimeError(f"no Triton configuration fits this device for hidden size {hp}")


def _forward(xw, h0, c0, w_hh, w_ch, cfgs, save):
    fwd, _ = _kernels()
    T, B, H4 = xw.shape
    H = H4 // 4
    out, hn, cn = _new(T, B, H, like=xw), _new(B, H, like=xw), _new(B, H, like=xw)
    if save:
        cs, acts = _new(T, B, H, like=xw), _new(T, B, H4, like=xw)
    else:
        cs = acts = out  # never written
    hp = max(16, _next_pow2(H))
    _launch(
        fwd, "fwd", cfgs, B, hp, xw.device, xw.dtype,
        (xw, h0, c0, w_hh, w_ch, out, cs, acts, hn, cn, T, B, H),
        SAVE=save, PRECISION=_precision(xw.dtype, xw.device),
    )  # fmt: skip
    return out, hn, cn, cs, acts


def _backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch, cfgs):
    _, bwd = _kernels()
    T, B, H = gout.shape
    hp = max(16, _next_pow2(H))
    dxw, dh0, dc0 = _new(T, B, 4 * H, like=gout), _new(B, H, like=gout), _new(B, H, like=gout)
    # one row of peephole gradients per group of programs: at most one per batch block
    dwch = torch.zeros(-(-B // 16), 3 * H, device=gout.device, dtype=gout.dtype)
    _launch(
        bwd, "bwd", cfgs, B, hp, gout.device, gout.dtype,
        (gout, ghn, gcn, acts, cs, c0, w_hh, w_ch, dxw, dh0, dc0, dwch, T, B, H),
        PRECISION=_precision(gout.dtype, gout.device),
    )  # fmt: skip
    return dxw, dh0, dc0, dwch.sum(0)


class _TritonDiagonal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, w_ch, cfgs):
        out, hn, cn, cs, acts = _forward(xw, h0, c0, w_hh, w_ch, cfgs, save=True)
        ctx.save_for_backward(h0, c0, w_hh, w_ch, out, cs, acts)
        ctx.cfgs = cfgs
        return out, hn, cn

    @staticmethod
    @once_differentiable
    def backward(ctx, gout, ghn, gcn):
        h0, c0, w_hh, w_ch, out, cs, acts = ctx.saved_tensors
        dxw, dh0, dc0, dw_ch = _backward(
            gout.contiguous(), ghn.contiguous(), gcn.contiguous(),
            acts, cs, c0, w_hh, w_ch, ctx.cfgs,
        )  # fmt: skip
        dw_hh = None
        if ctx.needs_input_grad[3]:
            T, _, H = out.shape
            # dW_hh = sum_t dxw_t^T h_{t-1}: h_{-1} = h0, then the outputs.
            dw_hh = torch.mm(dxw[0].t(), h0)
            if T > 1:
                dw_hh.addmm_(dxw[1:].reshape(-1, 4 * H).t(), out[:-1].reshape(-1, H))
        return dxw, dh0, dc0, dw_hh, dw_ch, None


def forced_configs(hidden_size: int, dtype: torch.dtype) -> list:
    """Auto (None) and one forced configuration per hidden split that fits on chip.

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
    return configs


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
    if _CONFIG_OVERRIDE is not None:
        cfgs = [_CONFIG_OVERRIDE]
    else:
        cfg = _pick_config(xw.shape[1], h0.shape[1], xw.device, xw.dtype)
        cfgs = _fallbacks(cfg, h0.shape[1])
    inputs = (xw, h0, c0, w_hh, w_ch)
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return _TritonDiagonal.apply(xw, h0, c0, w_hh, w_ch, cfgs)
    out, hn, cn, _, _ = _forward(xw, h0, c0, w_hh, w_ch, cfgs, save=False)
    return out, hn, cn

"""The fused CPU path of the diagonal peephole recurrence: the entry point and its fallback.

The whole time loop of a layer, forward and backward, runs in one call into a
small C library (``lstm_cpu.c``) built on first use with the system's C
compiler (``-O3``, ``-march=native`` / ``-mcpu=native``, no fast-math) and loaded
with :mod:`ctypes`; it needs no torch headers, so it builds in about a second.
Per step the forward does one matrix product (``h @ W_hh^T``, through the BLAS
inside torch when its symbols are found, else a plain C loop) and one fused
pass over the gates; the backward does one fused pass and one matrix product
(``da @ W_hh``) per step, and the weight gradient is then a single matrix
product over all steps (``sklstm.nn._kernels._autograd``). The peephole
gradients are accumulated in the fused pass (in float64).

Where the library cannot be had (no compiler, a failed build; one warning per
process says why) the same algorithm runs as a short PyTorch loop with the same
hand-written backward (no autograd graph per step). Set ``SKLSTM_NO_CC=1`` to
force that fallback, and ``SKLSTM_CACHE_DIR`` to choose where the library is
cached. Building, caching and the checks before loading:
:mod:`sklstm.nn._kernels._cpu_build`; the ctypes binding:
:mod:`sklstm.nn._kernels._cpu_binding`.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from sklstm.nn._kernels import _cpu_binding
from sklstm.nn._kernels._autograd import fused_diagonal
from sklstm.nn._kernels._checks import check_diagonal_args
from sklstm.nn._kernels._cpu_build import compiled_library

__all__ = ["cpu_fused_recurrence", "compiled_library"]

CPU_DTYPES = (torch.float32, torch.float64)

#: Set by the tests: fill every output with NaN before the kernels write it.
_POISON = False


def _new(*shape: int, dtype: torch.dtype) -> Tensor:
    if _POISON:
        return torch.full(shape, float("nan"), dtype=dtype)
    return torch.empty(shape, dtype=dtype)


def _torch_forward(xw, h0, c0, w_hh, w_ch, save):
    """The fallback: the same algorithm as a short PyTorch loop (no autograd)."""
    T, B, H4 = xw.shape
    H = H4 // 4
    w_hh_t = w_hh.t()
    w_cif = w_ch[: 2 * H].view(2, H)
    w_co = w_ch[2 * H :]
    out = _new(T, B, H, dtype=xw.dtype)
    acts = _new(T, B, H4, dtype=xw.dtype) if save else _new(B, H4, dtype=xw.dtype)
    cs = _new(T, B, H, dtype=xw.dtype) if save else None
    h, c = h0, c0
    for t in range(T):
        g = acts[t] if save else acts
        torch.addmm(xw[t], h, w_hh_t, out=g)
        gif = g[:, : 2 * H].view(B, 2, H)
        torch.sigmoid(torch.addcmul(gif, w_cif, c.unsqueeze(1)), out=gif)
        torch.tanh(g[:, 2 * H : 3 * H], out=g[:, 2 * H : 3 * H])
        c = torch.addcmul(g[:, H : 2 * H] * c, g[:, :H], g[:, 2 * H : 3 * H])
        o = g[:, 3 * H :]
        torch.sigmoid(torch.addcmul(o, w_co, c), out=o)
        h = torch.mul(o, torch.tanh(c), out=out[t])
        if save:
            cs[t] = c
    return out, h.clone(), c.clone(), cs, (acts if save else None)


def _torch_backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch):
    T, B, H = gout.shape
    w_ci, w_cf, w_co = w_ch[:H], w_ch[H : 2 * H], w_ch[2 * H :]
    dxw = _new(T, B, 4 * H, dtype=gout.dtype)
    dh, dc = ghn.clone(), gcn.clone()
    c_prev_all = torch.cat([c0.unsqueeze(0), cs[:-1]])
    for t in range(T - 1, -1, -1):
        i, f, g, o = acts[t].view(B, 4, H).unbind(1)
        c, c_prev = cs[t], c_prev_all[t]
        dh = dh + gout[t]
        tc = torch.tanh(c)
        d = dxw[t].view(B, 4, H)
        da_o = torch.mul(dh * tc, o * (1 - o), out=d[:, 3])
        dc = dc + dh * o * (1 - tc * tc) + da_o * w_co
        torch.mul(dc * g, i * (1 - i), out=d[:, 0])
        torch.mul(dc * c_prev, f * (1 - f), out=d[:, 1])
        torch.mul(dc * i, 1 - g * g, out=d[:, 2])
        dc = dc * f + d[:, 0] * w_ci + d[:, 1] * w_cf
        dh = torch.mm(dxw[t], w_hh)
    d4 = dxw.view(T, B, 4, H)
    dwch = torch.cat(
        [
            (d4[:, :, 0] * c_prev_all).sum((0, 1)),
            (d4[:, :, 1] * c_prev_all).sum((0, 1)),
            (d4[:, :, 3] * cs).sum((0, 1)),
        ]
    )
    return dxw, dh, dc, dwch


def _run_forward(xw, h0, c0, w_hh, w_ch, save):
    lib = compiled_library()
    if lib is not None:
        new = functools.partial(_new, dtype=xw.dtype)
        return _cpu_binding.c_forward(lib, xw, h0, c0, w_hh, w_ch, save, new)
    return _torch_forward(xw, h0, c0, w_hh, w_ch, save)


def _run_backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch):
    lib = compiled_library()
    if lib is not None:
        new = functools.partial(_new, dtype=gout.dtype)
        return _cpu_binding.c_backward(lib, gout, ghn, gcn, acts, cs, c0, w_hh, w_ch, new)
    return _torch_backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch)


def _check(xw: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, w_ch: Tensor | None, peephole: str):
    if xw.device.type != "cpu":
        raise ValueError(f"the cpu_fused path runs on the CPU, got xw on {xw.device}")
    check_diagonal_args("the cpu_fused path", CPU_DTYPES, xw, h0, c0, w_hh, w_ch, peephole)


def cpu_fused_recurrence(
    xw: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_hh: Tensor,
    w_ch: Tensor | None,
    peephole: str,
) -> tuple[Tensor, Tensor, Tensor]:
    """The diagonal peephole recurrence on the CPU, fused, with a hand-written backward.

    Same contract as :func:`sklstm.nn._kernels._eager.eager_recurrence`
    (``peephole="diagonal"`` only); gradients flow to ``xw``, ``h0``, ``c0``,
    ``w_hh`` and ``w_ch``.
    """
    _check(xw, h0, c0, w_hh, w_ch, peephole)
    return fused_diagonal(_run_forward, _run_backward, xw, h0, c0, w_hh, w_ch)

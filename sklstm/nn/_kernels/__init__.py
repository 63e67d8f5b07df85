"""Implementations of one LSTM layer's recurrence, chosen by :func:`select_recurrence`.

Every implementation takes ``(xw, h0, c0, w_hh, w_ch, peephole)`` (see
:func:`sklstm.nn._kernels._eager.eager_recurrence`) and returns
``(output, h_n, c_n)``; every one is tested against the float64 reference.

========== ============================================================== ====================
name       what                                                           runs on
========== ============================================================== ====================
eager      the generic PyTorch loop; autograd does the backward           any device, dtype
cpu_fused  diagonal peephole: a compiled C loop (gcc, built on first use) CPU, float32/float64
           with a hand-written backward; a fused PyTorch loop with a
           hand-written backward where no compiler is found
triton     diagonal peephole: persistent Triton kernels, forward and      CUDA, float32/float64
           backward; for large batch * hidden^2 one cuBLAS product and
           one fused Triton gate kernel per step
========== ============================================================== ====================

``"auto"`` picks ``triton`` on CUDA and ``cpu_fused`` on the CPU for the
diagonal peephole in float32/float64, and ``eager`` for everything else (the
``"full"`` peephole, other dtypes, empty sequences, CUDA without triton).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from sklstm.nn._kernels._cpu import cpu_fused_recurrence
from sklstm.nn._kernels._eager import eager_recurrence

Recurrence = Callable[
    [Tensor, Tensor, Tensor, Tensor, "Tensor | None", str], "tuple[Tensor, Tensor, Tensor]"
]

#: Names accepted by ``PeepholeLSTM(impl=...)``.
IMPLS = ("auto", "eager", "cpu_fused", "triton")

_FAST_DTYPES = (torch.float32, torch.float64)


def _triton_recurrence(*args):
    from sklstm.nn._kernels._triton import triton_recurrence  # lazy: triton is optional

    return triton_recurrence(*args)


def _cpu_fused_recurrence(*args):
    return cpu_fused_recurrence(*args)


def select_recurrence(impl: str, peephole: str, xw: Tensor) -> Recurrence:
    """The recurrence to run for this call.

    ``"eager"`` forces the generic PyTorch loop (the path the float64 reference
    checks most directly); ``"triton"`` and ``"cpu_fused"`` force those paths
    (they raise ``ValueError`` where they cannot run: another peephole mode,
    device or dtype); ``"auto"`` picks the fastest implementation that
    supports the device, dtype and peephole mode of the call.
    """
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    if torch.compiler.is_compiling() or torch.onnx.is_in_onnx_export():
        # torch.compile / torch.export / torch.onnx.export trace plain ops, not the
        # fused kernels' opaque autograd functions: the eager loop is their path.
        return eager_recurrence
    if impl == "triton":
        return _triton_recurrence
    if impl == "cpu_fused":
        return _cpu_fused_recurrence
    if impl == "eager" or peephole != "diagonal" or xw.dtype not in _FAST_DTYPES:
        return eager_recurrence
    if xw.shape[0] == 0 or xw.shape[1] == 0:
        return eager_recurrence
    if xw.device.type == "cuda":
        from sklstm.nn._kernels._triton import triton_available  # lazy: triton is optional

        # The Triton path plans persistent kernels or, for large batch * hidden^2
        # (triton_preferred), a per-step cuBLAS product with fused gate kernels.
        if triton_available(xw.device):
            return _triton_recurrence
        return eager_recurrence
    if xw.device.type == "cpu":
        return _cpu_fused_recurrence
    return eager_recurrence

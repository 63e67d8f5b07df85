"""Implementations of one LSTM layer's recurrence, chosen by :func:`select_recurrence`.

Every implementation takes ``(xw, h0, c0, w_hh, w_ch, peephole)`` (see
:func:`sklstm.nn._kernels._eager.eager_recurrence`) and returns
``(output, h_n, c_n)``; every one is tested against the float64 reference.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from sklstm.nn._kernels._eager import eager_recurrence

Recurrence = Callable[
    [Tensor, Tensor, Tensor, Tensor, "Tensor | None", str], "tuple[Tensor, Tensor, Tensor]"
]

#: Names accepted by ``PeepholeLSTM(impl=...)``.
IMPLS = ("auto", "eager")


def select_recurrence(impl: str, peephole: str, xw: Tensor) -> Recurrence:
    """The recurrence to run for this call.

    ``"eager"`` forces the generic PyTorch loop (the path the float64 reference
    checks most directly); ``"auto"`` picks the fastest implementation that
    supports the device, dtype and peephole mode of the call.
    """
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    return eager_recurrence

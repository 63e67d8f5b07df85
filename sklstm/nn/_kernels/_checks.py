"""Argument checks shared by the fused recurrences (one place, one wording)."""

from __future__ import annotations

from torch import Tensor


def check_diagonal_args(
    path: str,
    dtypes: tuple,
    xw: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_hh: Tensor,
    w_ch: Tensor | None,
    peephole: str,
) -> None:
    """Raise ValueError unless the arguments fit a fused diagonal-peephole recurrence.

    ``path`` names the implementation in the messages ("the cpu_fused path");
    ``dtypes`` are the dtypes it supports. Device requirements are the caller's.
    """
    if peephole != "diagonal":
        raise ValueError(f"{path} supports peephole='diagonal' only, got {peephole!r}")
    if xw.dim() != 3 or xw.shape[-1] % 4:
        raise ValueError(f"xw must have shape (seq_len, batch, 4 * hidden), got {tuple(xw.shape)}")
    T, B, H4 = xw.shape
    H = H4 // 4
    expected = {"h0": (B, H), "c0": (B, H), "w_hh": (4 * H, H), "w_ch": (3 * H,)}
    for name, tensor in zip(expected, (h0, c0, w_hh, w_ch), strict=True):
        if tensor is None or tuple(tensor.shape) != expected[name]:
            got = None if tensor is None else tuple(tensor.shape)
            raise ValueError(f"{name} must have shape {expected[name]}, got {got}")
        if tensor.dtype != xw.dtype or tensor.device != xw.device:
            raise ValueError(
                f"{name} is {tensor.dtype} on {tensor.device}; {path} needs every tensor on "
                f"the device and in the dtype of xw ({xw.dtype} on {xw.device})"
            )
    if xw.dtype not in dtypes:
        raise ValueError(f"{path} supports {dtypes}, got {xw.dtype}")
    if T == 0 or B == 0:
        raise ValueError(f"{path} needs seq_len >= 1 and batch >= 1")

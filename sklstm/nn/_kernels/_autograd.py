"""The one ``torch.autograd.Function`` of the fused diagonal-peephole recurrences.

The compiled CPU path, its PyTorch fallback and the Triton kernels share it:
each supplies a ``forward(xw, h0, c0, w_hh, w_ch, save)`` that returns
``(out, h_n, c_n, cs, acts)`` (the cell states and gate activations of every
step when ``save``) and a ``backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch)``
that returns ``(d xw, d h0, d c0, d w_ch)``. The gradient of ``W_hh`` is then
one matrix product over all steps, written once, here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["FusedDiagonal", "fused_diagonal", "weight_hh_grad"]


def weight_hh_grad(dxw: Tensor, h0: Tensor, out: Tensor) -> Tensor:
    """``dW_hh = sum_t dxw_t^T h_{t-1}`` with ``h_{-1} = h0``, then the outputs.

    ``dxw`` of shape (seq_len, batch, 4 * hidden), ``h0`` (batch, hidden) and
    ``out`` (seq_len, batch, hidden); returns (4 * hidden, hidden).
    """
    T, _, H = out.shape
    dw_hh = torch.mm(dxw[0].t(), h0)
    if T > 1:
        dw_hh.addmm_(dxw[1:].reshape(-1, 4 * H).t(), out[:-1].reshape(-1, H))
    return dw_hh


class FusedDiagonal(torch.autograd.Function):
    """``apply(xw, h0, c0, w_hh, w_ch, forward, backward) -> (out, h_n, c_n)``."""

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, w_ch, forward: Callable, backward: Callable):
        out, hn, cn, cs, acts = forward(xw, h0, c0, w_hh, w_ch, save=True)
        ctx.save_for_backward(h0, c0, w_hh, w_ch, out, cs, acts)
        ctx.backend_backward = backward
        return out, hn, cn

    @staticmethod
    def backward(ctx, gout, ghn, gcn):
        # Autograd runs a backward in grad mode only for create_graph=True: refuse it
        # rather than return gradients that would silently lack their second order.
        if torch.is_grad_enabled():
            raise RuntimeError(
                "the fused diagonal-peephole path (impl 'cpu_fused' / 'triton') has no double "
                "backward (create_graph=True); build the PeepholeLSTM with impl='eager' for "
                "higher-order gradients (the generic PyTorch loop, which autograd "
                "differentiates twice)"
            )
        h0, c0, w_hh, w_ch, out, cs, acts = ctx.saved_tensors
        dxw, dh0, dc0, dw_ch = ctx.backend_backward(
            gout.contiguous(), ghn.contiguous(), gcn.contiguous(), acts, cs, c0, w_hh, w_ch
        )
        dw_hh = weight_hh_grad(dxw, h0, out) if ctx.needs_input_grad[3] else None
        return dxw, dh0, dc0, dw_hh, dw_ch, None, None


def fused_diagonal(
    forward: Callable, backward: Callable, xw: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor,
    w_ch: Tensor,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """Run ``forward`` (and, under autograd, ``backward``) on contiguous inputs.

    Without a gradient to compute the forward runs with ``save=False``, keeping
    no per-step state.
    """
    inputs = (xw.contiguous(), h0.contiguous(), c0.contiguous(), w_hh.contiguous(),
              w_ch.contiguous())  # fmt: skip
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return FusedDiagonal.apply(*inputs, forward, backward)
    with torch.no_grad():
        out, hn, cn, _, _ = forward(*inputs, save=False)
    return out, hn, cn

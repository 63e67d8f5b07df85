"""The non-persistent ("gemm") Triton path: a cuBLAS product and one fused gate kernel per step.

For large batch x hidden^2 the recurrent product is best left to cuBLAS (tensor
cores in TF32, or its exact float32 GEMM): per time step the forward runs one
``torch.addmm(xw_t, h_{t-1}, W_hh^T, out=pre)`` into a preallocated buffer and
one Triton kernel for the gates, the peepholes and the cell update; the
backward runs one gate-gradient kernel and one ``torch.mm(d(pre)_t, W_hh)`` per
step. The gradients of ``W_hh`` (one GEMM over all steps, in the caller) and of
the peepholes (three reductions over all steps) come after the time loop. No
program waits for another, so this path never needs the residency guard of the
persistent kernels; it is also their fallback when no persistent configuration
fits the device.

The forward stores the gate activations and cell states in the layout of the
persistent kernels, so either backward can follow either forward.

The products follow the precision of the call: ``"tf32"`` or ``"ieee"``
(exact float32) by setting ``torch.backends.cuda.matmul.allow_tf32`` for the
duration of the time loop when it differs (a process-wide flag: another thread
running CUDA matrix products at that moment sees it too).
"""

from __future__ import annotations

import contextlib

import torch

#: Elements per program of the gate kernels.
BLOCK = 512


@contextlib.contextmanager
def matmul_precision(device: torch.device, dtype: torch.dtype, precision: str):
    """Make cuBLAS's float32 products use ``precision`` ("tf32" or "ieee") for a while."""
    if device.type != "cuda" or dtype != torch.float32:
        yield
        return
    want = precision == "tf32"
    saved = torch.backends.cuda.matmul.allow_tf32
    if saved == want:
        yield
        return
    torch.backends.cuda.matmul.allow_tf32 = want
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved


def _gate_kernels():
    from sklstm.nn._kernels import _triton_kernels  # lazy: imports triton (optional)

    return _triton_kernels._gate_fwd_kernel, _triton_kernels._gate_bwd_kernel


def gemm_forward(xw, h0, c0, w_hh, w_ch, save, precision, new):
    """``(out, h_n, c_n, cs, acts)`` like the persistent forward; ``new(*shape)`` allocates."""
    fwd, _ = _gate_kernels()
    T, B, H4 = xw.shape
    H = H4 // 4
    out = new(T, B, H)
    if save:
        cs, acts = new(T, B, H), new(T, B, H4)
        cbuf = None
    else:
        cs = acts = None
        cbuf = new(B, H)
    pre = new(B, H4)
    w_t = w_hh.t()
    grid = (triton_cdiv(B * H, BLOCK),)
    h_prev = h0
    with matmul_precision(xw.device, xw.dtype, precision):
        for t in range(T):
            torch.addmm(xw[t], h_prev, w_t, out=pre)
            if save:
                c_prev, c_out, a_out = (c0 if t == 0 else cs[t - 1]), cs[t], acts[t]
            else:  # the cell state is updated in place, element by element
                c_prev, c_out, a_out = (c0 if t == 0 else cbuf), cbuf, pre
            fwd[grid](
                pre, c_prev, w_ch, out[t], c_out, a_out, B, H,
                SAVE=save, BLOCK=BLOCK, **launch_options(xw.device),
            )  # fmt: skip
            h_prev = out[t]
    hn = out[T - 1].clone()
    cn = cs[T - 1].clone() if save else cbuf
    return out, hn, cn, cs, acts


def gemm_backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch, precision, new):
    """``(dxw, dh0, dc0, dw_ch)`` like the persistent backward."""
    _, bwd = _gate_kernels()
    T, B, H = gout.shape
    dxw = new(T, B, 4 * H)
    dh = new(B, H)
    dc = gcn.clone()
    grid = (triton_cdiv(B * H, BLOCK),)
    dh_src = ghn
    with matmul_precision(gout.device, gout.dtype, precision):
        for t in range(T - 1, -1, -1):
            c_prev = c0 if t == 0 else cs[t - 1]
            bwd[grid](
                dh_src, gout[t], acts[t], cs[t], c_prev, w_ch, dc, dxw[t], B, H,
                BLOCK=BLOCK, **launch_options(gout.device),
            )  # fmt: skip
            torch.mm(dxw[t], w_hh, out=dh)
            dh_src = dh
    # Peephole gradients: sum over steps and rows of da_i * c_{t-1}, da_f * c_{t-1}, da_o * c_t.
    d_i, d_f, d_o = dxw[..., :H], dxw[..., H : 2 * H], dxw[..., 3 * H :]
    dw_ci = (d_i[0] * c0).sum(0)
    dw_cf = (d_f[0] * c0).sum(0)
    if T > 1:
        dw_ci = dw_ci + (d_i[1:] * cs[:-1]).sum((0, 1))
        dw_cf = dw_cf + (d_f[1:] * cs[:-1]).sum((0, 1))
    dw_co = (d_o * cs).sum((0, 1))
    return dxw, dh, dc, torch.cat([dw_ci, dw_cf, dw_co])


def triton_cdiv(a: int, b: int) -> int:
    return -(-a // b)


def launch_options(device: torch.device) -> dict:
    """Launch options of every kernel: fp fusion stated (Triton 3.9 warns when it is left
    unset); nothing under the interpreter, which takes no compile options."""
    if device.type == "cuda":
        return {"enable_fp_fusion": True}
    return {}

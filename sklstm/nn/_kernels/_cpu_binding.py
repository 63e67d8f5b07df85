"""The ctypes binding of the compiled CPU kernel (``lstm_cpu.c``).

:func:`bind` declares ``argtypes`` and ``restype`` of every exported function
(so that a wrong call is a ``ctypes.ArgumentError``, not a crash) and raises
``AttributeError`` for a library that lacks one of them (a stale or foreign
file; the builder then rebuilds it). :func:`c_forward` and :func:`c_backward`
run the whole time loop of a layer in one call.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["FUNCTIONS", "bind", "blas_gemm", "c_backward", "c_forward"]

_I, _P = ctypes.c_int, ctypes.c_void_p

#: Exported function -> argtypes. ``T, B, H`` are ints; every tensor is a
#: pointer (``None`` for NULL); the last argument is the address of a BLAS gemm
#: or NULL.
_FWD_ARGS = [_I, _I, _I] + [_P] * 12 + [_P]  # xw h0 c0 w_hh w_ch out cs acts hn cn gbuf cbuf
_BWD_ARGS = [_I, _I, _I] + [_P] * 11 + [_P]  # gout acts cs c0 w_hh w_ch dxw dh dc dwch acc
FUNCTIONS = {
    "lstm_fwd_f32": _FWD_ARGS,
    "lstm_fwd_f64": _FWD_ARGS,
    "lstm_bwd_f32": _BWD_ARGS,
    "lstm_bwd_f64": _BWD_ARGS,
}


def bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Declare the signatures on ``lib``; ``AttributeError`` if a function is missing."""
    for name, argtypes in FUNCTIONS.items():
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = ctypes.c_int
    return lib


@functools.cache
def blas_gemm(dtype: torch.dtype) -> int | None:
    """Address of the Fortran ``sgemm_``/``dgemm_`` that torch's own BLAS exports, if any."""
    if os.environ.get("SKLSTM_NO_BLAS", "0") not in ("", "0"):
        return None
    name = "sgemm_" if dtype == torch.float32 else "dgemm_"
    lib_dir = os.path.join(os.path.dirname(torch.__file__), "lib")
    for lib_name in ("libtorch_cpu.so", "libtorch_cpu.dylib"):
        path = os.path.join(lib_dir, lib_name)
        if not os.path.exists(path):
            continue
        try:
            return ctypes.cast(getattr(ctypes.CDLL(path), name), ctypes.c_void_p).value
        except (OSError, AttributeError):
            return None
    return None


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _call(fn, *args) -> None:
    status = fn(*args)
    if status != 0:  # the kernels return 0; anything else is a broken library
        raise RuntimeError(f"the compiled CPU kernel {fn.__name__} returned {status}")


def c_forward(lib: ctypes.CDLL, xw, h0, c0, w_hh, w_ch, save: bool, new: Callable[..., Tensor]):
    """``(out, h_n, c_n, cs, acts)``; ``cs`` and ``acts`` (for the backward) only with ``save``.

    ``new(*shape)`` allocates an output of the dtype of ``xw``.
    """
    T, B, H4 = xw.shape
    H = H4 // 4
    out, hn, cn = new(T, B, H), new(B, H), new(B, H)
    if save:
        cs, acts, gbuf, cbuf = new(T, B, H), new(T, B, H4), None, None
    else:
        cs, acts, gbuf, cbuf = None, None, new(B, H4), new(2, B, H)
    fn = lib.lstm_fwd_f32 if xw.dtype == torch.float32 else lib.lstm_fwd_f64
    tensors = (xw, h0, c0, w_hh, w_ch, out, cs, acts, hn, cn, gbuf, cbuf)
    _call(fn, T, B, H, *map(_ptr, tensors), blas_gemm(xw.dtype))
    return out, hn, cn, cs, acts


def c_backward(lib: ctypes.CDLL, gout, ghn, gcn, acts, cs, c0, w_hh, w_ch, new):
    """``(d xw, d h0, d c0, d w_ch)`` from the output gradients and the saved tensors."""
    T, B, H = gout.shape
    dxw = new(T, B, 4 * H)
    dh, dc = ghn.clone(), gcn.clone()
    dwch = new(3 * H)
    acc = torch.empty(3 * H, dtype=torch.float64)
    fn = lib.lstm_bwd_f32 if gout.dtype == torch.float32 else lib.lstm_bwd_f64
    tensors = (gout, acts, cs, c0, w_hh, w_ch, dxw, dh, dc, dwch, acc)
    _call(fn, T, B, H, *map(_ptr, tensors), blas_gemm(gout.dtype))
    return dxw, dh, dc, dwch

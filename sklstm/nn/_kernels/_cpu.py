"""The fused CPU path of the diagonal peephole recurrence.

The whole time loop of a layer, forward and backward, runs in one call into a
small C library built on first use with the system's C compiler (``cc``/``gcc``,
``-O3 -march=native``, no fast-math) and loaded with :mod:`ctypes`; it needs no
torch headers, so it builds in about a second. Per step the forward does one
matrix product (``h @ W_hh^T``, through the BLAS inside torch when its symbols
are found, else a plain C loop) and one fused pass over the gates; the
backward does one fused pass and one matrix product (``da @ W_hh``) per step,
and the weight gradient is then a single matrix product over all steps
(``dW_hh = sum_t da_t^T h_{t-1}``). The peephole gradients are accumulated in
the fused pass (in float64).

Where no compiler is found or the build fails, the same algorithm runs as a
short PyTorch loop with the same hand-written backward (no autograd graph per
step). Set ``SKLSTM_NO_CC=1`` to force that fallback, and
``SKLSTM_CACHE_DIR`` to choose where the library is cached (default
``~/.cache/sklstm``).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from sklstm.nn._kernels._checks import check_diagonal_args

__all__ = ["cpu_fused_recurrence", "compiled_library"]

CPU_DTYPES = (torch.float32, torch.float64)

_C_TEMPLATE = r"""
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef void (*gemm_SUF_t)(const char *, const char *, const int *, const int *, const int *,
                           const real *, const real *, const int *, const real *, const int *,
                           const real *, real *, const int *);

/* exp(x) for a vector loop: Cody-Waite reduction and a Taylor polynomial,
   branch-free so that the compiler vectorizes it; rel. error ~1 ulp. */
static inline real exp_SUF(real x) {
    x = x < EXP_LO ? EXP_LO : (x > EXP_HI ? EXP_HI : x);
    real n = (x * (real)1.4426950408889634 + ROUND_MAGIC) - ROUND_MAGIC;
    real r = x - n * (real)LN2_HI;
    r = r - n * (real)LN2_LO;
    real p = POLY;
    ibits e = ((ibits)n + EXP_BIAS) << MANT_BITS;
    real s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}

#undef CLAMP25
#define CLAMP25(x) ((x) < (real)-25 ? (real)-25 : ((x) > (real)25 ? (real)25 : (x)))

static inline real sigm_SUF(real x) { return (real)1 / ((real)1 + exp_SUF(-x)); }
static inline real tanh_SUF(real x) {
    return (real)1 - (real)2 / ((real)1 + exp_SUF((real)2 * x));
}

/* G (B x 4H) += A (B x K) @ W^T, W (4H x K) row-major: the fallback without BLAS. */
static void naive_gemm_nt_SUF(int B, int N, int K, const real *A, const real *W, real *G) {
    for (int b = 0; b < B; ++b)
        for (int n = 0; n < N; ++n) {
            real s = 0;
            for (int k = 0; k < K; ++k) s += A[(int64_t)b * K + k] * W[(int64_t)n * K + k];
            G[(int64_t)b * N + n] += s;
        }
}

/* D (B x H) = A (B x 4H) @ W, W (4H x H) row-major. */
static void naive_gemm_nn_SUF(int B, int H, int N, const real *A, const real *W, real *D) {
    for (int b = 0; b < B; ++b) {
        real *restrict d = D + (int64_t)b * H;
        for (int k = 0; k < H; ++k) d[k] = 0;
        for (int n = 0; n < N; ++n) {
            const real a = A[(int64_t)b * N + n];
            const real *restrict w = W + (int64_t)n * H;
            for (int k = 0; k < H; ++k) d[k] += a * w[k];
        }
    }
}

/* Forward over all steps. acts (T,B,4H) and cs (T,B,H) are written when
   non-NULL (training), else gbuf (B,4H) and cbuf (2,B,H) are scratch. */
int lstm_fwd_SUF(int T, int B, int H, const real *xw, const real *h0, const real *c0,
                 const real *w_hh, const real *w_ch, real *out, real *cs, real *acts,
                 real *hn, real *cn, real *gbuf, real *cbuf, gemm_SUF_t gemm) {
    const int H4 = 4 * H;
    const real one = 1;
    const real *restrict w_ci = w_ch, *restrict w_cf = w_ch + H, *restrict w_co = w_ch + 2 * H;
    for (int t = 0; t < T; ++t) {
        real *G = acts ? acts + (int64_t)t * B * H4 : gbuf;
        const real *hp = t == 0 ? h0 : out + (int64_t)(t - 1) * B * H;
        const real *cp;
        real *cc;
        if (cs) {
            cp = t == 0 ? c0 : cs + (int64_t)(t - 1) * B * H;
            cc = cs + (int64_t)t * B * H;
        } else {
            cp = t == 0 ? c0 : cbuf + (int64_t)((t - 1) & 1) * B * H;
            cc = cbuf + (int64_t)(t & 1) * B * H;
        }
        memcpy(G, xw + (int64_t)t * B * H4, sizeof(real) * (size_t)B * H4);
        if (gemm)  /* column-major: G^T (4H x B) += W_hh (4H x H) @ hp^T (H x B) */
            gemm("T", "N", &H4, &B, &H, &one, w_hh, &H, hp, &H, &one, G, &H4);
        else
            naive_gemm_nt_SUF(B, H4, H, hp, w_hh, G);
        real *ht = out + (int64_t)t * B * H;
        if (FAST_INFER && !acts) {
            /* Inference, float32: the same cell with 2 divisions instead of 5.
               With e_x = exp(-x): c = f c' + i g has the common denominator
               (1+e_i)(1+e_f)(1+e_2g), and h = o tanh(c) = (1-e_2c)/((1+e_o)(1+e_2c)).
               Arguments are clamped to +-25 (sigmoid(25) = 1 - 1e-11) so that
               the products cannot overflow. */
            for (int b = 0; b < B; ++b) {
                const real *restrict g = G + (int64_t)b * H4;
                const real *restrict c_prev = cp + (int64_t)b * H;
                real *restrict c_new = cc + (int64_t)b * H;
                real *restrict h = ht + (int64_t)b * H;
#pragma GCC ivdep
                for (int j = 0; j < H; ++j) {
                    real cpj = c_prev[j];
                    real ai = g[j] + w_ci[j] * cpj, af = g[H + j] + w_cf[j] * cpj;
                    real ag = (real)2 * g[2 * H + j];
                    real ei = exp_SUF(-CLAMP25(ai)), ef = exp_SUF(-CLAMP25(af));
                    real eg = exp_SUF(-CLAMP25(ag));
                    real di = (real)1 + ei, df = (real)1 + ef, dg = (real)1 + eg;
                    real c = (cpj * di * dg + ((real)1 - eg) * df) / (df * di * dg);
                    real ao = g[3 * H + j] + w_co[j] * c;
                    real eo = exp_SUF(-CLAMP25(ao)), ec = exp_SUF(-CLAMP25((real)2 * c));
                    h[j] = ((real)1 - ec) / (((real)1 + eo) * ((real)1 + ec));
                    c_new[j] = c;
                }
            }
        } else for (int b = 0; b < B; ++b) {
            real *restrict g = G + (int64_t)b * H4;
            const real *restrict c_prev = cp + (int64_t)b * H;
            real *restrict c_new = cc + (int64_t)b * H;
            real *restrict h = ht + (int64_t)b * H;
#pragma GCC ivdep
            for (int j = 0; j < H; ++j) {
                real cpj = c_prev[j];
                real i = sigm_SUF(g[j] + w_ci[j] * cpj);
                real f = sigm_SUF(g[H + j] + w_cf[j] * cpj);
                real gg = tanh_SUF(g[2 * H + j]);
                real c = f * cpj + i * gg;
                real o = sigm_SUF(g[3 * H + j] + w_co[j] * c);
                h[j] = o * tanh_SUF(c);
                c_new[j] = c;
                g[j] = i;
                g[H + j] = f;
                g[2 * H + j] = gg;
                g[3 * H + j] = o;
            }
        }
        if (t == T - 1) {
            memcpy(hn, ht, sizeof(real) * (size_t)B * H);
            memcpy(cn, cc, sizeof(real) * (size_t)B * H);
        }
    }
    return 0;
}

/* Backward over all steps (reverse time). dh and dc (B,H) carry the state
   gradients (initialised with the gradients of h_n and c_n) and end as those
   of h0 and c0. dwch (3H) receives the peephole gradients. */
int lstm_bwd_SUF(int T, int B, int H, const real *gout, const real *acts, const real *cs,
                 const real *c0, const real *w_hh, const real *w_ch, real *dxw, real *dh,
                 real *dc, real *dwch, double *acc, gemm_SUF_t gemm) {
    const int H4 = 4 * H;
    const real one = 1, zero = 0;
    const real *restrict w_ci = w_ch, *restrict w_cf = w_ch + H, *restrict w_co = w_ch + 2 * H;
    for (int j = 0; j < 3 * H; ++j) acc[j] = 0;
    for (int t = T - 1; t >= 0; --t) {
        const real *A = acts + (int64_t)t * B * H4;
        const real *ct = cs + (int64_t)t * B * H;
        const real *cp = t == 0 ? c0 : cs + (int64_t)(t - 1) * B * H;
        const real *go = gout + (int64_t)t * B * H;
        real *D = dxw + (int64_t)t * B * H4;
        for (int b = 0; b < B; ++b) {
            const real *restrict a = A + (int64_t)b * H4;
            const real *restrict c_t = ct + (int64_t)b * H;
            const real *restrict c_prev = cp + (int64_t)b * H;
            const real *restrict g_out = go + (int64_t)b * H;
            real *restrict d = D + (int64_t)b * H4;
            real *restrict dhb = dh + (int64_t)b * H;
            real *restrict dcb = dc + (int64_t)b * H;
            double *restrict acc_i = acc, *restrict acc_f = acc + H, *restrict acc_o = acc + 2 * H;
#pragma GCC ivdep
            for (int j = 0; j < H; ++j) {
                real i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
                real c = c_t[j], cpj = c_prev[j];
                real dhj = dhb[j] + g_out[j];
                real tc = tanh_SUF(c);
                real da_o = dhj * tc * o * ((real)1 - o);
                real dcj = dcb[j] + dhj * o * ((real)1 - tc * tc) + da_o * w_co[j];
                real da_i = dcj * g * i * ((real)1 - i);
                real da_f = dcj * cpj * f * ((real)1 - f);
                real da_g = dcj * i * ((real)1 - g * g);
                d[j] = da_i;
                d[H + j] = da_f;
                d[2 * H + j] = da_g;
                d[3 * H + j] = da_o;
                acc_i[j] += (double)(da_i * cpj);
                acc_f[j] += (double)(da_f * cpj);
                acc_o[j] += (double)(da_o * c);
                dcb[j] = dcj * f + da_i * w_ci[j] + da_f * w_cf[j];
            }
        }
        /* dh_{t-1} = D (B x 4H) @ W_hh (4H x H); column-major:
           dh^T (H x B) = W_hh^T (H x 4H) @ D^T (4H x B) */
        if (gemm)
            gemm("N", "N", &H, &B, &H4, &one, w_hh, &H, D, &H4, &zero, dh, &H);
        else
            naive_gemm_nn_SUF(B, H, H4, D, w_hh, dh);
    }
    for (int j = 0; j < 3 * H; ++j) dwch[j] = (real)acc[j];
    return 0;
}
"""

_F32 = {
    "real": "float",
    "ibits": "int32_t",
    "_SUF": "_f32",
    "EXP_LO": "-87.0f",
    "EXP_HI": "88.0f",
    "ROUND_MAGIC": "12582912.0f",
    "LN2_HI": "0.693359375",
    "LN2_LO": "-2.12194440e-4",
    "EXP_BIAS": "127",
    "MANT_BITS": "23",
    # Cephes' expf polynomial (|r| <= ln2/2, rel. error ~1 ulp)
    "POLY": "((((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + "
    "4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * r * r + r + 1)",
    "FAST_INFER": "1",
}
_F64 = {
    "real": "double",
    "ibits": "int64_t",
    "_SUF": "_f64",
    "EXP_LO": "-708.0",
    "EXP_HI": "709.0",
    "ROUND_MAGIC": "6755399441055744.0",
    "LN2_HI": "6.93145751953125e-1",
    "LN2_LO": "1.42860682030941723212e-6",
    "EXP_BIAS": "1023",
    "MANT_BITS": "52",
    # Taylor series to r^13 (truncation ~4e-18)
    "POLY": "1 + r * (1 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * ("
    "1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * ("
    "1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600 + r * (1.0 / 6227020800"
    ")))))))))))))",
    "FAST_INFER": "0",
}


def _source() -> str:
    parts = []
    for spec in (_F32, _F64):
        body = _C_TEMPLATE
        for key in sorted(spec, key=len, reverse=True):
            body = body.replace(key, spec[key])
        parts.append(body)
    return "\n".join(parts)


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cache_dir() -> str:
    base = os.environ.get("SKLSTM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "sklstm",
    )
    return base


def _cpu_id() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            lines = [ln for ln in fh if ln.startswith(("model name", "flags"))][:2]
        return "".join(lines)
    except OSError:
        return platform.processor() + platform.machine()


_FLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-fno-math-errno", "-std=gnu99"]


@functools.cache
def compiled_library() -> ctypes.CDLL | None:
    """The C library (built on first use and cached), or None if it cannot be built."""
    if os.environ.get("SKLSTM_NO_CC", "0") not in ("", "0"):
        return None
    cc = _compiler()
    if cc is None or platform.system() == "Windows":
        return None
    src = _source()
    key = hashlib.sha256("\0".join([src, cc, *_FLAGS, _cpu_id()]).encode()).hexdigest()[:16]
    for folder in (_cache_dir(), os.path.join(tempfile.gettempdir(), "sklstm")):
        path = os.path.join(folder, f"lstm_cpu_{key}.so")
        try:
            if not os.path.exists(path):
                os.makedirs(folder, exist_ok=True)
                with tempfile.TemporaryDirectory(dir=folder) as tmp:
                    c_file = os.path.join(tmp, "lstm_cpu.c")
                    with open(c_file, "w") as fh:
                        fh.write(src)
                    so_file = os.path.join(tmp, "lstm_cpu.so")
                    subprocess.run(
                        [cc, *_FLAGS, c_file, "-o", so_file, "-lm"],
                        check=True,
                        capture_output=True,
                        timeout=120,
                    )
                    os.replace(so_file, path)
            lib = ctypes.CDLL(path)
        except (OSError, subprocess.SubprocessError):
            continue
        for suffix in ("f32", "f64"):
            for fn in (getattr(lib, f"lstm_fwd_{suffix}"), getattr(lib, f"lstm_bwd_{suffix}")):
                fn.restype = ctypes.c_int
        return lib
    return None


@functools.cache
def _blas_gemm(dtype: torch.dtype) -> int | None:
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


#: Set by the tests: fill every output with NaN before the C code writes it.
_POISON = False


def _new(*shape: int, dtype: torch.dtype) -> Tensor:
    if _POISON:
        return torch.full(shape, float("nan"), dtype=dtype)
    return torch.empty(shape, dtype=dtype)


def _ptr(t: Tensor | None) -> ctypes.c_void_p:
    return ctypes.c_void_p(0 if t is None else t.data_ptr())


def _c_forward(lib, xw, h0, c0, w_hh, w_ch, save):
    T, B, H4 = xw.shape
    H = H4 // 4
    new = functools.partial(_new, dtype=xw.dtype)
    out, hn, cn = new(T, B, H), new(B, H), new(B, H)
    if save:
        cs, acts, gbuf, cbuf = new(T, B, H), new(T, B, H4), None, None
    else:
        cs, acts, gbuf, cbuf = None, None, new(B, H4), new(2, B, H)
    fn = lib.lstm_fwd_f32 if xw.dtype == torch.float32 else lib.lstm_fwd_f64
    fn(
        T, B, H, _ptr(xw), _ptr(h0), _ptr(c0), _ptr(w_hh), _ptr(w_ch), _ptr(out), _ptr(cs),
        _ptr(acts), _ptr(hn), _ptr(cn), _ptr(gbuf), _ptr(cbuf),
        ctypes.c_void_p(_blas_gemm(xw.dtype) or 0),
    )  # fmt: skip
    return out, hn, cn, cs, acts


def _c_backward(lib, gout, ghn, gcn, acts, cs, c0, w_hh, w_ch):
    T, B, H = gout.shape
    dxw = _new(T, B, 4 * H, dtype=gout.dtype)
    dh, dc = ghn.clone(), gcn.clone()
    dwch = _new(3 * H, dtype=gout.dtype)
    acc = torch.empty(3 * H, dtype=torch.float64)
    fn = lib.lstm_bwd_f32 if gout.dtype == torch.float32 else lib.lstm_bwd_f64
    fn(
        T, B, H, _ptr(gout), _ptr(acts), _ptr(cs), _ptr(c0), _ptr(w_hh), _ptr(w_ch), _ptr(dxw),
        _ptr(dh), _ptr(dc), _ptr(dwch), _ptr(acc), ctypes.c_void_p(_blas_gemm(gout.dtype) or 0),
    )  # fmt: skip
    return dxw, dh, dc, dwch


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
        return _c_forward(lib, xw, h0, c0, w_hh, w_ch, save)
    return _torch_forward(xw, h0, c0, w_hh, w_ch, save)


def _run_backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch):
    lib = compiled_library()
    if lib is not None:
        return _c_backward(lib, gout, ghn, gcn, acts, cs, c0, w_hh, w_ch)
    return _torch_backward(gout, ghn, gcn, acts, cs, c0, w_hh, w_ch)


class _CpuDiagonal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, w_ch):
        out, hn, cn, cs, acts = _run_forward(xw, h0, c0, w_hh, w_ch, save=True)
        ctx.save_for_backward(h0, c0, w_hh, w_ch, out, cs, acts)
        return out, hn, cn

    @staticmethod
    @once_differentiable
    def backward(ctx, gout, ghn, gcn):
        h0, c0, w_hh, w_ch, out, cs, acts = ctx.saved_tensors
        dxw, dh0, dc0, dw_ch = _run_backward(
            gout.contiguous(), ghn.contiguous(), gcn.contiguous(), acts, cs, c0, w_hh, w_ch
        )
        dw_hh = None
        if ctx.needs_input_grad[3]:
            T, B, H = out.shape
            # dW_hh = sum_t dxw_t^T h_{t-1} with h_{-1} = h0: one product over all steps.
            h_prev = torch.cat([h0.unsqueeze(0), out[:-1]]).view(T * B, H)
            dw_hh = torch.mm(dxw.view(T * B, 4 * H).t(), h_prev)
        return dxw, dh0, dc0, dw_hh, dw_ch


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
    xw, h0, c0 = xw.contiguous(), h0.contiguous(), c0.contiguous()
    w_hh, w_ch = w_hh.contiguous(), w_ch.contiguous()
    inputs = (xw, h0, c0, w_hh, w_ch)
    if torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
        return _CpuDiagonal.apply(*inputs)
    with torch.no_grad():
        out, hn, cn, _, _ = _run_forward(*inputs, save=False)
    return out, hn, cn

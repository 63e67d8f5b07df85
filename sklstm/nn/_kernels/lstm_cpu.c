/* The fused CPU recurrence of sklstm's diagonal peephole LSTM, forward and backward.

   Built by sklstm/nn/_kernels/_cpu_build.py: this file is compiled twice, with
   -DREAL=float and with -DREAL=double, and the two objects are linked into one
   library that exports lstm_fwd_f32, lstm_bwd_f32, lstm_fwd_f64 and lstm_bwd_f64
   (bound with ctypes in _cpu_binding.py). Everything else is static, so the two
   translation units never clash. No fast-math: the only approximations are the
   exp below (~1 ulp) and, for float32 inference only, the rewritten cell. */

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef REAL
#error "compile with -DREAL=float or -DREAL=double"
#endif

#define LSTM_CAT_(a, b) a##b
#define LSTM_CAT(a, b) LSTM_CAT_(a, b)
#define LSTM_BITS_float 32
#define LSTM_BITS_double 64
#define LSTM_BITS LSTM_CAT(LSTM_BITS_, REAL)
/* lstm_fwd -> lstm_fwd_f32 / lstm_fwd_f64 */
#define EXPORT(name) LSTM_CAT(name, LSTM_CAT(_f, LSTM_BITS))

typedef REAL real;

#if LSTM_BITS == 32
typedef int32_t ibits;
#define EXP_LO -87.0f
#define EXP_HI 88.0f
#define ROUND_MAGIC 12582912.0f
#define LN2_HI 0.693359375
#define LN2_LO -2.12194440e-4
#define EXP_BIAS 127
#define MANT_BITS 23
/* Cephes' expf polynomial (|r| <= ln2/2, rel. error ~1 ulp) */
#define EXP_POLY(r)                                                                       \
    ((((((1.9875691500e-4f * (r) + 1.3981999507e-3f) * (r) + 8.3334519073e-3f) * (r) +   \
        4.1665795894e-2f) * (r) + 1.6666665459e-1f) * (r) + 5.0000001201e-1f) * (r) * (r) + \
     (r) + 1)
#define FAST_INFER 1
#elif LSTM_BITS == 64
typedef int64_t ibits;
#define EXP_LO -708.0
#define EXP_HI 709.0
#define ROUND_MAGIC 6755399441055744.0
#define LN2_HI 6.93145751953125e-1
#define LN2_LO 1.42860682030941723212e-6
#define EXP_BIAS 1023
#define MANT_BITS 52
/* Taylor series to r^13 (truncation ~4e-18) */
#define EXP_POLY(r)                                                                          \
    (1 + (r) * (1 + (r) * (1.0 / 2 + (r) * (1.0 / 6 + (r) * (1.0 / 24 + (r) * (1.0 / 120 + \
     (r) * (1.0 / 720 + (r) * (1.0 / 5040 + (r) * (1.0 / 40320 + (r) * (1.0 / 362880 +     \
     (r) * (1.0 / 3628800 + (r) * (1.0 / 39916800 + (r) * (1.0 / 479001600 +               \
     (r) * (1.0 / 6227020800))))))))))))))
#define FAST_INFER 0
#else
#error "REAL must be float or double"
#endif

/* The Fortran BLAS gemm (sgemm_ / dgemm_) of torch's own BLAS, or NULL. */
typedef void (*gemm_t)(const char *, const char *, const int *, const int *, const int *,
                       const real *, const real *, const int *, const real *, const int *,
                       const real *, real *, const int *);

/* exp(x) for a vector loop: Cody-Waite reduction and a polynomial, branch-free so
   that the compiler vectorizes it; rel. error ~1 ulp. */
static inline real exp_fast(real x) {
    x = x < EXP_LO ? EXP_LO : (x > EXP_HI ? EXP_HI : x);
    real n = (x * (real)1.4426950408889634 + ROUND_MAGIC) - ROUND_MAGIC;
    real r = x - n * (real)LN2_HI;
    r = r - n * (real)LN2_LO;
    real p = EXP_POLY(r);
    ibits e = ((ibits)n + EXP_BIAS) << MANT_BITS;
    real s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}

#define CLAMP25(x) ((x) < (real)-25 ? (real)-25 : ((x) > (real)25 ? (real)25 : (x)))

static inline real sigm(real x) { return (real)1 / ((real)1 + exp_fast(-x)); }
static inline real tanh_fast(real x) { return (real)1 - (real)2 / ((real)1 + exp_fast((real)2 * x)); }

/* G (B x 4H) += A (B x K) @ W^T, W (4H x K) row-major: the fallback without BLAS. */
static void naive_gemm_nt(int B, int N, int K, const real *A, const real *W, real *G) {
    for (int b = 0; b < B; ++b)
        for (int n = 0; n < N; ++n) {
            real s = 0;
            for (int k = 0; k < K; ++k) s += A[(int64_t)b * K + k] * W[(int64_t)n * K + k];
            G[(int64_t)b * N + n] += s;
        }
}

/* D (B x H) = A (B x 4H) @ W, W (4H x H) row-major. */
static void naive_gemm_nn(int B, int H, int N, const real *A, const real *W, real *D) {
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
int EXPORT(lstm_fwd)(int T, int B, int H, const real *xw, const real *h0, const real *c0,
                     const real *w_hh, const real *w_ch, real *out, real *cs, real *acts,
                     real *hn, real *cn, real *gbuf, real *cbuf, gemm_t gemm) {
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
            naive_gemm_nt(B, H4, H, hp, w_hh, G);
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
                    real ei = exp_fast(-CLAMP25(ai)), ef = exp_fast(-CLAMP25(af));
                    real eg = exp_fast(-CLAMP25(ag));
                    real di = (real)1 + ei, df = (real)1 + ef, dg = (real)1 + eg;
                    real c = (cpj * di * dg + ((real)1 - eg) * df) / (df * di * dg);
                    real ao = g[3 * H + j] + w_co[j] * c;
                    real eo = exp_fast(-CLAMP25(ao)), ec = exp_fast(-CLAMP25((real)2 * c));
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
                real i = sigm(g[j] + w_ci[j] * cpj);
                real f = sigm(g[H + j] + w_cf[j] * cpj);
                real gg = tanh_fast(g[2 * H + j]);
                real c = f * cpj + i * gg;
                real o = sigm(g[3 * H + j] + w_co[j] * c);
                h[j] = o * tanh_fast(c);
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
   of h0 and c0. dwch (3H) receives the peephole gradients, accumulated in
   float64 in acc (3H). */
int EXPORT(lstm_bwd)(int T, int B, int H, const real *gout, const real *acts, const real *cs,
                     const real *c0, const real *w_hh, const real *w_ch, real *dxw, real *dh,
                     real *dc, real *dwch, double *acc, gemm_t gemm) {
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
                real tc = tanh_fast(c);
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
            naive_gemm_nn(B, H, H4, D, w_hh, dh);
    }
    for (int j = 0; j < 3 * H; ++j) dwch[j] = (real)acc[j];
    return 0;
}

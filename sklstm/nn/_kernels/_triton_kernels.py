"""The Triton kernels of :mod:`sklstm.nn._kernels._triton` (see its docstring).

This module imports triton if it is installed and defines nothing otherwise,
so that importing it (as ``pytest --doctest-modules`` does) never fails; only
:mod:`sklstm.nn._kernels._triton` uses it, on first use.
"""

from __future__ import annotations

try:
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - exercised on machines without triton
    triton = None

if triton is not None:

    @triton.jit
    def _sigmoid(x):
        return 1.0 / (1.0 + tl.exp(-x))

    @triton.jit
    def _tanh(x):
        # Saturates to +-1 without overflow at both ends.
        return 1.0 - 2.0 / (1.0 + tl.exp(2.0 * x))

    @triton.jit
    def _group_barrier(flag_ptr, base, s, value, NS: tl.constexpr):
        # Publish "I reached `value`" and wait until every slice of the group has.
        # Flags only grow, and writing or adding 0 is idempotent, so it does not
        # matter how many threads execute the atomics.
        tl.debug_barrier()
        tl.atomic_xchg(flag_ptr + base + s, value, sem="release", scope="gpu")
        # The spin loop carries a scalar: a tensor-carried scf.while crashed
        # Triton 3.6's layout pass.
        ptrs = flag_ptr + base + tl.arange(0, NS)
        low = tl.min(tl.atomic_add(ptrs, 0, sem="acquire", scope="gpu"), axis=0)
        while low < value:
            low = tl.min(tl.atomic_add(ptrs, 0, sem="acquire", scope="gpu"), axis=0)
        tl.debug_barrier()

    @triton.jit(do_not_specialize=["epoch"])
    def _fwd_kernel(
        xw_ptr, h0_ptr, c0_ptr, wt_ptr, wch_ptr,
        out_ptr, cs_ptr, acts_ptr, hn_ptr, cn_ptr, flag_ptr, epoch,
        T, B, H,
        BLOCK_B: tl.constexpr, HP: tl.constexpr, HS: tl.constexpr, NS: tl.constexpr,
        SAVE: tl.constexpr, W_RESIDENT: tl.constexpr, PRECISION: tl.constexpr,
    ):  # fmt: skip
        pid = tl.program_id(0)
        s = pid % NS
        grp = pid // NS
        n_grp = tl.num_programs(0) // NS
        n_bb = tl.cdiv(B, BLOCK_B)
        H4 = 4 * H
        rb = tl.arange(0, BLOCK_B)
        ju = s * HS + tl.arange(0, HS)  # the units this program owns
        mu = ju < H
        kk = tl.arange(0, HP)  # every unit: the reduction index of h @ W_hh^T
        mk = kk < H
        # wt is W_hh^T, shape (H, 4H): tile [k, j] of gate q is wt[k, q*H + j], contiguous
        # along j (the [K, N] row-major layout of a dot's second operand).
        w_offs = kk[:, None] * H4 + ju[None, :]
        w_mask = mk[:, None] & mu[None, :]
        if W_RESIDENT:
            w_i = tl.load(wt_ptr + w_offs, mask=w_mask, other=0.0)
            w_f = tl.load(wt_ptr + H + w_offs, mask=w_mask, other=0.0)
            w_g = tl.load(wt_ptr + 2 * H + w_offs, mask=w_mask, other=0.0)
            w_o = tl.load(wt_ptr + 3 * H + w_offs, mask=w_mask, other=0.0)
        w_ci = tl.load(wch_ptr + ju, mask=mu, other=0.0)[None, :]
        w_cf = tl.load(wch_ptr + H + ju, mask=mu, other=0.0)[None, :]
        w_co = tl.load(wch_ptr + 2 * H + ju, mask=mu, other=0.0)[None, :]
        for bb in range(grp, n_bb, n_grp):
            it = (bb - grp) // n_grp
            rows = bb * BLOCK_B + rb
            mr = rows < B
            m2 = mr[:, None] & mu[None, :]
            st_offs = rows[:, None] * H + ju[None, :]
            g_offs = rows[:, None] * H4 + ju[None, :]
            hk_offs = rows[:, None] * H + kk[None, :]
            hk_mask = mr[:, None] & mk[None, :]
            c = tl.load(c0_ptr + st_offs, mask=m2, other=0.0)
            hk = tl.load(h0_ptr + hk_offs, mask=hk_mask, other=0.0)
            h = tl.zeros((BLOCK_B, HS), dtype=c.dtype)
            for t in range(T):
                # The loads that do not depend on the other slices go before the barrier.
                xw_t = xw_ptr + t * B * H4 + g_offs
                a_i = tl.load(xw_t, mask=m2, other=0.0)
                a_f = tl.load(xw_t + H, mask=m2, other=0.0)
                a_g = tl.load(xw_t + 2 * H, mask=m2, other=0.0)
                a_o = tl.load(xw_t + 3 * H, mask=m2, other=0.0)
                if not W_RESIDENT:
                    w_i = tl.load(wt_ptr + w_offs, mask=w_mask, other=0.0)
                if NS > 1:
                    if t > 0:
                        _group_barrier(flag_ptr, grp * NS, s, epoch + it * T + t, NS)
                        hk = tl.load(
                            out_ptr + (t - 1) * B * H + hk_offs,
                            mask=hk_mask,
                            other=0.0,
                            cache_modifier=".cg",
                        )
                OUT = a_i.dtype
                # Gate by gate: one W_hh tile at a time in shared memory.
                a_i = tl.dot(hk, w_i, acc=a_i, input_precision=PRECISION, out_dtype=OUT)
                if not W_RESIDENT:
                    w_f = tl.load(wt_ptr + H + w_offs, mask=w_mask, other=0.0)
                a_f = tl.dot(hk, w_f, acc=a_f, input_precision=PRECISION, out_dtype=OUT)
                if not W_RESIDENT:
                    w_g = tl.load(wt_ptr + 2 * H + w_offs, mask=w_mask, other=0.0)
                a_g = tl.dot(hk, w_g, acc=a_g, input_precision=PRECISION, out_dtype=OUT)
                if not W_RESIDENT:
                    w_o = tl.load(wt_ptr + 3 * H + w_offs, mask=w_mask, other=0.0)
                a_o = tl.dot(hk, w_o, acc=a_o, input_precision=PRECISION, out_dtype=OUT)
                i = _sigmoid(a_i + w_ci * c)
                f = _sigmoid(a_f + w_cf * c)
                g = _tanh(a_g)
                c = f * c + i * g
                o = _sigmoid(a_o + w_co * c)
                h = o * _tanh(c)
                tl.store(out_ptr + t * B * H + st_offs, h, mask=m2)
                if SAVE:
                    acts_t = acts_ptr + t * B * H4 + g_offs
                    tl.store(acts_t, i, mask=m2)
                    tl.store(acts_t + H, f, mask=m2)
                    tl.store(acts_t + 2 * H, g, mask=m2)
                    tl.store(acts_t + 3 * H, o, mask=m2)
                    tl.store(cs_ptr + t * B * H + st_offs, c, mask=m2)
                if NS == 1:
                    hk = h
            tl.store(hn_ptr + st_offs, h, mask=m2)
            tl.store(cn_ptr + st_offs, c, mask=m2)

    @triton.jit(do_not_specialize=["epoch"])
    def _bwd_kernel(
        gout_ptr, ghn_ptr, gcn_ptr, acts_ptr, cs_ptr, c0_ptr, whh_ptr, wch_ptr,
        dxw_ptr, dh0_ptr, dc0_ptr, dwch_ptr, flag_ptr, epoch,
        T, B, H,
        BLOCK_B: tl.constexpr, HP: tl.constexpr, HS: tl.constexpr, NS: tl.constexpr,
        W_RESIDENT: tl.constexpr, PRECISION: tl.constexpr,
    ):  # fmt: skip
        pid = tl.program_id(0)
        s = pid % NS
        grp = pid // NS
        n_grp = tl.num_programs(0) // NS
        n_bb = tl.cdiv(B, BLOCK_B)
        H4 = 4 * H
        rb = tl.arange(0, BLOCK_B)
        ju = s * HS + tl.arange(0, HS)  # the units this program owns
        mu = ju < H
        kk = tl.arange(0, HP)  # every unit: the reduction index of da @ W_hh
        mk = kk < H
        # Tile [k, j] of gate q is W_hh[q*H + k, j].
        w_offs = kk[:, None] * H + ju[None, :]
        w_mask = mk[:, None] & mu[None, :]
        if W_RESIDENT:
            w_i = tl.load(whh_ptr + w_offs, mask=w_mask, other=0.0)
            w_f = tl.load(whh_ptr + H * H + w_offs, mask=w_mask, other=0.0)
            w_g = tl.load(whh_ptr + 2 * H * H + w_offs, mask=w_mask, other=0.0)
            w_o = tl.load(whh_ptr + 3 * H * H + w_offs, mask=w_mask, other=0.0)
        w_ci = tl.load(wch_ptr + ju, mask=mu, other=0.0)[None, :]
        w_cf = tl.load(wch_ptr + H + ju, mask=mu, other=0.0)[None, :]
        w_co = tl.load(wch_ptr + 2 * H + ju, mask=mu, other=0.0)[None, :]
        acc_ci = tl.zeros((HS,), dtype=w_ci.dtype)
        acc_cf = tl.zeros((HS,), dtype=w_ci.dtype)
        acc_co = tl.zeros((HS,), dtype=w_ci.dtype)
        for bb in range(grp, n_bb, n_grp):
            it = (bb - grp) // n_grp
            rows = bb * BLOCK_B + rb
            mr = rows < B
            m2 = mr[:, None] & mu[None, :]
            st_offs = rows[:, None] * H + ju[None, :]
            g_offs = rows[:, None] * H4 + ju[None, :]
            dk_offs = rows[:, None] * H4 + kk[None, :]
            dk_mask = mr[:, None] & mk[None, :]
            dh = tl.load(ghn_ptr + st_offs, mask=m2, other=0.0)
            dc = tl.load(gcn_ptr + st_offs, mask=m2, other=0.0)
            c = tl.load(cs_ptr + (T - 1) * B * H + st_offs, mask=m2, other=0.0)
            for tt in range(T):
                t = T - 1 - tt
                dh += tl.load(gout_ptr + t * B * H + st_offs, mask=m2, other=0.0)
                acts_t = acts_ptr + t * B * H4 + g_offs
                i = tl.load(acts_t, mask=m2, other=0.0)
                f = tl.load(acts_t + H, mask=m2, other=0.0)
                g = tl.load(acts_t + 2 * H, mask=m2, other=0.0)
                o = tl.load(acts_t + 3 * H, mask=m2, other=0.0)
                if t > 0:
                    c_prev = tl.load(cs_ptr + (t - 1) * B * H + st_offs, mask=m2, other=0.0)
                else:
                    c_prev = tl.load(c0_ptr + st_offs, mask=m2, other=0.0)
                tc = _tanh(c)
                da_o = dh * tc * o * (1.0 - o)
                dc = dc + dh * o * (1.0 - tc * tc) + da_o * w_co
                da_i = dc * g * i * (1.0 - i)
                da_f = dc * c_prev * f * (1.0 - f)
                da_g = dc * i * (1.0 - g * g)
                dxw_t = dxw_ptr + t * B * H4 + g_offs
                tl.store(dxw_t, da_i, mask=m2)
                tl.store(dxw_t + H, da_f, mask=m2)
                tl.store(dxw_t + 2 * H, da_g, mask=m2)
                tl.store(dxw_t + 3 * H, da_o, mask=m2)
                acc_ci += tl.sum(tl.where(m2, da_i * c_prev, 0.0), axis=0)
                acc_cf += tl.sum(tl.where(m2, da_f * c_prev, 0.0), axis=0)
                acc_co += tl.sum(tl.where(m2, da_o * c, 0.0), axis=0)
                dc = dc * f + da_i * w_ci + da_f * w_cf
                OUT = dh.dtype
                if NS > 1:
                    # Gate by gate, so that one operand pair at a time sits in
                    # shared memory (all four at once overflow it at hidden 512).
                    _group_barrier(flag_ptr, grp * NS, s, epoch + it * T + tt + 1, NS)
                    dk_t = dxw_ptr + t * B * H4 + dk_offs
                    for q in tl.static_range(4):
                        da = tl.load(dk_t + q * H, mask=dk_mask, other=0.0, cache_modifier=".cg")
                        if W_RESIDENT:
                            if q == 0:
                                w = w_i
                            elif q == 1:
                                w = w_f
                            elif q == 2:
                                w = w_g
                            else:
                                w = w_o
                        else:
                            w = tl.load(whh_ptr + q * H * H + w_offs, mask=w_mask, other=0.0)
                        if q == 0:
                            dh = tl.dot(da, w, input_precision=PRECISION, out_dtype=OUT)
                        else:
                            dh = tl.dot(da, w, acc=dh, input_precision=PRECISION, out_dtype=OUT)
                else:
                    if not W_RESIDENT:
                        w_i = tl.load(whh_ptr + w_offs, mask=w_mask, other=0.0)
                        w_f = tl.load(whh_ptr + H * H + w_offs, mask=w_mask, other=0.0)
                        w_g = tl.load(whh_ptr + 2 * H * H + w_offs, mask=w_mask, other=0.0)
                        w_o = tl.load(whh_ptr + 3 * H * H + w_offs, mask=w_mask, other=0.0)
                    dh = tl.dot(da_i, w_i, input_precision=PRECISION, out_dtype=OUT)
                    dh = tl.dot(da_f, w_f, acc=dh, input_precision=PRECISION, out_dtype=OUT)
                    dh = tl.dot(da_g, w_g, acc=dh, input_precision=PRECISION, out_dtype=OUT)
                    dh = tl.dot(da_o, w_o, acc=dh, input_precision=PRECISION, out_dtype=OUT)
                c = c_prev
            tl.store(dh0_ptr + st_offs, dh, mask=m2)
            tl.store(dc0_ptr + st_offs, dc, mask=m2)
        w_base = dwch_ptr + grp * 3 * H
        tl.store(w_base + ju, acc_ci, mask=mu)
        tl.store(w_base + H + ju, acc_cf, mask=mu)
        tl.store(w_base + 2 * H + ju, acc_co, mask=mu)

    @triton.jit
    def _gate_fwd_kernel(
        pre_ptr, cprev_ptr, wch_ptr, h_ptr, c_ptr, acts_ptr, B, H,
        SAVE: tl.constexpr, BLOCK: tl.constexpr,
    ):  # fmt: skip
        # One time step of the GEMM path: pre = xw_t + h_{t-1} @ W_hh^T (cuBLAS) in,
        # gates, peepholes and the cell update out. Flat over the B x H elements.
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        m = offs < B * H
        j = offs % H
        g = (offs // H) * (4 * H) + j
        a_i = tl.load(pre_ptr + g, mask=m, other=0.0)
        a_f = tl.load(pre_ptr + g + H, mask=m, other=0.0)
        a_g = tl.load(pre_ptr + g + 2 * H, mask=m, other=0.0)
        a_o = tl.load(pre_ptr + g + 3 * H, mask=m, other=0.0)
        c = tl.load(cprev_ptr + offs, mask=m, other=0.0)
        w_ci = tl.load(wch_ptr + j, mask=m, other=0.0)
        w_cf = tl.load(wch_ptr + H + j, mask=m, other=0.0)
        w_co = tl.load(wch_ptr + 2 * H + j, mask=m, other=0.0)
        i = _sigmoid(a_i + w_ci * c)
        f = _sigmoid(a_f + w_cf * c)
        gg = _tanh(a_g)
        c = f * c + i * gg
        o = _sigmoid(a_o + w_co * c)
        tl.store(h_ptr + offs, o * _tanh(c), mask=m)
        tl.store(c_ptr + offs, c, mask=m)
        if SAVE:
            tl.store(acts_ptr + g, i, mask=m)
            tl.store(acts_ptr + g + H, f, mask=m)
            tl.store(acts_ptr + g + 2 * H, gg, mask=m)
            tl.store(acts_ptr + g + 3 * H, o, mask=m)

    @triton.jit
    def _gate_bwd_kernel(
        dhrec_ptr, gout_ptr, acts_ptr, c_ptr, cprev_ptr, wch_ptr, dc_ptr, dxw_ptr, B, H,
        BLOCK: tl.constexpr,
    ):  # fmt: skip
        # One time step of the GEMM path's backward: dh = gout_t + d(pre)_{t+1} @ W_hh
        # (cuBLAS) and dc in; d(pre)_t (= the gradient of xw_t) and dc_{t-1} out.
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        m = offs < B * H
        j = offs % H
        g = (offs // H) * (4 * H) + j
        dh = tl.load(gout_ptr + offs, mask=m, other=0.0) + tl.load(
            dhrec_ptr + offs, mask=m, other=0.0
        )
        dc = tl.load(dc_ptr + offs, mask=m, other=0.0)
        c = tl.load(c_ptr + offs, mask=m, other=0.0)
        c_prev = tl.load(cprev_ptr + offs, mask=m, other=0.0)
        i = tl.load(acts_ptr + g, mask=m, other=0.0)
        f = tl.load(acts_ptr + g + H, mask=m, other=0.0)
        gg = tl.load(acts_ptr + g + 2 * H, mask=m, other=0.0)
        o = tl.load(acts_ptr + g + 3 * H, mask=m, other=0.0)
        w_ci = tl.load(wch_ptr + j, mask=m, other=0.0)
        w_cf = tl.load(wch_ptr + H + j, mask=m, other=0.0)
        w_co = tl.load(wch_ptr + 2 * H + j, mask=m, other=0.0)
        tc = _tanh(c)
        da_o = dh * tc * o * (1.0 - o)
        dc = dc + dh * o * (1.0 - tc * tc) + da_o * w_co
        da_i = dc * gg * i * (1.0 - i)
        da_f = dc * c_prev * f * (1.0 - f)
        da_g = dc * i * (1.0 - gg * gg)
        tl.store(dxw_ptr + g, da_i, mask=m)
        tl.store(dxw_ptr + g + H, da_f, mask=m)
        tl.store(dxw_ptr + g + 2 * H, da_g, mask=m)
        tl.store(dxw_ptr + g + 3 * H, da_o, mask=m)
        tl.store(dc_ptr + offs, dc * f + da_i * w_ci + da_f * w_cf, mask=m)

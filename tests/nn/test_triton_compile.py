"""Compile-only checks of the Triton kernels for Hopper (sm_90), on a machine without a GPU.

``triton.compile`` runs the full pipeline to a cubin here (the triton wheel ships
``ptxas``): every configuration the GPU tests force (``forced_configs``) and the
configuration "auto" picks at the benchmark's grid points must fit the 227 KiB
of shared memory an H100 / H200 block may use, and the barrier configurations
must have every program resident at once on an H100 (132 SMs) by the registers
and shared memory the compiler reports. Runs in a subprocess without
``TRITON_INTERPRET`` (the interpreter's kernels cannot be compiled).
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SCRIPT = """
import json, sys, types
import torch
sys.path.insert(0, {root!r})
from sklstm.nn._kernels import _triton, _triton_aot, _triton_gemm, _triton_plan

H100 = types.SimpleNamespace(multi_processor_count=132, max_threads_per_multi_processor=2048,
    regs_per_multiprocessor=65536, shared_memory_per_multiprocessor=233472, warp_size=32)
_triton._num_sms = lambda device: 132  # plan as on an H100
cuda = torch.device("cuda")
jobs = []  # (label, kernel, cfg, hp, dtype, precision, grid or None)
for dtype in ("float32", "float64"):
    for H in (5, 50, 128, 256):
        hp = max(16, _triton._next_pow2(H))
        for cfg in _triton.forced_configs(H, getattr(torch, dtype)):
            if isinstance(cfg, tuple):
                for name in ("fwd", "bwd"):
                    jobs.append(("forced", name, cfg, hp, dtype, "ieee", None))
for B in (64, 1024):  # the benchmark's grid points that run the persistent kernels
    for H in (50, 128, 512):
        if not _triton.triton_preferred(B, H):
            continue
        hp = max(16, _triton._next_pow2(H))
        cfg = _triton._pick_config(B, H, cuda, torch.float32)
        grid = _triton._grid(B, cfg, cuda)
        for prec in ("ieee", "tf32") if B == 64 else ("ieee",):
            for name in ("fwd", "bwd"):
                jobs.append((f"auto B={{B}}", name, cfg, hp, "float32", prec, grid))
out = []
for label, name, cfg, hp, dtype, prec, grid in jobs:
    const, nw = _triton_aot.persistent_constexprs(name, cfg, hp, prec)
    r = _triton_aot.compile_kernel(name, const, dtype, nw)
    limit = _triton_plan.max_resident_programs(H100, r["n_regs"], r["shared"], nw)
    out.append(dict(label=label, name=name, cfg=cfg, hp=hp, dtype=dtype, precision=prec,
                    grid=grid, limit=limit, **r))
for dtype in ("float32", "float64"):
    blk = _triton_gemm.BLOCK
    for name, const in (("gate_fwd", dict(SAVE=True, BLOCK=blk)),
                        ("gate_fwd", dict(SAVE=False, BLOCK=blk)),
                        ("gate_bwd", dict(BLOCK=blk))):
        r = _triton_aot.compile_kernel(name, const, dtype, 4)
        out.append(dict(label="gemm path", name=name, cfg=None, hp=None, dtype=dtype,
                        precision=None, grid=None, limit=None, **r))
print(json.dumps(out))
"""


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed")
def test_every_forced_and_auto_config_compiles_for_hopper_within_its_limits():
    from sklstm.nn._kernels._triton_aot import HOPPER_SMEM_PER_BLOCK

    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    res = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(root=ROOT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    rows = json.loads(res.stdout.strip().splitlines()[-1])
    assert len(rows) >= 40 and {r["dtype"] for r in rows} == {"float32", "float64"}
    for r in rows:
        what = {k: r[k] for k in ("label", "name", "cfg", "hp", "dtype", "precision")}
        assert "cubin" in r["asm"], what  # compiled all the way through ptxas
        assert 0 <= r["shared"] <= HOPPER_SMEM_PER_BLOCK, (what, r["shared"])
        assert r["n_regs"] is not None and 0 < r["n_regs"] <= 255, (what, r["n_regs"])
        if r["grid"] is not None and r["cfg"][1] > 1:  # a barrier kernel: all resident
            assert r["grid"] <= r["limit"], (what, r["grid"], r["limit"])

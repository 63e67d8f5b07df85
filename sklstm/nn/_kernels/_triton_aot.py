"""Compile the Triton kernels for a GPU target without a GPU (checks and reports only).

``triton.compile`` runs the whole pipeline (TTIR, TTGIR, LLVM IR, PTX, and
``ptxas`` -- shipped inside the triton wheel -- to a cubin) on any machine;
``cuobjdump -res-usage`` (shipped too) reads the registers per thread from the
cubin. Together they give, offline, the shared memory and registers a kernel
will ask for on the device, which is what decides whether it launches and how
many of its programs can be resident at once
(:func:`sklstm.nn._kernels._triton_plan.max_resident_programs`).

Must run without ``TRITON_INTERPRET`` (the interpreter replaces the kernels by
Python functions that cannot be compiled).
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import tempfile

#: Shared memory one block may use on H100 / H200 (sharedMemPerBlockOptin, 227 KiB).
HOPPER_SMEM_PER_BLOCK = 227 * 1024


def _kernel(name: str):
    from sklstm.nn._kernels import _triton_kernels as k  # lazy: imports triton (optional)

    return {
        "fwd": k._fwd_kernel,
        "bwd": k._bwd_kernel,
        "gate_fwd": k._gate_fwd_kernel,
        "gate_bwd": k._gate_bwd_kernel,
    }[name]


def _resources(cubin: bytes) -> tuple[int | None, int | None]:
    from triton import knobs

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "k.cubin")
        with open(path, "wb") as fh:
            fh.write(cubin)
        res = subprocess.run(
            [knobs.nvidia.cuobjdump.path, "-res-usage", path], capture_output=True, text=True
        )
    regs = re.search(r"REG:(\d+)", res.stdout)
    local = re.search(r"LOCAL:(\d+)", res.stdout)
    return (int(regs.group(1)) if regs else None, int(local.group(1)) if local else None)


def compile_kernel(
    name: str,
    constexprs: dict,
    dtype: str = "float32",
    num_warps: int = 4,
    arch: int = 90,
) -> dict:
    """Compile one kernel for ``GPUTarget("cuda", arch, 32)``.

    Parameters
    ----------
    name : {"fwd", "bwd", "gate_fwd", "gate_bwd"}
    constexprs : dict
        Values of the kernel's ``tl.constexpr`` parameters.
    dtype : {"float32", "float64"}
        Element type of every tensor argument but the flags.

    Returns
    -------
    dict
        ``shared`` (bytes of shared memory per program), ``n_regs`` (registers per
        thread) and ``local`` (bytes of local memory per thread: register spills),
        None where cuobjdump could not tell, ``num_warps`` and the stages produced
        (``asm``: ttir, ttgir, llir, ptx, cubin).
    """
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fn = _kernel(name)
    ptr = {"float32": "*fp32", "float64": "*fp64"}[dtype]
    sig = {}
    for p in inspect.signature(fn.fn).parameters:
        if p in constexprs:
            sig[p] = "constexpr"
        elif p == "flag_ptr":
            sig[p] = "*i32"
        elif p.endswith("_ptr"):
            sig[p] = ptr
        else:
            sig[p] = "i32"
    compiled = triton.compile(
        ASTSource(fn=fn, signature=sig, constexprs=dict(constexprs)),
        target=GPUTarget("cuda", arch, 32),
        options={"num_warps": num_warps, "enable_fp_fusion": True},
    )
    n_regs, local = _resources(compiled.asm["cubin"])
    return {
        "shared": compiled.metadata.shared,
        "n_regs": n_regs,
        "local": local,
        "num_warps": compiled.metadata.num_warps,
        "asm": sorted(compiled.asm.keys()),
    }


def persistent_constexprs(name: str, cfg: tuple, hp: int, precision: str, save: bool = True):
    """``(constexprs, num_warps)`` of a persistent kernel for a configuration
    ``(BLOCK_B, NS, num_warps, W_RESIDENT)`` at padded hidden size ``hp``."""
    block_b, ns, num_warps, resident = cfg
    const = dict(
        BLOCK_B=block_b, HP=hp, HS=hp // ns, NS=ns, W_RESIDENT=resident, PRECISION=precision
    )
    if name == "fwd":
        const["SAVE"] = save
    return const, num_warps

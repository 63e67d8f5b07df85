"""Host-side bookkeeping of the Triton path: residency guard and barrier flags.

**Residency.** The persistent kernels with ``NS > 1`` hidden slices synchronise
the slices of a batch block with a spin barrier: a program waits until every
other program of its group has published its step. That only terminates if
every program of the grid is resident on the GPU at the same time (a waiting
program never yields its multiprocessor). :func:`max_resident_programs`
computes how many programs of a compiled kernel fit at once (multiprocessors x
blocks per multiprocessor, limited by threads, registers and shared memory, as
the CUDA occupancy calculator does); the launcher never starts a barrier
kernel whose grid exceeds it and takes the next configuration or the
non-persistent GEMM path instead. Other kernels running at the same time on
other streams only delay our programs (theirs finish and free the
multiprocessors); an MPS client limited to a fraction of the SMs
(``CUDA_MPS_ACTIVE_THREAD_PERCENTAGE``) is not visible here and is not
supported by the barrier kernels.

**Flags.** The barrier flags are one int32 buffer per (device, stream), reused
by every launch instead of a ``torch.zeros`` per launch. Flag values only grow:
a launch is given an ``epoch`` above every value an earlier launch on that
buffer can have written (``epoch + 1 .. epoch + span``), so no reset is needed
between launches; when the values would pass 2^30 the buffer is zeroed (a
memset queued on the same stream) and the epochs start again. This is correct
because launches on one stream run one after another; two streams never share
a buffer; the epoch is taken and the kernel queued under one lock, so two
threads on the same stream queue their launches in epoch order. During CUDA
graph capture a launch gets a fresh zeroed buffer instead (an epoch baked into
a graph would be stale at its replay).
"""

from __future__ import annotations

import threading

import torch
from torch import Tensor

#: Blocks per multiprocessor the hardware allows at most (sm_80 .. sm_90: 32).
MAX_BLOCKS_PER_SM = 32
#: Shared memory the driver reserves per block on sm_80 and newer.
RESERVED_SMEM_PER_BLOCK = 1024
#: Registers are allocated per warp in units of 256.
REG_ALLOC_UNIT = 256
_EPOCH_LIMIT = 2**30


def max_resident_programs(props, n_regs: int, shared: int, num_warps: int) -> int:
    """How many programs (blocks) of one kernel can be resident at once on a device.

    Parameters
    ----------
    props : object with the attributes of ``torch.cuda.get_device_properties``
        ``multi_processor_count``, ``max_threads_per_multi_processor``,
        ``shared_memory_per_multiprocessor``, ``warp_size`` and, where torch
        reports it, ``regs_per_multiprocessor`` (65536 if absent).
    n_regs : int
        Registers per thread of the compiled kernel (``CompiledKernel.n_regs``).
    shared : int
        Dynamic shared memory per program in bytes (``metadata.shared``).
    num_warps : int
        Warps per program.

    Returns
    -------
    int
        Multiprocessors x programs per multiprocessor (0 when one program does
        not fit on a multiprocessor at all).
    """
    warp = int(getattr(props, "warp_size", 32) or 32)
    threads = num_warps * warp
    by_threads = props.max_threads_per_multi_processor // threads
    regs_per_sm = int(getattr(props, "regs_per_multiprocessor", 65536) or 65536)
    regs_per_warp = -(-max(n_regs, 1) * warp // REG_ALLOC_UNIT) * REG_ALLOC_UNIT
    by_regs = (regs_per_sm // regs_per_warp) // num_warps
    by_smem = props.shared_memory_per_multiprocessor // (shared + RESERVED_SMEM_PER_BLOCK)
    per_sm = max(0, min(by_threads, by_regs, by_smem, MAX_BLOCKS_PER_SM))
    return props.multi_processor_count * per_sm


def device_props(device: torch.device):
    """``torch.cuda.get_device_properties(device)`` (a function so tests can fake it)."""
    return torch.cuda.get_device_properties(device)


class FlagPool:
    """One reusable barrier-flag buffer per (device, stream); see the module docstring."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._bufs: dict = {}

    @staticmethod
    def _stream_key(device: torch.device):
        if device.type == "cuda":
            return (device.type, device.index, torch.cuda.current_stream(device).cuda_stream)
        return (device.type, device.index, 0)

    def take(self, device: torch.device, size: int, span: int) -> tuple[Tensor, int]:
        """``(flags, epoch)`` for one launch needing ``size`` flags and values
        ``epoch + 1 .. epoch + span``. Call with :attr:`lock` held and queue the
        launch before releasing it."""
        if device.type == "cuda" and torch.cuda.is_current_stream_capturing():
            return torch.zeros(size, device=device, dtype=torch.int32), 0
        key = self._stream_key(device)
        entry = self._bufs.get(key)
        if entry is None or entry[0].numel() < size:
            entry = [torch.zeros(max(size, 64), device=device, dtype=torch.int32), 0]
            self._bufs[key] = entry
        buf, epoch = entry
        if epoch + span >= _EPOCH_LIMIT:
            buf.zero_()  # queued on this stream, after every earlier launch on it
            epoch = 0
        entry[1] = epoch + span + 1
        return buf, epoch

    def clear(self) -> None:
        with self.lock:
            self._bufs.clear()


FLAGS = FlagPool()

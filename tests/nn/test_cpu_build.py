"""The compiled CPU kernel's builder, cache and loader (sklstm.nn._kernels._cpu_build).

A library planted in the cache is never loaded unless it is the current user's own file
in the current user's own private directory; N processes starting at once compile once and
all run the fast path; a missing fast path says so once, with the compiler's last lines.
"""

import ctypes
import json
import os
import platform
import shutil
import subprocess
import sys
import warnings

import pytest
import torch

from sklstm.nn._kernels import _cpu, _cpu_binding, _cpu_build
from sklstm.nn._kernels._eager import eager_recurrence

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REAL_CC = shutil.which(os.environ.get("CC") or "cc") or shutil.which("gcc")
requires_cc = pytest.mark.skipif(REAL_CC is None, reason="needs a C compiler")
IS_ROOT = os.geteuid() == 0
FOREIGN_UID = 54321

PLANTED_C = r"""
#include <stdio.h>
__attribute__((constructor)) static void planted(void) {
    FILE *f = fopen(SENTINEL, "w");
    if (f) { fputs("the planted library ran", f); fclose(f); }
}
int lstm_fwd_f32(void) { return 0; }
int lstm_fwd_f64(void) { return 0; }
int lstm_bwd_f32(void) { return 0; }
int lstm_bwd_f64(void) { return 0; }
"""


def _compile_so(tmp_path, name, source, *defines):
    c_file = tmp_path / f"{name}.c"
    c_file.write_text(source)
    so = tmp_path / f"{name}.so"
    subprocess.run(
        [REAL_CC, "-shared", "-fPIC", *defines, str(c_file), "-o", str(so)],
        check=True,
        capture_output=True,
    )
    return so


def _expected_name():
    cc = _cpu_build.find_compiler()
    return _cpu_build.library_name(cc, _cpu_build._flag_sets(platform.machine())[0])


@pytest.fixture
def loads(monkeypatch):
    """Every file ctypes.CDLL opens, as (st_dev, st_ino)."""
    seen = []
    real = ctypes.CDLL

    def spy(name, *args, **kwargs):
        st = os.stat(name)  # follows /proc/self/fd/<n> to the file
        seen.append((st.st_dev, st.st_ino))
        return real(name, *args, **kwargs)

    monkeypatch.setattr(ctypes, "CDLL", spy)
    return seen


def _make_foreign(path, monkeypatch):
    """Make ``path`` belong to another user: chown as root, else pretend to be someone else."""
    if IS_ROOT:
        os.chown(path, FOREIGN_UID, FOREIGN_UID)
    else:
        uid = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: uid + 1)


def _works(lib):
    """The library computes the cell like the PyTorch fallback does."""
    g = torch.Generator().manual_seed(0)
    T, B, H = 3, 2, 5
    ins = [torch.randn(*s, generator=g) for s in [(T, B, 4 * H), (B, H), (B, H), (4 * H, H)]]
    ins.append(torch.randn(3 * H, generator=g))

    def new(*shape):
        return torch.empty(shape)

    got = _cpu_binding.c_forward(lib, *ins, False, new)[0]
    want = _cpu._torch_forward(*ins, False)[0]
    return torch.allclose(got, want, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- planted files


@requires_cc
@pytest.mark.parametrize(
    "case",
    ["group-writable dir", "world-writable dir", "foreign dir", "writable file", "foreign file",
     "symlink"],
)  # fmt: skip
def test_a_planted_library_is_never_loaded(case, tmp_path, monkeypatch, loads):
    sentinel = tmp_path / "sentinel"
    planted = _compile_so(tmp_path, "planted", PLANTED_C, f'-DSENTINEL="{sentinel}"')
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    target = folder / _expected_name()
    if case == "symlink":
        target.symlink_to(planted)
    else:
        shutil.copy(planted, target)
        target.chmod(0o700)
    planted_id = (os.stat(target).st_dev, os.stat(target).st_ino)
    if case == "group-writable dir":
        folder.chmod(0o770)
    elif case == "world-writable dir":
        folder.chmod(0o777)
    elif case == "writable file":
        target.chmod(0o766)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case == "foreign dir":
            _make_foreign(folder, monkeypatch)
        elif case == "foreign file":
            _make_foreign(target, monkeypatch)
        try:
            lib = _cpu_build.load_library(str(folder))
        except _cpu_build.KernelBuildError:
            assert not IS_ROOT and case.startswith("foreign")  # everything looks foreign
            lib = None
        monkeypatch.undo()  # the real os.geteuid and ctypes.CDLL again

    assert not sentinel.exists(), f"{case}: the planted library ran"
    assert planted_id not in loads, f"{case}: ctypes.CDLL opened the planted file"
    if lib is None:
        return
    assert _works(lib)
    messages = [str(w.message) for w in caught]
    if case.endswith("dir"):  # the cache is not used: built in a private directory
        assert not lib._name.startswith(str(folder))
        assert any("not using the kernel cache" in m for m in messages), messages
        assert (os.stat(target).st_dev, os.stat(target).st_ino) == planted_id  # left alone
    else:  # the directory is private: the file is rebuilt in place
        assert lib._name == str(target) and not target.is_symlink()
        st = os.stat(target)
        assert st.st_uid == os.geteuid() and not st.st_mode & 0o022
        assert not messages, messages


@requires_cc
@pytest.mark.parametrize("case", ["garbage", "missing function"])
def test_a_stale_or_foreign_library_is_rebuilt(case, tmp_path, loads):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    target = folder / _expected_name()
    if case == "garbage":
        target.write_bytes(b"\x7fELF but not really a library")
    else:
        old = _compile_so(tmp_path, "old", "int lstm_fwd_f32(void) { return 0; }\n")
        shutil.copy(old, target)
    target.chmod(0o600)
    stale = target.read_bytes()
    lib = _cpu_build.load_library(str(folder))
    assert lib._name == str(target) and target.read_bytes() != stale
    assert _works(lib)


@requires_cc
def test_every_function_has_argtypes_and_restype(tmp_path):
    lib = _cpu_build.load_library(str(tmp_path / "cache"))
    assert set(_cpu_binding.FUNCTIONS) == {
        f"lstm_{d}_{s}" for d in ("fwd", "bwd") for s in ("f32", "f64")
    }
    for name, argtypes in _cpu_binding.FUNCTIONS.items():
        fn = getattr(lib, name)
        assert fn.argtypes == argtypes and fn.restype is ctypes.c_int, name
    with pytest.raises(TypeError, match="takes at least 16 arguments"):
        lib.lstm_fwd_f32(1, 1, 1)  # refused, where it would otherwise run on garbage


@requires_cc
def test_the_cache_is_private_whatever_the_umask(tmp_path):
    folder = tmp_path / "parent" / "cache"
    old = os.umask(0)
    try:
        lib = _cpu_build.load_library(str(folder))
    finally:
        os.umask(old)
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert not os.stat(lib._name).st_mode & 0o022
    assert sorted(os.listdir(folder)) == [".lock", os.path.basename(lib._name)]  # no leftovers


def test_cache_dir_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SKLSTM_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert _cpu_build.cache_dir() == str(tmp_path / "home" / ".cache" / "sklstm")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    assert _cpu_build.cache_dir() == str(tmp_path / "home" / ".cache" / "sklstm")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cpu_build.cache_dir() == str(tmp_path / "xdg" / "sklstm")
    monkeypatch.setenv("SKLSTM_CACHE_DIR", str(tmp_path / "mine"))
    assert _cpu_build.cache_dir() == str(tmp_path / "mine")


# --------------------------------------------------------------------------- many processes

_RACE = """
import json, os, sys, time
sys.path.insert(0, {root!r})
import torch
from sklstm.nn._kernels import _cpu, _cpu_build
from sklstm.nn._kernels._eager import eager_recurrence

ready, me = sys.argv[1], sys.argv[2]
open(os.path.join(ready, me), "w").close()
deadline = time.time() + 120
while len(os.listdir(ready)) < 2 and time.time() < deadline:  # start together
    time.sleep(0.005)
lib = _cpu_build.compiled_library()
g = torch.Generator().manual_seed(0)
ins = [torch.randn(*s, generator=g, dtype=torch.float64) for s in [(4, 2, 12), (2, 3), (2, 3),
       (12, 3), (9,)]]
err = (_cpu.cpu_fused_recurrence(*ins, "diagonal")[0]
       - eager_recurrence(*ins, "diagonal")[0]).abs().max().item()
print(json.dumps({{"lib": lib and lib._name, "err": err}}))
"""


@requires_cc
def test_two_processes_building_at_once_both_end_on_the_fast_path(tmp_path):
    log, ready = tmp_path / "cc.log", tmp_path / "ready"
    ready.mkdir()
    wrapper = tmp_path / "slow-cc"  # every compiler call is logged and takes a little longer
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nsleep 0.2\nexec "{REAL_CC}" "$@"\n')
    wrapper.chmod(0o755)
    cache = tmp_path / "fresh" / "cache"
    env = dict(os.environ, CC=str(wrapper), SKLSTM_CACHE_DIR=str(cache), OMP_NUM_THREADS="1")
    env.pop("SKLSTM_NO_CC", None)
    script = _RACE.format(root=ROOT)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(ready), str(k)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert "KernelBuildWarning" not in err, err
        res = json.loads(out.strip().splitlines()[-1])
        assert res["lib"] is not None and res["lib"].startswith(str(cache)), res
        assert res["err"] < 1e-12, res
    calls = log.read_text().splitlines()
    assert len(calls) == 3, f"one build is 2 compiles and 1 link, got {len(calls)} calls: {calls}"


# --------------------------------------------------------------------------- the fallback


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """compiled_library() starts over (no library, no warning given yet) in an empty cache."""
    monkeypatch.setenv("SKLSTM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SKLSTM_NO_CC", raising=False)
    monkeypatch.setattr(_cpu_build, "_WARNED", set())
    _cpu_build.compiled_library.cache_clear()
    yield
    _cpu_build.compiled_library.cache_clear()


def _run_three_times():
    """Three forward + backward calls of the cpu_fused path; the warnings they gave."""
    g = torch.Generator().manual_seed(1)
    shapes = [(3, 2, 16), (2, 4), (2, 4), (16, 4), (12,)]
    ins = [torch.randn(*s, generator=g).requires_grad_() for s in shapes]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            out, hn, cn = _cpu.cpu_fused_recurrence(*ins, "diagonal")
            (out.sum() + hn.sum() + cn.sum()).backward()
    ref = eager_recurrence(*(x.detach().double() for x in ins), "diagonal")[0]
    assert torch.allclose(out.double(), ref, rtol=1e-5, atol=1e-6)
    return [w for w in caught if issubclass(w.category, _cpu_build.KernelBuildWarning)]


def test_a_failing_compiler_warns_once_with_its_output(fresh, monkeypatch, tmp_path):
    cc = tmp_path / "broken-cc"
    cc.write_text(
        "#!/bin/sh\necho 'broken-cc: error: the sentinel compiler message' >&2\nexit 3\n"
    )
    cc.chmod(0o755)
    monkeypatch.setenv("CC", str(cc))
    caught = _run_three_times()
    assert _cpu_build.compiled_library() is None
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert "the sentinel compiler message" in message and "exit status 3" in message
    assert "SKLSTM_NO_CC=1" in message and "float32" in message


def test_no_compiler_warns_once(fresh, monkeypatch, tmp_path):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    caught = _run_three_times()
    assert len(caught) == 1 and "no C compiler found" in str(caught[0].message)


def test_sklstm_no_cc_falls_back_silently(fresh, monkeypatch):
    monkeypatch.setenv("SKLSTM_NO_CC", "1")
    assert _run_three_times() == []
    assert _cpu_build.compiled_library() is None


def test_a_missing_source_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(_cpu_build, "SOURCE", str(tmp_path / "lstm_cpu.c"))
    with pytest.raises(_cpu_build.KernelBuildError, match="is missing from this installation"):
        _cpu_build.load_library(str(tmp_path / "cache"))


# --------------------------------------------------------------------------- platforms

_ARM = "processor\t: {n}\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU part\t: {part}\n"


def test_the_key_and_flags_know_the_architecture():
    assert _cpu_build.native_flags("x86_64") == ["-march=native"]
    assert _cpu_build.native_flags("aarch64") == ["-mcpu=native"]
    assert _cpu_build.native_flags("arm64") == ["-mcpu=native"]
    assert _cpu_build.native_flags("riscv64") == []
    a72 = _cpu_build.cpu_id(_ARM.format(n=0, part="0xd08") + _ARM.format(n=1, part="0xd08"))
    n1 = _cpu_build.cpu_id(_ARM.format(n=0, part="0xd0c"))
    assert "CPU part: 0xd08" in a72 and a72.count("CPU part") == 1
    assert a72 != n1
    x86 = _cpu_build.cpu_id("model name\t: Some CPU\nflags\t\t: sse2 avx2\nbogomips\t: 1\n")
    assert x86 == "flags: sse2 avx2\nmodel name: Some CPU"

    def key(machine, cpu):
        return _cpu_build.cache_key("/usr/bin/cc", ["-O3"], b"src", machine, cpu)

    assert key("aarch64", a72) != key("aarch64", n1)
    assert key("aarch64", "") != key("x86_64", "")


def test_the_macos_compiler_stub_is_never_run(monkeypatch):
    calls = []

    def run(cmd, *args, **kwargs):
        calls.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 2, b"", b"xcode-select: error: no developer tools")

    monkeypatch.setattr(_cpu_build.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(_cpu_build.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(_cpu_build.subprocess, "run", run)
    monkeypatch.delenv("CC", raising=False)
    with pytest.raises(_cpu_build.KernelBuildError, match="xcode-select --install"):
        _cpu_build.find_compiler()
    assert calls == [["xcode-select", "-p"]]

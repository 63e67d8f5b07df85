"""Build, cache and load the compiled CPU kernel (``lstm_cpu.c``), safely.

Where the library is cached
    ``$SKLSTM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/sklstm`` (if that is an
    absolute path), else ``~/.cache/sklstm``; the file is ``lstm_cpu_<key>.so``,
    the key hashing the C source, the compiler's path, the flags,
    ``platform.machine()`` and the CPU model (``/proc/cpuinfo``: ``model name``
    and ``flags`` on x86, ``CPU implementer``/``part``/... and ``Features`` on
    ARM). A missing cache directory is created with mode 0700.

What is checked before anything is loaded
    The directory and the file must belong to the current (effective) user and
    must not be writable by group or others; the file must be a regular file,
    not a symbolic link. Both are opened first and the checks run on the open
    descriptors; on Linux the library is then loaded through
    ``/proc/self/fd/<n>``, so the file checked is the file loaded.

    * A cache directory that fails the check is not used: the library is built
      in a fresh private directory (``tempfile.mkdtemp``, mode 0700) for this
      process only, with one warning that says why.
    * A cached file that fails the check, does not load (``OSError``) or lacks
      a function (``AttributeError``: a stale or foreign file) is rebuilt.
    * A cache directory that cannot be written (a read-only home) is used when
      it already holds a good library, else the private directory is.

Building
    Under an exclusive ``fcntl`` lock on ``<cache>/.lock`` (N workers starting
    at once compile once); compiled in a temporary directory inside the cache
    and moved into place with ``os.replace``, so a reader never sees half a
    file. ``-march=native`` on x86, ``-mcpu=native`` on ARM and POWER; if that
    build fails, once more without it. On macOS ``/usr/bin/cc`` is not run
    unless ``xcode-select -p`` succeeds (without the Command Line Tools it is a
    stub that opens an install dialog).

:func:`compiled_library` returns the bound library, or ``None`` with one
warning per process saying why (with the compiler's last lines) when the fast
path is unavailable; ``SKLSTM_NO_CC=1`` turns it off without a warning.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import os
import platform
import shutil
import stat
import subprocess
import tempfile
import warnings

from sklstm.nn._kernels._cpu_binding import bind

__all__ = [
    "KernelBuildError",
    "KernelBuildWarning",
    "cache_dir",
    "compiled_library",
    "load_library",
]

#: The C source, shipped as package data.
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lstm_cpu.c")
#: Part of the cache key: bump when the binding's signatures change.
_ABI = "2"
_FLAGS = ["-O3", "-fPIC", "-fno-math-errno", "-std=gnu99"]
_TIMEOUT = 120  # seconds per compiler call
_TAIL = 15  # lines of compiler output in an error
_CPU_FIELDS = frozenset(
    ["vendor_id", "model name", "flags"]  # x86
    + ["CPU implementer", "CPU architecture", "CPU variant", "CPU part", "Features"]  # ARM
    + ["cpu"]  # POWER
)


class KernelBuildError(RuntimeError):
    """The compiled CPU kernel cannot be built or loaded; the message says why."""


class KernelBuildWarning(UserWarning):
    """The compiled CPU kernel is unavailable, or its cache directory is not used."""


class _UnsafeDir(Exception):
    """The cache directory is not private to the current user."""


class _UnsafeFile(Exception):
    """A cached file is not the current user's own, unwritable-by-others regular file."""


class _Stale(Exception):
    """A cached file does not load, or lacks one of the kernel's functions."""


class _Unusable(Exception):
    """The cache directory cannot hold a working library (e.g. a noexec mount)."""


class _CompileError(Exception):
    def __init__(self, cmd: list[str], output: str):
        lines = output.strip().splitlines()[-_TAIL:]
        super().__init__(f"`{' '.join(cmd)}` failed; its last lines:\n" + "\n".join(lines))


def cache_dir() -> str:
    """The directory the library is cached in (see the module docstring)."""
    path = os.environ.get("SKLSTM_CACHE_DIR")
    if path:
        return os.path.abspath(os.path.expanduser(path))
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sklstm")


def native_flags(machine: str) -> list[str]:
    """The flag that tunes the code for this CPU: -march on x86, -mcpu on ARM and POWER."""
    m = machine.lower()
    if m in ("x86_64", "amd64", "i386", "i686", "x86"):
        return ["-march=native"]
    if m in ("aarch64", "arm64") or m.startswith(("armv", "ppc", "powerpc")):
        return ["-mcpu=native"]
    return []


def _read_cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return fh.read()
    except OSError:
        pass
    model = platform.processor()
    if platform.system() == "Darwin":
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            model = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
    return f"model name: {model}"


def cpu_id(cpuinfo: str | None = None) -> str:
    """The distinct ``/proc/cpuinfo`` fields that decide what ``native`` code is generated."""
    text = _read_cpuinfo() if cpuinfo is None else cpuinfo
    fields = set()
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in _CPU_FIELDS:
            fields.add(f"{name.strip()}: {value.strip()}")
    return "\n".join(sorted(fields))


def cache_key(cc: str, flags: list[str], source: bytes, machine: str, cpu: str) -> str:
    digest = hashlib.sha256()
    for part in (_ABI, source, cc, *flags, machine, cpu):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _flag_sets(machine: str) -> list[list[str]]:
    native = native_flags(machine)
    return [_FLAGS + native, _FLAGS] if native else [_FLAGS]


def _is_xcode_stub(path: str) -> bool:
    return platform.system() == "Darwin" and os.path.dirname(os.path.realpath(path)) == "/usr/bin"


def _xcode_tools_installed() -> bool:
    try:
        res = subprocess.run(["xcode-select", "-p"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return res.returncode == 0


def find_compiler() -> str:
    """The C compiler: ``$CC``, else ``cc``, ``gcc`` or ``clang`` on the PATH."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        path = shutil.which(name) if name else None
        if path is None:
            continue
        if _is_xcode_stub(path) and not _xcode_tools_installed():
            raise KernelBuildError(
                f"{path} is the macOS stub of the C compiler (`xcode-select -p` failed: the "
                "Command Line Tools are not installed); install them with "
                "`xcode-select --install`, or set CC to a C compiler"
            )
        return path
    raise KernelBuildError(
        "no C compiler found ($CC, cc, gcc or clang on the PATH); install one, or set CC"
    )


def library_name(cc: str, flags: list[str]) -> str:
    """The file name of the library built by ``cc`` with ``flags`` on this machine."""
    with open(SOURCE, "rb") as fh:
        source = fh.read()
    return f"lstm_cpu_{cache_key(cc, flags, source, platform.machine(), cpu_id())}.so"


# --------------------------------------------------------------------------- checks


def _check_owner(st: os.stat_result, what: str, exc: type) -> None:
    uid = os.geteuid()
    if st.st_uid != uid:
        raise exc(f"{what} belongs to uid {st.st_uid}, not to the current user (uid {uid})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        mode = stat.S_IMODE(st.st_mode)
        raise exc(f"{what} is writable by group or others (mode {mode:o})")


def _open_dir(folder: str) -> int:
    """A descriptor of ``folder``; ``_UnsafeDir`` unless it is private to the current user."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _check_owner(os.fstat(fd), f"the directory {folder}", _UnsafeDir)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _load_checked(dir_fd: int, folder: str, name: str) -> ctypes.CDLL:
    """Load ``folder/name`` after checking it; ``FileNotFoundError`` if there is none."""
    path = os.path.join(folder, name)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _UnsafeFile(f"{path} is a symbolic link") from exc
        raise
    by_fd = platform.system() == "Linux" and os.path.isdir("/proc/self/fd")
    keep = False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _UnsafeFile(f"{path} is not a regular file")
        _check_owner(st, f"the file {path}", _UnsafeFile)
        try:
            lib = ctypes.CDLL(f"/proc/self/fd/{fd}" if by_fd else path)
        except OSError as exc:
            raise _Stale(f"{path} does not load: {exc}") from exc
        # dlopen now knows the library by the descriptor's name: keep the descriptor
        # open so that its number (and so the name) is never reused in this process.
        keep = by_fd
        try:
            bind(lib)
        except AttributeError as exc:
            raise _Stale(f"{path} is not this version's kernel: {exc}") from exc
        lib._name = path
        return lib
    finally:
        if not keep:
            os.close(fd)


# --------------------------------------------------------------------------- building


def _run(cmd: list[str]) -> None:
    try:
        res = subprocess.run(
            cmd, capture_output=True, text=True, errors="replace", timeout=_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise _CompileError(cmd, f"timed out after {_TIMEOUT} s") from exc
    except OSError as exc:
        raise _CompileError(cmd, str(exc)) from exc
    if res.returncode != 0:
        raise _CompileError(cmd, f"{res.stdout}\n{res.stderr}\n(exit status {res.returncode})")


def _build_into(folder: str, name: str, cc: str, flags: list[str]) -> None:
    """Compile in a temporary directory inside ``folder``; move the result to ``folder/name``."""
    work = tempfile.mkdtemp(prefix=".build-", dir=folder)
    try:
        objects = []
        for real in ("float", "double"):
            obj = os.path.join(work, f"lstm_cpu_{real}.o")
            _run([cc, *flags, f"-DREAL={real}", "-c", SOURCE, "-o", obj])
            objects.append(obj)
        so = os.path.join(work, name)
        _run([cc, "-shared", "-fPIC", *objects, "-o", so, "-lm"])
        os.chmod(so, 0o700)  # whatever the umask: never writable by group or others
        os.replace(so, os.path.join(folder, name))
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _locked(dir_fd: int):
    """An exclusive lock on ``.lock`` in the directory, held while building."""
    import fcntl

    fd = os.open(
        ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _make_private_dir(folder: str) -> None:
    """Create ``folder`` with mode 0700 if it does not exist (its parents as usual)."""
    if os.path.isdir(folder):
        return
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)


def _from_folder(folder: str, name: str, cc: str, flags: list[str]) -> ctypes.CDLL:
    _make_private_dir(folder)
    dir_fd = _open_dir(folder)
    try:
        with contextlib.suppress(FileNotFoundError, _UnsafeFile, _Stale):
            return _load_checked(dir_fd, folder, name)
        with _locked(dir_fd):
            # another process may have built it while this one waited for the lock
            with contextlib.suppress(FileNotFoundError, _UnsafeFile, _Stale):
                return _load_checked(dir_fd, folder, name)
            _build_into(folder, name, cc, flags)
            try:
                return _load_checked(dir_fd, folder, name)
            except (FileNotFoundError, _UnsafeFile, _Stale) as exc:
                raise _Unusable(str(exc)) from exc
    finally:
        os.close(dir_fd)


def _from_private_dir(name: str, cc: str, flags: list[str]) -> ctypes.CDLL:
    """Build and load in a fresh private directory, removed again once loaded."""
    work = tempfile.mkdtemp(prefix="sklstm-")
    try:
        _build_into(work, name, cc, flags)
        dir_fd = _open_dir(work)
        try:
            return _load_checked(dir_fd, work, name)
        finally:
            os.close(dir_fd)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load_or_build(folder: str, name: str, cc: str, flags: list[str]) -> ctypes.CDLL:
    try:
        return _from_folder(folder, name, cc, flags)
    except _UnsafeDir as exc:
        why = str(exc)
        warn_once(
            ("cache", folder),
            f"sklstm: not using the kernel cache {folder}: {why}. The compiled CPU kernel is "
            "built in a private temporary directory in every process instead. Use a cache "
            "directory of your own that only you can write to (chmod 700), or set "
            "SKLSTM_CACHE_DIR to one.",
        )
    except (_Unusable, OSError) as exc:  # read-only, full, noexec, ...
        why = str(exc)
    try:
        return _from_private_dir(name, cc, flags)
    except (_UnsafeDir, _UnsafeFile, _Stale, OSError) as exc:
        raise KernelBuildError(
            f"the cache {folder} cannot be used ({why}), nor a private temporary directory ({exc})"
        ) from exc


def load_library(folder: str | None = None) -> ctypes.CDLL:
    """The bound library from ``folder`` (default :func:`cache_dir`), built there if needed.

    Raises :class:`KernelBuildError` saying why when the kernel cannot be built or loaded.
    """
    if platform.system() == "Windows":
        raise KernelBuildError("the compiled CPU kernel is not supported on Windows")
    if not os.path.isfile(SOURCE):
        raise KernelBuildError(f"the C source {SOURCE} is missing from this installation")
    cc = find_compiler()
    folder = cache_dir() if folder is None else os.path.abspath(folder)
    failure = None
    for flags in _flag_sets(platform.machine()):
        try:
            return _load_or_build(folder, library_name(cc, flags), cc, flags)
        except _CompileError as exc:  # then try without the CPU-specific flag
            failure = exc
    raise KernelBuildError(f"the C compiler failed: {failure}")


_WARNED: set = set()


def warn_once(key, message: str) -> None:
    """Warn with ``message`` unless a warning with this key was given in this process."""
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, KernelBuildWarning, stacklevel=3)


@functools.cache
def compiled_library() -> ctypes.CDLL | None:
    """The bound C library (built on first use and cached), or None if it cannot be had."""
    if os.environ.get("SKLSTM_NO_CC", "0") not in ("", "0"):
        return None
    try:
        return load_library()
    except KernelBuildError as exc:
        warn_once(
            "unavailable",
            "sklstm: the compiled CPU kernel is unavailable, so the cpu_fused path runs its "
            "PyTorch fallback (slower, and its float32 results differ from the compiled "
            f"kernel's in the last bits). Why: {exc}\nSet SKLSTM_NO_CC=1 to run the fallback "
            "without this warning.",
        )
        return None

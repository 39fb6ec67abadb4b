"""Turn a C source string into a shared library: compiler probing, flags, BLAS.

This module knows nothing about graphs. The compile cache (``cache.py``) calls
:func:`compile_shared` on a miss and hashes :func:`compiler_command` into its
keys. The compiler is probed once per process (:func:`compiler_info`);
``symgraph.config.openmp`` and ``symgraph.config.cxxflags`` are read each time a
command is built, so changing them at run time takes effect (and changes keys).

Example::

    from symgraph.backends.c.build import compile_shared, blas_flags
    compile_shared("double add(double a, double b) { return a + b; }", "/tmp/add.so")
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading

from symgraph.config import config

__all__ = [
    "CompileError", "CompilerInfo", "compiler_info", "compiler_command",
    "compile_shared", "blas_flags", "dnnl_flags", "number_lines", "pin_library", "c_environment",
]

# Always used. -ffp-contract=fast lets gcc emit FMA (-std=c11 turns it off otherwise).
# --no-undefined turns a misspelt symbol (cblas_sgemm instead of scipy_cblas_sgemm)
# into a compile error instead of a failure at dlopen time; hence the explicit -lm.
_BASE_FLAGS = ("-O3", "-shared", "-fPIC", "-std=c11", "-fno-strict-aliasing",
               "-ffp-contract=fast")
_LINUX_LINK_FLAGS = ("-Wl,--no-undefined", "-lm")

_PROBE_SOURCE = r"""
#ifdef _OPENMP
#include <omp.h>
#endif
int symgraph_probe(int n) {
    int total = 0;
    #pragma omp parallel for reduction(+:total)
    for (int i = 0; i < n; i++) total += i;
#ifdef _OPENMP
    total += 0 * omp_get_max_threads();  /* proves libgomp links and loads */
#endif
    return total;
}
"""


class CompileError(RuntimeError):
    """The C compiler rejected a source; the message holds its stderr and the code around the error.

    Attributes: ``command`` (list of str), ``stderr`` (str), ``source`` (str),
    ``lineno`` (first error line, or None).
    """

    def __init__(self, message, command=(), stderr="", source="", lineno=None):
        super().__init__(message)
        self.command = list(command)
        self.stderr = stderr
        self.source = source
        self.lineno = lineno


@dataclasses.dataclass(frozen=True)
class CompilerInfo:
    """What the process's C compiler is and which optional flags it accepts.

    ``available`` is False (with ``reason``) when no flag set produced a loadable
    library. ``native_target`` is what ``-march=native`` resolves to on this
    host, so a cache shared between different CPUs never mixes their libraries.
    """

    cc: str
    version: str
    available: bool
    reason: str = ""
    flags: tuple = ()            # base flags that worked, without -fopenmp
    openmp: bool = False         # whether -fopenmp works
    native_target: str = ""


_info_lock = threading.Lock()
_info_by_cc: dict = {}


def _compiler_name():
    return os.environ.get("CC") or "cc"


def compiler_info() -> CompilerInfo:
    """Probe the compiler (``$CC`` or ``cc``) once per process and return what works.

    Tries the preferred flags with ``-fopenmp -march=native``, then without
    ``-fopenmp``, then without ``-march=native``; each try builds and loads a
    small OpenMP program. Example::

        info = compiler_info()
        if not info.available:
            print(info.reason)
    """
    cc = _compiler_name()
    with _info_lock:
        info = _info_by_cc.get(cc)
        if info is None:
            info = _info_by_cc[cc] = _probe_cached(cc)
        return info


# A successful probe is remembered in the (private) compile directory, keyed by the compiler
# binary, the CPU and the flag sets tried: a new process that finds the record skips the three
# subprocesses of a probe (~0.3 s), which matters for warm start-up.
_PROBE_RECORD_VERSION = 1


def _probe_record_path(cc):
    argv0 = shlex.split(cc)
    found = shutil.which(argv0[0]) if argv0 else None
    directory = config.compiledir
    if found is None or not os.path.isdir(directory):
        return None
    real = os.path.realpath(found)
    st = os.stat(real)
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = "".join(line for line in f if line.startswith(("model name", "flags")))[:20000]
    except OSError:
        pass
    ident = repr((_PROBE_RECORD_VERSION, cc, real, st.st_mtime_ns, st.st_size, cpu, sys.platform,
                  _BASE_FLAGS, _LINUX_LINK_FLAGS))
    import hashlib
    return os.path.join(directory, "compiler-" + hashlib.sha256(ident.encode()).hexdigest()[:32] + ".json")


def _private_file(path):
    st = os.stat(path)
    getuid = getattr(os, "getuid", None)
    return (getuid is None or st.st_uid == getuid()) and not st.st_mode & 0o022


def _probe_cached(cc):
    import json
    try:
        path = _probe_record_path(cc)
    except OSError:
        path = None
    if path is not None and os.path.isfile(path):
        try:
            if _private_file(path) and _private_file(os.path.dirname(path)):
                with open(path) as f:
                    data = json.load(f)
                data["flags"] = tuple(data["flags"])
                info = CompilerInfo(**data)
                if info.available and info.cc == cc:
                    return info
        except (OSError, ValueError, TypeError, KeyError):
            pass
    info = _probe(cc)
    if path is not None and info.available:
        try:
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(dataclasses.asdict(info), f)
            os.replace(tmp, path)
        except OSError:
            pass
    return info


def _probe(cc):
    argv0 = shlex.split(cc)
    if not argv0 or shutil.which(argv0[0]) is None:
        return CompilerInfo(cc, "", False, f"C compiler {cc!r} not found on PATH (set $CC)")
    try:
        out = subprocess.run(argv0 + ["--version"], capture_output=True, text=True, timeout=60)
        lines = (out.stdout or out.stderr).strip().splitlines()
        version = lines[0] if lines else ""
    except (OSError, subprocess.SubprocessError) as exc:
        return CompilerInfo(cc, "", False, f"running {cc!r} --version failed: {exc}")

    link = _LINUX_LINK_FLAGS if sys.platform.startswith("linux") else ()
    base = _BASE_FLAGS + link
    native = ("-march=native",)
    attempts = [  # (flags, openmp)
        (base + native, True),
        (base + native, False),
        (base, False),
        (_BASE_FLAGS, False),  # in case the linker rejects --no-undefined
    ]
    errors = []
    with tempfile.TemporaryDirectory(prefix="symgraph-probe-") as tmp:
        for n, (flags, openmp) in enumerate(attempts):
            out_path = os.path.join(tmp, f"probe{n}.so")
            extra = ("-fopenmp",) if openmp else ()
            try:
                _run_compiler(argv0, flags + extra, _PROBE_SOURCE, out_path)
                _check_loads(out_path)
            except (CompileError, OSError) as exc:
                detail = getattr(exc, "stderr", "") or str(exc)
                errors.append(f"  with {' '.join(flags + extra)}:\n    {detail.strip()[-500:]}")
                continue
            target = _native_target(argv0) if "-march=native" in flags else ""
            return CompilerInfo(cc, version, True, "", tuple(flags), openmp, target)
    return CompilerInfo(cc, version, False,
                        f"C compiler {cc!r} could not build a loadable library:\n" + "\n".join(errors))


# Libraries loaded by this process are never dlclose'd: unloading the last
# library that pulled in libgomp unmaps it under its idle worker threads, which
# then segfault (seen here: a crash a few ms after the probe's FFI was collected).
_PINNED = []


def pin_library(ffi, lib):
    """Keep ``(ffi, lib)`` referenced for the life of the process, so it is never unloaded."""
    _PINNED.append((ffi, lib))


def _check_loads(path):
    import cffi

    ffi = cffi.FFI()
    ffi.cdef("int symgraph_probe(int n);")
    lib = ffi.dlopen(path)
    pin_library(ffi, lib)
    if lib.symgraph_probe(100) != 4950:
        raise OSError("probe library returned a wrong value")


def _native_target(argv0):
    """The -m options that -march=native expands to (gcc and clang both print them with -###)."""
    try:
        out = subprocess.run(argv0 + ["-###", "-march=native", "-x", "c", "-S", "-o", os.devnull, os.devnull],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    tokens = []
    for line in out.stderr.splitlines():
        if "cc1" not in line:
            continue
        words = [w.strip('"') for w in shlex.split(line, posix=False)]
        for i, word in enumerate(words):
            if word.startswith("-m") and not word.startswith("-mllvm"):
                tokens.append(word)
            elif word in ("-target-cpu", "-target-feature") and i + 1 < len(words):
                tokens.append(f"{word}={words[i + 1]}")
    return " ".join(tokens) or "unknown"


def compiler_command(extra_flags=()) -> list:
    """The compile command minus file names: ``[cc, *flags, *cxxflags, *extra_flags]``.

    Reads ``config.openmp`` and ``config.cxxflags`` now. This exact list is part
    of every cache key. Raises :class:`CompileError` when no compiler works.
    Example::

        compiler_command(blas_flags())  # ['cc', '-O3', ..., '-lscipy_openblas', ...]
    """
    info = compiler_info()
    if not info.available:
        raise CompileError(info.reason)
    flags = list(info.flags)
    if info.openmp and config.openmp:
        flags.append("-fopenmp")
    flags.extend(shlex.split(config.cxxflags or ""))
    return shlex.split(info.cc) + flags + list(extra_flags)


_AVX512 = frozenset(("avx512f", "avx512bw", "avx512dq", "avx512vl"))


def select_blas_kernels(cpuinfo="/proc/cpuinfo", environ=None):
    """Choose OpenBLAS's AVX-512 kernels on AMD CPUs that have AVX-512; return the choice.

    The ``scipy-openblas32`` library is built for every x86 generation and picks its
    kernels when it loads. It files AMD's AVX-512 CPUs (Zen 4 and 5) under Haswell, whose
    AVX2 kernels reach half of what these cores do: float32 gemm on this project's 2-core
    Zen 5 machine runs 1024^3 at 222 GFLOP/s with them and 413 GFLOP/s with the SkylakeX
    (AVX-512) ones, LeNet's 50 x 500 x 512 convolution products at 89 against 136-153 per
    core. So, unless the user chose (``OPENBLAS_CORETYPE`` set), on an AMD CPU whose
    kernel reports the four AVX-512 extensions the kernels need, this sets
    ``OPENBLAS_CORETYPE=SkylakeX`` before the library is first loaded (every library that
    links it is built or loaded after :func:`blas_flags`). Intel CPUs are detected
    correctly by OpenBLAS and left alone.

    Nothing is written to ``os.environ``: :func:`blas_flags` loads OpenBLAS with the choice
    set in the C environment only while the library initialises (:func:`c_environment`).
    ``environ`` (a dict, for tests) receives the choice when given.
    """
    env = os.environ if environ is None else environ
    if "OPENBLAS_CORETYPE" in env:
        return env["OPENBLAS_CORETYPE"] or None
    try:
        with open(cpuinfo) as f:
            text = f.read(1 << 16)
    except OSError:
        return None
    vendor, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "vendor_id" and vendor is None:
            vendor = value.strip()
        elif key == "flags":
            flags = set(value.split())
            break
    if vendor == "AuthenticAMD" and _AVX512 <= flags:
        if environ is not None:
            environ["OPENBLAS_CORETYPE"] = "SkylakeX"
        return "SkylakeX"
    return None


@contextlib.contextmanager
def c_environment(name, value):
    """Set ``name=value`` in the C library's environment (what ``getenv`` in a library
    constructor reads) for the ``with`` block, then remove it; ``os.environ`` is never touched.

    For libraries that read a setting only from the environment when they load (OpenBLAS's
    core type, libgomp's spin count). Only for a name absent from ``os.environ``. Another
    thread that reads the C environment in that moment sees the value; Python code does not
    (``os.environ`` is a copy taken at start-up).
    """
    libc = ctypes.CDLL(None)
    libc.setenv.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)
    libc.unsetenv.argtypes = (ctypes.c_char_p,)
    libc.setenv(name.encode(), value.encode(), 1)
    try:
        yield
    finally:
        libc.unsetenv(name.encode())


def blas_flags() -> tuple:
    """Flags of the BLAS the runtime library uses, from ``config.blas.ldflags`` (read now).

    Left at its default: OpenBLAS from the ``scipy-openblas32`` wheel
    (:func:`scipy_openblas_flags`). Set to a link line (Theano's use, e.g. ``-lopenblas`` or
    ``-L/opt/mkl/lib -lmkl_rt``): that line, and the runtime calls the standard ``cblas_*``
    names. Set to ``''``: no BLAS; products run as plain C loops (``src/sg_cblas.h``).
    """
    if config.source("blas.ldflags") == "default":
        return scipy_openblas_flags()
    ldflags = str(getattr(config, "blas.ldflags")).strip()
    if not ldflags:
        return ("-DSG_BLAS_NONE",)
    return ("-DSG_BLAS_PLAIN",) + tuple(shlex.split(ldflags))


@functools.lru_cache(maxsize=None)
def scipy_openblas_flags() -> tuple:
    """Flags that compile and link against OpenBLAS from the ``scipy-openblas32`` wheel.

    Sources then ``#include <cblas.h>`` and call ``scipy_cblas_sgemm(CblasRowMajor, ...)``
    (every symbol carries the ``scipy_`` prefix). The rpath lets the library load
    without LD_LIBRARY_PATH. The first call also picks OpenBLAS's kernels
    (:func:`select_blas_kernels`); the result is computed once per process.
    """
    import scipy_openblas32

    inc = scipy_openblas32.get_include_dir()
    lib = scipy_openblas32.get_lib_dir()
    core = select_blas_kernels(environ=dict(os.environ))
    if core and "OPENBLAS_CORETYPE" not in os.environ:
        # load it now, with the core type in the C environment only, before any library that
        # links it (the loader then reuses this copy); ctypes never unloads it
        path = os.path.join(lib, f"lib{scipy_openblas32.get_library()}.so")
        with c_environment("OPENBLAS_CORETYPE", core):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError:
                pass
    return (f"-I{inc}", f"-L{lib}", f"-l{scipy_openblas32.get_library()}", f"-Wl,-rpath,{lib}")


def dnnl_flags() -> tuple:
    """Flags that build the runtime's ``conv_dnnl.c`` against oneDNN, or ``()`` for im2col.

    Reads ``config.dnn.conv.cpu``: ``im2col`` gives ``()``; ``auto`` looks for
    ``include/oneapi/dnnl/dnnl.h`` and ``lib/libdnnl.so`` under ``sys.prefix`` (where the
    ``onednn-cpu-gomp`` / ``onednn-devel-cpu-gomp`` wheels put them) and gives ``()`` when
    either is missing; ``dnnl`` raises :class:`CompileError` when they are missing.
    """
    choice = config.dnn.conv.cpu
    if choice == "im2col":
        return ()
    return _dnnl_found(choice == "dnnl", sys.prefix)


@functools.lru_cache(maxsize=None)
def _dnnl_found(required, prefix):
    inc, lib = os.path.join(prefix, "include"), os.path.join(prefix, "lib")
    if os.path.isfile(os.path.join(inc, "oneapi", "dnnl", "dnnl.h")) and os.path.isfile(os.path.join(lib, "libdnnl.so")):
        return ("-DSG_HAVE_DNNL", f"-I{inc}", f"-L{lib}", "-ldnnl", f"-Wl,-rpath,{lib}")
    if required:
        raise CompileError(f"dnn.conv.cpu=dnnl but oneDNN was not found under {prefix} "
                           "(pip install symgraph[onednn])")
    return ()


def compile_shared(source, out_path: str, extra_flags=(), build_dir=None) -> None:
    """Compile C ``source`` into the shared library ``out_path``.

    ``source`` is one C text, or a tuple of texts: translation units, each compiled by its
    own compiler process at the same time, the objects then linked into one library (the
    runtime library is split so its cold build takes the time of its largest unit, not of
    the whole). Sources are written to a private temporary directory first (in ``build_dir``
    when given, else the system's; gcc's own temporary files go there too, and it is removed
    on any exit, Ctrl-C included). On failure
    raises :class:`CompileError` with the compiler's stderr and the numbered source lines
    around the first error. Example::

        compile_shared("int one(void) { return 1; }", "/tmp/one.so")
    """
    command = compiler_command(extra_flags)
    if isinstance(source, str):
        _run_compiler(command[:1], command[1:], source, out_path, build_dir)
    else:
        _run_compiler_parts(command[:1], command[1:], list(source), out_path, build_dir)


def _compiler_env(tmp):
    """The compiler's environment: this process's, with TMPDIR in the build folder (passed to
    the child only)."""
    return dict(os.environ, TMPDIR=tmp)


def _is_link_flag(flag):
    return flag == "-shared" or flag.startswith(("-l", "-L", "-Wl,"))


def _run_compiler_parts(argv0, flags, parts, out_path, build_dir=None):
    """Compile each part to an object file (all at once), then link them into ``out_path``."""
    compile_flags = [f for f in flags if not _is_link_flag(f)]
    with tempfile.TemporaryDirectory(prefix=".tmp-build-", dir=build_dir) as tmp:
        jobs = []
        try:
            _start_and_link(argv0, flags, compile_flags, parts, out_path, tmp, jobs)
        except BaseException:
            for _, p, _, _, _ in jobs:       # Ctrl-C: stop every compiler before the folder goes
                if p.poll() is None:
                    p.kill()
                    p.wait()
            raise


def _start_and_link(argv0, flags, compile_flags, parts, out_path, tmp, jobs):
    """Start one compiler per part (recorded in ``jobs``), wait for them, link the objects."""
    for k, part in enumerate(parts):
        d = os.path.join(tmp, f"part{k}")
        os.mkdir(d)
        src_path = os.path.join(d, "symgraph_module.c")      # the name error reports look for
        with open(src_path, "w") as f:
            f.write(part)
        obj = os.path.join(d, "part.o")
        command = list(argv0) + ["-c", src_path, "-o", obj] + compile_flags
        try:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, cwd=d, env=_compiler_env(tmp))
        except OSError as exc:
            raise CompileError(f"could not run the C compiler {argv0[0]!r}: {exc}", command) from exc
        jobs.append((command, proc, part, src_path, obj))
    failure = None
    for command, proc, part, src_path, _ in jobs:
        _, stderr = proc.communicate()
        if proc.returncode != 0 and failure is None:
            failure = _compile_error(command, proc.returncode, stderr, part, src_path)
    if failure is not None:
        raise failure
    command = list(argv0) + [obj for *_, obj in jobs] + ["-o", os.fspath(out_path)] + list(flags)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp, env=_compiler_env(tmp))
    except OSError as exc:
        raise CompileError(f"could not run the C compiler {argv0[0]!r}: {exc}", command) from exc
    if proc.returncode != 0:
        raise CompileError(f"linking failed (exit {proc.returncode}):\n{proc.stderr}", command)


def _run_compiler(argv0, flags, source, out_path, build_dir=None):
    with tempfile.TemporaryDirectory(prefix=".tmp-build-", dir=build_dir) as tmp:
        src_path = os.path.join(tmp, "symgraph_module.c")
        with open(src_path, "w") as f:
            f.write(source)
        # The source comes before the flags so that -l options follow it, as
        # linkers that default to --as-needed require.
        command = list(argv0) + [src_path, "-o", os.fspath(out_path)] + list(flags)
        try:
            proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp, env=_compiler_env(tmp))
        except OSError as exc:
            raise CompileError(f"could not run the C compiler {argv0[0]!r}: {exc}", command) from exc
    if proc.returncode != 0:
        raise _compile_error(command, proc.returncode, proc.stderr, source, src_path)


_ERROR_LINE = re.compile(r"symgraph_module\.c:(\d+):(?:\d+:)?\s*(?:fatal )?error", re.IGNORECASE)


def _compile_error(command, returncode, stderr, source, src_path):
    match = _ERROR_LINE.search(stderr)
    lineno = int(match.group(1)) if match else None
    shown = shlex.join(command).replace(src_path, "<generated>.c")
    parts = [f"C compilation failed (exit status {returncode}):\n  {shown}",
             "compiler output:", stderr.rstrip().replace(src_path, "<generated>.c")]
    if lineno is not None:
        parts += [f"source around line {lineno}:", number_lines(source, lineno - 4, lineno + 4, mark=lineno)]
    return CompileError("\n".join(parts), command, stderr, source, lineno)


def number_lines(source: str, first=1, last=None, mark=None) -> str:
    """Return ``source`` lines ``first..last`` (1-based, inclusive) with line numbers.

    ``mark`` flags one line with ``>``; used for compile errors and ``config.print_c``.
    Example: ``number_lines("a\\nb")`` gives ``"    1 | a\\n    2 | b"``.
    """
    lines = source.splitlines()
    first = max(first, 1)
    last = len(lines) if last is None else min(last, len(lines))
    width = max(4, len(str(last)))
    return "\n".join(f"{'>' if i == mark else ' '}{i:{width}d} | {lines[i - 1]}"
                     for i in range(first, last + 1))

"""A trusted, content-addressed cache of compiled shared libraries.

A compiled library is code this process will run, so the cache lives in a
private directory (mode 0700, owned by us) and each ``<key>.so`` has a sidecar
``<key>.sha256`` that must match before the library is loaded. Keys hash the
source together with everything that changes the binary (compiler command and
version, native CPU target, cache format, Python/NumPy ABI), so they are equal
across processes and machines only when the library would be.

Lookup order: an in-memory dict, then the disk (no lock needed: files only
appear by atomic rename), then a compile under a per-key file lock so that
concurrent processes build each library once. Example::

    from symgraph.backends.c.cache import default_cache
    ffi, lib = default_cache().get_library(
        "double add(double a, double b) { return a + b; }", "double add(double, double);")
    lib.add(1.0, 2.0)  # 3.0
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import sys
import sysconfig
import tempfile
import threading
import time
import warnings
import weakref

import cffi
import filelock
import numpy

from symgraph.config import config, show_logger

from .. import cache_admin
from .build import compile_shared, compiler_command, compiler_info, number_lines, pin_library
from .sources import source_digest

__all__ = ["CACHE_FORMAT_VERSION", "CacheDirectoryError", "CacheSecurityError", "CompileCache", "default_cache",
           "ensure_private_dir"]

_log_compile = logging.getLogger("symgraph.compile")
_log_source = logging.getLogger("symgraph.compile.source")
_log_cache = logging.getLogger("symgraph.cache")

STALE_TMP_S = 30 * 60      # leftovers (.tmp-*) of a killed compile older than this are removed at start
PROGRESS_AFTER_S = 1.0     # a compile longer than this shows a progress line on an interactive stderr
CAP_CHECK_EVERY = 32       # compiles between two checks of the cache size against config.cache_max_size

# Bump when the layout of the cache or of generated libraries changes.
CACHE_FORMAT_VERSION = 1

_LOCK_TIMEOUT_S = 900  # longer than any sane compile; then fail naming the lock file


class CacheSecurityError(PermissionError):
    """The compile directory could be written by someone else, so its libraries cannot be trusted."""


class CacheDirectoryError(OSError):
    """The compile directory cannot be created or written (a file is in the way, no permission)."""


def _directory_error(path, why):
    return CacheDirectoryError(
        f"symgraph cannot use the compile directory {path}: {why}. Set the flag compiledir (or "
        f"base_compiledir), e.g. SYMGRAPH_FLAGS=compiledir=/path/of/your/own, or "
        f"symgraph.config.compiledir = ...")


def _abi_tag():
    numpy_major = numpy.__version__.split(".")[0]
    return f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}-numpy{numpy_major}"


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_atomic(path, data: bytes):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".sidecar")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _owner_name(uid):
    try:
        import pwd
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def ensure_private_dir(path):
    """Create ``path`` with mode 0700 if missing; refuse it if another user could write it.

    Raises :class:`CacheSecurityError` when the directory is owned by another
    uid or is group/world-writable. Example: ``ensure_private_dir("/tmp/mycache")``.
    """
    parent = os.path.dirname(path)
    try:
        if parent:
            os.makedirs(parent, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        st = os.stat(path)
    except OSError as exc:
        raise _directory_error(path, exc.strerror or str(exc)) from exc
    if not stat.S_ISDIR(st.st_mode):
        raise _directory_error(path, "it exists and is not a directory")
    getuid = getattr(os, "getuid", None)
    if getuid is not None and st.st_uid != getuid():
        raise CacheSecurityError(
            f"refusing to use symgraph compile directory {path}: it is owned by "
            f"{_owner_name(st.st_uid)}, not by the current user ({_owner_name(getuid())}); "
            f"libraries in it would run as your code. Set symgraph.config.compiledir to a "
            f"directory of your own.")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheSecurityError(
            f"refusing to use symgraph compile directory {path} (owner {_owner_name(st.st_uid)}): "
            f"its mode {stat.filemode(st.st_mode)} lets other users write libraries into it; "
            f"run `chmod 700 {path}` or choose another symgraph.config.compiledir.")
    if not os.access(path, os.W_OK | os.X_OK):
        raise _directory_error(path, f"no permission to write it (mode {stat.filemode(st.st_mode)})")


def remove_stale_temporaries(directory, max_age=STALE_TMP_S, now=None):
    """Remove ``.tmp-*`` files and build folders older than ``max_age`` s (left by a killed compile)."""
    now = time.time() if now is None else now
    removed = 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(".tmp-"):
            continue
        path = os.path.join(directory, name)
        try:
            if now - os.lstat(path).st_mtime < max_age:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)
            removed += 1
        except OSError:
            pass
    if removed:
        _log_cache.debug("removed %d stale temporary files from %s", removed, directory)
    return removed


class _Progress:
    """After ``PROGRESS_AFTER_S``, a one-line note on stderr (only an interactive terminal) that a
    compile is running; erased when it ends."""

    def __init__(self, what):
        self.what, self.timer, self.shown = what, None, False
        stream = sys.stderr
        if stream is not None and getattr(stream, "isatty", lambda: False)():
            self.stream = stream
            self.timer = threading.Timer(PROGRESS_AFTER_S, self._show)
            self.timer.daemon = True
            self.timer.start()

    def _show(self):
        self.shown = True
        self.stream.write(f"symgraph: compiling {self.what} ...")
        self.stream.flush()

    def done(self):
        if self.timer is not None:
            self.timer.cancel()
            if self.shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()


class CompileCache:
    """Compiled libraries keyed by source and build configuration, in memory and on disk.

    ``directory`` defaults to ``symgraph.config.compiledir`` at construction.
    ``stats`` counts ``memory_hits``, ``disk_hits`` and ``compiles``. Example::

        cache = CompileCache("/tmp/symgraph-cache")
        ffi, lib = cache.get_library(source, "int f(int);")
    """

    def __init__(self, directory=None):
        self.directory = os.path.abspath(os.path.expanduser(directory or config.compiledir))
        ensure_private_dir(self.directory)
        remove_stale_temporaries(self.directory)
        self.stats = {"memory_hits": 0, "disk_hits": 0, "compiles": 0}
        # (key, cdef) -> (weakref to ffi, weakref to lib): a library stays loaded while something
        # (a Function's runtime) uses it, and is reused by key; once unused, cffi unloads it.
        self._loaded = {}
        self._lock = threading.Lock()
        self._keep = set()            # keys of libraries loaded with keep=True (not pruned by the cap)
        self._since_cap_check = CAP_CHECK_EVERY - 1     # the first compile checks the cap

    def key(self, source, extra_flags=()) -> str:
        """Hex sha256 naming the library built from ``source`` with ``extra_flags``.

        ``source`` is a C text or a tuple of translation units (``build.compile_shared``).
        Covers the source, the full compiler command (including config.openmp and
        config.cxxflags), the compiler version and native target, the contents of the C
        runtime's source files (``runtime.source_digest``: modules and the runtime library
        include them), the cache format and the Python/NumPy ABI; uses no per-process value,
        so every process agrees.
        """
        info = compiler_info()
        digest = hashlib.sha256()
        parts = [
            f"symgraph-cache-format={CACHE_FORMAT_VERSION}",
            f"abi={_abi_tag()}",
            f"compiler-version={info.version}",
            f"native-target={info.native_target}",
            "command=" + "\0".join(compiler_command(extra_flags)),
            "runtime-sources=" + source_digest(),
        ]
        if isinstance(source, str):
            parts.append("source=" + source)
        else:
            parts.append(f"units={len(source)}")
            parts.extend("source=" + unit for unit in source)
        for part in parts:
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "little"))  # length-prefixed: no ambiguous joins
            digest.update(data)
        return digest.hexdigest()

    def path(self, key: str) -> str:
        """Where the library for ``key`` lives (``<directory>/<key>.so``)."""
        return os.path.join(self.directory, key + ".so")

    def get_library(self, source, cdef: str, extra_flags=(), keep=False, what="a C module"):
        """Return ``(ffi, lib)`` for ``source`` compiled with ``extra_flags``, building it if needed.

        ``source``: a C text or a tuple of translation units (``build.compile_shared``).
        ``cdef`` declares the functions to bind (cffi syntax). Concurrent callers,
        in this process or others, compile each key once. A library whose hash no
        longer matches its sidecar is removed with a warning and rebuilt.

        ``keep``: never unload it (the runtime library, which modules link against by file
        name: a loaded one whose file another process removed is rebuilt, not reused). Other
        libraries are unloaded when nothing references their ``(ffi, lib)`` any more.
        ``what`` names the library in logs and the progress line.
        """
        key = self.key(source, extra_flags)
        slot = (key, cdef)
        so_path = self.path(key)
        with self._lock:
            refs = self._loaded.get(slot)
            hit = refs and (refs[0](), refs[1]())
            if hit and hit[1] is not None and hit[0] is not None:
                if not keep or os.path.exists(so_path):
                    self.stats["memory_hits"] += 1
                    return hit
                _log_cache.info("library %s was removed from the cache by another process; "
                                "rebuilding it", so_path)
        loaded = self._load_verified(so_path, cdef)
        if loaded is None:
            reason = "not in the cache" if not os.path.exists(so_path) else "no valid hash sidecar"
            ensure_private_dir(self.directory)      # it may have been removed under us
            lock_path = os.path.join(self.directory, key + ".lock")
            lock = filelock.FileLock(lock_path, timeout=_LOCK_TIMEOUT_S)
            try:
                with lock:
                    # Another process may have built it while we waited.
                    loaded = self._load_verified(so_path, cdef, report_corrupt=True)
                    if loaded is None:
                        self._compile_into(source, so_path, key, extra_flags, what, reason)
                        loaded = self._load_verified(so_path, cdef)
                        if loaded is None:  # pragma: no cover - the file vanished under us
                            raise OSError(f"library {so_path} disappeared right after it was built")
                        self._count("compiles")
                    else:
                        self._count("disk_hits")
            except filelock.Timeout as exc:
                raise TimeoutError(f"waited {_LOCK_TIMEOUT_S} s for the compile lock {lock_path}; "
                                   f"if no symgraph process is compiling, delete it") from exc
        else:
            self._count("disk_hits")
            _log_cache.debug("disk hit %s (%s)", key[:16], what)
        ffi, lib = loaded
        if keep:
            pin_library(ffi, lib)
            self._keep.add(key)
        with self._lock:
            self._loaded[slot] = (weakref.ref(ffi, self._forget(slot)), weakref.ref(lib))
        if self.stats["compiles"] and self._since_cap_check >= CAP_CHECK_EVERY:
            self._since_cap_check = 0
            self.enforce_cap()
        return loaded

    def _forget(self, slot):
        def forget(ref):
            with self._lock:
                if self._loaded.get(slot, (None,))[0] is ref:
                    del self._loaded[slot]
        return forget

    def enforce_cap(self, max_size=None):
        """Prune the least recently used entries to 90 % of ``config.cache_max_size`` when the
        cache is larger (checked every :data:`CAP_CHECK_EVERY` compiles); returns the removed."""
        cap = cache_admin.parse_size(config.cache_max_size) if max_size is None else max_size
        if not cap:
            return []
        es = cache_admin.entries(self.directory)
        total = sum(e.size for e in es)
        if total <= cap:
            return []
        removed = cache_admin.prune(self.directory, max_size=int(cap * 0.9), keep=self._keep)
        _log_cache.info("compile cache %s held %s, over its cap of %s (flag cache_max_size): "
                        "removed %d least recently used entries", self.directory,
                        cache_admin.format_size(total), cache_admin.format_size(cap), len(removed))
        return removed

    def _count(self, name):
        with self._lock:
            self.stats[name] += 1

    def _load_verified(self, so_path, cdef, report_corrupt=False):
        """Load ``so_path`` if it matches its sidecar hash; else None.

        With ``report_corrupt`` (only under the key's lock), a library with a
        missing or mismatching sidecar is removed with a warning so it gets rebuilt.
        """
        sidecar = so_path[:-3] + ".sha256"
        try:
            with open(sidecar) as f:
                expected = f.read().strip()
            actual = _file_sha256(so_path)
        except FileNotFoundError:
            expected = actual = None
        if expected is not None and expected == actual:
            ffi = cffi.FFI()
            ffi.cdef(cdef)
            lib = ffi.dlopen(so_path)
            return ffi, lib
        if report_corrupt and os.path.exists(so_path):
            why = "has no hash sidecar" if expected is None else "does not match its recorded sha256"
            warnings.warn(f"symgraph: compiled library {so_path} {why} (truncated or corrupt); "
                          f"removing and rebuilding it", RuntimeWarning, stacklevel=3)
            _remove(so_path)
            _remove(sidecar)
        return None

    def _compile_into(self, source, so_path, key, extra_flags, what="a C module", reason="not in the cache"):
        if config.print_c:
            log = show_logger("symgraph.compile.source")
            units = (source,) if isinstance(source, str) else source
            for k, unit in enumerate(units):
                part = "" if len(units) == 1 else f" (translation unit {k + 1} of {len(units)})"
                log.info("C source for %s%s:\n%s", os.path.basename(so_path), part, number_lines(unit))
        log = show_logger("symgraph.compile") if config.log_compiles else _log_compile
        level = logging.INFO if config.log_compiles else logging.DEBUG
        log.log(level, "compiling %s %s (cache miss: %s)", what, key[:16], reason)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".so")
        except OSError as exc:
            raise _directory_error(self.directory, exc.strerror or str(exc)) from exc
        os.close(fd)
        start = time.perf_counter()
        progress = _Progress(what)
        try:
            # gcc's own temporary files go to a folder inside the cache too (removed on any exit,
            # and at the next start if this process is killed)
            compile_shared(source, tmp, extra_flags, build_dir=self.directory)
            digest = _file_sha256(tmp)
            os.replace(tmp, so_path)
        except BaseException:
            _remove(tmp)
            raise
        finally:
            progress.done()
        # The sidecar goes last: a library is trusted only once both are in place.
        _write_atomic(so_path[:-3] + ".sha256", (digest + "\n").encode())
        self._since_cap_check += 1
        log.log(level, "compiled %s in %.3f s (%s)", key[:16], time.perf_counter() - start, so_path)


_default_caches = {}
_default_lock = threading.Lock()


def default_cache() -> CompileCache:
    """The process-wide :class:`CompileCache` for the current ``config.compiledir``.

    One instance per directory, so changing ``compiledir`` at run time switches caches.
    """
    directory = os.path.abspath(os.path.expanduser(config.compiledir))
    with _default_lock:
        cache = _default_caches.get(directory)
        if cache is None:
            cache = _default_caches[directory] = CompileCache(directory)
        return cache

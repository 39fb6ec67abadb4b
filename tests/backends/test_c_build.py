"""Tests for symgraph/backends/c/build.py and cache.py: compile, cache, trust."""
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symgraph.backends.c import build
from symgraph.backends.c.build import CompileError, blas_flags, compiler_command
from symgraph.backends.c.cache import CacheSecurityError, CompileCache, default_cache
from symgraph.config import config

pytestmark = pytest.mark.skipif(not build.compiler_info().available,
                                reason=build.compiler_info().reason)

REPO_ROOT = str(Path(build.__file__).resolve().parents[3])

ADD_SRC = "double add(double a, double b) { return a + b; }\n"
ADD_CDEF = "double add(double, double);"

SGEMM_SRC = r"""
#include <cblas.h>
void matmul(const float *a, const float *b, float *c, int m, int k, int n) {
    scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k,
                      1.0f, a, k, b, n, 0.0f, c, n);
}
"""
SGEMM_CDEF = "void matmul(const float *a, const float *b, float *c, int m, int k, int n);"

# Child process: optionally wait at a file barrier, load ADD-style source, report as JSON.
CHILD = r"""
import json, os, sys, time, warnings
args = json.loads(sys.argv[1])
from symgraph.backends.c.build import compiler_command
from symgraph.backends.c.cache import CompileCache
compiler_command()  # probe the compiler before the barrier so children start compiling together
barrier = args.get("barrier")
if barrier:
    open(os.path.join(barrier, "ready-%d" % args["index"]), "w").close()
    deadline = time.time() + 60
    while len(os.listdir(barrier)) < args["parties"] and time.time() < deadline:
        time.sleep(0.005)
cache = CompileCache(args["dir"])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    ffi, lib = cache.get_library(args["source"], args["cdef"])
print(json.dumps({"key": cache.key(args["source"]), "stats": cache.stats,
                  "result": lib.add(1.5, 2.25), "warnings": [str(w.message) for w in caught]}))
"""


def _child_env(hashseed="0"):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p)
    env["PYTHONHASHSEED"] = hashseed
    env.pop("SYMGRAPH_LOG_COMPILES", None)
    return env


def _start_child(args, hashseed="0"):
    return subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], env=_child_env(hashseed),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _run_child(directory, source=ADD_SRC, hashseed="0"):
    return _finish(_start_child({"dir": str(directory), "source": source, "cdef": ADD_CDEF}, hashseed))


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_compile_add_and_files_on_disk(tmp_path):
    cache = CompileCache(tmp_path / "cache")
    ffi, lib = cache.get_library(ADD_SRC, ADD_CDEF)
    assert lib.add(1.5, 2.25) == 3.75
    assert cache.stats == {"memory_hits": 0, "disk_hits": 0, "compiles": 1}
    key = cache.key(ADD_SRC)
    so = Path(cache.path(key))
    assert so.name == key + ".so" and len(key) == 64
    assert (tmp_path / "cache" / (key + ".sha256")).read_text().strip() == _sha256(so)
    assert not list((tmp_path / "cache").glob(".tmp-*"))


def test_sgemm_through_scipy_openblas(tmp_path):
    cache = CompileCache(tmp_path)
    ffi, lib = cache.get_library(SGEMM_SRC, SGEMM_CDEF, extra_flags=blas_flags())
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 64), dtype=np.float32)
    b = rng.standard_normal((64, 64), dtype=np.float32)
    c = np.zeros((64, 64), dtype=np.float32)
    lib.matmul(ffi.from_buffer("float[]", a), ffi.from_buffer("float[]", b),
               ffi.from_buffer("float[]", c), 64, 64, 64)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_unprefixed_cblas_symbol_fails_at_compile_time(tmp_path):
    # --no-undefined turns the missing `cblas_sgemm` into a link error, not a dlopen failure.
    src = SGEMM_SRC.replace("scipy_cblas_sgemm", "cblas_sgemm")
    with pytest.raises(CompileError, match="cblas_sgemm"):
        CompileCache(tmp_path).get_library(src, SGEMM_CDEF, extra_flags=blas_flags())


def test_memory_hit_then_disk_hit_in_new_process(tmp_path):
    cache = CompileCache(tmp_path)
    first = cache.get_library(ADD_SRC, ADD_CDEF)
    second = cache.get_library(ADD_SRC, ADD_CDEF)
    assert second[0] is first[0] and second[1] is first[1]      # the loaded library, reused
    assert cache.stats == {"memory_hits": 1, "disk_hits": 0, "compiles": 1}

    report = _run_child(tmp_path)
    assert report["stats"] == {"memory_hits": 0, "disk_hits": 1, "compiles": 0}
    assert report["result"] == 3.75
    assert report["key"] == cache.key(ADD_SRC)


def test_new_cache_object_same_process_is_disk_hit(tmp_path):
    CompileCache(tmp_path).get_library(ADD_SRC, ADD_CDEF)
    fresh = CompileCache(tmp_path)
    ffi, lib = fresh.get_library(ADD_SRC, ADD_CDEF)
    assert lib.add(2.0, 3.0) == 5.0
    assert fresh.stats == {"memory_hits": 0, "disk_hits": 1, "compiles": 0}


def test_keys_equal_across_processes_and_sensitive_to_inputs(tmp_path, monkeypatch):
    src = "int seven(void) { return 7; }\n"
    children = [_start_child({"dir": str(tmp_path), "source": ADD_SRC, "cdef": ADD_CDEF}, seed)
                for seed in ("1", "2")]
    keys = [_finish(p)["key"] for p in children]
    cache = CompileCache(tmp_path)
    assert keys[0] == keys[1] == cache.key(ADD_SRC)

    base = cache.key(src)
    assert base == cache.key(src)
    assert cache.key(src + " ") != base
    assert cache.key(src, extra_flags=("-DX=1",)) != base
    monkeypatch.setattr(config, "cxxflags", "-DSYMGRAPH_TEST=1")
    assert "-DSYMGRAPH_TEST=1" in compiler_command()
    assert cache.key(src) != base
    monkeypatch.setattr(config, "cxxflags", "")
    if build.compiler_info().openmp:
        assert "-fopenmp" in compiler_command()
        monkeypatch.setattr(config, "openmp", False)
        assert "-fopenmp" not in compiler_command()
        assert cache.key(src) != base


def test_eight_processes_compile_once(tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    src = "double add(double a, double b) { return a + b; }\n/* concurrency */\n"
    procs = [_start_child({"dir": str(tmp_path / "cache"), "source": src, "cdef": ADD_CDEF,
                           "barrier": str(barrier), "index": i, "parties": 8}) for i in range(8)]
    reports = [_finish(p) for p in procs]
    assert [r["result"] for r in reports] == [3.75] * 8
    assert sum(r["stats"]["compiles"] for r in reports) == 1
    assert sum(r["stats"]["disk_hits"] for r in reports) == 7
    assert len({r["key"] for r in reports}) == 1
    assert len(list((tmp_path / "cache").glob("*.so"))) == 1


def test_truncated_library_is_rebuilt(tmp_path):
    # Children do the loading: if the check regressed, loading a truncated
    # library would crash the process, which should fail this test, not pytest.
    key = _run_child(tmp_path)["key"]
    so = tmp_path / (key + ".so")
    size = so.stat().st_size
    with open(so, "r+b") as f:
        f.truncate(size // 2)

    report = _run_child(tmp_path)
    assert report["result"] == 3.75
    assert report["stats"] == {"memory_hits": 0, "disk_hits": 0, "compiles": 1}
    assert len(report["warnings"]) == 1 and "corrupt" in report["warnings"][0]
    assert str(so) in report["warnings"][0]
    assert so.stat().st_size == size
    assert (tmp_path / (key + ".sha256")).read_text().strip() == _sha256(so)
    assert _run_child(tmp_path)["stats"] == {"memory_hits": 0, "disk_hits": 1, "compiles": 0}


def test_library_without_sidecar_is_rebuilt(tmp_path):
    src = "double add(double a, double b) { return a + b; }\n/* sidecar */\n"
    key = _run_child(tmp_path, source=src)["key"]
    (tmp_path / (key + ".sha256")).unlink()
    cache = CompileCache(tmp_path)  # this process never loaded it, so loading here is safe
    with pytest.warns(RuntimeWarning, match="no hash sidecar"):
        ffi, lib = cache.get_library(src, ADD_CDEF)
    assert lib.add(4.0, 0.5) == 4.5
    assert cache.stats["compiles"] == 1
    assert (tmp_path / (key + ".sha256")).read_text().strip() == _sha256(tmp_path / (key + ".so"))


OPENMP_UNLOAD_CHILD = r"""
import gc, inspect, json, sys, time
from symgraph.backends.c.cache import CompileCache
src = "int psum(int n) { int s = 0;\n#pragma omp parallel for reduction(+:s)\n"
src += "for (int i = 0; i < n; i++) s += i; return s; }\n"
results = []
for i in range(5):
    cache = CompileCache(sys.argv[1])
    results.append(cache.get_library(src + "/* %d */" % i, "int psum(int);")[1].psum(1000))
    del cache
    gc.collect()  # without pinning, this dlcloses the last user of libgomp
    deadline = time.time() + 0.05
    while time.time() < deadline:
        inspect.signature(CompileCache.get_library)
print(json.dumps(results))
"""


def test_dropping_a_cache_does_not_unload_openmp_libraries(tmp_path):
    # Unloading libgomp under its idle worker threads segfaulted every run before
    # loaded libraries were pinned for the life of the process.
    proc = subprocess.run([sys.executable, "-c", OPENMP_UNLOAD_CHILD, str(tmp_path)],
                          env=_child_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == [499500] * 5


def test_directory_created_private(tmp_path):
    directory = tmp_path / "a" / "b"
    CompileCache(directory)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_world_writable_directory_refused(tmp_path):
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(0o777)
    with pytest.raises(CacheSecurityError, match="chmod 700") as info:
        CompileCache(directory)
    assert str(directory) in str(info.value)
    assert isinstance(info.value, PermissionError)


def test_directory_of_other_user_refused(tmp_path, monkeypatch):
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o700)
    owner = directory.stat().st_uid
    monkeypatch.setattr(os, "getuid", lambda: owner + 1)
    with pytest.raises(CacheSecurityError) as info:
        CompileCache(directory)
    message = str(info.value)
    assert str(directory) in message and f"uid {owner}" in message and "owned by" in message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_directory_chowned_to_other_user_refused(tmp_path):
    directory = tmp_path / "chowned"
    directory.mkdir(mode=0o700)
    os.chown(directory, 54321, 54321)
    with pytest.raises(CacheSecurityError, match="uid 54321"):
        CompileCache(directory)


def test_compile_error_reports_compiler_text_and_line(tmp_path):
    src = "int ok(void) { return 1; }\n\nint bad(void) { return undeclared_thing; }\n"
    cache = CompileCache(tmp_path)
    with pytest.raises(CompileError) as info:
        cache.get_library(src, "int bad(void);")
    err = info.value
    assert isinstance(err, RuntimeError)
    assert "undeclared_thing" in err.stderr and "error" in err.stderr
    assert "undeclared_thing" in str(err)
    assert err.lineno == 3
    assert ">   3 | int bad(void)" in str(err)
    assert cache.stats["compiles"] == 0
    assert not list(tmp_path.glob("*.so")) and not list(tmp_path.glob(".tmp-*"))


def test_print_c_and_log_compiles(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(config, "print_c", True)
    monkeypatch.setattr(config, "log_compiles", True)
    src = "int forty_two(void) { return 42; }\n"
    cache = CompileCache(tmp_path)
    ffi, lib = cache.get_library(src, "int forty_two(void);")
    assert lib.forty_two() == 42
    source = [r.getMessage() for r in caplog.records if r.name == "symgraph.compile.source"]
    assert len(source) == 1 and "    1 | int forty_two(void) { return 42; }" in source[0]
    compiled = [r for r in caplog.records if r.name == "symgraph.compile"]
    assert [r.levelname for r in compiled] == ["INFO", "INFO"]
    assert "cache miss: not in the cache" in compiled[0].getMessage()
    assert compiled[1].getMessage().startswith(f"compiled {cache.key(src)[:16]} in ")


def test_default_cache_is_per_directory_singleton(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "compiledir", str(tmp_path / "one"))
    one = default_cache()
    assert default_cache() is one and one.directory == str(tmp_path / "one")
    monkeypatch.setattr(config, "compiledir", str(tmp_path / "two"))
    two = default_cache()
    assert two is not one and two.directory == str(tmp_path / "two")
    assert stat.S_IMODE((tmp_path / "two").stat().st_mode) == 0o700


def test_blas_kernel_choice_follows_cpu_and_respects_the_user(tmp_path):
    """OpenBLAS files AMD's AVX-512 CPUs under Haswell (AVX2); symgraph asks for its AVX-512
    (SkylakeX) kernels there, only there, and never over a user's OPENBLAS_CORETYPE."""
    def cpuinfo(vendor, flags):
        p = tmp_path / f"cpuinfo-{vendor}-{len(flags)}"
        p.write_text(f"processor\t: 0\nvendor_id\t: {vendor}\nmodel name\t: X\nflags\t\t: {' '.join(flags)}\n\n"
                     f"processor\t: 1\nvendor_id\t: {vendor}\nflags\t\t: fpu\n")
        return str(p)
    avx512 = ["fpu", "sse2", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"]
    env = {}
    assert build.select_blas_kernels(cpuinfo("AuthenticAMD", avx512), env) == "SkylakeX"
    assert env == {"OPENBLAS_CORETYPE": "SkylakeX"}
    env = {}
    assert build.select_blas_kernels(cpuinfo("AuthenticAMD", avx512[:-1]), env) is None and env == {}
    assert build.select_blas_kernels(cpuinfo("GenuineIntel", avx512), env) is None and env == {}
    env = {"OPENBLAS_CORETYPE": "Haswell"}
    assert build.select_blas_kernels(cpuinfo("AuthenticAMD", avx512), env) == "Haswell"
    assert env == {"OPENBLAS_CORETYPE": "Haswell"}
    assert build.select_blas_kernels(str(tmp_path / "missing"), {}) is None


def test_library_of_several_translation_units(tmp_path):
    """A source given as a tuple of texts is compiled as separate translation units (in
    parallel) and linked into one library: a static helper stays private to its unit, the
    units call each other, and an error names the failing unit's line."""
    first = "static int twice(int x) { return 2 * x; }\nint f(int x) { return twice(x) + 1; }\n"
    second = "int f(int x);\nstatic int twice(int x) { return 20 * x; }\nint g(int x) { return f(x) * twice(1); }\n"
    cache = CompileCache(tmp_path / "cache")
    ffi, lib = cache.get_library((first, second), "int f(int); int g(int);")
    assert lib.f(3) == 7 and lib.g(3) == 140
    assert cache.key((first, second)) != cache.key(first + second)
    bad = second.replace("return f(x)", "return f(x) +")
    with pytest.raises(CompileError) as info:
        cache.get_library((first, bad), "int g(int);")
    assert "line 3" in str(info.value) or ":3:" in str(info.value), str(info.value)


def test_runtime_library_is_two_units_that_compile_cleanly(tmp_path):
    """The runtime library's two units each compile alone without implicit declarations
    (a helper one unit uses must come from the shared header, not from the other unit)."""
    from symgraph.backends.c.runtime import INCLUDE_FLAGS, library_units
    units = library_units(True)
    assert len(units) == 2
    cc = compiler_command(blas_flags())
    flags = [f for f in cc[1:] if not f.startswith(("-l", "-L", "-Wl,")) and f != "-shared"]
    for k, part in enumerate(units):
        src = tmp_path / f"part{k}.c"
        src.write_text(part)
        proc = subprocess.run([cc[0], "-c", str(src), "-o", str(tmp_path / f"part{k}.o"), *flags,
                               *INCLUDE_FLAGS, "-Werror=implicit-function-declaration"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]

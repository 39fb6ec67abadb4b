"""The compile cache under stress: unloading unused modules, Ctrl-C during a compile, a cache
emptied by another process, unusable cache directories, the size cap, logging, the progress
line, and os.environ left as it was (issues #15, #19)."""
import gc
import io
import logging
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import cache_admin
from symgraph.backends.c import build, runtime
from symgraph.backends.c import cache as cache_mod
from symgraph.backends.c.cache import CacheDirectoryError, CompileCache
from symgraph.config import config

pytestmark = pytest.mark.skipif(not build.compiler_info().available,
                                reason=build.compiler_info().reason)


def _maps():
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def _src(k):
    return f"int value(void) {{ return {k}; }}\n"


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc/self/maps")
def test_unused_modules_are_unloaded_and_maps_stay_bounded(tmp_path):
    cache = CompileCache(tmp_path)
    ffi, lib = cache.get_library(_src(-1), "int value(void);")
    del ffi, lib
    gc.collect()
    # 300 distinct libraries put on disk as another process would have left them (one compile,
    # copied under 300 keys): each get_library is a disk hit that loads a library of its own
    one = cache.path(cache.key(_src(-1)))
    for k in range(300):
        key = cache.key(_src(k))
        shutil.copyfile(one, cache.path(key))
        shutil.copyfile(one[:-3] + ".sha256", os.path.join(str(tmp_path), key + ".sha256"))
    counts = []
    for k in range(300):
        ffi, lib = cache.get_library(_src(k), "int value(void);")
        assert lib.value() == -1 and cache.stats["compiles"] == 1
        del ffi, lib
        if k % 100 == 99:
            gc.collect()
            counts.append(_maps())
    # each loaded library maps ~5 regions: 300 kept would add ~1500
    assert max(counts) - min(counts) < 30, counts


def test_loaded_module_is_reused_by_key(tmp_path):
    cache = CompileCache(tmp_path)
    ffi, lib = cache.get_library(_src(7), "int value(void);")
    again = cache.get_library(_src(7), "int value(void);")
    assert again[1] is lib and cache.stats["memory_hits"] == 1
    del ffi, lib, again
    gc.collect()
    ffi, lib = cache.get_library(_src(7), "int value(void);")     # unloaded: read from disk again
    assert lib.value() == 7 and cache.stats["disk_hits"] == 1 and cache.stats["compiles"] == 1


def test_functions_dropped_leave_maps_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "compiledir", str(tmp_path))
    x = T.vector("x")
    data = np.arange(3.0)
    symgraph.function([x], x * 0.5)(data)
    counts = []
    for k in range(12):
        f = symgraph.function([x], x * (k + 2.0))
        np.testing.assert_array_equal(f(data), data * (k + 2.0))
        del f
        if k % 4 == 3:
            gc.collect()
            counts.append(_maps())
    assert max(counts) - min(counts) < 10, counts


def test_interrupted_compile_leaves_no_temporaries(tmp_path, monkeypatch):
    cache = CompileCache(tmp_path)
    seen = {}

    def interrupted(command, **kw):
        tmpdir = kw["env"]["TMPDIR"]                     # gcc's temporary files go there
        open(os.path.join(tmpdir, "ccFAKE.s"), "w").close()
        seen["tmpdir"] = tmpdir
        raise KeyboardInterrupt

    monkeypatch.setattr(build.subprocess, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cache.get_library(_src(1), "int value(void);")
    assert seen["tmpdir"].startswith(str(tmp_path))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []
    assert not list(tmp_path.glob("*.so"))


def test_sigint_in_a_child_compile_leaves_no_temporaries(tmp_path):
    """A real Ctrl-C (SIGINT) while gcc runs in a child process."""
    big = "\n".join(f"double f{i}(double x) {{ return x * {i} + __builtin_sin(x / {i + 1}); }}"
                    for i in range(6000))
    script = ("import sys; from symgraph.backends.c.cache import CompileCache\n"
              "c = CompileCache(sys.argv[1]); print('go', flush=True)\n"
              "c.get_library(sys.stdin.read(), 'double f1(double);')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(build.__file__).rsplit("/symgraph/", 1)[0], os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    proc.stdin.write(big)
    proc.stdin.close()
    proc.stdin = None
    assert proc.stdout.readline().strip() == "go"
    deadline = time.time() + 60
    while not list(tmp_path.glob(".tmp-build-*")) and time.time() < deadline:
        time.sleep(0.01)
    assert list(tmp_path.glob(".tmp-build-*")), "the compile never started"
    time.sleep(0.2)
    proc.send_signal(2)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_stale_temporaries_are_removed_at_start(tmp_path):
    old_dir = tmp_path / ".tmp-build-old"
    old_dir.mkdir()
    (old_dir / "ccX.o").write_text("x")
    old_file = tmp_path / ".tmp-abc.so"
    old_file.write_text("x")
    fresh = tmp_path / ".tmp-build-fresh"
    fresh.mkdir()
    past = time.time() - cache_mod.STALE_TMP_S - 60
    for p in (old_dir, old_file):
        os.utime(p, (past, past))
    CompileCache(tmp_path)
    assert not old_dir.exists() and not old_file.exists() and fresh.exists()


def test_cache_emptied_by_another_process_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "compiledir", str(tmp_path))
    x = T.vector("x")
    data = np.arange(3.0)
    np.testing.assert_array_equal(symgraph.function([x], T.exp(x))(data), np.exp(data))
    assert cache_admin.clear(str(tmp_path)) > 0                   # what `symgraph.cache clear` does
    assert not list(tmp_path.glob("*.so"))
    f = symgraph.function([x], T.exp(x) * 3.0)
    np.testing.assert_allclose(f(data), np.exp(data) * 3.0)
    assert list(tmp_path.glob("*.so"))


def test_cache_path_that_is_a_file(tmp_path):
    path = tmp_path / "afile"
    path.write_text("x")
    with pytest.raises(CacheDirectoryError, match="compiledir") as info:
        CompileCache(path)
    assert str(path) in str(info.value) and "not a directory" in str(info.value)
    with pytest.raises(CacheDirectoryError, match="base_compiledir"):
        CompileCache(path / "sub")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_cache_directory_without_permission(tmp_path):
    d = tmp_path / "ro"
    d.mkdir(0o500)
    try:
        with pytest.raises(CacheDirectoryError, match="no permission") as info:
            CompileCache(d)
        assert str(d) in str(info.value) and "compiledir" in str(info.value)
        with pytest.raises(CacheDirectoryError, match="compiledir"):
            CompileCache(d / "sub")
    finally:
        d.chmod(0o700)


def test_size_cap_prunes_least_recently_used(tmp_path, monkeypatch):
    cache = CompileCache(tmp_path)
    monkeypatch.setattr(cache_mod, "CAP_CHECK_EVERY", 1)
    libs = []
    for k in range(3):
        libs.append(cache.get_library(_src(k), "int value(void);"))
    one = cache_admin.info(str(tmp_path))["bytes"] / 3
    now = time.time()
    for k, age in enumerate((300, 200, 100)):                    # entry 0 least recently used
        for p in tmp_path.glob(cache.key(_src(k)) + ".*"):
            os.utime(p, (now - age, now - age))
    monkeypatch.setattr(config, "cache_max_size", str(int(one * 2.5)))
    libs.append(cache.get_library(_src(3), "int value(void);"))   # 4 entries: pruned to 2.25
    left = {p.name[:-3] for p in tmp_path.glob("*.so")}
    assert cache.key(_src(0)) not in left and cache.key(_src(1)) not in left
    assert {cache.key(_src(2)), cache.key(_src(3))} <= left
    assert [lib.value() for _, lib in libs] == [0, 1, 2, 3]      # loaded ones keep working


def test_cap_zero_disables(tmp_path, monkeypatch):
    cache = CompileCache(tmp_path)
    cache.get_library(_src(1), "int value(void);")
    monkeypatch.setattr(config, "cache_max_size", "0")
    assert cache.enforce_cap() == [] and list(tmp_path.glob("*.so"))


def test_compile_logging_is_debug_without_the_flag(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="symgraph.compile")
    cache = CompileCache(tmp_path)
    cache.get_library(_src(5), "int value(void);")
    recs = [r for r in caplog.records if r.name == "symgraph.compile"]
    assert recs and all(r.levelno == logging.DEBUG for r in recs)


def test_log_compiles_makes_messages_visible_without_handlers(tmp_path):
    script = ("import sys; from symgraph.backends.c.cache import CompileCache\n"
              "CompileCache(sys.argv[1]).get_library('int one(void) { return 1; }', 'int one(void);')\n")
    env = dict(os.environ, SYMGRAPH_FLAGS="log_compiles=True", PYTHONPATH=os.pathsep.join(
        p for p in (str(build.__file__).rsplit("/symgraph/", 1)[0], os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "symgraph: compiling a C module" in proc.stderr and "symgraph: compiled " in proc.stderr
    env["SYMGRAPH_FLAGS"] = ""
    proc = subprocess.run([sys.executable, "-c", script.replace("return 1", "return 2"), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""


class _Tty(io.StringIO):
    def isatty(self):
        return True


def _slow_compile(real):
    def slow(*args, **kw):
        time.sleep(0.4)
        return real(*args, **kw)
    return slow


def test_progress_line_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "PROGRESS_AFTER_S", 0.05)
    monkeypatch.setattr(cache_mod, "compile_shared", _slow_compile(cache_mod.compile_shared))
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    CompileCache(tmp_path).get_library(_src(9), "int value(void);", what="the test library")
    out = tty.getvalue()
    assert out.startswith("symgraph: compiling the test library ...") and out.endswith("\r\x1b[K")


def test_no_progress_line_when_not_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_mod, "PROGRESS_AFTER_S", 0.05)
    monkeypatch.setattr(cache_mod, "compile_shared", _slow_compile(cache_mod.compile_shared))
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    CompileCache(tmp_path).get_library(_src(10), "int value(void);")
    assert pipe.getvalue() == ""


def test_compiling_and_calling_leave_os_environ_alone(tmp_path):
    """In a fresh process (OpenBLAS and libgomp load there): os.environ before == after."""
    script = ("import os, sys, json; before = dict(os.environ)\n"
              "import numpy as np, symgraph, symgraph.tensor as T\n"
              "x = T.matrix('x'); f = symgraph.function([x], T.dot(x, x.T).sum() + T.exp(x).sum())\n"
              "v = f(np.ones((4, 4))); assert abs(v - 64 - 16 * np.e) < 1e-9, v\n"
              "print(json.dumps([before == dict(os.environ), sorted(set(os.environ) ^ set(before))]))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "GOMP_SPINCOUNT",
                                                            "OMP_WAIT_POLICY")}
    env["SYMGRAPH_FLAGS"] = f"compiledir={tmp_path}"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(build.__file__).rsplit("/symgraph/", 1)[0], os.environ.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[true, []]"


def test_select_blas_kernels_does_not_write_os_environ(tmp_path):
    cpu = tmp_path / "cpuinfo"
    cpu.write_text("vendor_id\t: AuthenticAMD\nflags\t\t: avx512f avx512bw avx512dq avx512vl\n")
    before = dict(os.environ)
    build.select_blas_kernels(str(cpu), environ=dict(os.environ))
    assert dict(os.environ) == before
    assert runtime.INCLUDE_FLAGS        # the runtime module is importable alongside

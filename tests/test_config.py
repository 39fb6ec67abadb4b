"""Tests for symgraph/config.py: SYMGRAPH_FLAGS parsing and run-time assignment."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import symgraph
import symgraph.tensor as T
from symgraph.config import Config, ConfigError, config

REPO_ROOT = str(Path(symgraph.__file__).resolve().parents[1])


def _run_with_flags(flags, code):
    env = dict(os.environ, SYMGRAPH_FLAGS=flags, PYTHONPATH=REPO_ROOT)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)


def test_flags_from_environment_in_subprocess():
    res = _run_with_flags(
        "floatX=float32, mode=FAST_COMPILE,print_rewrites=yes,optimizer_excluding=fusion:inplace",
        "import symgraph, symgraph.tensor as T\n"
        "c = symgraph.config\n"
        "print(c.floatX, c.mode, c.print_rewrites, c.optimizer_excluding, T.matrix().dtype)\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["float32", "FAST_COMPILE", "True", "('fusion',", "'inplace')",
                                  "float32"]


def test_unknown_flag_in_environment_warns_at_import():
    # Theano's behaviour (issue 17): an unknown name in the environment is a warning that
    # names the closest flag, and import goes on; it used to be an import error.
    res = _run_with_flags("floatX=float32,no_such_flag=1,flaotX=float16",
                          "import symgraph; print(symgraph.config.floatX)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["float32"]
    assert "ConfigWarning" in res.stderr and "no_such_flag" in res.stderr
    assert "did you mean 'floatX'" in res.stderr


def test_invalid_value_in_environment_fails_import():
    res = _run_with_flags("floatX=float8", "import symgraph")
    assert res.returncode != 0
    assert "floatX" in res.stderr and "float8" in res.stderr


def test_defaults():
    fresh = Config()
    assert fresh.floatX == "float64"
    assert fresh.device == "cpu"
    assert fresh.mode == "FAST_RUN"
    assert fresh.nan_guard is False
    assert fresh.optimizer_excluding == ()
    assert fresh.compiledir.endswith("symgraph")


def test_parse_flags_and_errors():
    c = Config()
    c.parse_flags("floatX=float16, openmp=0,,linker=py")
    assert (c.floatX, c.openmp, c.linker) == ("float16", False, "py")
    with pytest.raises(ConfigError, match="not of the form"):
        c.parse_flags("floatX")
    with pytest.raises(ConfigError, match="bogus"):
        c.parse_flags("bogus=1")
    with pytest.raises(ConfigError, match="openmp"):
        c.parse_flags("openmp=maybe")


def test_assignment_validates():
    c = Config()
    with pytest.raises(ConfigError, match="unknown symgraph flag 'floatx'"):
        c.floatx = "float32"
    with pytest.raises(ConfigError, match="linker"):
        c.linker = "fortran"
    with pytest.raises(AttributeError, match="no flag 'nope'"):
        c.nope
    c.device = "cpu"
    assert c.device == "cpu"
    c.compiledir = "/tmp/x"
    assert c.compiledir == "/tmp/x"


def test_device_spelling():
    from symgraph.config import _device
    assert _device("gpu0") == "cuda0"
    assert _device("cuda") == "cuda"
    with pytest.raises(ValueError):
        _device("tpu")


def test_floatX_changes_constructors_and_constants(floatX32):
    assert config.floatX == "float32"
    assert T.matrix().dtype == "float32"
    assert T.scalar().dtype == "float32"
    assert T.tensor(broadcastable=(False,)).dtype == "float32"
    assert T.constant(1.5).dtype == "float32"
    assert T.zeros((2,)).dtype == "float32"
    assert (T.ivector() * 1.5).dtype == "float64"   # int32 with a float32 constant


def test_dir_lists_flags():
    assert "floatX" in dir(config) and "device" in dir(config)
    assert "floatX = 'float64'" in Config().describe()


# ---- Theano-compatible configuration (issue 17) ----
# Configs are built from an explicit environ and rc file list: nothing here depends on the
# developer's own ~/.theanorc or THEANO_FLAGS.

import logging  # noqa: E402
import warnings  # noqa: E402

from symgraph.config import (ConfigWarning, default_rc_files, flag_names, read_rc_file,  # noqa: E402
                             change_flags)

# Every Theano 1.0 flag name (configdefaults.py) with a valid non-default value.
THEANO_FLAG_VALUES = {
    "floatX": "float32", "warn_float64": "warn", "cast_policy": "numpy+floatX",
    "int_division": "floatX", "device": "cuda0", "init_gpu_device": "gpu1",
    "force_device": "True", "print_global_stats": "True", "contexts": "a->cuda0",
    "print_active_device": "False", "enable_initial_driver_test": "False",
    "cuda.root": "/usr/local/cuda", "cuda.enabled": "False", "nvcc.flags": "-lineinfo",
    "nvcc.compiler_bindir": "/usr/bin", "nvcc.fastmath": "True", "gpuarray.sync": "True",
    "gpuarray.preallocate": "0.8", "gpuarray.sched": "multi", "gpuarray.single_stream": "False",
    "dnn.conv.algo_fwd": "time_once", "dnn.conv.algo_bwd_data": "deterministic",
    "dnn.conv.algo_bwd_filter": "deterministic", "dnn.conv.precision": "float32",
    "dnn.include_path": "/x/include", "dnn.library_path": "/x/lib64", "dnn.enabled": "False",
    "assert_no_cpu_op": "warn", "mode": "FAST_COMPILE", "cxx": "/usr/bin/g++",
    "linker": "cvm", "allow_gc": "False", "optimizer": "fast_compile",
    "optimizer_verbose": "False", "on_opt_error": "raise", "nocleanup": "True",
    "on_unused_input": "warn", "tensor.cmp_sloppy": "1",
    "tensor.local_elemwise_fusion": "False", "gpu.local_elemwise_fusion": "False",
    "lib.amdlibm": "False", "gpuelemwise.sync": "False", "traceback.limit": "-1",
    "traceback.compile_limit": "5", "experimental.unpickle_gpu_on_cpu": "True",
    "numpy.seterr_all": "warn", "numpy.seterr_divide": "raise", "numpy.seterr_over": "warn",
    "numpy.seterr_under": "ignore", "numpy.seterr_invalid": "print",
    "warn.ignore_bug_before": "all", "warn.argmax_pushdown_bug": "True",
    "warn.gpusum_01_011_0111_bug": "True", "warn.sum_sum_bug": "True",
    "warn.sum_div_dimshuffle_bug": "True", "warn.subtensor_merge_bug": "True",
    "warn.gpu_set_subtensor1": "True", "warn.vm_gc_bug": "True",
    "warn.signal_conv2d_interface": "True", "warn.reduce_join": "True",
    "warn.inc_set_subtensor1": "True", "warn.round": "True", "warn.identify_1pexp_bug": "True",
    "compute_test_value": "raise", "print_test_value": "True",
    "compute_test_value_opt": "warn", "unpickle_function": "False",
    "reoptimize_unpickled_function": "True", "exception_verbosity": "high",
    "openmp": "False", "openmp_elemwise_minsize": "1000", "check_input": "False",
    "cache_optimizations": "False", "unittests.rseed": "random",
    "NanGuardMode.nan_is_error": "False", "NanGuardMode.inf_is_error": "False",
    "NanGuardMode.big_is_error": "False", "NanGuardMode.action": "warn",
    "optimizer_excluding": "fusion:inplace", "optimizer_including": "cudnn",
    "optimizer_requiring": "x", "DebugMode.patience": "3", "DebugMode.check_c": "False",
    "DebugMode.check_py": "False", "DebugMode.check_finite": "False",
    "DebugMode.check_strides": "2", "DebugMode.warn_input_not_reused": "False",
    "DebugMode.check_preallocated_output": "c_contiguous:strided",
    "DebugMode.check_preallocated_output_ndim": "2", "profiling.time_thunks": "False",
    "profiling.n_apply": "5", "profiling.n_ops": "5", "profiling.output_line_width": "80",
    "profiling.min_memory_size": "0", "profiling.min_peak_memory": "True",
    "profiling.destination": "stdout", "profiling.debugprint": "True",
    "profiling.ignore_first_call": "True", "optdb.position_cutoff": "10",
    "optdb.max_use_ratio": "5", "gcc.cxxflags": "-O2", "cmodule.warn_no_version": "True",
    "cmodule.remove_gxx_opt": "True", "cmodule.compilation_warning": "True",
    "cmodule.preload_cache": "True", "cmodule.age_thresh_use": "100",
    "cmodule.debug": "True", "blas.ldflags": "-lblas", "metaopt.verbose": "1",
    "metaopt.optimizer_excluding": "a", "metaopt.optimizer_including": "b",
    "profile": "True", "profile_optimizer": "True", "profile_memory": "True",
    "vm.lazy": "True", "on_shape_error": "raise",
    "tensor.insert_inplace_optimizer_validate_nb": "3",
    "experimental.local_alloc_elemwise_assert": "False", "scan.allow_gc": "True",
    "scan.allow_output_prealloc": "False", "scan.debug": "True", "pycuda.init": "True",
    "cublas.lib": "cublas2", "lib.cnmem": "0.5", "compile.wait": "2", "compile.timeout": "30",
    "compiledir_format": "cd_%(platform)s", "base_compiledir": "/tmp/sg-base",
    "compiledir": "/tmp/sg-cd", "deterministic": "more", "cycle_detection": "fast",
    "check_stack_trace": "warn", "conv.assert_shape": "True", "ctc.root": "/ctc",
    "magma.enabled": "True", "magma.include_path": "/m/i", "magma.library_path": "/m/l",
    "dnn.base_path": "/d", "dnn.bin_path": "/d/bin", "pickle_test_value": "False",
    "gpuarray.cache_path": "/tmp/k",
}


def _cfg(tmp_path, theano_flags=None, symgraph_flags=None, rc=None):
    """A Config from explicit flag strings and rc texts (``rc``: list of file texts)."""
    environ = {}
    if theano_flags is not None:
        environ["THEANO_FLAGS"] = theano_flags
    if symgraph_flags is not None:
        environ["SYMGRAPH_FLAGS"] = symgraph_flags
    files = []
    for i, text in enumerate(rc or ()):
        path = tmp_path / f"rc{i}"
        path.write_text(text)
        files.append(str(path))
    return Config(environ, files)


def test_every_theano_flag_is_accepted_without_warning(tmp_path):
    text = ",".join(f"{k}={v}" for k, v in THEANO_FLAG_VALUES.items())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = _cfg(tmp_path, theano_flags=text)
    for name in THEANO_FLAG_VALUES:
        assert c.source(name) == "THEANO_FLAGS", name
    assert c.floatX == "float32" and c.device == "cuda0" and c.mode == "FAST_COMPILE"
    assert c.gcc.cxxflags == "-O2" == c.cxxflags
    assert c.dnn.conv.algo_fwd == "time_once" and c.dnn.enabled == "False"
    assert c.optimizer_excluding == ("fusion", "inplace")
    assert c.optimizer_including == ("cudnn",)
    assert c.linker == "auto"                 # Theano's cvm is symgraph's auto
    assert c.NanGuardMode.action == "warn" and c.vm.lazy is True
    assert c.profiling.n_apply == 5 and c.lib.cnmem == 0.5
    assert getattr(c, "blas.ldflags") == "-lblas"
    # also accepted as an rc file, each name in its section
    sections = {}
    for k, v in THEANO_FLAG_VALUES.items():
        sec, _, key = k.rpartition(".")
        sections.setdefault(sec or "global", []).append(f"{key} = {v}")
    text = "\n".join(f"[{s}]\n" + "\n".join(lines) for s, lines in sections.items())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = _cfg(tmp_path, rc=[text])
    for name, value in THEANO_FLAG_VALUES.items():
        assert c.source(name) == str(tmp_path / "rc0"), name
    assert c.dnn.conv.algo_bwd_filter == "deterministic"


def test_flag_table_covers_the_theano_list():
    known = set(flag_names()) | {"gcc.cxxflags", "optimizer_verbose"}
    assert set(THEANO_FLAG_VALUES) <= known
    assert {"floatX", "device", "mode", "optimizer", "cxxflags"} <= set(flag_names(effect=True))
    assert "nvcc.fastmath" in flag_names(effect=False)


def test_rc_file_sections_and_theanorc_list(tmp_path):
    a = tmp_path / "a.rc"
    a.write_text("[global]\nfloatX = float32\ndevice = cpu\n\n[gcc]\ncxxflags = -O1\n\n"
                 "[blas]\nldflags = -lopenblas\n\n[dnn.conv]\nalgo_fwd = large\n"
                 "[nvcc]\nfastmath = True\n[cuda]\nroot = /opt/cuda\n")
    b = tmp_path / "b.rc"
    b.write_text("[global]\nfloatX = float16\n[warn]\nround = True\n")
    env = {"THEANORC": f"{a}{os.pathsep}{tmp_path / 'missing.rc'}{os.pathsep}{b}",
           "HOME": str(tmp_path)}
    assert default_rc_files(env)[:3] == [str(a), str(tmp_path / "missing.rc"), str(b)]
    assert default_rc_files(env)[3] == str(tmp_path / ".symgraphrc")
    c = Config.from_environment(env)
    assert c.floatX == "float16" and c.source("floatX") == str(b)    # later file wins
    assert c.gcc.cxxflags == "-O1" and c.source("gcc.cxxflags") == str(a)
    assert c.blas.ldflags == "-lopenblas" and c.dnn.conv.algo_fwd == "large"
    assert c.nvcc.fastmath is True and c.cuda.root == "/opt/cuda"
    assert c.warn.round is True and c.source("warn.round") == str(b)
    assert read_rc_file(tmp_path / "missing.rc") == []


def test_default_rc_files_in_home(tmp_path):
    (tmp_path / ".theanorc").write_text("[global]\nfloatX = float32\nmode = FAST_COMPILE\n")
    (tmp_path / ".symgraphrc").write_text("[global]\nfloatX = float16\n")
    c = Config.from_environment({"HOME": str(tmp_path)})
    assert c.floatX == "float16" and c.source("floatX") == str(tmp_path / ".symgraphrc")
    assert c.mode == "FAST_COMPILE" and c.source("mode") == str(tmp_path / ".theanorc")
    c = Config.from_environment({"HOME": str(tmp_path), "SYMGRAPHRC": ""})
    assert c.floatX == "float16"     # empty SYMGRAPHRC: the default file


def test_precedence(tmp_path):
    theanorc = "[global]\nfloatX = float32\nmode = FAST_COMPILE\nprint_c = True\n"
    symgraphrc = "[global]\nmode = PY\nopenmp = False\n"
    c = _cfg(tmp_path, theano_flags="floatX=float16,openmp=True,nan_guard=True",
             symgraph_flags="nan_guard=False", rc=[theanorc, symgraphrc])
    assert (c.floatX, c.source("floatX")) == ("float16", "THEANO_FLAGS")     # env > rc
    assert (c.mode, c.source("mode")) == ("PY", str(tmp_path / "rc1"))       # symgraphrc > theanorc
    assert (c.openmp, c.source("openmp")) == (True, "THEANO_FLAGS")          # env > symgraphrc
    assert (c.nan_guard, c.source("nan_guard")) == (False, "SYMGRAPH_FLAGS")  # SYMGRAPH > THEANO
    assert (c.print_c, c.source("print_c")) == (True, str(tmp_path / "rc0"))
    assert c.source("linker") == "default"
    c.floatX = "float64"
    assert c.source("floatX") == "assignment"
    # the same value twice in one variable: the right-most wins, as in Theano
    assert _cfg(tmp_path, theano_flags="device=cpu,floatX=float32,floatX=float16").floatX \
        == "float16"


def test_flag_string_syntax(tmp_path):
    c = _cfg(tmp_path, theano_flags=" floatX = float32 ,, gcc.cxxflags=-Wl\\,-rpath\\,/x -O2")
    assert c.floatX == "float32" and c.cxxflags == "-Wl,-rpath,/x -O2"
    with pytest.warns(ConfigWarning, match="not of the form"):
        _cfg(tmp_path, theano_flags="floatX")


def test_unknown_name_warns_with_suggestion(tmp_path):
    with pytest.warns(ConfigWarning, match=r"'flaotX'.*THEANO_FLAGS.*did you mean 'floatX'"):
        c = _cfg(tmp_path, theano_flags="flaotX=float32")
    assert c.floatX == "float64"
    with pytest.warns(ConfigWarning, match=r"did you mean 'gcc.cxxflags'"):
        _cfg(tmp_path, rc=["[gcc]\ncxxflag = -O3\n"])
    with pytest.warns(ConfigWarning, match=r"did you mean 'floatX'"):
        _cfg(tmp_path, symgraph_flags="floatx=float32")
    with pytest.raises(ConfigError, match="did you mean 'optimizer_excluding'"):
        Config().optimizer_exclude = "x"
    with pytest.raises(AttributeError, match="did you mean 'round'|did you mean 'warn.round'"):
        Config().warn.rond


@pytest.mark.parametrize("text, valid", [
    ("floatX=float8", "'float64', 'float32', 'float16'"),
    ("mode=FST_RUN", "'FAST_RUN', 'FAST_COMPILE'"),
    ("device=opencl0", "'cpu', 'cuda'"),
    ("optimizer=fastest", "'fast_run', 'merge', 'fast_compile', 'None'"),
    ("on_unused_input=maybe", "'raise', 'warn', 'ignore'"),
    ("allow_gc=perhaps", "True and False"),
    ("dnn.conv.algo_fwd=magic", "'small', 'none', 'large'"),
    ("tensor.cmp_sloppy=7", "in (0, 1, 2)"),
    ("exception_verbosity=loud", "'low', 'high'"),
])
def test_invalid_values_list_the_valid_ones(tmp_path, text, valid):
    name = text.split("=")[0]
    with pytest.raises(ConfigError) as info:
        _cfg(tmp_path, theano_flags=text)
    msg = str(info.value)
    assert repr(name) in msg and "THEANO_FLAGS" in msg and valid in msg
    with pytest.raises(ConfigError, match=r"\(from .*rc0\)"):
        sec, _, key = name.rpartition(".")
        _cfg(tmp_path, rc=[f"[{sec or 'global'}]\n{key} = {text.split('=')[1]}\n"])


def test_assignment_validates_and_names_valid_modes():
    c = Config()
    with pytest.raises(ConfigError, match="'FAST_RUN', 'FAST_COMPILE'.*'DebugMode'"):
        c.mode = "FST_RUN"
    c.mode = "fast_compile"
    assert c.mode == "FAST_COMPILE"
    with pytest.raises(ConfigError, match="float16"):
        c.floatX = "float8"
    with pytest.raises(ConfigError, match="'low', 'high'"):
        c.exception_verbosity = "verbose"
    c.gcc.cxxflags = "-O0"
    assert c.cxxflags == "-O0" and c.source("cxxflags") == "assignment"
    c.warn.round = True
    assert c.warn.round is True
    del c.cxxflags
    assert c.cxxflags == "" and c.source("cxxflags") == "default"


def test_base_compiledir_gives_compiledir(tmp_path):
    c = _cfg(tmp_path, theano_flags=f"base_compiledir={tmp_path}/base")
    assert c.compiledir == str(tmp_path / "base" / "symgraph")
    assert c.source("compiledir") == "default"
    c = _cfg(tmp_path, theano_flags=f"base_compiledir={tmp_path}/b,compiledir={tmp_path}/cd")
    assert c.compiledir == str(tmp_path / "cd")
    c = Config()
    c.base_compiledir = str(tmp_path / "later")
    assert c.compiledir == str(tmp_path / "later" / "symgraph")


def test_warn_defaults():
    c = Config()
    assert c.warn.ignore_bug_before == "0.9"
    for name in ("argmax_pushdown_bug", "gpusum_01_011_0111_bug", "sum_sum_bug",
                 "sum_div_dimshuffle_bug", "subtensor_merge_bug", "gpu_set_subtensor1",
                 "vm_gc_bug", "signal_conv2d_interface", "reduce_join", "inc_set_subtensor1",
                 "round", "identify_1pexp_bug"):
        assert getattr(c.warn, name) is False, name
    c = Config({"THEANO_FLAGS": "warn.ignore_bug_before=None"})
    assert c.warn.round is True and c.warn.sum_sum_bug is True and c.warn.vm_gc_bug is False
    c = Config({"THEANO_FLAGS": "warn.ignore_bug_before=0.5"})
    assert c.warn.sum_sum_bug is False and c.warn.reduce_join is True
    assert "round" in dir(c.warn)


def test_change_flags_context_manager_and_decorator():
    c = Config()
    with c.change_flags(floatX="float32", **{"gcc.cxxflags": "-O1"}):
        assert c.floatX == "float32" and c.cxxflags == "-O1"
        assert c.source("floatX") == "change_flags"
        with c.change_flags({"warn.round": True}, mode="PY"):
            assert c.warn.round is True and c.mode == "PY"
        assert c.warn.round is False and c.mode == "FAST_RUN"
    assert (c.floatX, c.cxxflags, c.source("floatX")) == ("float64", "", "default")

    @c.change_flags(on_unused_input="ignore")
    def inner():
        return c.on_unused_input

    assert inner() == "ignore" and c.on_unused_input == "raise"
    with pytest.raises(RuntimeError):
        with c.change_flags(floatX="float16"):
            raise RuntimeError
    assert c.floatX == "float64"
    with pytest.raises(ConfigError, match="floatx"):
        c.change_flags(floatx="float32")
    with pytest.raises(ConfigError, match="float16"):
        c.change_flags(floatX="float8")


def test_global_change_flags():
    assert symgraph.change_flags is change_flags
    before = config.floatX
    with symgraph.change_flags(floatX="float32"):
        assert T.matrix().dtype == "float32"
    assert config.floatX == before
    from symgraph import configparser
    assert configparser.config is config and configparser.change_flags is change_flags


def test_str_lists_every_flag_with_its_source(tmp_path):
    c = _cfg(tmp_path, theano_flags="floatX=float32", symgraph_flags="print_c=True",
             rc=["[global]\nmode=PY\n"])
    c.openmp = False
    text = str(c)
    lines = {line.split(" = ")[0]: line for line in text.splitlines()}
    assert set(flag_names()) <= set(lines)
    assert "from THEANO_FLAGS" in lines["floatX"]
    assert "from SYMGRAPH_FLAGS" in lines["print_c"]
    assert f"from {tmp_path / 'rc0'}" in lines["mode"]
    assert "from assignment" in lines["openmp"]
    assert "from default" in lines["device"]
    assert "no effect" in lines["nvcc.fastmath"] and "no effect" not in lines["floatX"]
    assert "alias of cxxflags" in lines["gcc.cxxflags"]


def test_no_effect_flags_are_logged_once(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="symgraph.config"):
        c = _cfg(tmp_path, theano_flags="nvcc.fastmath=True,floatX=float32",
                 rc=["[nvcc]\nfastmath = False\n"])
        c.nvcc.fastmath = True
    records = [r for r in caplog.records if r.name == "symgraph.config"]
    assert len(records) == 1 and "nvcc.fastmath" in records[0].getMessage()
    assert "no effect" in records[0].getMessage()


def test_theano_configparser_addconfigvar(tmp_path):
    from symgraph.configparser import AddConfigVar, BoolParam, EnumStr, IntParam
    with pytest.warns(ConfigWarning, match="mylib.level"):
        c = _cfg(tmp_path, theano_flags="mylib.level=3")
    try:
        AddConfigVar("mylib.level", "doc", IntParam(1), root=c)
        assert c.mylib.level == 3 and c.source("mylib.level") == "THEANO_FLAGS"
        AddConfigVar("mylib.kind", "doc", EnumStr("a", "b"), root=c)
        with pytest.raises(ConfigError, match="'a', 'b'"):
            c.mylib.kind = "z"
        AddConfigVar("mylib.on", "doc", BoolParam(lambda: True), root=c)
        assert c.mylib.on is True
    finally:
        m = sys.modules["symgraph.config"]   # (symgraph.config is the Config object)
        for n in ("mylib.level", "mylib.kind", "mylib.on"):
            m._FLAGS.pop(n, None)


def test_theano_flags_in_subprocess(tmp_path):
    rc = tmp_path / "theanorc"
    rc.write_text("[global]\nmode = FAST_COMPILE\n[gcc]\ncxxflags = -DX=1\n")
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, THEANORC=str(rc),
               THEANO_FLAGS="floatX=float32,warn.round=True,device=gpu0",
               SYMGRAPH_FLAGS="device=cpu")
    env.pop("SYMGRAPHRC", None)
    code = ("import symgraph, symgraph.tensor as T\nc = symgraph.config\n"
            "print(c.floatX, c.mode, c.cxxflags, c.warn.round, c.device, T.matrix().dtype)\n")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["float32", "FAST_COMPILE", "-DX=1", "True", "cpu", "float32"]


def test_bad_value_at_import_is_one_clear_error():
    res = _run_with_flags("mode=FST_RUN", "import symgraph")
    assert res.returncode != 0
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("symgraph.config.ConfigError: invalid value 'FST_RUN' for "
                           "symgraph flag 'mode' (from SYMGRAPH_FLAGS): valid values are")
    assert res.stderr.count('File "') <= 3          # no parser frames


def test_device_cuda_from_environment_does_not_fail_import():
    res = _run_with_flags("device=cuda", "import symgraph; print(symgraph.config.device)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["cuda"]

"""Global configuration: Theano 1.0's flags, read with Theano's syntax.

Sources, from lowest to highest precedence:

1. the defaults below;
2. Theano rc files: the files named in ``THEANORC`` (``os.pathsep`` separated, later files
   win), else ``~/.theanorc``;
3. symgraph rc files: ``SYMGRAPHRC``, else ``~/.symgraphrc`` (same format);
4. ``THEANO_FLAGS`` (``"floatX=float32,gcc.cxxflags=-O3"``);
5. ``SYMGRAPH_FLAGS`` (same syntax);
6. assignment at run time (``symgraph.config.floatX = 'float32'``) and
   :func:`change_flags`.

So environment flags win over rc files as in Theano, and each symgraph source wins over
its Theano counterpart. rc files are ``ConfigParser`` files: ``[global]`` holds top-level
flags, any other section prefixes its keys (``[gcc] cxxflags = -O3`` sets
``gcc.cxxflags``, ``[dnn.conv] algo_fwd = small`` sets ``dnn.conv.algo_fwd``).

Every Theano 1.0 flag name is accepted. Flags that symgraph acts on are marked ``effect``;
the others are validated as Theano does and logged once (logger ``symgraph.config``, level
INFO) as having no effect when a source sets them. In an environment variable or rc file an
unknown name is a :class:`ConfigWarning` naming the closest known flag, and is ignored; in
code (assignment, :meth:`Config.parse_flags`, :func:`change_flags`) it is a
:class:`ConfigError`. A bad value is always a :class:`ConfigError` (a ``ValueError``) that
names the flag, where the value came from and the valid values; at import this is the one
error ``import symgraph`` can raise because of a flag, as in Theano.

``device=cuda`` (or ``gpu``) from the environment or an rc file is not checked at import:
the first compile (or GPU shared variable) raises the error that says what is missing.
Assigning it at run time checks at once.

A :class:`Config` can be built from an explicit environment and list of rc files, which is
how the tests exercise the parser::

    cfg = Config(environ={"THEANO_FLAGS": "floatX=float32"}, rc_files=["/path/theanorc"])
    cfg.floatX, cfg.source("floatX")      # ('float32', 'THEANO_FLAGS')

This module is the bottom layer of symgraph: it imports no other symgraph module at import
time.
"""
from __future__ import annotations

import configparser as _cp
import difflib
import functools
import logging
import os
import re
import warnings
from typing import Mapping

_logger = logging.getLogger("symgraph.config")
# The library configures no handler of its own (the application decides), only this one; the
# log_compiles / print_c flags make their messages visible through show_logger.
logging.getLogger("symgraph").addHandler(logging.NullHandler())


def show_logger(name, level=logging.INFO):
    """``logging.getLogger(name)`` at ``level``, visible on stderr (``symgraph: message``)
    unless the application configured a handler (on ``symgraph`` or the root logger)."""
    logger = logging.getLogger(name)
    if logger.getEffectiveLevel() > level or logger.level == logging.NOTSET:
        logger.setLevel(level)
    top = logging.getLogger("symgraph")
    configured = logging.getLogger().handlers or any(
        not isinstance(h, logging.NullHandler) for h in top.handlers)
    if not configured:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("symgraph: %(message)s"))
        top.addHandler(handler)
    return logger


class ConfigError(ValueError):
    """A flag is unknown or has an invalid value."""


class ConfigWarning(UserWarning):
    """An environment variable or rc file names a flag that does not exist."""


# --------------------------------------------------------------------------------------
# Value converters. Each takes a value (a string from a flag source, or any Python value
# from an assignment) and returns the stored value or raises ValueError with a message
# that lists the valid values.
# --------------------------------------------------------------------------------------

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"got {value!r}; valid values are True and False "
                     "(also 1/0, yes/no, on/off)")


_bool.valid = "True, False"


class _Enum:
    """One of ``choices``; ``case`` False matches case-insensitively and stores the
    canonical spelling; ``aliases`` maps other spellings to a choice."""

    def __init__(self, *choices, case=True, aliases=None):
        self.choices = choices
        self.case = case
        self.aliases = dict(aliases or {})
        self.valid = ", ".join(repr(c) for c in choices)

    def __call__(self, value):
        if isinstance(value, bool):
            value = str(value)
        text = "None" if value is None else str(value).strip()
        if text in self.aliases:
            return self.aliases[text]
        for c in self.choices:
            if text == c or (not self.case and text.lower() == c.lower()):
                return c
        raise ValueError(f"got {value!r}; valid values are {self.valid}")


class _Int:
    def __init__(self, check=None, check_text=""):
        self.check = check
        self.valid = "an integer" + (f" {check_text}" if check_text else "")

    def __call__(self, value):
        if isinstance(value, bool):
            raise ValueError(f"got {value!r}; expected {self.valid}")
        try:
            out = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise ValueError(f"got {value!r}; expected {self.valid}") from None
        if self.check is not None and not self.check(out):
            raise ValueError(f"got {value!r}; expected {self.valid}")
        return out


class _Float:
    def __init__(self, check=None, check_text=""):
        self.check = check
        self.valid = "a number" + (f" {check_text}" if check_text else "")

    def __call__(self, value):
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"got {value!r}; expected {self.valid}") from None
        if self.check is not None and not self.check(out):
            raise ValueError(f"got {value!r}; expected {self.valid}")
        return out


def _str(value):
    return "" if value is None else str(value)


_str.valid = "any string"


def _path(value):
    return os.path.expanduser(str(value))


_path.valid = "a directory path"


def _name_list(value):
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return tuple(v for v in str(value).replace(":", " ").split() if v)


_name_list.valid = "names separated by ':' or spaces"


_DEVICE_RE = re.compile(r"(cpu|cuda\d*|gpu\d*)")


def _device(value):
    """``cpu``, ``cuda``, ``cudaN``; Theano's ``gpu``/``gpuN`` become ``cuda``/``cudaN``."""
    text = str(value).strip()
    if _DEVICE_RE.fullmatch(text):
        if text.startswith("gpu"):      # Theano's old spelling
            return "cuda" + text[3:]
        return text
    raise ValueError(f"got {value!r}; valid values are 'cpu', 'cuda', 'cudaN', and Theano's "
                     "'gpu', 'gpuN' (opencl devices are not supported by symgraph)")


_device.valid = "'cpu', 'cuda', 'cudaN', 'gpu', 'gpuN'"


def _init_gpu_device(value):
    if str(value).strip() == "":
        return ""
    return _device(value)


_init_gpu_device.valid = "'' or a device"


def _vm_lazy(value):
    if value is None or str(value) == "None":
        return None
    return _bool(value)


_vm_lazy.valid = "None, True, False"


def _preallocated_output(value):
    allowed = ("initial", "previous", "c_contiguous", "f_contiguous", "strided",
               "wrong_size", "ALL", "")
    text = str(value)
    for part in text.split(":"):
        if part not in allowed:
            raise ValueError(f"got {value!r}; expected ':'-separated names among "
                             + ", ".join(repr(a) for a in allowed))
    return text


_preallocated_output.valid = "':'-separated check names"


def _rseed(value):
    text = str(value).strip()
    if text == "random":
        return text
    try:
        int(text)
    except ValueError:
        raise ValueError(f"got {value!r}; expected an integer or 'random'") from None
    return text


_rseed.valid = "an integer or 'random'"


# Symgraph's linker names, plus Theano's: its C linkers run generated code where it
# exists, which is symgraph's 'auto'; 'py' is pure Python in both.
_linker = _Enum("auto", "c", "py", "cuda", aliases={
    "cvm": "auto", "c|py": "auto", "c|py_nogc": "auto", "cvm_nogc": "auto", "vm": "auto",
    "vm_nogc": "auto", "c&py": "auto", "c": "c", "py": "py"})
_linker.valid = ("'auto', 'c', 'py', 'cuda' (Theano's 'cvm', 'c|py', 'c|py_nogc', "
                 "'cvm_nogc', 'vm', 'vm_nogc', 'c&py' mean 'auto')")

_MODES = ("FAST_RUN", "FAST_COMPILE", "Mode", "DebugMode", "DEBUG_MODE", "NanGuardMode",
          "PY", "C", "CUDA")


def _floatX(value):
    text = str(value).strip()
    text = {"16": "float16", "32": "float32", "64": "float64"}.get(text, text)
    return _Enum("float64", "float32", "float16")(text)


_floatX.valid = "'float64', 'float32', 'float16'"

_NUMPY_ERR = ("ignore", "warn", "raise", "call", "print", "log", "None")
_BUG_VERSIONS = ("None", "all", "0.3", "0.4", "0.4.1", "0.5", "0.6", "0.7", "0.8", "0.8.1",
                 "0.8.2", "0.9", "0.10", "1.0", "1.0.1", "1.0.2", "1.0.3", "1.0.4", "1.0.5")


def _default_base_compiledir(cfg=None):
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return base


def _default_compiledir(cfg):
    return os.path.join(cfg._value("base_compiledir"), "symgraph")


def _warn_default(version):
    """Theano's rule: warn about a bug fixed in ``version`` unless
    ``warn.ignore_bug_before`` is 'all' or a version at least as recent (string order, as
    Theano compares)."""
    def default(cfg):
        before = cfg._value("warn.ignore_bug_before")
        if before == "None":
            return True
        if before == "all":
            return False
        return not before >= version
    return default


class _Flag:
    __slots__ = ("name", "convert", "default", "doc", "effect")

    def __init__(self, name, convert, default, doc, effect):
        self.name, self.convert, self.default, self.doc, self.effect = (
            name, convert, default, doc, effect)

    def default_value(self, cfg):
        value = self.default(cfg) if callable(self.default) else self.default
        return value if value is None else self.convert(value)


_FLAGS: dict = {}
_ALIASES = {"gcc.cxxflags": "cxxflags", "optimizer_verbose": "print_rewrites"}


def _add(name, convert, default, doc, effect=False):
    _FLAGS[name] = _Flag(name, convert, default, doc, effect)


# ---- flags that symgraph acts on (read by the compiler, the backends or constructors) ----
_E = True
_add("floatX", _floatX, "float64",
     "dtype of unprefixed constructors (T.matrix) and of Python float constants", _E)
_add("device", _device, "cpu", "'cpu' or 'cuda[N]' ('gpu[N]' accepted): where shared "
     "variables live and kernels run", _E)
_add("mode", _Enum(*_MODES, case=False), "FAST_RUN", "default compilation mode of function()",
     _E)
_add("linker", _linker, "auto", "backend used by FAST_RUN; 'auto' picks C when a compiler "
     "works (CUDA with device=cuda)", _E)
_add("optimizer", _Enum("fast_run", "merge", "fast_compile", "None", "o4", "o3", "o2", "o1",
                        "unsafe", "stabilize"),
     "fast_run", "rewrites of the default mode: 'fast_run' all, 'fast_compile' merge and "
     "constant folding, 'merge' merging only, 'None' none", _E)
_add("optimizer_including", _name_list, (), "extra rewrite names or tags to run "
     "(':' or space separated)", _E)
_add("optimizer_excluding", _name_list, (), "rewrite names or tags to leave out "
     "(':' or space separated)", _E)
_add("exception_verbosity", _Enum("low", "high"), "low",
     "'high' adds the producing graph to errors raised while running a function", _E)
_add("base_compiledir", _path, _default_base_compiledir,
     "root of the compile cache; compiledir defaults to <base_compiledir>/symgraph", _E)
_add("compiledir", _path, _default_compiledir, "compile cache directory", _E)
_add("cxxflags", _str, "", "extra flags for the C compiler (Theano: gcc.cxxflags)", _E)
_add("blas.ldflags", _str, "", "BLAS link line of the C runtime: left unset, OpenBLAS from "
     "scipy-openblas32; set, that line (standard cblas_* names); set to '', no BLAS (plain C "
     "loops)", _E)
_add("on_unused_input", _Enum("raise", "warn", "ignore"), "raise",
     "what function() does with an input the outputs do not depend on", _E)
_add("warn_float64", _Enum("ignore", "warn", "raise", "pdb"), "ignore",
     "what to do when a float64 variable is created", _E)
_add("compute_test_value", _Enum("off", "ignore", "warn", "raise", "pdb"), "off",
     "run each Op on tag.test_value at graph-build time", _E)
_add("nan_guard", _bool, False, "raise at the first node producing NaN/Inf", _E)
_add("NanGuardMode.nan_is_error", _bool, True, "NanGuardMode default for nan_is_error", _E)
_add("NanGuardMode.inf_is_error", _bool, True, "NanGuardMode default for inf_is_error", _E)
_add("NanGuardMode.big_is_error", _bool, True, "NanGuardMode default for big_is_error", _E)
_add("NanGuardMode.action", _Enum("raise", "warn", "pdb"), "raise",
     "what NanGuardMode does when it finds a problem", _E)
_add("cast_policy", _Enum("custom", "numpy+floatX"), "custom",
     "rules for implicit casts of Python/NumPy constants", _E)
_add("allow_gc", _bool, True, "free intermediate results during a call", _E)
_add("profile", _bool, False, "collect a per-node time profile of every function", _E)
_add("openmp", _bool, True, "let generated C use OpenMP threads", _E)
_add("openmp_adaptive", _bool, True, "while other processes keep the cores busy, only large "
     "C regions use threads (the team's wake-up time is probed every 50 ms)", _E)
_add("print_c", _bool, False, "log generated C/CUDA source when it is compiled (logger "
     "symgraph.compile.source, INFO)", _E)
_add("log_compiles", _bool, lambda cfg: os.environ.get("SYMGRAPH_LOG_COMPILES") == "1",
     "log each C compile at INFO (logger symgraph.compile): what, why the cache missed, how "
     "long gcc took", _E)
_add("cache_max_size", _str, "1G", "size cap of the compile cache (e.g. 500M, 2G; 0: none); "
     "past it the least recently used entries are pruned to 90 %", _E)
_add("print_rewrites", _bool, False, "print each rewrite as it fires (Theano: "
     "optimizer_verbose)", _E)

# ---- Theano 1.0 flags accepted with Theano's validation; no effect in symgraph ----
_add("int_division", _Enum("int", "raise", "floatX"), "int", "int / int behaviour")
_add("init_gpu_device", _init_gpu_device, "", "initialise a GPU without using it")
_add("force_device", _bool, False, "raise if the device cannot be used")
_add("print_global_stats", _bool, False, "print global time statistics at exit")
_add("contexts", _str, "", "multi-GPU context map")
_add("print_active_device", _bool, True, "print the device when it is initialised")
_add("enable_initial_driver_test", _bool, True, "test the NVIDIA driver at initialisation")
_add("cuda.root", _str, lambda cfg: os.environ.get("CUDA_ROOT", ""), "CUDA install directory")
_add("cuda.enabled", _bool, True, "old GPU back-end switch")
_add("cuda.include_path", _str, "", "CUDA headers directory")
_add("nvcc.flags", _str, "", "extra nvcc flags")
_add("nvcc.compiler_bindir", _str, "", "directory of the host compiler nvcc uses")
_add("nvcc.fastmath", _bool, False, "nvcc --use_fast_math")
_add("gpuarray.sync", _bool, False, "synchronise after every GPU op")
_add("gpuarray.preallocate", _Float(), 0.0, "GPU memory to preallocate")
_add("gpuarray.sched", _Enum("default", "multi", "single"), "default", "pygpu scheduling")
_add("gpuarray.single_stream", _bool, True, "use one GPU stream")
_add("gpuarray.cache_path", _str, "", "GPU kernel cache directory")
_add("dnn.conv.cpu", _Enum("auto", "dnnl", "im2col"), "auto", "the C backend's float32 "
     "convolutions: 'dnnl' through oneDNN (the onednn extra), 'im2col' im2col + BLAS, 'auto' "
     "oneDNN when it is installed in the environment (sys.prefix), else im2col", _E)
_add("dnn.conv.workmem", _str, "", "removed in Theano: use dnn.conv.algo_fwd")
_add("dnn.conv.workmem_bwd", _str, "", "removed in Theano: use dnn.conv.algo_bwd_*")
_add("dnn.conv.algo_bwd", _str, "", "removed in Theano: use dnn.conv.algo_bwd_*")
_add("dnn.conv.algo_fwd", _Enum("small", "none", "large", "fft", "fft_tiling", "winograd",
                                "winograd_non_fused", "guess_once", "guess_on_shape_change",
                                "time_once", "time_on_shape_change"),
     "small", "cuDNN forward convolution algorithm")
_add("dnn.conv.algo_bwd_data", _Enum("none", "deterministic", "fft", "fft_tiling", "winograd",
                                     "winograd_non_fused", "guess_once",
                                     "guess_on_shape_change", "time_once",
                                     "time_on_shape_change"),
     "none", "cuDNN backward-data convolution algorithm")
_add("dnn.conv.algo_bwd_filter", _Enum("none", "deterministic", "fft", "small",
                                       "winograd_non_fused", "fft_tiling", "guess_once",
                                       "guess_on_shape_change", "time_once",
                                       "time_on_shape_change"),
     "none", "cuDNN backward-filter convolution algorithm")
_add("dnn.conv.precision", _Enum("as_input_f32", "as_input", "float16", "float32",
                                 "float64"), "as_input_f32", "cuDNN convolution precision")
_add("dnn.base_path", _str, "", "cuDNN install directory")
_add("dnn.include_path", _str, "", "cuDNN headers directory")
_add("dnn.library_path", _str, "", "cuDNN library directory")
_add("dnn.bin_path", _str, "", "cuDNN binaries directory (Windows)")
_add("dnn.enabled", _Enum("auto", "True", "False", "no_check", case=False), "auto",
     "use cuDNN")
_add("magma.enabled", _bool, False, "use MAGMA for GPU linear algebra")
_add("magma.include_path", _str, "", "MAGMA headers directory")
_add("magma.library_path", _str, "", "MAGMA library directory")
_add("ctc.root", _str, "", "warp-ctc install directory")
_add("assert_no_cpu_op", _Enum("ignore", "warn", "raise", "pdb"), "ignore",
     "complain about CPU ops in a GPU graph")
_add("cxx", _str, "g++", "C++ compiler (symgraph uses $CC, else cc)")
_add("optimizer_requiring", _name_list, (), "rewrite tags that must be present")
_add("on_opt_error", _Enum("warn", "raise", "pdb", "ignore"), "warn",
     "what to do when a rewrite crashes")
_add("home", _str, "", "removed in Theano 0.5: use base_compiledir")
_add("nocleanup", _bool, False, "keep files of failed compilations")
_add("tensor.cmp_sloppy", _Int(lambda i: i in (0, 1, 2), "in (0, 1, 2)"), 0,
     "tolerance of tensor._allclose")
_add("tensor.local_elemwise_fusion", _bool, True, "elemwise fusion in fast_run")
_add("tensor.insert_inplace_optimizer_validate_nb", _Int(), -1, "in-place validation rate")
_add("gpu.local_elemwise_fusion", _bool, True, "GPU elemwise fusion in fast_run")
_add("lib.amdlibm", _bool, False, "use AMD's libm")
_add("lib.cnmem", _Float(lambda v: v >= 0, ">= 0"), 0.0, "old GPU back-end memory pool")
_add("gpuelemwise.sync", _bool, True, "synchronise after GPU elemwise")
_add("traceback.limit", _Int(), 8, "stack depth recorded on variables")
_add("traceback.compile_limit", _Int(), 0, "stack depth kept during compilation")
_add("experimental.unpickle_gpu_on_cpu", _bool, False, "unpickle GPU arrays as NumPy")
_add("experimental.local_alloc_elemwise", _bool, True, "deprecated rewrite switch")
_add("experimental.local_alloc_elemwise_assert", _bool, True, "shape asserts of that rewrite")
_add("numpy.seterr_all", _Enum(*_NUMPY_ERR), "ignore", "numpy.seterr for all errors")
for _kind in ("divide", "over", "under", "invalid"):
    _add(f"numpy.seterr_{_kind}", _Enum("None", *_NUMPY_ERR[:-1]), "None",
         f"numpy.seterr for {_kind}")
_add("warn.ignore_bug_before", _Enum(*_BUG_VERSIONS), "0.9",
     "do not warn about Theano bugs fixed before this version")
for _name, _version in (("argmax_pushdown_bug", "0.3"), ("gpusum_01_011_0111_bug", "0.3"),
                        ("sum_sum_bug", "0.3"), ("sum_div_dimshuffle_bug", "0.3"),
                        ("subtensor_merge_bug", "0.5"), ("gpu_set_subtensor1", "0.6"),
                        ("signal_conv2d_interface", "0.7"), ("reduce_join", "0.7"),
                        ("inc_set_subtensor1", "0.7"), ("round", "0.9"),
                        ("identify_1pexp_bug", "0.4.1")):
    _add(f"warn.{_name}", _bool, _warn_default(_version),
         f"warn about a Theano bug fixed in {_version}")
_add("warn.vm_gc_bug", _bool, False, "warn about an unreleased Theano VM bug")
_add("print_test_value", _bool, False, "str() of a variable shows its test value")
_add("compute_test_value_opt", _Enum("off", "ignore", "warn", "raise", "pdb"), "off",
     "compute_test_value for the nodes rewrites build while function() compiles", True)
_add("check_stack_trace", _Enum("off", "log", "warn", "raise"), "off",
     "check that rewrites copy stack traces")
_add("unpickle_function", _bool, True, "unpickle compiled functions")
_add("reoptimize_unpickled_function", _bool, False, "re-optimise unpickled functions")
_add("pickle_test_value", _bool, True, "pickle test values with variables")
_add("openmp_elemwise_minsize", _Int(), 200000, "minimum size for OpenMP elemwise")
_add("check_input", _bool, True, "C code checks its inputs")
_add("cache_optimizations", _bool, False, "optimisation cache (never finished in Theano)")
_add("unittests.rseed", _rseed, "666", "seed of randomized unit tests ('random' for None)")
_add("DebugMode.patience", _Int(lambda i: i > 0, "> 0"), 10, "re-optimisations to compare")
_add("DebugMode.check_c", _bool, True, "run C implementations")
_add("DebugMode.check_py", _bool, True, "run Python implementations")
_add("DebugMode.check_finite", _bool, True, "complain about NaN/Inf")
_add("DebugMode.check_strides", _Int(lambda i: i in (0, 1, 2), "in (0, 1, 2)"), 0,
     "compare strides of C and Python results")
_add("DebugMode.warn_input_not_reused", _bool, True, "warn when an in-place op copies")
_add("DebugMode.check_preallocated_output", _preallocated_output, "",
     "test thunks with preallocated outputs")
_add("DebugMode.check_preallocated_output_ndim", _Int(lambda i: i > 0, "> 0"), 4,
     "dimensions of strided preallocation tests")
_add("profiling.time_thunks", _bool, True, "time individual thunks")
_add("profiling.n_apply", _Int(lambda i: i > 0, "> 0"), 20, "Apply nodes printed")
_add("profiling.n_ops", _Int(lambda i: i > 0, "> 0"), 20, "Ops printed")
_add("profiling.output_line_width", _Int(lambda i: i > 0, "> 0"), 512, "line width")
_add("profiling.min_memory_size", _Int(lambda i: i >= 0, ">= 0"), 1024,
     "memory profile threshold (bytes)")
_add("profiling.min_peak_memory", _bool, False, "minimum peak memory order")
_add("profiling.destination", _str, "stderr", "file of the profile output")
_add("profiling.debugprint", _bool, False, "debugprint profiled functions")
_add("profiling.ignore_first_call", _bool, False, "ignore the first call")
_add("profile_optimizer", _bool, False, "profile the rewrites")
_add("profile_memory", _bool, False, "profile memory")
_add("optdb.position_cutoff", _Float(), float("inf"), "stop rewriting at this position")
_add("optdb.max_use_ratio", _Float(), 8.0, "equilibrium rewrite loop limit")
_add("cmodule.warn_no_version", _bool, False, "warn about uncacheable C ops")
_add("cmodule.remove_gxx_opt", _bool, False, "compile without -O")
_add("cmodule.compilation_warning", _bool, False, "print compiler warnings")
_add("cmodule.preload_cache", _bool, False, "preload the C module cache at import")
_add("cmodule.age_thresh_use", _Int(), 60 * 60 * 24 * 24, "seconds before a module is stale")
_add("cmodule.debug", _bool, False, "compile C modules in debug mode")
_add("metaopt.verbose", _Int(), 0, "meta-optimiser verbosity")
_add("metaopt.optimizer_excluding", _str, "", "meta-optimiser exclusions")
_add("metaopt.optimizer_including", _str, "", "meta-optimiser inclusions")
_add("vm.lazy", _vm_lazy, None, "lazy evaluation in the VM linkers")
_add("on_shape_error", _Enum("warn", "raise"), "warn", "what to do on a shape error")
_add("scan.allow_gc", _bool, False, "garbage collection inside scan")
_add("scan.allow_output_prealloc", _bool, True, "preallocate scan outputs")
_add("scan.debug", _bool, False, "verbose scan")
_add("pycuda.init", _bool, False, "initialise PyCUDA first (old back-end)")
_add("cublas.lib", _str, "cublas", "cuBLAS library name (old back-end)")
_add("compile.wait", _Int(lambda i: i > 0, "> 0"), 5, "seconds between compile-lock tries")
_add("compile.timeout", _Int(lambda i: i >= 0, ">= 0"), 120, "seconds before a lock is stolen")
_add("compiledir_format", _str, "compiledir_%(short_platform)s-%(processor)s-"
     "%(python_version)s-%(python_bitwidth)s", "Theano's compiledir name pattern")
_add("deterministic", _Enum("default", "more"), "default", "prefer deterministic ops")
_add("cycle_detection", _Enum("regular", "fast"), "regular", "in-place cycle detection")
_add("conv.assert_shape", _bool, False, "assert convolution shapes at run time")
_add("op.set_flops", _bool, False, "print flops in the profile (old)")
_add("experimental.mrg", _bool, False, "old MRG switch")
del _kind, _name, _version

_SECTIONS = set()
for _n in list(_FLAGS) + list(_ALIASES):
    _parts = _n.split(".")
    for _i in range(1, len(_parts)):
        _SECTIONS.add(".".join(_parts[:_i]))
del _n, _parts, _i

_RESERVED = {"global"}


def _warn(message, source):
    """A :class:`ConfigWarning` located at the flag source (``THEANO_FLAGS:0: ...``), not
    at a line of symgraph."""
    warnings.warn_explicit(message, ConfigWarning, filename=source, lineno=0,
                           module="symgraph.config")


def flag_names(effect=None):
    """All flag names (``effect=True``: those symgraph acts on; ``False``: accepted only)."""
    return [n for n, f in _FLAGS.items() if effect is None or f.effect == effect]


def _split_flags(text):
    """``"a=1,b=2"`` -> ``["a=1", "b=2"]``; ``\\,`` is a literal comma."""
    parts = re.split(r"(?<!\\),", text or "")
    return [p.replace("\\,", ",").strip() for p in parts]


def _rc_substitutions():
    import tempfile
    user = os.environ.get("USER") or os.environ.get("USERNAME") or ""
    tmp = tempfile.gettempdir()
    return {"USER": user, "LSCRATCH": os.environ.get("LSCRATCH", tmp), "TMPDIR": tmp,
            "TEMP": tmp, "TMP": tmp, "PID": str(os.getpid()), "HOME": os.path.expanduser("~")}


def read_rc_file(path):
    """``[(name, value), ...]`` from one rc file (``[]`` if it does not exist).

    ``[global]`` keys are flag names; keys of any other section are prefixed with it.
    ``%(USER)s``, ``%(PID)s``, ``%(TMPDIR)s``... are substituted as in Theano.
    """
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        return []
    parser = _cp.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str        # flag names are case-sensitive (floatX)
    try:
        parser.read(path)
    except (_cp.Error, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"cannot read symgraph/Theano rc file {path}: {exc}") from None
    subst = _rc_substitutions()

    def expand(value):
        return re.sub(r"%\((\w+)\)s|%%",
                      lambda m: "%" if m.group(0) == "%%" else subst.get(m.group(1), m.group(0)),
                      value)

    out = []
    for section in parser.sections():
        prefix = "" if section.strip() in _RESERVED else section.strip() + "."
        for key, value in parser.items(section, raw=True):
            out.append((prefix + key.strip(), expand(value.strip())))
    return out


def default_rc_files(environ=None):
    """The rc files of ``environ`` in increasing precedence: ``THEANORC`` (else
    ``~/.theanorc``), then ``SYMGRAPHRC`` (else ``~/.symgraphrc``)."""
    environ = os.environ if environ is None else environ
    home = environ.get("HOME") or os.path.expanduser("~")
    files = []
    for var, name in (("THEANORC", ".theanorc"), ("SYMGRAPHRC", ".symgraphrc")):
        value = environ.get(var)
        if value:
            files.extend(p for p in value.split(os.pathsep) if p)
        else:
            files.append(os.path.join(home, name))
    return files


class _Section:
    """``config.gcc``, ``config.warn``, ``config.dnn.conv``: attribute access to the flags
    under a dotted prefix."""

    __slots__ = ("_cfg", "_prefix")

    def __init__(self, cfg, prefix):
        object.__setattr__(self, "_cfg", cfg)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._cfg._lookup(f"{self._prefix}.{attr}")

    def __setattr__(self, attr, value):
        setattr(self._cfg, f"{self._prefix}.{attr}", value)

    def __delattr__(self, attr):
        delattr(self._cfg, f"{self._prefix}.{attr}")

    def __dir__(self):
        p = self._prefix + "."
        return sorted({n[len(p):].split(".")[0] for n in list(_FLAGS) + list(_ALIASES)
                       if n.startswith(p)})

    def __repr__(self):
        return f"<symgraph.config section {self._prefix!r}>"


class Config:
    """Attribute access to the flags; assignment validates.

    ``Config()`` holds the defaults; ``Config(environ, rc_files)`` applies the rc files (in
    order, later wins), then ``environ['THEANO_FLAGS']``, then
    ``environ['SYMGRAPH_FLAGS']``. :meth:`from_environment` finds the rc files as
    symgraph does at import.

    Flags are plain instance attributes (so tools such as pytest's monkeypatch see and
    restore them; dotted flags are reached through sections, ``config.gcc.cxxflags``, or
    ``getattr(config, 'gcc.cxxflags')``); deleting one resets it to its default.
    """

    def __init__(self, environ=None, rc_files=()):
        object.__setattr__(self, "_sources", {})
        object.__setattr__(self, "_logged", set())
        object.__setattr__(self, "_unused", {})      # unknown names from env/rc: value
        for name in _FLAGS:
            self._store(name, _FLAGS[name].default_value(self), "default")
        self._refresh_defaults()
        for path in rc_files or ():
            self._apply(read_rc_file(path), os.path.expanduser(path))
        environ = environ or {}
        for var in ("THEANO_FLAGS", "SYMGRAPH_FLAGS"):
            items = []
            for item in _split_flags(environ.get(var, "")):
                if not item:
                    continue
                if "=" not in item:
                    _warn(f"{var} entry {item!r} is not of the form name=value; ignored",
                          var)
                    continue
                name, value = (s.strip() for s in item.split("=", 1))
                items.append((name, value))
            self._apply(items, var)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Config:
        """The configuration ``import symgraph`` builds: ``environ`` (default
        ``os.environ``) and its rc files (:func:`default_rc_files`)."""
        environ = os.environ if environ is None else environ
        return cls(environ, default_rc_files(environ))

    # ---- internals ----

    def _store(self, name, value, source):
        object.__setattr__(self, name, value)
        self._sources[name] = source

    def _value(self, name):
        return self.__dict__[name]

    def _refresh_defaults(self):
        """Recompute the derived defaults (compiledir, warn.*) still at their default."""
        for name, flag in _FLAGS.items():
            if callable(flag.default) and self._sources.get(name) == "default":
                object.__setattr__(self, name, flag.default_value(self))

    def _canonical(self, name):
        name = _ALIASES.get(name, name)
        if name in _FLAGS:
            return name
        return None

    @staticmethod
    def _suggest(name):
        names = list(_FLAGS) + list(_ALIASES)
        lower = {n.lower(): n for n in names}
        if name.lower() in lower:
            return lower[name.lower()]
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        return close[0] if close else None

    def _unknown_message(self, name, where):
        guess = self._suggest(name)
        hint = f"; did you mean {guess!r}?" if guess else ""
        return f"unknown symgraph flag {name!r}{where}{hint}"

    def _convert(self, name, value, source):
        try:
            return _FLAGS[name].convert(value)
        except ValueError as exc:
            reason = str(exc)
            if reason.startswith("got ") and "; " in reason:
                reason = reason.split("; ", 1)[1]
            raise ConfigError(f"invalid value {value!r} for symgraph flag {name!r} "
                              f"(from {source}): {reason}") from None

    def _apply(self, items, source):
        """Apply ``(name, value)`` pairs from an environment variable or rc file."""
        for name, value in items:
            canon = self._canonical(name)
            if canon is None:
                self._unused[name] = (value, source)
                _warn(self._unknown_message(name, f" in {source} (ignored)"), source)
                continue
            self._store(canon, self._convert(canon, value, source), source)
            self._note_no_effect(canon)
        self._refresh_defaults()

    def _note_no_effect(self, name):
        if not _FLAGS[name].effect and name not in self._logged:
            self._logged.add(name)
            _logger.info("flag %s=%r (from %s) is accepted for Theano compatibility but has "
                         "no effect in symgraph", name, self.__dict__[name],
                         self._sources[name])

    def _assign(self, name, value, source):
        canon = self._canonical(name)
        if canon is None:
            raise ConfigError(self._unknown_message(name, ""))
        value = self._convert(canon, value, source)
        if canon == "device" and value.startswith("cuda"):
            _check_cuda()
        self._store(canon, value, source)
        self._note_no_effect(canon)
        self._refresh_defaults()

    def _lookup(self, name):
        canon = self._canonical(name)
        if canon is not None:
            return self.__dict__[canon]
        if name in _SECTIONS:
            return _Section(self, name)
        guess = self._suggest(name)
        hint = f"; did you mean {guess!r}?" if guess else ""
        raise AttributeError(f"symgraph.config has no flag {name!r}{hint}")

    # ---- attribute protocol ----

    def __getattr__(self, name):        # only called when name is not a stored flat flag
        if name.startswith("__"):
            raise AttributeError(name)
        return self._lookup(name)

    def __setattr__(self, name, value):
        self._assign(name, value, "assignment")

    def __delattr__(self, name):
        canon = self._canonical(name)
        if canon is None:
            raise AttributeError(f"symgraph.config has no flag {name!r}")
        self._store(canon, _FLAGS[canon].default_value(self), "default")
        self._refresh_defaults()

    def __dir__(self):
        top = {n.split(".")[0] for n in list(_FLAGS) + list(_ALIASES)}
        return sorted(top) + ["change_flags", "describe", "parse_flags", "source"]

    # ---- public API ----

    def source(self, name):
        """Where the current value of ``name`` came from: 'default', 'THEANO_FLAGS',
        'SYMGRAPH_FLAGS', an rc file path, 'assignment' or 'change_flags'."""
        canon = self._canonical(name)
        if canon is None:
            raise ConfigError(self._unknown_message(name, ""))
        return self._sources[canon]

    def parse_flags(self, text, source="parse_flags"):
        """Apply ``"name=value,name=value"`` (the THEANO_FLAGS syntax); unlike the
        environment, an unknown name or an entry without ``=`` raises."""
        for item in _split_flags(text):
            if not item:
                continue
            if "=" not in item:
                raise ConfigError(f"flags entry {item!r} is not of the form name=value")
            name, value = (s.strip() for s in item.split("=", 1))
            self._assign(name, value, source)

    def change_flags(self, *args, **kwargs):
        """Context manager and decorator setting flags and restoring them on exit.

        ``with config.change_flags(floatX='float32'):`` or
        ``@config.change_flags({'gcc.cxxflags': '-O0'})``.
        """
        return _ChangeFlags(self, args, kwargs)

    def describe(self):
        lines = []
        for name, flag in _FLAGS.items():
            note = "" if flag.effect else " (accepted, no effect in symgraph)"
            lines.append(f"{name} = {self.__dict__[name]!r}  # from {self._sources[name]}; "
                         f"{flag.doc}{note}")
        for alias, target in _ALIASES.items():
            lines.append(f"{alias} = {self.__dict__[target]!r}  # alias of {target}")
        return "\n".join(lines)

    __str__ = describe

    def __repr__(self):
        return f"<symgraph.config.Config with {len(_FLAGS)} flags>"

    def add_flag(self, name, convert, default, doc="", effect=True):
        """Register a new flag (what Theano's ``AddConfigVar`` does for library code).

        A value for it already given in an rc file or environment variable (reported
        unknown at import) is applied now.
        """
        if name in _FLAGS or name in _ALIASES:
            raise ConfigError(f"symgraph flag {name!r} already exists")
        _FLAGS[name] = _Flag(name, convert, default, doc, effect)
        parts = name.split(".")
        for i in range(1, len(parts)):
            _SECTIONS.add(".".join(parts[:i]))
        self._store(name, _FLAGS[name].default_value(self), "default")
        if name in self._unused:
            value, source = self._unused.pop(name)
            self._store(name, self._convert(name, value, source), source)


# The CUDA backend (a layer far above this one) registers its availability check here when it
# is imported (``import symgraph`` imports it); assigning device=cuda at run time calls it.
_DEVICE_CHECKS = {}


def register_device_check(prefix, check):
    """``check()`` raises a clear error when devices named ``prefix...`` cannot be used."""
    _DEVICE_CHECKS[prefix] = check


def _check_cuda():
    """Raise the backend's clear error when CUDA cannot be used (run-time assignment of
    device=cuda)."""
    check = _DEVICE_CHECKS.get("cuda")
    if check is not None:
        check()


class _ChangeFlags:
    def __init__(self, cfg, args, kwargs):
        updates = {}
        for arg in args:
            updates.update(arg)
        updates.update(kwargs)
        self._cfg = cfg
        self._updates = {}
        for name, value in updates.items():
            canon = cfg._canonical(name)
            if canon is None:
                raise ConfigError(cfg._unknown_message(name, " in change_flags"))
            self._updates[canon] = cfg._convert(canon, value, "change_flags")
        self._saved = []

    def __enter__(self):
        cfg = self._cfg
        saved = {n: (cfg.__dict__[n], cfg._sources[n]) for n in self._updates}
        try:
            for name, value in self._updates.items():
                cfg._assign(name, value, "change_flags")
        except BaseException:
            self._restore(saved)
            raise
        self._saved.append(saved)
        return cfg

    def _restore(self, saved):
        for name, (value, source) in saved.items():
            self._cfg._store(name, value, source)
        self._cfg._refresh_defaults()

    def __exit__(self, *exc):
        self._restore(self._saved.pop())
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*a, **kw):
            with self:
                return func(*a, **kw)
        return wrapper


try:
    config = Config.from_environment()
except ConfigError as _exc:         # a bad value in THEANO_FLAGS, SYMGRAPH_FLAGS or an rc file:
    raise ConfigError(str(_exc)) from None      # one clear error, not the parser's frames


def change_flags(*args, **kwargs):
    """``symgraph.change_flags``: :meth:`Config.change_flags` of the global config."""
    return config.change_flags(*args, **kwargs)

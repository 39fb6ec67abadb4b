"""The C runtime and CUDA sources as files: each compiles as such, the cffi declaration matches
the C side, dtype instantiation is the preprocessor's, and no string templating is left."""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from symgraph.backends.c import runtime, sources
from symgraph.backends.c.build import blas_flags, compiler_command
from symgraph.backends.c.cache import CompileCache
from symgraph.backends.c.linker import MODULE_FLAGS
from symgraph.backends.cuda import dialect

C_SRC = runtime.SRC_DIR
CUDA_SRC = os.path.join(os.path.dirname(dialect.__file__), "src")
NVCC = shutil.which("nvcc")
STRICT = ("-Wall", "-Wextra", "-Werror", "-Wmissing-prototypes", "-Wno-unused-function")


def _compile_flags():
    """The real build's compile flags (the runtime library's: module flags, include path, BLAS),
    without the link-only ones."""
    cc = compiler_command(MODULE_FLAGS + runtime.INCLUDE_FLAGS + blas_flags())
    return cc[0], [f for f in cc[1:] if not f.startswith(("-l", "-L", "-Wl,")) and f != "-shared"]


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr[-4000:]}"
    return proc


def test_source_files_are_the_expected_ones():
    names = set(runtime.source_files())
    assert {"sg_runtime.h", "sg_abi.h", "sg_scalar.h", "sg_api_typed.h", "core.c", "index.c", "blas.c",
            "conv.c", "conv_impl.h", "nnet.c", "nnet_impl.h"} <= names
    assert sorted(n for unit in runtime.UNITS for n in unit) == sorted(n for n in names if n.endswith(".c"))


@pytest.mark.parametrize("name", [n for n in runtime.source_files() if n.endswith(".c")])
def test_every_c_file_compiles_alone(name):
    """Each .c compiles by itself with the build's flags and strict warnings: every function it
    exports has a prototype in the header (-Wmissing-prototypes), nothing is implicit."""
    cc, flags = _compile_flags()
    _run([cc, "-fsyntax-only", *flags, *STRICT, runtime.source_path(name)])


def test_typed_files_define_both_dtypes(tmp_path):
    """conv.c and nnet.c instantiate their _impl.h for float and double: the object files
    define the f32 and f64 names the lowerings call."""
    cc, flags = _compile_flags()
    want = {"conv.c": ("sg_conv2d", "sg_conv2d_gi", "sg_conv2d_gw"),
            "nnet.c": ("sg_softmax", "sg_softmax_grad", "sg_xent", "sg_xent_grad", "sg_pool", "sg_pool_grad")}
    for name, stems in want.items():
        obj = tmp_path / (name + ".o")
        _run([cc, "-c", *flags, "-O0", runtime.source_path(name), "-o", str(obj)])
        symbols = set(_run(["nm", "--defined-only", str(obj)]).stdout.split())
        for stem in stems:
            for sfx in ("f32", "f64"):
                assert f"{stem}_{sfx}" in symbols, (name, stem, sfx)


@pytest.mark.parametrize("lang", ["c", "c++"])
def test_headers_compile_as_such(lang):
    cc, flags = _compile_flags()
    if lang == "c++":
        cc = shutil.which("g++") or pytest.skip("no g++")
        flags = [f for f in flags if f != "-std=c11"]
    base = [cc, "-fsyntax-only", "-x", lang, *flags]
    if lang == "c":
        _run(base + list(STRICT) + [runtime.source_path("sg_runtime.h")])
    # sg_abi.h is plain declarations (it needs <stdint.h>); sg_scalar.h also serves C++ (CUDA)
    _run(base + ["-include", "stdint.h", runtime.source_path("sg_abi.h")])
    _run(base + ["-include", "stdint.h", "-include", "math.h", runtime.source_path("sg_scalar.h")])


@pytest.mark.parametrize("name", ["conv_impl.h", "nnet_impl.h", "sg_api_typed.h"])
def test_impl_headers_demand_their_parameters(tmp_path, name):
    """Including a per-dtype file without SG_T / SG_S / SG_MSFX stops with its own message."""
    cc, flags = _compile_flags()
    src = tmp_path / "t.c"
    src.write_text(f'#include "sg_runtime.h"\n#undef SG_T\n#include "{name}"\n')
    proc = subprocess.run([cc, "-fsyntax-only", *flags, str(src)], capture_output=True, text=True)
    assert proc.returncode != 0 and "define SG_T" in proc.stderr


def test_cdef_is_the_abi_header_and_matches_the_c_layout(tmp_path):
    """cffi parses sg_abi.h as it is (it is the linker's CDEF), and sizeof/offsetof of every
    sg_ctx and sg_val field agree with what the C compiler sees through sg_runtime.h."""
    import cffi
    from symgraph.backends.c import linker
    with open(runtime.source_path("sg_abi.h")) as f:
        assert linker.CDEF == f.read()
    ffi = cffi.FFI()
    ffi.cdef(linker.CDEF)
    items = []
    for struct in ("sg_ctx", "sg_val"):
        items.append((f"sizeof({struct})", ffi.sizeof(struct)))
        for field, _ in ffi.typeof(struct).fields:
            items.append((f"offsetof({struct}, {field})", ffi.offsetof(struct, field)))
    body = "\n".join(f"    out[{k}] = (int64_t){expr};" for k, (expr, _) in enumerate(items))
    src = f'#include "sg_runtime.h"\nvoid sg_layout(int64_t *out) {{\n{body}\n}}\n'
    cache = CompileCache(tmp_path / "cache")
    pffi, lib = cache.get_library(src, "void sg_layout(int64_t *out);", runtime.INCLUDE_FLAGS)
    out = pffi.new("int64_t[]", len(items))
    lib.sg_layout(out)
    assert [(expr, out[k]) for k, (expr, _) in enumerate(items)] == items


def test_mrg_constant_matches_python():
    from symgraph.ops.random import MRG_NORM32
    with open(runtime.source_path("nnet.c")) as f:
        m = re.search(r"#define SG_MRG_NORM32 (\S+)f\n", f.read())
    assert m and float(m.group(1)) == float(np.float32(MRG_NORM32))
    assert repr(float(np.float32(MRG_NORM32))) == m.group(1)


def test_cache_key_covers_the_source_files(tmp_path, monkeypatch):
    """A changed .c or .h changes the digest, and the digest is part of every key."""
    copy = tmp_path / "src"
    shutil.copytree(C_SRC, copy)
    monkeypatch.setattr(sources, "SRC_DIR", str(copy))
    before = sources.source_digest.__wrapped__()
    (copy / "sg_scalar.h").write_text((copy / "sg_scalar.h").read_text() + "\n/* changed */\n")
    assert sources.source_digest.__wrapped__() != before
    monkeypatch.undo()
    from symgraph.backends.c import cache as cache_mod
    cache = CompileCache(tmp_path / "cache")
    key = cache.key("int f(void) { return 1; }")
    monkeypatch.setattr(cache_mod, "source_digest", lambda: "0" * 64)
    assert cache.key("int f(void) { return 1; }") != key


def test_no_string_templating_left():
    """No $T-style tokens, comment-marker slicing or translation-unit markers in the backends."""
    root = os.path.dirname(os.path.dirname(runtime.__file__))
    bad = re.compile(r"\$[TSM]\b|TU_MARKER|_HELPERS_MARK|\.replace\(\"\$|DECLS_TYPES|SCALAR_HELPERS")
    found = []
    for base, _, files in os.walk(root):
        for name in files:
            if name.endswith((".py", ".c", ".h", ".cu", ".cuh")):
                path = os.path.join(base, name)
                with open(path, encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        if bad.search(line):
                            found.append(f"{path}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_cuda_instantiate_checks_parameters():
    src = dialect.instantiate("mrg_uniform.cu", SG_T="float", SG_MRG_F64=0)
    assert src.startswith("#define SG_T float\n#define SG_MRG_F64 0\n") and src.endswith("#undef SG_MRG_F64\n")
    with pytest.raises(ValueError, match="takes parameters"):
        dialect.instantiate("mrg_uniform.cu", SG_T="float")
    with pytest.raises(ValueError, match="takes parameters"):
        dialect.instantiate("mrg_uniform.cu", SG_T="float", SG_MRG_F64=0, EXTRA=1)


def _cuda_instances():
    """(file, params) for every .cu/.cuh under cuda/src: one instantiation per dtype."""
    out = []
    for name in sorted(os.listdir(CUDA_SRC)):
        if not name.endswith((".cu", ".cuh")):
            continue
        declared = dialect.source_parameters(dialect.cuda_source(name))
        if set(declared) == {"SG_T", "SG_MRG_F64"}:
            out += [(name, {"SG_T": "float", "SG_MRG_F64": 0}), (name, {"SG_T": "double", "SG_MRG_F64": 1})]
        else:
            assert not declared, f"{name}: add its instantiations to this test"
            out.append((name, {}))
    return out


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
@pytest.mark.parametrize("name,params", _cuda_instances())
def test_every_cu_file_compiles_with_nvcc(tmp_path, name, params):
    """Each CUDA source, with the dialect's preamble (sg_scalar.h under SG_DEVICE = __device__),
    compiles with nvcc -ptx, once per instantiation."""
    text = dialect.instantiate(name, **params) if params else dialect.cuda_source(name)
    if dialect.KERNEL_NAME in text:     # a kernel template: named as a lowering names it
        text = dialect.name_kernel(text, "k")
    text = dialect.DIALECT.preamble + text
    src = tmp_path / "k.cu"
    src.write_text(text)
    _run([NVCC, "-ptx", "-I", C_SRC, str(src), "-o", str(tmp_path / "k.ptx")], timeout=300)


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_scalar_helpers_compile_for_the_device(tmp_path):
    """sg_scalar.h included directly by nvcc picks __device__ by itself (__CUDACC__)."""
    src = tmp_path / "h.cu"
    src.write_text('#include <stdint.h>\n#include <math.h>\n#include "sg_scalar.h"\n'
                   'extern "C" __global__ void k(double *x, long long *i) {\n'
                   '  x[0] = sg_floordiv(x[0], x[1]) + sg_sigmoidf((float)x[2]) + sg_softplus(x[3]);\n'
                   '  i[0] = sg_idiv(i[0], i[1]) + sg_imod(i[0], i[1]) + sg_ipow(i[0], 3);\n}\n')
    _run([NVCC, "-ptx", "-I", C_SRC, str(src), "-o", str(tmp_path / "h.ptx")], timeout=300)

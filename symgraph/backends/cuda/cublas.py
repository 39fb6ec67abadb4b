"""cuBLAS through cffi (ABI mode): gemm for row-major, possibly transposed, device matrices.

The library comes from the ``nvidia-cublas`` wheel when one is installed, else
from the CUDA toolkit (``$CUDA_HOME``/``$CUDA_PATH``, ``/usr/local/cuda``), else
from the loader's path. Device pointers are passed as integers (``size_t`` in
the declarations: same calling convention as a pointer), so a call costs no
pointer casts.

>>> from symgraph.backends.cuda import cublas
>>> cublas.gemm(a, b, c)          # c[...] = a @ b for 2-d float32/float64 DeviceArrays

Float32 products use plain FP32 arithmetic (``CUBLAS_DEFAULT_MATH``), like the
CPU backends; ``set_tf32(True)`` lets cuBLAS use TF32 tensor cores (about 1e-3
relative error) where speed matters more.
"""
from __future__ import annotations

import glob
import os
import threading
from . import driver
from . import CudaUnavailable
from .lower.elemwise import fill

_CDEF = """
typedef void* cublasHandle_t;
int cublasCreate_v2(cublasHandle_t* handle);
int cublasDestroy_v2(cublasHandle_t handle);
int cublasSetMathMode(cublasHandle_t handle, int mode);
int cublasSetStream_v2(cublasHandle_t handle, size_t stream);
int cublasSgemm_v2(cublasHandle_t h, int ta, int tb, int m, int n, int k, const float* alpha,
                   size_t A, int lda, size_t B, int ldb, const float* beta, size_t C, int ldc);
int cublasDgemm_v2(cublasHandle_t h, int ta, int tb, int m, int n, int k, const double* alpha,
                   size_t A, int lda, size_t B, int ldb, const double* beta, size_t C, int ldc);
int cublasSgemmStridedBatched(cublasHandle_t h, int ta, int tb, int m, int n, int k,
                   const float* alpha, size_t A, int lda, long long sA, size_t B, int ldb,
                   long long sB, const float* beta, size_t C, int ldc, long long sC, int count);
int cublasDgemmStridedBatched(cublasHandle_t h, int ta, int tb, int m, int n, int k,
                   const double* alpha, size_t A, int lda, long long sA, size_t B, int ldb,
                   long long sB, const double* beta, size_t C, int ldc, long long sC, int count);
"""

OP_N, OP_T = 0, 1
DEFAULT_MATH, TF32_MATH = 0, 3

_lock = threading.Lock()
_lib = {}


class CublasError(RuntimeError):
    """A cuBLAS call returned an error status."""


def library_candidates():
    """Paths tried for libcublas, in order."""
    out = []
    try:
        import importlib.util
        for pkg in ("nvidia.cu13", "nvidia.cublas", "nvidia.cu12"):
            spec = importlib.util.find_spec(pkg)
            if spec and spec.submodule_search_locations:
                for loc in spec.submodule_search_locations:
                    out += sorted(glob.glob(os.path.join(loc, "lib", "libcublas.so*")))
    except (ImportError, ValueError):
        pass
    for env in ("CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"):
        root = os.environ.get(env)
        if root:
            out += sorted(glob.glob(os.path.join(root, "lib64", "libcublas.so*")))
    out += sorted(glob.glob("/usr/local/cuda/lib64/libcublas.so*"))
    out = [p for p in out if "Lt" not in os.path.basename(p)]
    out.append("libcublas.so")
    return out


def _load():
    lib = _lib.get("lib")
    if lib is not None:
        return _lib["ffi"], lib, _lib["handle"]
    with _lock:
        if "lib" in _lib:
            return _lib["ffi"], _lib["lib"], _lib["handle"]
        import cffi
        driver.cuda()                    # the primary context must be current
        ffi = cffi.FFI()
        ffi.cdef(_CDEF)
        errors = []
        for path in library_candidates():
            try:
                lib = ffi.dlopen(path)
                break
            except OSError as exc:
                errors.append(f"{path}: {exc}")
        else:
            raise CudaUnavailable("cuBLAS not found; tried:\n  " + "\n  ".join(errors))
        handle = ffi.new("cublasHandle_t*")
        _check(lib.cublasCreate_v2(handle), "cublasCreate")
        _check(lib.cublasSetMathMode(handle[0], DEFAULT_MATH), "cublasSetMathMode")
        _check(lib.cublasSetStream_v2(handle[0], driver.stream().handle), "cublasSetStream")
        _lib.update(ffi=ffi, lib=lib, handle=handle[0], path=path, consts={})
        return ffi, lib, handle[0]


def _check(status, what):
    if status != 0:
        raise CublasError(f"{what} failed with cuBLAS status {status}")


def set_tf32(enabled):
    """Allow (or forbid) TF32 tensor-core arithmetic in float32 products."""
    _, lib, h = _load()
    _check(lib.cublasSetMathMode(h, TF32_MATH if enabled else DEFAULT_MATH), "cublasSetMathMode")


def _scalar(ffi, dtype, value):
    consts = _lib["consts"]
    key = (dtype, value)
    c = consts.get(key)
    if c is None:
        c = consts[key] = ffi.new("float*" if dtype == "float32" else "double*", value)
    return c


def operand(a):
    """(op, leading dimension, array) so that cuBLAS reads the row-major matrix ``a``.

    A matrix with unit stride along its rows is used as is (``N``), one with
    unit stride along its columns as its transpose (``T``); anything else is
    copied to C order first.
    """
    r, c = a.shape
    s0, s1 = a.elem_strides()
    if r == 1:
        s0 = max(c, 1)
    if c == 1:
        s1 = 1
    if s1 == 1 and s0 >= max(c, 1):
        return OP_N, s0, a
    if s0 == 1 and s1 >= max(r, 1):
        return OP_T, s1, a
    a = a.copy()
    return OP_N, max(c, 1), a


def gemm(a, b, out, alpha=1.0, beta=0.0):
    """``out = alpha * a @ b + beta * out`` for 2-d DeviceArrays (out C-contiguous)."""
    m, k = a.shape
    k2, n = b.shape
    if k != k2 or out.shape != (m, n):
        raise ValueError(f"gemm: shapes {a.shape} x {b.shape} -> {out.shape} do not match")
    if m == 0 or n == 0:
        return out
    dtype = out.dtype.name
    if k == 0:
        if beta == 0.0:
            fill(out, 0)
        return out
    ffi, lib, h = _load()
    opa, lda, a = operand(a)
    opb, ldb, b = operand(b)
    fn = lib.cublasSgemm_v2 if dtype == "float32" else lib.cublasDgemm_v2
    # row-major C = A B  <=>  column-major C^T = B^T A^T
    st = fn(h, opb, opa, n, m, k, _scalar(ffi, dtype, alpha), b.ptr, ldb, a.ptr, lda,
            _scalar(ffi, dtype, beta), out.ptr, max(n, 1))
    if st:
        _check(st, f"cublas{'S' if dtype == 'float32' else 'D'}gemm ({m}x{k} @ {k}x{n})")
    return out


def gemm_strided_batched(transa, transb, m, n, k, a_ptr, lda, stride_a, b_ptr, ldb, stride_b,
                         c_ptr, ldc, stride_c, count, dtype="float32", alpha=1.0, beta=0.0):
    """Column-major batched gemm, arguments as cuBLAS takes them (for convolutions)."""
    ffi, lib, h = _load()
    fn = lib.cublasSgemmStridedBatched if dtype == "float32" else lib.cublasDgemmStridedBatched
    st = fn(h, transa, transb, m, n, k, _scalar(ffi, dtype, alpha), a_ptr, lda, stride_a,
            b_ptr, ldb, stride_b, _scalar(ffi, dtype, beta), c_ptr, ldc, stride_c, count)
    if st:
        _check(st, f"gemmStridedBatched ({m}x{n}x{k} x{count})")


def gemm_cm(transa, transb, m, n, k, a_ptr, lda, b_ptr, ldb, c_ptr, ldc, dtype="float32",
            alpha=1.0, beta=0.0):
    """Column-major gemm with raw pointers (for convolutions)."""
    ffi, lib, h = _load()
    fn = lib.cublasSgemm_v2 if dtype == "float32" else lib.cublasDgemm_v2
    st = fn(h, transa, transb, m, n, k, _scalar(ffi, dtype, alpha), a_ptr, lda, b_ptr, ldb,
            _scalar(ffi, dtype, beta), c_ptr, ldc)
    if st:
        _check(st, f"gemm ({m}x{n}x{k})")

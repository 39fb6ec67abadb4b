"""A CPU stand-in for pycuda, cuBLAS and the CUDA graph API, so that the CUDA backend's own
code (placement, lowering, launches, the memory pool, graph capture and replay, the error
word, cuBLAS argument juggling) runs on a machine without a GPU. (A helper module, no tests.)

``cpu_cuda`` (a pytest fixture, or :func:`install` with a ``monkeypatch``) switches
``device=cuda`` to :class:`CpuCuda`:

- device memory is host memory (:class:`_HostBlock`): fresh blocks are filled with ``0xCD``
  (garbage when a kernel forgets a write), a block given back to the memory pool is
  poisoned with ``0xFF`` (NaN as a float: a read of a freed buffer shows), and every block
  is fenced by ``0xFF`` guard bytes that are checked after each launch, copy and gemm (a
  write past the end of an allocation fails naming the kernel). The pool's size classes
  are exact (the real ones round up and would hide overruns);
- the generated CUDA C is built with ``g++`` and a small shim (:data:`_SHIM`): one wrapper
  per kernel runs the whole grid in C. A kernel that calls ``__syncthreads`` runs each
  block's threads as fibers that switch at the barrier, so block sizes,
  shared memory and tree reductions behave as on the GPU; a barrier not reached by every
  thread of the block, or reached at different lines, is an error. Launch configurations
  and argument values are checked as the driver and pycuda check them;
- cuBLAS (``cublasSgemm_v2``, ``cublasDgemm_v2`` and their ``StridedBatched`` forms) is a
  column-major gemm in NumPy with cuBLAS's argument checks (leading dimensions, overlap
  of the output with an input, every operand inside one live allocation);
- the graph API records the launches, copies and gemms of a capture and replays them with
  the captured arguments; a synchronous copy while capturing fails, as on a GPU.

Compiled modules are cached per process by source, and the backend's kernel caches are
process-wide while emulating (as they are on a GPU), so a kernel is built once per run.
Not emulated: concurrency between blocks or threads (threads run one after another, and
switch only at barriers: atomics are plain read-modify-writes), fused multiply-adds and
the GPU's math library (results match the host's libm).
"""
from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import re
import shutil
import struct
import subprocess
import tempfile
import threading

import numpy as np
import pytest

import symgraph

CXX = shutil.which("g++") or shutil.which("c++")

#: run threads (and blocks) last to first: a result that changes is an ordering race
REVERSE_THREADS = os.environ.get("SYMGRAPH_EMULATOR_REVERSE", "") not in ("", "0")

_SHIM = r"""
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
struct sg_dim3 { unsigned int x, y, z; };
static sg_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __syncthreads() sg_syncthreads(__LINE__)
static inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long c,
                                           unsigned long long v)
{ unsigned long long o = *p; if (o == c) *p = v; return o; }
static inline float atomicAdd(float* p, float v) { float o = *p; *p = o + v; return o; }
static inline double atomicAdd(double* p, double v) { double o = *p; *p = o + v; return o; }
static inline int atomicAdd(int* p, int v) { int o = *p; *p = o + v; return o; }
static inline int atomicMax(int* p, int v) { int o = *p; if (v > o) *p = v; return o; }
static inline long long atomicMax(long long* p, long long v)
{ long long o = *p; if (v > o) *p = v; return o; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline double __dmul_rn(double a, double b) { return a * b; }

/* ---- the grid: blocks one after another; with barriers, a block's threads are fibers.
   A fiber switch saves the callee-saved registers and swaps stacks (x86-64; elsewhere
   ucontext, which also saves the signal mask: a system call per switch, far slower). */
struct sg_fiber;
static void sg_fiber_main();
#if defined(__x86_64__)
__asm__(".pushsection .text\n.p2align 4\n.hidden sg_switch\n.type sg_switch,@function\nsg_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n.size sg_switch, .-sg_switch\n.popsection\n");
extern "C" void sg_switch(void** save_sp, void* new_sp);
struct sg_context { void* sp; };
static sg_context sg_sched;
#define SG_SWITCH(from, to) sg_switch(&(from)->sp, (to)->sp)
static void sg_make(sg_context* c, char* stack, size_t size)
{
  void** top = (void**)(((uintptr_t)(stack + size)) & ~(uintptr_t)15);
  top[-1] = 0;                          /* sg_fiber_main's return address (it never returns) */
  top[-2] = (void*)&sg_fiber_main;      /* where sg_switch's ret goes */
  for (int k = 3; k <= 8; ++k) top[-k] = 0;           /* rbp rbx r12 r13 r14 r15 */
  c->sp = (void*)(top - 8);
}
#else
#include <ucontext.h>
struct sg_context { ucontext_t uc; };
static sg_context sg_sched;
#define SG_SWITCH(from, to) swapcontext(&(from)->uc, &(to)->uc)
static void sg_make(sg_context* c, char* stack, size_t size)
{
  getcontext(&c->uc);
  c->uc.uc_stack.ss_sp = stack;
  c->uc.uc_stack.ss_size = size;
  c->uc.uc_link = 0;
  makecontext(&c->uc, sg_fiber_main, 0);
}
#endif
struct sg_fiber { sg_context ctx; sg_dim3 tid; int done, line; };
static sg_fiber* sg_fibers = 0;
static char* sg_stacks = 0;
static unsigned sg_nalloc = 0;
static const size_t SG_STACK = 1 << 16;
static int sg_cur = -1, sg_error = 0;
static void (*sg_body)(void*) = 0;
static void* sg_arg = 0;

static void sg_syncthreads(int line)
{
  const int me = sg_cur;
  if (me < 0) { sg_error = 3; return; }      /* a barrier in a kernel run without fibers */
  sg_fibers[me].line = line;
  SG_SWITCH(&sg_fibers[me].ctx, &sg_sched);
  threadIdx = sg_fibers[me].tid;
}

static void sg_fiber_main()
{
  sg_body(sg_arg);
  sg_fiber* f = &sg_fibers[sg_cur];
  f->done = 1;
  SG_SWITCH(&f->ctx, &sg_sched);            /* never resumed */
  abort();
}

template <class F> static void sg_call(void* p) { (*(F*)p)(); }

static int sg_run_grid(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                       unsigned bz, int barriers, int reverse, void (*body)(void*), void* arg)
{
  gridDim.x = gx; gridDim.y = gy; gridDim.z = gz;
  blockDim.x = bx; blockDim.y = by; blockDim.z = bz;
  const unsigned nb = gx * gy * gz, nt = bx * by * bz;
  sg_error = 0;
  if (barriers && nt > sg_nalloc) {
    free(sg_fibers); free(sg_stacks);
    sg_fibers = (sg_fiber*)calloc(nt, sizeof(sg_fiber));
    sg_stacks = (char*)malloc((size_t)nt * SG_STACK);
    if (!sg_fibers || !sg_stacks) { sg_nalloc = 0; return 4; }
    sg_nalloc = nt;
  }
  sg_body = body; sg_arg = arg;
  for (unsigned bb = 0; bb < nb; ++bb) {
    const unsigned b = reverse ? nb - 1 - bb : bb;
    blockIdx.x = b % gx; blockIdx.y = (b / gx) % gy; blockIdx.z = b / (gx * gy);
    if (!barriers) {
      for (unsigned tt = 0; tt < nt; ++tt) {
        const unsigned t = reverse ? nt - 1 - tt : tt;
        threadIdx.x = t % bx; threadIdx.y = (t / bx) % by; threadIdx.z = t / (bx * by);
        body(arg);
        if (sg_error) return sg_error;
      }
      continue;
    }
    for (unsigned t = 0; t < nt; ++t) {
      sg_fiber* f = &sg_fibers[t];
      sg_make(&f->ctx, sg_stacks + (size_t)t * SG_STACK, SG_STACK);
      f->tid.x = t % bx; f->tid.y = (t / bx) % by; f->tid.z = t / (bx * by);
      f->done = 0;
    }
    unsigned alive = nt;
    while (alive) {                 /* one round: every live thread up to its next barrier */
      int line = -1, finished = 0, waiting = 0;
      for (unsigned tt = 0; tt < nt; ++tt) {
        const unsigned t = reverse ? nt - 1 - tt : tt;
        sg_fiber* f = &sg_fibers[t];
        if (f->done) continue;
        sg_cur = (int)t;
        threadIdx = f->tid;
        f->line = -1;
        SG_SWITCH(&sg_sched, &f->ctx);
        sg_cur = -1;
        if (f->done) { --alive; ++finished; continue; }
        ++waiting;
        if (line < 0) line = f->line;
        else if (line != f->line) sg_error = 1;        /* threads wait at different barriers */
      }
      if (finished && waiting) sg_error = 2;          /* some threads skipped a barrier */
      if (sg_error) {                                 /* abandon the block's fibers */
        return sg_error;
      }
    }
  }
  return 0;
}
"""

_WRAPPER = """
extern "C" int {name}__grid(unsigned sg_gx, unsigned sg_gy, unsigned sg_gz, unsigned sg_bx,
                           unsigned sg_by, unsigned sg_bz, int sg_reverse, {params})
{{
  auto sg_k = [&]() {{ {name}({args}); }};
  return sg_run_grid(sg_gx, sg_gy, sg_gz, sg_bx, sg_by, sg_bz, {barriers}, sg_reverse,
                     &sg_call<decltype(sg_k)>, &sg_k);
}}
"""

_LAUNCH_ERRORS = {1: "threads of a block wait at different __syncthreads",
                  2: "some threads of a block skipped a __syncthreads the others wait at",
                  3: "a kernel without a detected barrier called __syncthreads (emulator)",
                  4: "out of host memory for the fibers of a block"}

_KERNEL_RE = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')

_CTYPES = {"b": ctypes.c_int8, "B": ctypes.c_uint8, "h": ctypes.c_int16, "H": ctypes.c_uint16,
           "i": ctypes.c_int32, "I": ctypes.c_uint32, "l": ctypes.c_long, "L": ctypes.c_ulong,
           "q": ctypes.c_int64, "Q": ctypes.c_uint64, "f": ctypes.c_float, "d": ctypes.c_double,
           "P": ctypes.c_void_p}

GUARD = 256             # bytes of 0xFF before and after every allocation
FRESH, POISON = 0xCD, 0xFF


class EmulatorError(AssertionError):
    """Something a GPU would not survive (or would compute wrongly): a write past an
    allocation, a gemm reading outside one, a divergent barrier, a bad launch."""


class _HostBlock:
    """A "device" allocation: host memory filled with 0xCD between guards of 0xFF."""

    def __init__(self, size, registry=None):
        self.size = int(size)
        self.raw = np.full(self.size + 2 * GUARD, FRESH, dtype=np.uint8)
        self.raw[:GUARD] = POISON
        self.raw[GUARD + self.size:] = POISON
        self.mem = self.raw[GUARD:GUARD + self.size]
        self.ptr = self.raw.ctypes.data + GUARD
        if registry is not None:
            registry[self.ptr] = self

    def __int__(self):
        return self.ptr

    __index__ = __int__

    def guards_intact(self):
        return (self.raw[:GUARD] == POISON).all() and (self.raw[GUARD + self.size:] == POISON).all()

    def poison(self):
        self.mem[...] = POISON


def _host_view(a):
    """The numpy array over the memory of DeviceArray ``a`` (host memory under CpuCuda)."""
    if not a.size:
        return np.empty(a.shape, a.dtype)
    lo = sum(min(0, st * (n - 1)) for n, st in zip(a.shape, a.strides))
    hi = sum(max(0, st * (n - 1)) for n, st in zip(a.shape, a.strides)) + a.itemsize
    buf = (ctypes.c_char * (hi - lo)).from_address(a.ptr + lo)
    return np.ndarray(a.shape, a.dtype, buffer=buf, offset=-lo, strides=a.strides)


def _view(ptr, dtype, shape, strides):
    """A numpy array over host memory at ``ptr`` (``strides`` in bytes, >= 0)."""
    dtype = np.dtype(dtype)
    if not all(shape):
        return np.empty(shape, dtype)
    extent = sum(st * (n - 1) for n, st in zip(shape, strides)) + dtype.itemsize
    buf = (ctypes.c_char * extent).from_address(ptr)
    return np.ndarray(shape, dtype, buffer=buf, strides=strides)


class _CpuKernel:
    """A compiled kernel: ``prepared_call(grid, block, *args)`` runs its whole grid in C."""

    def __init__(self, cpu, module, name, arg_format):
        self.fn = getattr(module.lib, name + "__grid")
        self.fn.restype = ctypes.c_int
        self.types = [_CTYPES[c] for c in arg_format]
        self.fn.argtypes = [ctypes.c_uint] * 6 + [ctypes.c_int] + self.types
        self.cpu, self.name, self.format = cpu, name, arg_format
        n_params = module.n_params[name]
        if n_params != len(arg_format):
            raise EmulatorError(f"{name}: arg_format {arg_format!r} has {len(arg_format)} "
                                f"arguments, the kernel takes {n_params}")

    def prepared_call(self, grid, block, *args, shared_size=0):
        if len(args) != len(self.types):
            raise EmulatorError(f"{self.name}: {len(args)} arguments for format {self.format!r}")
        try:            # what pycuda does with the arguments of a prepared call
            struct.pack(self.format, *args)
        except struct.error as exc:
            raise struct.error(f"{self.name}: {exc} (arguments {args})") from None
        grid = tuple(int(g) for g in grid) + (1,) * (3 - len(grid))
        block = tuple(int(b) for b in block) + (1,) * (3 - len(block))
        if min(grid) < 1 or grid[0] >= 2 ** 31 or max(grid[1:]) > 65535 or min(block) < 1 \
                or max(block[:2]) > 1024 or block[2] > 64 or np.prod(block) > 1024:
            raise RuntimeError(f"cuLaunchKernel failed: invalid argument ({self.name}: grid "
                               f"{grid}, block {block})")
        cargs = [t(float(a)) if t in (ctypes.c_float, ctypes.c_double) else t(int(a))
                 for t, a in zip(self.types, args)]
        self.cpu.submit(lambda: self._run(grid, block, cargs), self.name)

    def _run(self, grid, block, args):
        st = self.fn(*grid, *block, int(REVERSE_THREADS), *args)
        self.cpu.n_launches += 1
        if st:
            raise EmulatorError(f"{self.name} (grid {grid}, block {block}): "
                                f"{_LAUNCH_ERRORS.get(st, st)}")


class _CpuModule:
    def __init__(self, lib, source):
        self.lib = lib
        self.barriers, self.n_params = {}, {}
        for m in _KERNEL_RE.finditer(source):
            name = m.group(1)
            self.n_params[name] = len([p for p in m.group(2).split(",") if p.strip()])
            self.barriers[name] = _uses_barrier(source, name)


def _uses_barrier(source, name):
    """The kernel's text and its helpers' (``name_rmax`` ...) precede the next kernel."""
    start = source.index(name)
    end = source.find('extern "C"', source.index(f"void {name}("))
    return "__syncthreads" in source[start:end if end > 0 else None]


def _expand_macros(source):
    """``source`` after the preprocessor, where kernels come from an instantiated ``.cu`` (its
    parameters, such as the element type ``SG_T``, are macros ``#undef``'d after it): the
    wrappers, which follow the source, need the signatures spelt out."""
    if "#undef" not in source:
        return source
    out = subprocess.run([CXX, "-E", "-P", "-x", "c++", "-"], input=source, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"g++ -E failed on a generated CUDA module (emulator):\n{out.stderr[-4000:]}")
    return out.stdout


def _wrappers(source):
    source = _expand_macros(source)
    out = []
    for m in _KERNEL_RE.finditer(source):
        name, params = m.group(1), m.group(2)
        names = [re.findall(r"\w+", p)[-1] for p in params.split(",") if p.strip()]
        out.append(_WRAPPER.format(name=name, params=params, args=", ".join(names),
                                   barriers=int(_uses_barrier(source, name))))
    return "\n".join(out)


_MODULES = {}           # sha1 of the source -> _CpuModule, per process
_BUILD = {}
_build_lock = threading.Lock()


def _build_dir():
    d = _BUILD.get("dir")
    if d is None:
        d = _BUILD["dir"] = tempfile.mkdtemp(prefix="symgraph-cpucuda-")
        atexit.register(shutil.rmtree, d, True)
    return d


def compile_source(source):
    """The :class:`_CpuModule` of a CUDA source (built once per process)."""
    key = hashlib.sha1(source.encode()).hexdigest()
    mod = _MODULES.get(key)
    if mod is not None:
        return mod
    with _build_lock:
        mod = _MODULES.get(key)
        if mod is not None:
            return mod
        base = os.path.join(_build_dir(), f"m_{key[:20]}")
        text = _SHIM + source + "\n" + _wrappers(source)
        with open(base + ".cpp", "w") as fh:
            fh.write(text)
        out = subprocess.run([CXX, "-O1", "-w", "-shared", "-fPIC", base + ".cpp", "-o",
                              base + ".so"], capture_output=True, text=True)
        if out.returncode:
            from symgraph.backends.c.build import number_lines
            raise RuntimeError(f"g++ failed on a generated CUDA module (emulator):\n"
                               f"{out.stderr[-4000:]}\n{number_lines(text)[-20000:]}")
        mod = _MODULES[key] = _CpuModule(ctypes.CDLL(base + ".so"), source)
        return mod


class _CpuGraph:
    def __init__(self, ops):
        self.ops = ops

    def launch(self):
        for op, _ in self.ops:
            op()


# -------------------------------------------------------------------- fakes of cffi libraries

class _FakeFFI:
    """The part of a ``cffi.FFI`` that cublas.py and graphs.py use."""

    NULL = None

    @staticmethod
    def new(ctype, value=None):
        return [value]


class _GraphDriver:
    """``cuStreamBeginCapture_v2`` ... of graphs.py, over :class:`CpuCuda`."""

    def __init__(self, cpu):
        self.cpu = cpu

    def cuStreamBeginCapture_v2(self, stream, mode):
        if self.cpu.recording is not None:
            return 900          # CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED
        self.cpu.recording, self.cpu.capture_invalid = [], False
        return 0

    def cuStreamEndCapture(self, stream, graph):
        ops, self.cpu.recording = self.cpu.recording, None
        if ops is None:
            return 901
        if self.cpu.capture_invalid:
            graph[0] = None
            return 901          # CUDA_ERROR_STREAM_CAPTURE_INVALIDATED
        graph[0] = _CpuGraph(ops)
        return 0

    def cuGraphInstantiateWithFlags(self, exe, graph, flags):
        exe[0] = graph
        return 0

    def cuGraphLaunch(self, exe, stream):
        self.cpu.submit(exe.launch, "graph")
        return 0

    def cuGraphExecDestroy(self, exe):
        return 0

    def cuGraphDestroy(self, graph):
        return 0


class _Cublas:
    """cuBLAS's gemms, column-major, in NumPy on the host memory of :class:`CpuCuda`."""

    INVALID_VALUE = 7

    def __init__(self, cpu):
        self.cpu = cpu
        self.math_mode = 0
        self.calls = 0

    def cublasSetMathMode(self, h, mode):
        self.math_mode = mode
        return 0

    def cublasSetStream_v2(self, h, stream):
        return 0

    def cublasCreate_v2(self, handle):
        handle[0] = 0
        return 0

    def cublasDestroy_v2(self, h):
        return 0

    def cublasSgemm_v2(self, h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
        return self._gemm("float32", ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C,
                          ldc, 0, 1)

    def cublasDgemm_v2(self, h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
        return self._gemm("float64", ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C,
                          ldc, 0, 1)

    def cublasSgemmStridedBatched(self, h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB,
                                  beta, C, ldc, sC, count):
        return self._gemm("float32", ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C,
                          ldc, sC, count)

    def cublasDgemmStridedBatched(self, h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB,
                                  beta, C, ldc, sC, count):
        return self._gemm("float64", ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C,
                          ldc, sC, count)

    def _gemm(self, dtype, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC,
              count):
        """C_i (m x n) = alpha op(A_i) (m x k) op(B_i) (k x n) + beta C_i, column-major:
        element (r, c) of a matrix with leading dimension ld is at r + c * ld."""
        if ta not in (0, 1) or tb not in (0, 1) or min(m, n, k, count) < 0 \
                or lda < max(1, k if ta else m) or ldb < max(1, n if tb else k) \
                or ldc < max(1, m):
            return self.INVALID_VALUE
        if not (m and n and count):
            return 0
        isz = np.dtype(dtype).itemsize
        alpha, beta = np.dtype(dtype).type(alpha[0]), np.dtype(dtype).type(beta[0])
        a_rows, a_cols = (k, m) if ta else (m, k)
        b_rows, b_cols = (n, k) if tb else (k, n)
        desc = f"gemm{'StridedBatched' if count > 1 or sC else ''} ({m}x{n}x{k} x{count})"
        spans = []
        for what, ptr, rows, cols, ld, stride in (("A", A, a_rows, a_cols, lda, sA),
                                                  ("B", B, b_rows, b_cols, ldb, sB),
                                                  ("C", C, m, n, ldc, sC)):
            if what != "C" and not k:
                continue
            if stride < 0:
                raise EmulatorError(f"{desc}: negative batch stride of {what}")
            extent = ((count - 1) * stride + (cols - 1) * ld + rows) * isz
            self.cpu.check_range(int(ptr), extent, f"{desc}, operand {what}")
            spans.append((what, int(ptr), extent, rows, cols, ld, stride, count))
        c_span = spans[-1]
        c_elems = np.sort(_elements(c_span, isz))
        if (np.diff(c_elems) == 0).any():
            raise EmulatorError(f"{desc}: elements of C are written twice (ldc {ldc}, batch "
                                f"stride {sC})")
        for span in spans[:-1]:
            if span[1] < c_span[1] + c_span[2] and c_span[1] < span[1] + span[2] and \
                    np.isin(_elements(span, isz), c_elems, kind="sort").any():
                raise EmulatorError(f"{desc}: the output C overlaps operand {span[0]}")

        def view(span):
            _, ptr, _, rows, cols, ld, stride, _ = span
            return _view(ptr, dtype, (count, rows, cols), (stride * isz, isz, ld * isz))

        def op():
            c = view(spans[-1])
            if k:
                a, b = view(spans[0]), view(spans[1])
                a = a.transpose(0, 2, 1) if ta else a
                b = b.transpose(0, 2, 1) if tb else b
                prod = alpha * np.matmul(a, b)
            else:
                prod = np.zeros(c.shape, dtype)
            c[...] = prod if beta == 0 else prod + beta * c     # beta 0: C is not read
            self.calls += 1
        self.cpu.submit(op, desc)
        return 0


def _elements(span, isz):
    """Byte addresses of the elements of a (batched) column-major operand."""
    _, ptr, _, rows, cols, ld, stride, count = span
    return (ptr + isz * (np.arange(count)[:, None, None] * stride + np.arange(rows)[None, :, None]
                         + np.arange(cols)[None, None, :] * ld)).ravel()


# -------------------------------------------------------------------- the driver

class _Stream:
    handle = 0


class _PoisoningLists(dict):
    """``DevicePool.free_lists`` whose lists poison a block when it is given back."""

    def setdefault(self, key, default=None):
        lst = self.get(key)
        if lst is None:
            lst = self[key] = _PoisonList()
        return lst


class _PoisonList(list):
    def append(self, block):
        block.poison()
        super().append(block)


class CpuCuda:
    """Stands in for ``pycuda.driver`` (and is the device behind the cuBLAS and graph fakes).

    Launches, device-to-device copies and gemms run at once, in order, or are recorded
    while a graph is captured and run again at each ``cuGraphLaunch`` with the arguments
    of the capture, like a CUDA graph. ``n_launches`` counts kernel runs.
    """

    MemoryError = MemoryError

    def __init__(self):
        self.recording = None
        self.capture_invalid = False
        self.n_launches = 0
        self.blocks = {}                # ptr -> _HostBlock: strong references (a weak set loses
        # blocks that the pool resurrects from cyclic garbage); dropped at each reset()
        self.last = []                  # what ran since the guards were last checked
        self.stream = _Stream()
        self.graph_driver = _GraphDriver(self)
        self.cublas = _Cublas(self)

    def reset(self):
        self.recording, self.capture_invalid, self.n_launches, self.last = None, False, 0, []
        self.blocks = {}
        self.cublas.calls = 0

    def submit(self, op, what):
        if self.recording is not None:
            self.recording.append((lambda: self._run(op, what), what))
        else:
            self._run(op, what)

    def _run(self, op, what):
        op()
        self.last.append(what)
        self.check_guards()

    def check_guards(self):
        for b in self.blocks.values():
            if not b.guards_intact():
                ran, self.last = self.last[-5:], []
                b.raw[:GUARD] = POISON
                b.raw[GUARD + b.size:] = POISON
                raise EmulatorError(f"a write outside an allocation of {b.size} bytes at "
                                    f"{b.ptr:#x}, by one of (last last): {ran}")
        self.last = []

    def check_range(self, ptr, nbytes, what):
        """``[ptr, ptr + nbytes)`` must lie in one live allocation."""
        for b in self.blocks.values():
            if b.ptr <= ptr and ptr + nbytes <= b.ptr + b.size:
                return
        raise EmulatorError(f"{what}: {nbytes} bytes at {ptr:#x} are not inside one allocation")

    # -------------------------------------------------- pycuda.driver
    def mem_alloc(self, size):
        return _HostBlock(size, self.blocks)

    def _sync_copy(self):
        if self.recording is not None:
            self.capture_invalid = True
            raise RuntimeError("cuMemcpy failed: operation not permitted when stream is capturing")

    def memcpy_htod(self, ptr, host):
        self._sync_copy()
        host = np.ascontiguousarray(host)
        self.check_range(int(ptr), host.nbytes, "memcpy_htod")
        ctypes.memmove(int(ptr), host.ctypes.data, host.nbytes)

    def memcpy_dtoh(self, host, ptr):
        self._sync_copy()
        if not host.flags.c_contiguous:
            raise ValueError("memcpy_dtoh needs a contiguous host array")
        self.check_range(int(ptr), host.nbytes, "memcpy_dtoh")
        ctypes.memmove(host.ctypes.data, int(ptr), host.nbytes)

    def memcpy_dtod_async(self, dst, src, nbytes, stream=None):
        dst, src, nbytes = int(dst), int(src), int(nbytes)
        self.check_range(dst, nbytes, "memcpy_dtod_async (destination)")
        self.check_range(src, nbytes, "memcpy_dtod_async (source)")
        self.submit(lambda: ctypes.memmove(dst, src, nbytes), "memcpy_dtod")

    # -------------------------------------------------- driver.py
    def compile_module(self, source):
        return compile_source(source)

    def kernel(self, module, name, arg_format):
        return _CpuKernel(self, module, name, arg_format)


_EMULATOR = {}


def emulator():
    """The process's :class:`CpuCuda` (its compiled kernels are cached process-wide)."""
    cpu = _EMULATOR.get("cpu")
    if cpu is None:
        cpu = _EMULATOR["cpu"] = CpuCuda()
        _EMULATOR["caches"] = ({}, {}, {}, {})       # lowering._compiled, _COPIES, _FILLS, sizes
    return cpu


def install(monkeypatch):
    """``device=cuda`` on :class:`CpuCuda` until ``monkeypatch`` is undone (the driver state,
    memory pool and kernel caches of the real backend are set aside meanwhile)."""
    if CXX is None:
        pytest.skip("no host C++ compiler")
    from symgraph.backends import cuda as cuda_pkg
    from symgraph.backends.cuda import cublas, driver, graphs, lowering, memory
    from symgraph.backends.cuda.lower import elemwise
    cpu = emulator()
    cpu.reset()
    compiled, copies, fills, sizes = _EMULATOR["caches"]
    monkeypatch.setattr(cuda_pkg, "check_available", lambda: None)
    for mod in (driver, memory):
        monkeypatch.setattr(mod, "cuda", lambda: cpu)
    monkeypatch.setattr(driver, "compile_module", cpu.compile_module)
    monkeypatch.setattr(driver, "kernel", cpu.kernel)
    monkeypatch.setattr(driver, "multiprocessor_count", lambda: 1)
    monkeypatch.setattr(driver, "synchronize", lambda: None)
    monkeypatch.setattr(driver, "stream", lambda: cpu.stream)
    monkeypatch.setattr(graphs, "_lib", {"ffi": _FakeFFI, "lib": cpu.graph_driver})
    monkeypatch.setattr(cublas, "_lib", {"ffi": _FakeFFI, "lib": cpu.cublas, "handle": 0,
                                         "path": "emulated", "consts": {}})
    pool = memory.DevicePool()
    pool.free_lists = _PoisoningLists()
    monkeypatch.setattr(memory, "_pool", pool)
    monkeypatch.setattr(memory, "_SIZE_CLASS", sizes)
    monkeypatch.setattr(memory, "_size_class", int)          # exact: overruns hit the guards
    monkeypatch.setattr(lowering, "_compiled", compiled)
    monkeypatch.setattr(elemwise, "_COPIES", copies)
    monkeypatch.setattr(elemwise, "_FILLS", fills)
    old = symgraph.config.device
    symgraph.config.device = "cuda"
    return cpu, old


@pytest.fixture
def cpu_cuda(monkeypatch):
    """``device=cuda`` with :class:`CpuCuda` in place of pycuda, cuBLAS and the graph API."""
    cpu, old = install(monkeypatch)
    try:
        yield cpu
    finally:
        symgraph.config.device = old

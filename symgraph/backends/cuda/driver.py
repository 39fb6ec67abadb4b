"""The CUDA driver through pycuda: context, module compilation (cached), kernel launch.

pycuda is imported lazily, here (and by ``check_available`` in this package's
``__init__``): importing symgraph, or rendering CUDA source, never needs it. :func:`cuda` returns ``pycuda.driver`` once the
device's primary context is current (the context PyTorch and CuPy also use, so
they can share one process with symgraph).

Modules are compiled by pycuda's ``SourceModule`` (nvcc to a cubin for the
device's architecture). pycuda keeps the cubins on disk, keyed by the source
and options, under ``<config.compiledir>/cuda``; a dict in front of it avoids
re-hashing a source compiled earlier in the process. ``config.print_c``
prints each source before it is compiled.

Example::

    from symgraph.backends.cuda import driver
    mod = driver.compile_module('extern "C" __global__ void k(float* x) { x[0] = 1; }')
    k = driver.kernel(mod, "k", "P")
    k.prepared_call((1, 1, 1), (1, 1, 1), some_pointer)     # on driver.stream()
"""
from __future__ import annotations

import hashlib
import os
import threading

from ...config import config
from . import CudaUnavailable
from ..c.build import number_lines

_lock = threading.Lock()
_state = {}
_modules = {}


def _preload_libcuda():
    """Load libcuda with RTLD_GLOBAL first, so a pycuda built against a stub still links."""
    import ctypes
    try:
        ctypes.CDLL("libcuda.so.1", mode=ctypes.RTLD_GLOBAL)
    except OSError:
        pass


def cuda():
    """``pycuda.driver`` with the primary context of device 0 (or $SYMGRAPH_CUDA_DEVICE) pushed."""
    drv = _state.get("drv")
    if drv is not None:
        return drv
    with _lock:
        if "drv" in _state:
            return _state["drv"]
        _preload_libcuda()
        try:
            import pycuda.driver as drv
            drv.init()
        except Exception as exc:
            raise CudaUnavailable(f"device=cuda: cannot initialise pycuda: {exc}") from None
        ordinal = _device_ordinal()
        dev = drv.Device(ordinal)
        ctx = dev.retain_primary_context()
        ctx.push()
        import atexit
        atexit.register(_shutdown, ctx)
        _state["device"] = dev
        _state["context"] = ctx
        _state["arch"] = "sm_%d%d" % dev.compute_capability()
        _state["stream"] = drv.Stream()       # every symgraph launch goes here (capturable)
        _state["drv"] = drv
        return drv


def _device_ordinal():
    dev = str(config.device)
    suffix = dev[4:] if dev.startswith("cuda") else ""
    if suffix.isdigit():
        return int(suffix)
    return int(os.environ.get("SYMGRAPH_CUDA_DEVICE", "0"))


_SHUTDOWN_HOOKS = []     # run before the context goes at exit (memory.py releases its pool)


def on_shutdown(fn):
    _SHUTDOWN_HOOKS.append(fn)


def _shutdown(ctx):
    for fn in _SHUTDOWN_HOOKS:
        fn()
    try:
        ctx.synchronize()
        ctx.pop()
    except Exception:  # the process is exiting; the driver may already be gone
        pass


def device_info():
    """Name, compute capability, multiprocessor count and memory of the device in use."""
    drv = cuda()
    dev = _state["device"]
    attrs = dev.get_attributes()
    return {
        "name": dev.name(),
        "compute_capability": dev.compute_capability(),
        "multiprocessors": attrs[drv.device_attribute.MULTIPROCESSOR_COUNT],
        "total_memory": dev.total_memory(),
    }


def multiprocessor_count():
    n = _state.get("sm_count")
    if n is None:
        n = _state["sm_count"] = device_info()["multiprocessors"]
    return n


def synchronize():
    cuda()
    _state["context"].synchronize()


def stream():
    """The (blocking) stream all symgraph kernels, copies and cuBLAS calls run on.

    Being a blocking stream, it is ordered with the legacy default stream, which the
    synchronous host<->device copies use."""
    cuda()
    return _state["stream"]


NVCC_OPTIONS = ["-O3", "-lineinfo", "-w"]   # no fast-math: MRG and libm results must match the CPU


def compile_module(source):
    """A pycuda module from CUDA source (names inside must be ``extern "C"``); cached."""
    cuda()
    key = hashlib.sha256(source.encode()).hexdigest()
    mod = _modules.get(key)
    if mod is not None:
        return mod
    if config.print_c:
        print(f"// symgraph CUDA module {key[:12]}\n{source}")
    from pycuda.compiler import SourceModule
    cache_dir = os.path.join(config.compiledir, "cuda")
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    try:
        mod = SourceModule(source, no_extern_c=True, arch=_state["arch"],
                           options=list(NVCC_OPTIONS), cache_dir=cache_dir)
    except Exception as exc:
        raise RuntimeError(f"nvcc failed on a generated CUDA module: {exc}\n"
                           f"{number_lines(source)}") from None
    _modules[key] = mod
    return mod


class StreamKernel:
    """A prepared kernel launched on the symgraph stream: ``k.prepared_call(grid, block, *args)``."""

    __slots__ = ("fn", "name")

    def __init__(self, fn, name):
        self.fn, self.name = fn, name

    def prepared_call(self, grid, block, *args, shared_size=0):
        self.fn.prepared_async_call(grid, block, _state["stream"], *args, shared_size=shared_size)


def kernel(module, name, arg_format):
    """The prepared function ``name`` of ``module`` (``arg_format``: pycuda/struct letters)."""
    fn = module.get_function(name)
    fn.prepare(arg_format)
    return StreamKernel(fn, name)


#: the most blocks a grid-stride launch uses: a few waves of blocks per multiprocessor
BLOCKS_PER_SM = 16


def launch_dims(n, threads=256, max_blocks=None):
    """(grid, block) for a grid-stride loop over ``n`` items (any count, > 2**31 included).

    The grid is capped (``max_blocks``, default :data:`BLOCKS_PER_SM` blocks per
    multiprocessor), so a large ``n`` takes several passes of the loop; kernels count
    ``n`` and the loop index in 64 bits. The grid's thread count, which kernels compute in
    32-bit ``blockDim.x * gridDim.x``, stays below 2**31."""
    n = int(n)
    if n < 0:
        raise ValueError(f"launch_dims: negative item count {n}")
    if max_blocks is None:
        max_blocks = multiprocessor_count() * BLOCKS_PER_SM
    max_blocks = min(int(max_blocks), (2 ** 31 - 1) // threads)
    blocks = max(1, min((n + threads - 1) // threads, max_blocks))
    return (blocks, 1, 1), (threads, 1, 1)


def launch(kernel, n, *args, threads=256):
    """Run the grid-stride ``kernel`` (a prepared kernel) over ``n`` items with ``args``;
    nothing when ``n`` is 0."""
    if n:
        grid, block = launch_dims(n, threads)
        kernel.prepared_call(grid, block, *args)

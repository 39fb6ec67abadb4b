"""CUDA graphs (stream capture) through cffi on the driver library: record the kernels of
one call of a compiled function once, then replay them with a single launch.

pycuda has no graph API; these are the few driver calls needed::

    g = capture(lambda: run_the_kernels())      # nothing runs while capturing
    g.launch()                                  # runs them all, on driver.stream()

Capture uses the relaxed mode, so allocations made while capturing (from the
memory pool) are allowed; they must stay reserved for the graph, which the
caller arranges (``DevicePool.capture``).
"""
from __future__ import annotations

import threading
from . import driver

_CDEF = """
int cuStreamBeginCapture_v2(size_t stream, int mode);
int cuStreamEndCapture(size_t stream, void** graph);
int cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long flags);
int cuGraphLaunch(void* exec, size_t stream);
int cuGraphExecDestroy(void* exec);
int cuGraphDestroy(void* graph);
"""
CAPTURE_MODE_RELAXED = 2

_lock = threading.Lock()
_lib = {}


class GraphError(RuntimeError):
    """A driver call of the graph API failed (the function then runs without graphs)."""


def _driver():
    if "lib" not in _lib:
        with _lock:
            if "lib" not in _lib:
                import cffi
                ffi = cffi.FFI()
                ffi.cdef(_CDEF)
                _lib["ffi"], _lib["lib"] = ffi, ffi.dlopen("libcuda.so.1")
    return _lib["ffi"], _lib["lib"]


def _check(status, what):
    if status != 0:
        raise GraphError(f"{what} failed with CUDA driver error {status}")


class Graph:
    """An instantiated graph (``launch()`` replays it on the symgraph stream)."""

    def __init__(self, exec_handle, graph_handle, stream_handle):
        self._exec, self._graph, self._stream = exec_handle, graph_handle, stream_handle

    def launch(self):
        st = _lib["lib"].cuGraphLaunch(self._exec, self._stream)
        if st:
            _check(st, "cuGraphLaunch")

    def __del__(self):
        lib = _lib.get("lib")
        if lib is not None and self._exec is not None:
            try:
                lib.cuGraphExecDestroy(self._exec)
                lib.cuGraphDestroy(self._graph)
            except Exception:  # the driver may be gone at exit
                pass
            self._exec = None


def capture(record):
    """Call ``record()`` while capturing the symgraph stream; return the :class:`Graph`.

    If ``record`` raises or the capture is invalidated, the capture is ended and the
    error re-raised (as :class:`GraphError` for driver failures); nothing ran.
    """
    ffi, lib = _driver()
    handle = driver.stream().handle
    _check(lib.cuStreamBeginCapture_v2(handle, CAPTURE_MODE_RELAXED), "cuStreamBeginCapture")
    graph = ffi.new("void**")
    try:
        record()
    except BaseException:
        lib.cuStreamEndCapture(handle, graph)
        if graph[0] != ffi.NULL:
            lib.cuGraphDestroy(graph[0])
        raise
    _check(lib.cuStreamEndCapture(handle, graph), "cuStreamEndCapture")
    exe = ffi.new("void**")
    st = lib.cuGraphInstantiateWithFlags(exe, graph[0], 0)
    if st:
        lib.cuGraphDestroy(graph[0])
        _check(st, "cuGraphInstantiate")
    return Graph(exe[0], graph[0], handle)

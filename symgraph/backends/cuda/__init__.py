"""CUDA backend through pycuda (imported lazily, only when device=cuda).

The path of a function, in the order data flows:

==============  ===============================================================
``linker``      ``CudaLinker``: placement (host/device) of every value, the node
                program, transfers (``symgraph.compile.mode.CudaMode`` sets its options)
``lowering``    the table Op type -> lowering, kernel registration, one module
                (one nvcc call) per function
``dialect``     ``CudaDialect``, the CUDA spellings of the C renderer
                (``backends/c/render.py``), whose scalar-op table it shares
``lower/``      one module per op family, named as ``symgraph.ops``'s: ``elemwise``
                ``reduce`` ``shape`` ``subtensor`` ``blas`` ``nnet`` ``conv`` ``pool``
                ``random``: kernel sources (pure functions, testable without a GPU)
                and the run-time step of each op family
``driver``      pycuda: context, stream, SourceModule cache, prepared launches
``memory``      ``DeviceArray`` and the caching device memory pool
``cublas``      cuBLAS through cffi
``replay``      CUDA-graph replay of the kernel part of a call (``graphs.py``:
                the driver's graph API through cffi)
``shared``      GPU-resident shared variables (``shared()`` under device=cuda)
==============  ===============================================================
"""


import sys

from ...config import register_device_check


class CudaUnavailable(RuntimeError):
    """device=cuda was asked for but no usable GPU/pycuda is present."""


def check_available():
    """Raise :class:`CudaUnavailable` with the reason when CUDA cannot be used."""
    try:
        import pycuda.driver as drv  # noqa: F401
    except Exception as exc:  # ImportError, or a driver load failure
        raise CudaUnavailable(
            f"device=cuda needs pycuda and an NVIDIA driver: {type(exc).__name__}: {exc}. "
            "Install the 'cuda' extra on a machine with a GPU, or use device=cpu.") from None
    try:
        drv.init()
        if drv.Device.count() < 1:
            raise RuntimeError("no CUDA device found")
    except Exception as exc:
        raise CudaUnavailable(f"device=cuda: the CUDA driver reports: {exc}") from None


# Looked up at each call, so tests (the CPU emulator) can replace check_available.
register_device_check("cuda", lambda: sys.modules[__name__].check_available())

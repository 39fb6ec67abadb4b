"""CUDA backend through pycuda (imported lazily, only when device=cuda)."""


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

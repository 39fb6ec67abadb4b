"""GPU-resident shared variables (``shared()`` under ``device=cuda`` for float32 values).

>>> symgraph.config.device = 'cuda'
>>> W = symgraph.shared(np.zeros((784, 500), dtype='float32'), name='W')
>>> type(W._box[0])          # DeviceArray: the value stays on the GPU between calls
>>> W.get_value()            # a host copy

The value sits in ``_box``, the one-element list every compiled function reads
and writes (the container protocol of ``SharedVariable``). Here it is a
:class:`DeviceBox`, which uploads anything that is not already a
``DeviceArray``, so a function's updates (device arrays from the CUDA linker)
are stored as they are and a host array put there is moved to the GPU.
"""
from __future__ import annotations

import numpy as np

from ...ops.sharedvar import TensorSharedVariable, register_shared_constructor
from .memory import DeviceArray


class DeviceBox(list):
    """A one-element list holding a :class:`DeviceArray`."""

    def __setitem__(self, index, value):
        if not isinstance(value, DeviceArray):
            value = DeviceArray.from_host(np.asarray(value))
        elif not value.is_c_contiguous:
            value = value.copy()
        super().__setitem__(index, value)


class CudaSharedVariable(TensorSharedVariable):
    """A shared tensor whose value lives in device memory."""

    def get_value(self, borrow=False, return_internal_type=False):
        """A host copy of the value (the ``DeviceArray`` itself with ``return_internal_type``)."""
        v = self._box[0]
        if return_internal_type:
            return v if borrow else v.copy()
        return v.get()

    def set_value(self, value, borrow=False, _allow_downcast=None):
        """Replace the value: a numpy array (checked against the type) or a DeviceArray."""
        if isinstance(value, DeviceArray):
            if value.dtype != self.type.numpy_dtype or value.ndim != self.type.ndim:
                raise TypeError(f"{self.name or 'shared'}: a {value.dtype} {value.ndim}-d "
                                f"DeviceArray does not fit {self.type}")
            dev = value if borrow else value.copy()
        else:
            host = self.type.filter(value, strict=self._strict, allow_downcast=_allow_downcast,
                                    name=self.name or "shared")
            dev = DeviceArray.from_host(host)
        if not hasattr(self, "_box"):
            self._box = DeviceBox([dev])
        else:
            self._box[0] = dev

    def __getstate__(self):
        state = super().__getstate__()
        state["_box"] = [self.get_value()]      # pickles hold host values
        return state

    def __setstate__(self, state):
        host = state.pop("_box")[0]
        super().__setstate__(state)
        self._box = DeviceBox([DeviceArray.from_host(host)])


def cuda_shared(ttype, arr, name=None, strict=False, borrow=False):
    """The ``shared()`` hook for ``device=cuda``: a :class:`CudaSharedVariable` holding ``arr``."""
    return CudaSharedVariable(ttype, arr, strict=strict, name=name, borrow=borrow)


register_shared_constructor("cuda", cuda_shared)

"""Tensor shared variables and ``shared()``, the constructor users call.

>>> W = shared(np.zeros((3, 4), dtype='float32'), name='W')

Where a value lives is decided by the device: a backend that keeps shared values in its own
memory (CUDA) registers a constructor for its device with :func:`register_shared_constructor`;
everything else becomes a :class:`TensorSharedVariable` holding a host ndarray.
"""
from __future__ import annotations

from typing import Any, overload

import numpy as np

from ..config import config
from ..graph import GenericSharedVariable, GenericType, SharedVariable
from .type import TensorType
from .variable import _TensorOps


class TensorSharedVariable(_TensorOps, SharedVariable):
    """A shared n-d array."""


_DEVICE_CONSTRUCTORS = {}     # device prefix ("cuda") -> constructor(ttype, array, name, strict, borrow)


def register_shared_constructor(device_prefix, constructor, replace=False):
    """Let ``shared()`` build the variables of float32 values under ``device=<prefix>...``."""
    if device_prefix in _DEVICE_CONSTRUCTORS and not replace:
        raise KeyError(f"a shared constructor for device {device_prefix!r} is already registered")
    _DEVICE_CONSTRUCTORS[device_prefix] = constructor


def _device_constructor(device):
    for prefix, constructor in _DEVICE_CONSTRUCTORS.items():
        if device.startswith(prefix):
            return constructor
    return None


@overload
def shared(value: np.random.RandomState | np.random.Generator, name: str | None = None,
           strict: bool = False, allow_downcast: bool | None = None, borrow: bool = False,
           broadcastable: tuple[bool, ...] | None = None, **kwargs: Any) -> GenericSharedVariable: ...
@overload
def shared(value: np.ndarray | np.generic | float | list | tuple, name: str | None = None,
           strict: bool = False, allow_downcast: bool | None = None, borrow: bool = False,
           broadcastable: tuple[bool, ...] | None = None, **kwargs: Any) -> TensorSharedVariable: ...
def shared(value: Any, name: str | None = None, strict: bool = False, allow_downcast: bool | None = None,
           borrow: bool = False, broadcastable: tuple[bool, ...] | None = None,
           **kwargs: Any) -> TensorSharedVariable | GenericSharedVariable:
    """A shared variable initialised with ``value``.

    >>> state = shared(0); W = shared(np.zeros((3, 4), dtype='float32'), name='W')

    The dtype and ndim come from the value; ``broadcastable`` defaults to all
    False (as in Theano), so the variable keeps its type when its value changes
    shape. With ``device=cuda`` float32 arrays live on the GPU.
    """
    if isinstance(value, (np.random.RandomState, np.random.Generator)):
        return GenericSharedVariable(GenericType(type(value)), value, name=name, borrow=borrow)
    if isinstance(value, (int, float, bool, np.generic)) or isinstance(value, np.ndarray) \
            or isinstance(value, (list, tuple)):
        if isinstance(value, bool):
            arr = np.asarray(value, dtype="bool")
        elif isinstance(value, int) and not isinstance(value, np.generic):
            arr = np.asarray(value, dtype="int64")
        elif isinstance(value, float):
            arr = np.asarray(value, dtype="float64")
        else:
            arr = np.asarray(value)
        if broadcastable is None:
            broadcastable = (False,) * arr.ndim
        ttype = TensorType(arr.dtype.name, broadcastable)
        on_device = _device_constructor(config.device) if arr.dtype == np.float32 else None
        if on_device is not None:
            return on_device(ttype, arr, name=name, strict=strict, borrow=borrow)
        return TensorSharedVariable(ttype, arr,
                                    strict=strict, allow_downcast=allow_downcast, name=name,
                                    borrow=borrow)
    raise TypeError(f"shared: cannot make a shared variable from {type(value).__name__}")


__all__ = ["TensorSharedVariable", "SharedVariable", "shared", "register_shared_constructor"]

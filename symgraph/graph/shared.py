"""Shared variables: symbolic variables whose value persists across function calls.

The value lives in a *container*, a one-element list that every compiled function
using the variable reads and writes. Tensor shared variables and the ``shared()``
constructor are in :mod:`symgraph.ops.sharedvar`.
"""
from __future__ import annotations

import copy
import threading
from types import SimpleNamespace

import numpy as np

from .basic import Variable


class SharedVariable(Variable):
    """A variable whose value lives in a container shared by every function using it.

    ``default_update`` (optional) is an expression applied after each call of a
    function that uses this variable, unless the function was built with
    ``no_default_updates=True`` or gives an explicit update.
    """

    def __init__(self, type, value, strict=False, allow_downcast=None, name=None, borrow=False):
        super().__init__(type, None, None, name)
        self._value = None
        # taken by every compiled function that updates this variable, around its read of the
        # old value and its write of the new one (clones share it with the storage)
        self._lock = threading.RLock()
        self._strict = strict
        self.set_value(value if borrow else copy.deepcopy(value), borrow=True,
                       _allow_downcast=allow_downcast)

    # The container protocol used by compiled functions: a one-element list.
    @property
    def container(self):
        return self._box

    def get_value(self, borrow=False, return_internal_type=False):
        """The current value (a copy unless ``borrow=True``)."""
        v = self._box[0]
        return v if borrow else copy.deepcopy(v)

    def set_value(self, value, borrow=False, _allow_downcast=None):
        """Replace the value; it must match the variable's type (dtype and ndim)."""
        filtered = self.type.filter(value, strict=self._strict, allow_downcast=_allow_downcast,
                                    name=self.name or "shared")
        if not borrow and filtered is value:    # a converted value is already a new object
            filtered = np.array(value, copy=True) if isinstance(value, np.ndarray) \
                else copy.deepcopy(value)
        value = filtered
        if not hasattr(self, "_box"):
            self._box = [value]
        else:
            self._box[0] = value

    @property
    def update_lock(self):
        """The lock functions hold while they read and replace this variable's value."""
        return self._lock

    @property
    def value(self):
        return self.get_value()

    def clone(self):
        # A clone of a shared variable keeps the same storage (as in Theano).
        cp = super().clone()
        cp._box = self._box
        return cp

    def __getstate__(self):
        state = super().__getstate__()
        state["tag"] = {}
        state.pop("_lock", None)
        return state

    def __setstate__(self, state):
        tag = state.pop("tag", {}) or {}
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self.tag = SimpleNamespace(trace=None, **(tag if isinstance(tag, dict) else {}))


class GenericSharedVariable(SharedVariable):
    """A shared Python object (e.g. a numpy RandomState for RandomStreams)."""


class GenericType:
    """Type of an arbitrary Python object held in a shared variable."""

    def __init__(self, kind=object):
        self.kind = kind

    def filter(self, value, strict=False, allow_downcast=None, name=None):
        if not isinstance(value, self.kind):
            raise TypeError(f"{name or 'value'}: expected {self.kind.__name__}, got "
                            f"{type(value).__name__}")
        return value

    def __eq__(self, other):
        return type(other) is type(self) and other.kind is self.kind

    def __hash__(self):
        return hash((type(self), self.kind))

    def __str__(self):
        return f"Generic({self.kind.__name__})"

    def make_variable(self, name=None):
        return Variable(self, name=name)

    def __call__(self, name=None):
        return self.make_variable(name)

    def values_eq(self, a, b):
        return a is b


__all__ = ["SharedVariable", "GenericSharedVariable", "GenericType"]

"""The lowering registry every backend uses: a table from Op type to that backend's lowering.

>>> C_LOWERINGS = LoweringRegistry("c")
>>> @C_LOWERINGS.register(Softmax, LogSoftmax)
... def lower_softmax(e): ...
>>> C_LOWERINGS.lookup(node.op)     # the lowering of the nearest class in the op's MRO, or None

An Op type is registered once per backend: a second registration raises ``KeyError`` unless
``replace=True`` (a deliberate override, e.g. by a plugin), so two modules can never silently
fight over an op. What a lowering is (a function, or a record with options) is the backend's.
"""
from __future__ import annotations


class LoweringRegistry:
    def __init__(self, backend):
        self.backend = backend
        self._table = {}
        self._cache = {}        # op class -> lowering found along its MRO (or None)

    def add(self, op_type, lowering, replace=False):
        if not isinstance(op_type, type):
            raise TypeError(f"{self.backend} lowerings are keyed by Op type, got {op_type!r}")
        if op_type in self._table and not replace:
            raise KeyError(f"{op_type.__name__} already has a {self.backend} lowering "
                           f"({self._table[op_type]!r}); pass replace=True to override it")
        self._table[op_type] = lowering
        self._cache.clear()

    def register(self, *op_types, replace=False, wrap=None):
        """Decorator registering the function for ``op_types`` (``wrap(fn)`` is stored, if given)."""
        def deco(fn):
            for t in op_types:
                self.add(t, wrap(fn) if wrap is not None else fn, replace=replace)
            return fn
        return deco

    def lookup(self, op):
        cls = type(op)
        try:
            return self._cache[cls]
        except KeyError:
            pass
        found = next((self._table[c] for c in cls.__mro__ if c in self._table), None)
        self._cache[cls] = found
        return found

    def __contains__(self, op_type):
        return op_type in self._table

    def __len__(self):
        return len(self._table)

    def op_types(self):
        return list(self._table)


__all__ = ["LoweringRegistry"]

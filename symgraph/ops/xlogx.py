"""``x * log(x)`` and ``x * log(y)`` with the value 0 where ``x == 0``
(``theano.tensor.xlogx``).

Both are compositions of elementwise ops (fused and lowered to C like any expression). The
logarithm is taken of 1 where ``x == 0``, so neither the value nor the gradient produces a NaN
there: at ``x == 0`` the gradient is 0 (Theano's scalar ops give -inf for xlogx, NaN for
xlogy0's ``x`` input).
"""
from __future__ import annotations

from .elemwise import as_tensor_variable, eq, log, switch


def xlogx(x):
    """``x * log(x)``, 0 where ``x == 0``."""
    x = as_tensor_variable(x)
    zero = eq(x, 0)
    return switch(zero, 0, x * log(switch(zero, 1, x)))


def xlogy0(x, y):
    """``x * log(y)``, 0 where ``x == 0`` (whatever ``y``)."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    zero = eq(x, 0)
    return switch(zero, 0, x * log(switch(zero, 1, y)))


__all__ = ["xlogx", "xlogy0"]

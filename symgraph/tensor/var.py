"""TensorVariable, TensorConstant and their Python operators (``x + y``, ``x[i]``, ``x.T``...)."""
from __future__ import annotations

from ..graph import Constant, Variable


_basic = None


def _T():
    global _basic
    if _basic is None:      # tensor.basic imports this module: bind it on first use
        from . import basic as _b
        _basic = _b
    return _basic


class _TensorOps:
    """Operators and methods shared by tensor variables, constants and shared variables."""

    # -- type info
    @property
    def ndim(self):
        return self.type.ndim

    @property
    def dtype(self):
        return self.type.dtype

    @property
    def broadcastable(self):
        return self.type.broadcastable

    @property
    def shape(self):
        return _T().shape(self)

    @property
    def size(self):
        return _T().prod(self.shape)

    @property
    def T(self):
        return _T().transpose(self)

    def __len__(self):
        raise TypeError("len() of a symbolic tensor is unknown until run time; use x.shape[0]")

    def __bool__(self):
        raise TypeError(f"the truth value of symbolic variable {self} is unknown until run time; "
                        f"use T.switch, T.eq, ... to build a conditional expression")

    def __iter__(self):
        raise TypeError("cannot iterate over a symbolic tensor")

    # -- arithmetic
    def __add__(self, o): return _T().add(self, o)
    def __radd__(self, o): return _T().add(o, self)
    def __sub__(self, o): return _T().sub(self, o)
    def __rsub__(self, o): return _T().sub(o, self)
    def __mul__(self, o): return _T().mul(self, o)
    def __rmul__(self, o): return _T().mul(o, self)
    def __truediv__(self, o): return _T().true_div(self, o)
    def __rtruediv__(self, o): return _T().true_div(o, self)
    def __floordiv__(self, o): return _T().int_div(self, o)
    def __rfloordiv__(self, o): return _T().int_div(o, self)
    def __mod__(self, o): return _T().mod(self, o)
    def __rmod__(self, o): return _T().mod(o, self)
    def __pow__(self, o): return _T().pow(self, o)
    def __rpow__(self, o): return _T().pow(o, self)
    def __neg__(self): return _T().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _T().abs_(self)
    def __invert__(self): return _T().invert(self)
    def __and__(self, o): return _T().and_(self, o)
    def __rand__(self, o): return _T().and_(o, self)
    def __or__(self, o): return _T().or_(self, o)
    def __ror__(self, o): return _T().or_(o, self)
    def __xor__(self, o): return _T().xor(self, o)
    def __rxor__(self, o): return _T().xor(o, self)
    def __matmul__(self, o): return _T().dot(self, o)
    def __rmatmul__(self, o): return _T().dot(o, self)

    # Theano semantics: comparisons build graphs; == and != keep Python identity
    def __lt__(self, o): return _T().lt(self, o)
    def __le__(self, o): return _T().le(self, o)
    def __gt__(self, o): return _T().gt(self, o)
    def __ge__(self, o): return _T().ge(self, o)
    __hash__ = Variable.__hash__

    # -- indexing
    def __getitem__(self, key):
        return _T().getitem(self, key)

    # -- shape methods
    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return _T().dimshuffle(self, pattern)

    def reshape(self, shape, ndim=None):
        return _T().reshape(self, shape, ndim=ndim)

    def flatten(self, outdim=1, ndim=None):
        return _T().flatten(self, outdim if ndim is None else ndim)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = axes[0]
        return _T().transpose(self, axes or None)

    def astype(self, dtype):
        return _T().cast(self, dtype)

    def copy(self, name=None):
        out = _T().tensor_copy(self)
        out.name = name
        return out

    def dot(self, o):
        return _T().dot(self, o)

    # -- reductions
    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _T().sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, keepdims=False):
        return _T().prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False):
        return _T().mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _T().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _T().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _T().argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _T().argmin(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False):
        return _T().var(self, axis=axis, keepdims=keepdims)

    def std(self, axis=None, keepdims=False):
        return _T().std(self, axis=axis, keepdims=keepdims)

    def norm(self, L, axis=None):
        T = _T()
        if L == 1:
            return T.sum(T.abs_(self), axis=axis)
        if L == 2:
            return T.sqrt(T.sum(T.sqr(self), axis=axis))
        return T.pow(T.sum(T.pow(T.abs_(self), L), axis=axis), 1.0 / L)

    # -- elementwise methods
    def exp(self): return _T().exp(self)
    def log(self): return _T().log(self)
    def sqrt(self): return _T().sqrt(self)
    def tanh(self): return _T().tanh(self)
    def clip(self, a, b): return _T().clip(self, a, b)
    def nonzero_values(self):
        raise NotImplementedError("nonzero_values needs dynamic shapes")


class TensorVariable(_TensorOps, Variable):
    """A symbolic n-d array."""


class TensorConstant(_TensorOps, Constant):
    """A constant n-d array; ``T.constant(v)``."""

    def __init__(self, type, data, name=None):
        Constant.__init__(self, type, data, name)

"""TensorVariable, TensorConstant and their Python operators (``x + y``, ``x[i]``, ``x.T``...).

The top of the ops layer: the operators call the constructors of every op family, so this
module imports them all, and it completes :class:`TensorType` (ops/type.py, below every
family) with the classes its ``make_variable``/``make_constant`` build.
"""
from __future__ import annotations

from ..graph import Constant, Variable
from . import blas, elemwise, nnet, reduce, subtensor
from . import shape as shape_ops
from .type import TensorType


_COMPARISONS = ("lt", "le", "gt", "ge", "eq", "neq")


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
        return shape_ops.shape(self)

    @property
    def size(self):
        return reduce.prod(self.shape)

    @property
    def T(self):
        return elemwise.transpose(self)

    def __len__(self):
        raise TypeError("len() of a symbolic tensor is unknown until run time; use x.shape[0]")

    def __bool__(self):
        # Theano's rule: a variable is true (``if W:``, ``x or y`` test that it exists), but
        # the result of a comparison raises, so ``a < b < c`` (Python's ``(a < b) and
        # (b < c)``) and ``if x > 0:`` fail loudly instead of silently taking one branch.
        owner = self.owner
        if owner is not None and isinstance(owner.op, elemwise.Elemwise) \
                and getattr(owner.op.scalar_op, "name", None) in _COMPARISONS:
            raise TypeError(
                f"the truth value of the comparison {self} ({owner.op.scalar_op.name}, built at "
                f"{self.where()}) is unknown until run time: Python's `a < b < c`, `and`, `or`, "
                f"`not` and `if` cannot use a symbolic comparison; use T.and_(a < b, b < c), "
                f"T.switch(cond, x, y) or ifelse")
        return True

    def __iter__(self):
        raise TypeError("cannot iterate over a symbolic tensor")

    # -- arithmetic
    def __add__(self, o): return elemwise.add(self, o)
    def __radd__(self, o): return elemwise.add(o, self)
    def __sub__(self, o): return elemwise.sub(self, o)
    def __rsub__(self, o): return elemwise.sub(o, self)
    def __mul__(self, o): return elemwise.mul(self, o)
    def __rmul__(self, o): return elemwise.mul(o, self)
    def __truediv__(self, o):
        x = nnet.manual_softmax_input(self, o) if isinstance(o, Variable) else None
        sm = nnet.softmax_op(x) if x is not None else None
        return sm if sm is not None and sm.type == self.type else elemwise.true_div(self, o)
    def __rtruediv__(self, o): return elemwise.true_div(o, self)
    def __floordiv__(self, o): return elemwise.int_div(self, o)
    def __rfloordiv__(self, o): return elemwise.int_div(o, self)
    def __mod__(self, o): return elemwise.mod(self, o)
    def __rmod__(self, o): return elemwise.mod(o, self)
    def __pow__(self, o): return elemwise.pow(self, o)
    def __rpow__(self, o): return elemwise.pow(o, self)
    def __neg__(self): return elemwise.neg(self)
    def __pos__(self): return self
    def __abs__(self): return elemwise.abs_(self)
    def __invert__(self): return elemwise.invert(self)
    def __and__(self, o): return elemwise.and_(self, o)
    def __rand__(self, o): return elemwise.and_(o, self)
    def __or__(self, o): return elemwise.or_(self, o)
    def __ror__(self, o): return elemwise.or_(o, self)
    def __xor__(self, o): return elemwise.xor(self, o)
    def __rxor__(self, o): return elemwise.xor(o, self)
    def __matmul__(self, o): return blas.dot(self, o)
    def __rmatmul__(self, o): return blas.dot(o, self)

    # Theano semantics: comparisons build graphs; == and != keep Python identity
    def __lt__(self, o): return elemwise.lt(self, o)
    def __le__(self, o): return elemwise.le(self, o)
    def __gt__(self, o): return elemwise.gt(self, o)
    def __ge__(self, o): return elemwise.ge(self, o)
    __hash__ = Variable.__hash__

    # -- indexing
    def __getitem__(self, key):
        return subtensor.getitem(self, key)

    # -- shape methods
    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = tuple(pattern[0])
        return elemwise.dimshuffle(self, pattern)

    def reshape(self, shape, ndim=None):
        return shape_ops.reshape(self, shape, ndim=ndim)

    def flatten(self, outdim=1, ndim=None):
        return shape_ops.flatten(self, outdim if ndim is None else ndim)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = axes[0]
        return elemwise.transpose(self, axes or None)

    def astype(self, dtype):
        return elemwise.cast(self, dtype)

    def copy(self, name=None):
        out = elemwise.tensor_copy(self)
        out.name = name
        return out

    def dot(self, o):
        return blas.dot(self, o)

    # -- reductions
    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return reduce.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, keepdims=False):
        return reduce.prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False):
        return reduce.mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return reduce.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return reduce.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return reduce.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return reduce.argmin(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False):
        return reduce.var(self, axis=axis, keepdims=keepdims)

    def std(self, axis=None, keepdims=False):
        return reduce.std(self, axis=axis, keepdims=keepdims)

    def norm(self, L, axis=None):
        if L == 1:
            return reduce.sum(elemwise.abs_(self), axis=axis)
        if L == 2:
            return elemwise.sqrt(reduce.sum(elemwise.sqr(self), axis=axis))
        return elemwise.pow(reduce.sum(elemwise.pow(elemwise.abs_(self), L), axis=axis), 1.0 / L)

    # -- elementwise methods
    def exp(self): return elemwise.exp(self)
    def log(self): return elemwise.log(self)
    def sqrt(self): return elemwise.sqrt(self)
    def tanh(self): return elemwise.tanh(self)
    def clip(self, a, b): return elemwise.clip(self, a, b)
    def nonzero_values(self):
        raise NotImplementedError("nonzero_values needs dynamic shapes")


class TensorVariable(_TensorOps, Variable):
    """A symbolic n-d array."""


class TensorConstant(_TensorOps, Constant):
    """A constant n-d array; ``T.constant(v)``."""

    def __init__(self, type, data, name=None):
        Constant.__init__(self, type, data, name)


TensorType.variable_type = TensorVariable
TensorType.constant_type = TensorConstant
TensorType._pattern_cast = staticmethod(elemwise.patternbroadcast)

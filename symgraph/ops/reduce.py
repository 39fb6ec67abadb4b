"""Reductions over axes: sum, prod, max, min (CAReduce) and argmax/argmin."""
from __future__ import annotations

import numpy as np

import builtins

from ..graph import Apply, Op
from .elemwise import (and_, as_tensor, as_tensor_variable, cast, dimshuffle, eq, fill, gt, neq,
                       sqr, sqrt, switch, true_div)
from .shape import _count
from .type import TensorType, normalize_dtype, FLOAT_DTYPES


def normalize_axis(axis, ndim, what="reduction"):
    """Return a sorted tuple of non-negative axes (None means all)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < builtins.max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(f"{what}: axis {a} is out of range for a {ndim}-d tensor")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{what}: repeated axis in {axis}")
    return tuple(sorted(out)) if ndim else ()


_SUM_DTYPE = {"bool": "int64", "int8": "int64", "int16": "int64", "int32": "int64",
              "uint8": "uint64", "uint16": "uint64", "uint32": "uint64", "float16": "float32"}


class CAReduce(Op):
    """Reduce with a commutative-associative operation ('add', 'mul', 'max', 'min').

    ``keepdims`` is expressed by a DimShuffle after the reduction, as in Theano,
    so rewrites see one reduction form.
    """

    __props__ = ("op", "axis", "dtype")
    _np = {"add": np.sum, "mul": np.prod, "max": np.max, "min": np.min}

    def __init__(self, op, axis, dtype=None):
        if op not in self._np:
            raise ValueError(op)
        self.op = op
        self.axis = tuple(axis)
        self.dtype = dtype

    def __str__(self):
        name = {"add": "Sum", "mul": "Prod", "max": "Max", "min": "Min"}[self.op]
        return f"{name}{{axis={list(self.axis)}}}"

    def out_dtype(self, in_dtype):
        if self.dtype is not None:
            return self.dtype
        if self.op in ("add", "mul"):
            return _SUM_DTYPE.get(in_dtype, in_dtype)
        return in_dtype

    def make_node(self, x):
        x = as_tensor(x)
        for a in self.axis:
            if a >= x.ndim:
                raise ValueError(f"{self}: axis {a} out of range for {x.type}")
        bcast = tuple(b for d, b in enumerate(x.broadcastable) if d not in self.axis)
        return Apply(self, [x], [TensorType(self.out_dtype(x.dtype), bcast)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        dtype = node.outputs[0].dtype
        if self.op in ("max", "min"):
            if builtins.any(x.shape[a] == 0 for a in self.axis):
                raise ValueError(f"{self}: cannot reduce an empty dimension (input shape {x.shape})")
            res = self._np[self.op](x, axis=self.axis)
        else:
            res = self._np[self.op](x, axis=self.axis, dtype=dtype)
        output_storage[0][0] = np.asarray(res, dtype=dtype)

    def L_op(self, inputs, outputs, output_grads):
        (x,), (out,), (gz,) = inputs, outputs, output_grads
        if not x.type.is_float:
            return [None]
        pattern = []
        k = 0
        for d in range(x.ndim):
            if d in self.axis:
                pattern.append("x")
            else:
                pattern.append(k)
                k += 1
        gz_b = gz.dimshuffle(pattern)
        if self.op == "add":
            g = fill(x, gz_b)
        elif self.op == "mul":
            # d prod / d x_i = prod of the others: out / x_i when the group has no zero; the
            # product of the non-zero entries at the single zero of a group; 0 otherwise.
            is_zero = eq(x, 0)
            n_zeros = CAReduce("add", self.axis)(is_zero).dimshuffle(pattern)
            prod_nonzero = CAReduce("mul", self.axis)(switch(is_zero, 1, x)).dimshuffle(pattern)
            at_single_zero = switch(and_(is_zero, eq(n_zeros, 1)), prod_nonzero, 0)
            g = gz_b * switch(eq(n_zeros, 0), out.dimshuffle(pattern) / x, at_single_zero)
        else:
            mask = eq(x, out.dimshuffle(pattern))
            g = cast(mask, gz.dtype) * gz_b
        return [cast(g, x.dtype) if g.dtype != x.dtype else g]

    def infer_shape(self, node, shapes):
        return [tuple(s for d, s in enumerate(shapes[0]) if d not in self.axis)]


class Argmax(Op):
    """Index of the max (or min with ``op='min'``) along one axis, or over all (flattened)."""

    __props__ = ("axis", "op")

    def __init__(self, axis, op="max"):
        self.axis = axis
        self.op = op

    def __str__(self):
        return f"Arg{self.op}{{axis={self.axis}}}"

    def make_node(self, x):
        x = as_tensor(x)
        if self.axis is None:
            bcast = ()
        else:
            bcast = tuple(b for d, b in enumerate(x.broadcastable) if d != self.axis)
        return Apply(self, [x], [TensorType("int64", bcast)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        if (x.size == 0 if self.axis is None else x.shape[self.axis] == 0):
            raise ValueError(f"{self}: attempt to take arg{self.op} of an empty dimension "
                             f"(input shape {x.shape})")
        fn = np.argmax if self.op == "max" else np.argmin
        output_storage[0][0] = np.asarray(fn(x, axis=self.axis), dtype="int64")

    def grad(self, inputs, output_grads):
        return [None]

    def infer_shape(self, node, shapes):
        if self.axis is None:
            return [()]
        return [tuple(s for d, s in enumerate(shapes[0]) if d != self.axis)]


# ---------------------------------------------------------------- constructors

def _keep(out, axes, ndim):
    pattern, k = [], 0
    for d in range(ndim):
        if d in axes:
            pattern.append("x")
        else:
            pattern.append(k)
            k += 1
    return dimshuffle(out, pattern)


def _reduce(op, x, axis, keepdims, dtype=None):
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, op)
    if not axes:
        out = x if dtype is None else cast(x, dtype)
    else:
        out = CAReduce(op, axes, normalize_dtype(dtype) if dtype else None)(x)
    return _keep(out, axes, x.ndim) if keepdims and axes else out


def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):  # noqa: A001
    """Sum over ``axis`` (int, tuple or None for all)."""
    return _reduce("add", x, axis, keepdims, dtype)


def prod(x, axis=None, dtype=None, keepdims=False):
    return _reduce("mul", x, axis, keepdims, dtype)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("min", x, axis, keepdims)


def mean(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """Arithmetic mean; integer inputs give float64 (floatX float32 inputs stay float32)."""
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, "mean")
    out_dtype = normalize_dtype(dtype) if dtype else (x.dtype if x.dtype in FLOAT_DTYPES else "float64")
    s = sum(x, axis=axes, dtype=out_dtype if x.dtype not in FLOAT_DTYPES else None)
    if axes:
        s = true_div(s, cast(_count(x, axes), s.dtype))
    s = cast(s, out_dtype)
    return _keep(s, axes, x.ndim) if keepdims and axes else s


def var(x, axis=None, ddof=0, keepdims=False, corrected=False):
    """Variance (population by default)."""
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, "var")
    m = mean(x, axis=axes, keepdims=True)
    v = mean(sqr(x - m), axis=axes, keepdims=keepdims)
    if ddof or corrected:
        ddof = ddof or 1
        n = cast(_count(x, axes), v.dtype)
        v = v * n / (n - ddof)
    return v


def std(x, axis=None, ddof=0, keepdims=False, corrected=False):
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected))


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along ``axis`` (None: over the flattened tensor)."""
    return _arg(x, axis, keepdims, "max")


def argmin(x, axis=None, keepdims=False):
    return _arg(x, axis, keepdims, "min")


def _arg(x, axis, keepdims, op):
    x = as_tensor_variable(x)
    if axis is not None:
        axes = normalize_axis(axis, x.ndim, f"arg{op}")
        if len(axes) != 1:
            if len(axes) == x.ndim:
                axis = None
            else:
                raise NotImplementedError(f"arg{op} over several (not all) axes")
        else:
            axis = axes[0]
    out = Argmax(axis, op)(x)
    if keepdims:
        out = _keep(out, tuple(range(x.ndim)) if axis is None else (axis,), x.ndim)
    return out


def max_and_argmax(x, axis=None, keepdims=False):
    return max(x, axis, keepdims), argmax(x, axis, keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001  (Theano name)
    """True where some element along ``axis`` is non-zero (a bool tensor)."""
    x = as_tensor_variable(x)
    return gt(_count_true(_nonzero(x), axis, keepdims), 0)


def all(x, axis=None, keepdims=False):  # noqa: A001  (Theano name)
    """True where every element along ``axis`` is non-zero (a bool tensor)."""
    x = as_tensor_variable(x)
    return eq(_count_true(eq(x, 0), axis, keepdims), 0)


def _nonzero(x):
    return x if x.dtype == "bool" else neq(x, 0)


def _count_true(b, axis, keepdims):
    return sum(cast(b, "int64"), axis=axis, keepdims=keepdims)

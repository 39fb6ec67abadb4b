"""NumPy-like array functions (``theano.tensor.extra_ops``): cumulative sums and products,
``diff``, ``repeat``, ``bincount``, ``to_one_hot``, ``fill_diagonal(_offset)``,
``unravel_index``/``ravel_multi_index``, ``searchsorted``; ``squeeze`` is re-exported from
elemwise.

``diff`` and ``to_one_hot`` are compositions of existing ops (so they are fused and lowered
by the backends); the others are Ops whose ``perform`` is NumPy.
"""
from __future__ import annotations

import numpy as np

from ..config import config
from ..graph import Apply, Op
from .elemwise import as_tensor, as_tensor_variable, cast, eq, squeeze  # noqa: F401
from .shape import arange, axis_result_shape, reshape, shape_vector
from .type import TensorType, INT_DTYPES, normalize_dtype


def _axis(axis, ndim, what):
    if axis is None:
        return None
    axis = int(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{what}: axis {axis} is out of range for a {ndim}-d tensor")
    return axis % ndim if ndim else 0


def _rev(g, axis):
    idx = [slice(None)] * g.ndim
    idx[axis] = slice(None, None, -1)
    return g[tuple(idx)]


# ---------------------------------------------------------------- cumsum / cumprod

class CumOp(Op):
    """Cumulative sum (``mode='add'``) or product (``'mul'``) along ``axis``; ``axis=None``
    works on the flattened input."""

    __props__ = ("axis", "mode")

    def __init__(self, axis=None, mode="add"):
        if mode not in ("add", "mul"):
            raise ValueError(f"CumOp: mode must be 'add' or 'mul', got {mode!r}")
        self.axis, self.mode = axis, mode

    def __str__(self):
        return f"Cum{'sum' if self.mode == 'add' else 'prod'}{{axis={self.axis}}}"

    def make_node(self, x):
        x = as_tensor(x)
        if self.axis is None:
            out = TensorType(x.dtype, (False,))()
        else:
            if not 0 <= self.axis < x.ndim:
                raise ValueError(f"{self}: axis out of range for {x.type}")
            out = x.type()
        return Apply(self, [x], [out])

    def perform(self, node, inputs, output_storage):
        fn = np.cumsum if self.mode == "add" else np.cumprod
        output_storage[0][0] = np.asarray(fn(inputs[0], axis=self.axis),
                                          dtype=node.outputs[0].dtype)

    def L_op(self, inputs, outputs, output_grads):
        (x,), (fx,), (gz,) = inputs, outputs, output_grads
        if not x.type.is_float:
            return [None]
        axis = 0 if self.axis is None else self.axis
        if self.mode == "add":
            g = _rev(CumOp(axis, "add")(_rev(gz, axis)), axis)
        else:
            # d fx_j / d x_i = fx_j / x_i for j >= i (as Theano: undefined at x_i == 0)
            g = _rev(CumOp(axis, "add")(_rev(fx * gz, axis)), axis)
            if self.axis is None:
                return [reshape(g, x.shape, ndim=x.ndim) / x]
            return [g / x]
        if self.axis is None:
            g = reshape(g, x.shape, ndim=x.ndim)
        return [g]

    def infer_shape(self, node, shapes):
        return [axis_result_shape(shapes[0], self.axis)]


def cumsum(x, axis=None):
    """Cumulative sum along ``axis`` (None: over the flattened tensor)."""
    x = as_tensor_variable(x)
    return CumOp(_axis(axis, x.ndim, "cumsum"), "add")(x)


def cumprod(x, axis=None):
    """Cumulative product along ``axis`` (None: over the flattened tensor)."""
    x = as_tensor_variable(x)
    return CumOp(_axis(axis, x.ndim, "cumprod"), "mul")(x)


# ---------------------------------------------------------------- diff

def diff(x, n=1, axis=-1):
    """``n``-th discrete difference along ``axis`` (``numpy.diff``), by slicing."""
    x = as_tensor_variable(x)
    axis = _axis(axis, x.ndim, "diff")
    for _ in range(int(n)):
        hi = [slice(None)] * x.ndim
        lo = [slice(None)] * x.ndim
        hi[axis], lo[axis] = slice(1, None), slice(None, -1)
        x = x[tuple(hi)] - x[tuple(lo)]
    return x


# ---------------------------------------------------------------- repeat

def _int_input(v, what, ndims=(0, 1)):
    v = as_tensor_variable(v)
    if v.dtype not in INT_DTYPES or v.ndim not in ndims:
        raise TypeError(f"{what}: expected an integer {' or '.join(map(str, ndims))}-d tensor, "
                        f"got {v.type}")
    return cast(v, "int64") if v.dtype != "int64" else v


class Repeat(Op):
    """``numpy.repeat(x, repeats, axis)``; ``repeats`` an integer scalar or vector."""

    __props__ = ("axis",)

    def __init__(self, axis=None):
        self.axis = axis

    def make_node(self, x, repeats):
        x = as_tensor(x)
        repeats = _int_input(repeats, "repeat")
        if self.axis is None:
            bcast = (False,)
        else:
            bcast = list(x.broadcastable)
            bcast[self.axis] = False
            bcast = tuple(bcast)
        return Apply(self, [x, repeats], [TensorType(x.dtype, bcast)()])

    def perform(self, node, inputs, output_storage):
        x, repeats = inputs
        if np.any(repeats < 0):
            raise ValueError(f"{self}: repeats must be non-negative, got {repeats}")
        try:
            out = np.repeat(x, repeats, axis=self.axis)
        except ValueError as exc:
            raise ValueError(f"{self}: {exc} (input shape {x.shape}, repeats shape "
                             f"{repeats.shape})") from None
        output_storage[0][0] = out

    def grad(self, inputs, output_grads):
        x, repeats = inputs
        if not x.type.is_float:
            return [None, None]
        return [RepeatGrad(self.axis)(x, repeats, output_grads[0]), None]

    def infer_shape(self, node, shapes):
        x, repeats = node.inputs
        if self.axis is None:
            n = 1
            for s in shapes[0]:
                n = n * s
            return [(n * repeats if repeats.ndim == 0 else repeats.sum(),)]
        out = list(shapes[0])
        out[self.axis] = out[self.axis] * repeats if repeats.ndim == 0 else repeats.sum()
        return [tuple(out)]


class RepeatGrad(Op):
    """Sum the gradient of each repeated copy back onto its source element."""

    __props__ = ("axis",)

    def __init__(self, axis=None):
        self.axis = axis

    def make_node(self, x, repeats, gz):
        x, repeats, gz = as_tensor(x), as_tensor(repeats), as_tensor(gz)
        return Apply(self, [x, repeats, gz], [TensorType(gz.dtype, x.broadcastable)()])

    def perform(self, node, inputs, output_storage):
        x, repeats, gz = inputs
        axis = 0 if self.axis is None else self.axis
        src = x.reshape(-1) if self.axis is None else x
        n = src.shape[axis]
        owner = np.repeat(np.arange(n), np.broadcast_to(repeats, (n,)) if repeats.ndim == 0
                          else repeats)
        out = np.zeros(src.shape, dtype=node.outputs[0].dtype)
        np.add.at(np.moveaxis(out, axis, 0), owner, np.moveaxis(gz, axis, 0))
        output_storage[0][0] = out.reshape(x.shape)

    def infer_shape(self, node, shapes):
        return [shapes[0]]


def repeat(x, repeats, axis=None):
    """Repeat elements of ``x`` (``numpy.repeat``); ``axis=None`` repeats the flattened tensor."""
    x = as_tensor_variable(x)
    return Repeat(_axis(axis, x.ndim, "repeat"))(x, repeats)


# ---------------------------------------------------------------- bincount

class BinCount(Op):
    """``numpy.bincount(x, weights, minlength)`` of a non-negative integer vector; the result
    has ``x``'s dtype (``weights``' dtype when weighted), as in Theano."""

    __props__ = ("minlength", "weighted")

    def __init__(self, minlength=None, weighted=False):
        self.minlength = None if minlength is None else int(minlength)
        self.weighted = bool(weighted)

    def make_node(self, x, *weights):
        x = as_tensor(x)
        if x.ndim != 1 or x.dtype not in INT_DTYPES:
            raise TypeError(f"bincount: x must be an integer vector, got {x.type}")
        ins = [x]
        dtype = x.dtype
        if self.weighted:
            w = as_tensor(weights[0])
            if w.ndim != 1:
                raise TypeError(f"bincount: weights must be a vector, got {w.type}")
            ins.append(w)
            dtype = w.dtype
        return Apply(self, ins, [TensorType(dtype, (False,))()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        w = inputs[1] if self.weighted else None
        if x.size and x.min() < 0:
            raise ValueError(f"bincount: x must be non-negative, got the value {x.min()}")
        if w is not None and w.shape != x.shape:
            raise ValueError(f"bincount: weights shape {w.shape} differs from x shape {x.shape}")
        out = np.bincount(x.astype(np.int64), weights=w, minlength=self.minlength or 0)
        output_storage[0][0] = out.astype(node.outputs[0].dtype)

    def grad(self, inputs, output_grads):
        if not self.weighted:
            return [None]
        x, w = inputs
        return [None, output_grads[0][x] if w.type.is_float else None]


def bincount(x, weights=None, minlength=None, assert_nonneg=False):
    """Count occurrences of each value of a non-negative integer vector (``numpy.bincount``)."""
    x = as_tensor_variable(x)
    if weights is None:
        return BinCount(minlength)(x)
    return BinCount(minlength, True)(x, weights)


# ---------------------------------------------------------------- one hot

def to_one_hot(y, nb_class, dtype=None):
    """A ``(len(y), nb_class)`` matrix with a 1 at ``[i, y[i]]`` (dtype default floatX)."""
    y = as_tensor_variable(y)
    if y.ndim != 1 or y.dtype not in INT_DTYPES:
        raise TypeError(f"to_one_hot: y must be an integer vector, got {y.type}")
    hot = eq(y.dimshuffle(0, "x"), arange(nb_class).dimshuffle("x", 0))
    return cast(hot, normalize_dtype(dtype) if dtype else config.floatX)


# ---------------------------------------------------------------- fill_diagonal

class FillDiagonal(Op):
    """``numpy.fill_diagonal(a, val)`` on a copy: a matrix (main diagonal) or an n-d tensor
    with equal dimensions."""

    def make_node(self, a, val):
        a, val = as_tensor(a), as_tensor(val)
        if a.ndim < 2:
            raise TypeError(f"fill_diagonal: a must be at least 2-d, got {a.type}")
        if val.ndim != 0:
            raise TypeError(f"fill_diagonal: val must be a scalar, got {val.type}")
        if val.dtype != a.dtype:
            val = cast(val, a.dtype)
        return Apply(self, [a, val], [a.type()])

    def perform(self, node, inputs, output_storage):
        a, val = inputs
        if a.ndim > 2 and len(set(a.shape)) != 1:
            raise ValueError(f"fill_diagonal: all dimensions of an n-d tensor must be equal, got "
                             f"shape {a.shape}")
        out = a.copy()
        np.fill_diagonal(out, val)
        output_storage[0][0] = out

    def grad(self, inputs, output_grads):
        a, val = inputs
        (gz,) = output_grads
        ga = self(gz, 0)
        gval = (gz - ga).sum()     # the entries that were on the diagonal
        return [ga if a.type.is_float else None, gval if val.type.is_float else None]

    def infer_shape(self, node, shapes):
        return [shapes[0]]


fill_diagonal_op = FillDiagonal()


def fill_diagonal(a, val):
    """A copy of ``a`` with its main diagonal set to the scalar ``val``."""
    return fill_diagonal_op(a, val)


class FillDiagonalOffset(Op):
    """A copy of matrix ``a`` with diagonal ``offset`` (> 0 above the main one) set to ``val``."""

    def make_node(self, a, val, offset):
        a, val = as_tensor(a), as_tensor(val)
        offset = _int_input(offset, "fill_diagonal_offset", (0,))
        if a.ndim != 2:
            raise TypeError(f"fill_diagonal_offset: a must be a matrix, got {a.type}")
        if val.ndim != 0:
            raise TypeError(f"fill_diagonal_offset: val must be a scalar, got {val.type}")
        if val.dtype != a.dtype:
            val = cast(val, a.dtype)
        return Apply(self, [a, val, offset], [a.type()])

    def perform(self, node, inputs, output_storage):
        a, val, offset = inputs
        offset = int(offset)
        out = a.copy()
        n1, n2 = a.shape
        k = max(0, min(n1, n2 - offset)) if offset >= 0 else max(0, min(n1 + offset, n2))
        i = np.arange(k)
        if offset >= 0:
            out[i, i + offset] = val
        else:
            out[i - offset, i] = val
        output_storage[0][0] = out

    def grad(self, inputs, output_grads):
        a, val, offset = inputs
        (gz,) = output_grads
        ga = self(gz, 0, offset)
        gval = (gz - ga).sum()
        return [ga if a.type.is_float else None, gval if val.type.is_float else None, None]

    def infer_shape(self, node, shapes):
        return [shapes[0]]


fill_diagonal_offset_op = FillDiagonalOffset()


def fill_diagonal_offset(a, val, offset):
    return fill_diagonal_offset_op(a, val, offset)


# ---------------------------------------------------------------- index conversions

class UnravelIndex(Op):
    """``numpy.unravel_index(indices, dims, order)``: one int64 output per dimension."""

    __props__ = ("ndim", "order")

    def __init__(self, ndim, order="C"):
        if order not in ("C", "F"):
            raise ValueError(f"unravel_index: order must be 'C' or 'F', got {order!r}")
        self.ndim, self.order = int(ndim), order

    def make_node(self, indices, dims):
        indices = _int_input(indices, "unravel_index", tuple(range(8)))
        dims = _int_input(dims, "unravel_index dims", (1,))
        outs = [TensorType("int64", indices.broadcastable)() for _ in range(self.ndim)]
        return Apply(self, [indices, dims], outs)

    def perform(self, node, inputs, output_storage):
        indices, dims = inputs
        if len(dims) != self.ndim:
            raise ValueError(f"unravel_index: dims has {len(dims)} entries, expected {self.ndim}")
        res = np.unravel_index(indices, tuple(int(d) for d in dims), order=self.order)
        for i, r in enumerate(res):
            output_storage[i][0] = np.asarray(r, dtype="int64")

    def grad(self, inputs, output_grads):
        return [None, None]

    def infer_shape(self, node, shapes):
        return [shapes[0]] * self.ndim


def unravel_index(indices, dims, order="C"):
    """A tuple of index arrays, one per dimension of ``dims`` (``numpy.unravel_index``)."""
    if isinstance(dims, (list, tuple)):
        nd = len(dims)
    else:
        dims = as_tensor_variable(dims)
        from_const = getattr(dims, "data", None)
        if from_const is None:
            raise TypeError("unravel_index: dims must be a list/tuple or a constant vector")
        nd = len(from_const)
    out = UnravelIndex(nd, order)(indices, shape_vector(dims) if isinstance(dims, (list, tuple))
                                  else dims)
    return tuple(out) if isinstance(out, list) else (out,)


class RavelMultiIndex(Op):
    """``numpy.ravel_multi_index(multi_index, dims, mode, order)``."""

    __props__ = ("mode", "order")

    def __init__(self, mode="raise", order="C"):
        if mode not in ("raise", "wrap", "clip"):
            raise ValueError(f"ravel_multi_index: mode must be 'raise', 'wrap' or 'clip', got "
                             f"{mode!r}")
        self.mode, self.order = mode, order

    def make_node(self, *inputs):
        *idx, dims = inputs
        idx = [_int_input(i, "ravel_multi_index", tuple(range(8))) for i in idx]
        dims = _int_input(dims, "ravel_multi_index dims", (1,))
        return Apply(self, idx + [dims], [TensorType("int64", idx[0].broadcastable)()])

    def perform(self, node, inputs, output_storage):
        *idx, dims = inputs
        out = np.ravel_multi_index(tuple(idx), tuple(int(d) for d in dims), mode=self.mode,
                                   order=self.order)
        output_storage[0][0] = np.asarray(out, dtype="int64")

    def grad(self, inputs, output_grads):
        return [None] * len(inputs)

    def infer_shape(self, node, shapes):
        return [shapes[0]]


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """Flat indices of a tuple of index arrays into an array of shape ``dims``."""
    if not isinstance(multi_index, (list, tuple)):
        raise TypeError("ravel_multi_index: multi_index must be a tuple of index tensors")
    dims = shape_vector(dims) if isinstance(dims, (list, tuple)) else dims
    return RavelMultiIndex(mode, order)(*multi_index, dims)


# ---------------------------------------------------------------- searchsorted

class SearchsortedOp(Op):
    """``numpy.searchsorted(x, v, side, sorter)``: int64 insertion indices."""

    __props__ = ("side",)

    def __init__(self, side="left"):
        if side not in ("left", "right"):
            raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        self.side = side

    def make_node(self, x, v, *sorter):
        x, v = as_tensor(x), as_tensor(v)
        if x.ndim != 1:
            raise TypeError(f"searchsorted: x must be a vector, got {x.type}")
        ins = [x, v] + [_int_input(s, "searchsorted sorter", (1,)) for s in sorter]
        return Apply(self, ins, [TensorType("int64", v.broadcastable)()])

    def perform(self, node, inputs, output_storage):
        x, v = inputs[:2]
        sorter = inputs[2] if len(inputs) > 2 else None
        out = np.searchsorted(x, v, side=self.side, sorter=sorter)
        output_storage[0][0] = np.asarray(out, dtype="int64")

    def grad(self, inputs, output_grads):
        return [None] * len(inputs)

    def infer_shape(self, node, shapes):
        return [shapes[1]]


def searchsorted(x, v, side="left", sorter=None):
    """Indices where ``v`` would be inserted into the sorted vector ``x``."""
    if sorter is None:
        return SearchsortedOp(side)(x, v)
    return SearchsortedOp(side)(x, v, sorter)


__all__ = ["CumOp", "cumsum", "cumprod", "diff", "Repeat", "RepeatGrad", "repeat", "BinCount",
           "bincount", "squeeze", "to_one_hot", "FillDiagonal", "fill_diagonal",
           "FillDiagonalOffset", "fill_diagonal_offset", "UnravelIndex", "unravel_index",
           "RavelMultiIndex", "ravel_multi_index", "SearchsortedOp", "searchsorted"]

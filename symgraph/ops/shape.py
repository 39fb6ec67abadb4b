"""Shape ops: Shape, Shape_i, Reshape, Alloc, MakeVector, Join, Arange, SpecifyShape, with their
constructors (``T.shape``, ``T.reshape``, ``T.flatten``, ``T.alloc``, ``T.zeros``, ``T.arange``,
``T.concatenate``, ``T.stack``...). Rebroadcast, a broadcast-pattern op, lives in elemwise.py.
"""
from __future__ import annotations

import builtins

import numpy as np

from ..config import config
from ..graph import Apply, Constant, Op, Variable
from . import elemwise
from .elemwise import Rebroadcast  # noqa: F401  (a broadcast-pattern op, also named here)
from .elemwise import (as_tensor, as_tensor_variable, cast, ceil_intdiv, constant, eq, index_int64, maximum,
                       patternbroadcast, shape_padaxis, _is_python_number, _weak_dtype)
from .type import TensorType, INT_DTYPES, normalize_dtype, upcast


def _const_value(v):
    """Python int of a constant scalar variable, or None when symbolic."""
    if isinstance(v, Constant) and np.ndim(v.data) == 0:
        return int(v.data)
    if v.owner is not None and isinstance(v.owner.op, Shape_i):
        return None
    return None


def _as_int_scalar(v, what):
    v = as_tensor(v)
    if v.ndim != 0 or v.dtype not in INT_DTYPES:
        raise TypeError(f"{what}: expected an integer scalar, got {v.type}")
    return index_int64(v)


class Shape(Op):
    """The shape of a tensor as an int64 vector."""

    def make_node(self, x):
        x = as_tensor(x)
        return Apply(self, [x], [TensorType("int64", (False,))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape, dtype="int64")

    def grad(self, inputs, output_grads):
        return [None]

    def infer_shape(self, node, shapes):
        return [(node.inputs[0].ndim,)]


_shape = Shape()


class Shape_i(Op):
    """Length of dimension ``i`` as an int64 scalar."""

    __props__ = ("i",)

    def __init__(self, i):
        self.i = int(i)

    def make_node(self, x):
        x = as_tensor(x)
        if not 0 <= self.i < x.ndim:
            raise IndexError(f"{self}: {x.type} has no dimension {self.i}")
        return Apply(self, [x], [TensorType("int64", ())()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(inputs[0].shape[self.i], dtype="int64")

    def grad(self, inputs, output_grads):
        return [None]

    def infer_shape(self, node, shapes):
        return [()]


class MakeVector(Op):
    """Build a vector from scalars: the symbolic ``(batch_size, 1, 28, 28)``."""

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = dtype

    def make_node(self, *scalars):
        scalars = [as_tensor(s) for s in scalars]
        for s in scalars:
            if s.ndim != 0:
                raise TypeError(f"MakeVector: expected scalars, got {s.type}")
        scalars = [cast(s, self.dtype) if s.dtype != self.dtype else s for s in scalars]
        return Apply(self, scalars, [TensorType(self.dtype, (False,))()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.array([np.asarray(i).item() for i in inputs], dtype=self.dtype)

    def grad(self, inputs, output_grads):
        (g,) = output_grads
        return [g[i] if inputs[i].type.is_float else None for i in range(len(inputs))]

    def infer_shape(self, node, shapes):
        return [(len(node.inputs),)]


def shape_vector(dims):
    """A symbolic int64 vector from a sequence of ints / scalar variables (or a vector variable)."""
    if isinstance(dims, Variable):
        if dims.ndim != 1:
            raise TypeError(f"shape must be a vector, got {dims.type}")
        return dims
    dims = list(dims)
    if all(isinstance(d, (int, np.integer)) for d in dims):
        return constant(np.asarray(dims, dtype="int64"))
    return MakeVector("int64")(*[_as_int_scalar(d, "shape") for d in dims])


def static_dims(shape_var, n):
    """Known entries of a shape vector (int) or None for symbolic ones."""
    if isinstance(shape_var, Constant):
        return [int(v) for v in np.asarray(shape_var.data).ravel()]
    if shape_var.owner is not None and isinstance(shape_var.owner.op, MakeVector):
        return [_const_value(v) for v in shape_var.owner.inputs]
    return [None] * n


class Reshape(Op):
    """Reshape to ``ndim`` dimensions given an int64 shape vector (one entry may be -1)."""

    __props__ = ("ndim",)
    view_map = {0: [0]}

    def __init__(self, ndim):
        self.ndim = int(ndim)

    def make_node(self, x, shp):
        x = as_tensor(x)
        shp = as_tensor(shp)
        if shp.ndim != 1 or shp.dtype not in INT_DTYPES:
            raise TypeError(f"Reshape: shape must be an integer vector, got {shp.type}")
        dims = static_dims(shp, self.ndim)
        if len(dims) != self.ndim:
            raise ValueError(f"Reshape: shape has {len(dims)} entries but ndim={self.ndim}")
        bcast = tuple(d == 1 for d in dims)
        return Apply(self, [x, shp], [TensorType(x.dtype, bcast)()])

    def perform(self, node, inputs, output_storage):
        x, shp = inputs
        if len(shp) != self.ndim:
            raise ValueError(f"Reshape: shape {tuple(shp)} has {len(shp)} entries, expected {self.ndim}")
        try:
            output_storage[0][0] = np.reshape(x, tuple(int(s) for s in shp))
        except ValueError:
            raise ValueError(f"Reshape: cannot reshape an array of shape {x.shape} "
                             f"(size {x.size}) into shape {tuple(int(s) for s in shp)}") from None

    def grad(self, inputs, output_grads):
        x, shp = inputs
        return [reshape(output_grads[0], x.shape, ndim=x.ndim), None]

    def infer_shape(self, node, shapes):
        x, shp = node.inputs
        dims = static_dims(shp, self.ndim)
        if -1 in dims:
            total = 1
            for s in shapes[0]:
                total = total * s
            known = 1
            for i, d in enumerate(dims):
                if d != -1:
                    known = known * (d if d is not None else shp[i])
            return [tuple((total // known) if d == -1 else (d if d is not None else shp[i])
                          for i, d in enumerate(dims))]
        return [tuple(d if d is not None else cast(shp[i], "int64") for i, d in enumerate(dims))]


class Alloc(Op):
    """Broadcast a value to a given shape in a new buffer: ``T.alloc(0., n, m)``."""

    def make_node(self, value, *shape):
        value = as_tensor(value)
        shape = [_as_int_scalar(s, "alloc shape") for s in shape]
        if len(shape) < value.ndim:
            raise ValueError(f"Alloc: value of type {value.type} has more dims than shape ({len(shape)})")
        bcast = []
        for s in shape:
            c = _const_value(s)
            bcast.append(c == 1)
        return Apply(self, [value] + shape, [TensorType(value.dtype, tuple(bcast))()])

    def perform(self, node, inputs, output_storage):
        value, shape = inputs[0], tuple(int(s) for s in inputs[1:])
        if any(s < 0 for s in shape):
            raise ValueError(f"Alloc: negative dimension in shape {shape}")
        try:
            out = np.empty(shape, dtype=node.outputs[0].dtype)
            out[...] = value
        except ValueError:
            raise ValueError(f"Alloc: cannot broadcast value of shape {np.shape(value)} "
                             f"to shape {shape}") from None
        output_storage[0][0] = out

    def grad(self, inputs, output_grads):
        value, (gz,) = inputs[0], output_grads
        nd_extra = gz.ndim - value.ndim
        g = gz
        if nd_extra:
            g = g.sum(axis=list(range(nd_extra)))
        axes = [d for d in range(value.ndim) if value.broadcastable[d] and not g.broadcastable[d]]
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if g.broadcastable != value.broadcastable:
            g = patternbroadcast(g, value.broadcastable)
        return [g] + [None] * (len(inputs) - 1)

    def infer_shape(self, node, shapes):
        return [tuple(node.inputs[1:])]


alloc_op = Alloc()


class Join(Op):
    """Concatenate tensors along ``axis``."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def make_node(self, *tensors):
        tensors = [as_tensor(t) for t in tensors]
        if not tensors:
            raise ValueError("concatenate needs at least one tensor")
        nd = tensors[0].ndim
        if any(t.ndim != nd for t in tensors):
            raise TypeError(f"concatenate: all inputs need the same ndim, got "
                            f"{[t.type for t in tensors]}")
        if not 0 <= self.axis < nd:
            raise ValueError(f"concatenate: axis {self.axis} out of range for {nd}-d inputs")
        dtype = upcast(*[t.dtype for t in tensors])
        tensors = [cast(t, dtype) if t.dtype != dtype else t for t in tensors]
        bcast = tuple(False if d == self.axis else all(t.broadcastable[d] for t in tensors)
                      for d in range(nd))
        return Apply(self, tensors, [TensorType(dtype, bcast)()])

    def perform(self, node, inputs, output_storage):
        try:
            output_storage[0][0] = np.concatenate(inputs, axis=self.axis)
        except ValueError:
            raise ValueError(f"{self}: shapes {[i.shape for i in inputs]} cannot be joined "
                             f"along axis {self.axis}") from None

    def grad(self, inputs, output_grads):
        (gz,) = output_grads
        grads, start = [], 0
        for t in inputs:
            stop = start + t.shape[self.axis]
            idx = [slice(None)] * t.ndim
            idx[self.axis] = slice(start, stop)
            g = gz[tuple(idx)]
            grads.append(patternbroadcast(g, t.broadcastable) if t.type.is_float else None)
            start = stop
        return grads

    def infer_shape(self, node, shapes):
        total = shapes[0][self.axis]
        for s in shapes[1:]:
            total = total + s[self.axis]
        out = list(shapes[0])
        out[self.axis] = total
        return [tuple(out)]


class Arange(Op):
    """``T.arange(start, stop, step)`` with a fixed dtype."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype

    def make_node(self, start, stop, step):
        ins = [as_tensor(v) for v in (start, stop, step)]
        for v in ins:
            if v.ndim != 0:
                raise TypeError(f"arange: arguments must be scalars, got {v.type}")
        return Apply(self, ins, [TensorType(self.dtype, (False,))()])

    def perform(self, node, inputs, output_storage):
        start, stop, step = (np.asarray(v).item() for v in inputs)
        if step == 0:
            raise ValueError("arange: step must not be zero")
        output_storage[0][0] = np.arange(start, stop, step, dtype=self.dtype)

    def grad(self, inputs, output_grads):
        return [None, None, None]

    def infer_shape(self, node, shapes):
        start, stop, step = node.inputs
        n = ceil_intdiv(stop - start, step)
        return [(cast(maximum(n, 0), "int64"),)]


class SpecifyShape(Op):
    """Assert at run time that a tensor has the given shape (None entries are free)."""

    __props__ = ("shape", "what")
    view_map = {0: [0]}

    def __init__(self, shape, what="tensor"):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.what = what

    def make_node(self, x):
        x = as_tensor(x)
        if x.ndim != len(self.shape):
            raise ValueError(f"{self.what}: declared shape {self.shape} has {len(self.shape)} "
                             f"dims but the variable is {x.type}")
        bcast = tuple(b or s == 1 for b, s in zip(x.broadcastable, self.shape))
        return Apply(self, [x], [TensorType(x.dtype, bcast)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        if x.ndim != len(self.shape) or any(s is not None and s != a for s, a in zip(self.shape, x.shape)):
            raise ValueError(f"{self.what}: expected shape {self.shape} (None = any), "
                             f"got {x.shape}")
        output_storage[0][0] = x

    def grad(self, inputs, output_grads):
        return [output_grads[0]]

    def infer_shape(self, node, shapes):
        return [tuple(s if s is not None else d for s, d in zip(self.shape, shapes[0]))]


# ---------------------------------------------------------------- constructors

def alloc(value, *shape):
    """A new tensor of the given shape filled with ``value``: ``T.alloc(0., n, 3)``."""
    return alloc_op(value, *shape)


def zeros(shape, dtype=None):
    if not isinstance(shape, (list, tuple)):
        shape = [shape]
    return alloc(constant(0, dtype=normalize_dtype(dtype)), *shape)


def ones(shape, dtype=None):
    if not isinstance(shape, (list, tuple)):
        shape = [shape]
    return alloc(constant(1, dtype=normalize_dtype(dtype)), *shape)


def arange(start, stop=None, step=1, dtype=None):
    """``T.arange(n)`` or ``T.arange(start, stop, step)``."""
    if stop is None:
        start, stop = 0, start
    vals = [start, stop, step]
    if dtype is None:
        strong = [as_tensor_variable(v).dtype for v in vals if not _is_python_number(v)]
        if all(isinstance(v, int) for v in vals if _is_python_number(v)) and \
                all(d in INT_DTYPES for d in strong):
            dtype = "int64"
        else:
            dtype = upcast(*(strong + [config.floatX]))
    ins = [constant(v, dtype=_weak_dtype(v, dtype)) if _is_python_number(v) else v for v in vals]
    return Arange(normalize_dtype(dtype))(*ins)


def eye(n, m=None, k=0, dtype=None):
    """Identity-like matrix with ones on diagonal ``k``."""
    m = n if m is None else m
    rows = arange(n).dimshuffle(0, "x")
    cols = arange(m).dimshuffle("x", 0)
    return cast(eq(rows + k, cols), normalize_dtype(dtype))


def axis_result_shape(shape, axis):
    """Shape (a tuple of dims, for ``infer_shape``) of an op along ``axis`` that keeps its
    input's shape, or flattens it when ``axis`` is None (cumsum, sort, argsort)."""
    if axis is not None:
        return tuple(shape)
    n = 1
    for s in shape:
        n = n * s
    return (n,)


def _count(x, axes):
    n = None
    for a in axes:
        d = x.shape[a]
        n = d if n is None else n * d
    return n


def shape(x):
    """Symbolic int64 shape vector of x."""
    return _shape(as_tensor_variable(x))


def _shape_length(shape):
    if isinstance(shape, Variable):
        if shape.ndim == 0:
            return 1
        if isinstance(shape, Constant):
            return int(np.asarray(shape.data).shape[0])
        if shape.owner is not None:
            if isinstance(shape.owner.op, Shape):
                return shape.owner.inputs[0].ndim
            if isinstance(shape.owner.op, MakeVector):
                return len(shape.owner.inputs)
        return None
    return len(shape)


def reshape(x, newshape, ndim=None):
    """Reshape x; ``newshape`` is a tuple of ints/scalars (one may be -1) or a shape vector."""
    x = as_tensor_variable(x)
    if isinstance(newshape, Variable) and newshape.ndim == 0:
        newshape = [newshape]
    if not isinstance(newshape, Variable) and not isinstance(newshape, (list, tuple)):
        newshape = [newshape]
    if ndim is None:
        ndim = _shape_length(newshape)
        if ndim is None:
            raise ValueError(f"reshape: cannot infer the number of dimensions of shape "
                             f"{newshape}; pass ndim=")
    vec = shape_vector(newshape)
    return Reshape(ndim)(x, vec)


def flatten(x, outdim=1, ndim=None):
    """Keep the first ``outdim - 1`` dimensions and flatten the rest: ``x.flatten(2)``."""
    x = as_tensor_variable(x)
    outdim = ndim if ndim is not None else outdim
    if outdim < 1 or outdim > builtins.max(x.ndim, 1):
        raise ValueError(f"flatten: outdim={outdim} is invalid for {x.type}")
    # the flattened length as a product, not -1: NumPy cannot infer -1 when another dimension is 0
    last = x.shape[outdim - 1] if x.ndim >= outdim else 1
    for d in range(outdim, x.ndim):
        last = last * x.shape[d]
    dims = [x.shape[d] for d in range(outdim - 1)] + [last]
    out = reshape(x, dims, ndim=outdim)
    bc = x.broadcastable[:outdim - 1] + (all(x.broadcastable[outdim - 1:]),)
    return patternbroadcast(out, bc)


def specify_shape(x, shape, what=None):
    x = as_tensor_variable(x)
    return SpecifyShape(tuple(shape), what or str(x))(x)


def concatenate(tensor_list, axis=0):
    """Join tensors along an existing axis."""
    tensors = [as_tensor_variable(t) for t in tensor_list]
    if len(tensors) == 1:
        return tensors[0]
    axis = axis % tensors[0].ndim if tensors[0].ndim else 0
    return Join(axis)(*tensors)


join = lambda axis, *tensors: concatenate(tensors, axis)  # noqa: E731  (Theano argument order)


def stack(*tensors, axis=0):
    """Join tensors along a new axis: ``T.stack([a, b])`` or ``T.stack(a, b)``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    tensors = [as_tensor_variable(t) for t in tensors]
    return concatenate([shape_padaxis(t, axis) for t in tensors], axis=axis)


elemwise.register_sequence_stack(stack)


def tile(x, reps, ndim=None):
    """``numpy.tile``: ``x`` repeated ``reps[d]`` times along each dimension d.

    ``reps`` is an int, a list of ints/integer scalars, or a symbolic integer vector (then
    ``ndim`` is required). The output has ``ndim`` dimensions (default
    ``max(x.ndim, len(reps))``); missing leading dimensions of ``x`` and ``reps`` are 1."""
    x = as_tensor_variable(x)
    if isinstance(reps, Variable) and reps.ndim == 1:
        if ndim is None:
            raise ValueError("tile: ndim must be given when reps is a symbolic vector")
        reps = [reps[i] for i in range(ndim)]
    elif isinstance(reps, Variable) and reps.ndim == 0:
        reps = [reps]
    elif isinstance(reps, (int, np.integer)):
        reps = [int(reps)]
    else:
        reps = list(reps)
    if ndim is None:
        ndim = builtins.max(x.ndim, len(reps))
    if ndim < x.ndim or ndim < len(reps):
        raise ValueError(f"tile: ndim={ndim} is smaller than x.ndim ({x.ndim}) or len(reps) "
                         f"({len(reps)})")
    reps = [1] * (ndim - len(reps)) + reps
    for r in reps:
        if isinstance(r, Variable) and (r.ndim != 0 or r.dtype not in INT_DTYPES):
            raise TypeError(f"tile: reps entries must be integer scalars, got {r.type}")
    if builtins.all(isinstance(r, (int, np.integer)) and r == 1 for r in reps) and ndim == x.ndim:
        return x
    xp = elemwise.shape_padleft(x, ndim - x.ndim) if ndim > x.ndim else x
    pattern = []
    for d in range(ndim):
        pattern += ["x", d]
    spread = elemwise.dimshuffle(xp, pattern)
    dims = []
    for d in range(ndim):
        dims += [reps[d], xp.shape[d]]
    big = alloc(spread, *dims)
    return reshape(big, [reps[d] * xp.shape[d] for d in range(ndim)], ndim=ndim)

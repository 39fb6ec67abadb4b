"""Elementwise ops: Elemwise (a scalar op mapped over broadcast tensors), DimShuffle and
Rebroadcast, with their constructors: constants, ``T.exp``, ``T.add``, ``T.switch``,
``T.cast``, ``T.dimshuffle``, ``T.patternbroadcast``...
"""
from __future__ import annotations

import sys

import numpy as np

from ..config import config
from ..graph import Apply, Op, Variable
from . import scalar as ps
from .type import TensorType, upcast, normalize_dtype, FLOAT_DTYPES, INT_DTYPES


class Elemwise(Op):
    """Apply ``scalar_op`` elementwise with Theano broadcasting.

    Inputs of lower rank are padded on the left with broadcastable
    dimensions. ``inplace_pattern`` maps output index -> input index whose
    buffer the output overwrites (set by the inplace rewrite).
    """

    __props__ = ("scalar_op", "inplace_pattern")

    def __init__(self, scalar_op, inplace_pattern=()):
        self.scalar_op = scalar_op
        if isinstance(inplace_pattern, dict):
            inplace_pattern = tuple(sorted(inplace_pattern.items()))
        self.inplace_pattern = tuple(inplace_pattern)
        self.destroy_map = {o: [i] for o, i in self.inplace_pattern}

    def __str__(self):
        name = self.scalar_op.name
        if isinstance(self.scalar_op, ps.Composite):
            name = "Composite{" + "; ".join(self.scalar_op.describe()) + "}"
        if self.inplace_pattern:
            return f"Elemwise{{{name}}}[inplace {dict(self.inplace_pattern)}]"
        return f"Elemwise{{{name}}}"

    def make_node(self, *inputs):
        inputs = [as_tensor(i) for i in inputs]
        if len(inputs) != self.scalar_op.nin:
            raise TypeError(f"{self} takes {self.scalar_op.nin} inputs, got {len(inputs)}")
        ndim = max([i.ndim for i in inputs] + [0])
        padded = []
        for i in inputs:
            if i.ndim < ndim:
                i = DimShuffle(i.broadcastable, ["x"] * (ndim - i.ndim) + list(range(i.ndim)))(i)
            padded.append(i)
        bcast = tuple(all(i.broadcastable[d] for i in padded) for d in range(ndim))
        out_dtypes = self.scalar_op.output_dtypes([i.dtype for i in padded])
        for o, i in self.inplace_pattern:
            if padded[i].dtype != out_dtypes[o] or padded[i].broadcastable != bcast:
                raise TypeError(f"{self}: cannot work inplace on input {i}")
        outs = [TensorType(dt, bcast)() for dt in out_dtypes]
        return Apply(self, padded, outs)

    def check_shapes(self, node, inputs):
        """The output shape; raise ValueError naming the op and shapes when the runtime shapes
        do not broadcast (a dimension broadcasts only where its type says so)."""
        shape = []
        for d in range(node.outputs[0].ndim):
            size = None
            for var, val in zip(node.inputs, inputs):
                if var.broadcastable[d]:
                    continue
                s = val.shape[d]
                if size is None:
                    size = s
                elif s != size:
                    shapes = ", ".join(str(np.shape(v)) for v in inputs)
                    raise ValueError(
                        f"{self}: input shapes do not match along dimension {d}: got {shapes} "
                        f"(a dimension broadcasts only when its type marks it broadcastable)")
            shape.append(1 if size is None else size)
        return tuple(shape)

    def perform(self, node, inputs, output_storage):
        shape = self.check_shapes(node, inputs)
        result = self.scalar_op.impl(*inputs)
        if self.scalar_op.nout == 1:
            result = (result,)
        for o, (store, res, var) in enumerate(zip(output_storage, result, node.outputs)):
            res = ps.convert(res, var.dtype)
            if res.shape != shape:
                res = np.broadcast_to(res, shape).copy()
            elif any(res is i for i in inputs):   # e.g. second(x, y) returns y: no view_map
                res = res.copy()
            if self.inplace_pattern and o in dict(self.inplace_pattern):
                target = inputs[dict(self.inplace_pattern)[o]]
                target[...] = res
                res = target
            store[0] = res

    def output_may_alias_input(self, index):
        """``second``/``fill`` (alone or inside a fused Composite) may return an input as is."""
        sop = self.scalar_op
        if sop == ps.second:
            return True
        if isinstance(sop, ps.Composite):
            r = sop.outputs[index]
            return r < sop.nin or sop.nodes[r - sop.nin][0] == ps.second
        return False

    def L_op(self, inputs, outputs, output_grads):
        if self.scalar_op.nout != 1:
            raise NotImplementedError(f"gradient of multi-output {self}")
        gz = output_grads[0]
        grads = self.scalar_op.grad(inputs, outputs[0], gz)
        result = []
        for inp, g in zip(inputs, grads):
            if g is None:
                result.append(None)
                continue
            g = as_tensor(g)
            # sum over dimensions where this input was broadcast
            axes = [d for d in range(g.ndim) if inp.broadcastable[d] and not g.broadcastable[d]]
            if axes:
                g = g.sum(axis=axes, keepdims=True)       # reduce.py is above this module
            if g.ndim == inp.ndim and g.broadcastable != inp.broadcastable:
                g = patternbroadcast(g, inp.broadcastable)
            if g.dtype != inp.dtype and inp.type.is_float:
                g = cast(g, inp.dtype)
            result.append(g)
        return result

    def infer_shape(self, node, shapes):
        out_shape = []
        for d in range(node.outputs[0].ndim):
            dim = None
            for var, sh in zip(node.inputs, shapes):
                if not var.broadcastable[d]:
                    dim = sh[d]
                    break
            out_shape.append(1 if dim is None else dim)
        return [tuple(out_shape)] * len(node.outputs)


class DimShuffle(Op):
    """Permute dimensions, drop broadcastable ones, insert broadcastable ones ('x').

    ``x.dimshuffle(1, 'x', 0)`` on a matrix gives a (cols, 1, rows) tensor.
    The output is a view of the input.
    """

    __props__ = ("input_broadcastable", "new_order")
    view_map = {0: [0]}

    def __init__(self, input_broadcastable, new_order):
        self.input_broadcastable = tuple(input_broadcastable)
        self.new_order = tuple(new_order)
        nd = len(self.input_broadcastable)
        kept = [d for d in self.new_order if d != "x"]
        for d in kept:
            if not isinstance(d, (int, np.integer)) or not 0 <= d < nd:
                raise ValueError(f"DimShuffle: invalid dimension {d!r} for a {nd}-d input")
        if len(set(kept)) != len(kept):
            raise ValueError(f"DimShuffle: repeated dimension in {self.new_order}")
        self.drop = tuple(d for d in range(nd) if d not in kept)
        for d in self.drop:
            if not self.input_broadcastable[d]:
                raise ValueError(f"DimShuffle {self.new_order}: cannot drop non-broadcastable "
                                 f"dimension {d} of an input with broadcastable "
                                 f"{self.input_broadcastable}")
        self.shuffle = tuple(kept)
        self.augment = tuple(i for i, d in enumerate(self.new_order) if d == "x")

    def __str__(self):
        return "DimShuffle{" + ",".join(str(d) for d in self.new_order) + "}"

    @property
    def is_transpose(self):
        return "x" not in self.new_order and not self.drop and self.new_order != tuple(range(len(self.new_order)))

    def make_node(self, x):
        x = as_tensor(x)
        if x.broadcastable != self.input_broadcastable:
            if len(x.broadcastable) != len(self.input_broadcastable):
                raise TypeError(f"{self}: expected a {len(self.input_broadcastable)}-d input, "
                                f"got {x.type}")
            # allow inputs that are more broadcastable than declared
            for a, b in zip(x.broadcastable, self.input_broadcastable):
                if b and not a:
                    raise TypeError(f"{self}: input type {x.type} does not match {self.input_broadcastable}")
        bcast = tuple(True if d == "x" else x.broadcastable[d] for d in self.new_order)
        return Apply(self, [x], [TensorType(x.dtype, bcast)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        out_shape = []
        for d in self.new_order:
            out_shape.append(1 if d == "x" else x.shape[d])
        res = np.transpose(x, self.shuffle + self.drop) if x.ndim else x
        output_storage[0][0] = np.reshape(res, out_shape)

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        order = [None] * x.ndim
        kept = [d for d in self.new_order if d != "x"]
        # gz has the output layout; undo it
        gz_axes = [i for i, d in enumerate(self.new_order) if d != "x"]
        g = gz
        if self.augment:
            g = g.sum(axis=list(self.augment), keepdims=True) if any(
                not g.broadcastable[i] for i in self.augment) else g
            g = DimShuffle(g.broadcastable, [i for i in range(g.ndim) if i not in self.augment])(g)
        # now g has dims in order `kept`; add dropped dims and invert permutation
        for pos, d in enumerate(kept):
            order[d] = pos
        new_order = []
        for d in range(x.ndim):
            new_order.append("x" if order[d] is None else order[d])
        del gz_axes
        g = DimShuffle(g.broadcastable, new_order)(g)
        return [patternbroadcast(g, x.broadcastable) if g.broadcastable != x.broadcastable else g]

    def infer_shape(self, node, shapes):
        (sh,) = shapes
        return [tuple(1 if d == "x" else sh[d] for d in self.new_order)]


class Rebroadcast(Op):
    """Set broadcastable flags; marking a dim broadcastable checks it has length 1."""

    __props__ = ("pattern",)
    view_map = {0: [0]}

    def __init__(self, pattern):
        self.pattern = tuple(bool(b) for b in pattern)

    def make_node(self, x):
        x = as_tensor(x)
        if x.ndim != len(self.pattern):
            raise TypeError(f"{self}: expected a {len(self.pattern)}-d input, got {x.type}")
        return Apply(self, [x], [TensorType(x.dtype, self.pattern)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        for d, b in enumerate(self.pattern):
            if b and x.shape[d] != 1:
                raise ValueError(f"{self}: dimension {d} should be broadcastable (length 1) "
                                 f"but has shape {x.shape}")
        output_storage[0][0] = x

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        return [Rebroadcast(x.broadcastable)(gz) if gz.broadcastable != x.broadcastable else gz]

    def infer_shape(self, node, shapes):
        return [tuple(1 if b else s for b, s in zip(self.pattern, shapes[0]))]


# ---------------------------------------------------------------- constructors

def constant(x, name=None, ndim=None, dtype=None):
    """A TensorConstant holding ``x``: ``T.constant(np.ones(3))``."""
    if isinstance(x, Variable):
        raise TypeError("T.constant expects a value, got a symbolic variable")
    if dtype is None:
        if isinstance(x, bool):
            dtype = "bool"
        elif isinstance(x, int):
            dtype = "int64"
        elif isinstance(x, float):
            dtype = config.floatX
    arr = np.asarray(x, dtype=normalize_dtype(dtype) if dtype else None)
    if arr.dtype == object:
        raise TypeError(f"cannot make a constant from {type(x).__name__}")
    if ndim is not None and arr.ndim != ndim:
        arr = arr.reshape((1,) * (ndim - arr.ndim) + arr.shape) if arr.ndim < ndim else arr
    ttype = TensorType(normalize_dtype(arr.dtype), tuple(s == 1 for s in arr.shape))
    return ttype.make_constant(arr, name=name)


def as_tensor_variable(x, name=None, ndim=None, dtype=None):
    """Return ``x`` if it is a tensor variable, else wrap it as a constant."""
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(f"expected a tensor variable, got {x.type}")
        if ndim is not None and x.ndim != ndim:
            raise TypeError(f"expected a {ndim}-d tensor, got {x.type}")
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(v, Variable) for v in x):
        return _SEQUENCE_STACK[0]([as_tensor_variable(v) for v in x])
    return constant(x, name=name, ndim=ndim, dtype=dtype)


as_tensor = as_tensor_variable

# A list holding variables becomes ``T.stack(list)``; stacking is a Join (ops/shape.py, the
# module above this one), which registers it here when it is imported.
_SEQUENCE_STACK = []


def register_sequence_stack(stack):
    _SEQUENCE_STACK[:] = [stack]


def _is_python_number(x):
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def _weak_dtype(value, strong):
    """dtype a Python number takes next to tensors of dtype ``strong`` (Theano autocast).

    ``cast_policy='custom'`` (the default): the number takes the tensors' dtype when it fits
    (ints in an int tensor's range, floats next to a float tensor), else int64 / floatX.
    ``'numpy+floatX'``: NumPy's type of the number (bool, int64), floats floatX, whatever the
    tensors (so ``int8_vector + 3`` is int64, ``int32_vector + 1.5`` is floatX, then the
    upcast keeps floatX=float32 results float32: see ``type.upcast``).
    """
    if config.cast_policy == "numpy+floatX":
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int64" if value <= np.iinfo(np.int64).max else "uint64"
        return config.floatX
    if isinstance(value, bool):
        return strong if strong is not None else "bool"
    if isinstance(value, int):
        if strong is None or strong == "bool":
            return "int64"
        info = np.iinfo(strong) if strong in INT_DTYPES else None
        if info is None or info.min <= value <= info.max:
            return strong
        return "int64"
    # float
    if strong in FLOAT_DTYPES:
        return strong
    return config.floatX


def _elem(op, *args):
    strong = [a for a in args if not _is_python_number(a)]
    strong = [as_tensor_variable(a) for a in strong]
    sdtype = upcast(*[s.dtype for s in strong]) if strong else None
    it = iter(strong)
    inputs = [constant(a, dtype=_weak_dtype(a, sdtype)) if _is_python_number(a) else next(it)
              for a in args]
    return Elemwise(op)(*inputs)


def _unary(op, doc):
    def f(x):
        return _elem(op, x)
    f.__name__ = op.name
    f.__doc__ = doc
    return f


def _binary(op, doc):
    def f(x, y):
        return _elem(op, x, y)
    f.__name__ = op.name
    f.__doc__ = doc
    return f


neg = _unary(ps.neg, "-x")
abs_ = _unary(ps.abs_, "|x|")
exp = _unary(ps.exp, "e**x")


def log(x):
    """natural logarithm; ``log(sigmoid(z))`` is built as ``-softplus(-z)``, whose value and
    gradient stay finite where sigmoid(z) underflows (z = -1000), in every mode."""
    owner = getattr(x, "owner", None)
    if owner is not None and isinstance(owner.op, Elemwise) and owner.op.scalar_op == ps.sigmoid:
        return neg(_elem(ps.softplus, neg(owner.inputs[0])))
    return _elem(ps.log, x)


log1p = _unary(ps.log1p, "log(1 + x), accurate for small x")
log2 = _unary(ps.log2, "base-2 logarithm")
log10 = _unary(ps.log10, "base-10 logarithm")
expm1 = _unary(ps.expm1, "exp(x) - 1, accurate for small x")
sqrt = _unary(ps.sqrt, "square root")
sqr = _unary(ps.sqr, "x * x")
tanh = _unary(ps.tanh, "hyperbolic tangent")
sinh = _unary(ps.sinh, "hyperbolic sine")
cosh = _unary(ps.cosh, "hyperbolic cosine")
sin = _unary(ps.sin, "sine")
cos = _unary(ps.cos, "cosine")
tan = _unary(ps.tan, "tangent")
arctan = _unary(ps.arctan, "inverse tangent")
inv = _unary(ps.inv, "1 / x")
erf = _unary(ps.erf, "error function")
sgn = _unary(ps.sgn, "sign of x (-1, 0, 1)")
floor = _unary(ps.floor, "round down")
ceil = _unary(ps.ceil, "round up")
trunc = _unary(ps.trunc, "round toward zero")
round_half_to_even = _unary(ps.round_half_to_even, "round half to even")
isnan = _unary(ps.isnan, "x is NaN")
isinf = _unary(ps.isinf, "x is +-inf")
invert = _unary(ps.invert, "bitwise/logical not")
bitwise_not = invert
tensor_copy = _unary(ps.identity, "a copy of x")
add = _binary(ps.add, "x + y")
sub = _binary(ps.sub, "x - y")
mul = _binary(ps.mul, "x * y")
true_div = _binary(ps.true_div, "x / y (float result)")
int_div = _binary(ps.int_div, "x // y")
floor_div = int_div
mod = _binary(ps.mod, "x % y")
pow = _binary(ps.pow, "x ** y")
maximum = _binary(ps.maximum, "elementwise max")
minimum = _binary(ps.minimum, "elementwise min")


def index_int64(v):
    """Integer ``v`` as int64 for use as an index, slice bound or shape: a uint64 at or above
    2**63 saturates to 2**63 - 1 (beyond any length, as NumPy reads it) instead of wrapping to a
    negative value (which would count from the end, or read as -1 in a shape)."""
    if v.dtype == "uint64":
        v = minimum(v, constant(np.uint64(2 ** 63 - 1)))
    return v if v.dtype == "int64" else cast(v, "int64")
arctan2 = _binary(ps.arctan2, "arctan(y / x) with quadrant")
lt = _binary(ps.lt, "x < y")
gt = _binary(ps.gt, "x > y")
le = _binary(ps.le, "x <= y")
ge = _binary(ps.ge, "x >= y")
eq = _binary(ps.eq, "x == y (elementwise)")
neq = _binary(ps.neq, "x != y (elementwise)")
and_ = _binary(ps.and_, "x & y")
or_ = _binary(ps.or_, "x | y")
xor = _binary(ps.xor, "x ^ y")
second = _binary(ps.second, "y broadcast to the shape of x")
fill = second
div_proxy = true_div
round = round_half_to_even  # noqa: A001  (Theano name)


def switch(cond, ift, iff):
    """Elementwise ``ift if cond else iff``: ``T.switch(T.lt(a, b), a, b)``."""
    return _elem(ps.switch, cond, ift, iff)


where = switch


def clip(x, min, max):  # noqa: A002  (Theano signature)
    """Limit x to [min, max]: ``T.clip(x, 0, 1)``."""
    return _elem(ps.clip, x, min, max)


def cast(x, dtype):
    """``T.cast(x, 'float32')``; a no-op when x already has that dtype."""
    x = as_tensor_variable(x)
    dtype = normalize_dtype(dtype)
    if x.dtype == dtype:
        return x
    return Elemwise(ps.cast_op(dtype))(x)


def identity(x):
    return x


def ceil_intdiv(a, b):
    """ceil(a / b) for integers."""
    return int_div(a, b) + cast(neq(mod(a, b), 0), "int64")


def zeros_like(x, dtype=None):
    """Zeros with the shape (and dtype) of x."""
    x = as_tensor_variable(x)
    return fill(x, constant(0, dtype=dtype or x.dtype))


def ones_like(x, dtype=None):
    x = as_tensor_variable(x)
    return fill(x, constant(1, dtype=dtype or x.dtype))


def dimshuffle(x, pattern):
    x = as_tensor_variable(x)
    return DimShuffle(x.broadcastable, tuple(pattern))(x)


def transpose(x, axes=None):
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    return dimshuffle(x, axes)


def patternbroadcast(x, broadcastable):
    x = as_tensor_variable(x)
    broadcastable = tuple(bool(b) for b in broadcastable)
    if x.broadcastable == broadcastable:
        return x
    return Rebroadcast(broadcastable)(x)


def addbroadcast(x, *axes):
    x = as_tensor_variable(x)
    return patternbroadcast(x, [b or d in axes for d, b in enumerate(x.broadcastable)])


def unbroadcast(x, *axes):
    x = as_tensor_variable(x)
    return patternbroadcast(x, [b and d not in axes for d, b in enumerate(x.broadcastable)])


def shape_padleft(x, n_ones=1):
    x = as_tensor_variable(x)
    return dimshuffle(x, ["x"] * n_ones + list(range(x.ndim)))


def shape_padright(x, n_ones=1):
    x = as_tensor_variable(x)
    return dimshuffle(x, list(range(x.ndim)) + ["x"] * n_ones)


def shape_padaxis(x, axis):
    x = as_tensor_variable(x)
    pattern = list(range(x.ndim))
    pattern.insert(axis % (x.ndim + 1), "x")
    return dimshuffle(x, pattern)


def squeeze(x):
    x = as_tensor_variable(x)
    return dimshuffle(x, [d for d in range(x.ndim) if not x.broadcastable[d]])


# Gradients of scalar ops are tensor expressions built with this module's constructors
# (T.switch, T.cast, ...); scalar.py is below this module, so it reaches them through this
# registration.
ps.register_tensor_constructors(sys.modules[__name__])

"""The Theano-style tensor API: constructors, elementwise math, reductions, shapes, indexing.

>>> import symgraph.tensor as T
>>> x = T.dmatrix('x')
>>> y = T.tanh(x).sum(axis=1)
"""
from __future__ import annotations

import builtins

import numpy as np

from ..config import config
from ..graph import Constant, Variable
from ..ops import scalar as ps
from ..ops.elemwise import DimShuffle, Elemwise
from ..ops.reduce import CAReduce, Argmax, normalize_axis
from ..ops import shape as sh
from ..ops import subtensor as st
from ..ops.blas import dot as _dot_op
from .type import TensorType, upcast, normalize_dtype, FLOAT_DTYPES, INT_DTYPES
from .var import TensorConstant, TensorVariable

# ---------------------------------------------------------------- constants


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
    return TensorConstant(ttype, arr, name=name)


def as_tensor_variable(x, name=None, ndim=None, dtype=None):
    """Return ``x`` if it is a tensor variable, else wrap it as a constant."""
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise TypeError(f"expected a tensor variable, got {x.type}")
        if ndim is not None and x.ndim != ndim:
            raise TypeError(f"expected a {ndim}-d tensor, got {x.type}")
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(v, Variable) for v in x):
        return stack([as_tensor_variable(v) for v in x])
    return constant(x, name=name, ndim=ndim, dtype=dtype)


as_tensor = as_tensor_variable


def _is_python_number(x):
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def _weak_dtype(value, strong):
    """dtype a Python number takes next to tensors of dtype ``strong`` (Theano autocast)."""
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
log = _unary(ps.log, "natural logarithm")
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


# ---------------------------------------------------------------- creation

def zeros_like(x, dtype=None):
    """Zeros with the shape (and dtype) of x."""
    x = as_tensor_variable(x)
    return fill(x, constant(0, dtype=dtype or x.dtype))


def ones_like(x, dtype=None):
    x = as_tensor_variable(x)
    return fill(x, constant(1, dtype=dtype or x.dtype))


def alloc(value, *shape):
    """A new tensor of the given shape filled with ``value``: ``T.alloc(0., n, 3)``."""
    return sh.alloc_op(value, *shape)


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
    return sh.Arange(normalize_dtype(dtype))(*ins)


def eye(n, m=None, k=0, dtype=None):
    """Identity-like matrix with ones on diagonal ``k``."""
    m = n if m is None else m
    rows = arange(n).dimshuffle(0, "x")
    cols = arange(m).dimshuffle("x", 0)
    return cast(eq(rows + k, cols), normalize_dtype(dtype))


# ---------------------------------------------------------------- reductions

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


def _count(x, axes):
    n = None
    for a in axes:
        d = x.shape[a]
        n = d if n is None else n * d
    return n


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


# ---------------------------------------------------------------- linear algebra

def dot(a, b):
    """Matrix/vector product; scalars multiply elementwise."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if a.ndim > 2 or b.ndim > 2:
        return tensordot(a, b, axes=[[a.ndim - 1], [builtins.max(b.ndim - 2, 0)]])
    return _dot_op(a, b)


def outer(a, b):
    """Outer product of two vectors."""
    return dot(as_tensor_variable(a).dimshuffle(0, "x"), as_tensor_variable(b).dimshuffle("x", 0))


def tensordot(a, b, axes=2):
    """Sum products over the given axes (implemented by reshaping to a matrix product)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if isinstance(axes, int):
        axes = [list(range(a.ndim - axes, a.ndim)), list(range(axes))]
    ax_a, ax_b = [x % a.ndim for x in axes[0]], [x % b.ndim for x in axes[1]]
    free_a = [d for d in range(a.ndim) if d not in ax_a]
    free_b = [d for d in range(b.ndim) if d not in ax_b]
    at = a.dimshuffle(free_a + ax_a)
    bt = b.dimshuffle(ax_b + free_b)
    k = _count(a, ax_a) if ax_a else 1
    ma = reshape(at, [-1, k], ndim=2)
    mb = reshape(bt, [k, -1], ndim=2)
    out_shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return reshape(_dot_op(ma, mb), out_shape, ndim=len(out_shape))


# ---------------------------------------------------------------- shapes

def shape(x):
    """Symbolic int64 shape vector of x."""
    return sh.shape(as_tensor_variable(x))


def dimshuffle(x, pattern):
    x = as_tensor_variable(x)
    return DimShuffle(x.broadcastable, tuple(pattern))(x)


def transpose(x, axes=None):
    x = as_tensor_variable(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    return dimshuffle(x, axes)


def _shape_length(shape):
    if isinstance(shape, Variable):
        if shape.ndim == 0:
            return 1
        if isinstance(shape, Constant):
            return int(np.asarray(shape.data).shape[0])
        if shape.owner is not None:
            if isinstance(shape.owner.op, sh.Shape):
                return shape.owner.inputs[0].ndim
            if isinstance(shape.owner.op, sh.MakeVector):
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
    vec = sh.shape_vector(newshape)
    return sh.Reshape(ndim)(x, vec)


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


def patternbroadcast(x, broadcastable):
    x = as_tensor_variable(x)
    broadcastable = tuple(bool(b) for b in broadcastable)
    if x.broadcastable == broadcastable:
        return x
    return sh.Rebroadcast(broadcastable)(x)


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


def specify_shape(x, shape, what=None):
    x = as_tensor_variable(x)
    return sh.SpecifyShape(tuple(shape), what or str(x))(x)


def concatenate(tensor_list, axis=0):
    """Join tensors along an existing axis."""
    tensors = [as_tensor_variable(t) for t in tensor_list]
    if len(tensors) == 1:
        return tensors[0]
    axis = axis % tensors[0].ndim if tensors[0].ndim else 0
    return sh.Join(axis)(*tensors)


join = lambda axis, *tensors: concatenate(tensors, axis)  # noqa: E731  (Theano argument order)


def stack(*tensors, axis=0):
    """Join tensors along a new axis: ``T.stack([a, b])`` or ``T.stack(a, b)``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    tensors = [as_tensor_variable(t) for t in tensors]
    return concatenate([shape_padaxis(t, axis) for t in tensors], axis=axis)


# ---------------------------------------------------------------- indexing

def getitem(x, key):
    if isinstance(key, tuple) and any(k is None for k in key) or key is None:
        return _getitem_newaxis(x, key if isinstance(key, tuple) else (key,))
    idx_list, syms, advanced = st.parse_index(x, key)
    if advanced:
        return st.AdvancedSubtensor(idx_list)(x, *syms)
    return st.Subtensor(idx_list)(x, *syms)


def _getitem_newaxis(x, key):
    """``x[:, None]``: insert broadcastable axes with a DimShuffle, then index the rest."""
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    expanded = []
    for k in key:
        expanded.extend([slice(None)] * (x.ndim - n_real) if k is Ellipsis else [k])
    pattern, rest, d = [], [], 0
    for k in expanded:
        if k is None:
            pattern.append("x")
            rest.append(slice(None))
        else:
            pattern.append(d)
            rest.append(k)
            d += 1
    if d > x.ndim:
        raise IndexError(f"too many indices ({d}) for {x.type} built at {x.where()}")
    pattern.extend(range(d, x.ndim))
    return getitem(dimshuffle(x, pattern), tuple(rest))


def _inc(x_sub, y, set_instead):
    node = getattr(x_sub, "owner", None)
    if node is None or not isinstance(node.op, (st.Subtensor, st.AdvancedSubtensor)):
        what = "set_subtensor" if set_instead else "inc_subtensor"
        raise TypeError(f"{what}: the first argument must be an indexed tensor such as x[2:5], "
                        f"got {x_sub}")
    base, syms = node.inputs[0], node.inputs[1:]
    if isinstance(node.op, st.Subtensor):
        return st.IncSubtensor(node.op.idx_list, set_instead)(base, y, *syms)
    return st.AdvancedIncSubtensor(node.op.idx_list, set_instead)(base, y, *syms)


def set_subtensor(x_sub, y):
    """A copy of the indexed tensor with ``x[idx] = y``: ``T.set_subtensor(x[2:4], 0)``."""
    return _inc(x_sub, y, True)


def inc_subtensor(x_sub, y):
    """A copy of the indexed tensor with ``x[idx] += y`` (repeated indices accumulate)."""
    return _inc(x_sub, y, False)


# ---------------------------------------------------------------- constructors

_PREFIX = {"b": "int8", "w": "int16", "i": "int32", "l": "int64",
           "f": "float32", "d": "float64", "c": "complex64", "z": "complex128"}
_KINDS = {"scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
          "matrix": (False, False), "tensor3": (False,) * 3, "tensor4": (False,) * 4,
          "tensor5": (False,) * 5}


def tensor(dtype=None, broadcastable=None, name=None, shape=None):
    """``T.tensor('float32', (False, True))`` or ``T.tensor(dtype, name=..., shape=(None, 1))``."""
    if broadcastable is None:
        broadcastable = tuple(s == 1 for s in shape) if shape is not None else ()
    return TensorType(normalize_dtype(dtype), broadcastable)(name)


def _make_ctor(kind, default_dtype):
    bcast = _KINDS[kind]

    def ctor(name=None, dtype=None):
        return TensorType(normalize_dtype(dtype or default_dtype), bcast)(name)
    ctor.__name__ = kind
    ctor.__doc__ = f"A symbolic {kind} ({default_dtype or 'floatX'} unless dtype= is given)."
    return ctor


def _make_plural(single):
    def ctors(*names, dtype=None):
        if len(names) == 1 and isinstance(names[0], int):
            names = [None] * names[0]
        out = [single(n, dtype=dtype) for n in names]
        return out
    return ctors


_ns = globals()
for _kind in _KINDS:
    _plural = "matrices" if _kind == "matrix" else _kind + "s"
    _ns[_kind] = _make_ctor(_kind, None)
    _ns[_plural] = _make_plural(_ns[_kind])
    for _p, _dt in _PREFIX.items():
        _ns[_p + _kind] = _make_ctor(_kind, _dt)
        _ns[_p + _plural] = _make_plural(_ns[_p + _kind])
del _ns, _kind, _p, _dt, _plural

TensorVariable = TensorVariable


__all__ = [n for n in list(globals()) if not n.startswith("_") and n not in (
    "annotations", "builtins", "np", "config", "Constant", "Variable", "ps", "DimShuffle",
    "Elemwise", "CAReduce", "Argmax", "normalize_axis", "sh", "st", "upcast", "normalize_dtype",
    "FLOAT_DTYPES", "INT_DTYPES", "TensorConstant")]

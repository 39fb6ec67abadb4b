"""Scalar operations: the bodies of elementwise loops.

A :class:`ScalarOp` knows its arity, its output dtype for given input dtypes,
a vectorised NumPy implementation (used by the reference backend), and its
gradient expressed with tensor operations. It knows nothing about C or CUDA:
the backends map each scalar op (the op object) to source text.

:class:`Composite` is a small DAG of scalar ops; elementwise fusion builds one
and the C/CUDA renderers emit its body as a single loop.
"""
from __future__ import annotations

import enum
import math

import numpy as np

from .type import upcast, float_upcast, FLOAT_DTYPES


class DtypeRule(enum.Enum):
    """How a scalar op's output dtype follows from its input dtypes (``ScalarOp.kind``)."""
    UPCAST = "upcast"          # the common dtype of the inputs
    FLOAT = "float"            # that, made floating point
    BOOL = "bool"              # comparisons, isnan
    SAME0 = "same0"            # the first input's
    SECOND = "second"          # the second input's
    SWITCH = "switch"          # the common dtype of the two branches
    CAST = "cast"              # the op's own dtype (Cast)
    CONST = "const"            # a literal's (ScalarConstant)
    COMPOSITE = "composite"    # computed node by node (Composite)


class ScalarOp:
    nin = 1
    nout = 1
    name = "?"
    kind = DtypeRule.UPCAST
    symbol = None        # infix symbol for pp (binary ops)
    commutative = False
    associative = False

    def _props(self):
        return (self.name,)

    def __eq__(self, other):
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self):
        return hash((type(self), self._props()))

    def __str__(self):
        return self.name

    __repr__ = __str__

    def output_dtypes(self, in_dtypes):
        k = self.kind
        if k is DtypeRule.UPCAST:
            return [upcast(*in_dtypes)]
        if k is DtypeRule.FLOAT:
            return [float_upcast(*in_dtypes)]
        if k is DtypeRule.BOOL:
            return ["bool"]
        if k is DtypeRule.SAME0:
            return [in_dtypes[0]]
        if k is DtypeRule.SECOND:
            return [in_dtypes[1]]
        if k is DtypeRule.SWITCH:
            return [upcast(*in_dtypes[1:])]
        raise NotImplementedError(k)

    def impl(self, *args):
        raise NotImplementedError(self.name)

    def grad(self, inputs, output, gz):
        """Gradients w.r.t. ``inputs`` (tensor variables) given output and its gradient."""
        raise NotImplementedError(f"scalar op {self.name} has no gradient")


_TENSOR = []     # the elementwise constructors (ops/elemwise.py), registered by that module


def register_tensor_constructors(module):
    _TENSOR[:] = [module]


def _T():
    """The module whose functions (``switch``, ``cast``, ``zeros_like``...) build gradients."""
    return _TENSOR[0]


_GENERATED = {}     # name -> the instance of each op made by _np_unary / _np_binary


def _generated_op(name):
    """The op ``name`` made by _np_unary/_np_binary (its class is not importable: pickle via this)."""
    return _GENERATED[name]


def _register(cls):
    cls.__reduce__ = lambda self: (_generated_op, (self.name,))
    if cls.name in _GENERATED:
        raise KeyError(f"a scalar op named {cls.name!r} is already registered")
    _GENERATED[cls.name] = op = cls()
    return op


def _np_unary(name, fn, kind="float", grad=None, symbol=None):
    cls = type(name.capitalize(), (ScalarOp,), {
        "nin": 1, "name": name, "kind": DtypeRule(kind), "symbol": symbol,
        "impl": lambda self, x: fn(x),
    })
    if grad is not None:
        cls.grad = lambda self, inputs, output, gz: grad(inputs[0], output, gz)
    return _register(cls)


def _np_binary(name, fn, kind="upcast", grad=None, symbol=None, commutative=False):
    cls = type(name.capitalize(), (ScalarOp,), {
        "nin": 2, "name": name, "kind": DtypeRule(kind), "symbol": symbol, "commutative": commutative,
        "associative": commutative and kind == "upcast",
        "impl": lambda self, x, y: fn(x, y),
    })
    if grad is not None:
        cls.grad = lambda self, inputs, output, gz: grad(inputs[0], inputs[1], output, gz)
    return _register(cls)


def _sigmoid(x):
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(x, np.float32))


def _softplus(x):
    return np.logaddexp(np.zeros((), dtype=np.result_type(x, np.float32)), x)


def _int_div(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor_divide(x, y)


def _true_div(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(x, y)


def _safe(fn):
    def wrapped(*a):
        with np.errstate(all="ignore"):
            return fn(*a)
    return wrapped


def _erf_impl(x):
    x = np.asarray(x)
    return np.vectorize(math.erf, otypes=[np.result_type(x, np.float32)])(x)


def _round_half_even(x):
    return np.round(x)


# ---------------------------------------------------------------- gradients
# Each returns tensor-level expressions, built with the registered constructors (_T()).

def _g_neg(x, out, gz):
    return [-gz]


def _g_abs(x, out, gz):
    return [gz * _T().sgn(x)]


def _g_exp(x, out, gz):
    return [gz * out]


def _g_log(x, out, gz):
    return [gz / x]


def _g_log1p(x, out, gz):
    return [gz / (1 + x)]


def _g_log2(x, out, gz):
    return [gz / (x * np.log(2.0))]


def _g_log10(x, out, gz):
    return [gz / (x * np.log(10.0))]


def _g_expm1(x, out, gz):
    return [gz * (out + 1)]


def _g_sqrt(x, out, gz):
    return [gz * 0.5 / out]


def _g_sqr(x, out, gz):
    return [gz * 2 * x]


def _g_tanh(x, out, gz):
    return [gz * (1 - _T().sqr(out))]


def _g_sinh(x, out, gz):
    return [gz * _T().cosh(x)]


def _g_cosh(x, out, gz):
    return [gz * _T().sinh(x)]


def _g_sin(x, out, gz):
    return [gz * _T().cos(x)]


def _g_cos(x, out, gz):
    return [-gz * _T().sin(x)]


def _g_tan(x, out, gz):
    return [gz * (1 + _T().sqr(out))]


def _g_arctan(x, out, gz):
    return [gz / (1 + _T().sqr(x))]


def _g_inv(x, out, gz):
    return [-gz * _T().sqr(out)]


def _g_sigmoid(x, out, gz):
    return [gz * out * (1 - out)]


def _g_softplus(x, out, gz):
    return [gz * _T()._elem(sigmoid, x)]


def _g_zero(x, out, gz):
    return [_T().zeros_like(x)] if x.type.is_float else [None]


def _g_erf(x, out, gz):
    return [gz * (2.0 / np.sqrt(np.pi)) * _T().exp(-_T().sqr(x))]


def _g_identity(x, out, gz):
    return [gz]


def _g_add(x, y, out, gz):
    return [gz, gz]


def _g_sub(x, y, out, gz):
    return [gz, -gz]


def _g_mul(x, y, out, gz):
    return [gz * y, gz * x]


def _g_true_div(x, y, out, gz):
    return [gz / y, -gz * x / _T().sqr(y)]


def _g_pow(x, y, out, gz):
    T = _T()
    gx = gz * y * T.pow(x, y - 1)
    gy = gz * out * T.log(T.switch(T.eq(x, 0), 1, x)) if y.type.is_float else None
    return [gx, gy]


def _g_maximum(x, y, out, gz):
    T = _T()
    gx = T.cast(T.ge(x, y), gz.dtype) * gz
    return [gx, gz - gx]


def _g_minimum(x, y, out, gz):
    T = _T()
    gx = T.cast(T.le(x, y), gz.dtype) * gz
    return [gx, gz - gx]


def _g_arctan2(y, x, out, gz):
    T = _T()
    d = T.sqr(x) + T.sqr(y)
    return [gz * x / d, -gz * y / d]


def _g_discrete2(x, y, out, gz):
    T = _T()
    return [T.zeros_like(x) if x.type.is_float else None,
            T.zeros_like(y) if y.type.is_float else None]


neg = _np_unary("neg", np.negative, "upcast", _g_neg, symbol="-")
abs_ = _np_unary("abs", np.abs, "upcast", _g_abs)
exp = _np_unary("exp", _safe(np.exp), "float", _g_exp)
log = _np_unary("log", _safe(np.log), "float", _g_log)
log1p = _np_unary("log1p", _safe(np.log1p), "float", _g_log1p)
log2 = _np_unary("log2", _safe(np.log2), "float", _g_log2)
log10 = _np_unary("log10", _safe(np.log10), "float", _g_log10)
expm1 = _np_unary("expm1", _safe(np.expm1), "float", _g_expm1)
sqrt = _np_unary("sqrt", _safe(np.sqrt), "float", _g_sqrt)
sqr = _np_unary("sqr", np.square, "upcast", _g_sqr)
tanh = _np_unary("tanh", np.tanh, "float", _g_tanh)
sinh = _np_unary("sinh", _safe(np.sinh), "float", _g_sinh)
cosh = _np_unary("cosh", _safe(np.cosh), "float", _g_cosh)
sin = _np_unary("sin", np.sin, "float", _g_sin)
cos = _np_unary("cos", np.cos, "float", _g_cos)
tan = _np_unary("tan", np.tan, "float", _g_tan)
arctan = _np_unary("arctan", np.arctan, "float", _g_arctan)
inv = _np_unary("inv", _safe(lambda x: np.true_divide(1, x)), "float", _g_inv)
sigmoid = _np_unary("sigmoid", _sigmoid, "float", _g_sigmoid)
softplus = _np_unary("softplus", _softplus, "float", _g_softplus)
erf = _np_unary("erf", lambda x: _erf_impl(x), "float", _g_erf)
sgn = _np_unary("sgn", np.sign, "upcast", _g_zero)
floor = _np_unary("floor", np.floor, "upcast", _g_zero)
ceil = _np_unary("ceil", np.ceil, "upcast", _g_zero)
trunc = _np_unary("trunc", np.trunc, "upcast", _g_zero)
round_half_to_even = _np_unary("round_half_to_even", _round_half_even, "upcast", _g_zero)
isnan = _np_unary("isnan", np.isnan, "bool")
isinf = _np_unary("isinf", np.isinf, "bool")
invert = _np_unary("invert", np.invert, "upcast")
identity = _np_unary("identity", lambda x: np.array(x, copy=True), "upcast", _g_identity)

add = _np_binary("add", np.add, "upcast", _g_add, "+", commutative=True)
sub = _np_binary("sub", np.subtract, "upcast", _g_sub, "-")
mul = _np_binary("mul", np.multiply, "upcast", _g_mul, "*", commutative=True)
true_div = _np_binary("true_div", _true_div, "float", _g_true_div, "/")
int_div = _np_binary("int_div", _int_div, "upcast", _g_discrete2, "//")
mod = _np_binary("mod", _safe(np.mod), "upcast", _g_discrete2, "%")
pow = _np_binary("pow", _safe(np.power), "upcast", _g_pow, "**")
maximum = _np_binary("maximum", np.maximum, "upcast", _g_maximum, commutative=True)
minimum = _np_binary("minimum", np.minimum, "upcast", _g_minimum, commutative=True)
second = _np_binary("second", lambda x, y: y, "second",
                    lambda x, y, out, gz: [_T().zeros_like(x) if x.type.is_float else None, gz])
arctan2 = _np_binary("arctan2", np.arctan2, "float", _g_arctan2)
lt = _np_binary("lt", np.less, "bool", _g_discrete2, "<")
gt = _np_binary("gt", np.greater, "bool", _g_discrete2, ">")
le = _np_binary("le", np.less_equal, "bool", _g_discrete2, "<=")
ge = _np_binary("ge", np.greater_equal, "bool", _g_discrete2, ">=")
eq = _np_binary("eq", np.equal, "bool", _g_discrete2, "==", commutative=True)
neq = _np_binary("neq", np.not_equal, "bool", _g_discrete2, "!=", commutative=True)
and_ = _np_binary("and", np.bitwise_and, "upcast", None, "&", commutative=True)
or_ = _np_binary("or", np.bitwise_or, "upcast", None, "|", commutative=True)
xor = _np_binary("xor", np.bitwise_xor, "upcast", None, "^", commutative=True)


class Switch(ScalarOp):
    nin = 3
    name = "switch"
    kind = DtypeRule.SWITCH

    def impl(self, c, a, b):
        return np.where(c, a, b)

    def grad(self, inputs, output, gz):
        T = _T()
        c, a, b = inputs
        z = T.zeros_like(gz)
        return [T.zeros_like(c) if c.type.is_float else None,
                T.switch(c, gz, z), T.switch(c, z, gz)]


switch = Switch()


class Clip(ScalarOp):
    nin = 3
    name = "clip"
    kind = DtypeRule.UPCAST

    def impl(self, x, lo, hi):
        return np.minimum(np.maximum(x, lo), hi)

    def grad(self, inputs, output, gz):
        T = _T()
        x, lo, hi = inputs
        inside = T.and_(T.ge(x, lo), T.le(x, hi))
        gx = T.switch(inside, gz, T.zeros_like(gz))
        glo = T.switch(T.lt(x, lo), gz, T.zeros_like(gz)) if lo.type.is_float else None
        ghi = T.switch(T.gt(x, hi), gz, T.zeros_like(gz)) if hi.type.is_float else None
        return [gx, glo, ghi]


clip = Clip()


def _trunc_int(x, bits):
    """Float array ``x`` truncated toward zero to a signed ``bits``-bit integer; NaN and values
    outside the range give the most negative value (x86-64's cvttsd2si)."""
    lo = -2.0 ** (bits - 1)
    ok = (x >= lo) & (x < -lo)
    out = np.where(ok, x, 0).astype(f"int{bits}")
    out[~ok] = -2 ** (bits - 1)
    return out


def convert(x, dtype):
    """``x`` as an array of ``dtype``, casting as every backend does (docs/DESIGN.md, "Casts").

    Float to integer: NumPy's x86-64 result, made independent of the array's length (NumPy's
    own vectorised float -> uint32 loop differs from its scalar loop out of range): int8,
    int16, int32, uint8, uint16 take the low bits of the int32 truncation, uint32 and int64
    those of the int64 truncation, uint64 converts x - 2**63 for x >= 2**63; NaN and values
    outside the truncation's range truncate to its most negative value. Everything else is
    NumPy's ``astype`` (integers wrap)."""
    x = np.asarray(x)
    dt = np.dtype(dtype)
    if x.dtype.kind != "f" or dt.kind not in "iu":
        with np.errstate(invalid="ignore", over="ignore"):
            return x.astype(dt, copy=False)
    with np.errstate(invalid="ignore", over="ignore"):
        if dt == np.uint64:
            half = x.dtype.type(2.0 ** 63)
            big = x >= half
            out = _trunc_int(np.where(big, x - half, x), 64).view(np.uint64)
            out[big] ^= np.uint64(1 << 63)
            return out.reshape(x.shape)
        bits = 64 if dt.itemsize >= 4 and dt != np.int32 else 32
        return _trunc_int(x, bits).astype(dt)


class Cast(ScalarOp):
    """Convert to ``dtype`` (``convert``: float -> int truncates toward zero, out of range as
    docs/DESIGN.md "Casts" defines)."""
    kind = DtypeRule.CAST

    def __init__(self, dtype):
        self.dtype = dtype
        self.name = f"cast_{dtype}"

    def _props(self):
        return (self.dtype,)

    def output_dtypes(self, in_dtypes):
        return [self.dtype]

    def impl(self, x):
        return convert(x, self.dtype)

    def grad(self, inputs, output, gz):
        x = inputs[0]
        if x.type.is_float and self.dtype in FLOAT_DTYPES:
            return [_T().cast(gz, x.dtype)]
        return [_T().zeros_like(x) if x.type.is_float else None]


_cast_cache = {}


def cast_op(dtype):
    if dtype not in _cast_cache:
        _cast_cache[dtype] = Cast(dtype)
    return _cast_cache[dtype]


class ScalarConstant(ScalarOp):
    """A literal inside a Composite (no inputs)."""
    nin = 0
    kind = DtypeRule.CONST

    def __init__(self, value, dtype):
        self.value = np.asarray(value, dtype=dtype).item()
        self.dtype = dtype
        self.name = f"const{{{self.value!r}}}"

    def _props(self):
        return (self.value, self.dtype)

    def output_dtypes(self, in_dtypes):
        return [self.dtype]

    def impl(self):
        return np.asarray(self.value, dtype=self.dtype)


class Composite(ScalarOp):
    """A DAG of scalar ops evaluated as one elementwise body.

    ``in_dtypes``: dtypes of the inputs. ``nodes``: tuple of
    ``(scalar_op, args)`` where each arg is an int reference: ``r < nin``
    names input ``r`` and ``r >= nin`` names node ``r - nin``.
    ``outputs``: tuple of references. Each node's dtype is derived from its
    arguments' dtypes (available as ``node_dtypes``).
    """
    kind = DtypeRule.COMPOSITE

    def __init__(self, in_dtypes, nodes, outputs):
        self.in_dtypes = tuple(in_dtypes)
        self.nodes = tuple((op, tuple(args)) for op, args in nodes)
        self.outputs = tuple(outputs)
        self.nin = len(self.in_dtypes)
        self.nout = len(self.outputs)
        dtypes = list(self.in_dtypes)
        for op, args in self.nodes:
            dtypes.append(op.output_dtypes([dtypes[a] for a in args])[0])
        self.ref_dtypes = tuple(dtypes)
        self.node_dtypes = tuple(dtypes[self.nin:])
        self.name = "composite{" + ",".join(op.name for op, _ in self.nodes) + "}"

    def _props(self):
        return (self.in_dtypes, self.nodes, self.outputs)

    def output_dtypes(self, in_dtypes):
        return [self.ref_dtypes[r] for r in self.outputs]

    def impl(self, *args):
        vals = list(args)
        last = self._last_use()
        for k, ((op, refs), dt) in enumerate(zip(self.nodes, self.node_dtypes)):
            vals.append(convert(op.impl(*[vals[r] for r in refs]), dt))
            for r in last.get(k, ()):     # free intermediates after their last use
                vals[r] = None
        outs = [vals[r] for r in self.outputs]
        return outs[0] if self.nout == 1 else tuple(outs)

    def _last_use(self):
        """{node position: refs last read there} (outputs are never freed); cached."""
        last = self.__dict__.get("_last_use_cache")
        if last is None:
            pos = {}
            for k, (_, refs) in enumerate(self.nodes):
                for r in refs:
                    pos[r] = k
            keep = set(self.outputs)
            last = {}
            for r, k in pos.items():
                if r >= self.nin and r not in keep:
                    last.setdefault(k, []).append(r)
            self._last_use_cache = last
        return last

    def describe(self):
        """Infix text of each output, for debugprint (a summary for large composites,
        whose nested text would grow quadratically)."""
        if len(self.nodes) > 64:
            return [f"<{len(self.nodes)} scalar ops on {self.nin} inputs, output {k}>"
                    for k in range(self.nout)]
        names = [f"i{k}" for k in range(self.nin)]
        for op, refs in self.nodes:
            a = [names[r] for r in refs]
            if op.nin == 0:
                names.append(repr(op.value))
            elif op.symbol and op.nin == 2:
                names.append(f"({a[0]} {op.symbol} {a[1]})")
            elif op.symbol and op.nin == 1:
                names.append(f"({op.symbol}{a[0]})")
            else:
                names.append(f"{op.name}({', '.join(a)})")
        return [names[r] for r in self.outputs]

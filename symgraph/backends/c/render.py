"""Rendering scalar expressions to C-family source: the ``Dialect`` and the scalar-op table.

One table (:data:`SCALAR_RULES`) maps every scalar op in ``ops/scalar.py`` to
source text; it is shared by the C backend and by dialect subclasses (CUDA)
that change only spellings: type names, math function names for float vs
double, the kernel prefix and the loop/index expressions.

The numeric semantics follow the Python reference backend (NumPy): an op
computes in the dtype NumPy's promotion gives (``upcast`` of its inputs, or
the float type for ``exp``-like ops), integer ``//`` and ``%`` follow the
sign rules of NumPy and return 0 for a zero divisor, ``maximum``/``minimum``
propagate NaN, comparisons give 0/1 stored as ``uint8`` (``npy_bool``).

Example::

    d = CDialect()
    body = ElemwiseBody(d, scalar.add, ["a", "b"], ["float32", "float32"])
    body.stmts, body.outputs     # ([], ['(a + b)'])
"""
from __future__ import annotations

import math

import numpy as np

from ...ops import scalar as ps
from ...ops.type import upcast

CTYPES = {"bool": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
          "uint8": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t", "uint64": "uint64_t",
          "float32": "float", "float64": "double"}
SUPPORTED_DTYPES = frozenset(CTYPES)

# symgraph name -> libm name (double); the float version appends "f"
_MATH = {"exp": "exp", "log": "log", "log1p": "log1p", "log2": "log2", "log10": "log10", "expm1": "expm1",
         "sqrt": "sqrt", "tanh": "tanh", "sinh": "sinh", "cosh": "cosh", "sin": "sin", "cos": "cos",
         "tan": "tan", "arctan": "atan", "erf": "erf", "arctan2": "atan2", "pow": "pow", "floor": "floor",
         "ceil": "ceil", "trunc": "trunc", "rint": "rint", "fabs": "fabs", "fmod": "fmod"}

# libm functions with glibc libmvec vector variants (declared SIMD when libmvec links)
VECTOR_MATH = ("exp", "log", "log1p", "log2", "log10", "expm1", "tanh", "sinh", "cosh", "sin", "cos",
               "tan", "atan", "erf", "atan2", "pow")


def is_float(dt):
    return dt in ("float32", "float64")


def is_signed(dt):
    return dt in ("int8", "int16", "int32", "int64")


def is_unsigned(dt):
    return dt in ("uint8", "uint16", "uint32", "uint64")


class Dialect:
    """Spellings of the C family. Subclasses override strings, not logic."""

    name = "c"
    restrict = "restrict"
    kernel_prefix = "static void"
    helper_prefix = "static inline"
    inf = "INFINITY"
    nan = "NAN"

    def ctype(self, dtype):
        return CTYPES[dtype]

    def math(self, fn, dtype):
        """Name of libm function ``fn`` for ``dtype``: ``math('exp', 'float32') == 'expf'``."""
        base = _MATH[fn]
        return base + "f" if dtype == "float32" else base

    def helper(self, fn, dtype):
        """Name of a runtime helper with float/double variants (``sg_sigmoidf``/``sg_sigmoid``)."""
        return f"sg_{fn}f" if dtype == "float32" else f"sg_{fn}"

    def literal(self, value, dtype):
        if dtype == "bool":
            return "1" if value else "0"
        if is_float(dtype):
            v = float(np.asarray(value, dtype=dtype))
            if math.isnan(v):
                text = self.nan
            elif math.isinf(v):
                text = self.inf if v > 0 else f"(-{self.inf})"
            else:
                text = repr(v) + ("f" if dtype == "float32" else "")
            return text if dtype == "float32" or not text[0].isalpha() else f"((double){text})"
        v = int(value)
        if dtype == "int64":
            return "INT64_MIN" if v == -2 ** 63 else f"INT64_C({v})"
        if dtype == "uint64":
            return f"UINT64_C({v})"
        return f"(({self.ctype(dtype)}){v})"

    def cast(self, expr, src, dst):
        if src == dst:
            return expr
        if dst == "bool":
            return f"({expr} != 0)"
        if is_float(src) and not is_float(dst):      # ops.scalar.convert: sg_scalar.h's helpers
            fn = {"uint64": "sg_f2u64", "uint32": "sg_f2i64", "int64": "sg_f2i64"}.get(dst, "sg_f2i32")
            return f"(({self.ctype(dst)}){fn}({expr}))"
        return f"(({self.ctype(dst)}){expr})"

    def int_pow(self, a, b):
        """Integer power (C: checks for a negative exponent through the kernel's error flag)."""
        return f"sg_ipow({a}, {b})"

    def loop(self, var, n):
        """Header of a loop over ``var`` in [0, n)."""
        return f"for (int64_t {var} = 0; {var} < {n}; {var}++)"


class CDialect(Dialect):
    def int_pow(self, a, b):
        return f"sg_ipow_chk({a}, {b}, kerr)"


# ---------------------------------------------------------------------------
# scalar op -> expression. Each rule gets (dialect, args cast to the compute dtype, compute dtype)
# and returns an expression of the compute dtype (of "int" truth value for predicates), or None
# when the dtype combination is not supported (the node then runs in Python).

def _unary_math(fn):
    return lambda d, a, cd: f"{d.math(fn, cd)}({a[0]})" if is_float(cd) else None


def _float_or(fn, other):
    def rule(d, a, cd):
        if is_float(cd):
            return fn(d, a, cd)
        return other(d, a, cd)
    return rule


def _neg(d, a, cd):
    return None if cd == "bool" else f"(-{a[0]})"


def _abs(d, a, cd):
    if is_float(cd):
        return f"{d.math('fabs', cd)}({a[0]})"
    if is_signed(cd):
        return f"({a[0]} < 0 ? -{a[0]} : {a[0]})"
    return a[0]


def _sgn(d, a, cd):
    x = a[0]
    if is_float(cd):
        return f"({x} > 0 ? 1 : ({x} < 0 ? -1 : ({x} == 0 ? 0 : {x})))"
    if is_signed(cd):
        return f"(({x} > 0) - ({x} < 0))"
    return f"({x} > 0)"


def _division(float_helper, signed_fn, unsigned_fn):
    """Rule for floor division and modulo: the dialect's float helper, or the runtime
    function for signed / unsigned integers (none for bool)."""
    def rule(d, a, cd):
        x, y = a
        if is_float(cd):
            return f"{d.helper(float_helper, cd)}({x}, {y})"
        if is_signed(cd):
            return f"{signed_fn}({x}, {y})"
        if cd == "bool":
            return None
        return f"{unsigned_fn}({x}, {y})"
    return rule


_int_div = _division("floordiv", "sg_idiv", "sg_udiv")
_mod = _division("fmod", "sg_imod", "sg_umod")


def _pow(d, a, cd):
    if is_float(cd):
        return f"{d.math('pow', cd)}({a[0]}, {a[1]})"
    if cd == "bool":
        return None
    return d.int_pow(a[0], a[1])


def _bitwise(sym):
    return lambda d, a, cd: None if is_float(cd) else f"({a[0]} {sym} {a[1]})"


def _binop(sym, ok_bool=True):
    return lambda d, a, cd: None if (cd == "bool" and not ok_bool) else f"({a[0]} {sym} {a[1]})"


def _identity_int(d, a, cd):
    return a[0]


# scalar op -> rule(dialect, arg expressions, compute dtype) -> C expression or None (no form
# for that dtype); keyed by the op objects of ops/scalar.py (one instance per op)
SCALAR_RULES = {
    ps.neg: _neg,
    ps.abs_: _abs,
    ps.exp: _unary_math("exp"), ps.log: _unary_math("log"), ps.log1p: _unary_math("log1p"),
    ps.log2: _unary_math("log2"), ps.log10: _unary_math("log10"), ps.expm1: _unary_math("expm1"),
    ps.sqrt: _unary_math("sqrt"), ps.tanh: _unary_math("tanh"), ps.sinh: _unary_math("sinh"),
    ps.cosh: _unary_math("cosh"), ps.sin: _unary_math("sin"), ps.cos: _unary_math("cos"),
    ps.tan: _unary_math("tan"), ps.arctan: _unary_math("arctan"), ps.erf: _unary_math("erf"),
    ps.sqr: lambda d, a, cd: f"({a[0]} * {a[0]})",
    ps.inv: lambda d, a, cd: f"(1 / {a[0]})" if is_float(cd) else None,
    ps.sigmoid: lambda d, a, cd: f"{d.helper('sigmoid', cd)}({a[0]})" if is_float(cd) else None,
    ps.softplus: lambda d, a, cd: f"{d.helper('softplus', cd)}({a[0]})" if is_float(cd) else None,
    ps.sgn: _sgn,
    ps.floor: _float_or(_unary_math("floor"), _identity_int),
    ps.ceil: _float_or(_unary_math("ceil"), _identity_int),
    ps.trunc: _float_or(_unary_math("trunc"), _identity_int),
    ps.round_half_to_even: _float_or(lambda d, a, cd: f"{d.math('rint', cd)}({a[0]})", _identity_int),
    ps.isnan: lambda d, a, cd: f"({a[0]} != {a[0]})" if is_float(cd) else "0",
    ps.isinf: lambda d, a, cd: f"isinf({a[0]})" if is_float(cd) else "0",
    ps.invert: lambda d, a, cd: None if is_float(cd) else (f"(!{a[0]})" if cd == "bool" else f"(~{a[0]})"),
    ps.identity: _identity_int,
    ps.add: _binop("+"), ps.sub: _binop("-", ok_bool=False), ps.mul: _binop("*"),
    ps.true_div: lambda d, a, cd: f"({a[0]} / {a[1]})" if is_float(cd) else None,
    ps.int_div: _int_div, ps.mod: _mod, ps.pow: _pow,
    ps.maximum: lambda d, a, cd: f"((({a[0]} >= {a[1]}) | ({a[0]} != {a[0]})) ? {a[0]} : {a[1]})",
    ps.minimum: lambda d, a, cd: f"((({a[0]} <= {a[1]}) | ({a[0]} != {a[0]})) ? {a[0]} : {a[1]})",
    ps.arctan2: lambda d, a, cd: f"{d.math('arctan2', cd)}({a[0]}, {a[1]})" if is_float(cd) else None,
    ps.lt: _binop("<"), ps.gt: _binop(">"), ps.le: _binop("<="), ps.ge: _binop(">="),
    ps.eq: _binop("=="), ps.neq: _binop("!="),
    ps.and_: _bitwise("&"), ps.or_: _bitwise("|"), ps.xor: _bitwise("^"),
}

# functions from _MATH a rule may call (for SIMD declarations)
_RULE_MATH = {ps.exp: ("exp",), ps.log: ("log",), ps.log1p: ("log1p",), ps.log2: ("log2",),
              ps.log10: ("log10",), ps.expm1: ("expm1",), ps.tanh: ("tanh",), ps.sinh: ("sinh",),
              ps.cosh: ("cosh",), ps.sin: ("sin",), ps.cos: ("cos",), ps.tan: ("tan",), ps.arctan: ("atan",),
              ps.erf: ("erf",), ps.arctan2: ("atan2",), ps.pow: ("pow",), ps.sigmoid: ("exp",),
              ps.softplus: ("exp", "log1p")}


# ops whose C result on bools may be 2 or -1: normalized to 0/1 when the output is bool
_BOOL_NORMALIZED = frozenset({ps.add, ps.mul, ps.sqr, ps.pow, ps.maximum, ps.minimum, ps.abs_, ps.sgn})


def _compute_dtype(op, in_dtypes, out_dtype):
    if op.kind is ps.DtypeRule.BOOL:
        return upcast(*in_dtypes)
    return out_dtype


class ElemwiseBody:
    """The statements and output expressions of one scalar op (a Composite included).

    ``ElemwiseBody(d, op, arg_exprs, in_dtypes)``: ``stmts`` declare temporaries,
    ``outputs`` are expressions of the op's output dtypes, ``ok`` is False when
    some dtype combination has no C rule, ``math`` lists libm functions used.
    """

    def __init__(self, dialect, op, args, in_dtypes, prefix="t"):
        self.d = dialect
        self.stmts = []
        self.math = set()
        self.ok = True
        self.prefix = prefix
        self._n = 0
        outs = self._render(op, list(args), list(in_dtypes))
        self.outputs = outs if isinstance(outs, list) else [outs]
        self.out_dtypes = op.output_dtypes(list(in_dtypes))

    def _tmp(self, dtype, expr):
        name = f"{self.prefix}{self._n}"
        self._n += 1
        self.stmts.append(f"const {self.d.ctype(dtype)} {name} = {expr};")
        return name

    def _render(self, op, args, dts):
        d = self.d
        if isinstance(op, ps.Composite):
            vals, vdts = list(args), list(dts)
            for (sop, refs), ndt in zip(op.nodes, op.node_dtypes):
                out = self._render(sop, [vals[r] for r in refs], [vdts[r] for r in refs])
                if isinstance(out, list):
                    self.ok = False
                    return ["0"] * op.nout
                vals.append(out if _is_simple(out) else self._tmp(ndt, out))
                vdts.append(ndt)
            return [vals[r] for r in op.outputs]
        if any(dt not in SUPPORTED_DTYPES for dt in dts):
            self.ok = False
            return "0"
        out_dt = op.output_dtypes(dts)[0]
        if out_dt not in SUPPORTED_DTYPES:
            self.ok = False
            return "0"
        if isinstance(op, ps.ScalarConstant):
            return d.literal(op.value, op.dtype)
        if isinstance(op, ps.Cast):
            return d.cast(args[0], dts[0], out_dt)
        if op == ps.second:
            return d.cast(args[1], dts[1], out_dt)
        if isinstance(op, ps.Switch):
            a, b = (d.cast(x, t, out_dt) for x, t in zip(args[1:], dts[1:]))
            return f"({args[0]} ? {a} : {b})"
        if isinstance(op, ps.Clip):
            x, lo, hi = (d.cast(x, t, out_dt) for x, t in zip(args, dts))
            lo_ = self._tmp(out_dt, f"((({x} >= {lo}) | ({x} != {x})) ? {x} : {lo})")
            return f"((({lo_} <= {hi}) | ({lo_} != {lo_})) ? {lo_} : {hi})"
        rule = SCALAR_RULES.get(op)
        if rule is None:
            self.ok = False
            return "0"
        cd = _compute_dtype(op, dts, out_dt)
        expr = rule(d, [d.cast(x, t, cd) for x, t in zip(args, dts)], cd)
        if expr is None:
            self.ok = False
            return "0"
        if op in _RULE_MATH and is_float(cd):
            self.math.update((fn, cd) for fn in _RULE_MATH[op])
        if op.kind is ps.DtypeRule.BOOL:
            return f"({expr} != 0)" if expr not in ("0", "1") else expr
        if out_dt == "bool" and op in _BOOL_NORMALIZED:
            return f"({expr} != 0)"
        return d.cast(expr, cd, out_dt)


def _is_simple(expr):
    return expr.replace("_", "").isalnum() or expr.startswith("((") and expr.count("(") == 2 and " " not in expr


def simd_declarations(math_used):
    """``__attribute__((simd))`` declarations so gcc vectorizes these libm calls through libmvec."""
    lines = []
    for fn, dt in sorted(math_used):
        if fn not in VECTOR_MATH:
            continue
        t = "float" if dt == "float32" else "double"
        name = fn + ("f" if dt == "float32" else "")
        args = f"{t}, {t}" if fn in ("atan2", "pow") else t
        lines.append(f"__attribute__((__simd__(\"notinbranch\"))) {t} {name}({args});")
    return "\n".join(lines)

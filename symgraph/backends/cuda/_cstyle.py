"""Provisional C-style scalar renderer, used until ``symgraph.backends.c.render`` exists.

Same interface the CUDA kernels expect from the C renderer's ``Dialect``:
``ctype(dtype)``, ``literal(value, dtype)``, ``scalar_expr(op, args, in_dtypes,
out_dtype)`` and ``composite(op, in_exprs, out_names, prefix)``.
"""
from __future__ import annotations

import math

import numpy as np

from ...ops import scalar as ps

CTYPES = {
    "bool": "bool", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t",
    "int64": "int64_t", "uint8": "uint8_t", "uint16": "uint16_t", "uint32": "uint32_t",
    "uint64": "uint64_t", "float32": "float", "float64": "double",
}


def _is_float(dt):
    return dt in ("float32", "float64")


def _fn(name32, name64=None):
    """A libm call: float32 operands use the ``f`` suffixed function."""
    name64 = name64 or name32

    def render(args, in_dtypes, out_dtype, d):
        x = d.cast(args[0], in_dtypes[0], out_dtype)
        return f"{name32 + 'f' if out_dtype == 'float32' else name64}({x})"
    return render


def _bin(sym):
    def render(args, in_dtypes, out_dtype, d):
        dt = out_dtype if out_dtype != "bool" or sym in "&|^" else None
        if dt is None:      # comparisons: compare in the upcast type of the operands
            from ...tensor.type import upcast
            dt = upcast(*in_dtypes)
        a, b = (d.cast(x, t, dt) for x, t in zip(args, in_dtypes))
        return f"({a} {sym} {b})"
    return render


def _true_div(args, in_dtypes, out_dtype, d):
    a, b = (d.cast(x, t, out_dtype) for x, t in zip(args, in_dtypes))
    return f"({a} / {b})"


def _int_div(args, in_dtypes, out_dtype, d):
    a, b = (d.cast(x, t, out_dtype) for x, t in zip(args, in_dtypes))
    if _is_float(out_dtype):
        return f"{'floorf' if out_dtype == 'float32' else 'floor'}({a} / {b})"
    t = d.ctype(out_dtype)
    # Python floor division; 0 for a zero divisor (numpy's result, without the trap)
    return (f"({b} == 0 ? ({t})0 : ({t})(({a} / {b}) - ((({a} % {b}) != 0) && "
            f"((({a} % {b}) < 0) != ({b} < 0)))))")


def _mod(args, in_dtypes, out_dtype, d):
    a, b = (d.cast(x, t, out_dtype) for x, t in zip(args, in_dtypes))
    if _is_float(out_dtype):
        f = "fmodf" if out_dtype == "float32" else "fmod"
        return f"(({f}({a}, {b}) != 0 && (({f}({a}, {b}) < 0) != ({b} < 0))) ? {f}({a}, {b}) + {b} : {f}({a}, {b}))"
    t = d.ctype(out_dtype)
    return f"({b} == 0 ? ({t})0 : ((({a} % {b}) != 0 && ((({a} % {b}) < 0) != ({b} < 0))) ? ({a} % {b}) + {b} : ({a} % {b})))"


def _minmax(which):
    def render(args, in_dtypes, out_dtype, d):
        a, b = (d.cast(x, t, out_dtype) for x, t in zip(args, in_dtypes))
        cmp = ">" if which == "max" else "<"
        if _is_float(out_dtype):   # numpy propagates NaN
            return f"(({a} {cmp} {b} || {a} != {a}) ? {a} : {b})"
        return f"(({a} {cmp} {b}) ? {a} : {b})"
    return render


def _pow(args, in_dtypes, out_dtype, d):
    a, b = (d.cast(x, t, out_dtype) for x, t in zip(args, in_dtypes))
    if out_dtype == "float32":
        return f"powf({a}, {b})"
    if out_dtype == "float64":
        return f"pow({a}, {b})"
    return f"(({d.ctype(out_dtype)})pow((double){a}, (double){b}))"


def _unary(fmt):
    def render(args, in_dtypes, out_dtype, d):
        return fmt.format(x=d.cast(args[0], in_dtypes[0], out_dtype), t=d.ctype(out_dtype))
    return render


def _abs(args, in_dtypes, out_dtype, d):
    x = d.cast(args[0], in_dtypes[0], out_dtype)
    if _is_float(out_dtype):
        return f"{'fabsf' if out_dtype == 'float32' else 'fabs'}({x})"
    return f"(({x}) < 0 ? -({x}) : ({x}))"


def _sgn(args, in_dtypes, out_dtype, d):
    x = d.cast(args[0], in_dtypes[0], out_dtype)
    t = d.ctype(out_dtype)
    if _is_float(out_dtype):
        return f"(({x}) != ({x}) ? ({x}) : ({t})((({x}) > 0) - (({x}) < 0)))"
    return f"({t})((({x}) > 0) - (({x}) < 0))"


def _sigmoid(args, in_dtypes, out_dtype, d):
    x = d.cast(args[0], in_dtypes[0], out_dtype)
    if out_dtype == "float32":
        return f"(1.0f / (1.0f + expf(-({x}))))"
    return f"(1.0 / (1.0 + exp(-({x}))))"


def _softplus(args, in_dtypes, out_dtype, d):
    x = d.cast(args[0], in_dtypes[0], out_dtype)
    s = "f" if out_dtype == "float32" else ""
    return f"(fmax{s}({x}, 0) + log1p{s}(exp{s}(-fabs{s}({x}))))"


def _isnan(args, in_dtypes, out_dtype, d):
    return f"isnan({args[0]})" if _is_float(in_dtypes[0]) else "false"


def _isinf(args, in_dtypes, out_dtype, d):
    return f"isinf({args[0]})" if _is_float(in_dtypes[0]) else "false"


def _switch(args, in_dtypes, out_dtype, d):
    c, a, b = args
    return f"(({c}) ? {d.cast(a, in_dtypes[1], out_dtype)} : {d.cast(b, in_dtypes[2], out_dtype)})"


def _clip(args, in_dtypes, out_dtype, d):
    x, lo, hi = (d.cast(a, t, out_dtype) for a, t in zip(args, in_dtypes))
    return f"(({x}) < ({lo}) ? ({lo}) : (({x}) > ({hi}) ? ({hi}) : ({x})))"


def _identity(args, in_dtypes, out_dtype, d):
    return d.cast(args[0], in_dtypes[0], out_dtype)


def _second(args, in_dtypes, out_dtype, d):
    return d.cast(args[1], in_dtypes[1], out_dtype)


def _round_half_even(args, in_dtypes, out_dtype, d):
    x = d.cast(args[0], in_dtypes[0], out_dtype)
    if _is_float(out_dtype):
        return f"{'rintf' if out_dtype == 'float32' else 'rint'}({x})"
    return x


def _int_passthrough(fname):
    def render(args, in_dtypes, out_dtype, d):
        x = d.cast(args[0], in_dtypes[0], out_dtype)
        if _is_float(out_dtype):
            return f"{fname + 'f' if out_dtype == 'float32' else fname}({x})"
        return x
    return render


def _invert(args, in_dtypes, out_dtype, d):
    return f"(!{args[0]})" if out_dtype == "bool" else f"(~{args[0]})"


def _inv(args, in_dtypes, out_dtype, d):
    one = "1.0f" if out_dtype == "float32" else "1.0"
    return f"({one} / {d.cast(args[0], in_dtypes[0], out_dtype)})"


# scalar op name -> render(args, in_dtypes, out_dtype, dialect) -> C expression
SCALAR_TABLE = {
    "neg": _unary("(-({x}))"), "abs": _abs, "exp": _fn("exp"), "log": _fn("log"),
    "log1p": _fn("log1p"), "log2": _fn("log2"), "log10": _fn("log10"), "expm1": _fn("expm1"),
    "sqrt": _fn("sqrt"), "sqr": _unary("(({x}) * ({x}))"), "tanh": _fn("tanh"),
    "sinh": _fn("sinh"), "cosh": _fn("cosh"), "sin": _fn("sin"), "cos": _fn("cos"),
    "tan": _fn("tan"), "arctan": _fn("atan"), "inv": _inv, "sigmoid": _sigmoid,
    "softplus": _softplus, "erf": _fn("erf"), "sgn": _sgn,
    "floor": _int_passthrough("floor"), "ceil": _int_passthrough("ceil"),
    "trunc": _int_passthrough("trunc"), "round_half_to_even": _round_half_even,
    "isnan": _isnan, "isinf": _isinf, "invert": _invert, "identity": _identity,
    "add": _bin("+"), "sub": _bin("-"), "mul": _bin("*"), "true_div": _true_div,
    "int_div": _int_div, "mod": _mod, "pow": _pow, "maximum": _minmax("max"),
    "minimum": _minmax("min"), "second": _second,
    "arctan2": lambda a, i, o, d: f"{'atan2f' if o == 'float32' else 'atan2'}("
                                  f"{d.cast(a[0], i[0], o)}, {d.cast(a[1], i[1], o)})",
    "lt": _bin("<"), "gt": _bin(">"), "le": _bin("<="), "ge": _bin(">="), "eq": _bin("=="),
    "neq": _bin("!="), "and": _bin("&"), "or": _bin("|"), "xor": _bin("^"),
    "switch": _switch, "clip": _clip,
}


class Dialect:
    """What differs between C targets; the scalar table is shared by all of them."""

    name = "c"
    scalar_table = SCALAR_TABLE

    def ctype(self, dtype):
        try:
            return CTYPES[np.dtype(dtype).name]
        except KeyError:
            raise NotImplementedError(f"no C type for dtype {dtype}") from None

    def literal(self, value, dtype):
        dtype = np.dtype(dtype).name
        if dtype == "bool":
            return "true" if value else "false"
        if _is_float(dtype):
            v = float(value)
            if math.isnan(v):
                return "(0.0 / 0.0)" if dtype == "float64" else "(0.0f / 0.0f)"
            if math.isinf(v):
                inf = "(1.0 / 0.0)" if dtype == "float64" else "(1.0f / 0.0f)"
                return inf if v > 0 else f"(-{inf})"
            text = repr(v) if dtype == "float64" else repr(float(np.float32(v)))
            if "e" not in text and "." not in text:
                text += ".0"
            return text + ("f" if dtype == "float32" else "")
        v = int(value)
        t = self.ctype(dtype)
        if dtype == "int64" and v == -(1 << 63):
            return "INT64_MIN"
        return f"(({t}){v}{'LL' if dtype.endswith('64') and not dtype.startswith('u') else ''}" \
               f"{'ULL' if dtype == 'uint64' else ''})"

    def cast(self, expr, from_dtype, to_dtype):
        if from_dtype == to_dtype:
            return expr
        return f"(({self.ctype(to_dtype)})({expr}))"

    def scalar_expr(self, op, args, in_dtypes, out_dtype):
        """C expression of scalar op ``op`` applied to the expressions ``args``."""
        if isinstance(op, ps.Cast):
            if op.dtype == "bool":
                return f"(({args[0]}) != 0)"
            if _is_float(in_dtypes[0]) and not _is_float(op.dtype):
                # numpy float->int of NaN/inf is undefined; C truncation is what numpy does
                return self.cast(args[0], in_dtypes[0], op.dtype)
            return self.cast(args[0], in_dtypes[0], op.dtype)
        if isinstance(op, ps.ScalarConstant):
            return self.literal(op.value, op.dtype)
        render = self.scalar_table.get(op.name)
        if render is None:
            raise NotImplementedError(f"no C rendering for scalar op {op.name}")
        return render(list(args), list(in_dtypes), out_dtype, self)

    def composite(self, op, in_exprs, prefix="t"):
        """Statements computing a scalar op (a Composite: one per node) on ``in_exprs``.

        Returns ``(statements, out_exprs)``; each statement declares one
        ``const <type> <prefix><k>``.
        """
        if not isinstance(op, ps.Composite):
            in_dtypes = [dt for _, dt in in_exprs]
            out_dt = op.output_dtypes(in_dtypes)[0]
            expr = self.scalar_expr(op, [e for e, _ in in_exprs], in_dtypes, out_dt)
            name = f"{prefix}0"
            return [f"const {self.ctype(out_dt)} {name} = {expr};"], [(name, out_dt)]
        refs = list(in_exprs)
        lines = []
        for k, ((sop, args), dt) in enumerate(zip(op.nodes, op.node_dtypes)):
            a = [refs[r] for r in args]
            expr = self.scalar_expr(sop, [e for e, _ in a], [t for _, t in a], dt)
            name = f"{prefix}{k}"
            lines.append(f"const {self.ctype(dt)} {name} = {expr};")
            refs.append((name, dt))
        return lines, [refs[r] for r in op.outputs]

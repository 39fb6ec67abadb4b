"""Theano's module path ``theano.scalar``: the scalar ops (``symgraph.ops.scalar``) and the
dtype rules ``upcast`` / ``float_upcast``."""
from ..ops.scalar import (  # noqa: F401
    Cast, Clip, Composite, ScalarConstant, ScalarOp, Switch, abs_, add, and_, arctan, arctan2,
    cast_op, ceil, clip, cos, cosh, eq, erf, exp, expm1, floor, ge, gt, identity, int_div, inv,
    invert, isinf, isnan, le, log, log10, log1p, log2, lt, maximum, minimum, mod, mul, neg, neq,
    or_, pow, round_half_to_even, second, sgn, sigmoid, sin, sinh, softplus, sqr, sqrt, sub,
    switch, tan, tanh, true_div, trunc, xor,
)
from ..ops.type import float_upcast, upcast  # noqa: F401

__all__ = ["Cast", "Clip", "Composite", "ScalarConstant", "ScalarOp", "Switch", "abs_", "add",
           "and_", "arctan", "arctan2", "cast_op", "ceil", "clip", "cos", "cosh", "eq", "erf",
           "exp", "expm1", "floor", "ge", "gt", "identity", "int_div", "inv", "invert", "isinf",
           "isnan", "le", "log", "log10", "log1p", "log2", "lt", "maximum", "minimum", "mod",
           "mul", "neg", "neq", "or_", "pow", "round_half_to_even", "second", "sgn", "sigmoid",
           "sin", "sinh", "softplus", "sqr", "sqrt", "sub", "switch", "tan", "tanh", "true_div",
           "trunc", "xor", "upcast", "float_upcast"]

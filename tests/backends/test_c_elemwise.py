"""C backend: Elemwise (every scalar op, fused Composites, in place), CAReduce, Argmax.

Every value is checked against the Python reference backend on the same inputs:
float32/float64/integer/bool dtypes, transposed and step-sliced inputs,
broadcasting, and size-0/size-1 dimensions. Many expressions share one compiled
function to keep the number of compiles small.
"""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.compile.mode import Mode
from symgraph.ops import scalar as ps
from symgraph.ops.elemwise import Elemwise

pytestmark = pytest.mark.skipif(not c_available(), reason="no working C compiler")

C = Mode(linker="c", optimizer=None)          # every node exactly as built
C_OPT = Mode(linker="c")                      # with fusion and in-place rewrites
PY = Mode(linker="py", optimizer=None)


def check(inputs, outputs, values, mode=C, rtol=None):
    """Compile with ``mode`` and the Python reference, call both, compare each output."""
    ref = symgraph.function(inputs, outputs, mode=PY, on_unused_input="ignore")(*values)
    f = symgraph.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    got = f(*values)
    for k, (a, b) in enumerate(zip(got, ref)):
        b = np.asarray(b)
        assert a.dtype == b.dtype, (k, outputs[k], a.dtype, b.dtype)
        assert a.shape == b.shape, (k, outputs[k], a.shape, b.shape)
        if a.dtype.kind == "f":
            tol = rtol or (2e-6 if a.dtype == np.float32 else 1e-12)
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True, err_msg=str(outputs[k]))
        else:
            np.testing.assert_array_equal(a, b, err_msg=str(outputs[k]))
    return f


UNARY_FLOAT = ["neg", "abs", "exp", "log", "log1p", "log2", "log10", "expm1", "sqrt", "sqr", "tanh",
               "sinh", "cosh", "sin", "cos", "tan", "arctan", "inv", "sigmoid", "softplus", "erf", "sgn",
               "floor", "ceil", "trunc", "round_half_to_even", "isnan", "isinf", "identity"]


def _unary(name, x):
    return Elemwise(getattr(ps, "abs_" if name == "abs" else name))(x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unary_float_ops_on_strided_inputs(dtype):
    x = T.matrix("x", dtype=dtype)
    outs = [_unary(n, x) for n in UNARY_FLOAT]
    rng = np.random.RandomState(0)
    base = rng.uniform(-3, 3, (7, 10)).astype(dtype)
    base[0, :6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 2.5]
    base[1, :4] = [0.5, -0.5, 1.5, -2.5]           # rounding ties
    f = check([x], outs, [base.T[::2]])              # transposed and step-sliced: no unit stride
    got = f(np.ascontiguousarray(base[:, 1:4]))
    assert got[UNARY_FLOAT.index("tanh")].shape == (7, 3)


def test_binary_ops_across_dtypes_and_broadcasting():
    rng = np.random.RandomState(1)
    cases = [("float32", "float32"), ("float64", "float32"), ("int32", "int64"), ("int8", "uint8"),
             ("int64", "float32"), ("uint16", "uint16")]
    names = ["add", "sub", "mul", "true_div", "int_div", "mod", "maximum", "minimum", "lt", "gt", "le",
             "ge", "eq", "neq", "second"]
    for da, db in cases:
        a = T.matrix("a", dtype=da)
        b = T.row("b", dtype=db)                    # broadcast along the rows
        outs = [Elemwise(getattr(ps, n))(a, b) for n in names]
        if da[0] in "iu" and db[0] in "iu":
            outs += [Elemwise(ps.and_)(a, b), Elemwise(ps.or_)(a, b), Elemwise(ps.xor)(a, b)]
        else:
            outs += [Elemwise(ps.arctan2)(a, b), Elemwise(ps.pow)(T.abs_(a), b)]

        def draw(dt, shape):
            if dt[0] == "f":
                v = rng.uniform(-4, 4, shape)
                v.flat[:3] = [0.0, -2.0, np.nan][:v.size]
                return v.astype(dt)
            lo = 0 if dt[0] == "u" else -7
            return rng.randint(lo, 8, shape).astype(dt)    # includes zero divisors
        av = draw(da, (6, 5))
        bv = draw(db, (1, 5))
        check([a, b], outs, [av[::-1], bv])


def test_integer_semantics_match_numpy():
    a, b = T.lvectors("a", "b")
    i8 = T.bvector("i8")
    vals_a = np.array([7, -7, 7, -7, 0, 5, -2 ** 63, 3], dtype="int64")
    vals_b = np.array([2, 2, -2, -2, 3, 0, -1, -1], dtype="int64")
    outs = [a // b, a % b, a * b, a + b, -a, abs(a), a ** 3, T.sgn(a), ~a,
            i8 * i8, i8 + i8, -i8, T.cast(i8, "uint8"), T.true_div(a, b)]
    check([a, b, i8], outs, [vals_a, vals_b, np.array([-128, 127, 100, -3, 0, 1, 2, 5], "int8")])


def test_bool_ops_and_comparisons():
    p = T.tensor("bool", (False,), name="p")
    q = T.tensor("bool", (False,), name="q")
    x = T.dvector("x")
    outs = [p + q, p * q, p & q, p | q, p ^ q, ~p, T.eq(p, q), T.maximum(p, q),
            T.switch(p, x, -x), T.switch(x > 0, p, q), T.cast(x, "bool"), T.cast(p, "float32"),
            T.isnan(x), x > 0.5, T.sum(p), T.max(p)]
    check([p, q, x], outs, [np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool),
                            np.array([0.0, np.nan, 0.7, -1.0])])


def test_switch_clip_cast_and_constants():
    x = T.fmatrix("x")
    y = T.dmatrix("y")
    n = T.ivector("n")
    outs = [T.switch(x > 0, x, y), T.clip(x, -0.5, 0.5), T.clip(y, x, 1.0), T.cast(x, "int32"),
            T.cast(y, "uint8"), T.cast(n, "float32"), T.cast(n, "int8"), x * 2.5 + 1, y ** 2, x ** 0.5,
            T.maximum(x, np.nan), T.cast(x * 1e10, "int64")]
    rng = np.random.RandomState(2)
    xv = rng.uniform(-2, 2, (3, 4)).astype("float32")
    xv[0, 0] = np.nan
    check([x, y, n], outs, [xv, rng.uniform(-300, 300, (3, 4)), np.array([-1, 300, 7, 0], "int32")])


def test_fused_composite_with_broadcast_and_empty_dims():
    x = T.fmatrix("x")
    b = T.fvector("b")
    s = T.fscalar("s")
    z = T.tanh(x * 2 + b) * x - s
    w = T.exp(-T.sqr(x - b.dimshuffle("x", 0))) / (1 + s)
    f = check([x, b, s], [z, w], [np.random.rand(5, 3).astype("float32"), np.arange(3, dtype="float32"),
                                 np.float32(0.5)], mode=C_OPT)
    ops = [str(n.op) for n in f.maker.fgraph.toposort()]
    assert any("Composite" in o for o in ops), ops
    for shape in [(0, 3), (1, 3), (4, 1)]:     # size-0 and size-1 dims; the bias needs shape[1] entries
        xv = np.ones(shape, "float32")
        got = f(xv, np.ones(shape[1], "float32"), np.float32(0))
        assert got[0].shape == shape and np.allclose(got[0], np.tanh(3.0))


def test_large_fused_expression_uses_threads_and_matches():
    x = T.fvector("x")
    f = check([x], [T.tanh(x * 2 + 1) * x - 0.5, T.log1p(T.exp(x)) * T.nnet.sigmoid(x)],
              [np.random.RandomState(3).uniform(-1, 1, 300001).astype("float32")], mode=C_OPT)
    assert f.maker.linker.name == "c"


def test_inplace_elemwise_reuses_intermediate_but_never_an_input():
    x = T.dmatrix("x")
    w = T.dmatrix("w")
    y = x * 2
    z = Elemwise(ps.add, {0: 0})(y, w)             # may overwrite y: an intermediate
    u = Elemwise(ps.mul, {0: 0})(x, w)             # must not overwrite the input x
    f = symgraph.function([x, w], [z, u], mode=C)
    xv, wv = np.arange(6.0).reshape(2, 3), np.full((2, 3), 3.0)
    keep = xv.copy()
    got = f(xv, wv)
    np.testing.assert_array_equal(got[0], keep * 2 + 3)
    np.testing.assert_array_equal(got[1], keep * 3)
    np.testing.assert_array_equal(xv, keep)
    rt = f._run.runtime
    node = [n for n in rt.plan.nodes if n.outputs[0] is f.maker.fgraph.outputs[0]][0]
    assert rt.plan.inplace.get((rt.plan.index[node], 0)) == 0
    rt_u = [i for i, n in enumerate(rt.plan.nodes) if n.outputs[0] is f.maker.fgraph.outputs[1]][0]
    assert (rt_u, 0) not in rt.plan.inplace


def test_broadcast_shape_mismatch_raises_value_error_with_user_line():
    x, y = T.dmatrices("x", "y")
    z = x + y                                      # the line the error must point at
    f = symgraph.function([x, y], z, mode=C)
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones((3, 3)))
    msg = str(info.value)
    assert "Elemwise{add}" in msg and "dimension 0" in msg and "(2, 3), (3, 3)" in msg
    assert "test_c_elemwise.py" in msg


# ---------------------------------------------------------------- reductions

@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_reductions_over_every_axis_combination(dtype):
    x = T.tensor(dtype, (False, False, False), name="x")
    axes = [None, 0, 1, 2, (0, 1), (0, 2), (1, 2)]
    outs = []
    for ax in axes:
        outs += [T.sum(x, axis=ax), T.max(x, axis=ax), T.min(x, axis=ax)]
        if dtype != "bool":
            outs.append(T.prod(x, axis=ax))
    rng = np.random.RandomState(4)
    v = (rng.uniform(-2, 2, (6, 5, 8)) * (1 if dtype[0] == "f" else 3)).astype(dtype)
    check([x], outs, [v.transpose(1, 0, 2)[:, ::2]], rtol=1e-5)
    check([x], outs, [np.ascontiguousarray(v[:1, :1])], rtol=1e-5)


def test_large_reductions_first_last_and_middle_axes():
    x = T.ftensor3("x")
    outs = [x.sum(axis=0), x.sum(axis=2), x.sum(axis=(0, 2)), x.sum(), x.max(axis=1), x.mean(axis=1)]
    v = np.random.RandomState(5).rand(64, 40, 300).astype("float32")
    check([x], outs, [v], rtol=1e-5)


def test_reductions_of_empty_dims():
    x = T.dmatrix("x")
    f = check([x], [x.sum(axis=0), x.prod(axis=0), x.sum(axis=1)], [np.ones((0, 3))])
    assert f(np.ones((0, 3)))[0].shape == (3,)
    g = symgraph.function([x], x.max(axis=0), mode=C)
    with pytest.raises(ValueError, match="empty dimension"):
        g(np.ones((0, 3)))


def test_argmax_argmin_with_ties_and_nans():
    x = T.dmatrix("x")
    outs = [T.argmax(x, axis=0), T.argmax(x, axis=1), T.argmin(x, axis=1), T.argmax(x), T.argmin(x)]
    v = np.array([[1.0, 3.0, 3.0, -1.0], [np.nan, 2.0, 5.0, 5.0], [0.0, 0.0, 0.0, 0.0]])
    check([x], outs, [v])
    check([x], outs, [v.T[::-1]])
    g = symgraph.function([x], T.argmax(x, axis=1), mode=C)
    with pytest.raises(ValueError, match="empty"):
        g(np.ones((2, 0)))

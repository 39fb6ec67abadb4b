"""Tests for symgraph/ops/elemwise.py and ops/scalar.py: Elemwise, DimShuffle, scalar ops."""
import functools
import math

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import function
from symgraph.ops import scalar as ps
from symgraph.ops.elemwise import DimShuffle, Elemwise
from symgraph.tensor.type import TensorType

# Gradient graphs are backend-independent: check them on the reference backend (each
# verify_grad compiles several functions). The forward tests use the default backend.
verify_grad = functools.partial(symgraph.verify_grad, mode="py")


def _erf(a):
    return np.vectorize(math.erf)(a)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# name, scalar op, numpy reference, input domain, differentiable
UNARY = [
    ("neg", ps.neg, lambda a: -a, (-2, 2), True),
    ("abs", ps.abs_, np.abs, (0.1, 2), True),
    ("abs_neg", ps.abs_, np.abs, (-2, -0.1), True),
    ("exp", ps.exp, np.exp, (-2, 2), True),
    ("log", ps.log, np.log, (0.1, 3), True),
    ("log1p", ps.log1p, np.log1p, (-0.5, 3), True),
    ("log2", ps.log2, np.log2, (0.1, 3), True),
    ("log10", ps.log10, np.log10, (0.1, 3), True),
    ("expm1", ps.expm1, np.expm1, (-1, 1), True),
    ("sqrt", ps.sqrt, np.sqrt, (0.1, 3), True),
    ("sqr", ps.sqr, lambda a: a * a, (-2, 2), True),
    ("tanh", ps.tanh, np.tanh, (-2, 2), True),
    ("sinh", ps.sinh, np.sinh, (-2, 2), True),
    ("cosh", ps.cosh, np.cosh, (-2, 2), True),
    ("sin", ps.sin, np.sin, (-3, 3), True),
    ("cos", ps.cos, np.cos, (-3, 3), True),
    ("tan", ps.tan, np.tan, (-1, 1), True),
    ("arctan", ps.arctan, np.arctan, (-3, 3), True),
    ("inv", ps.inv, lambda a: 1.0 / a, (0.5, 2), True),
    ("sigmoid", ps.sigmoid, _sigmoid, (-5, 5), True),
    ("softplus", ps.softplus, lambda a: np.log1p(np.exp(a)), (-5, 5), True),
    ("erf", ps.erf, _erf, (-2, 2), True),
    ("identity", ps.identity, lambda a: a, (-2, 2), True),
    ("sgn", ps.sgn, np.sign, (-2, 2), False),
    ("floor", ps.floor, np.floor, (-3, 3), False),
    ("ceil", ps.ceil, np.ceil, (-3, 3), False),
    ("trunc", ps.trunc, np.trunc, (-3, 3), False),
    ("round_half_to_even", ps.round_half_to_even, np.round, (-3, 3), False),
]


@pytest.mark.parametrize("name, op, ref, dom, diff", UNARY, ids=[u[0] for u in UNARY])
def test_unary_forward_and_grad(name, op, ref, dom, diff, rng):
    a = rng.uniform(*dom, size=(2, 3))
    x = T.dmatrix("x")
    out = function([x], Elemwise(op)(x))(a)
    assert out.dtype == np.float64 and out.shape == a.shape
    np.testing.assert_allclose(out, ref(a), rtol=1e-12, atol=1e-15)
    if diff:
        verify_grad(lambda v: Elemwise(op)(v), [a], rng=rng)
    else:   # piecewise constant: zero gradient
        g = symgraph.grad(T.sum(Elemwise(op)(x)), x)
        np.testing.assert_array_equal(function([x], g)(a), np.zeros_like(a))


def test_float_ops_on_float32_stay_float32(rng):
    x = T.fvector("x")
    a = rng.uniform(0.5, 2, size=5).astype("float32")
    for _, op, ref, _, _ in UNARY:
        out = function([x], Elemwise(op)(x))(a)
        assert out.dtype == np.float32, op
        np.testing.assert_allclose(out, ref(a.astype("float64")), rtol=1e-5, atol=1e-6)


def test_sigmoid_softplus_extreme_values():
    x = T.dvector("x")
    a = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    s, sp = function([x], [Elemwise(ps.sigmoid)(x), Elemwise(ps.softplus)(x)])(a)
    np.testing.assert_allclose(s, [0.0, _sigmoid(-30.0), 0.5, _sigmoid(30.0), 1.0])
    np.testing.assert_allclose(sp, [0.0, np.log1p(np.exp(-30.0)), np.log(2.0), 30.0, 800.0])
    assert np.isfinite(s).all() and np.isfinite(sp).all()


BINARY = [
    ("add", T.add, np.add, (-2, 2), (-2, 2)),
    ("sub", T.sub, np.subtract, (-2, 2), (-2, 2)),
    ("mul", T.mul, np.multiply, (-2, 2), (-2, 2)),
    ("true_div", T.true_div, np.true_divide, (-2, 2), (0.5, 2)),
    ("pow", T.pow, np.power, (0.5, 2), (-2, 2)),
    ("maximum", T.maximum, np.maximum, (-2, 2), (-2, 2)),
    ("minimum", T.minimum, np.minimum, (-2, 2), (-2, 2)),
    ("arctan2", T.arctan2, np.arctan2, (-2, 2), (0.5, 2)),
]


@pytest.mark.parametrize("name, fn, ref, dom_a, dom_b", BINARY, ids=[b[0] for b in BINARY])
def test_binary_forward_and_grad(name, fn, ref, dom_a, dom_b, rng):
    a = rng.uniform(*dom_a, size=(2, 3))
    b = rng.uniform(*dom_b, size=(2, 3))
    x, y = T.dmatrices("x", "y")
    np.testing.assert_allclose(function([x, y], fn(x, y))(a, b), ref(a, b), rtol=1e-12)
    verify_grad(fn, [a, b], rng=rng)


@pytest.mark.parametrize("name, fn, ref, dom_a, dom_b", BINARY, ids=[b[0] for b in BINARY])
def test_binary_grad_with_broadcasting(name, fn, ref, dom_a, dom_b, rng):
    """Gradients sum over the dimensions where an input was broadcast."""
    a = rng.uniform(*dom_a, size=(3, 4))
    row = rng.uniform(*dom_b, size=(1, 4))
    col = rng.uniform(*dom_b, size=(3, 1))
    vec = rng.uniform(*dom_b, size=4)
    scal = rng.uniform(*dom_b, size=())
    verify_grad(lambda m, r: fn(m, T.addbroadcast(r, 0)), [a, row], rng=rng)
    verify_grad(lambda c, m: fn(T.addbroadcast(c, 1), m), [col, a], rng=rng)
    verify_grad(lambda m, v: fn(m, v), [a, vec], rng=rng)
    verify_grad(lambda m, s: fn(m, s), [a, scal], rng=rng)
    verify_grad(lambda s, m: fn(s, m), [scal, a], rng=rng)


def test_broadcast_grad_shapes_and_types():
    m = T.dmatrix("m")
    r = T.drow("r")
    v = T.dvector("v")
    s = T.dscalar("s")
    gr, gv, gs = symgraph.grad(T.sum(m * r + v * s), [r, v, s])
    assert gr.type == r.type and gv.type == v.type and gs.type == s.type
    a = np.arange(6.0).reshape(2, 3)
    out = function([m, r, v, s], [gr, gv, gs])(a, np.ones((1, 3)), np.ones(3), 2.0)
    np.testing.assert_array_equal(out[0], a.sum(0, keepdims=True))
    np.testing.assert_array_equal(out[1], [4.0, 4.0, 4.0])
    assert out[2] == 6.0


def test_pow_grad_with_integer_exponent_and_zero_base(rng):
    x = T.dvector("x")
    g = symgraph.grad(T.sum(x ** 3), x)
    a = np.array([-2.0, 0.0, 1.5])
    np.testing.assert_allclose(function([x], g)(a), 3 * a ** 2)
    y = T.dvector("y")
    gx, gy = symgraph.grad(T.sum(x ** y), [x, y])
    outx, outy = function([x, y], [gx, gy])(np.array([0.0, 2.0]), np.array([2.0, 3.0]))
    np.testing.assert_allclose(outx, [0.0, 12.0])
    np.testing.assert_allclose(outy, [0.0, 8.0 * np.log(2.0)])   # finite at x == 0
    verify_grad(lambda v: v ** 2.5, [rng.uniform(0.5, 2, 4)], rng=rng)


def test_integer_pow_dtype():
    i = T.ivector("i")
    out = function([i], i ** 2)(np.array([1, 2, 3], dtype="int32"))
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [1, 4, 9])


def test_comparison_and_logic_ops():
    x, y = T.dvectors("x", "y")
    a, b = np.array([1.0, 2.0, np.nan]), np.array([2.0, 2.0, 1.0])
    ops = [(ps.lt, np.less), (ps.gt, np.greater), (ps.le, np.less_equal),
           (ps.ge, np.greater_equal), (ps.eq, np.equal), (ps.neq, np.not_equal)]
    outs = function([x, y], [Elemwise(op)(x, y) for op, _ in ops])(a, b)
    for out, (op, ref) in zip(outs, ops):
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out, ref(a, b), err_msg=op.name)
    i, j = T.bvectors("i", "j")
    c, d = np.array([1, 6, -3], dtype="int8"), np.array([3, 3, 5], dtype="int8")
    outs = function([i, j], [i & j, i | j, i ^ j, ~i, i // j, i % j])(c, d)
    for out, ref in zip(outs, [c & d, c | d, c ^ d, ~c, c // d, c % d]):
        assert out.dtype == np.int8
        np.testing.assert_array_equal(out, ref)


def test_comparison_grads_are_zero(rng):
    x, y = T.dvectors("x", "y")
    gx = symgraph.grad(T.sum(T.cast(x < y, "float64") * x), x)
    a = rng.rand(4)
    np.testing.assert_array_equal(function([x, y], gx)(a, a + 0.5), np.ones(4))
    gx, gy = symgraph.grad(T.sum(x // y + x % y), [x, y])
    zx, zy = function([x, y], [gx, gy])(a + 1, a + 0.5)
    np.testing.assert_array_equal(zx, 0 * a)
    np.testing.assert_array_equal(zy, 0 * a)


def test_switch_forward_and_grad(rng):
    c = T.dvector("c")
    a, b = rng.rand(6), rng.rand(6)
    mask = np.array([1.0, 0, 1, 0, 0, 1])
    x, y = T.dvectors("x", "y")
    out = function([c, x, y], T.switch(c, x, y))(mask, a, b)
    np.testing.assert_array_equal(out, np.where(mask, a, b))
    verify_grad(lambda p, q: T.switch(T.constant(mask), p, q), [a, b], rng=rng)
    verify_grad(lambda p: T.switch(p > 0.5, p ** 2, -p), [a], rng=rng)
    gc = symgraph.grad(T.sum(T.switch(c, x, y)), c)       # float condition: zero gradient
    np.testing.assert_array_equal(function([c, x, y], gc, on_unused_input="ignore")(mask, a, b),
                                  np.zeros(6))
    # broadcasting condition and branches
    m = T.dmatrix("m")
    out = function([m], T.switch(m > 0, m, 0.0))(np.array([[-1.0, 2.0]]))
    np.testing.assert_array_equal(out, [[0.0, 2.0]])


def test_clip_forward_and_grad(rng):
    a = np.array([-1.3, -0.2, 0.3, 0.6, 1.7])
    x = T.dvector("x")
    np.testing.assert_array_equal(function([x], T.clip(x, 0.0, 0.5))(a), np.clip(a, 0, 0.5))
    verify_grad(lambda v: T.clip(v, 0.0, 0.5), [a], rng=rng)
    lo, hi = T.dscalars("lo", "hi")
    glo, ghi = symgraph.grad(T.sum(T.clip(x, lo, hi)), [lo, hi])
    out = function([x, lo, hi], [glo, ghi])(a, 0.0, 0.5)
    assert out == [2.0, 2.0]      # two values below 0, two above 0.5
    verify_grad(lambda v, p, q: T.clip(v, p, q), [a, np.array(0.0), np.array(0.5)], rng=rng)


def test_maximum_minimum_tie_gradient_goes_to_first_input():
    x, y = T.dvectors("x", "y")
    gx, gy = symgraph.grad(T.sum(T.maximum(x, y)), [x, y])
    hx, hy = symgraph.grad(T.sum(T.minimum(x, y)), [x, y])
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([2.0, 2.0, 1.0])
    out = function([x, y], [gx, gy, hx, hy])(a, b)
    np.testing.assert_array_equal(out[0], [0, 1, 1])
    np.testing.assert_array_equal(out[1], [1, 0, 0])
    np.testing.assert_array_equal(out[2], [1, 1, 0])
    np.testing.assert_array_equal(out[3], [0, 0, 1])


@pytest.mark.parametrize("src, dst, value, expected", [
    ("float64", "int32", -1.7, -1),
    ("float64", "int64", 2.9, 2),
    ("float64", "float32", 0.1, np.float32(0.1)),
    ("int32", "float64", 7, 7.0),
    ("float32", "bool", 0.5, True),
    ("int64", "int8", 300, 44),
    ("bool", "float32", True, 1.0),
])
def test_cast_forward(src, dst, value, expected):
    x = T.tensor(src, ())
    out = function([x], T.cast(x, dst))(np.asarray(value, dtype=src))
    assert out.dtype == np.dtype(dst)
    assert out == expected


def test_cast_grad(rng):
    x = T.dvector("x")
    verify_grad(lambda v: T.cast(v, "float32") * 2, [rng.rand(3)], rng=rng, eps=1e-3,
                abs_tol=1e-3, rel_tol=1e-3)
    g = symgraph.grad(T.sum(T.cast(x, "float32")), x)
    assert g.dtype == "float64"
    gi = symgraph.grad(T.sum(T.cast(T.cast(x, "int32"), "float64")), x)
    np.testing.assert_array_equal(function([x], gi)(rng.rand(3)), np.zeros(3))


def test_second_fill():
    x = T.dmatrix("x")
    v = T.dvector("v")
    out = function([x, v], T.fill(x, v))(np.zeros((2, 3)), np.arange(3.0))
    np.testing.assert_array_equal(out, [[0, 1, 2], [0, 1, 2]])
    verify_grad(lambda p, q: T.fill(p, q), [np.zeros((2, 3)), np.arange(3.0)])


def test_output_of_fill_is_not_an_input_buffer():
    x, y = T.dvectors("x", "y")
    f = function([x, y], T.fill(x, y))
    b = np.arange(3.0)
    out = f(np.ones(3), b)
    assert not np.shares_memory(out, b)
    out[0] = 99.0
    assert b[0] == 0.0


def test_runtime_shape_mismatch_message(lineno):
    x = T.dvector("x")
    y = T.dvector("y")
    expr = T.maximum(x, y) * 2; line = lineno()  # noqa: E702
    f = function([x, y], expr)
    with pytest.raises(ValueError) as info:
        f(np.ones(2), np.ones(5))
    msg = str(info.value)
    # (rewrites may fuse maximum and mul into one Composite elementwise op)
    assert "Elemwise{" in msg and "maximum" in msg and "(2,)" in msg and "(5,)" in msg
    assert f"line {line}" in msg and __file__ in msg


def test_elemwise_node_structure():
    x = T.dmatrix("x")
    v = T.fvector("v")
    node = Elemwise(ps.add).make_node(x, v)
    assert isinstance(node.inputs[1].owner.op, DimShuffle)       # v padded to a row
    assert node.inputs[1].broadcastable == (True, False)
    assert node.outputs[0].type == TensorType("float64", (False, False))
    with pytest.raises(TypeError, match="takes 2 inputs"):
        Elemwise(ps.add).make_node(x)
    assert str(Elemwise(ps.add)) == "Elemwise{add}"
    assert Elemwise(ps.add) == Elemwise(ps.add)
    assert Elemwise(ps.add) != Elemwise(ps.mul)
    assert hash(Elemwise(ps.exp)) == hash(Elemwise(ps.exp))
    assert Elemwise(ps.cast_op("int8")) == Elemwise(ps.Cast("int8"))
    assert ps.cast_op("int8") is ps.cast_op("int8")


def test_elemwise_inplace_pattern():
    x, y = T.dvectors("x", "y")
    op = Elemwise(ps.add, {0: 0})
    assert op.destroy_map == {0: [0]}
    assert "inplace" in str(op)
    node = op.make_node(x, y)
    a, b = np.ones(3), np.arange(3.0)
    storage = [[None]]
    op.perform(node, [a, b], storage)
    assert storage[0][0] is a
    np.testing.assert_array_equal(a, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="inplace"):
        Elemwise(ps.add, {0: 0}).make_node(T.fvector(), T.dvector())
    with pytest.raises(TypeError, match="inplace"):
        Elemwise(ps.add, {0: 0}).make_node(T.drow(), T.dmatrix())


def test_elemwise_infer_shape():
    x = T.dmatrix("x")
    r = T.drow("r")
    node = (r + x).owner
    shapes = node.op.infer_shape(node, [(1, "n"), ("a", "b")])
    assert shapes == [("a", "n")]


def test_composite_op():
    # (i0 + i1) * exp(i0), with a literal
    comp = ps.Composite(["float64", "float32"],
                        [(ps.add, (0, 1)), (ps.exp, (0,)), (ps.mul, (2, 3)),
                         (ps.ScalarConstant(2.0, "float64"), ()), (ps.mul, (4, 5))],
                        [4, 6])
    assert comp.nin == 2 and comp.nout == 2
    assert comp.output_dtypes(["float64", "float32"]) == ["float64", "float64"]
    assert comp.describe() == ["((i0 + i1) * exp(i0))", "(((i0 + i1) * exp(i0)) * 2.0)"]
    x = T.dvector("x")
    y = T.fvector("y")
    outs = Elemwise(comp)(x, y)
    a, b = np.array([0.0, 1.0]), np.array([1.0, 2.0], dtype="float32")
    r1, r2 = function([x, y], outs)(a, b)
    np.testing.assert_allclose(r1, (a + b) * np.exp(a))
    np.testing.assert_allclose(r2, 2 * (a + b) * np.exp(a))
    assert comp == ps.Composite(["float64", "float32"], list(comp.nodes), [4, 6])
    assert "Composite{" in str(Elemwise(comp))


# ---------------------------------------------------------------- DimShuffle

@pytest.mark.parametrize("shape, bcast, order", [
    ((2, 3), (False, False), (1, 0)),
    ((2, 3), (False, False), ("x", 0, 1)),
    ((2, 3), (False, False), (0, "x", 1, "x")),
    ((1, 3), (True, False), (1,)),
    ((2, 1), (False, True), (0,)),
    ((2, 1, 3), (False, True, False), (2, "x", 0)),
    ((), (), ("x", "x")),
    ((1,), (True,), ()),
    ((2, 3, 4), (False,) * 3, (2, 0, 1)),
])
def test_dimshuffle_forward_and_grad(shape, bcast, order, rng):
    a = rng.rand(*shape)
    x = T.tensor("float64", bcast)
    y = x.dimshuffle(*order) if order else DimShuffle(bcast, ())(x)
    kept = [d for d in order if d != "x"]
    dropped = [d for d in range(len(shape)) if d not in kept]
    ref = np.transpose(a, kept + dropped).reshape([1 if d == "x" else shape[d] for d in order])
    out = function([x], y)(a)
    np.testing.assert_array_equal(out, ref)
    assert y.broadcastable == tuple(True if d == "x" else bcast[d] for d in order)

    def fn(v):
        return T.patternbroadcast(v, bcast).dimshuffle(*order) if order else \
            DimShuffle(bcast, ())(T.patternbroadcast(v, bcast))
    verify_grad(fn, [a], rng=rng)


def test_dimshuffle_errors_and_str():
    x = T.dmatrix("x")
    with pytest.raises(ValueError, match="cannot drop non-broadcastable"):
        x.dimshuffle(0)
    with pytest.raises(ValueError, match="invalid dimension"):
        x.dimshuffle(0, 2)
    with pytest.raises(ValueError, match="repeated"):
        x.dimshuffle(0, 0)
    with pytest.raises(TypeError, match="2-d"):
        DimShuffle((False, False), (1, 0)).make_node(T.dvector())
    with pytest.raises(TypeError):
        DimShuffle((True, False), (1,)).make_node(x)
    # more broadcastable than declared is fine
    assert DimShuffle((False, False), (1, 0)).make_node(T.drow()).outputs[0].broadcastable == \
        (False, True)
    assert str(DimShuffle((False, False), ("x", 1, 0))) == "DimShuffle{x,1,0}"
    assert DimShuffle((False, False), (1, 0)).is_transpose
    assert not DimShuffle((False, False), ("x", 0, 1)).is_transpose


def test_dimshuffle_is_a_view_and_infer_shape():
    x = T.dmatrix("x")
    y = x.dimshuffle(1, "x", 0)
    assert y.owner.op.view_map == {0: [0]}
    a = np.arange(6.0).reshape(2, 3)
    storage = [[None]]
    y.owner.op.perform(y.owner, [a], storage)
    assert np.shares_memory(storage[0][0], a)
    assert y.owner.op.infer_shape(y.owner, [("r", "c")]) == [("c", 1, "r")]


def test_dimshuffle_grad_of_broadcast_insert(rng):
    """Gradient through an inserted axis that later broadcasts sums over it."""
    v = rng.rand(3)
    m = rng.rand(4, 3)
    verify_grad(lambda p, q: p.dimshuffle("x", 0) * q, [v, m], rng=rng)
    verify_grad(lambda p, q: p.dimshuffle(0, "x") + q.T, [v, m], rng=rng)

"""Tests for symgraph/ops/reduce.py: CAReduce (sum/prod/max/min), Argmax and the mean/var/std built on them."""
import functools

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import function
from symgraph.ops.reduce import Argmax, CAReduce, normalize_axis

# Gradient graphs are backend-independent: check them on the reference backend (each
# verify_grad compiles several functions). The forward tests use the default backend.
verify_grad = functools.partial(symgraph.verify_grad, mode="py")

AXES = [None, 0, 1, 2, -1, (0, 2), (1, 2), (0, 1, 2)]
REDUCERS = [("sum", T.sum, np.sum), ("prod", T.prod, np.prod), ("max", T.max, np.max),
            ("min", T.min, np.min), ("mean", T.mean, np.mean), ("var", T.var, np.var),
            ("std", T.std, np.std)]


def _ref_loop_sum(a, axes):
    """Explicit-loop reference for a sum over ``axes`` (independent of np.sum's axis handling)."""
    keep = [d for d in range(a.ndim) if d not in axes]
    out = np.zeros([a.shape[d] for d in keep])
    for idx in np.ndindex(*a.shape):
        out[tuple(idx[d] for d in keep)] += a[idx]
    return out


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name, fn, ref", REDUCERS, ids=[r[0] for r in REDUCERS])
def test_reduction_forward(name, fn, ref, axis, keepdims, rng):
    a = rng.uniform(0.5, 1.5, size=(2, 3, 4))
    x = T.dtensor3("x")
    y = fn(x, axis=axis, keepdims=keepdims)
    out = function([x], y)(a)
    expected = ref(a, axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    assert y.ndim == expected.ndim
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize("axis", [None, 0, (0, 2)])
def test_sum_against_explicit_loops(axis, rng):
    a = rng.rand(2, 3, 4)
    x = T.dtensor3("x")
    axes = tuple(range(3)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    np.testing.assert_allclose(function([x], T.sum(x, axis=axis))(a), _ref_loop_sum(a, axes))


@pytest.mark.parametrize("axis", [None, 1, (0, 2), -1])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name, fn, ref", REDUCERS, ids=[r[0] for r in REDUCERS])
def test_reduction_grad(name, fn, ref, axis, keepdims, rng):
    a = rng.uniform(0.5, 1.5, size=(2, 3, 4))   # distinct values: no ties for max/min
    verify_grad(lambda v: fn(v, axis=axis, keepdims=keepdims), [a], rng=rng)


def test_keepdims_broadcastable_pattern():
    x = T.dtensor3("x")
    assert T.sum(x, axis=1, keepdims=True).broadcastable == (False, True, False)
    assert T.max(x, keepdims=True).broadcastable == (True, True, True)
    assert T.sum(x, axis=(0, 2)).broadcastable == (False,)
    r = T.drow("r")
    assert T.sum(r, axis=1).broadcastable == (True,)


def test_prod_grad_with_zeros():
    x = T.dmatrix("x")
    a = np.array([[0.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 0.0, 7.0]])
    g_all = symgraph.grad(T.prod(x), x)
    g_rows = symgraph.grad(T.sum(T.prod(x, axis=1) * np.array([1.0, 2.0, 3.0])), x)
    out_all, out_rows = function([x], [g_all, g_rows])(a)
    np.testing.assert_array_equal(out_all, np.zeros((3, 3)))   # three zeros: all zero
    expected = np.array([[6.0, 0.0, 0.0],              # one zero: the product of the others
                         [2 * 30.0, 2 * 24.0, 2 * 20.0],
                         [0.0, 0.0, 0.0]])             # two zeros in the row
    np.testing.assert_array_equal(out_rows, expected)
    b = np.array([[0.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(function([x], g_all)(b), [[24.0, 0.0], [0.0, 0.0]])
    assert np.isfinite(function([x], g_all)(np.array([[0.0, 1.0]]))).all()


def test_max_grad_goes_to_every_maximal_element():
    x = T.dvector("x")
    g = symgraph.grad(T.max(x), x)
    np.testing.assert_array_equal(function([x], g)(np.array([1.0, 3.0, 3.0, 2.0])),
                                  [0.0, 1.0, 1.0, 0.0])
    g = symgraph.grad(T.min(x), x)
    np.testing.assert_array_equal(function([x], g)(np.array([1.0, 3.0, -3.0, 2.0])),
                                  [0.0, 0.0, 1.0, 0.0])


def test_integer_reductions():
    x = T.bmatrix("x")
    a = np.full((3, 100), 100, dtype="int8")       # the int8 sum would overflow
    s, p, mx, mn = function([x], [T.sum(x), T.prod(x[:, :2], axis=1), T.max(x, axis=0),
                                  T.min(x)])(a)
    assert s.dtype == np.int64 and s == 30000
    assert p.dtype == np.int64 and p.tolist() == [10000] * 3
    assert mx.dtype == np.int8 and mn.dtype == np.int8
    u = T.tensor("uint8", (False,))
    assert function([u], T.sum(u))(np.full(300, 255, dtype="uint8")) == 255 * 300
    h = T.tensor("float16", (False,))
    assert T.sum(h).dtype == "float32"
    assert T.mean(h).dtype == "float16"
    v = T.ivector("v")
    assert function([v], T.mean(v))(np.array([1, 2, 4], dtype="int32")) == pytest.approx(7 / 3)
    assert symgraph.grad(T.sum(T.cast(v, "float64") * 1.0), v).dtype == "float64"


def test_reduce_empty_dimension():
    x = T.dmatrix("x")
    f = function([x], [T.sum(x, axis=0), T.prod(x, axis=0)])
    s, p = f(np.zeros((0, 3)))
    np.testing.assert_array_equal(s, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(p, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="empty dimension"):
        function([x], T.max(x, axis=0), mode="py")(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="empty"):
        function([x], T.argmax(x, axis=0), mode="py")(np.zeros((0, 3)))


def test_careduce_op_properties():
    op = CAReduce("add", (0, 2))
    assert str(op) == "Sum{axis=[0, 2]}"
    assert op == CAReduce("add", [0, 2]) and hash(op) == hash(CAReduce("add", (0, 2)))
    assert op != CAReduce("mul", (0, 2)) and op != CAReduce("add", (0,))
    assert op != CAReduce("add", (0, 2), "float32")
    with pytest.raises(ValueError):
        CAReduce("sub", (0,))
    with pytest.raises(ValueError, match="out of range"):
        CAReduce("add", (3,)).make_node(T.dmatrix())
    x = T.dtensor3()
    node = CAReduce("max", (1,)).make_node(x)
    assert node.op.infer_shape(node, [("a", "b", "c")]) == [("a", "c")]
    assert str(CAReduce("mul", (1,))) == "Prod{axis=[1]}"


def test_normalize_axis():
    assert normalize_axis(None, 3) == (0, 1, 2)
    assert normalize_axis(-1, 3) == (2,)
    assert normalize_axis(np.int64(1), 3) == (1,)
    assert normalize_axis([2, 0], 3) == (0, 2)
    assert normalize_axis(None, 0) == ()
    assert normalize_axis(0, 0) == ()
    with pytest.raises(ValueError, match="out of range"):
        normalize_axis(3, 3)
    with pytest.raises(ValueError, match="out of range"):
        normalize_axis(-4, 3)
    with pytest.raises(ValueError, match="repeated"):
        normalize_axis((1, -2), 3)


def test_reduction_over_no_axes_of_scalar():
    s = T.dscalar("s")
    assert T.sum(s) is s
    assert T.sum(s, dtype="float32").dtype == "float32"
    assert function([s], T.mean(s))(3.0) == 3.0


def test_argmax_op(rng):
    a = rng.rand(3, 4, 5)
    x = T.dtensor3("x")
    cases = [(Argmax(None)(x), a.argmax()), (Argmax(1)(x), a.argmax(1)),
             (Argmax(2, "min")(x), a.argmin(2))]
    for out, (_, ref) in zip(function([x], [c[0] for c in cases])(a), cases):
        np.testing.assert_array_equal(out, ref)
        assert out.dtype == np.int64
    assert str(Argmax(1)) == "Argmax{axis=1}"
    assert str(Argmax(None, "min")) == "Argmin{axis=None}"
    node = Argmax(1)(x).owner
    assert node.op.infer_shape(node, [("a", "b", "c")]) == [("a", "c")]
    g = symgraph.grad(T.sum(T.cast(T.argmax(x, axis=0), "float64") * T.sum(x)), x)
    np.testing.assert_allclose(function([x], g)(a), np.full(a.shape, a.argmax(0).sum()))


def test_mean_var_std_grads(rng):
    a = rng.rand(3, 4)
    verify_grad(lambda v: T.mean(v), [a], rng=rng)
    verify_grad(lambda v: T.var(v, axis=0, ddof=1), [a], rng=rng)
    verify_grad(lambda v: T.std(v, axis=1, keepdims=True), [a], rng=rng)
    verify_grad(lambda v: v.norm(2, axis=0), [a], rng=rng)

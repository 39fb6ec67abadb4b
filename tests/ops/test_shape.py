"""Tests for symgraph/ops/shape.py: Shape, Shape_i, MakeVector, Reshape, Alloc, Join, Arange,
Rebroadcast, SpecifyShape."""
import functools

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import function
from symgraph.ops import shape as sh

# Gradient graphs are backend-independent: check them on the reference backend (each
# verify_grad compiles several functions). The forward tests use the default backend.
verify_grad = functools.partial(symgraph.verify_grad, mode="py")


def _eval_shape(dims, inputs, values):
    """Evaluate a tuple of symbolic/int dims (from infer_shape) to ints."""
    syms = [d for d in dims if not isinstance(d, (int, np.integer))]
    vals = iter(function(inputs, syms, on_unused_input="ignore")(*values) if syms else [])
    return tuple(int(d) if isinstance(d, (int, np.integer)) else int(next(vals)) for d in dims)


def test_shape_and_shape_i():
    x = T.dtensor3("x")
    a = np.zeros((2, 3, 4))
    s = sh.shape(x)
    assert s.type == T.TensorType("int64", (False,))
    f = function([x], [s, sh.Shape_i(1)(x), x.shape[2], x.shape[-1] * 2])
    out = f(a)
    np.testing.assert_array_equal(out[0], [2, 3, 4])
    assert out[0].dtype == np.int64
    assert out[1] == 3 and out[1].dtype == np.int64
    assert out[2] == 4 and out[3] == 8
    with pytest.raises(IndexError, match="no dimension 3"):
        sh.Shape_i(3)(x)
    assert str(sh.Shape_i(1)) == "Shape_i{1}"
    assert s.owner.op.infer_shape(s.owner, [(2, 3, 4)]) == [(3,)]


def test_make_vector_and_shape_vector():
    i = T.iscalar("i")
    n = T.lscalar("n")
    v = sh.MakeVector("int64")(i, n, 3)
    assert v.type == T.TensorType("int64", (False,))
    np.testing.assert_array_equal(function([i, n], v)(1, 2), [1, 2, 3])
    with pytest.raises(TypeError, match="expected scalars"):
        sh.MakeVector()(T.lvector())
    c = sh.shape_vector([2, np.int64(3)])
    assert isinstance(c, T.TensorConstant) and c.data.tolist() == [2, 3]
    assert sh.static_dims(c, 2) == [2, 3]
    sv = sh.shape_vector([n, 1, -1])
    assert sh.static_dims(sv, 3) == [None, 1, -1]
    w = T.lvector()
    assert sh.shape_vector(w) is w and sh.static_dims(w, 2) == [None, None]
    with pytest.raises(TypeError, match="vector"):
        sh.shape_vector(T.lmatrix())
    # gradient through a float MakeVector
    x, y = T.dscalars("x", "y")
    fv = sh.MakeVector("float64")(x, y)
    gx, gy = symgraph.grad(T.sum(fv * np.array([2.0, 3.0])), [x, y])
    assert function([x, y], [gx, gy])(1.0, 1.0) == [2.0, 3.0]


@pytest.mark.parametrize("shape, newshape", [
    ((2, 6), (3, 4)), ((2, 6), (-1,)), ((2, 6), (4, -1)), ((2, 3, 4), (6, 4)),
    ((12,), (2, 2, 3)), ((1, 4), (4, 1)), ((), (1,)), ((3, 1), (3,)),
])
def test_reshape_forward_and_grad(shape, newshape, rng):
    a = np.asarray(rng.rand(*shape))
    x = T.tensor("float64", (False,) * len(shape))
    y = T.reshape(x, newshape)
    np.testing.assert_array_equal(function([x], y)(a), a.reshape(newshape))
    verify_grad(lambda v: T.reshape(v, newshape), [a], rng=rng)


def test_reshape_symbolic_shape_grad(rng):
    a = rng.rand(2, 24)
    n = T.lscalar("n")
    x = T.dmatrix("x")
    y = x.reshape((n, 1, 4, 6))
    g = symgraph.grad(T.sum(y * y), x)
    np.testing.assert_allclose(function([x, n], g)(a, 2), 2 * a)
    verify_grad(lambda v: v.reshape((v.shape[0], 3, -1)), [a], rng=rng)


def test_reshape_grad_keeps_input_broadcastable():
    r = T.drow("r")
    g = symgraph.grad(T.sum(r.reshape((3,)) ** 2), r)
    assert g.type == r.type
    np.testing.assert_array_equal(function([r], g)(np.ones((1, 3))), 2 * np.ones((1, 3)))


def test_reshape_op_checks():
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="integer vector"):
        sh.Reshape(2)(x, T.dvector())
    with pytest.raises(ValueError, match="ndim=3"):
        sh.Reshape(3)(x, sh.shape_vector([2, 3]))
    v = T.lvector("v")
    f = function([x, v], sh.Reshape(2)(x, v), mode="py")     # the reference messages
    with pytest.raises(ValueError, match="expected 2"):
        f(np.zeros((2, 3)), np.array([6]))
    with pytest.raises(ValueError, match=r"cannot reshape an array of shape \(2, 3\)"):
        f(np.zeros((2, 3)), np.array([4, 2]))
    y = sh.Reshape(2)(x, v)
    assert y.owner.op.view_map == {0: [0]}


def test_reshape_infer_shape():
    x = T.dmatrix("x")
    n = T.lscalar("n")
    a = np.zeros((4, 6))
    for newshape, expected in [((n, -1), (2, 12)), ((3, -1), (3, 8)), ((n, 3, 4), (2, 3, 4)),
                               ((24,), (24,))]:
        y = x.reshape(newshape)
        (dims,) = y.owner.op.infer_shape(y.owner, [(x.shape[0], x.shape[1]), (len(newshape),)])
        assert _eval_shape(dims, [x, n], [a, 2]) == expected


def test_alloc_forward_and_grad(rng):
    n = T.lscalar("n")
    v = T.dvector("v")
    s = T.dscalar("s")
    f = function([v, s, n], [T.alloc(v, n, 3), T.alloc(s, 2, n), T.alloc(s, n)], mode="py")
    o1, o2, o3 = f(np.arange(3.0), 1.5, 4)
    np.testing.assert_array_equal(o1, np.tile(np.arange(3.0), (4, 1)))
    np.testing.assert_array_equal(o2, np.full((2, 4), 1.5))
    np.testing.assert_array_equal(o3, np.full(4, 1.5))
    verify_grad(lambda p: T.alloc(p, 4, 3), [rng.rand(3)], rng=rng)
    verify_grad(lambda p: T.alloc(p, 2, 3), [rng.rand()], rng=rng)
    verify_grad(lambda p: T.alloc(T.addbroadcast(p, 0), 5, 3), [rng.rand(1, 3)], rng=rng)
    verify_grad(lambda p: T.alloc(p, 2, 4, 3), [rng.rand(4, 3)], rng=rng)
    # the value's dimensions must broadcast into the shape
    with pytest.raises(ValueError, match="cannot broadcast"):
        f(np.arange(5.0), 1.5, 4)
    with pytest.raises(ValueError, match="negative"):
        f(np.arange(3.0), 1.5, -1)
    with pytest.raises(ValueError, match="more dims"):
        T.alloc(T.dmatrix(), 3)
    with pytest.raises(TypeError, match="integer scalar"):
        T.alloc(0.0, T.dscalar())


def test_alloc_returns_fresh_buffer():
    s = T.dscalar("s")
    f = function([s], T.alloc(s, 3))
    a, b = f(1.0), f(1.0)
    a[0] = 5.0
    assert b[0] == 1.0
    node = T.alloc(s, 2, 3).owner
    assert node.op.infer_shape(node, [()])[0][1] is node.inputs[2]


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_join_forward_and_grad(axis, rng):
    shapes = [(2, 3, 4), (2, 3, 4), (2, 3, 4)]
    arrays = []
    for k, s in enumerate(shapes):
        s = list(s)
        s[axis] = k + 1
        arrays.append(rng.rand(*s))
    xs = [T.dtensor3() for _ in arrays]
    out = function(xs, T.concatenate(xs, axis=axis))(*arrays)
    np.testing.assert_array_equal(out, np.concatenate(arrays, axis=axis))
    verify_grad(lambda *v: T.concatenate(v, axis=axis), arrays, rng=rng)


def test_join_mixed_dtypes_and_broadcastable():
    r1, r2 = T.frow(), T.drow()
    j = T.concatenate([r1, r2], axis=1)
    assert j.type == T.TensorType("float64", (True, False))
    assert T.concatenate([r1, r1], axis=0).broadcastable == (False, False)
    with pytest.raises(ValueError, match="out of range"):
        sh.Join(2)(r1, r1)
    with pytest.raises(ValueError, match="at least one"):
        sh.Join(0)()
    i = T.ivector()
    x = T.dvector()
    gi, gx = symgraph.grad(T.sum(T.concatenate([T.cast(i, "float64"), x]) ** 2), [i, x])
    out = function([i, x], [gi, gx])(np.array([1, 2], "int32"), np.array([3.0]))
    np.testing.assert_array_equal(out[0], [0.0, 0.0])
    np.testing.assert_array_equal(out[1], [6.0])
    node = T.concatenate([T.dmatrix(), T.dmatrix()], axis=1).owner
    (dims,) = node.op.infer_shape(node, [(2, 3), (2, 5)])
    assert dims == (2, 8)


def test_stack_grad(rng):
    verify_grad(lambda a, b: T.stack([a, b]), [rng.rand(3), rng.rand(3)], rng=rng)
    verify_grad(lambda a, b: T.stack([a, b], axis=1), [rng.rand(2, 3), rng.rand(2, 3)], rng=rng)
    verify_grad(lambda a, b: T.stack([a, b * 2]), [rng.rand(), rng.rand()], rng=rng)


def test_flatten_and_transpose_grad(rng):
    a = rng.rand(2, 3, 4)
    verify_grad(lambda v: v.flatten(), [a], rng=rng)
    verify_grad(lambda v: v.flatten(2), [a], rng=rng)
    verify_grad(lambda v: v.T, [a], rng=rng)
    verify_grad(lambda v: v.transpose(1, 2, 0) * v.dimshuffle(1, 2, 0), [a], rng=rng)


@pytest.mark.parametrize("args, expected", [
    ((5,), np.arange(5)), ((2, 9, 3), np.arange(2, 9, 3)), ((5, 0, -2), np.arange(5, 0, -2)),
    ((3, 1), np.arange(3, 1)), ((0.5, 3.0, 0.75), np.arange(0.5, 3.0, 0.75)),
])
def test_arange_forward_and_infer_shape(args, expected):
    syms = [T.lscalar() if isinstance(a, int) else T.dscalar() for a in args]
    y = T.arange(*syms)
    out = function(syms, y)(*args)
    np.testing.assert_allclose(out, expected)
    assert out.dtype == expected.dtype
    node = y.owner
    (dims,) = node.op.infer_shape(node, [(), (), ()])
    assert _eval_shape(dims, syms, list(args)) == expected.shape


def test_arange_errors():
    n = T.lscalar("n")
    f = function([n], T.arange(0, 5, n), mode="py")
    with pytest.raises(ValueError, match="step must not be zero"):
        f(0)
    with pytest.raises(TypeError, match="scalars"):
        sh.Arange("int64")(T.lvector(), 1, 1)
    assert T.arange(3, dtype="int32").dtype == "int32"


def test_rebroadcast():
    x = T.dmatrix("x")
    y = sh.Rebroadcast((True, False))(x)
    assert y.broadcastable == (True, False)
    f = function([x], y, mode="py")
    np.testing.assert_array_equal(f(np.ones((1, 3))), np.ones((1, 3)))
    with pytest.raises(ValueError, match="dimension 0 should be broadcastable"):
        f(np.ones((2, 3)))
    with pytest.raises(TypeError, match="expected a 1-d input"):
        sh.Rebroadcast((True,))(x)
    g = symgraph.grad(T.sum(y * 3), x)
    assert g.type == x.type
    np.testing.assert_array_equal(function([x], g)(np.ones((1, 3))), np.full((1, 3), 3.0))
    assert y.owner.op.infer_shape(y.owner, [("a", "b")]) == [(1, "b")]


def test_specify_shape_op():
    x = T.dmatrix("x")
    y = sh.SpecifyShape((None, 3), "x")(x)
    f = function([x], y, mode="py")
    np.testing.assert_array_equal(f(np.ones((5, 3))), np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"x: expected shape \(None, 3\)"):
        f(np.ones((5, 4)))
    g = symgraph.grad(T.sum(y ** 2), x)
    np.testing.assert_array_equal(function([x], g)(np.ones((2, 3))), 2 * np.ones((2, 3)))
    assert y.owner.op.infer_shape(y.owner, [("a", "b")]) == [("a", 3)]
    assert sh.SpecifyShape((1, None))(x).broadcastable == (True, False)

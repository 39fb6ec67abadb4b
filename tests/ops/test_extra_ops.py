"""Tests for symgraph/ops/extra_ops.py (theano.tensor.extra_ops): forward against NumPy,
gradients with verify_grad, the Python and C backends agreeing."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.tensor import extra_ops

from extra_helpers import run_both, verify_grad


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("fn, ref", [(extra_ops.cumsum, np.cumsum),
                                     (extra_ops.cumprod, np.cumprod)])
def test_cumsum_cumprod(fn, ref, axis, rng):
    a = rng.uniform(0.5, 1.5, size=(3, 4))
    x = T.dmatrix("x")
    y = fn(x, axis=axis)
    out = run_both([x], y, a)
    np.testing.assert_allclose(out, ref(a, axis=axis), rtol=1e-12)
    assert y.ndim == (1 if axis is None else 2)
    verify_grad(lambda v: fn(v, axis=axis), [a], rng=rng)


def test_cumsum_3d_and_int(rng):
    a = rng.rand(2, 3, 4)
    x = T.dtensor3()
    np.testing.assert_allclose(run_both([x], T.cumsum(x, axis=1), a), np.cumsum(a, 1))
    verify_grad(lambda v: T.cumsum(v, axis=2), [a], rng=rng)
    v = T.ivector()
    out = run_both([v], T.cumsum(v), np.array([1, 2, 3], dtype="int32"))
    assert out.tolist() == [1, 3, 6] and out.dtype == np.int32
    with pytest.raises(ValueError, match="out of range"):
        T.cumsum(x, axis=3)


@pytest.mark.parametrize("n, axis", [(1, -1), (2, -1), (1, 0), (3, 1)])
def test_diff(n, axis, rng):
    a = rng.rand(4, 5)
    x = T.dmatrix()
    np.testing.assert_allclose(run_both([x], extra_ops.diff(x, n, axis), a),
                               np.diff(a, n, axis))
    verify_grad(lambda v: extra_ops.diff(v, n, axis), [a], rng=rng)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_repeat_scalar_and_vector(axis, rng):
    a = rng.rand(3, 2)
    x = T.dmatrix()
    r = T.lscalar()
    np.testing.assert_array_equal(run_both([x, r], extra_ops.repeat(x, r, axis), a, 3),
                                  np.repeat(a, 3, axis))
    verify_grad(lambda v: extra_ops.repeat(v, 2, axis), [a], rng=rng)
    if axis is not None:
        reps = np.array([2, 0, 1, 3][:a.shape[axis]])
        rv = T.lvector()
        np.testing.assert_array_equal(run_both([x, rv], extra_ops.repeat(x, rv, axis), a, reps),
                                      np.repeat(a, reps, axis))
        verify_grad(lambda v: extra_ops.repeat(v, reps, axis), [a], rng=rng)


def test_repeat_shape_and_errors():
    x = T.dmatrix()
    f = symgraph.function([x], extra_ops.repeat(x, 3, axis=1).shape)
    assert f(np.zeros((2, 5))).tolist() == [2, 15]
    with pytest.raises(TypeError):
        extra_ops.repeat(x, 1.5)
    with pytest.raises(ValueError, match="non-negative"):
        symgraph.function([x], extra_ops.repeat(x, -1), mode="py")(np.zeros((2, 2)))


def test_bincount(rng):
    x = T.lvector()
    w = T.dvector()
    xs = np.array([0, 1, 1, 3, 1, 5])
    ws = rng.rand(6)
    out = run_both([x], extra_ops.bincount(x), xs)
    np.testing.assert_array_equal(out, np.bincount(xs))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(run_both([x], extra_ops.bincount(x, minlength=9), xs),
                                  np.bincount(xs, minlength=9))
    np.testing.assert_allclose(run_both([x, w], extra_ops.bincount(x, w), xs, ws),
                               np.bincount(xs, ws))
    verify_grad(lambda v: extra_ops.bincount(xs, v), [ws], rng=rng)
    with pytest.raises(ValueError, match="non-negative"):
        symgraph.function([x], extra_ops.bincount(x), mode="py")(np.array([1, -1]))
    with pytest.raises(TypeError):
        extra_ops.bincount(w)


def test_squeeze_is_elemwise_squeeze():
    x = T.tensor("float64", (False, True, False))
    assert extra_ops.squeeze(x).ndim == 2
    assert extra_ops.squeeze is T.squeeze


def test_to_one_hot(floatX32):
    y = T.lvector()
    out = run_both([y], extra_ops.to_one_hot(y, 4), np.array([0, 3, 1]))
    np.testing.assert_array_equal(out, np.eye(4)[[0, 3, 1]])
    assert out.dtype == np.float32
    assert extra_ops.to_one_hot(y, 4, dtype="int32").dtype == "int32"


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 5), (3, 3, 3)])
def test_fill_diagonal(shape, rng):
    a = rng.rand(*shape)
    x = T.tensor("float64", (False,) * len(shape))
    v = T.dscalar()
    expected = a.copy()
    np.fill_diagonal(expected, 7.0)
    np.testing.assert_array_equal(run_both([x, v], extra_ops.fill_diagonal(x, v), a, 7.0),
                                  expected)
    verify_grad(extra_ops.fill_diagonal, [a, np.array(2.0)], rng=rng)


@pytest.mark.parametrize("offset", [0, 1, -2, 4, -5])
def test_fill_diagonal_offset(offset, rng):
    a = rng.rand(4, 5)
    x, v, k = T.dmatrix(), T.dscalar(), T.lscalar()
    expected = a.copy()
    for i in range(4):
        if 0 <= i + offset < 5:
            expected[i, i + offset] = -1.0
    out = run_both([x, v, k], extra_ops.fill_diagonal_offset(x, v, k), a, -1.0, offset)
    np.testing.assert_array_equal(out, expected)
    verify_grad(lambda m, s: extra_ops.fill_diagonal_offset(m, s, offset), [a, np.array(2.0)],
                rng=rng)


def test_unravel_and_ravel_multi_index():
    i = T.lvector()
    rows, cols = extra_ops.unravel_index(i, (3, 4))
    idx = np.array([0, 5, 11])
    r, c = run_both([i], [rows, cols], idx)
    er, ec = np.unravel_index(idx, (3, 4))
    np.testing.assert_array_equal(r, er)
    np.testing.assert_array_equal(c, ec)
    a, b = T.lvectors(2)
    flat = run_both([a, b], extra_ops.ravel_multi_index((a, b), (3, 4)), er, ec)
    np.testing.assert_array_equal(flat, idx)
    fl = extra_ops.unravel_index(i, (3, 4), order="F")
    np.testing.assert_array_equal(run_both([i], fl[0], idx), np.unravel_index(idx, (3, 4), "F")[0])
    clip = extra_ops.ravel_multi_index((a, b), (3, 4), mode="clip")
    assert run_both([a, b], clip, np.array([5]), np.array([9])).tolist() == [11]


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(side, rng):
    x, v = T.dvector(), T.dmatrix()
    xs = np.array([1.0, 2.0, 2.0, 5.0])
    vs = np.array([[0.0, 2.0], [3.0, 9.0]])
    np.testing.assert_array_equal(run_both([x, v], extra_ops.searchsorted(x, v, side), xs, vs),
                                  np.searchsorted(xs, vs, side))
    s = T.lvector()
    xu = np.array([5.0, 1.0, 2.0])
    sorter = np.argsort(xu)
    out = run_both([x, v, s], extra_ops.searchsorted(x, v, side, sorter=s), xu, vs, sorter)
    np.testing.assert_array_equal(out, np.searchsorted(xu, vs, side, sorter=sorter))


def test_op_properties():
    assert extra_ops.CumOp(0, "add") == extra_ops.CumOp(0, "add")
    assert extra_ops.CumOp(0, "add") != extra_ops.CumOp(0, "mul")
    assert str(extra_ops.CumOp(1, "add")) == "Cumsum{axis=1}"
    x = T.dmatrix()
    node = T.cumsum(x, axis=1).owner
    assert node.op.infer_shape(node, [(2, 3)]) == [(2, 3)]
    f = symgraph.function([x], T.cumsum(x).shape)
    assert f(np.zeros((2, 3))).tolist() == [6]

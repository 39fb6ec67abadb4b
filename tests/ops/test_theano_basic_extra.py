"""Tests of the Theano 1.0 basic tensor functions added for issue 17: tile (ops/shape.py),
roll (ops/subtensor.py), any/all (ops/reduce.py), batched_dot/batched_tensordot and
tensordot's axes (ops/blas.py)."""
import numpy as np
import pytest

import symgraph.tensor as T

from extra_helpers import run_both, verify_grad


@pytest.mark.parametrize("reps", [2, (2, 3), (1, 2, 2), (3, 1), (1, 1)])
def test_tile(reps, rng):
    a = rng.rand(2, 3)
    x = T.dmatrix()
    np.testing.assert_array_equal(run_both([x], T.tile(x, reps), a), np.tile(a, reps))
    verify_grad(lambda v: T.tile(v, reps), [a], rng=rng)


def test_tile_symbolic_reps_and_ndim(rng):
    a = rng.rand(3)
    x = T.dvector()
    r = T.lscalar()
    np.testing.assert_array_equal(run_both([x, r], T.tile(x, [r, 2]), a, 3), np.tile(a, (3, 2)))
    rv = T.lvector()
    np.testing.assert_array_equal(run_both([x, rv], T.tile(x, rv, ndim=2), a, np.array([2, 2])),
                                  np.tile(a, (2, 2)))
    assert T.tile(x, 2, ndim=3).ndim == 3
    with pytest.raises(ValueError, match="ndim"):
        T.tile(x, rv)
    with pytest.raises(ValueError):
        T.tile(T.dmatrix(), (2, 2), ndim=1)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("shift", [0, 1, -2, 7])
def test_roll(axis, shift, rng):
    a = rng.rand(3, 4)
    x = T.dmatrix()
    s = T.lscalar()
    np.testing.assert_array_equal(run_both([x, s], T.roll(x, s, axis), a, shift),
                                  np.roll(a, shift, axis))
    verify_grad(lambda v: T.roll(v, shift, axis), [a], rng=rng)


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_any_all(axis, keepdims):
    a = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    x = T.dmatrix()
    got_any, got_all = run_both([x], [T.any(x, axis, keepdims), T.all(x, axis, keepdims)], a)
    np.testing.assert_array_equal(got_any, np.any(a, axis, keepdims=keepdims))
    np.testing.assert_array_equal(got_all, np.all(a, axis, keepdims=keepdims))
    assert got_any.dtype == np.bool_ and got_all.dtype == np.bool_
    b = T.bmatrix()
    out = run_both([b], [T.any(b), T.all(b)], np.zeros((2, 0), dtype="int8"))
    assert out[0].item() is False and out[1].item() is True


@pytest.mark.parametrize("sa, sb", [((3, 4), (3, 4)), ((3, 4), (3, 4, 5)), ((3, 2, 4), (3, 4)),
                                    ((3, 2, 4), (3, 4, 5))])
def test_batched_dot(sa, sb, rng):
    a, b = rng.rand(*sa), rng.rand(*sb)
    x = T.tensor("float64", (False,) * len(sa))
    y = T.tensor("float64", (False,) * len(sb))
    ref = np.array([np.dot(a[i], b[i]) for i in range(3)])
    np.testing.assert_allclose(run_both([x, y], T.batched_dot(x, y), a, b), ref)
    verify_grad(T.batched_dot, [a, b], rng=rng)


def test_batched_dot_vectors_and_high_rank(rng):
    a, b = rng.rand(3), rng.rand(3, 4)
    x, y = T.dvector(), T.dmatrix()
    np.testing.assert_allclose(run_both([x, y], T.batched_dot(x, y), a, b), a[:, None] * b)
    c, d = rng.rand(2, 3, 4, 5), rng.rand(2, 5, 6)
    u, w = T.dtensor4(), T.dtensor3()
    ref = np.array([np.tensordot(c[i], d[i], [[2], [0]]) for i in range(2)])
    np.testing.assert_allclose(run_both([u, w], T.batched_dot(u, w), c, d), ref)
    with pytest.raises(TypeError):
        T.batched_dot(T.dscalar(), y)


@pytest.mark.parametrize("axes", [1, [[2], [1]], [[1, 2], [2, 1]], ([1], [3])])
def test_batched_tensordot(axes, rng):
    a, b = rng.rand(2, 3, 4), rng.rand(2, 4, 3, 3)
    x, y = T.dtensor3(), T.dtensor4()
    if isinstance(axes, int):
        b = rng.rand(2, 4, 5)
        y = T.dtensor3()
        ref = np.array([np.tensordot(a[i], b[i], 1) for i in range(2)])
    else:
        ax = [[d - 1 for d in axes[0]], [d - 1 for d in axes[1]]]
        if axes == ([1], [3]):
            b = rng.rand(2, 4, 5, 3)
        ref = np.array([np.tensordot(a[i], b[i], ax) for i in range(2)])
    np.testing.assert_allclose(run_both([x, y], T.batched_tensordot(x, y, axes), a, b), ref)
    verify_grad(lambda u, v: T.batched_tensordot(u, v, axes), [a, b], rng=rng)


@pytest.mark.parametrize("axes, bshape", [
    (0, (2,)), (1, (5, 2)), (2, (4, 5, 2)), ((1, 0), (4, 2)), (([1], [0]), (4, 2)),
    (([0, 1], [1, 0]), (4, 3, 2)), (((2, 1), (0, 2)), (5, 2, 4)), (([-1], [-3]), (5, 2, 2))])
def test_tensordot_axes_as_numpy(axes, bshape, rng):
    a, b = rng.rand(3, 4, 5), rng.rand(*bshape)
    x = T.dtensor3()
    y = T.tensor("float64", (False,) * b.ndim)
    np.testing.assert_allclose(run_both([x, y], T.tensordot(x, y, axes), a, b),
                               np.tensordot(a, b, axes))


def test_tensordot_bad_axes():
    x, y = T.dmatrix(), T.dmatrix()
    with pytest.raises(ValueError, match="differ in length"):
        T.tensordot(x, y, [[0, 1], [0]])
    with pytest.raises(ValueError, match="out of range"):
        T.tensordot(x, y, [[2], [0]])
    with pytest.raises(ValueError):
        T.tensordot(x, y, 3)

"""Tests for symgraph/ops/sort.py (theano.tensor.sort)."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.tensor.sort import ArgSortOp, SortOp, argsort, sort

from extra_helpers import run_both, verify_grad


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_sort_and_argsort_forward(axis, rng):
    a = rng.rand(4, 5)
    x = T.dmatrix()
    s, i = run_both([x], [sort(x, axis), argsort(x, axis)], a)
    np.testing.assert_array_equal(s, np.sort(a, axis))
    np.testing.assert_array_equal(i, np.argsort(a, axis))
    assert i.dtype == np.int64
    assert sort(x, axis).ndim == (1 if axis is None else 2)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_sort_grad(axis, rng):
    a = rng.permutation(20).reshape(4, 5) + rng.uniform(0, 0.5, size=(4, 5))  # distinct values
    verify_grad(lambda v: sort(v, axis), [a], rng=rng)


def test_sort_grad_routes_to_source_positions():
    x = T.dvector()
    w = np.array([1.0, 10.0, 100.0])
    g = symgraph.grad(T.sum(sort(x) * w), x)
    # sorted order is x[1], x[2], x[0]: x[1] gets weight 1, x[2] weight 10, x[0] weight 100
    np.testing.assert_array_equal(run_both([x], g, np.array([3.0, 1.0, 2.0])), [100.0, 1.0, 10.0])


def test_sort_3d_kinds_and_ints(rng):
    a = rng.rand(2, 3, 4)
    x = T.dtensor3()
    for kind in ("quicksort", "mergesort", "heapsort", "stable"):
        np.testing.assert_array_equal(run_both([x], sort(x, 1, kind), a), np.sort(a, 1))
    verify_grad(lambda v: sort(v, 2), [a], rng=rng)
    v = T.ivector()
    out = run_both([v], T.sort(v), np.array([3, 1, 2], dtype="int32"))
    assert out.tolist() == [1, 2, 3] and out.dtype == np.int32


def test_argsort_has_no_gradient():
    x = T.dvector()
    g = symgraph.grad(T.sum(T.cast(argsort(x), "float64") * x), x)
    a = np.array([3.0, 1.0, 2.0])
    np.testing.assert_array_equal(symgraph.function([x], g)(a), np.argsort(a).astype(float))


def test_sort_errors_and_props():
    x = T.dmatrix()
    with pytest.raises(ValueError, match="kind"):
        sort(x, kind="bogo")
    with pytest.raises(ValueError, match="order"):
        sort(x, order="f")
    with pytest.raises(ValueError, match="out of range"):
        sort(x, axis=2)
    assert SortOp("quicksort", 1) == SortOp("quicksort", 1)
    assert SortOp("quicksort", 1) != SortOp("mergesort", 1)
    assert ArgSortOp("quicksort", None) != ArgSortOp("quicksort", 0)
    f = symgraph.function([x], sort(x, None).shape)
    assert f(np.zeros((2, 3))).tolist() == [6]
    assert T.sort is sort and T.argsort is argsort

"""Tests for symgraph/ops/nlinalg.py (theano.tensor.nlinalg) and the diagonal ops."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.tensor import nlinalg

from extra_helpers import run_both, verify_grad


def _well_conditioned(rng, n=4):
    return rng.rand(n, n) + n * np.eye(n)


def _sym(rng, n=4):
    a = rng.rand(n, n)
    return a + a.T + n * np.eye(n)


def test_matrix_inverse(rng):
    a = _well_conditioned(rng)
    x = T.dmatrix()
    np.testing.assert_allclose(run_both([x], nlinalg.matrix_inverse(x), a), np.linalg.inv(a))
    verify_grad(nlinalg.matrix_inverse, [a], rng=rng)
    with pytest.raises(ValueError, match="square"):
        symgraph.function([x], nlinalg.matrix_inverse(x), mode="py")(np.zeros((2, 3)))


def test_det(rng):
    a = _well_conditioned(rng)
    x = T.dmatrix()
    out = run_both([x], nlinalg.det(x), a)
    assert out.shape == ()
    np.testing.assert_allclose(out, np.linalg.det(a))
    verify_grad(nlinalg.det, [a], rng=rng)
    assert nlinalg.det(T.imatrix()).dtype == "float64"


def test_pinv(rng):
    for shape in [(4, 4), (5, 3), (3, 5)]:
        a = rng.rand(*shape)
        x = T.dmatrix()
        np.testing.assert_allclose(run_both([x], nlinalg.pinv(x), a), np.linalg.pinv(a),
                                   rtol=1e-8, atol=1e-10)
        verify_grad(nlinalg.pinv, [a], rng=rng)


def test_eig(rng):
    a = _sym(rng) + np.triu(rng.rand(4, 4), 1) * 0.1    # real eigenvalues
    x = T.dmatrix()
    w, v = run_both([x], list(nlinalg.eig(x)), a)
    np.testing.assert_allclose(a @ v, v * w, atol=1e-10)
    with pytest.raises(ValueError, match="complex"):
        symgraph.function([x], nlinalg.eig(x)[0], mode="py")(np.array([[0.0, -1.0], [1.0, 0.0]]))


@pytest.mark.parametrize("UPLO", ["L", "U"])
def test_eigh(UPLO, rng):
    a = _sym(rng)
    x = T.dmatrix()
    w, v = run_both([x], list(nlinalg.eigh(x, UPLO)), a)
    ew, ev = np.linalg.eigh(a, UPLO)
    np.testing.assert_allclose(w, ew)
    np.testing.assert_allclose(np.abs(v), np.abs(ev), atol=1e-10)
    # the eigenvalues, and a function of the vectors invariant to their signs
    verify_grad(lambda m: nlinalg.eigh(m, UPLO)[0], [a], rng=rng)
    verify_grad(lambda m: nlinalg.eigh(m, UPLO)[1] ** 2, [a], rng=rng)
    verify_grad(lambda m: nlinalg.eigh(m, UPLO)[0].sum() + (nlinalg.eigh(m, UPLO)[1][0] ** 2).sum(),
                [a], rng=rng)


def test_eigh_reads_one_triangle(rng):
    a = _sym(rng)
    x = T.dmatrix()
    f = symgraph.function([x], nlinalg.eigh(x)[0], mode="py")
    junk = a.copy()
    junk[np.triu_indices(4, 1)] = 99.0
    np.testing.assert_allclose(f(junk), f(a))


@pytest.mark.parametrize("full_matrices", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (3, 5)])
def test_svd(full_matrices, shape, rng):
    a = rng.rand(*shape)
    x = T.dmatrix()
    u, s, v = run_both([x], nlinalg.svd(x, full_matrices), a)
    eu, es, ev = np.linalg.svd(a, full_matrices)
    np.testing.assert_allclose(s, es)
    assert u.shape == eu.shape and v.shape == ev.shape
    k = min(shape)
    np.testing.assert_allclose((u[:, :k] * s) @ v[:k], a, atol=1e-12)
    s_only = run_both([x], nlinalg.svd(x, compute_uv=False), a)
    np.testing.assert_allclose(s_only, es)
    shapes = symgraph.function([x], [o.shape for o in nlinalg.svd(x, full_matrices)])(a)
    assert [tuple(sh) for sh in shapes] == [eu.shape, es.shape, ev.shape]


@pytest.mark.parametrize("mode", ["reduced", "complete", "r", "raw"])
def test_qr(mode, rng):
    a = rng.rand(5, 3)
    x = T.dmatrix()
    outs = nlinalg.qr(x, mode)
    outs = outs if isinstance(outs, list) else [outs]
    got = run_both([x], outs, a)
    ref = np.linalg.qr(a, mode)
    ref = ref if isinstance(ref, tuple) else (ref,)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r)


def test_trace_matrix_dot_and_norm(rng):
    a, b, c = rng.rand(3, 3), rng.rand(3, 4), rng.rand(4, 2)
    x, y, z = T.dmatrices(3)
    np.testing.assert_allclose(run_both([x], nlinalg.trace(x), a), np.trace(a))
    verify_grad(nlinalg.trace, [a], rng=rng)
    np.testing.assert_allclose(run_both([x, y, z], nlinalg.matrix_dot(x, y, z), a, b, c),
                               a @ b @ c)
    np.testing.assert_allclose(run_both([x], nlinalg.matrix_power(x, 3), a), a @ a @ a)
    for ord_ in [None, "fro", 1, -1, np.inf, -np.inf]:
        np.testing.assert_allclose(run_both([x], nlinalg.norm(x, ord_), a),
                                   np.linalg.norm(a, ord_))
    v = T.dvector()
    vec = rng.rand(5) - 0.5
    for ord_ in [None, 1, 3, np.inf, -np.inf, 0]:
        np.testing.assert_allclose(run_both([v], nlinalg.norm(v, ord_), vec),
                                   np.linalg.norm(vec, ord_))


@pytest.mark.parametrize("k", [0, 1, -2])
def test_diag_both_ways(k, rng):
    vec, mat = rng.rand(4), rng.rand(4, 5)
    v, m = T.dvector(), T.dmatrix()
    np.testing.assert_array_equal(run_both([v], T.diag(v, k), vec), np.diag(vec, k))
    np.testing.assert_array_equal(run_both([m], T.diag(m, k), mat), np.diag(mat, k))
    verify_grad(lambda t: T.diag(t, k), [vec], rng=rng)
    verify_grad(lambda t: T.diag(t, k), [mat], rng=rng)
    shp = symgraph.function([v, m], [T.diag(v, k).shape, T.diag(m, k).shape])(vec, mat)
    assert tuple(shp[0]) == np.diag(vec, k).shape and tuple(shp[1]) == np.diag(mat, k).shape


@pytest.mark.parametrize("offset, axis1, axis2", [(0, 0, 1), (1, 0, 2), (-1, 2, 1), (0, -1, 0)])
def test_diagonal_nd(offset, axis1, axis2, rng):
    a = rng.rand(3, 4, 5)
    x = T.dtensor3()
    np.testing.assert_array_equal(run_both([x], T.diagonal(x, offset, axis1, axis2), a),
                                  np.diagonal(a, offset, axis1, axis2))
    verify_grad(lambda t: T.diagonal(t, offset, axis1, axis2), [a], rng=rng)


def test_extract_alloc_diag_names(rng):
    m, v = T.dmatrix(), T.dvector()
    a = rng.rand(3, 3)
    np.testing.assert_array_equal(run_both([m], nlinalg.extract_diag(m), a), np.diag(a))
    np.testing.assert_array_equal(run_both([v], nlinalg.alloc_diag(v), np.diag(a)),
                                  np.diag(np.diag(a)))
    with pytest.raises(ValueError):
        T.diag(T.dtensor3())

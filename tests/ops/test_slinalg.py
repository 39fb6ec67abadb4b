"""Tests for symgraph/ops/slinalg.py (theano.tensor.slinalg): NumPy-only perform, checked
against NumPy and (when installed) SciPy."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.tensor import slinalg

from extra_helpers import run_both, verify_grad


def _spd(rng, n=4):
    a = rng.rand(n, n)
    return a @ a.T + n * np.eye(n)


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky(lower, rng):
    a = _spd(rng)
    x = T.dmatrix()
    out = run_both([x], slinalg.cholesky(x, lower), a)
    ref = np.linalg.cholesky(a)
    np.testing.assert_allclose(out, ref if lower else ref.T)
    verify_grad(lambda m: slinalg.cholesky(m, lower), [a], rng=rng)
    # through a symmetric parameterization, as Theano's own test
    r = rng.rand(4, 4) + np.eye(4)
    verify_grad(lambda m: slinalg.cholesky(m.dot(m.T), lower), [r], rng=rng)


def test_cholesky_not_positive_definite():
    x = T.dmatrix()
    with pytest.raises(np.linalg.LinAlgError, match="positive definite"):
        symgraph.function([x], slinalg.cholesky(x), mode="py")(-np.eye(2))


@pytest.mark.parametrize("structure", ["general", "gen", "symmetric", "sym", "pos",
                                       "lower_triangular", "upper_triangular"])
@pytest.mark.parametrize("bdim", [1, 2])
def test_solve(structure, bdim, rng):
    a = _spd(rng)
    b = rng.rand(4) if bdim == 1 else rng.rand(4, 3)
    A, B = T.dmatrix(), (T.dvector() if bdim == 1 else T.dmatrix())
    for lower in (False, True):
        op = slinalg.Solve(structure, lower)
        out = run_both([A, B], op(A, B), a, b)
        if op.A_structure == "lower_triangular":
            eff = np.tril(a)
        elif op.A_structure == "upper_triangular":
            eff = np.triu(a)
        elif op.A_structure in ("sym", "pos"):
            t = np.tril(a) if lower else np.triu(a)
            eff = t + t.T - np.diag(np.diag(a))
        else:
            eff = a
        np.testing.assert_allclose(out, np.linalg.solve(eff, b), rtol=1e-10)
        verify_grad(op, [a, b], rng=rng)


def test_solve_signatures(rng):
    a, b = _spd(rng), rng.rand(4)
    A, B = T.dmatrix(), T.dvector()
    ref = np.linalg.solve(a, b)
    np.testing.assert_allclose(run_both([A, B], slinalg.solve(A, B), a, b), ref)
    np.testing.assert_allclose(run_both([A, B], slinalg.solve(A, B, assume_a="pos"), a, b), ref)
    np.testing.assert_allclose(run_both([A, B], slinalg.solve(A, B, A_structure="symmetric"),
                                        a, b), ref)
    np.testing.assert_allclose(run_both([A, B], slinalg.solve_lower_triangular(A, B), a, b),
                               np.linalg.solve(np.tril(a), b))
    with pytest.raises(ValueError, match="A_structure"):
        slinalg.solve(A, B, assume_a="banded")


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("trans", [0, 1, "T"])
@pytest.mark.parametrize("unit_diagonal", [False, True])
def test_solve_triangular(lower, trans, unit_diagonal, rng):
    a = rng.rand(4, 4) + 4 * np.eye(4)
    b = rng.rand(4, 2)
    A, B = T.dmatrix(), T.dmatrix()
    y = slinalg.solve_triangular(A, B, trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    out = run_both([A, B], y, a, b)
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        np.fill_diagonal(t, 1.0)
    if trans in (1, "T"):
        t = t.T
    np.testing.assert_allclose(out, np.linalg.solve(t, b), rtol=1e-10)
    verify_grad(lambda m, v: slinalg.solve_triangular(m, v, trans, lower, unit_diagonal),
                [a, b], rng=rng)
    verify_grad(lambda m, v: slinalg.solve_triangular(m, v, trans, lower, unit_diagonal),
                [a, b[:, 0]], rng=rng)


def test_solve_triangular_against_scipy(rng):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a, b = rng.rand(5, 5) + 5 * np.eye(5), rng.rand(5, 3)
    A, B = T.dmatrix(), T.dmatrix()
    for lower in (True, False):
        for trans in (0, 1):
            out = run_both([A, B], slinalg.solve_triangular(A, B, trans, lower), a, b)
            np.testing.assert_allclose(
                out, scipy_linalg.solve_triangular(a, b, trans=trans, lower=lower), rtol=1e-10)
    np.testing.assert_allclose(run_both([A, B], slinalg.solve(A, B, assume_a="sym"), a, b),
                               scipy_linalg.solve(a, b, assume_a="sym"), rtol=1e-10)


def _expm_taylor(a, terms=60):
    out, term = np.eye(len(a)), np.eye(len(a))
    for k in range(1, terms):
        term = term @ a / k
        out = out + term
    return out


@pytest.mark.parametrize("scale", [0.1, 1.0, 8.0])
def test_expm(scale, rng):
    a = (rng.rand(4, 4) - 0.5) * scale
    x = T.dmatrix()
    out = run_both([x], slinalg.expm(x), a)
    # an independent reference: the Taylor series, summed on a scaled matrix and squared back
    s = 6
    ref = np.linalg.matrix_power(_expm_taylor(a / 2 ** s), 2 ** s)
    np.testing.assert_allclose(out, ref, rtol=1e-9)
    verify_grad(slinalg.expm, [a], rng=rng)
    d = np.diag([1.0, -2.0, 0.5])
    np.testing.assert_allclose(run_both([x], slinalg.expm(x), d), np.diag(np.exp(np.diag(d))))


def test_expm_against_scipy(rng):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a = rng.randn(6, 6) * 3
    x = T.dmatrix()
    np.testing.assert_allclose(run_both([x], slinalg.expm(x), a), scipy_linalg.expm(a),
                               rtol=1e-9)


def test_kron_and_triangles(rng):
    a, b = rng.rand(2, 3), rng.rand(3, 2)
    x, y = T.dmatrices(2)
    np.testing.assert_allclose(run_both([x, y], slinalg.kron(x, y), a, b), np.kron(a, b))
    m = rng.rand(4, 4)
    np.testing.assert_array_equal(run_both([x], slinalg.tril(x), m), np.tril(m))
    np.testing.assert_array_equal(run_both([x], slinalg.triu(x, 1), m), np.triu(m, 1))
    verify_grad(slinalg.tril, [m], rng=rng)

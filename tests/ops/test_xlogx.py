"""Tests for symgraph/ops/xlogx.py (theano.tensor.xlogx)."""
import numpy as np

import symgraph
import symgraph.tensor as T
from symgraph.tensor.xlogx import xlogx, xlogy0

from extra_helpers import run_both, verify_grad


def test_xlogx_forward_and_zero(rng):
    a = np.array([0.0, 0.5, 1.0, 2.0])
    x = T.dvector()
    out = run_both([x], xlogx(x), a)
    expected = np.array([0.0] + [v * np.log(v) for v in a[1:]])
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    g = run_both([x], symgraph.grad(T.sum(xlogx(x)), x), a)
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g[1:], 1 + np.log(a[1:]))
    verify_grad(xlogx, [rng.uniform(0.2, 2.0, size=(3, 4))], rng=rng)


def test_xlogy0_forward_broadcast_and_grad(rng):
    x, y = T.dmatrix(), T.drow()
    a = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 0.5]])
    b = np.array([[0.0, 2.0, 3.0]])
    out = run_both([x, y], xlogy0(x, y), a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(a == 0, 0.0, a * np.log(b))
    np.testing.assert_allclose(out, expected)
    verify_grad(xlogy0, [rng.uniform(0.2, 2, size=(2, 3)), rng.uniform(0.2, 2, size=(2, 3))],
                rng=rng)


def test_xlogx_float32(floatX32):
    x = T.fvector()
    out = run_both([x], xlogx(x), np.array([0.0, 2.0], dtype="float32"), rtol=1e-6)
    assert out.dtype == np.float32
    assert T.xlogx.xlogx is xlogx

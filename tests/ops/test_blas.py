"""Tests for symgraph/ops/blas.py: Dot of vectors and matrices."""
import functools

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import function
from symgraph.ops.blas import Dot

dot = Dot()      # the Op itself (T.dot also accepts n-d operands, through tensordot)

# Gradient graphs are backend-independent: check them on the reference backend (each
# verify_grad compiles several functions). The forward tests use the default backend.
verify_grad = functools.partial(symgraph.verify_grad, mode="py")

SHAPES = {
    "vv": ((4,), (4,)),
    "vm": ((4,), (4, 3)),
    "mv": ((2, 4), (4,)),
    "mm": ((2, 4), (4, 3)),
}


def _ref_dot(a, b):
    """Explicit-loop reference (independent of np.dot)."""
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    out = np.zeros((a2.shape[0], b2.shape[1]))
    for i in range(a2.shape[0]):
        for j in range(b2.shape[1]):
            for k in range(a2.shape[1]):
                out[i, j] += a2[i, k] * b2[k, j]
    if a.ndim == 1:
        out = out[0]
    if b.ndim == 1:
        out = out[..., 0]
    return out


@pytest.mark.parametrize("combo", sorted(SHAPES))
def test_dot_forward_and_grad(combo, rng):
    sa, sb = SHAPES[combo]
    a, b = rng.rand(*sa), rng.rand(*sb)
    x = T.tensor("float64", (False,) * len(sa))
    y = T.tensor("float64", (False,) * len(sb))
    z = T.dot(x, y)
    assert isinstance(z.owner.op, Dot)
    out = function([x, y], z)(a, b)
    np.testing.assert_allclose(out, _ref_dot(a, b), rtol=1e-12)
    assert out.shape == np.dot(a, b).shape and z.ndim == out.ndim
    verify_grad(T.dot, [a, b], rng=rng)


@pytest.mark.parametrize("combo", sorted(SHAPES))
def test_dot_float32(combo, rng):
    sa, sb = SHAPES[combo]
    a, b = rng.rand(*sa).astype("float32"), rng.rand(*sb).astype("float32")
    x = T.tensor("float32", (False,) * len(sa))
    y = T.tensor("float32", (False,) * len(sb))
    gx, gy = symgraph.grad(T.sum(T.dot(x, y)), [x, y])
    out, ga, gb = function([x, y], [T.dot(x, y), gx, gy])(a, b)
    assert out.dtype == ga.dtype == gb.dtype == np.float32
    np.testing.assert_allclose(out, np.dot(a, b), rtol=1e-5)
    a2, b2 = a.reshape(-1, sa[-1]), b.reshape(sb[0], -1)       # vectors as 1-row/1-col matrices
    ones = np.ones((a2.shape[0], b2.shape[1]))
    np.testing.assert_allclose(ga, (ones @ b2.T).reshape(sa), rtol=1e-5)
    np.testing.assert_allclose(gb, (a2.T @ ones).reshape(sb), rtol=1e-5)


def test_dot_mixed_and_integer_dtypes():
    x = T.fmatrix("x")
    y = T.dmatrix("y")
    z = T.dot(x, y)
    assert z.dtype == "float64"
    assert all(i.dtype == "float64" for i in z.owner.inputs)
    i, j = T.imatrices("i", "j")
    a = np.array([[1, 2], [3, 4]], dtype="int32")
    out = function([i, j], T.dot(i, j))(a, a)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, a @ a)


def test_dot_shape_mismatch_message(lineno):
    x = T.dmatrix("x")
    y = T.dmatrix("y")
    z = T.dot(x, y); line = lineno()  # noqa: E702
    f = function([x, y], z)
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones((4, 5)))
    msg = str(info.value)
    assert "(2, 3)" in msg and "(4, 5)" in msg
    assert "Dot" in msg and f"line {line}" in msg


def test_dot_op_checks():
    with pytest.raises(TypeError, match="vectors or matrices"):
        dot(T.dtensor3(), T.dmatrix())
    with pytest.raises(TypeError, match="vectors or matrices"):
        dot(T.dscalar(), T.dvector())
    assert dot(T.drow(), T.dcol()).broadcastable == (True, True)
    assert dot(T.dvector(), T.dcol()).broadcastable == (True,)
    assert dot(T.drow(), T.dvector()).broadcastable == (True,)
    assert Dot() == Dot() and str(Dot()) == "Dot"
    x, y = T.dmatrix(), T.dvector()
    node = dot(x, y).owner
    assert node.op.infer_shape(node, [("m", "k"), ("k",)]) == [("m",)]


def test_dot_grad_with_broadcastable_operands(rng):
    r = T.drow("r")
    m = T.dmatrix("m")
    gr, gm = symgraph.grad(T.sum(T.dot(r, m)), [r, m])
    assert gr.type == r.type and gm.type == m.type
    a, b = rng.rand(1, 3), rng.rand(3, 2)
    out = function([r, m], [gr, gm])(a, b)
    np.testing.assert_allclose(out[0], b.sum(1)[None, :])
    np.testing.assert_allclose(out[1], np.repeat(a.T, 2, axis=1))


def test_gemm_like_expression_grad(rng):
    verify_grad(lambda x, w, b: T.tanh(T.dot(x, w) + b), [rng.rand(3, 4), rng.rand(4, 2),
                                                         rng.rand(2)], rng=rng)

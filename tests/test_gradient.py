"""Tests for symgraph/gradient.py: grad, verify_grad, zero_grad."""
import warnings

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import function, grad, pp, shared, verify_grad
from symgraph.gradient import DisconnectedInputError, GradientError, zero_grad
from symgraph.graph import Apply, Op


def test_grad_of_square_and_pp():
    x = T.dscalar("x")
    y = x ** 2
    gy = grad(y, x)
    text = pp(gy)
    assert "fill((x ** 2.0), 1.0)" in text and "* 2.0" in text and "(2.0 - 1.0)" in text
    f = function([x], gy)
    assert f(4) == 8.0
    assert f(94.2) == pytest.approx(188.4)


def test_grad_of_logistic():
    x = T.dmatrix("x")
    s = T.sum(1 / (1 + T.exp(-x)))
    gs = grad(s, x)
    dlogistic = function([x], gs)
    out = dlogistic([[0, 1], [-1, -2]])
    np.testing.assert_allclose(out, [[0.25, 0.19661193], [0.19661193, 0.10499359]], rtol=1e-7)


def test_cost_must_be_a_float_scalar():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="cost must be a scalar"):
        grad(x * 2, x)
    i = T.ivector("i")
    with pytest.raises(TypeError, match="must be a float"):
        grad(T.sum(i), i)
    with pytest.raises(TypeError, match="symbolic variables"):
        grad(T.sum(x), [x, 3.0])


def test_wrt_list_and_single():
    x, y = T.dvectors("x", "y")
    cost = T.sum(x * y + x ** 2)
    gx = grad(cost, x)
    assert not isinstance(gx, list)
    gxy = grad(cost, [x, y])
    assert isinstance(gxy, list) and len(gxy) == 2
    gt = grad(cost, (x, y))
    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    out = function([x, y], gxy + gt)(a, b)
    np.testing.assert_array_equal(out[0], b + 2 * a)
    np.testing.assert_array_equal(out[1], a)
    np.testing.assert_array_equal(out[2], out[0])


def test_gradient_accumulates_over_multiple_uses():
    x = T.dscalar("x")
    y = x * x * x + T.exp(x) * x
    g = grad(y, x)
    v = 0.7
    assert function([x], g)(v) == pytest.approx(3 * v ** 2 + np.exp(v) * (1 + v))


def test_grad_wrt_shared_variables():
    W = shared(np.array([[1.0, 2.0], [3.0, 4.0]]), name="W")
    b = shared(np.array([0.5, -0.5]), name="b")
    x = T.dvector("x")
    cost = T.sum(T.dot(x, W) + b) ** 2
    gW, gb = grad(cost, [W, b])
    assert gW.type == W.type and gb.type == b.type
    a = np.array([1.0, 1.0])
    s = (a @ W.get_value() + b.get_value()).sum()
    out = function([x], [gW, gb])(a)
    np.testing.assert_allclose(out[0], 2 * s * np.outer(a, [1, 1]))
    np.testing.assert_allclose(out[1], [2 * s, 2 * s])
    # an SGD step through updates
    lr = 0.01
    train = function([x], cost, updates=[(W, W - lr * gW), (b, b - lr * gb)])
    c0 = train(a)
    c1 = train(a)
    assert c1 < c0


def test_integer_wrt_gives_zeros():
    x = T.dvector("x")
    i = T.ivector("i")
    cost = T.sum(x * T.cast(i, "float64"))
    gi = grad(cost, i)
    assert gi.dtype == symgraph.config.floatX and gi.ndim == 1
    out = function([x, i], gi, on_unused_input="ignore")(np.ones(3),
                                                          np.array([1, 2, 3], dtype="int32"))
    np.testing.assert_array_equal(out, np.zeros(3))
    # also when the integer variable is not even used
    j = T.iscalar("j")
    gj = grad(T.sum(x), j)
    assert function([j], gj)(4) == 0.0


def test_integer_path_gives_zero_not_disconnected():
    x = T.dvector("x")
    rounded = T.cast(T.cast(x, "int32"), "float64")
    g = grad(T.sum(rounded), x)
    np.testing.assert_array_equal(function([x], g)(np.array([1.5, 2.5])), [0.0, 0.0])


def test_disconnected_inputs():
    x, y = T.dscalars("x", "y")
    cost = x * 2
    with pytest.raises(DisconnectedInputError, match="does not depend on y") as info:
        grad(cost, [x, y])
    assert __file__ in str(info.value)
    assert isinstance(info.value, ValueError)
    gx, gy = grad(cost, [x, y], disconnected_inputs="ignore")
    assert function([x, y], [gx, gy])(1.0, 1.0) == [2.0, 0.0]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        grad(cost, [x, y], disconnected_inputs="warn")
    assert any("does not depend on y" in str(m.message) for m in w)


def test_consider_constant():
    x = T.dscalar("x")
    y = x ** 2
    z = y * x
    g_full = grad(z, x)                         # 3 x^2
    g_const = grad(z, x, consider_constant=[y])  # y treated as a constant: x^2
    assert function([x], [g_full, g_const])(2.0) == [12.0, 4.0]
    with pytest.raises(DisconnectedInputError):
        grad(y, x, consider_constant=[y])


def test_zero_grad():
    x = T.dscalar("x")
    z = zero_grad(x ** 2) * x
    assert function([x], z)(3.0) == 27.0
    assert function([x], grad(z, x))(3.0) == 9.0
    assert T.disconnected_grad is not None
    assert function([x], grad(T.disconnected_grad(x) * x, x))(5.0) == 5.0


def test_known_grads():
    x = T.dvector("x")
    h = T.tanh(x)
    g = grad(None, x, known_grads={h: T.ones_like(h) * 2.0})
    a = np.array([0.0, 1.0])
    np.testing.assert_allclose(function([x], g)(a), 2 * (1 - np.tanh(a) ** 2))


def test_gradient_names():
    x = T.dscalar("x")
    cost = T.sum(x ** 2)
    cost.name = "cost"
    assert grad(cost, x).name == "(dcost/dx)"
    assert grad(x ** 3, x).name == "(dcost/dx)"
    assert grad(x ** 3, x, add_names=False).name is None


def test_gradient_types_match_wrt():
    x = T.fmatrix("x")
    r = T.frow("r")
    cost = T.sum(T.exp(x + r) * 2.0)
    gx, gr = grad(cost, [x, r])
    assert gx.type == x.type and gr.type == r.type
    out = function([x, r], gr)(np.zeros((3, 2), "float32"), np.zeros((1, 2), "float32"))
    np.testing.assert_allclose(out, np.full((1, 2), 6.0))
    assert out.dtype == np.float32


def test_second_derivative():
    x = T.dscalar("x")
    y = x ** 3 + T.sin(x)
    g = grad(y, x)
    h = grad(g, x)
    assert function([x], h)(0.5) == pytest.approx(6 * 0.5 - np.sin(0.5))


class _NoGrad(Op):
    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, out):
        out[0][0] = inputs[0].copy()


class _WrongGrad(_NoGrad):
    def grad(self, inputs, output_grads):
        return [output_grads[0] * 2]


def test_op_without_gradient_names_node_and_line(lineno):
    x = T.dvector("x")
    y = _NoGrad()(x); line = lineno()  # noqa: E702
    with pytest.raises(NotImplementedError) as info:
        grad(T.sum(y), x)
    assert "_NoGrad" in str(info.value) and f"line {line}" in str(info.value)


def test_verify_grad_detects_wrong_gradient(rng):
    with pytest.raises(GradientError, match="disagrees with finite differences"):
        verify_grad(lambda v: _WrongGrad()(v), [rng.rand(3)], rng=rng)
    verify_grad(lambda v: v * 3 + T.exp(v), [rng.rand(3)], rng=rng)


def test_verify_grad_scalar_output_and_float32(rng):
    verify_grad(lambda v: T.sum(v ** 2), [rng.rand(4)], rng=rng)
    verify_grad(lambda v: T.tanh(v), [rng.rand(3).astype("float32")], rng=rng)
    with pytest.raises(TypeError, match="float points"):
        verify_grad(lambda v: v, [np.arange(3)])
    verify_grad(lambda a, b: a * b, [rng.rand(2), rng.rand(2)], n_tests=1, mode="py", rng=rng)


def test_jacobian_is_built_on_scan():
    from symgraph.gradient import jacobian
    x = T.dvector("x")
    J = jacobian(T.tanh(x) * x[0], x)
    xv = np.array([0.3, -0.7, 1.1])
    f = symgraph.function([x], J)
    t = np.tanh(xv)
    expected = np.diag((1 - t ** 2) * xv[0])
    expected[:, 0] += t
    np.testing.assert_allclose(f(xv), expected, rtol=1e-10)


def test_grad_of_mlp_against_finite_differences(rng):
    def mlp(x, w1, w2):
        h = T.tanh(T.dot(x, w1))
        p = T.exp(T.dot(h, w2))
        p = p / T.sum(p, axis=1, keepdims=True)
        return -T.mean(T.log(p[T.arange(3), T.constant(np.array([0, 1, 0]))]))
    verify_grad(mlp, [rng.rand(3, 4), rng.rand(4, 5) - 0.5, rng.rand(5, 2) - 0.5], rng=rng)


def test_grad_and_compile_of_a_graph_deeper_than_the_recursion_limit():
    x = T.dscalar("x")
    y = x
    for _ in range(1500):
        y = T.tanh(y) * 0.5 + x
    g = grad(y, x)
    val, gval = function([x], [y, g], mode="py")(0.3)
    # reference by forward-mode iteration
    v, dv = 0.3, 1.0
    for _ in range(1500):
        v, dv = np.tanh(v) * 0.5 + 0.3, (1 - np.tanh(v) ** 2) * 0.5 * dv + 1.0
    assert val == pytest.approx(v) and gval == pytest.approx(dv)

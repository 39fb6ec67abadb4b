"""Seed 002 (Theano basics) and the Theano tutorial snippets it follows, ported to Python 3.

Each snippet is the Theano code with only the import changed (``import symgraph as theano``);
the expected values are the ones Theano's documentation prints. Random streams and conv2d
(also in the seed) are tested by their own modules.
"""
import numpy as np

import symgraph as theano
import symgraph.tensor as T
from symgraph import In, function, pp, shared


def test_star_import_gives_the_basics():
    ns = {}
    exec("from symgraph import *", ns)
    for name in ("function", "shared", "In", "Out", "pp", "grad", "config", "tensor"):
        assert name in ns, name


# ---------------------------------------------------------------- the seed's own snippets

def test_seed_scalars_vectors_matrices():
    x = T.dscalar("a")
    y = T.dscalar("b")
    z = x * y ** 2
    f = function([x, y], z)
    assert f(2, 3) == 18.0

    x = T.vector("a")
    z = x + x
    f = function([x], z)
    np.testing.assert_array_equal(f([1, 2, 3]), [2.0, 4.0, 6.0])

    x = T.dmatrix("x")
    y = T.dmatrix("y")
    z = x + y
    f = function([x, y], z)
    out = f(np.array([[1, 2, 3], [4, 5, 6]]), np.array([[3, 4, 5], [6, 7, 8]]))
    np.testing.assert_array_equal(out, [[4, 6, 8], [10, 12, 14]])
    assert out.dtype == np.float64


def test_seed_logistic_two_ways():
    x = T.dmatrix("x")
    s = 1 / (1 + T.exp(-x))
    f = function([x], s)
    r1 = f(np.array([[4, -1], [2, 3]]))
    s2 = (1 + T.tanh(x / 2)) / 2
    f2 = function([x], s2)
    r2 = f2(np.array([[4, -1], [2, 3]]))
    np.testing.assert_allclose(r1, [[0.98201379, 0.26894142], [0.88079708, 0.95257413]],
                               rtol=1e-8)
    np.testing.assert_allclose(r1, r2, rtol=1e-14)


def test_seed_several_functions_at_once():
    a, b = T.dmatrices("a", "b")
    f1 = a + b
    f2 = a - b
    f3 = a * b
    f4 = a ** b
    f = function([a, b], [f1, f2, f3, f4])
    m = np.array([[1, 2], [3, 5]])
    ss = f(m, m)
    np.testing.assert_array_equal(ss[0], [[2, 4], [6, 10]])
    np.testing.assert_array_equal(ss[1], [[0, 0], [0, 0]])
    np.testing.assert_array_equal(ss[2], [[1, 4], [9, 25]])
    np.testing.assert_array_equal(ss[3], [[1, 4], [27, 3125]])


def test_seed_default_value():
    x, y = T.dscalars("x", "y")
    z = x + y
    f = function([x, In(y, value=1)], z)
    assert f(10) == 11.0


def test_seed_shared_counter():
    count = shared(0)
    inc = T.iscalar("inc")
    f = function([inc], count, updates=[(count, count + inc)])
    assert f(10) == 0
    assert f(2) == 10
    assert count.get_value() == 12
    count.set_value(-1)
    assert count.get_value() == -1
    assert f(1) == -1 and count.get_value() == 0


def test_seed_grad_and_pp():
    x = T.dscalar("x")
    y = x ** 2
    gy = T.grad(y, x)
    # Theano printed '((fill((x ** TensorConstant{2}), TensorConstant{1.0}) * TensorConstant{2})
    # * (x ** (TensorConstant{2} - TensorConstant{1})))'; here constants print as values
    assert pp(gy) == "((fill((x ** 2.0), 1.0) * 2.0) * (x ** (2.0 - 1.0)))"
    f = theano.function([x], gy)
    assert f(4) == 8.0


# ---------------------------------------------------------------- the Theano tutorial

def test_tutorial_adding_two_scalars():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = x + y
    f = function([x, y], z)
    out = f(2, 3)
    assert isinstance(out, np.ndarray) and out.shape == () and out == 5.0
    assert np.allclose(f(16.3, 12.1), 28.4)
    assert np.allclose(z.eval({x: 16.3, y: 12.1}), 28.4)
    assert x.type == T.dscalar().type and T.dscalar().type.dtype == "float64"


def test_tutorial_adding_two_matrices():
    x = T.dmatrix("x")
    y = T.dmatrix("y")
    z = x + y
    f = function([x, y], z)
    np.testing.assert_array_equal(f([[1, 2], [3, 4]], [[10, 20], [30, 40]]),
                                  [[11.0, 22.0], [33.0, 44.0]])
    np.testing.assert_array_equal(f(np.array([[1, 2], [3, 4]]), np.array([[10, 20], [30, 40]])),
                                  [[11.0, 22.0], [33.0, 44.0]])


def test_tutorial_logistic():
    x = T.dmatrix("x")
    s = 1 / (1 + T.exp(-x))
    logistic = function([x], s)
    expected = [[0.5, 0.73105858], [0.26894142, 0.11920292]]
    np.testing.assert_allclose(logistic([[0, 1], [-1, -2]]), expected, rtol=1e-7)
    s2 = (1 + T.tanh(x / 2)) / 2
    logistic2 = function([x], s2)
    np.testing.assert_allclose(logistic2([[0, 1], [-1, -2]]), expected, rtol=1e-7)


def test_tutorial_multiple_outputs():
    a, b = T.dmatrices("a", "b")
    diff = a - b
    abs_diff = abs(diff)
    diff_squared = diff ** 2
    f = theano.function([a, b], [diff, abs_diff, diff_squared])
    d, ad, ds = f([[1, 1], [1, 1]], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(d, [[1.0, 0.0], [-1.0, -2.0]])
    np.testing.assert_array_equal(ad, [[1.0, 0.0], [1.0, 2.0]])
    np.testing.assert_array_equal(ds, [[1.0, 0.0], [1.0, 4.0]])


def test_tutorial_default_values():
    x, y = T.dscalars("x", "y")
    z = x + y
    f = function([x, In(y, value=1)], z)
    assert f(33) == 34.0
    assert f(33, 2) == 35.0

    x, y, w = T.dscalars("x", "y", "w")
    z = (x + y) * w
    f = function([x, In(y, value=1), In(w, value=2, name="w_by_name")], z)
    assert f(33) == 68.0
    assert f(33, 2) == 70.0
    assert f(33, 0, 1) == 33.0
    assert f(33, w_by_name=1) == 34.0
    assert f(33, w_by_name=1, y=0) == 33.0


def test_tutorial_shared_accumulator():
    state = shared(0)
    inc = T.iscalar("inc")
    accumulator = function([inc], state, updates=[(state, state + inc)])
    assert state.get_value() == 0
    assert accumulator(1) == 0
    assert state.get_value() == 1
    assert accumulator(300) == 1
    assert state.get_value() == 301
    state.set_value(-1)
    assert accumulator(3) == -1
    assert state.get_value() == 2
    decrementor = function([inc], state, updates=[(state, state - inc)])
    assert decrementor(2) == 2
    assert state.get_value() == 0

    fn_of_state = state * 2 + inc
    foo = T.scalar(dtype=state.dtype)
    skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip_shared(1, 3) == 7
    assert state.get_value() == 0          # the old state is still there


def test_tutorial_derivatives():
    x = T.dscalar("x")
    y = x ** 2
    gy = T.grad(y, x)
    text = pp(gy)
    for piece in ("fill((x ** 2.0), 1.0)", "* 2.0", "(x ** (2.0 - 1.0))"):
        assert piece in text
    f = theano.function([x], gy)
    assert f(4) == 8.0
    assert np.allclose(f(94.2), 188.4)

    x = T.dmatrix("x")
    s = T.sum(1 / (1 + T.exp(-x)))
    gs = T.grad(s, x)
    dlogistic = theano.function([x], gs)
    np.testing.assert_allclose(dlogistic([[0, 1], [-1, -2]]),
                               [[0.25, 0.19661193], [0.19661193, 0.10499359]], rtol=1e-7)


def test_tutorial_jacobian_free_products():
    # Hessian times a vector, without scan
    x = T.dvector("x")
    v = T.dvector("v")
    y = T.sum(x ** 2)
    gy = T.grad(y, x)
    vH = T.grad(T.sum(gy * v), x)
    f = theano.function([x, v], vH)
    np.testing.assert_array_equal(f([4, 4], [2, 2]), [4.0, 4.0])
    # L-operator: vector times Jacobian
    W = T.dmatrix("W")
    v = T.dvector("v")
    x = T.dvector("x")
    y = T.dot(x, W)
    VJ = T.Lop(y, W, v)
    f = theano.function([v, x], VJ)
    np.testing.assert_array_equal(f([2, 2], [0, 1]), [[0.0, 0.0], [2.0, 2.0]])
    # R-operator: Jacobian times vector
    V = T.dmatrix("V")
    JV = T.Rop(y, W, V)
    f = theano.function([W, V, x], JV)
    np.testing.assert_array_equal(f([[1, 1], [1, 1]], [[2, 2], [2, 2]], [0, 1]), [2.0, 2.0])


def test_rop_and_lop_against_explicit_jacobian(rng):
    x = T.dvector("x")
    u = T.dvector("u")
    y = T.tanh(x) * T.sum(x ** 2)
    a, d = rng.rand(3), rng.rand(3)
    # explicit Jacobian by rows of grad
    jac = np.array([theano.function([x], T.grad(y[i], x))(a) for i in range(3)])
    jv, vj = theano.function([x, u], [T.Rop(y, x, u), T.Lop(y, x, u)])(a, d)
    np.testing.assert_allclose(jv, jac @ d, rtol=1e-12)
    np.testing.assert_allclose(vj, d @ jac, rtol=1e-12)
    # and the tutorial's theano.gradient.jacobian (built on scan) gives the same matrix
    np.testing.assert_allclose(theano.function([x], theano.gradient.jacobian(y, x))(a), jac,
                               rtol=1e-12)


def test_logistic_regression_training_step():
    """The tutorial's logistic-regression example: cost decreases under its updates."""
    rng = np.random.RandomState(0)
    N, feats = 40, 5
    D = (rng.randn(N, feats), rng.randint(size=N, low=0, high=2))
    x = T.dmatrix("x")
    y = T.dvector("y")
    w = shared(rng.randn(feats), name="w")
    b = shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function(inputs=[x, y], outputs=[prediction, xent.mean()],
                            updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    predict = theano.function(inputs=[x], outputs=prediction)
    losses = [train(D[0], D[1])[1] for _ in range(50)]
    assert losses[-1] < losses[0]
    assert predict(D[0]).dtype == np.bool_
    assert b.get_value().dtype == np.float64

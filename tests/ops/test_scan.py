"""Tests of symgraph/ops/scan.py: scan, until, map/reduce/foldl/foldr, BPTT, shapes, errors.

Forward results are checked against NumPy loops written here; gradients with
``verify_grad`` (finite differences); the C backend (FAST_RUN) against the reference.
"""
from collections import OrderedDict

import numpy as np
import pytest

import symgraph as theano
import symgraph.tensor as T
from symgraph import function, shared
from symgraph.gradient import hessian, jacobian
from symgraph.ops.scan import Scan
from symgraph.sandbox.rng_mrg import MRG_RandomStreams
from symgraph.scan_module import until
from symgraph.tensor.shared_randomstreams import RandomStreams

MODES = ["PY", "FAST_RUN"]
rng = np.random.RandomState(1234)


def both(inputs, outputs, **kw):
    return [function(inputs, outputs, mode=m, **kw) for m in MODES]


def check_both(inputs, outputs, values, expected, **kw):
    for f in both(inputs, outputs, **kw):
        got = f(*values)
        if isinstance(expected, list):
            for g, e in zip(got, expected):
                np.testing.assert_allclose(g, e, rtol=1e-7, atol=1e-10)
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-10)


def rnn_ref(x, W, U, h0):
    h, out = h0, []
    for t in range(len(x)):
        h = np.tanh(x[t] @ W + h @ U)
        out.append(h)
    return np.array(out)


# ------------------------------------------------------------------ forward

def test_cumulative_sum():
    x = T.dvector("x")
    s, upd = theano.scan(lambda xt, acc: acc + xt, sequences=x, outputs_info=T.zeros_like(x[0]))
    assert isinstance(upd, OrderedDict) and not upd
    xv = rng.randn(6)
    check_both([x], s, [xv], np.cumsum(xv))


def test_rnn_matches_numpy_loop():
    X, W, U, h0 = T.dmatrix("X"), T.dmatrix("W"), T.dmatrix("U"), T.dvector("h0")
    hs, _ = theano.scan(lambda x, h, W, U: T.tanh(T.dot(x, W) + T.dot(h, U)),
                        sequences=X, outputs_info=h0, non_sequences=[W, U])
    v = [rng.randn(5, 3), rng.randn(3, 4), rng.randn(4, 4) * 0.5, rng.randn(4)]
    check_both([X, W, U, h0], hs, v, rnn_ref(*v))


def test_sequence_and_state_taps_argument_order():
    x, init = T.dvector("x"), T.dvector("init")
    seen = []

    def step(a_m2, a_0, a_p2, h_m3, h_m1):
        seen.append([v.name for v in (a_m2, a_0, a_p2, h_m3, h_m1)])
        return a_m2 + 10 * a_0 + 100 * a_p2 + 0.5 * h_m3 - 0.25 * h_m1

    out, _ = theano.scan(step, sequences=dict(input=x, taps=[-2, 0, 2]),
                         outputs_info=dict(initial=init, taps=[-3, -1]))
    xv, iv = rng.randn(9), rng.randn(3)
    h = list(iv)
    ref = []
    for t in range(2, len(xv) - 2):         # steps: len - (2 - (-2))
        v = xv[t - 2] + 10 * xv[t] + 100 * xv[t + 2] + 0.5 * h[-3] - 0.25 * h[-1]
        h.append(v)
        ref.append(v)
    check_both([x, init], out, [xv, iv], np.array(ref))


def test_positive_taps_only():
    x = T.dvector("x")
    out, _ = theano.scan(lambda a, b: a * b, sequences=dict(input=x, taps=[1, 3]))
    xv = rng.randn(7)
    check_both([x], out, [xv], xv[1:5] * xv[3:7])


def test_go_backwards():
    x = T.dvector("x")
    s, _ = theano.scan(lambda xt, acc: acc * 0.5 + xt, sequences=x, outputs_info=T.constant(0.0),
                       go_backwards=True)
    xv = rng.randn(5)
    acc, ref = 0.0, []
    for v in xv[::-1]:
        acc = acc * 0.5 + v
        ref.append(acc)
    check_both([x], s, [xv], np.array(ref))


def test_n_steps_symbolic_and_zero_and_no_sequences():
    n = T.iscalar("n")
    a = T.dscalar("a")
    powers, _ = theano.scan(lambda p, a: p * a, outputs_info=T.ones_like(a), non_sequences=a,
                            n_steps=n)
    for f in both([a, n], powers):
        np.testing.assert_allclose(f(2.0, 5), [2, 4, 8, 16, 32])
        empty = f(2.0, 0)
        assert empty.shape == (0,)
    x = T.dvector("x")
    out, _ = theano.scan(lambda xt: xt * 2, sequences=x, n_steps=3)
    check_both([x], out, [np.arange(5.0)], [0, 2, 4])
    # n_steps=0 as a Python int: empty history, matrix states keep their trailing shape
    h0 = T.dmatrix("h0")
    hs, _ = theano.scan(lambda h: h + 1, outputs_info=h0, n_steps=0)
    assert function([h0], hs, mode="PY")(np.zeros((2, 3))).shape == (0, 2, 3)


def test_none_outputs_info_and_several_outputs():
    x = T.dvector("x")

    def step(xt, s):
        return xt * 2, s + xt          # first not fed back, second a state

    (dbl, cs), _ = theano.scan(step, sequences=x, outputs_info=[None, T.constant(0.0)])
    xv = rng.randn(4)
    check_both([x], [dbl, cs], [xv], [2 * xv, np.cumsum(xv)])


def test_until_stops_early():
    x0 = T.dscalar("x0")

    def step(v):
        nv = v * 2
        return nv, until(T.gt(nv, 50))

    out, _ = theano.scan(step, outputs_info=x0, n_steps=100)
    check_both([x0], out, [np.array(1.0)], [2, 4, 8, 16, 32, 64])
    # the upper bound still applies
    f = function([x0], out, mode="PY")
    np.testing.assert_allclose(f(1e-30)[-1], 1e-30 * 2 ** 100)


def test_map_reduce_foldl_foldr():
    x = T.dvector("x")
    sq, _ = theano.map(T.sqr, x)
    tot, _ = theano.reduce(lambda xt, acc: acc + xt, x, T.constant(0.0))
    fl, _ = theano.foldl(lambda xt, acc: acc * 2 + xt, x, T.constant(0.0))
    fr, _ = theano.foldr(lambda xt, acc: acc * 2 + xt, x, T.constant(0.0))
    xv = np.array([1.0, 2.0, 3.0])
    check_both([x], [sq, tot, fl, fr], [xv], [xv ** 2, 6.0, 11.0, 17.0])
    from symgraph import scan_module
    assert scan_module.map is theano.map and scan_module.reduce is theano.reduce


def test_free_variables_captured_and_strict():
    x, W = T.dvector("x"), T.dscalar("W")
    c = shared(np.float64(3.0), name="c")
    out, _ = theano.scan(lambda xt: xt * W + c, sequences=x)
    check_both([x, W], out, [np.arange(3.0), np.array(2.0)], [3, 5, 7])
    with pytest.raises(ValueError, match=r"strict=True.*W"):
        theano.scan(lambda xt: xt * W + c, sequences=x, strict=True)
    out, _ = theano.scan(lambda xt, W, c: xt * W + c, sequences=x, non_sequences=[W, c],
                         strict=True)
    check_both([x, W], out, [np.arange(3.0), np.array(2.0)], [3, 5, 7])


def test_shared_variable_updated_in_body():
    count = shared(np.float64(0.0), name="count")
    x = T.dvector("x")

    def step(xt):
        return xt + count, OrderedDict([(count, count + 1)])

    out, upd = theano.scan(step, sequences=x)
    assert list(upd) == [count]
    for mode in MODES:
        count.set_value(np.float64(0.0))
        f = function([x], out, updates=upd, mode=mode)
        np.testing.assert_allclose(f(np.zeros(4)), [0, 1, 2, 3])
        assert count.get_value() == 4.0          # applied once per call
        np.testing.assert_allclose(f(np.zeros(2)), [4, 5])
        assert count.get_value() == 6.0


@pytest.mark.parametrize("streams", [RandomStreams, MRG_RandomStreams])
def test_random_streams_draw_per_step(streams):
    srng = streams(seed=42)
    n = T.iscalar("n")

    def step():
        return srng.uniform((3,))

    draws, upd = theano.scan(step, n_steps=n)
    assert len(upd) == 1
    f = function([n], draws, updates=upd, mode="PY")
    a = f(4)
    assert a.shape == (4, 3)
    assert len({tuple(r) for r in a}) == 4             # a new draw at every step
    b = f(4)
    assert not np.allclose(a, b)                       # the state advanced once per call


def test_gibbs_chain_with_random_streams():
    """An RBM-style Gibbs chain: binomial draws inside the body, the state updated per call."""
    srng = RandomStreams(seed=7)
    W = shared(rng.randn(4, 3) * 0.5, name="W")
    v0 = T.dvector("v0")

    def gibbs(v):
        h = srng.binomial(size=(3,), n=1, p=T.nnet.sigmoid(T.dot(v, W)), dtype="float64")
        return srng.binomial(size=(4,), n=1, p=T.nnet.sigmoid(T.dot(h, W.T)), dtype="float64")

    chain, upd = theano.scan(gibbs, outputs_info=v0, n_steps=5)
    for mode in MODES:
        f = function([v0], chain, updates=upd, mode=mode)
        out = f(np.ones(4))
        assert out.shape == (5, 4) and set(np.unique(out)) <= {0.0, 1.0}


def test_python_and_c_backends_agree_on_rnn_with_taps():
    X, W = T.dmatrix("X"), T.dmatrix("W")
    h0 = T.dmatrix("h0")

    def step(x_t, x_tm1, h_tm2, h_tm1, W):
        return T.tanh(T.dot(x_t + x_tm1, W) + h_tm1 - 0.5 * h_tm2)

    hs, _ = theano.scan(step, sequences=dict(input=X, taps=[0, -1]),
                        outputs_info=dict(initial=h0, taps=[-2, -1]), non_sequences=W)
    v = [rng.randn(6, 3), rng.randn(3, 3), rng.randn(2, 3)]
    fp, fc = both([X, W, h0], hs)
    np.testing.assert_allclose(fp(*v), fc(*v))


# ------------------------------------------------------------------ shapes

def test_infer_shape_does_not_run_the_loop():
    X, h0 = T.dmatrix("X"), T.dvector("h0")
    hs, _ = theano.scan(lambda x, h: T.tanh(x + h), sequences=X, outputs_info=h0)
    ys, _ = theano.scan(lambda x: T.concatenate([x, x]), sequences=X)
    f = function([X, h0], [hs.shape, ys.shape], mode="FAST_RUN")
    assert not any(isinstance(n.op, Scan) for n in f.maker.fgraph.toposort())
    a, b = f(np.zeros((7, 3)), np.zeros(3))
    assert tuple(a) == (7, 3) and tuple(b) == (7, 6)


# ------------------------------------------------------------------ gradients

def test_grad_rnn_wrt_everything():
    def fn(X, W, U, h0):
        hs, _ = theano.scan(lambda x, h, W, U: T.tanh(T.dot(x, W) + T.dot(h, U)),
                            sequences=X, outputs_info=h0, non_sequences=[W, U])
        return hs

    theano.verify_grad(fn, [rng.randn(4, 2), rng.randn(2, 3), rng.randn(3, 3) * 0.5,
                            rng.randn(3)], mode="PY")


def test_grad_taps():
    def fn(x, init, w):
        out, _ = theano.scan(lambda a, b, c, h3, h1, w: a * w + b * c + 0.5 * T.tanh(h3 * h1),
                             sequences=dict(input=x, taps=[-2, 0, 2]),
                             outputs_info=dict(initial=init, taps=[-3, -1]), non_sequences=w)
        return out

    theano.verify_grad(fn, [rng.randn(8), rng.randn(3), np.array(0.7)], mode="PY")


def test_grad_several_outputs_and_implicit_nonsequence():
    W = T.dmatrix("W")

    def fn(x, a0, b0):
        def step(xt, a, b):
            return T.tanh(T.dot(a, W) + xt), a * b + xt, T.sum(a * xt)

        (a, b, y), _ = theano.scan(step, sequences=x, outputs_info=[a0, b0, None])
        return a.sum() + (b ** 2).sum() + y.sum()

    wv = rng.randn(2, 2)
    theano.verify_grad(lambda x, a0, b0: theano.clone(fn(x, a0, b0), {W: T.constant(wv)}),
                       [rng.randn(3, 2), rng.randn(2), rng.randn(2)], mode="PY")


def test_grad_truncated():
    x, w = T.dvector("x"), T.dscalar("w")
    for trunc in (-1, 2):
        s, _ = theano.scan(lambda xt, h, w: h * w + xt, sequences=x, outputs_info=T.constant(0.0),
                           non_sequences=w, truncate_gradient=trunc)
        gx, gw = T.grad(s[-1], [x, w])
        xv, wv = np.arange(1.0, 5.0), 0.5
        gxv, gwv = function([x, w], [gx, gw], mode="PY")(xv, wv)
        # s[-1] = sum_t x_t w^(n-1-t)
        full = wv ** np.arange(3, -1, -1)
        if trunc < 0:
            np.testing.assert_allclose(gxv, full)
        else:
            np.testing.assert_allclose(gxv, [0, 0, full[2], full[3]])
            # only the last two steps: h_3 = w h_2 + x_3, h_2 = w h_1 + x_2 (h_1 held constant)
            h1 = 1 * wv + 2
            np.testing.assert_allclose(gwv, (wv * h1 + 3) + wv * h1)


def test_grad_nested_scan():
    def fn(x, w):
        def outer_step(row, acc, w):
            inner, _ = theano.scan(lambda v, a, w: a * w + v, sequences=row,
                                   outputs_info=T.zeros_like(w), non_sequences=w)
            return acc + T.tanh(inner[-1])

        out, _ = theano.scan(outer_step, sequences=x, outputs_info=T.zeros_like(w),
                             non_sequences=w)
        return out

    theano.verify_grad(fn, [rng.randn(3, 4), np.array(0.6)], mode="PY")


def test_grad_through_until_and_reduce():
    def fn(x0, w):
        out, _ = theano.scan(lambda v, w: (v * w, until(T.gt(v, 3.0))), outputs_info=x0,
                             non_sequences=w, n_steps=10)
        return out

    theano.verify_grad(fn, [np.array(1.0), np.array(1.5)], mode="PY")
    theano.verify_grad(lambda x, a: theano.reduce(lambda xt, h: T.tanh(h * xt), x, a)[0],
                       [rng.randn(4), np.array(0.3)], mode="PY")


def test_second_derivative_through_scan():
    x, w = T.dvector("x"), T.dscalar("w")
    s, _ = theano.scan(lambda xt, h, w: h * w + xt * xt, sequences=x,
                       outputs_info=T.constant(0.0), non_sequences=w)
    cost = s[-1]
    g = T.grad(cost, w)
    gg = T.grad(g, w)
    xv, wv = np.array([1.0, 2.0, 3.0]), 0.7
    # cost = x0^2 w^2 + x1^2 w + x2^2
    np.testing.assert_allclose(function([x, w], [g, gg], mode="PY")(xv, wv),
                               [2 * wv * 1 + 4, 2.0])
    H = hessian(T.sum(theano.scan(lambda a, b: a * b, sequences=[x, x])[0] ** 2), x)
    np.testing.assert_allclose(function([x], H, mode="PY")(xv), np.diag(12 * xv ** 2))


def test_jacobian_against_numpy():
    x = T.dvector("x")
    A = T.dmatrix("A")
    J = jacobian(T.tanh(T.dot(A, x)), x)
    Jl = jacobian(T.dot(A, x), [x, A])
    av, xv = rng.randn(3, 2), rng.randn(2)
    for f in both([A, x], J):
        np.testing.assert_allclose(f(av, xv), (1 - np.tanh(av @ xv) ** 2)[:, None] * av)
    jx, ja = function([A, x], Jl, mode="PY")(av, xv)
    np.testing.assert_allclose(jx, av)
    ref = np.zeros((3, 3, 2))
    for i in range(3):
        ref[i, i] = xv
    np.testing.assert_allclose(ja, ref)
    H = hessian(T.sum(x ** 3) + x[0] * x[1], x)
    np.testing.assert_allclose(function([x], H, mode="PY")(xv),
                               np.diag(6 * xv) + np.array([[0, 1], [1, 0]]))


def test_rop_and_lop_through_scan():
    x, W, v = T.dvector("x"), T.dmatrix("W"), T.dmatrix("V")
    hs, _ = theano.scan(lambda h, W: T.tanh(T.dot(h, W)), outputs_info=x, non_sequences=W,
                        n_steps=3)
    y = hs[-1]
    jv = T.Rop(y, W, v)
    u = T.dvector("u")
    vj = T.Lop(y, W, u)
    xv, wv, vv, uv = rng.randn(2), rng.randn(2, 2), rng.randn(2, 2), rng.randn(2)
    f = function([x, W, v], jv, mode="PY")
    eps = 1e-6
    g = function([x, W], y, mode="PY")
    num = (g(xv, wv + eps * vv) - g(xv, wv - eps * vv)) / (2 * eps)
    np.testing.assert_allclose(f(xv, wv, vv), num, rtol=1e-5, atol=1e-8)
    Jw = function([x, W], jacobian(y, W), mode="PY")(xv, wv)
    np.testing.assert_allclose(function([x, W, u], vj, mode="PY")(xv, wv, uv),
                               np.tensordot(uv, Jw, axes=1), rtol=1e-6, atol=1e-10)


def test_grad_with_random_draws_in_body_is_refused():
    srng = RandomStreams(seed=1)
    x = T.dvector("x")
    out, _ = theano.scan(lambda xt: xt * srng.uniform(()), sequences=x)
    with pytest.raises(NotImplementedError, match="random"):
        T.grad(out.sum(), x)


# ------------------------------------------------------------------ bad input

def test_error_state_dtype_differs():
    x = T.fvector("x")
    with pytest.raises(TypeError, match=r"output 0.*float64.*float32.*T\.cast") as e:
        theano.scan(lambda xt, h: h + T.cast(xt, "float64"), sequences=x,
                    outputs_info=T.zeros_like(x[0]))
    assert "test_scan.py" in str(e.value)


def test_error_state_broadcastable_differs():
    x = T.dmatrix("x")
    h0 = T.alloc(0.0, 1, 3)        # broadcastable (True, False)
    with pytest.raises(TypeError, match=r"output 0.*broadcastable.*T\.unbroadcast\(h0, 0\)"):
        theano.scan(lambda h, x: h + x, outputs_info=h0, non_sequences=x, n_steps=2)
    out, _ = theano.scan(lambda h, x: h + x, outputs_info=T.unbroadcast(h0, 0), non_sequences=x,
                         n_steps=2)
    assert function([x], out, mode="PY")(np.ones((1, 3))).shape == (2, 1, 3)


def test_error_wrong_number_of_outputs():
    x = T.dvector("x")
    with pytest.raises(ValueError, match=r"returned 2 output\(s\) but outputs_info has 1"):
        theano.scan(lambda xt, h: [h + xt, h], sequences=x, outputs_info=T.zeros_like(x[0]))


def test_error_tap_beyond_sequence_and_empty_sequence():
    x = T.dvector("x")
    out, _ = theano.scan(lambda a, b: a + b, sequences=dict(input=x, taps=[-2, 2]))
    f = function([x], out, mode="PY")
    with pytest.raises(ValueError, match=r"sequence 0 has length 3.*taps \[-2, 2\].*beyond"):
        f(np.zeros(3))
    out2, _ = theano.scan(lambda a: a + 1, sequences=x)
    with pytest.raises(ValueError, match=r"sequence 0 has length 0"):
        function([x], out2, mode="PY")(np.zeros(0))
    n = T.iscalar("n")
    out3, _ = theano.scan(lambda a: a + 1, sequences=x, n_steps=n)
    with pytest.raises(ValueError, match=r"sequence 0 has length 2, but 5 steps"):
        function([x, n], out3, mode="PY")(np.zeros(2), 5)
    with pytest.raises(ValueError, match=r"n_steps is -1"):
        function([x, n], out3, mode="PY")(np.zeros(2), -1)


def test_error_n_steps_and_until_types():
    a = T.dscalar("a")
    with pytest.raises(TypeError, match="n_steps must be an integer scalar"):
        theano.scan(lambda h: h, outputs_info=a, n_steps=T.dscalar("n"))
    with pytest.raises(TypeError, match="n_steps must be an integer scalar"):
        theano.scan(lambda h: h, outputs_info=a, n_steps=2.5)
    with pytest.raises(ValueError, match="negative"):
        theano.scan(lambda h: h, outputs_info=a, n_steps=-2)
    with pytest.raises(TypeError, match="until: the condition must be a scalar"):
        theano.scan(lambda h: (h, until(T.dvector() > 0)), outputs_info=a, n_steps=3)
    with pytest.raises(ValueError, match="no sequences and no n_steps"):
        theano.scan(lambda h: h, outputs_info=a)


def test_debugprint_shows_inner_graph():
    x = T.dvector("x")
    s, _ = theano.scan(lambda xt, acc: acc + T.exp(xt), sequences=x,
                       outputs_info=T.zeros_like(x[0]), name="cumexp")
    text = theano.debugprint(s, file="str")
    assert "Scan" in text and "Inner graph" in text and "exp" in text


def test_inner_graph_is_rewritten_in_fast_run_only():
    x = T.dvector("x")
    s, _ = theano.scan(lambda xt, acc: acc + xt * 1 + 0, sequences=x,
                       outputs_info=T.zeros_like(x[0]))
    user_inner = len(s.owner.op.fgraph.apply_nodes)

    def inner_nodes(f):
        (node,) = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Scan)]
        return len(node.op.fgraph.apply_nodes)

    fast = function([x], s, mode="FAST_RUN")
    slow = function([x], s, mode=theano.Mode(linker="py", optimizer=None))
    assert inner_nodes(fast) < user_inner == inner_nodes(slow)
    assert len(s.owner.op.fgraph.apply_nodes) == user_inner        # the user's graph is kept
    xv = rng.randn(4)
    np.testing.assert_allclose(fast(xv), slow(xv))

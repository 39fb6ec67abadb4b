"""Tests of the loop rewrites of symgraph/rewrite/scan.py (the ``scan_loop`` pass).

Each rewrite is shown to fire (the compiled graph's Scan body loses the node, the outer
graph gains it), the rewritten function is compared with the same graph compiled with the
pass left out and with a NumPy loop, on the Python and the C backends, and gradients
through the rewritten scan are checked with ``verify_grad``.
"""
import numpy as np
import pytest

import symgraph as theano
import symgraph.tensor as T
from symgraph import function
from symgraph.compile.mode import Mode
from symgraph.ops.scan import Scan
from symgraph.scan_module import until
from symgraph.tensor.shared_randomstreams import RandomStreams

rng = np.random.RandomState(42)
MODES = ["PY", "FAST_RUN"]
UNREWRITTEN = Mode("py", "fast_run").excluding("scan_loop")


def scans(f):
    return [n for n in f.maker.fgraph.toposort() if isinstance(n.op, Scan)]


def inner_ops(node):
    return [type(n.op).__name__ for n in node.op.fgraph.toposort()]


def outer_ops(f):
    return [type(n.op).__name__ for n in f.maker.fgraph.toposort()]


def compare(inputs, outputs, values, expected=None, **kw):
    """Every mode agrees with the unrewritten graph (and ``expected``); the FAST_RUN function."""
    ref = function(inputs, outputs, mode=UNREWRITTEN, **kw)(*values)
    ref = ref if isinstance(ref, list) else [ref]
    if expected is not None:
        for r, e in zip(ref, expected):
            np.testing.assert_allclose(r, e, rtol=1e-10, atol=1e-12)
    for m in MODES:
        f = function(inputs, outputs, mode=m, **kw)
        got = f(*values)
        got = got if isinstance(got, list) else [got]
        for g, r in zip(got, ref):
            np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)
    return f


def rnn(X, W, U, b, h0, **kw):
    return theano.scan(lambda x, h, W, U, b: T.tanh(T.dot(x, W) + T.dot(h, U) + b),
                       sequences=X, outputs_info=h0, non_sequences=[W, U, b], **kw)[0]


def rnn_ref(x, W, U, b, h0, backwards=False):
    h, out = h0, []
    steps = range(len(x) - 1, -1, -1) if backwards else range(len(x))
    for t in steps:
        h = np.tanh(x[t] @ W + h @ U + b)
        out.append(h)
    return np.array(out)


def rnn_values(batch=True):
    x = rng.randn(6, 2, 3) if batch else rng.randn(6, 3)
    h0 = rng.randn(2, 4) if batch else rng.randn(4)
    return [x, rng.randn(3, 4), rng.randn(4, 4) * 0.5, rng.randn(4), h0]


# ------------------------------------------------------------------ push out sequences

@pytest.mark.parametrize("batch", [True, False])
def test_input_projection_leaves_the_loop(batch):
    X = T.dtensor3("X") if batch else T.dmatrix("X")
    W, U, b = T.dmatrix("W"), T.dmatrix("U"), T.dvector("b")
    h0 = T.dmatrix("h0") if batch else T.dvector("h0")
    v = rnn_values(batch)
    f = compare([X, W, U, b, h0], rnn(X, W, U, b, h0), v, [rnn_ref(*v)])
    (node,) = scans(f)
    # one Dot left inside: h @ U; x_t @ W is one product over the whole sequence outside
    assert inner_ops(node).count("Dot") == 1, inner_ops(node)
    assert "Dot" in outer_ops(f) or "Gemm" in " ".join(outer_ops(f)), outer_ops(f)
    g = function([X, W, U, b, h0], rnn(X, W, U, b, h0), mode=UNREWRITTEN)
    assert inner_ops(scans(g)[0]).count("Dot") == 2


def test_pushout_go_backwards_and_until():
    X, W, U, b, h0 = T.dmatrix("X"), T.dmatrix("W"), T.dmatrix("U"), T.dvector("b"), \
        T.dvector("h0")
    v = rnn_values(False)
    hs = rnn(X, W, U, b, h0, go_backwards=True)
    f = compare([X, W, U, b, h0], hs, v, [rnn_ref(*v, backwards=True)])
    assert inner_ops(scans(f)[0]).count("Dot") == 1

    def step(x, h, W):
        new = T.tanh(T.dot(x, W) + h)
        return new, until(T.sum(new) > 0.5)
    hs, _ = theano.scan(step, sequences=X, outputs_info=T.zeros((4,)), non_sequences=W)
    xv, wv = v[0], v[1]
    ref, h = [], np.zeros(4)
    for t in range(len(xv)):
        h = np.tanh(xv[t] @ wv + h)
        ref.append(h)
        if h.sum() > 0.5:
            break
    f = compare([X, W], hs, [xv, wv], [np.array(ref)])
    assert "Dot" not in inner_ops(scans(f)[0])


def test_elemwise_on_a_tapped_sequence():
    x, w = T.dvector("x"), T.dscalar("w")
    out, _ = theano.scan(lambda a, h, w: T.exp(a) * w + 0.5 * h,
                         sequences=dict(input=x, taps=[2]), outputs_info=T.constant(0.0),
                         non_sequences=w)
    xv = rng.randn(7)
    ref, h = [], 0.0
    for t in range(5):
        h = np.exp(xv[t + 2]) * 0.3 + 0.5 * h
        ref.append(h)
    f = compare([x, w], out, [xv, 0.3], [np.array(ref)])
    assert "exp" not in str([n.op for n in scans(f)[0].op.fgraph.toposort()])
    theano.verify_grad(lambda x, w: theano.scan(
        lambda a, h, w: T.exp(a) * w + 0.5 * h, sequences=dict(input=x, taps=[2]),
        outputs_info=T.constant(0.0), non_sequences=w)[0], [xv, np.array(0.3)], mode="PY")


def test_several_taps_are_left_in_the_loop():
    x = T.dvector("x")
    out, _ = theano.scan(lambda a, b: T.exp(a) + b, sequences=dict(input=x, taps=[-1, 0]))
    xv = rng.randn(6)
    f = compare([x], out, [xv], [np.exp(xv[:-1]) + xv[1:]])
    assert "Elemwise" in inner_ops(scans(f)[0])


# ------------------------------------------------------------------ push out invariants

def test_invariants_leave_the_loop():
    x, W, b = T.dvector("x"), T.dmatrix("W"), T.dvector("b")
    out, _ = theano.scan(lambda h, W, b: T.dot(h, T.exp(W) * 2) + T.log(b ** 2),
                         outputs_info=x, non_sequences=[W, b], n_steps=4)
    xv, wv, bv = rng.randn(3), rng.randn(3, 3) * 0.2, rng.randn(3)
    ref, h = [], xv
    for _ in range(4):
        h = h @ (np.exp(wv) * 2) + np.log(bv ** 2)
        ref.append(h)
    f = compare([x, W, b], out, [xv, wv, bv], [np.array(ref)])
    text = str([n.op for n in scans(f)[0].op.fgraph.toposort()])
    assert "exp" not in text and "log" not in text, text
    assert "exp" in str([n.op for n in f.maker.fgraph.toposort()])


def test_random_draws_stay_in_the_loop():
    srng = RandomStreams(7)
    W = T.dmatrix("W")
    out, upd = theano.scan(lambda W: T.sum(W * srng.uniform((2, 2))), non_sequences=W,
                           n_steps=3)
    f = function([W], out, updates=upd, mode="PY")
    assert len(scans(f)) == 1
    a = f(np.ones((2, 2)))
    assert len(set(np.round(a, 12))) == 3          # three different draws


# ------------------------------------------------------------------ unused inputs

def test_unused_inputs_are_dropped():
    x, y, w, c = T.dvector("x"), T.dvector("y"), T.dscalar("w"), T.dscalar("c")
    out, _ = theano.scan(lambda a, b, h, w, c: h * w + b, sequences=[x, y],
                         outputs_info=T.constant(0.0), non_sequences=[w, c], n_steps=4)
    xv, yv = rng.randn(5), rng.randn(4)
    ref, h = [], 0.0
    for t in range(4):
        h = h * 0.5 + yv[t]
        ref.append(h)
    f = compare([x, y, w, c], out, [xv, yv, 0.5, 2.0], [np.array(ref)],
                on_unused_input="ignore")
    (node,) = scans(f)
    assert node.op.n_seqs == 1 and node.op.n_nonseq == 1


# ------------------------------------------------------------------ gradients, BPTT

def test_grad_through_rewritten_rnn():
    X, W, U, b, h0 = T.dtensor3("X"), T.dmatrix("W"), T.dmatrix("U"), T.dvector("b"), \
        T.dmatrix("h0")
    cost = (rnn(X, W, U, b, h0) ** 2).sum()
    grads = T.grad(cost, [X, W, U, b, h0])
    v = rnn_values(True)
    f = compare([X, W, U, b, h0], grads, v)
    # the backward scan loses the sequence-only products too
    g = function([X, W, U, b, h0], grads, mode=UNREWRITTEN)

    def dots_in_loops(fn):
        return sum(inner_ops(n).count("Dot") for n in scans(fn))
    assert dots_in_loops(f) < dots_in_loops(g), (dots_in_loops(f), dots_in_loops(g))
    theano.verify_grad(lambda X, W, U, b, h0: rnn(X, W, U, b, h0), v, mode="PY")
    theano.verify_grad(lambda X, W, U, b, h0: rnn(X, W, U, b, h0), v, mode="FAST_RUN")


def test_grad_truncated_after_rewrite():
    X, W, U, b, h0 = T.dmatrix("X"), T.dmatrix("W"), T.dmatrix("U"), T.dvector("b"), \
        T.dvector("h0")
    cost = rnn(X, W, U, b, h0, truncate_gradient=2)[-1].sum()
    v = rnn_values(False)
    compare([X, W, U, b, h0], T.grad(cost, [X, W, U, b]), v)


def test_excluding_a_single_rewrite():
    X, W, U, b, h0 = T.dmatrix("X"), T.dmatrix("W"), T.dmatrix("U"), T.dvector("b"), \
        T.dvector("h0")
    f = function([X, W, U, b, h0], rnn(X, W, U, b, h0),
                 mode=Mode("py", "fast_run").excluding("pushout_sequences"))
    assert inner_ops(scans(f)[0]).count("Dot") == 2


# ------------------------------------------------------------------ last value only

def test_last_value_only_when_history_is_read_as_minus_one():
    X, W, U, b, h0 = T.dmatrix("X"), T.dmatrix("W"), T.dmatrix("U"), T.dvector("b"), \
        T.dvector("h0")
    v = rnn_values(False)
    last = rnn(X, W, U, b, h0)[-1]
    f = compare([X, W, U, b, h0], last, v, [rnn_ref(*v)[-1]])
    (node,) = scans(f)
    assert node.op.state_keep == ("last",)
    assert "Subtensor" not in outer_ops(f)[outer_ops(f).index("Scan"):]
    # the whole history is read too: it stays
    hs = rnn(X, W, U, b, h0)
    f = compare([X, W, U, b, h0], [hs[-1], hs.sum()], v)
    assert scans(f)[0].op.state_keep == ("all",)
    # BPTT reads the forward history: the gradient's forward scan keeps it, results agree
    g = T.grad(last.sum(), [W, U])
    f = compare([X, W, U, b, h0], g, v)
    theano.verify_grad(lambda X, W, U, b, h0: rnn(X, W, U, b, h0)[-1], v, mode="PY")


def test_unread_history_is_not_kept():
    x = T.dvector("x")
    (a, s), _ = theano.scan(lambda xt, a, s: (a * 0.5 + xt, s + xt), sequences=x,
                            outputs_info=[T.constant(0.0), T.constant(0.0)])
    xv = rng.randn(5)
    ref, h = [], 0.0
    for t in range(5):
        h = h * 0.5 + xv[t]
        ref.append(h)
    f = compare([x], a, [xv], [np.array(ref)])
    assert scans(f)[0].op.state_keep == ("all", "last")

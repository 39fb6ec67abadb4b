"""Scan lowered to C (backends/c/lower/scan.py): the time loop in the generated module.

Every case runs in the C backend (FAST_RUN) and in the Python reference backend (the
``py`` linker, ``Scan.perform`` over NumPy) and must agree; each C case also asserts that
the Scan node was lowered (no Python node in the plan) and, for the cases where that is the
point, that ``Scan.perform`` and the per-step GraphEvaluator never ran.
"""
import numpy as np
import pytest

import symgraph as theano
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.compile.mode import Mode
from symgraph.graph import evaluate
from symgraph.ops.scan import Scan
from symgraph.tensor.shared_randomstreams import RandomStreams

pytestmark = pytest.mark.skipif(not c_available(), reason="no working C compiler")

PY = Mode(linker="py")
rng = np.random.default_rng(7)


@pytest.fixture
def perform_calls(monkeypatch):
    """Counts calls of Scan.perform and of GraphEvaluator (the Python path of a scan)."""
    calls = {"perform": 0, "evaluator": 0}
    perform, ev_call = Scan.perform, evaluate.GraphEvaluator.__call__

    def counted_perform(self, *a, **k):
        calls["perform"] += 1
        return perform(self, *a, **k)

    def counted_call(self, *a, **k):
        calls["evaluator"] += 1
        return ev_call(self, *a, **k)

    monkeypatch.setattr(Scan, "perform", counted_perform)
    monkeypatch.setattr(evaluate.GraphEvaluator, "__call__", counted_call)
    return calls


def scan_nodes(f):
    rt = f._run.runtime
    out = []
    for p in rt.plan.all_plans():
        out.extend((isinstance(n.op, Scan), c) for n, c in zip(p.nodes, p.is_c))
    return [c for is_scan, c in out if is_scan]


def compare(inputs, outputs, values, lowered=True, tol=1e-10, updates=None):
    f = theano.function(inputs, outputs, updates=updates)
    g = theano.function(inputs, outputs, mode=PY, updates=updates)
    got, ref = f(*values), g(*values)
    if not isinstance(outputs, (list, tuple)):
        got, ref = [got], [ref]
    for k, (a, b) in enumerate(zip(got, ref)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, (k, a.dtype, b.dtype, a.shape, b.shape)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    flags = scan_nodes(f)
    assert flags, "no Scan node in the compiled graph"
    if lowered:
        assert all(flags), flags
    return f, got, ref


def test_cumulative_sum_lowered_and_no_python_per_step(perform_calls):
    x = T.dvector("x")
    out, _ = theano.scan(lambda xt, s: s + xt, sequences=x, outputs_info=T.constant(0.0))
    f, got, _ = compare([x], out, [np.arange(6.0)])
    np.testing.assert_array_equal(got[0], np.cumsum(np.arange(6.0)))
    before = dict(perform_calls)
    f(np.arange(100.0))
    assert perform_calls == before
    f2 = theano.function([x], out)
    perform_calls.update(perform=0, evaluator=0)
    f2(np.arange(50.0))
    assert perform_calls == {"perform": 0, "evaluator": 0}


def test_fallback_scan_runs_python(perform_calls):
    srng = RandomStreams(3)
    h0 = T.dvector("h0")
    out, upd = theano.scan(lambda h: h + srng.uniform((3,)), outputs_info=h0, n_steps=4)
    f = theano.function([h0], out, updates=upd)
    r = f(np.zeros(3))
    assert r.shape == (4, 3) and np.all(np.diff(r, axis=0) > 0)
    assert not any(scan_nodes(f))
    assert perform_calls["perform"] == 1 and perform_calls["evaluator"] == 4


def rnn_step(xt, h, W, U):
    return T.tanh(T.dot(xt, W) + T.dot(h, U))


def test_rnn_tanh():
    X, W, U, h0 = T.dtensor3("X"), T.dmatrix("W"), T.dmatrix("U"), T.dmatrix("h0")
    out, _ = theano.scan(rnn_step, sequences=X, outputs_info=h0, non_sequences=[W, U])
    vals = [rng.normal(size=(7, 2, 3)), rng.normal(size=(3, 4)) * .5, rng.normal(size=(4, 4)) * .5,
            rng.normal(size=(2, 4))]
    _, got, _ = compare([X, W, U, h0], out, vals)
    h, ref = vals[3], []
    for t in range(7):
        h = np.tanh(vals[0][t] @ vals[1] + h @ vals[2])
        ref.append(h)
    np.testing.assert_allclose(got[0], np.stack(ref), rtol=1e-12)


def test_rnn_float32_last_value_only():
    X, W, h0 = T.ftensor3("X"), T.fmatrix("W"), T.fmatrix("h0")
    (last, _) = theano.reduce(lambda xt, h, W: T.tanh(xt + T.dot(h, W)), X, h0, non_sequences=W)
    vals = [rng.normal(size=(5, 2, 3)).astype("float32"), rng.normal(size=(3, 3)).astype("float32"),
            rng.normal(size=(2, 3)).astype("float32")]
    compare([X, W, h0], last, vals, tol=1e-5)


def test_several_taps_on_sequences_and_states():
    x, h0, w = T.dvector("x"), T.dvector("h0"), T.dscalar("w")

    def step(a_m2, a_0, a_p1, h_m3, h_m1, w):
        return w * h_m1 - 0.5 * h_m3 + a_m2 * a_0 + a_p1

    out, _ = theano.scan(step, sequences=dict(input=x, taps=[-2, 0, 1]),
                         outputs_info=dict(initial=h0, taps=[-3, -1]), non_sequences=w)
    xv, hv = rng.normal(size=10), rng.normal(size=3)
    _, got, _ = compare([x, h0, w], out, [xv, hv, 0.7])
    hist = list(hv)
    for t in range(7):
        hist.append(0.7 * hist[-1] - 0.5 * hist[-3] + xv[t] * xv[t + 2] + xv[t + 3])
    np.testing.assert_allclose(got[0], hist[3:], rtol=1e-12)


def test_taps_with_last_value_only_circular_window():
    x, h0 = T.dvector("x"), T.dvector("h0")
    out, _ = theano.reduce(lambda xt, h3, h1: h1 + 0.5 * h3 + xt, x,
                           dict(initial=h0, taps=[-3, -1]))
    compare([x, h0], out, [rng.normal(size=9), rng.normal(size=3)])


def test_several_outputs_and_nitsot():
    x, a0, b0 = T.dmatrix("x"), T.dvector("a0"), T.dvector("b0")

    def step(xt, a, b):
        return a + xt, b * 0.5 + a, T.sum(xt * a), xt.dimshuffle("x", 0) * b.dimshuffle(0, "x")

    outs, _ = theano.scan(step, sequences=x, outputs_info=[a0, b0, None, None])
    compare([x, a0, b0], outs, [rng.normal(size=(6, 3)), rng.normal(size=3), rng.normal(size=3)])


def test_go_backwards():
    x, h0 = T.dmatrix("x"), T.dvector("h0")
    out, _ = theano.scan(lambda xt, h: T.tanh(h * 0.9 + xt), sequences=x, outputs_info=h0,
                         go_backwards=True)
    xv = rng.normal(size=(5, 2))
    _, got, _ = compare([x, h0], out, [xv, np.zeros(2)])
    h = np.zeros(2)
    for t in range(4, -1, -1):
        h = np.tanh(h * 0.9 + xv[t])
    np.testing.assert_allclose(got[0][-1], h, rtol=1e-12)


def test_until_stops_early_and_truncates():
    v0, lim = T.dscalar("v0"), T.dscalar("lim")
    outs, _ = theano.scan(lambda v, lim: ([v * 2, v + 1], theano.scan_module.until(v * 2 > lim)),
                          outputs_info=[v0, None], non_sequences=lim, n_steps=50)
    _, got, _ = compare([v0, lim], outs, [1.0, 100.0])
    np.testing.assert_array_equal(got[0], [2, 4, 8, 16, 32, 64, 128])
    _, got, _ = compare([v0, lim], outs, [1.0, 1e300])
    assert got[0].shape == (50,)


def test_n_steps_symbolic_zero_and_given():
    n, h0 = T.lscalar("n"), T.dvector("h0")
    outs, _ = theano.scan(lambda h: (h * 1.5 + 1, T.sum(h)), outputs_info=[h0, None], n_steps=n)
    for k in (0, 1, 6):
        _, got, _ = compare([n, h0], outs, [k, np.ones(2)])
        assert got[0].shape == (k, 2) and got[1].shape == (k,)
    out3, _ = theano.scan(lambda h: h * 1.5 + 1, outputs_info=h0, n_steps=3)
    _, got, _ = compare([h0], out3, [np.ones(2)])
    np.testing.assert_allclose(got[0][:, 0], [2.5, 4.75, 8.125])


def test_errors_match_the_reference():
    n, x, h0 = T.lscalar("n"), T.dvector("x"), T.dvector("h0")
    out, _ = theano.scan(lambda xt, h: h + xt, sequences=x, outputs_info=h0, n_steps=n, name="acc")
    f = theano.function([n, x, h0], out)
    g = theano.function([n, x, h0], out, mode=PY)
    assert all(scan_nodes(f))
    for args in [(-1, np.ones(3), np.ones(1)), (5, np.ones(3), np.ones(1))]:
        with pytest.raises(ValueError) as ec:
            f(*args)
        with pytest.raises(ValueError) as ep:
            g(*args)
        msg = str(ec.value).split("\n")[0]
        assert msg == str(ep.value).split("\n")[0], (msg, str(ep.value))
        assert "scan 'acc' (built at" in msg and "test_c_scan.py" in msg
    two, _ = theano.scan(lambda h3, h1: h1 + h3, outputs_info=dict(initial=h0, taps=[-3, -1]), n_steps=2)
    f2 = theano.function([h0], two)
    with pytest.raises(ValueError, match=r"outputs_info\[0\]: the initial value has 2 rows but taps"):
        f2(np.ones(2))


def test_error_inside_the_body_names_the_inner_node():
    X, W, U, h0 = T.dtensor3("X"), T.dmatrix("W"), T.dmatrix("U"), T.dmatrix("h0")
    out, _ = theano.scan(rnn_step, sequences=X, outputs_info=h0, non_sequences=[W, U])
    f = theano.function([X, W, U, h0], out)
    assert all(scan_nodes(f))
    bad = [np.ones((3, 2, 3)), np.ones((4, 4)), np.ones((4, 4)), np.ones((2, 4))]
    with pytest.raises(ValueError, match="not aligned") as ec:
        f(*bad)
    assert "dot" in str(ec.value).lower()
    with pytest.raises(ValueError, match="not aligned"):
        theano.function([X, W, U, h0], out, mode=PY)(*bad)


def test_state_changing_shape_and_nitsot_shapes_errors():
    h0 = T.dvector("h0")
    out, _ = theano.scan(lambda h: T.concatenate([h, h])[:T.minimum(h.shape[0] + 1, 3)],
                         outputs_info=h0, n_steps=3)
    f = theano.function([h0], out)
    assert all(scan_nodes(f))
    with pytest.raises(ValueError, match=r"output 0 changed shape from \(2,\) to \(3,\) at step 0"):
        f(np.ones(2))
    x = T.dvector("x")
    ys, _ = theano.scan(lambda xt: T.ones_like(T.arange(xt.astype("int64"))) * 1.0, sequences=x)
    f = theano.function([x], ys)
    g = theano.function([x], ys, mode=PY)
    for fn in (f, g):
        with pytest.raises(ValueError, match=r"output 0 \(not fed back\) has different shapes at "
                                             r"different steps: \[\(2,\), \(3,\)\]"):
            fn(np.array([3.0, 2.0]))


def test_nested_scan_lowered_recursively(perform_calls):
    X, w = T.dmatrix("X"), T.dscalar("w")

    def row_sum(row, acc, w):
        inner, _ = theano.scan(lambda v, s, w: s * w + v, sequences=row, outputs_info=T.constant(0.0),
                               non_sequences=w)
        return acc + inner[-1]

    out, _ = theano.scan(row_sum, sequences=X, outputs_info=T.constant(0.0), non_sequences=w)
    f, _, _ = compare([X, w], out, [rng.normal(size=(4, 5)), 0.9])
    perform_calls.update(perform=0, evaluator=0)
    f(rng.normal(size=(3, 2)), 0.5)
    assert perform_calls == {"perform": 0, "evaluator": 0}


def test_shared_variable_update_in_body():
    acc = theano.shared(np.zeros(2), name="acc")
    x = T.dmatrix("x")
    out, upd = theano.scan(lambda xt: (T.sum(xt), {acc: acc + xt}), sequences=x)
    f = theano.function([x], out, updates=upd)
    assert all(scan_nodes(f))
    xv = rng.normal(size=(4, 2))
    np.testing.assert_allclose(f(xv), xv.sum(1))
    np.testing.assert_allclose(acc.get_value(), xv.sum(0))


def rnn_cost(X, W, U, h0):
    out, _ = theano.scan(rnn_step, sequences=X, outputs_info=h0, non_sequences=[W, U])
    return T.sum(out ** 2) + T.sum(out[-1])


def test_bptt_gradient_lowers_and_matches_reference(perform_calls):
    X, W, U, h0 = T.dtensor3("X"), T.dmatrix("W"), T.dmatrix("U"), T.dmatrix("h0")
    cost = rnn_cost(X, W, U, h0)
    grads = T.grad(cost, [X, W, U, h0])
    vals = [rng.normal(size=(6, 2, 3)), rng.normal(size=(3, 4)) * .5, rng.normal(size=(4, 4)) * .5,
            rng.normal(size=(2, 4))]
    f, _, _ = compare([X, W, U, h0], [cost] + grads, vals, tol=1e-9)
    assert len(scan_nodes(f)) >= 2
    perform_calls.update(perform=0, evaluator=0)
    f(*vals)
    assert perform_calls == {"perform": 0, "evaluator": 0}


def test_bptt_with_taps_verify_grad():
    def fn(x, init, w):
        out, _ = theano.scan(lambda a0, a1, h3, h1, w: T.tanh(w * h1 + 0.3 * h3 + a0 * a1),
                             sequences=dict(input=x, taps=[0, 1]),
                             outputs_info=dict(initial=init, taps=[-3, -1]), non_sequences=w)
        return T.sum(out)

    theano.gradient.verify_grad(fn, [rng.normal(size=6), rng.normal(size=3), np.array(0.6)], rng=np.random.RandomState(3))


def test_rnn_verify_grad():
    theano.gradient.verify_grad(rnn_cost, [rng.normal(size=(4, 2, 3)), rng.normal(size=(3, 4)) * .5,
                                           rng.normal(size=(4, 4)) * .5, rng.normal(size=(2, 4))],
                                rng=np.random.RandomState(3))

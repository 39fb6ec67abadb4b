"""Tests for symgraph/opt/stabilize.py: each rewrite yields the stable op, drops the fragile
pattern, keeps ordinary values, and stays finite and exact where the original overflows."""
import numpy as np

import symgraph as th
import symgraph.tensor as T
from symgraph.compile.mode import Mode

from opt_models import assert_same_values, compile_both, op_names

RNG = np.random.RandomState(7)


def _np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _np_log_softmax(z):
    s = z - z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def _seed_softmax(X):
    """Seed 000's own softmax."""
    e_x = T.exp(X - X.max(axis=1).dimshuffle(0, "x"))
    return e_x / e_x.sum(axis=1).dimshuffle(0, "x")


def test_local_manual_softmax_seed_form():
    z = T.dmatrix("z")
    f, ref = compile_both([z], _seed_softmax(z))
    assert op_names(f) == ["Softmax"]
    assert_same_values(f, ref, RNG.randn(4, 5))


def test_local_manual_softmax_plain_form():
    z = T.dmatrix("z")
    e = T.exp(z)
    f, ref = compile_both([z], e / e.sum(axis=1, keepdims=True))
    assert op_names(f) == ["Softmax"]
    assert_same_values(f, ref, RNG.randn(4, 5))
    v = T.dvector("v")
    g, gref = compile_both([v], T.exp(v) / T.exp(v).sum(keepdims=True))
    assert op_names(g) == ["Softmax"]
    assert_same_values(g, gref, RNG.randn(5))


def test_local_log_softmax():
    z = T.dmatrix("z")
    f, ref = compile_both([z], T.log(T.nnet.softmax(z)))
    assert op_names(f) == ["LogSoftmax"]
    assert_same_values(f, ref, RNG.randn(3, 4))
    big = RNG.randn(3, 4) * 1000
    assert np.isneginf(ref(big)).any()
    np.testing.assert_allclose(f(big), _np_log_softmax(big))


def test_local_log_sigmoid():
    x = T.dvector("x")
    f, ref = compile_both([x], T.log(T.nnet.sigmoid(x)))
    text = th.debugprint(f, file="str")
    assert "softplus" in text and "sigmoid" not in text and "log" not in text
    assert_same_values(f, ref, RNG.randn(5))
    np.testing.assert_allclose(f(np.array([-1000.0, 1000.0])), [-1000.0, 0.0])


def test_local_log1m_sigmoid():
    x = T.dvector("x")
    f, ref = compile_both([x], T.log(1 - T.nnet.sigmoid(x)))
    text = th.debugprint(f, file="str")
    assert "softplus" in text and "sigmoid" not in text
    assert_same_values(f, ref, RNG.randn(5))
    np.testing.assert_allclose(f(np.array([1000.0, -1000.0])), [-1000.0, 0.0])


def test_local_log1p():
    x = T.dvector("x")
    for expr in (T.log(1 + x), T.log(x + 1)):
        f, ref = compile_both([x], expr)
        assert op_names(f) == ["log1p"]
        assert_same_values(f, ref, RNG.rand(4))
        assert f(np.array([1e-20]))[0] == 1e-20 and ref(np.array([1e-20]))[0] == 0.0


# ---------------------------------------------------------------- cross-entropy

def _nll(p, y):
    """The seeds' negative log-likelihood."""
    return -T.mean(T.log(p)[T.arange(y.shape[0]), y])


def _data(scale=1.0, n=6, k=4):
    z = RNG.randn(n, k) * scale
    y = RNG.randint(0, k, n).astype("int32")
    return z, y


def _exact_cost_and_grad(z, y):
    n = len(y)
    cost = -_np_log_softmax(z)[np.arange(n), y].mean()
    onehot = np.eye(z.shape[1])[y]
    return cost, (_np_softmax(z) - onehot) / n


def _check_crossentropy(cost_fn):
    z, y = T.dmatrix("z"), T.ivector("y")
    cost = cost_fn(T.nnet.softmax(z), y)
    f, ref = compile_both([z, y], [cost, T.grad(cost, z)])
    names = op_names(f)
    assert names.count("SoftmaxCrossEntropy") == 1
    assert "SoftmaxCrossEntropyGrad" in names
    for absent in ("Softmax", "LogSoftmax", "SoftmaxGrad", "AdvancedSubtensor",
                   "AdvancedIncSubtensor", "log"):
        assert absent not in names, absent
    assert_same_values(f, ref, *_data())
    zb, yb = _data(scale=1000.0)
    cost_v, grad_v = f(zb, yb)
    exact_cost, exact_grad = _exact_cost_and_grad(zb, yb)
    assert np.isfinite(cost_v) and np.isfinite(grad_v).all()
    np.testing.assert_allclose(cost_v, exact_cost, rtol=1e-12)
    np.testing.assert_allclose(grad_v, exact_grad, rtol=1e-12, atol=1e-15)
    with np.errstate(all="ignore"):
        bad = ref(zb, yb)
    assert not (np.isfinite(bad[0]) and np.isfinite(bad[1]).all())


def test_seed_nll_becomes_softmax_crossentropy():
    _check_crossentropy(_nll)


def test_categorical_crossentropy_int_targets_becomes_softmax_crossentropy():
    _check_crossentropy(lambda p, y: T.mean(T.nnet.categorical_crossentropy(p, y)))


def test_softmax_shared_with_prediction_is_computed_once():
    z, y = T.dmatrix("z"), T.ivector("y")
    p = T.nnet.softmax(z)
    f, ref = compile_both([z, y], [_nll(p, y), T.argmax(p, axis=1), p])
    names = op_names(f)
    assert names.count("SoftmaxCrossEntropy") == 1 and "Softmax" not in names
    assert_same_values(f, ref, *_data())


def test_onehot_crossentropy_is_stable():
    z, t = T.dmatrix("z"), T.dmatrix("t")
    cost = T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(z), t))
    f, ref = compile_both([z, t], [cost, T.grad(cost, z)])
    names = op_names(f)
    assert "LogSoftmax" in names and "SoftmaxGrad" not in names and "log" not in names
    zv, yv = _data()
    onehot = np.eye(4)[yv]
    assert_same_values(f, ref, zv, onehot)
    zb, yb = _data(scale=1000.0)
    cost_v, grad_v = f(zb, np.eye(4)[yb])
    exact_cost, exact_grad = _exact_cost_and_grad(zb, yb)
    np.testing.assert_allclose(cost_v, exact_cost, rtol=1e-12)
    np.testing.assert_allclose(grad_v, exact_grad, rtol=1e-12, atol=1e-15)


def test_seed000_onehot_with_manual_softmax_cost_is_stable():
    z, t = T.dmatrix("z"), T.dmatrix("t")
    cost = T.mean(T.nnet.categorical_crossentropy(_seed_softmax(z), t))
    f, ref = compile_both([z, t], cost)
    assert "LogSoftmax" in op_names(f) and "log" not in op_names(f)
    zv, yv = _data()
    assert_same_values(f, ref, zv, np.eye(4)[yv])
    zb, yb = _data(scale=1000.0)
    np.testing.assert_allclose(f(zb, np.eye(4)[yb]), _exact_cost_and_grad(zb, yb)[0], rtol=1e-12)


def test_stabilize_can_be_excluded():
    z, y = T.dmatrix("z"), T.ivector("y")
    f = th.function([z, y], _nll(T.nnet.softmax(z), y),
                    mode=Mode(linker="py").excluding("stabilize"))
    assert "SoftmaxCrossEntropy" not in op_names(f) and "Softmax" in op_names(f)

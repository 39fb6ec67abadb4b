"""Softmax family, fused softmax cross-entropy, activations and losses of T.nnet."""
import numpy as np
import pytest

import symgraph as th
import symgraph.tensor as T
from symgraph.ops.elemwise import Elemwise
from symgraph.ops.nnet import (LogSoftmax, Softmax, SoftmaxCrossEntropy, SoftmaxCrossEntropyGrad,
                               SoftmaxGrad)
from symgraph.ops.subtensor import AdvancedSubtensor
from symgraph.graph import toposort

RNG = np.random.RandomState(7)
Z = RNG.randn(4, 5)
Y = np.array([0, 4, 2, 2], dtype="int32")


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def ev(y, inputs, values):
    return th.function(inputs, y)(*values)


# ---------------------------------------------------------------- forward

def test_softmax_rows_and_vector():
    z, v = T.dmatrix("z"), T.dvector("v")
    out = ev(T.nnet.softmax(z), [z], [Z])
    np.testing.assert_allclose(out, np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    outv = ev(T.nnet.softmax(v), [v], [Z[1]])
    assert outv.shape == (5,)
    np.testing.assert_allclose(outv, np.exp(Z[1]) / np.exp(Z[1]).sum())


def test_log_softmax():
    z = T.dmatrix("z")
    np.testing.assert_allclose(ev(T.nnet.log_softmax(z), [z], [Z]), np.log(np_softmax(Z)))
    assert T.nnet.logsoftmax is T.nnet.log_softmax


def test_large_logits_are_finite_and_float32_stays_float32():
    z = T.fmatrix("z")
    big = np.array([[1000., 0., -1000.], [-1000., 999., 1000.]], dtype="float32")
    sm = ev(T.nnet.softmax(z), [z], [big])
    lsm = ev(T.nnet.log_softmax(z), [z], [big])
    assert sm.dtype == lsm.dtype == np.float32
    np.testing.assert_allclose(sm, [[1, 0, 0], [0, 1 / (1 + np.e), np.e / (1 + np.e)]], rtol=1e-6)
    np.testing.assert_allclose(lsm[0], [0, -1000, -2000])
    assert np.isfinite(lsm).all()


def test_softmax_cross_entropy_forward():
    z, y = T.dmatrix("z"), T.ivector("y")
    loss, sm = SoftmaxCrossEntropy()(z, y)
    lv, smv = th.function([z, y], [loss, sm])(Z, Y)
    np.testing.assert_allclose(lv, -np.log(np_softmax(Z))[np.arange(4), Y])
    np.testing.assert_allclose(smv, np_softmax(Z))
    nll, sm2 = T.nnet.crossentropy_softmax_1hot(z, y)
    np.testing.assert_allclose(ev(nll, [z, y], [Z, Y]), lv)


def test_softmax_cross_entropy_huge_logits_exact():
    z, y = T.fmatrix("z"), T.ivector("y")
    zv = np.array([[1000., -1000., 0.], [-1000., 1000., 999.]], dtype="float32")
    yv = np.array([1, 2], dtype="int32")
    loss, _ = SoftmaxCrossEntropy()(z, y)
    gz = T.grad(T.sum(loss), z)
    lv, gv = th.function([z, y], [loss, gz])(zv, yv)
    assert lv.dtype == gv.dtype == np.float32
    np.testing.assert_allclose(lv, [2000., np.log1p(np.e)], rtol=1e-6)
    onehot = np.eye(3)[yv]
    np.testing.assert_allclose(gv, np_softmax(zv.astype("float64")) - onehot, atol=1e-6)


def test_softmax_cross_entropy_bad_index():
    z, y = T.dmatrix("z"), T.ivector("y")
    f = th.function([z, y], SoftmaxCrossEntropy()(z, y)[0])
    with pytest.raises(IndexError, match="SoftmaxCrossEntropy.*out of range"):
        f(Z, np.array([0, 5, 1, 1], dtype="int32"))
    with pytest.raises(IndexError, match="SoftmaxCrossEntropy"):
        f(Z, np.array([0, -1, 1, 1], dtype="int32"))
    with pytest.raises(TypeError):
        SoftmaxCrossEntropy()(z, T.dvector())


def test_softmax_cross_entropy_grad_op_forward():
    g, sm, y = T.dvector("g"), T.dmatrix("sm"), T.ivector("y")
    gv, smv = RNG.rand(4), np_softmax(Z)
    out = ev(SoftmaxCrossEntropyGrad()(g, sm, y), [g, sm, y], [gv, smv, Y])
    np.testing.assert_allclose(out, (smv - np.eye(5)[Y]) * gv[:, None])


def test_categorical_crossentropy_one_hot_and_indices():
    p, t, y = T.dmatrix("p"), T.dmatrix("t"), T.ivector("y")
    pv = np_softmax(Z)
    onehot = np.eye(5)[Y]
    np.testing.assert_allclose(ev(T.nnet.categorical_crossentropy(p, t), [p, t], [pv, onehot]),
                               -np.sum(onehot * np.log(pv), axis=1))
    soft = np_softmax(RNG.randn(4, 5))
    np.testing.assert_allclose(ev(T.nnet.categorical_crossentropy(p, t), [p, t], [pv, soft]),
                               -np.sum(soft * np.log(pv), axis=1))
    ce = T.nnet.categorical_crossentropy(p, y)
    np.testing.assert_allclose(ev(ce, [p, y], [pv, Y]), -np.log(pv[np.arange(4), Y]))
    assert any(isinstance(n.op, AdvancedSubtensor) for n in toposort([ce]))
    with pytest.raises(TypeError, match="rank mismatch"):
        T.nnet.categorical_crossentropy(p, T.dtensor3())


def test_binary_crossentropy():
    o, t = T.dvector("o"), T.dvector("t")
    ov, tv = np.array([0.1, 0.5, 0.9, 0.3]), np.array([0., 1., 1., 0.25])
    np.testing.assert_allclose(ev(T.nnet.binary_crossentropy(o, t), [o, t], [ov, tv]),
                               -(tv * np.log(ov) + (1 - tv) * np.log(1 - ov)))


def test_sigmoid_binary_crossentropy_is_stable():
    o, t = T.dvector("o"), T.dvector("t")
    ov, tv = np.array([-800., -2., 0.5, 3., 800.]), np.array([1., 0., 1., 0.3, 1.])
    sig = 1 / (1 + np.exp(-ov[1:4]))
    ref = -(tv[1:4] * np.log(sig) + (1 - tv[1:4]) * np.log(1 - sig))
    out = ev(T.nnet.sigmoid_binary_crossentropy(o, t), [o, t], [ov, tv])
    np.testing.assert_allclose(out[1:4], ref)
    np.testing.assert_allclose(out[[0, 4]], [800., 0.])


def test_activations():
    x, a = T.dvector("x"), T.dscalar("a")
    xv = np.array([-30., -2.5, -0.3, 0., 0.4, 2.6, 40.])
    sig = 1 / (1 + np.exp(-xv))
    np.testing.assert_allclose(ev(T.nnet.sigmoid(x), [x], [xv]), sig)
    np.testing.assert_allclose(ev(T.nnet.ultra_fast_sigmoid(x), [x], [xv]), sig)
    np.testing.assert_allclose(ev(T.nnet.softplus(x), [x], [xv]), np.logaddexp(0, xv))
    np.testing.assert_allclose(ev(T.nnet.hard_sigmoid(x), [x], [xv]),
                               np.clip(0.2 * xv + 0.5, 0, 1))
    np.testing.assert_allclose(ev(T.nnet.relu(x), [x], [xv]), np.maximum(xv, 0))
    np.testing.assert_allclose(ev(T.nnet.relu(x, 0.1), [x], [xv]), np.where(xv > 0, xv, 0.1 * xv))
    np.testing.assert_allclose(ev(T.nnet.relu(x, a), [x, a], [xv, 0.3]),
                               np.where(xv > 0, xv, 0.3 * xv))
    np.testing.assert_allclose(ev(T.nnet.elu(x), [x], [xv]), np.where(xv > 0, xv, np.expm1(xv)))
    np.testing.assert_allclose(ev(T.nnet.softsign(x), [x], [xv]), xv / (1 + np.abs(xv)))
    selu = ev(T.nnet.selu(x), [x], [xv])
    np.testing.assert_allclose(selu[-1], 1.0507009873554805 * 40)
    assert T.nnet.tanh is T.tanh


def test_activations_are_elementwise_and_keep_float32():
    x = T.fmatrix("x")
    for f in (T.nnet.relu, lambda v: T.nnet.relu(v, 0.2), T.nnet.hard_sigmoid, T.nnet.sigmoid):
        y = f(x)
        assert y.dtype == "float32"
        ops = [n.op for n in toposort([y])]
        assert all(isinstance(op, Elemwise) or type(op).__name__ == "DimShuffle" for op in ops)


# ---------------------------------------------------------------- gradients

def vg(fn, pts):
    th.verify_grad(fn, pts, rng=np.random.RandomState(0))


def test_verify_grad_softmax_family():
    vg(T.nnet.softmax, [Z])
    vg(T.nnet.softmax, [Z[0]])
    vg(T.nnet.log_softmax, [Z])
    vg(T.nnet.log_softmax, [Z[2]])
    vg(lambda z: T.nnet.softmax_with_bias(z, np.arange(5.)), [Z])


def test_verify_grad_softmax_cross_entropy():
    vg(lambda z: SoftmaxCrossEntropy()(z, Y)[0], [Z])
    vg(lambda z: SoftmaxCrossEntropy()(z, Y)[1], [Z])
    # both outputs used: the gradient adds SoftmaxCrossEntropyGrad and SoftmaxGrad
    vg(lambda z: (lambda o: o[0].dimshuffle(0, "x") * o[1])(SoftmaxCrossEntropy()(z, Y)), [Z])


def test_verify_grad_second_order_ops():
    sm, dy = np_softmax(Z), RNG.randn(4, 5)
    vg(lambda d, s: SoftmaxGrad()(d, s), [dy, sm])
    vg(lambda g, s: SoftmaxCrossEntropyGrad()(g, s, Y), [RNG.rand(4), sm])
    # a Hessian-vector product through the fused op
    z = T.dmatrix("z")
    gz = T.grad(T.sum(SoftmaxCrossEntropy()(z, Y)[0]), z)
    hv = th.function([z], T.grad(T.sum(gz * dy), z))(Z)
    eps = 1e-6
    f = th.function([z], gz)
    num = (f(Z + eps * dy) - f(Z - eps * dy)) / (2 * eps)   # the Hessian is symmetric
    np.testing.assert_allclose(hv, num, rtol=1e-5, atol=1e-7)


def test_verify_grad_losses_and_activations():
    p = np_softmax(Z)
    onehot = np.eye(5)[Y]
    vg(lambda q: T.nnet.categorical_crossentropy(q, onehot), [p])
    vg(lambda q: T.nnet.categorical_crossentropy(q, Y), [p])
    vg(lambda o: T.nnet.binary_crossentropy(o, np.array([0., 1., 0.3])), [np.array([.2, .6, .9])])
    vg(lambda t: T.nnet.binary_crossentropy(np.array([.2, .6, .9]), t), [np.array([0., 1., .3])])
    vg(lambda o: T.nnet.sigmoid_binary_crossentropy(o, np.array([0., 1., .3])),
       [np.array([-1.2, 0.6, 2.9])])
    xv = np.array([-2.1, -0.7, 0.45, 1.3, 3.2])     # no point at the kink of relu
    vg(T.nnet.relu, [xv])
    vg(lambda v: T.nnet.relu(v, 0.1), [xv])
    vg(T.nnet.sigmoid, [xv])
    vg(T.nnet.softplus, [xv])
    vg(T.nnet.elu, [xv])


def test_sigmoid_grad_value():
    x = T.dvector("x")
    xv = np.array([-3., 0., 2.])
    s = 1 / (1 + np.exp(-xv))
    np.testing.assert_allclose(ev(T.grad(T.sum(T.nnet.sigmoid(x)), x), [x], [xv]), s * (1 - s))


# ---------------------------------------------------------------- shapes

@pytest.mark.parametrize("build", [
    lambda z, y: Softmax()(z), lambda z, y: LogSoftmax()(z),
    lambda z, y: SoftmaxCrossEntropy()(z, y)[0], lambda z, y: SoftmaxCrossEntropy()(z, y)[1],
    lambda z, y: SoftmaxGrad()(z, z), lambda z, y: SoftmaxCrossEntropyGrad()(z[:, 0], z, y),
])
def test_infer_shape(build):
    z, y = T.dmatrix("z"), T.ivector("y")
    out = build(z, y)
    node = out.owner
    shapes = [tuple(i.shape[d] for d in range(i.ndim)) for i in node.inputs]
    dims = [T.as_tensor_variable(d) for d in node.op.infer_shape(node, shapes)[out.index]]
    res = th.function([z, y], dims + [out], on_unused_input="ignore")(Z, Y)
    assert tuple(int(d) for d in res[:-1]) == res[-1].shape


def test_type_errors():
    with pytest.raises(TypeError, match="float"):
        T.nnet.softmax(T.imatrix())
    with pytest.raises(TypeError, match="2-d"):
        SoftmaxCrossEntropy()(T.dvector(), T.ivector())

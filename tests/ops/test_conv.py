"""Conv2d, Conv2dGradInputs, Conv2dGradWeights: forward vs SciPy, gradients, shapes, errors."""
import numpy as np
import pytest
from scipy.signal import convolve2d, correlate2d

import symgraph as th
import symgraph.tensor as T
from symgraph.ops.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights, conv2d
from symgraph.tensor.nnet import conv as legacy_conv
from symgraph.tensor.signal import conv as signal_conv


def dilate(k, dil):
    """Insert dil - 1 zeros between the taps of a 2-d kernel."""
    dh, dw = dil
    out = np.zeros(((k.shape[0] - 1) * dh + 1, (k.shape[1] - 1) * dw + 1))
    out[::dh, ::dw] = k
    return out


def ref_conv(x, w, border_mode="valid", subsample=(1, 1), flip=True, dil=(1, 1)):
    """Loops over (batch, out-channel, in-channel) of scipy 2-d convolutions."""
    kh, kw = [(s - 1) * d + 1 for s, d in zip(w.shape[2:], dil)]
    if border_mode == "valid":
        pads = (0, 0)
    elif border_mode == "full":
        pads = (kh - 1, kw - 1)
    elif border_mode == "half":
        pads = (kh // 2, kw // 2)
    elif isinstance(border_mode, int):
        pads = (border_mode, border_mode)
    else:
        pads = border_mode
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0],) * 2, (pads[1],) * 2))
    fn = convolve2d if flip else correlate2d
    out = []
    for n in range(x.shape[0]):
        maps = []
        for o in range(w.shape[0]):
            acc = sum(fn(xp[n, c], dilate(w[o, c], dil), "valid") for c in range(x.shape[1]))
            maps.append(acc[::subsample[0], ::subsample[1]])
        out.append(maps)
    return np.array(out)


def run(y, inputs, values):
    return th.function(inputs, y)(*values)


RNG = np.random.RandomState(1234)
X = RNG.randn(2, 3, 7, 6)
W = RNG.randn(4, 3, 3, 2)


@pytest.mark.parametrize("border_mode", ["valid", "full", "half", 2, (1, 2)])
@pytest.mark.parametrize("subsample", [(1, 1), (2, 3)])
@pytest.mark.parametrize("flip", [True, False])
@pytest.mark.parametrize("dil", [(1, 1), (2, 1)])
def test_forward_matches_scipy(border_mode, subsample, flip, dil):
    x, w = T.dtensor4("x"), T.dtensor4("w")
    y = conv2d(x, w, border_mode=border_mode, subsample=subsample, filter_flip=flip,
               filter_dilation=dil)
    out = run(y, [x, w], [X, W])
    ref = ref_conv(X, W, border_mode, subsample, flip, dil)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


def test_full_mode_is_scipy_full_convolution():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    out = run(conv2d(x, w, border_mode="full"), [x, w], [X, W])
    ref = np.array([[sum(convolve2d(X[n, c], W[o, c], "full") for c in range(3))
                     for o in range(4)] for n in range(2)])
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("xshape, wshape, border_mode", [
    ((1, 1, 1, 1), (1, 1, 1, 1), "valid"),
    ((1, 1, 1, 1), (2, 1, 1, 1), "full"),
    ((2, 1, 5, 1), (1, 1, 3, 1), "valid"),
    ((1, 2, 5, 7), (3, 2, 2, 4), "half"),      # even kernels: half pads k // 2
    ((1, 1, 3, 3), (1, 1, 3, 3), "valid"),     # a 1x1 output
    ((1, 2, 9, 5), (2, 2, 5, 3), (0, 1)),
])
def test_forward_small_and_odd_sizes(xshape, wshape, border_mode):
    rng = np.random.RandomState(0)
    xv, wv = rng.randn(*xshape), rng.randn(*wshape)
    x, w = T.dtensor4("x"), T.dtensor4("w")
    out = run(conv2d(x, w, border_mode=border_mode), [x, w], [xv, wv])
    np.testing.assert_allclose(out, ref_conv(xv, wv, border_mode), rtol=1e-10, atol=1e-10)


def test_seed_002_snippet():
    x, w = T.dtensor4("input"), T.dtensor4("filters")
    y = T.nnet.conv2d(x, w, input_shape=(1, 1, 5, 5), filter_shape=(1, 1, 3, 3),
                      border_mode=(1, 1), subsample=(2, 2))
    xv = np.arange(25, dtype="float64").reshape(1, 1, 5, 5)
    wv = np.array([[[[1., 0., -1.], [2., 0., -2.], [1., 0., -1.]]]])
    out = run(y, [x, w], [xv, wv])
    assert out.shape == (1, 1, 3, 3)
    np.testing.assert_allclose(out, ref_conv(xv, wv, (1, 1), (2, 2)))
    # a hand-checked entry: true convolution of the centre 3x3 patch (rows 1-3, cols 1-3)
    patch = xv[0, 0, 1:4, 1:4]
    assert out[0, 0, 1, 1] == pytest.approx(np.sum(patch * wv[0, 0, ::-1, ::-1]))


def test_non_contiguous_input():
    """Strided views (a transposed input) are read through their own strides."""
    x, w = T.dtensor4("x"), T.dtensor4("w")
    xt = X.transpose(0, 1, 3, 2)
    y = conv2d(x.dimshuffle(0, 1, 3, 2), w, border_mode="full", subsample=(2, 1))
    out = run(y, [x, w], [xt, W])
    np.testing.assert_allclose(out, ref_conv(X, W, "full", (2, 1)), atol=1e-10)


def test_float32_stays_float32():
    x, w = T.ftensor4("x"), T.ftensor4("w")
    y = conv2d(x, w, border_mode="half")
    assert y.dtype == "float32"
    out = run(y, [x, w], [X.astype("float32"), W.astype("float32")])
    assert out.dtype == np.float32
    g = T.grad(y.sum(), [x, w])
    assert [v.dtype for v in g] == ["float32", "float32"]


# ---------------------------------------------------------------- gradients

XS = RNG.randn(2, 2, 5, 4)
WS = RNG.randn(3, 2, 3, 2)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(border_mode="full"),
    dict(border_mode="half", filter_flip=False),
    dict(border_mode=(1, 2), subsample=(2, 1)),
    dict(subsample=(2, 2), filter_dilation=(1, 2), border_mode=1),
])
def test_verify_grad_input_and_filters(kw):
    th.verify_grad(lambda x, w: conv2d(x, w, **kw), [XS, WS], rng=np.random.RandomState(0))


@pytest.mark.parametrize("kw", [dict(), dict(border_mode="full", subsample=(2, 1)),
                                dict(border_mode="half", filter_dilation=(2, 1))])
def test_verify_grad_of_gradient_ops(kw):
    """Second derivatives: the gradient ops' own gradients."""
    x, w = T.dtensor4(), T.dtensor4()
    y = conv2d(x, w, **kw)
    top = np.random.RandomState(1).randn(*run(y, [x, w], [XS, WS]).shape)
    params = dict(border_mode=kw.get("border_mode", "valid"), subsample=kw.get("subsample", (1, 1)),
                  filter_dilation=kw.get("filter_dilation", (1, 1)))
    gi, gw = Conv2dGradInputs(**params), Conv2dGradWeights(**params)
    th.verify_grad(lambda k, t: gi(k, t, XS.shape[2:]), [WS, top], rng=np.random.RandomState(0))
    th.verify_grad(lambda i, t: gw(i, t, WS.shape[2:]), [XS, top], rng=np.random.RandomState(0))


def test_gradient_values_match_reference():
    """d sum(conv * G) / dw = correlation of the input with G (independent formula)."""
    x, w = T.dtensor4("x"), T.dtensor4("w")
    y = conv2d(x, w, filter_flip=False)
    G = RNG.randn(2, 4, 5, 5)
    gw = run(T.grad(T.sum(y * G), w), [x, w], [X, W])
    ref = np.array([[sum(correlate2d(X[n, c], G[n, o], "valid") for n in range(2))
                     for c in range(3)] for o in range(4)])
    np.testing.assert_allclose(gw, ref, rtol=1e-10, atol=1e-10)


def test_hessian_vector_product_runs():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    cost = T.sum(conv2d(x, w, border_mode="half") ** 2)
    gw = T.grad(cost, w)
    hv = T.grad(T.sum(gw * 1.0), x)     # needs the gradient of Conv2dGradWeights
    out = run(hv, [x, w], [X, W])
    assert out.shape == X.shape and np.isfinite(out).all()


# ---------------------------------------------------------------- shapes

def check_infer_shape(out, inputs, values):
    node = out.owner
    shapes = [tuple(i.shape[d] for d in range(i.ndim)) for i in node.inputs]
    inferred = [T.as_tensor_variable(d) for d in node.op.infer_shape(node, shapes)[out.index]]
    res = th.function(inputs, inferred + [out], on_unused_input="ignore")(*values)
    assert tuple(int(d) for d in res[:-1]) == res[-1].shape


@pytest.mark.parametrize("kw", [dict(border_mode="full", subsample=(2, 3)),
                                dict(border_mode="half", filter_dilation=(2, 1)),
                                dict(border_mode=(1, 2))])
def test_infer_shape(kw):
    x, w = T.dtensor4("x"), T.dtensor4("w")
    y = conv2d(x, w, **kw)
    check_infer_shape(y, [x, w], [X, W])
    gx, gw = T.grad(T.sum(y), [x, w])
    for g in (gx, gw):
        while not isinstance(g.owner.op, (Conv2dGradInputs, Conv2dGradWeights)):
            g = g.owner.inputs[0]
        check_infer_shape(g, [x, w], [X, W])


def test_declared_shape_mismatch_raises():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    y = conv2d(x, w, image_shape=(5, 3, 7, 6))
    f = th.function([x, w], y)
    with pytest.raises(ValueError) as err:
        f(X, W)
    msg = str(err.value)
    assert "conv2d" in msg and "(5, 3, 7, 6)" in msg and "(2, 3, 7, 6)" in msg
    y = conv2d(x, w, input_shape=(None, 3, None, None), filter_shape=(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d.*filter_shape"):
        th.function([x, w], y)(X, W)
    ok = conv2d(x, w, input_shape=(None, 3, 7, None), filter_shape=(None, 3, 3, 2))
    assert run(ok, [x, w], [X, W]).shape == (2, 4, 5, 5)


def test_channel_mismatch_raises():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    with pytest.raises(ValueError, match=r"conv2d.*channels"):
        th.function([x, w], conv2d(x, w))(X, W[:, :2])
    with pytest.raises(ValueError, match=r"conv2d.*channels"):
        conv2d(x, w, input_shape=(None, 3, None, None), filter_shape=(4, 2, 3, 3))


def test_bad_arguments():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    with pytest.raises(ValueError, match="border_mode"):
        conv2d(x, w, border_mode="same-ish")
    with pytest.raises(ValueError, match="subsample"):
        conv2d(x, w, subsample=(0, 1))
    with pytest.raises(TypeError, match="4-d"):
        conv2d(T.dmatrix(), w)
    with pytest.raises(ValueError, match="does not fit"):
        th.function([x, w], conv2d(x, w))(X[:, :, :2], W)


def test_full_pads_become_static_when_filter_shape_is_known():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    assert conv2d(x, w, border_mode="full", filter_shape=(4, 3, 3, 2)).owner.op.border_mode == (2, 1)
    assert conv2d(x, w, border_mode="full").owner.op.border_mode == "full"
    assert Conv2d((1, 1)) == Conv2d(1) and hash(Conv2d((1, 1))) == hash(Conv2d(1))


# ---------------------------------------------------------------- legacy interfaces

def test_legacy_nnet_conv_conv2d():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    y = legacy_conv.conv2d(x, w, filter_shape=(4, 3, 3, 2), image_shape=(2, 3, 7, 6),
                           border_mode="full")
    np.testing.assert_allclose(run(y, [x, w], [X, W]), ref_conv(X, W, "full"), atol=1e-10)
    with pytest.raises(ValueError, match="conv2d"):
        th.function([x, w], legacy_conv.conv2d(x, w, image_shape=(3, 3, 7, 6)))(X, W)


def test_signal_conv2d_single_channel():
    img, kern = RNG.randn(3, 6, 5), RNG.randn(2, 3, 3)
    a3, k3, a2, k2 = T.dtensor3(), T.dtensor3(), T.dmatrix(), T.dmatrix()
    out = run(signal_conv.conv2d(a3, k3, border_mode="full"), [a3, k3], [img, kern])
    ref = np.array([[convolve2d(img[b], kern[k], "full") for k in range(2)] for b in range(3)])
    np.testing.assert_allclose(out, ref, atol=1e-10)
    out = run(signal_conv.conv2d(a2, k3), [a2, k3], [img[0], kern])
    np.testing.assert_allclose(out, ref_conv(img[:1, None], kern[:, None])[0], atol=1e-10)
    out = run(signal_conv.conv2d(a2, k2, image_shape=(6, 5), filter_shape=(3, 3)),
              [a2, k2], [img[0], kern[0]])
    np.testing.assert_allclose(out, convolve2d(img[0], kern[0], "valid"), atol=1e-10)

"""C backend: float32 conv2d and its gradients through oneDNN (``src/conv_dnnl.c``).

Skipped when the onednn wheels are absent (the im2col path then serves every conv, tested in
test_c_nnet.py). Values are compared with the Python reference backend, which
tests/ops/test_conv.py checks against SciPy; gradients also with verify_grad.
"""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.backends.c.build import dnnl_flags
from symgraph.compile.mode import Mode
from symgraph.config import config
from symgraph.ops import conv

pytestmark = [pytest.mark.skipif(not c_available(), reason="no working C compiler"),
              pytest.mark.skipif(not dnnl_flags(), reason="oneDNN not installed (pip install symgraph[onednn])")]

C = Mode(linker="c", optimizer=None)
PY = Mode(linker="py", optimizer=None)

CASES = [
    dict(border_mode="valid"), dict(border_mode="full"), dict(border_mode="half"),
    dict(border_mode=(1, 2), subsample=(2, 1)), dict(border_mode="valid", filter_dilation=(2, 1)),
    dict(border_mode=(2, 0), subsample=(1, 3), filter_flip=False),
    dict(border_mode="half", subsample=(2, 2)), dict(border_mode=1, subsample=(2, 2), filter_dilation=(1, 2)),
]


def graph(dtype):
    x = T.tensor4("x", dtype=dtype)
    w = T.tensor4("w", dtype=dtype)
    outs = []
    for kw in CASES:
        y = conv.conv2d(x, w, **kw)
        gx, gw = symgraph.grad(T.sum(y * y), [x, w])
        outs += [y, gx, gw]
    return x, w, outs


def compare(dtype, xv, wv, tol):
    x, w, outs = graph(dtype)
    ref = symgraph.function([x, w], outs, mode=PY)(xv, wv)
    got = symgraph.function([x, w], outs, mode=C)(xv, wv)
    for k, (a, b) in enumerate(zip(got, ref)):
        assert a.dtype == np.dtype(dtype) and a.shape == b.shape, (outs[k], a.shape, b.shape)
        scale = max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale, err_msg=str(outs[k]))
    return got


def test_dnnl_matches_reference_every_mode():
    rng = np.random.RandomState(0)
    compare("float32", rng.randn(3, 5, 11, 10).astype("float32"), rng.randn(7, 5, 3, 2).astype("float32"), 2e-5)


def test_dnnl_realistic_channels():
    """Channel counts that select oneDNN's blocked (16-wide) kernels, with ragged blocks."""
    rng = np.random.RandomState(1)
    compare("float32", rng.randn(2, 19, 9, 9).astype("float32"), rng.randn(33, 19, 3, 3).astype("float32"), 2e-5)


def test_float64_falls_back_to_im2col():
    rng = np.random.RandomState(2)
    compare("float64", rng.randn(2, 3, 7, 8), rng.randn(4, 3, 3, 2), 1e-11)


def test_non_contiguous_float32_input():
    rng = np.random.RandomState(3)
    xv = rng.randn(2, 3, 9, 14).astype("float32")[:, :, :, ::2]
    compare("float32", xv, rng.randn(4, 3, 3, 3).astype("float32")[:, :, ::-1], 2e-5)


def test_im2col_and_dnnl_agree():
    """The config flag switches the runtime library; both give the same values."""
    rng = np.random.RandomState(4)
    xv, wv = rng.randn(4, 6, 10, 10).astype("float32"), rng.randn(8, 6, 3, 3).astype("float32")
    x, w, outs = graph("float32")
    a = symgraph.function([x, w], outs, mode=C)(xv, wv)
    with config.change_flags(**{"dnn.conv.cpu": "im2col"}):
        assert dnnl_flags() == ()
        b = symgraph.function([x, w], outs, mode=C)(xv, wv)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=2e-5, atol=2e-5 * max(1.0, float(np.abs(v).max())))


@pytest.mark.parametrize("kw", [dict(border_mode="half"), dict(border_mode="full", subsample=(2, 1)),
                                dict(border_mode=(1, 0), filter_dilation=(2, 1), filter_flip=False)])
def test_verify_grad_float32(kw):
    rng = np.random.RandomState(5)
    pts = [rng.randn(2, 3, 6, 5).astype("float32"), rng.randn(4, 3, 3, 2).astype("float32")]
    symgraph.verify_grad(lambda x, w: conv.conv2d(x, w, **kw), pts, rng=np.random.RandomState(0), mode="c",
                         abs_tol=2e-2, rel_tol=2e-2)

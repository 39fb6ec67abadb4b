"""C backend: softmax family, conv2d and its gradients, pooling and its gradients, MRG uniforms.

Values are compared with the Python reference backend (which the op tests check
against independent NumPy/SciPy references); MRG draws must be bit-identical.
"""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.compile.mode import Mode
from symgraph.ops import conv, nnet, pool, random

pytestmark = pytest.mark.skipif(not c_available(), reason="no working C compiler")

C = Mode(linker="c", optimizer=None)
PY = Mode(linker="py", optimizer=None)


def check(inputs, outputs, values, rtol=None):
    ref = symgraph.function(inputs, outputs, mode=PY, on_unused_input="ignore")(*values)
    f = symgraph.function(inputs, outputs, mode=C, on_unused_input="ignore")
    got = f(*values)
    for k, (a, b) in enumerate(zip(got, ref)):
        b = np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, (k, outputs[k], a.shape, b.shape)
        tol = rtol or (3e-5 if a.dtype == np.float32 else 1e-11)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=str(outputs[k]))
    return f


def assert_all_c(f):
    rt = f._run.runtime
    assert all(rt.plan.is_c), [str(n.op) for n, c in zip(rt.plan.nodes, rt.plan.is_c) if not c]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_family(dtype):
    x = T.matrix("x", dtype=dtype)
    t3 = T.tensor(dtype, (False, False, False), name="t3")
    y = T.lvector("y")
    g = T.vector("g", dtype=dtype)
    sm = nnet.softmax_op(x)
    loss, sm2 = nnet.softmax_cross_entropy(x, y)
    outs = [sm, nnet.log_softmax_op(x), nnet.softmax_grad(x * 3, sm), loss, sm2,
            nnet.softmax_cross_entropy_grad(g, sm, y), nnet.softmax_op(t3), nnet.log_softmax_op(t3.dimshuffle(2, 0, 1))]
    rng = np.random.RandomState(0)
    xv = (rng.randn(6, 9) * 10).astype(dtype)
    args = [xv.T[::-1].T, np.array([0, 8, 3, 2, 1, 1]), rng.randn(6).astype(dtype), rng.randn(2, 3, 4).astype(dtype)]
    f = check([x, y, g, t3], outs, args)
    assert_all_c(f)
    with pytest.raises(IndexError, match="class index 9"):
        f(xv, np.array([0, 9, 3, 2, 1, 1]), args[2], args[3])


def test_softmax_xent_training_graph_matches():
    x = T.fmatrix("x")
    y = T.ivector("y")
    W = symgraph.shared(np.random.RandomState(1).randn(5, 4).astype("float32"), name="W")
    p = T.nnet.softmax(T.dot(x, W))
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    gW = symgraph.grad(cost, W)
    xv, yv = np.random.RandomState(2).rand(7, 5).astype("float32"), np.array([0, 1, 2, 3, 0, 1, 2], "int32")
    a = symgraph.function([x, y], [cost, gW], mode="c")(xv, yv)
    b = symgraph.function([x, y], [cost, gW], mode="py")(xv, yv)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


CONV_CASES = [
    dict(border_mode="valid"), dict(border_mode="full"), dict(border_mode="half"),
    dict(border_mode=(1, 2), subsample=(2, 1)), dict(border_mode="valid", filter_dilation=(2, 1)),
    dict(border_mode=(2, 0), subsample=(1, 3), filter_flip=False),
]


def conv_cases_graph(dtype):
    """Inputs x, w and, for every CONV_CASES entry, conv2d and its two gradients."""
    x = T.tensor4("x", dtype=dtype)
    w = T.tensor4("w", dtype=dtype)
    outs = []
    for kw in CONV_CASES:
        y = conv.conv2d(x, w, **kw)
        gx, gw = symgraph.grad(T.sum(y * y), [x, w])
        outs += [y, gx, gw]
    return x, w, outs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_forward_and_both_gradients(dtype):
    x, w, outs = conv_cases_graph(dtype)
    rng = np.random.RandomState(3)
    xv = rng.randn(3, 2, 9, 8).astype(dtype)
    wv = rng.randn(4, 2, 3, 2).astype(dtype)
    f = check([x, w], outs, [xv, wv])
    assert_all_c(f)
    check([x, w], outs, [xv.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)[:, :, ::-1], wv[:, :, ::-1]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_batches_split_into_chunks_over_threads(dtype):
    """Batches large enough that the C kernels split images into cache-sized chunks taken by
    threads (more chunks than the 8 partial sums of the weights gradient, a ragged last chunk),
    for every border mode, stride, dilation and flip: forward and both gradients agree with the
    reference, with threads (idle thresholds) and without (as when the cores are contended)."""
    x, w, outs = conv_cases_graph(dtype)
    rng = np.random.RandomState(8)
    xv = rng.randn(75, 8, 20, 19).astype(dtype)
    wv = rng.randn(6, 8, 3, 2).astype(dtype)
    ref = symgraph.function([x, w], outs, mode=PY)(xv, wv)
    f = symgraph.function([x, w], outs, mode=C)
    assert_all_c(f)
    ctx = f._run.runtime.ctx
    ctx.adaptive = 0
    tol = 2e-4 if dtype == "float32" else 1e-10
    runs = []
    for scale in (1.0, 1e30):
        ctx.par_scale = scale
        runs.append(f(xv, wv))
        for k, (a, b) in enumerate(zip(runs[-1], ref)):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol * 10, err_msg=f"{outs[k]} scale {scale}")
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_conv2d_lenet_sizes_and_errors():
    x = T.ftensor4("x")
    w = T.ftensor4("w")
    y = conv.conv2d(x, w, input_shape=(None, 2, 12, 12), filter_shape=(5, 2, 5, 5))
    gx, gw = symgraph.grad(T.sum(y * 0.5), [x, w])
    rng = np.random.RandomState(4)
    f = check([x, w], [y, gx, gw], [rng.rand(40, 2, 12, 12).astype("float32"),
                                    rng.rand(5, 2, 5, 5).astype("float32")], rtol=1e-4)
    with pytest.raises(ValueError, match="input_shape"):
        f(np.ones((2, 2, 11, 12), "float32"), np.ones((5, 2, 5, 5), "float32"))
    g = symgraph.function([x, w], conv.conv2d(x, w), mode=C)
    with pytest.raises(ValueError, match="channels"):
        g(np.ones((1, 3, 6, 6), "float32"), np.ones((2, 2, 3, 3), "float32"))
    with pytest.raises(ValueError, match="does not fit"):
        g(np.ones((1, 2, 2, 6), "float32"), np.ones((2, 2, 3, 3), "float32"))


POOL_CASES = [((2, 2), None, (0, 0), True), ((3, 2), (2, 1), (0, 0), False), ((2, 2), None, (0, 0), False),
              ((3, 3), (2, 2), (1, 1), True), ((2, 3), (1, 2), (1, 1), True)]


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
def test_pooling_and_gradients_every_mode(mode):
    x = T.dtensor4("x")
    outs = []
    for ws, st, pad, ib in POOL_CASES:
        y = pool.Pool(ws, st, pad, ib, mode)(x)
        outs += [y, symgraph.grad(T.sum(y * y), x)]
        if mode == "max":
            outs.append(pool.MaxPoolGradGrad(ws, st, pad, ib, mode)(x, y, x * 2))
    rng = np.random.RandomState(5)
    xv = rng.rand(2, 3, 7, 6)
    xv[0, 0, :2, :2] = 0.5                                  # ties within a window
    f = check([x], outs, [xv])
    assert_all_c(f)
    check([x], outs, [xv.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2)[:, ::-1]])


def test_pooling_of_3d_and_5d_inputs_and_float32():
    x3 = T.dtensor3("x3")
    x5 = T.tensor("float32", (False,) * 5, name="x5")
    y3 = pool.Pool((2, 2), None, (0, 0), True, "max")(x3)
    y5 = pool.Pool((2, 2), None, (0, 0), False, "average_exc_pad")(x5)
    outs = [y3, y5, symgraph.grad(T.sum(y3), x3), symgraph.grad(T.sum(y5 * y5), x5)]
    rng = np.random.RandomState(6)
    check([x3, x5], outs, [rng.rand(4, 6, 8), rng.rand(2, 2, 2, 5, 7).astype("float32")])


@pytest.mark.parametrize("ignore_border", [True, False])
@pytest.mark.parametrize("ws,shape", [((2, 2), (3, 4, 10, 18)), ((2, 2), (3, 4, 11, 19)), ((2, 2), (2, 3, 8, 8)),
                                      ((2, 2), (1, 2, 4, 6)), ((2, 2), (2, 3, 5, 5)), ((3, 2), (2, 2, 7, 9)),
                                      ((2, 3), (2, 2, 6, 10))])
def test_max_pool_disjoint_windows_float32_vector_paths(ws, shape, ignore_border):
    """Max pooling with stride == window in float32 (the row kernels; for 2x2 the AVX2 paths: four
    windows per step, then a scalar tail): ties, NaNs and -inf, planes the windows tile exactly,
    leave a row/column out (ignore_border=True) or cover with partial windows (False), and a
    non-contiguous view; values and gradients must equal the reference exactly."""
    x = T.ftensor4("x")
    gz = T.ftensor4("gz")
    y = pool.Pool(ws, None, (0, 0), ignore_border, "max")(x)
    gx = pool.MaxPoolGrad(ws, None, (0, 0), ignore_border, "max")(x, y, gz)
    rng = np.random.RandomState(7)
    xv = rng.randint(-3, 3, size=shape).astype("float32")       # many ties
    xv.flat[::37] = np.nan
    xv.flat[5::41] = -np.inf
    rnd = (lambda a, b: a // b) if ignore_border else (lambda a, b: -(-a // b))
    oh, ow = rnd(shape[2], ws[0]), rnd(shape[3], ws[1])
    gv = rng.standard_normal(shape[:2] + (oh, ow)).astype("float32")
    ref = symgraph.function([x, gz], [y, gx], mode=PY)
    f = symgraph.function([x, gz], [y, gx], mode=C)
    assert_all_c(f)
    for xin in (xv, np.ascontiguousarray(xv[:, ::-1]).copy()[:, ::-1]):
        want = ref(xin, gv)
        got = f(xin, gv)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    assert np.isnan(got[0]).any() and (got[1] == 0).any() and (got[1] != 0).any()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mrg_uniform_is_bit_identical(dtype):
    from symgraph.sandbox.rng_mrg import MRG_RandomStreams
    st = np.asarray(MRG_RandomStreams(1234).get_substream_rstates(7), dtype="int32")
    state = T.imatrix("state")
    n = T.lscalar("n")
    outs = []
    for size in ([3, 5], [2], [n, 3]):
        new, u = random.MRGUniform(dtype, len(size))(state, size)
        outs += [new, u]
    f = symgraph.function([state, n], outs, mode=C)
    g = symgraph.function([state, n], outs, mode=PY)
    assert_all_c(f)
    for nv in (0, 1, 4):
        for a, b in zip(f(st, nv), g(st, nv)):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)


def test_mrg_random_streams_in_a_function_with_updates():
    from symgraph.sandbox.rng_mrg import MRG_RandomStreams
    srng = MRG_RandomStreams(seed=42)
    u = srng.uniform((1000,), dtype="float32")
    f = symgraph.function([], u, mode="c")
    srng2 = MRG_RandomStreams(seed=42)
    g = symgraph.function([], srng2.uniform((1000,), dtype="float32"), mode="py")
    for _ in range(3):
        np.testing.assert_array_equal(f(), g())

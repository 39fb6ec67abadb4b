"""Pool, MaxPoolGrad, MaxPoolGradGrad, AveragePoolGrad: forward vs explicit loops, gradients."""
import itertools
import warnings

import numpy as np
import pytest

import symgraph as th
import symgraph.tensor as T
from symgraph.ops.pool import (Pool, MaxPoolGrad, MaxPoolGradGrad, AveragePoolGrad, pool_2d,
                               PoolParameterError)
from symgraph.tensor.signal import downsample, pool as signal_pool


def ref_out_len(size, ws, st, pad, ignore_border):
    """Count window starts directly instead of using the closed formula."""
    v = size + 2 * pad
    if ignore_border:
        return len(range(0, v - ws + 1, st))
    return len([s for s in range(0, v, st) if s == 0 or s + ws - 1 < v or
                s < v and (s - st) + ws < v])


def ref_pool(x, ws, st, pad, ignore_border, mode):
    """Explicit loops over output windows; padding never enters max/sum/exc averages."""
    H, W = x.shape[-2:]
    oh = ref_out_len(H, ws[0], st[0], pad[0], ignore_border)
    ow = ref_out_len(W, ws[1], st[1], pad[1], ignore_border)
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for idx in np.ndindex(*x.shape[:-2]):
        for r in range(oh):
            for c in range(ow):
                r0, c0 = r * st[0] - pad[0], c * st[1] - pad[1]
                r1, c1 = r0 + ws[0], c0 + ws[1]
                vals = [x[idx + (i, j)] for i in range(max(r0, 0), min(r1, H))
                        for j in range(max(c0, 0), min(c1, W))]
                if mode == "max":
                    v = max(vals)
                elif mode == "sum":
                    v = sum(vals)
                elif mode == "average_exc_pad":
                    v = sum(vals) / len(vals)
                else:   # the window clipped to the padded image
                    n = ((min(r1, H + pad[0]) - max(r0, -pad[0])) *
                         (min(c1, W + pad[1]) - max(c0, -pad[1])))
                    v = sum(vals) / n
                out[idx + (r, c)] = v
    return out


MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]
RNG = np.random.RandomState(42)
X = RNG.randn(2, 3, 7, 6)


def test_out_len_formula_matches_window_count():
    from symgraph.ops.pool import pool_out_len
    for size, ws, st, ib in itertools.product(range(1, 10), range(1, 5), range(1, 5), [True, False]):
        assert pool_out_len(size, ws, st, 0, ib) == ref_out_len(size, ws, st, 0, ib), \
            (size, ws, st, ib)


CASES = [(ws, st, pad, ib) for ws, st, pad, ib in itertools.product(
    [(2, 2), (3, 2), (1, 1)], [None, (1, 1), (3, 2), (1, 2)], [(0, 0), (1, 1), (0, 1)],
    [True, False]) if pad == (0, 0) or (ib and pad[0] < ws[0] and pad[1] < ws[1])]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws, st, pad, ib", CASES)
def test_forward_matches_loops(ws, st, pad, ib, mode):
    x = T.dtensor4("x")
    out = th.function([x], pool_2d(x, ws, ib, st, pad, mode))(X)
    ref = ref_pool(X, ws, st or ws, pad, ib, mode)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(5, 4), (2, 5, 4), (1, 2, 2, 5, 4)])
def test_any_ndim_pools_last_two_axes(shape):
    xv = RNG.randn(*shape)
    x = T.tensor("float64", (False,) * len(shape))
    out = th.function([x], pool_2d(x, (2, 3), ignore_border=False, mode="average_exc_pad"))(xv)
    np.testing.assert_allclose(out, ref_pool(xv, (2, 3), (2, 3), (0, 0), False,
                                             "average_exc_pad"))


def test_seed_000_legacy_max_pool_shapes():
    x = T.ftensor4("x")
    f = th.function([x], downsample.max_pool_2d(x, (2, 2), ignore_border=False))
    assert f(np.zeros((2, 32, 30, 30), "float32")).shape == (2, 32, 15, 15)
    assert f(np.zeros((2, 64, 13, 13), "float32")).shape == (2, 64, 7, 7)
    out = f(RNG.randn(2, 128, 5, 5).astype("float32"))
    assert out.shape == (2, 128, 3, 3) and out.dtype == np.float32
    assert out.reshape(2, -1).shape[1] == 128 * 3 * 3


def test_legacy_names_and_lenet_call():
    x = T.dtensor4("x")
    a = th.function([x], signal_pool.pool_2d(input=x, ds=(2, 2), ignore_border=True))(X)
    b = th.function([x], downsample.max_pool_2d(input=x, ds=(2, 2), ignore_border=True,
                                                st=(2, 2), padding=(0, 0)))(X)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, ref_pool(X, (2, 2), (2, 2), (0, 0), True, "max"))


def test_int_input_max_pool_keeps_dtype():
    xv = RNG.randint(-50, 50, size=(2, 5, 5)).astype("int32")
    x = T.itensor3("x")
    out = th.function([x], pool_2d(x, (2, 2), ignore_border=False))(xv)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, ref_pool(xv, (2, 2), (2, 2), (0, 0), False, "max"))


# ---------------------------------------------------------------- gradients

def distinct(shape, seed=0):
    """Values with no ties (finite differences of max are then well defined)."""
    rng = np.random.RandomState(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 + rng.rand(*shape) * 0.01)


XG = distinct((2, 2, 5, 4))
GRAD_CASES = [((2, 2), None, (0, 0), True), ((2, 2), None, (0, 0), False),
              ((3, 2), (1, 1), (0, 0), False), ((2, 2), (3, 3), (0, 0), False),
              ((3, 3), (2, 1), (1, 2), True)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ws, st, pad, ib", GRAD_CASES)
def test_verify_grad(ws, st, pad, ib, mode):
    th.verify_grad(lambda x: pool_2d(x, ws, ib, st, pad, mode), [XG],
                   rng=np.random.RandomState(0))


@pytest.mark.parametrize("ws, st, pad, ib", GRAD_CASES)
def test_verify_grad_of_gradient_ops(ws, st, pad, ib):
    """Second derivatives: MaxPoolGrad / AveragePoolGrad are linear in gz."""
    params = dict(ws=ws, stride=st, pad=pad, ignore_border=ib)
    xv = XG
    x = T.dtensor4()
    maxout = th.function([x], Pool(mode="max", **params)(x))(xv)
    gz = np.random.RandomState(3).randn(*maxout.shape)
    th.verify_grad(lambda g: MaxPoolGrad(mode="max", **params)(xv, maxout, g), [gz],
                   rng=np.random.RandomState(0))
    th.verify_grad(lambda g: MaxPoolGradGrad(mode="max", **params)(xv, maxout, g), [xv * 0.3],
                   rng=np.random.RandomState(0))
    for mode in ("sum", "average_inc_pad", "average_exc_pad"):
        th.verify_grad(lambda g: AveragePoolGrad(mode=mode, **params)(xv, g), [gz],
                       rng=np.random.RandomState(0))


def test_second_derivative_through_max_pool():
    x = T.dmatrix("x")
    cost = T.sum(pool_2d(x, (2, 2), ignore_border=True) ** 2)
    gx = T.grad(cost, x)
    hv = T.grad(T.sum(gx * gx), x)
    xv = distinct((4, 4))
    out = th.function([x], hv)(xv)
    # cost = sum of squared window maxima; gx = 2 * max at argmax; sum(gx^2) = 4 * sum max^2
    ref = np.zeros_like(xv)
    for r in range(2):
        for c in range(2):
            win = xv[2 * r:2 * r + 2, 2 * c:2 * c + 2]
            i, j = np.unravel_index(np.argmax(win), win.shape)
            ref[2 * r + i, 2 * c + j] = 8 * win[i, j]
    np.testing.assert_allclose(out, ref)


def test_max_pool_ties_route_gradient_to_every_max():
    xv = np.array([[1., 3., 2., 2.],
                   [3., 0., 2., 2.],
                   [0., 0., 5., 1.],
                   [0., 0., 1., 5.]])
    x = T.dmatrix("x")
    y = pool_2d(x, (2, 2), ignore_border=True)
    gz = np.array([[10., 20.], [30., 40.]])
    gx = th.function([x], T.grad(T.sum(y * gz), x))(xv)
    expected = np.array([[0., 10., 20., 20.],
                         [10., 0., 20., 20.],
                         [30., 30., 40., 0.],
                         [30., 30., 0., 40.]])
    np.testing.assert_array_equal(gx, expected)
    # overlapping windows (stride 1) accumulate at a shared maximum
    y = pool_2d(x, (2, 2), ignore_border=True, stride=(1, 1))
    gx = th.function([x], T.grad(T.sum(y), x))(np.array([[0., 0., 0.], [0., 9., 0.],
                                                         [0., 0., 0.]]))
    np.testing.assert_array_equal(gx, [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


def test_max_pool_padding_is_ignored():
    x = T.dmatrix("x")
    xv = -np.ones((3, 3))
    out = th.function([x], pool_2d(x, (2, 2), ignore_border=True, pad=(1, 1)))(xv)
    np.testing.assert_array_equal(out, -np.ones((2, 2)))


# ---------------------------------------------------------------- shapes and errors

@pytest.mark.parametrize("ws, st, pad, ib", GRAD_CASES)
def test_infer_shape(ws, st, pad, ib):
    x = T.dtensor4("x")
    y = pool_2d(x, ws, ib, st, pad, "max")
    node = y.owner
    dims = node.op.infer_shape(node, [tuple(x.shape[d] for d in range(4))])[0]
    res = th.function([x], [T.as_tensor_variable(d) for d in dims] + [y])(XG)
    assert tuple(int(d) for d in res[:-1]) == res[-1].shape
    assert Pool.out_shape(XG.shape, ws, ib, st, pad) == res[-1].shape


def test_parameter_errors():
    x = T.dtensor4("x")
    with pytest.raises(ValueError, match="smaller than the window"):
        pool_2d(x, (2, 2), ignore_border=True, pad=(2, 0))
    with pytest.raises(NotImplementedError):     # Theano's exception type still matches
        pool_2d(x, (2, 2), ignore_border=True, pad=(0, 3))
    with pytest.raises(PoolParameterError, match="ignore_border=True"):
        pool_2d(x, (3, 3), ignore_border=False, pad=(1, 1))
    with pytest.raises(ValueError, match="mode"):
        pool_2d(x, (2, 2), ignore_border=True, mode="median")
    with pytest.raises(ValueError, match="not both"):
        pool_2d(x, ws=(2, 2), ds=(2, 2), ignore_border=True)
    with pytest.raises(TypeError, match="2 dimensions"):
        pool_2d(T.dvector(), (2, 2), ignore_border=True)


def test_ignore_border_none_warns_and_means_false():
    x = T.dmatrix("x")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        y = pool_2d(x, (2, 2))
    assert any("ignore_border" in str(w.message) for w in rec)
    assert th.function([x], y)(np.ones((5, 5))).shape == (3, 3)


def test_ops_compare_by_props():
    assert Pool((2, 2)) == Pool((2, 2), (2, 2), (0, 0), False, "max")
    assert Pool((2, 2)) != Pool((2, 2), ignore_border=True)
    assert hash(Pool((2, 2))) == hash(Pool((2, 2), (2, 2)))

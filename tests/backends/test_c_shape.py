"""C backend: views and shape ops, indexing (basic and advanced), Dot through BLAS.

Each expression is compared with the Python reference backend, on contiguous,
transposed and step-sliced inputs and on size-0/size-1 dimensions; bad shapes
and indices must raise the reference's exception type naming the op.
"""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.compile.mode import Mode

pytestmark = pytest.mark.skipif(not c_available(), reason="no working C compiler")

C = Mode(linker="c", optimizer=None)
C_OPT = Mode(linker="c")
PY = Mode(linker="py", optimizer=None)


def check(inputs, outputs, values, mode=C, rtol=1e-6):
    ref = symgraph.function(inputs, outputs, mode=PY, on_unused_input="ignore")(*values)
    f = symgraph.function(inputs, outputs, mode=mode, on_unused_input="ignore")
    got = f(*values)
    for k, (a, b) in enumerate(zip(got, ref)):
        b = np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, (k, outputs[k], a.dtype, b.dtype, a.shape, b.shape)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, equal_nan=True, err_msg=str(outputs[k]))
        else:
            np.testing.assert_array_equal(a, b, err_msg=str(outputs[k]))
    return f


A = np.arange(60.0).reshape(5, 4, 3)


def test_views_and_shape_ops():
    x = T.dtensor3("x")
    n = T.lscalar("n")
    v = T.dvector("v")
    outs = [x.dimshuffle(2, "x", 0, 1), x.T, x.reshape((4, -1)), x.reshape((n, 12)), x.flatten(),
            x[:, ::2].reshape((-1,)), T.shape(x), x.shape[1], T.stack([n, x.shape[0], 3]),
            T.alloc(v, 2, n, 3), T.alloc(np.float64(1.5), n, 2), T.zeros((n, 2)),
            T.concatenate([x, x[:2]], axis=0), T.concatenate([x, x * 2], axis=2),
            T.arange(n), T.arange(1, 10, 2), T.arange(0.5, n, 0.75, dtype="float32"),
            T.arange(n, 0, -1, dtype="int32"), T.specify_shape(x, (5, None, 3)) + 1,
            T.addbroadcast(x[:, :1], 1) * 2]
    check([x, n, v], outs, [A, np.int64(5), np.arange(3.0)])
    check([x, n, v], outs, [A.transpose(1, 0, 2)[:, ::-1].copy().transpose(1, 0, 2), np.int64(5),
                            np.arange(3.0)])


def test_reshape_of_noncontiguous_input_copies():
    x = T.dmatrix("x")
    f = check([x], [x.T.reshape((-1,)), x[::2].reshape((2, -1))], [np.arange(24.0).reshape(4, 6)])
    out = f(np.arange(24.0).reshape(4, 6))[0]
    np.testing.assert_array_equal(out, np.arange(24.0).reshape(4, 6).T.ravel())


@pytest.mark.parametrize("make, bad, exc, what", [
    (lambda x: x.reshape((7, -1)), np.ones((4, 6)), ValueError, "cannot reshape"),
    (lambda x: T.specify_shape(x, (4, None)), np.ones((3, 6)), ValueError, "expected shape"),
    (lambda x: T.addbroadcast(x, 0), np.ones((3, 6)), ValueError, "broadcastable"),
    (lambda x: x[5], np.ones((3, 6)), IndexError, "out of bounds"),
    (lambda x: T.concatenate([x, x.T], axis=0), np.ones((3, 6)), ValueError, "joined"),
    (lambda x: T.dot(x, x), np.ones((3, 6)), ValueError, "not aligned"),
])
def test_shape_errors_raise_with_op_and_user_line(make, bad, exc, what):
    x = T.dmatrix("x")
    f = symgraph.function([x], make(x), mode=C)
    with pytest.raises(exc) as info:
        f(bad)
    assert what in str(info.value) and "test_c_shape.py" in str(info.value), str(info.value)


BASIC = [
    lambda x: x[1], lambda x: x[-1], lambda x: x[1:3], lambda x: x[::2], lambda x: x[::-1],
    lambda x: x[3:0:-2], lambda x: x[:, 1], lambda x: x[:, :, -1], lambda x: x[1, 2],
    lambda x: x[1, 2, 0], lambda x: x[-2:, 1:, ::2], lambda x: x[10:], lambda x: x[..., 1:],
]


def test_basic_indexing_and_symbolic_bounds():
    x = T.dtensor3("x")
    i, j = T.iscalars("i", "j")
    k = T.bscalar("k")
    outs = [fn(x) for fn in BASIC] + [x[i], x[i, j], x[i:j], x[j:i], x[:, ::k], x[-i:], x[i, :, k] * 1]
    check([x, i, j, k], outs, [A, np.int32(2), np.int32(1), np.int8(-1)])
    check([x, i, j, k], outs, [A.transpose(0, 2, 1).copy().transpose(0, 2, 1)[:, :, :], np.int32(4),
                               np.int32(0), np.int8(-2)])


def test_inc_and_set_subtensor():
    x = T.dmatrix("x")
    y = T.dvector("y")
    i = T.lscalar("i")
    outs = [T.inc_subtensor(x[1:3], y), T.set_subtensor(x[:, 1], 5.0), T.inc_subtensor(x[::-2, i], 1.0),
            T.set_subtensor(x[i], y * 2), T.inc_subtensor(x[:, :], y)]
    xv = np.arange(20.0).reshape(5, 4)
    check([x, y, i], outs, [xv, np.arange(4.0), np.int64(2)])
    check([x, y, i], outs, [np.asfortranarray(xv), np.arange(4.0), np.int64(-1)])
    f = symgraph.function([x, y], T.inc_subtensor(x[1:3], y), mode=C)
    with pytest.raises(ValueError, match="region"):
        f(xv, np.arange(3.0))


def test_inc_subtensor_in_place_on_intermediate_is_fresh_each_call():
    x = T.dtensor3("x")
    g = symgraph.grad(T.sum(x[:, :, -1] * 3.0), x)
    f = symgraph.function([x], g, mode=C_OPT)
    for _ in range(3):
        out = f(A)
        assert out[..., -1].sum() == 3.0 * 20 and out[..., :-1].sum() == 0


def test_advanced_indexing_and_increments():
    x = T.dmatrix("x")
    idx = T.lvector("idx")
    jdx = T.ivector("jdx")
    y = T.dvector("y")
    outs = [x[idx], x[idx, jdx], x[:, jdx], x[idx, 1:], x[T.arange(3), jdx],
            T.inc_subtensor(x[idx], 1.0), T.set_subtensor(x[idx, jdx], y),
            T.inc_subtensor(x[idx, jdx], y), T.inc_subtensor(x[:, jdx], y * 1.0)]
    xv = np.arange(20.0).reshape(5, 4)
    check([x, idx, jdx, y], outs, [xv, np.array([0, 4, -1]), np.array([3, 0, -2], "int32"), np.arange(3.0)])
    check([x, idx, jdx, y], outs, [xv.T.copy().T[::-1], np.array([2, 2, 0]), np.array([1, 1, 1], "int32"),
                                   np.array([1.0, 10.0, 100.0])])


def test_advanced_index_out_of_bounds_raises_index_error():
    x = T.dmatrix("x")
    idx = T.lvector("idx")
    for expr in (x[idx], T.inc_subtensor(x[idx], 1.0), x[idx, idx]):
        f = symgraph.function([x, idx], expr, mode=C)
        with pytest.raises(IndexError, match="out of bounds") as info:
            f(np.ones((3, 3)), np.array([0, 3]))
        assert "test_c_shape.py" in str(info.value)
        with pytest.raises(IndexError):
            f(np.ones((3, 3)), np.array([-4]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dot_every_layout(dtype):
    a = T.matrix("a", dtype=dtype)
    b = T.matrix("b", dtype=dtype)
    v = T.vector("v", dtype=dtype)
    outs = [T.dot(a, b), T.dot(a.T, b.T), T.dot(a[:, ::2], b[::2]),
            T.dot(a, v), T.dot(v[:4], a), T.dot(v, v), T.dot(a.T[::2], a), T.dot(b, v[:4][::-1]), T.dot(a.T, v[:4])]
    rng = np.random.RandomState(6)
    av = rng.rand(4, 6).astype(dtype)
    bv = rng.rand(6, 4).astype(dtype)
    vv = rng.rand(6).astype(dtype)
    check([a, b, v], outs, [av, bv, vv], rtol=1e-5 if dtype == "float32" else 1e-12)
    f = symgraph.function([a, b], T.dot(a, b), mode=C)
    assert f(np.ones((0, 3), dtype), np.ones((3, 2), dtype)).shape == (0, 2)
    np.testing.assert_array_equal(f(np.ones((2, 0), dtype), np.ones((0, 2), dtype)), np.zeros((2, 2)))
    assert f(np.ones((1, 1), dtype), np.ones((1, 5), dtype)).shape == (1, 5)


def test_integer_dot_uses_a_plain_loop():
    a = T.imatrix("a")
    v = T.ivector("v")
    check([a, v], [T.dot(a, a.T), T.dot(a, v[:3]), T.dot(v, v)],
          [np.arange(12, dtype="int32").reshape(4, 3), np.array([1, -2, 3, 4], "int32")])

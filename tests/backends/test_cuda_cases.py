"""Representative graphs for every op kind the CUDA backend lowers, with input values.

(A helper module, no tests.) Shared by ``test_cuda_render.py`` (renders their kernels and compiles them with
``nvcc -ptx``, no GPU needed) and ``test_cuda_gpu.py`` (runs them on the GPU
against the Python reference backend).
"""
from __future__ import annotations

import numpy as np

import symgraph.tensor as T
from symgraph.ops import scalar as ps
from symgraph.ops.elemwise import Elemwise
from symgraph.ops.pool import AveragePoolGrad, MaxPoolGrad, Pool
from symgraph.ops.random import MRGUniform
from symgraph.tensor.nnet import conv2d, log_softmax, softmax
from symgraph.ops.nnet import softmax_cross_entropy, softmax_cross_entropy_grad, softmax_grad


def _r(rng, *shape, dtype="float32", lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def elemwise_cases(rng):
    x, y = T.fmatrix("x"), T.fmatrix("y")
    row = T.frow("row")
    s = T.fscalar("s")
    d = T.dmatrix("d")
    i = T.lmatrix("i")
    comp = ps.Composite(["float32", "float32"],
                        [(ps.mul, (0, 1)), (ps.tanh, (2,)), (ps.ScalarConstant(0.5, "float32"), ()),
                         (ps.sub, (3, 4)), (ps.exp, (0,))], [5, 6])
    fused = Elemwise(comp)(x, y)
    X, Y = _r(rng, 5, 7), _r(rng, 5, 7)
    return [
        ("add_mul_scalar", [x, y, s], [x * y + s], [X, Y, np.float32(0.3)]),
        ("broadcast_row_T", [x, row], [T.tanh(x.T[:3] + row.T[:3]) ** 2],
         [X, _r(rng, 1, 5)]),
        ("composite_2out", [x, y], list(fused), [X, Y]),
        ("float64_math", [d], [T.log1p(T.abs_(d)) + T.sqrt(T.abs_(d)) - T.nnet.sigmoid(d) * T.erf(d)],
         [_r(rng, 4, 6, dtype="float64")]),
        ("int_ops", [i], [(i // 3) + (i % 4) - T.maximum(i, 2), T.cast(i, "float32") / 7],
         [rng.randint(-20, 20, size=(3, 5)).astype("int64")]),
        ("compare_switch", [x, y], [T.switch(T.gt(x, y), x, y * 2), T.eq(x, y)], [X, Y]),
        ("clip_cast", [x], [T.clip(x, -0.5, 0.5), T.cast(x * 10, "int32")], [X]),
    ]


def reduce_cases(rng):
    x, d = T.ftensor3("x"), T.dmatrix("d")
    i = T.imatrix("i")
    X = _r(rng, 4, 5, 6)
    return [
        ("sum_axes", [x], [x.sum(axis=2), x.sum(axis=0), x.sum(axis=(0, 2)), x.sum()], [X]),
        ("max_min_prod", [x], [x.max(axis=1), x.min(axis=(1, 2)), x.prod(axis=2)], [X]),
        ("argmax", [x, d], [T.argmax(x, axis=1), T.argmin(d, axis=0), T.argmax(d)],
         [X, _r(rng, 7, 3, dtype="float64")]),
        ("int_sum", [i], [i.sum(axis=1), i.max(axis=0)],
         [rng.randint(-9, 9, size=(6, 300)).astype("int32")]),
        ("mean_transposed", [x], [x.dimshuffle(2, 0, 1).mean(axis=(0, 1))], [X]),
    ]


def nnet_cases(rng):
    z, g = T.fmatrix("z"), T.fmatrix("g")
    y = T.ivector("y")
    gl = T.fvector("gl")
    Z = _r(rng, 6, 10, lo=-5, hi=5)
    Y = rng.randint(0, 10, size=6).astype("int32")
    sm = softmax(z)
    loss, sm2 = softmax_cross_entropy(z, y)
    return [
        ("softmax", [z], [sm, log_softmax(z)], [Z]),
        ("softmax_wide", [z], [softmax(z)], [_r(rng, 3, 1000, lo=-20, hi=20)]),
        ("softmax_grad", [z, g], [softmax_grad(g, sm)], [Z, _r(rng, 6, 10)]),
        ("softmax_xent", [z, y], [loss, sm2], [Z, Y]),
        ("softmax_xent_grad", [z, y, gl], [softmax_cross_entropy_grad(gl, softmax(z), y)],
         [Z, Y, _r(rng, 6)]),
    ]


def index_cases(rng):
    x, v, m = T.fmatrix("x"), T.fvector("v"), T.fmatrix("m")
    y = T.lvector("y")
    k = T.lscalar("k")
    X = _r(rng, 6, 5)
    return [
        ("subtensor", [x, k], [x[k:k + 3, ::2] * 2, x[1] + 1], [X, np.int64(2)]),
        ("inc_set_subtensor", [x, v], [T.inc_subtensor(x[1:4, 2], v[:3]),
                                       T.set_subtensor(x[:, 1:3], 0.5)], [X, _r(rng, 4)]),
        ("advanced", [x, y], [x[T.arange(y.shape[0]), y] * 1, x[y] + 0],
         [X, np.array([0, 3, 1, 4], dtype="int64")]),
        ("advanced_inc", [x, y, v], [T.inc_subtensor(x[y], v.dimshuffle("x", 0)[:, :5] + 0)],
         [X, np.array([0, 3, 0, 5], dtype="int64"), _r(rng, 5)]),
        # repeated targets: the last position of each wins, as in NumPy
        ("advanced_set_repeated", [x, y, m], [T.set_subtensor(x[y], m) * 1],
         [X, np.array([0, 3, 0, -1, 3, 5, 3], dtype="int64"), _r(rng, 7, 5)]),
    ]


def conv_pool_cases(rng):
    img, w = T.ftensor4("img"), T.ftensor4("w")
    I, W = _r(rng, 2, 3, 9, 8), _r(rng, 4, 3, 3, 2)
    out = conv2d(img, w)
    gi, gw = T.grad(T.sum(out * out), [img, w])
    out_s = conv2d(img, w, border_mode=(1, 2), subsample=(2, 1), filter_flip=False)
    gi_s, gw_s = T.grad(T.sum(out_s ** 2), [img, w])
    x = T.ftensor4("x")
    X = _r(rng, 2, 3, 7, 9)
    cases = [
        ("conv_valid", [img, w], [out, gi, gw], [I, W]),
        ("conv_pad_stride", [img, w], [out_s, gi_s, gw_s], [I, W]),
    ]
    for mode in ("max", "sum", "average_inc_pad", "average_exc_pad"):
        for ib, pad, stride in ((True, (0, 0), (2, 2)), (False, (0, 0), (2, 3)),
                                (True, (1, 1), (1, 2))):
            p = Pool((2, 3), stride, pad, ib, mode)
            out = p(x)
            gz = T.ftensor4("gz")
            grad = MaxPoolGrad(p.ws, p.stride, p.pad, ib, mode)(x, out, gz) if mode == "max" \
                else AveragePoolGrad(p.ws, p.stride, p.pad, ib, mode)(x, gz)
            GZ_shape = Pool.out_shape(X.shape, p.ws, ib, p.stride, p.pad)
            cases.append((f"pool_{mode}_{int(ib)}_{pad[0]}_{stride[1]}", [x, gz], [out, grad],
                          [X, _r(rng, *GZ_shape)]))
    return cases


def rng_cases(rng):
    from symgraph.sandbox.rng_mrg import MRG_RandomStreams
    st = T.imatrix("st")
    out = []
    for dtype in ("float32", "float64"):
        ns, u = MRGUniform(dtype, 2)(st, T.as_tensor_variable(np.array([7, 33], dtype="int64")))
        out.append((f"mrg_{dtype}", [st], [ns, u],
                    [MRG_RandomStreams(1234).get_substream_rstates(60)]))
    return out


def blas_shape_cases(rng):
    a, b = T.fmatrix("a"), T.fmatrix("b")
    v = T.fvector("v")
    A, B = _r(rng, 5, 4), _r(rng, 4, 3)
    return [
        ("dot", [a, b, v], [T.dot(a, b), T.dot(a.T[:3].T, b[:3]), T.dot(v, b), T.dot(a, v),
                            T.dot(v, v), T.dot(b.T, a.T)], [A, B, _r(rng, 4)]),
        ("shape_ops", [a, b], [T.concatenate([a, a * 2], axis=1), a.reshape((2, 10)) + 1,
                               T.alloc(np.float32(0.5), 3, 2) + a[:3, :2], a.T.flatten() * 1,
                               T.zeros_like(b) + b.sum()], [A, B]),
    ]


def all_cases(rng):
    return (elemwise_cases(rng) + reduce_cases(rng) + nnet_cases(rng) + index_cases(rng)
            + conv_pool_cases(rng) + rng_cases(rng) + blas_shape_cases(rng))


def logistic_regression(mode):
    """One SGD step of a softmax regression with the fused softmax cross-entropy on shared
    weights, plus a shared vector that only its own update reads (the inplace pass makes
    that update write into the variable's buffer). Returns the function, the three shared
    variables and where the loss was built (``File "...", line N``, as errors name it)."""
    import inspect
    import symgraph
    rng = np.random.RandomState(5)
    W = symgraph.shared(rng.rand(6, 10).astype("float32"), name="W")
    b = symgraph.shared(np.zeros(10, dtype="float32"), name="b")
    steps = symgraph.shared(np.zeros(3, dtype="float32"), name="steps")
    x, y = T.fmatrix("x"), T.ivector("y")
    loss, _ = softmax_cross_entropy(T.dot(x, W) + b, y); line = inspect.currentframe().f_lineno  # noqa: E702
    cost = loss.mean()
    gW, gb = T.grad(cost, [W, b])
    f = symgraph.function([x, y], cost, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb),
                                                 (steps, steps + 1)], mode=mode)
    return f, [W, b, steps], f'File "{__file__}", line {line}'


def check_bad_labels_commit_nothing(f, ref, shared, ref_shared, built_at):
    """Train logistic regression ``f`` (x, labels) -> cost beside the reference ``ref`` on a
    sequence of label vectors, some with a label 10 or -1 for 10 classes: good calls match the
    reference and update the weights; a bad call raises IndexError naming the fused op, the
    bad label and ``built_at`` (the user's line), and leaves every shared variable as it was."""
    import pytest
    rng = np.random.RandomState(6)
    X = rng.rand(8, 6).astype("float32")
    good = rng.randint(0, 10, 8).astype("int32")
    bad_high, bad_negative = good.copy(), good.copy()
    bad_high[5], bad_negative[2] = 10, -1
    for labels in [good, good, good, bad_high, good, bad_negative, good]:
        before = [v.get_value() for v in shared]
        wrong = labels[(labels < 0) | (labels >= 10)]
        if not wrong.size:
            np.testing.assert_allclose(f(X, labels), ref(X, labels), rtol=1e-5)
            for v, r in zip(shared, ref_shared):
                np.testing.assert_allclose(v.get_value(), r.get_value(), rtol=1e-5, atol=1e-6)
            assert not np.array_equal(shared[0].get_value(), before[0])
            continue
        with pytest.raises(IndexError) as info:
            f(X, labels)
        msg = str(info.value)
        for fragment in ("SoftmaxCrossEntropy", built_at,
                         f"class index {wrong[0]} is out of range for 10 classes"):
            assert fragment in msg, (fragment, msg)
        for v, old in zip(shared, before):
            np.testing.assert_array_equal(v.get_value(), old)


def check_negative_indices(cuda_mode, ref_mode):
    """Advanced indices in [-n, n) count from the end as in NumPy (gather and its scatter
    gradient), on the CUDA backend (``cuda_mode()`` makes a fresh mode) as in the reference;
    -n - 1 and n raise the reference's IndexError, in a fresh function and in one that has
    run before (which still agrees afterwards). Class labels have no negative form: -1 is out
    of range for the fused softmax cross-entropy."""
    import re
    import pytest
    import symgraph
    W, idx, y = T.fmatrix("W"), T.lvector("idx"), T.ivector("y")
    rows = W[idx]
    picked = W[T.arange(y.shape[0]), y]
    outs = [rows, picked, T.grad((rows ** 2).sum() + picked.sum(), W)]
    Wv = np.random.RandomState(2).rand(5, 3).astype("float32")
    args = (Wv, np.array([-1, 0, -5, 4, -1]), np.array([-3, 2, -1, 0, 1], dtype="int32"))
    ref = symgraph.function([W, idx, y], outs, mode=ref_mode)
    f = symgraph.function([W, idx, y], outs, mode=cuda_mode())
    expected = ref(*args)
    for _ in range(3):
        for r, g in zip(expected, f(*args)):
            np.testing.assert_allclose(g, r, rtol=1e-6)
    for bad, fragment in [((Wv, np.array([0, -6]), args[2][:2]),
                           "index -6 is out of bounds for axis 0 with size 5"),
                          ((Wv, np.array([0, 5]), args[2][:2]),
                           "index 5 is out of bounds for axis 0 with size 5"),
                          ((Wv, args[1][:2], np.array([-4, 0], "int32")),
                           "index -4 is out of bounds for axis 1 with size 3")]:
        fresh = [symgraph.function([W, idx, y], outs, mode=m) for m in (ref_mode, cuda_mode())]
        for fn in fresh + [ref, f]:
            with pytest.raises(IndexError, match=re.escape(fragment)):
                fn(*bad)
    for r, g in zip(ref(*args), f(*args)):
        np.testing.assert_allclose(g, r, rtol=1e-6)
    z = T.fmatrix("z")
    for mode in (ref_mode, cuda_mode()):
        g = symgraph.function([z, y], softmax_cross_entropy(z, y)[0], mode=mode)
        with pytest.raises(IndexError, match="class index -1 is out of range for 3 classes"):
            g(np.zeros((2, 3), "float32"), np.array([0, -1], "int32"))

"""Bad input never crashes the process: it raises a Python exception that says what went wrong.

A table of bad calls (wrong ndim, dtype or shape for elementwise/dot/reshape/conv/pool,
out-of-range and negative indices for basic and advanced indexing and set/inc_subtensor,
empty reductions, bad class indices) runs under the Python reference and the C backend;
each must raise the same exception class, with a message naming the op or variable, the
expected and actual shape or type, and the line of this file where the expression (or the
input) was built. Other tables check that NaN/Inf propagate, that empty, non-contiguous and
read-only arrays work and are never written to, and that bad givens/updates are refused at
compile time with the variable and both types named.
"""
import inspect

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.compile.mode import Mode
from symgraph.tensor.nnet import conv2d
from symgraph.tensor.signal.pool import pool_2d

LINKERS = ["py", pytest.param("c", marks=pytest.mark.skipif(not c_available(), reason="no working C compiler"))]
needs_c = pytest.mark.skipif(not c_available(), reason="no working C compiler")


def here():
    """The line this is called on (put it on the line that builds the expression)."""
    return inspect.currentframe().f_back.f_lineno


def located(line):
    return f'File "{__file__}", line {line}'


# Each builder returns (inputs, output, line where the failing expression or input was built).

def wrong_ndim():
    x = T.dmatrix("x"); line = here()  # noqa: E702
    return [x], x * 2, line


def wrong_dtype():
    iv = T.lvector("iv"); line = here()  # noqa: E702
    return [iv], iv * 2, line


def elemwise_shapes():
    x, y = T.dmatrices("x", "y")
    return [x, y], x + y, here()


def dot_shapes():
    x, y = T.dmatrices("x", "y")
    return [x, y], T.dot(x, y), here()


def reshape_size():
    x = T.dmatrix("x")
    return [x], x.reshape((5, 7)), here()


def reshape_symbolic():
    x, s = T.dmatrix("x"), T.lvector("s")
    return [x, s], x.reshape(s, ndim=2), here()


def conv_channels():
    img, kern = T.dtensor4("img"), T.dtensor4("kern")
    return [img, kern], conv2d(img, kern), here()


def conv_filter_too_big():
    img, kern = T.dtensor4("img"), T.dtensor4("kern")
    return [img, kern], conv2d(img, kern), here()


def pool_wrong_ndim():
    img = T.dtensor4("img"); line = here()  # noqa: E702
    return [img], pool_2d(img, ws=(2, 2), ignore_border=True), line


def const_index():
    v = T.dvector("v")
    return [v], v[5], here()


def symbolic_index():
    v, i = T.dvector("v"), T.lscalar("i")
    return [v, i], v[i] * 2, here()


def slice_step_zero():
    v, i = T.dvector("v"), T.lscalar("i")
    return [v, i], v[::i], here()


def advanced_index():
    v, iv = T.dvector("v"), T.lvector("iv")
    return [v, iv], v[iv], here()


def advanced_index_int32_matrix():
    x, iv = T.dmatrix("x"), T.ivector("iv")
    return [x, iv], x[:, iv], here()


def advanced_two_indices():
    x, iv, jv = T.dmatrix("x"), T.lvector("iv"), T.lvector("jv")
    return [x, iv, jv], x[iv, jv], here()


def set_basic():
    v, i = T.dvector("v"), T.lscalar("i")
    return [v, i], T.set_subtensor(v[i], 1.0), here()


def set_advanced():
    v, iv = T.dvector("v"), T.lvector("iv")
    return [v, iv], T.set_subtensor(v[iv], 1.0), here()


def inc_advanced():
    v, iv = T.dvector("v"), T.lvector("iv")
    return [v, iv], T.inc_subtensor(v[iv], 1.0), here()


def set_value_shape():
    x, v = T.dmatrix("x"), T.dvector("v")
    return [x, v], T.set_subtensor(x[0], v), here()


def inc_advanced_value_shape():
    x, iv, y = T.dmatrix("x"), T.lvector("iv"), T.dmatrix("y")
    return [x, iv, y], T.inc_subtensor(x[iv], y), here()


def max_empty():
    x = T.dmatrix("x")
    return [x], T.max(x, axis=0), here()


def argmax_empty():
    x = T.dmatrix("x")
    return [x], T.argmax(x, axis=1), here()


def xent_class():
    x, y = T.dmatrix("x"), T.lvector("y")
    return [x, y], T.nnet.categorical_crossentropy(T.nnet.softmax(x), y).sum(), here()


def xent_length():
    x, y = T.dmatrix("x"), T.lvector("y")
    return [x, y], T.nnet.categorical_crossentropy(T.nnet.softmax(x), y).sum(), here()


def alloc_negative():
    n = T.lscalar("n")
    return [n], T.zeros((n, 3)), here()


M23 = np.arange(6.0).reshape(2, 3)
CASES = [
    # id, builder, arguments, exception, fragments of the message (besides the line)
    ("wrong ndim", wrong_ndim, [np.ones(3)], TypeError, ["argument 0", "'x'", "expected 2", "got 1", "(3,)"]),
    ("wrong dtype", wrong_dtype, [np.ones(3)], TypeError, ["'iv'", "float64", "int64"]),
    ("elemwise shapes", elemwise_shapes, [M23, M23.T], ValueError, ["add", "(2, 3)", "(3, 2)"]),
    ("dot shapes", dot_shapes, [M23, M23], ValueError, ["Dot", "(2, 3)", "not aligned"]),
    ("reshape size", reshape_size, [M23], ValueError, ["Reshape", "(2, 3)", "(5, 7)"]),
    ("reshape negative", reshape_symbolic, [M23, np.array([-2, -3])], ValueError, ["Reshape", "(2, 3)", "(-2, -3)"]),
    ("conv channels", conv_channels, [np.ones((1, 2, 5, 5)), np.ones((3, 4, 2, 2))], ValueError,
     ["Conv2d", "2 channels", "(3, 4, 2, 2)"]),
    ("conv filter too big", conv_filter_too_big, [np.ones((1, 2, 3, 3)), np.ones((3, 2, 5, 5))], ValueError,
     ["Conv2d", "(5, 5)", "(3, 3)"]),
    ("pool wrong ndim", pool_wrong_ndim, [np.ones((3, 3))], TypeError, ["'img'", "expected 4", "got 2"]),
    ("constant index", const_index, [np.ones(3)], IndexError, ["Subtensor", "index 5", "size 3"]),
    ("negative index", symbolic_index, [np.ones(3), -4], IndexError, ["Subtensor", "index -4", "size 3"]),
    ("slice step 0", slice_step_zero, [np.ones(3), 0], ValueError, ["Subtensor", "step"]),
    ("advanced index", advanced_index, [np.ones(3), np.array([0, 3])], IndexError,
     ["AdvancedSubtensor", "index 3", "size 3"]),
    ("advanced negative", advanced_index, [np.ones(3), np.array([0, -4])], IndexError,
     ["AdvancedSubtensor", "index -4", "size 3"]),
    ("advanced int32 column", advanced_index_int32_matrix, [M23, np.array([1, -5], "int32")], IndexError,
     ["AdvancedSubtensor", "index -5", "axis 1", "size 3"]),
    ("advanced two indices", advanced_two_indices, [M23, np.array([1]), np.array([3])], IndexError,
     ["AdvancedSubtensor", "index 3", "axis 1"]),
    ("advanced mismatched", advanced_two_indices, [M23, np.array([1, 0]), np.array([0, 1, 2])], IndexError,
     ["AdvancedSubtensor", "shape mismatch", "(2, 3)"]),
    ("set_subtensor index", set_basic, [np.ones(3), 3], IndexError, ["SetSubtensor", "3", "size 3"]),
    ("set_subtensor negative", set_basic, [np.ones(3), -4], IndexError, ["SetSubtensor", "-4", "size 3"]),
    ("set_subtensor advanced", set_advanced, [np.ones(3), np.array([9])], IndexError,
     ["AdvancedSetSubtensor", "index 9", "size 3"]),
    ("inc_subtensor advanced negative", inc_advanced, [np.ones(3), np.array([1, -9])], IndexError,
     ["AdvancedIncSubtensor", "index -9", "size 3"]),
    ("set_subtensor value shape", set_value_shape, [M23, np.ones(4)], ValueError, ["SetSubtensor", "(4,)", "(3,)"]),
    ("inc_subtensor value shape", inc_advanced_value_shape, [M23, np.array([1]), np.ones((2, 3))], ValueError,
     ["AdvancedIncSubtensor", "(2, 3)", "(1, 3)"]),
    ("max of empty", max_empty, [np.ones((0, 3))], ValueError, ["Max", "empty", "(0, 3)"]),
    ("argmax of empty", argmax_empty, [np.ones((3, 0))], ValueError, ["Argmax", "empty", "(3, 0)"]),
    ("class index", xent_class, [M23, np.array([0, 3])], IndexError, ["SoftmaxCrossEntropy", "3", "3 classes"]),
    ("negative class index", xent_class, [M23, np.array([-1, 0])], IndexError, ["SoftmaxCrossEntropy", "-1"]),
    ("class vector length", xent_length, [M23, np.array([0, 1, 2])], ValueError,
     ["SoftmaxCrossEntropy", "2 class indices", "(3,)"]),
    ("negative allocation", alloc_negative, [-2], ValueError, ["Alloc", "negative", "-2"]),
]


@pytest.mark.parametrize("linker", LINKERS)
@pytest.mark.parametrize("builder, args, exc, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_call_raises_a_clear_error(linker, builder, args, exc, fragments):
    inputs, output, line = builder()
    f = symgraph.function(inputs, output, mode=Mode(linker=linker))
    with pytest.raises(exc) as info:
        f(*args)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"
    assert located(line) in message, f"the line {line} that built it is missing from: {message}"


@pytest.mark.parametrize("linker", LINKERS)
def test_process_survives_a_sequence_of_bad_calls(linker):
    """Errors leave the compiled function usable: good calls between bad ones still work."""
    x, iv = T.dmatrix("x"), T.lvector("iv")
    f = symgraph.function([x, iv], T.exp(x)[iv].sum(axis=0), mode=Mode(linker=linker))
    good = (M23, np.array([1, 0]))
    expected = np.exp(M23)[[1, 0]].sum(axis=0)
    for bad in [(M23, np.array([2])), (np.ones(3), np.array([0])), (M23, np.array([-3])), ([[1.0]], [7]),
                (M23, np.array([0.5]))]:
        with pytest.raises((IndexError, TypeError)):
            f(*bad)
        np.testing.assert_allclose(f(*good), expected)


@needs_c
def test_c_checks_inputs_even_with_trust_input():
    """``trust_input`` skips the Python filter; the C loader still checks ndim and dtype."""
    x, iv = T.dmatrix("x"), T.lvector("iv")
    f = symgraph.function([x, iv], T.exp(x)[iv].sum(axis=0), mode=Mode(linker="c"))
    f.trust_input = True
    for args, fragments in [((np.ones(3), np.array([0])), ["input 0 (x)", "TensorMatrix(float64)", "1 dimensions"]),
                            ((M23.astype("float32"), np.array([0])), ["input 0 (x)", "float32"]),
                            ((M23, np.array([0.5])), ["input 1 (iv)", "TensorVector(int64)", "float64"]),
                            ((M23, None), ["input 1 (iv)", "NoneType"])]:
        with pytest.raises(TypeError) as info:
            f(*args)
        for fragment in fragments:
            assert fragment in str(info.value)
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        f(M23, np.array([5]))
    np.testing.assert_allclose(f(M23, np.array([1])), np.exp(M23[1]))


@needs_c
def test_c_reshape_rejects_a_shape_whose_size_overflows():
    """10 * 7378697629483820647 wraps to 6 in int64: without an overflow check, a (10, huge)
    view of 6 elements was accepted and indexing it read far outside the array."""
    x, s = T.dmatrix("x"), T.lvector("s")
    huge = (3 * pow(5, -1, 2**63)) % 2**63
    assert (10 * huge) % 2**64 == 6
    f = symgraph.function([x, s], x.reshape(s, ndim=2)[1, 0], mode=Mode(linker="c"))
    with pytest.raises(ValueError, match="cannot reshape"):
        f(M23, np.array([10, huge]))
    g = symgraph.function([x, s], x.reshape(s, ndim=3), mode=Mode(linker="c"))
    with pytest.raises(ValueError, match="Reshape"):
        g(np.ones((0, 3)), np.array([2**40, 2**40, 0]))


@needs_c
def test_c_advanced_index_checked_even_when_the_result_is_empty():
    x, iv = T.dmatrix("x"), T.lvector("iv")
    f = symgraph.function([x, iv], x[iv], mode=Mode(linker="c"))
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        f(np.ones((2, 0)), np.array([5]))


@needs_c
def test_c_slice_with_extreme_step():
    v, i = T.dvector("v"), T.lscalar("i")
    f = symgraph.function([v, i], v[::i], mode=Mode(linker="c"))
    a = np.arange(3.0)
    for step in (2**63 - 1, -2**63 + 1, -2**63):
        np.testing.assert_array_equal(f(a, step), a[::step])


@needs_c
def test_c_integer_power_with_negative_exponent():
    a, b = T.lvector("a"), T.lvector("b")
    f = symgraph.function([a, b], a ** b, mode=Mode(linker="c"))
    with pytest.raises(ValueError, match="negative integer powers"):
        f(np.array([3]), np.array([-1]))


# ---------------------------------------------------------------- errors at graph-building time

@pytest.mark.parametrize("build, exc, fragments", [
    (lambda: pool_2d(T.dvector("v"), ws=(2, 2), ignore_border=True), TypeError, ["Pool", "TensorVector(float64)"]),
    (lambda: conv2d(T.dmatrix("m"), T.dtensor4("k")), TypeError, ["Conv2d", "4-d", "TensorMatrix(float64)"]),
    (lambda: conv2d(T.dtensor4("i"), T.dtensor4("k"), input_shape=(1, 2, 5, 5), filter_shape=(3, 4, 2, 2)),
     ValueError, ["conv2d", "2 channels", "expects 4"]),
    (lambda: pool_2d(T.dtensor4("i"), ws=(2, 2), pad=(2, 2), ignore_border=True), ValueError, ["padding", "(2, 2)"]),
    (lambda: T.dvector("v")[T.dscalar("s")], TypeError, ["integer", "TensorScalar(float64)"]),
    (lambda: T.dmatrix("m")[0, 0, 0], IndexError, ["too many indices", "TensorMatrix(float64)"]),
    (lambda: T.set_subtensor(T.dvector("v"), 1.0), TypeError, ["set_subtensor", "indexed"]),
], ids=["pool of a vector", "conv of a matrix", "conv declared shapes", "pool padding", "float index",
        "too many indices", "set_subtensor without index"])
def test_bad_graph_raises_when_built(build, exc, fragments):
    with pytest.raises(exc) as info:
        build()
    for fragment in fragments:
        assert fragment in str(info.value)
    # raised synchronously: the traceback holds the line that built it
    assert any(str(entry.path) == __file__ for entry in info.traceback)


# ---------------------------------------------------------------- givens and updates

@pytest.mark.parametrize("linker", LINKERS)
def test_mismatched_givens_and_updates_are_refused_at_compile_time(linker):
    mode = Mode(linker=linker)
    w = symgraph.shared(np.ones(3), name="w")
    n = symgraph.shared(np.int64(0), name="n")
    x, iv = T.dmatrix("x"), T.lvector("iv"); line = here()  # noqa: E702
    cases = [
        (dict(givens=[(w, x)]), ["givens", "w", "TensorVector(float64)", "TensorMatrix(float64)"]),
        (dict(givens=[(w, iv)]), ["givens", "w", "TensorVector(float64)", "TensorVector(int64)"]),
        (dict(givens={"w": x}), ["givens", "'w'"]),
        (dict(updates=[(w, x)]), ["updates", "w", "TensorVector(float64)", "TensorMatrix(float64)"]),
        (dict(updates=[(n, n + 1.5)]), ["updates", "n", "int64", "float64"]),
        (dict(updates=[(w, "abc")]), ["updates", "w", "TensorVector(float64)", "'abc'"]),
        (dict(updates=[(x, x * 2)]), ["updates", "x", "shared variable"]),
        (dict(updates=[w]), ["updates", "pairs"]),
        (dict(updates=[(w, w * 2), (w, w * 3)]), ["updates", "w", "more than once"]),
    ]
    for kwargs, fragments in cases:
        with pytest.raises((TypeError, ValueError)) as info:
            symgraph.function([x, iv], w.sum(), mode=mode, on_unused_input="ignore", **kwargs)
        for fragment in fragments:
            assert fragment in str(info.value), f"{fragment!r} missing from {info.value}"
    with pytest.raises(TypeError) as info:
        symgraph.function([x, iv], w.sum(), givens=[(w, x)], mode=mode, on_unused_input="ignore")
    assert located(line) in str(info.value)          # where the offending expression was built


@pytest.mark.parametrize("linker", LINKERS)
def test_bad_set_value_and_wrong_calls(linker):
    w = symgraph.shared(np.ones(3), name="w")
    with pytest.raises(TypeError, match="'w'.*expected 1"):
        w.set_value(np.ones((2, 2)))
    with pytest.raises(TypeError, match="'w'.*int64"):
        symgraph.shared(np.ones(3), name="w", strict=True).set_value(np.arange(3))
    x = T.dvector("x")
    f = symgraph.function([x], x * w, mode=Mode(linker=linker))
    with pytest.raises(TypeError, match="takes 1 argument"):
        f(np.ones(3), np.ones(3))
    with pytest.raises(TypeError, match="missing required input x"):
        f()
    with pytest.raises(TypeError, match="unexpected keyword argument 'y'"):
        f(y=np.ones(3))
    np.testing.assert_array_equal(f(np.ones(3)), np.ones(3))


# ---------------------------------------------------------------- NaN/Inf are values, not errors

@pytest.mark.parametrize("linker", LINKERS)
def test_nan_and_inf_propagate_like_numpy(linker):
    x = T.dvector("x")
    m = T.dmatrix("m")
    outs = [T.log(x), 1 / x, T.exp(x), T.max(x), T.min(x), T.sum(x), T.argmax(x), T.maximum(x, 0.0),
            T.nnet.softmax(m), T.dot(m, m.T), T.nnet.sigmoid(x), T.sqrt(x)]
    f = symgraph.function([x, m], outs, mode=Mode(linker=linker))
    with np.errstate(all="ignore"):
        for xv in (np.array([1.0, -1.0, 0.0, np.inf, -np.inf, np.nan]), np.array([np.inf, 2.0, -np.inf]),
                   np.array([-1.0, np.nan, 3.0])):
            mv = np.stack([xv, xv[::-1]])
            e = np.exp(mv - mv.max(axis=1, keepdims=True))
            expected = [np.log(xv), 1 / xv, np.exp(xv), np.max(xv), np.min(xv), np.sum(xv), np.argmax(xv),
                        np.maximum(xv, 0.0), e / e.sum(axis=1, keepdims=True),
                        (mv[:, None, :] * mv[None, :, :]).sum(axis=2), 1 / (1 + np.exp(-xv)), np.sqrt(xv)]
            for k, (got, want) in enumerate(zip(f(xv, mv), expected)):
                np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True, err_msg=f"output {k} for {xv}")


# ---------------------------------------------------------------- empty, non-contiguous, read-only

@pytest.mark.parametrize("linker", LINKERS)
def test_empty_arrays(linker):
    x, y = T.dmatrices("x", "y")
    iv = T.lvector("iv")
    img, kern = T.dtensor4("img"), T.dtensor4("kern")
    outs = [x.sum(axis=0), x.sum(axis=1), T.dot(x, y), x.T * 2, x.reshape((-1,)), x[iv], x[1:1],
            T.set_subtensor(x[iv], 1.0), T.inc_subtensor(x[:, 1:], 2.0), x.mean(axis=1), T.prod(x, axis=0)]
    f = symgraph.function([x, y, iv], outs, mode=Mode(linker=linker))
    with np.errstate(all="ignore"):
        for xv, yv, ivv in [(np.ones((0, 3)), np.ones((3, 2)), np.zeros(0, "int64")),
                            (np.ones((2, 0)), np.ones((0, 4)), np.array([1, 0])),
                            (np.ones((0, 0)), np.ones((0, 0)), np.zeros(0, "int64"))]:
            set_ = xv.copy()
            set_[ivv] = 1.0
            inc = xv.copy()
            inc[:, 1:] += 2.0
            expected = [xv.sum(axis=0), xv.sum(axis=1), xv @ yv, xv.T * 2, xv.reshape(-1), xv[ivv], xv[1:1], set_,
                        inc, xv.mean(axis=1), xv.prod(axis=0)]
            for k, (got, want) in enumerate(zip(f(xv, yv, ivv), expected)):
                assert got.shape == want.shape, f"output {k}"
                np.testing.assert_array_equal(got, want, err_msg=f"output {k}")
    g = symgraph.function([img, kern], pool_2d(conv2d(img, kern), ws=(2, 2), ignore_border=True),
                          mode=Mode(linker=linker))
    assert g(np.ones((0, 2, 5, 5)), np.ones((3, 2, 2, 2))).shape == (0, 3, 2, 2)
    x3 = T.dtensor3("x3")          # flatten of an empty batch (it used reshape(..., -1), which NumPy refuses)
    h = symgraph.function([x3], [T.flatten(x3, 2), x3.flatten()], mode=Mode(linker=linker))
    for shape in [(0, 2, 3), (2, 0, 3), (2, 3, 0)]:
        assert [r.shape for r in h(np.ones(shape))] == [(shape[0], shape[1] * shape[2]), (0,)]


def _layouts(value):
    """The same values as a read-only array in several memory layouts."""
    base = [value.copy(), np.asfortranarray(value), value[::-1].copy()[::-1]]
    big = np.zeros((value.shape[0] * 2, value.shape[1] * 3))
    big[::2, ::3] = value
    base.append(big[::2, ::3])
    for a in base:
        a.setflags(write=False)
    return base + [np.broadcast_to(value[:1], value.shape)]     # zero strides, read-only


@pytest.mark.parametrize("linker", LINKERS)
def test_read_only_and_non_contiguous_inputs_are_never_written(linker):
    x = T.dmatrix("x")
    iv = T.lvector("iv")
    outs = [x, x.T, x[::2], x.reshape((-1,)), T.flatten(x), x.dimshuffle(1, "x", 0), (x * 2 + 1) * 3,
            T.set_subtensor(x[0], 5.0), T.inc_subtensor(x[:, ::2], 1.0), T.inc_subtensor(x[iv], 1.0),
            T.set_subtensor(x[iv, iv], -1.0), T.exp(x).sum(axis=0), T.dot(x, x.T)]
    f = symgraph.function([x, iv], outs, mode=Mode(linker=linker))
    rows = np.array([0, 0, 2])

    def expected(v):
        s0, inc1, inc2, s3 = v.copy(), v.copy(), v.copy(), v.copy()
        s0[0] = 5.0
        inc1[:, ::2] += 1.0
        np.add.at(inc2, rows, 1.0)
        s3[rows, rows] = -1.0
        return [v, v.T, v[::2], v.reshape(-1), v.reshape(-1), v.T[:, None, :], (v * 2 + 1) * 3, s0, inc1, inc2, s3,
                np.exp(v).sum(axis=0), v @ v.T]

    value = np.arange(12.0).reshape(3, 4)
    for arg in _layouts(value) + _layouts(np.tile(value[:1], (3, 1)))[-1:]:
        before = np.array(arg, copy=True)
        got = f(arg, rows)
        np.testing.assert_array_equal(arg, before, err_msg="an input was written to")
        for k, (g, want) in enumerate(zip(got, expected(np.array(arg)))):
            np.testing.assert_allclose(g, want, rtol=1e-12, err_msg=f"output {k}")
            assert g.flags.writeable and not np.shares_memory(g, arg), f"output {k} aliases the input"


@pytest.mark.parametrize("linker", LINKERS)
def test_read_only_constant_is_not_written(linker):
    c = np.arange(4.0)
    c.setflags(write=False)
    x = T.dvector("x")
    k = T.constant(c)
    f = symgraph.function([x], T.inc_subtensor(k[1:], x), mode=Mode(linker=linker))
    g = symgraph.function([x], (k * 2 + x) * 3, mode=Mode(linker=linker))
    np.testing.assert_array_equal(f(np.ones(3)), [0.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(g(np.ones(4)), [3.0, 9.0, 15.0, 21.0])
    assert c.tolist() == [0.0, 1.0, 2.0, 3.0]

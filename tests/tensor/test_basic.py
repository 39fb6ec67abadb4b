"""Tests for symgraph/tensor/basic.py and var.py: the Theano-style user API."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import function
from symgraph.tensor.type import TensorType
from symgraph.tensor.var import TensorConstant, TensorVariable

# ---------------------------------------------------------------- constructors

PREFIXES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
            "d": "float64", "c": "complex64", "z": "complex128"}
KINDS = {"scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
         "matrix": (False, False), "tensor3": (False,) * 3, "tensor4": (False,) * 4,
         "tensor5": (False,) * 5}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("prefix", sorted(PREFIXES))
def test_prefixed_constructors(prefix, kind):
    v = getattr(T, prefix + kind)("v")
    assert isinstance(v, TensorVariable)
    assert v.name == "v"
    assert v.type == TensorType(PREFIXES[prefix], KINDS[kind])
    plural = "matrices" if kind == "matrix" else kind + "s"
    a, b = getattr(T, prefix + plural)("a", "b")
    assert (a.name, b.name) == ("a", "b") and a.type == b.type == v.type and a is not b


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unprefixed_constructors_use_floatX(kind, floatX32):
    v = getattr(T, kind)()
    assert v.type == TensorType("float32", KINDS[kind])
    assert getattr(T, kind)(dtype="int16").dtype == "int16"


def test_unprefixed_constructors_default_float64():
    assert T.matrix("m").dtype == "float64"
    assert T.scalar(dtype="int32").type == TensorType("int32", ())
    assert T.vector("v", dtype="uint8").type == TensorType("uint8", (False,))


def test_plural_constructors():
    x, y = T.dscalars("x", "y")
    assert x.name == "x" and y.name == "y" and x.dtype == "float64" and x.ndim == 0
    a, b, c = T.dmatrices("a", "b", "c")
    assert c.name == "c" and c.ndim == 2
    anon = T.fvectors(3)
    assert len(anon) == 3 and all(v.name is None and v.dtype == "float32" for v in anon)
    ints = T.scalars("i", "j", dtype="int64")
    assert [v.dtype for v in ints] == ["int64", "int64"]


def test_tensor_constructor():
    t = T.tensor("float32", (False, True), name="t")
    assert t.type == TensorType("float32", (False, True)) and t.name == "t"
    assert T.tensor(dtype="int8", broadcastable=()).type == TensorType("int8", ())
    assert T.tensor("float64", shape=(None, 1)).broadcastable == (False, True)
    assert T.TensorType("float64", (False,))("v").type.ndim == 1


# ---------------------------------------------------------------- constants and weak typing

def test_constant():
    c = T.constant(np.array([[1.0], [2.0]]), name="c")
    assert isinstance(c, TensorConstant) and c.name == "c"
    assert c.type == TensorType("float64", (False, True))
    assert T.constant(3).dtype == "int64"
    assert T.constant(True).dtype == "bool"
    assert T.constant(2.0).dtype == "float64"
    assert T.constant(2.0, dtype="float32").dtype == "float32"
    assert T.constant(np.float32(1)).dtype == "float32"
    assert T.constant(5, ndim=2).type == TensorType("int64", (True, True))
    with pytest.raises(TypeError, match="symbolic"):
        T.constant(T.dscalar())
    with pytest.raises(TypeError):
        T.constant(object())


def test_as_tensor_variable():
    x = T.dvector("x")
    assert T.as_tensor_variable(x) is x
    assert isinstance(T.as_tensor_variable(3.0), TensorConstant)
    with pytest.raises(TypeError, match="2-d"):
        T.as_tensor_variable(x, ndim=2)
    s = T.dscalar("s")
    v = T.as_tensor_variable([s, 2.0])           # a list holding variables is stacked
    assert v.ndim == 1
    assert function([s], v)(3.0).tolist() == [3.0, 2.0]
    assert T.as_tensor is T.as_tensor_variable


@pytest.mark.parametrize("make, expected", [
    (lambda: T.fmatrix() * 2.0, "float32"),
    (lambda: T.fmatrix() * 2, "float32"),
    (lambda: 2.0 * T.fmatrix(), "float32"),
    (lambda: T.fmatrix() / 2, "float32"),
    (lambda: T.fmatrix() ** 2, "float32"),
    (lambda: T.fmatrix() - 1e10, "float32"),
    (lambda: T.iscalar() / 2, "float64"),
    (lambda: T.lscalar() / 2, "float64"),
    (lambda: T.iscalar() * 2, "int32"),
    (lambda: T.bscalar() + 1, "int8"),
    (lambda: T.bscalar() + 1000, "int64"),       # out of int8 range: the constant is int64
    (lambda: T.iscalar() * 2.5, "float64"),
    (lambda: T.fmatrix() + T.dmatrix(), "float64"),
    (lambda: T.fmatrix() + T.ivector(), "float64"),
    (lambda: T.fmatrix() + T.bvector(), "float32"),
    (lambda: T.fmatrix() + np.float64(1), "float64"),   # numpy scalars are not weak
    (lambda: T.fvector() < 1.0, "bool"),
    (lambda: T.exp(T.ivector()), "float64"),
    (lambda: T.exp(T.fvector()), "float32"),
    (lambda: T.sqrt(T.wvector()), "float64"),
    (lambda: T.maximum(T.fvector(), 0), "float32"),
    (lambda: T.switch(T.fvector() > 0, T.fvector(), 0), "float32"),
    (lambda: T.clip(T.fvector(), 0, 1), "float32"),
    (lambda: T.fvector() // 2, "float32"),
    (lambda: T.ivector() // 2, "int32"),
    (lambda: T.ivector() % 3, "int32"),
    (lambda: -T.fvector(), "float32"),
    (lambda: abs(T.fvector()), "float32"),
])
def test_result_dtypes(make, expected):
    assert make().dtype == expected


def test_float32_stays_float32_everywhere():
    x = T.fmatrix("x")
    v = T.fvector("v")
    exprs = [T.tanh(x) * 2.0 + 1, T.sum(x), T.sum(x, axis=0), T.mean(x), T.mean(x, axis=1), T.var(x), T.std(x),
             T.prod(x), T.max(x), T.dot(x, v), T.dot(v, x), T.dot(x, x), x.T, x.reshape((-1,)),
             x.flatten(), T.concatenate([x, x]), T.stack([v, v]), x[0], x[1:, ::2],
             T.set_subtensor(x[0], 0.5), T.inc_subtensor(x[:, 0], v), T.alloc(np.float32(0), 2, 3),
             T.zeros_like(x), T.ones_like(x), T.clip(x, 0.0, 1.0), T.switch(x > 0, x, 0.0),
             T.maximum(x, 0.0), T.log(x + 1e-6), x ** 0.5, T.sqr(x), x / 3]
    for e in exprs:
        assert e.dtype == "float32", e
    g = symgraph.grad(T.sum(T.tanh(T.dot(x, v)) ** 2) / 3.0, [x, v])
    assert [gi.dtype for gi in g] == ["float32", "float32"]
    f = function([x, v], [T.mean(T.tanh(x) * 2.0), g[0]])
    out = f(np.ones((2, 3), dtype="float32"), np.ones(3, dtype="float32"))
    assert [o.dtype for o in out] == [np.float32, np.float32]


def test_python_float_constant_follows_floatX(floatX32):
    assert (T.constant(1.0) + T.constant(1.0)).dtype == "float32"
    assert (T.ivector() + 1.5).dtype == "float64"
    assert T.exp(T.bvector()).dtype == "float32"


# ---------------------------------------------------------------- python operators

def test_arithmetic_operators_match_numpy(rng):
    x, y = T.dmatrices("x", "y")
    a, b = rng.rand(2, 3) + 0.5, rng.rand(2, 3) + 0.5
    cases = [(x + y, a + b), (x - y, a - b), (x * y, a * b), (x / y, a / b), (x // y, a // b),
             (x % y, a % b), (x ** y, a ** b), (-x, -a), (+x, a), (abs(x - 1), abs(a - 1)),
             (2 + x, 2 + a), (2 - x, 2 - a), (2 * x, 2 * a), (2 / x, 2 / a), (2 ** x, 2 ** a),
             (x @ y.T, a @ b.T), (a @ y.T, a @ b.T), (7 // x, 7 // a), (7 % x, 7 % a)]
    f = function([x, y], [c[0] for c in cases])
    for out, (_, ref) in zip(f(a, b), cases):
        np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_numpy_array_on_the_left_defers_to_symgraph():
    x = T.dvector("x")
    y = np.array([1.0, 2.0]) + x
    assert isinstance(y, TensorVariable)
    np.testing.assert_array_equal(function([x], y)(np.array([1.0, 1.0])), [2.0, 3.0])


def test_comparison_and_bitwise_operators():
    x, y = T.ivectors("x", "y")
    a, b = np.array([1, 2, 3], dtype="int32"), np.array([3, 2, 1], dtype="int32")
    cases = [(x < y, a < b), (x <= y, a <= b), (x > y, a > b), (x >= y, a >= b),
             (T.eq(x, y), a == b), (T.neq(x, y), a != b), (x & y, a & b), (x | y, a | b),
             (x ^ y, a ^ b), (~x, ~a), (3 & x, 3 & a), (3 | x, 3 | a), (3 ^ x, 3 ^ a)]
    f = function([x, y], [c[0] for c in cases])
    for out, (_, ref) in zip(f(a, b), cases):
        np.testing.assert_array_equal(out, ref)
        assert out.dtype == ref.dtype


def test_equality_is_identity_and_hashable():
    x = T.dscalar()
    y = T.dscalar()
    assert x == x and x != y
    assert len({x, y, x}) == 2


def test_symbolic_truth_len_iter_raise():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="T.switch"):
        bool(x > 0)
    with pytest.raises(TypeError, match="shape"):
        len(x)
    with pytest.raises(TypeError, match="iterate"):
        list(x)


def test_variable_properties_and_methods(rng):
    x = T.dmatrix("x")
    a = rng.rand(3, 4)
    assert x.ndim == 2 and x.dtype == "float64" and x.broadcastable == (False, False)
    cases = [
        (x.shape, np.array(a.shape)), (x.size, a.size), (x.T, a.T), (x.transpose(1, 0), a.T),
        (x.transpose((1, 0)), a.T), (x.dimshuffle(1, "x", 0), a.T[:, None, :]),
        (x.dimshuffle((1, 0)), a.T), (x.reshape((2, 6)), a.reshape(2, 6)),
        (x.flatten(), a.ravel()), (x.flatten(2), a), (x.astype("int32"), a.astype("int32")),
        (x.copy(), a), (x.dot(x.T), a @ a.T), (x.sum(), a.sum()), (x.sum(axis=0), a.sum(0)),
        (x.prod(axis=1), a.prod(1)), (x.mean(), a.mean()), (x.max(axis=1), a.max(1)),
        (x.min(), a.min()), (x.argmax(axis=1), a.argmax(1)), (x.argmin(), a.argmin()),
        (x.var(axis=0), a.var(0)), (x.std(), a.std()), (x.norm(1), np.abs(a).sum()),
        (x.norm(2, axis=1), np.sqrt((a ** 2).sum(1))), (x.norm(3), (np.abs(a) ** 3).sum() ** (1 / 3)),
        (x.exp(), np.exp(a)), (x.log(), np.log(a)), (x.sqrt(), np.sqrt(a)), (x.tanh(), np.tanh(a)),
        (x.clip(0.2, 0.8), np.clip(a, 0.2, 0.8)), (x[1], a[1]), (x[-1, 1:3], a[-1, 1:3]),
        (x[..., 0], a[..., 0]),
    ]
    f = function([x], [c[0] for c in cases])
    for out, (expr, ref) in zip(f(a), cases):
        np.testing.assert_allclose(out, ref, rtol=1e-12, err_msg=str(expr))
    assert x.copy(name="cp").name == "cp"


# ---------------------------------------------------------------- elementwise functions

UNARY = [
    ("neg", np.negative, (-2, 2)), ("abs_", np.abs, (-2, 2)), ("exp", np.exp, (-2, 2)),
    ("log", np.log, (0.1, 3)), ("log1p", np.log1p, (0, 3)), ("log2", np.log2, (0.1, 3)),
    ("log10", np.log10, (0.1, 3)), ("expm1", np.expm1, (-1, 1)), ("sqrt", np.sqrt, (0, 3)),
    ("sqr", np.square, (-2, 2)), ("tanh", np.tanh, (-2, 2)), ("sinh", np.sinh, (-2, 2)),
    ("cosh", np.cosh, (-2, 2)), ("sin", np.sin, (-3, 3)), ("cos", np.cos, (-3, 3)),
    ("tan", np.tan, (-1, 1)), ("arctan", np.arctan, (-3, 3)), ("inv", np.reciprocal, (0.5, 2)),
    ("sgn", np.sign, (-2, 2)), ("floor", np.floor, (-3, 3)), ("ceil", np.ceil, (-3, 3)),
    ("trunc", np.trunc, (-3, 3)), ("round", np.round, (-3, 3)),
    ("round_half_to_even", np.round, (-3, 3)), ("tensor_copy", np.copy, (-1, 1)),
]


@pytest.mark.parametrize("name, ref, bounds", UNARY, ids=[u[0] for u in UNARY])
def test_unary_functions(name, ref, bounds, rng):
    x = T.dmatrix("x")
    a = rng.uniform(*bounds, size=(3, 4))
    a[0, 0] = 1.5                         # a tie for the rounding functions
    np.testing.assert_allclose(function([x], getattr(T, name)(x))(a), ref(a), rtol=1e-12)


def test_erf_isnan_isinf():
    import math
    x = T.dvector("x")
    a = np.array([-1.0, 0.0, 0.5, np.nan, np.inf])
    f = function([x], [T.erf(x), T.isnan(x), T.isinf(x)])
    e, n, i = f(a)
    np.testing.assert_allclose(e[:3], [math.erf(v) for v in a[:3]])
    np.testing.assert_array_equal(n, [False, False, False, True, False])
    np.testing.assert_array_equal(i, [False, False, False, False, True])


def test_binary_functions(rng):
    x, y = T.dvectors("x", "y")
    a, b = rng.uniform(-2, 2, 5), rng.uniform(-2, 2, 5)
    cases = [(T.maximum, np.maximum), (T.minimum, np.minimum), (T.arctan2, np.arctan2),
             (T.add, np.add), (T.sub, np.subtract), (T.mul, np.multiply),
             (T.true_div, np.true_divide), (T.int_div, np.floor_divide), (T.mod, np.mod),
             (T.second, lambda p, q: q + 0 * p), (T.fill, lambda p, q: q + 0 * p)]
    f = function([x, y], [c[0](x, y) for c in cases])
    for out, (fn, ref) in zip(f(a, b), cases):
        np.testing.assert_allclose(out, ref(a, b), rtol=1e-12, err_msg=fn.__name__)
    np.testing.assert_allclose(function([x, y], T.pow(T.abs_(x), y))(a, b), np.abs(a) ** b)


def test_switch_clip_cast():
    x = T.dvector("x")
    a = np.array([-1.5, 0.2, 0.7, 3.0])
    f = function([x], [T.switch(x > 0.5, x, -x), T.where(x > 0, 1.0, 0.0), T.clip(x, 0, 1),
                       T.cast(x, "int32"), T.cast(x, "float32")])
    sw, wh, cl, ci, cf = f(a)
    np.testing.assert_array_equal(sw, np.where(a > 0.5, a, -a))
    np.testing.assert_array_equal(wh, [0, 1, 1, 1])
    np.testing.assert_array_equal(cl, np.clip(a, 0, 1))
    np.testing.assert_array_equal(ci, [-1, 0, 0, 3])
    assert ci.dtype == np.int32 and cf.dtype == np.float32
    assert T.cast(x, "float64") is x


def test_clip_with_symbolic_bounds():
    x, lo, hi = T.dvector("x"), T.dscalar("lo"), T.dscalar("hi")
    out = function([x, lo, hi], T.clip(x, lo, hi))(np.array([-1.0, 0.5, 2.0]), 0.0, 1.0)
    np.testing.assert_array_equal(out, [0.0, 0.5, 1.0])


# ---------------------------------------------------------------- broadcasting errors

def test_broadcast_mismatch_names_op_shapes_and_user_line(lineno):
    x = T.dvector("x")
    y = T.dvector("y")
    z = x + y; line = lineno()  # noqa: E702
    f = function([x, y], z)
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones(4))
    msg = str(info.value)
    assert "Elemwise{add}" in msg
    assert "(3,)" in msg and "(4,)" in msg
    assert f'File "{__file__}", line {line}' in msg


def test_theano_broadcasting_needs_broadcastable_type():
    m = T.dmatrix("m")
    r = T.drow("r")
    c = T.dcol("c")
    a = np.arange(6.0).reshape(2, 3)
    f = function([m, r, c], [m + r, m * c])
    s, p = f(a, np.ones((1, 3)), np.full((2, 1), 2.0))
    np.testing.assert_array_equal(s, a + 1)
    np.testing.assert_array_equal(p, a * 2)
    # a (1, 3) value for a plain matrix does not broadcast, as in Theano
    n = T.dmatrix("n")
    g = function([m, n], m + n)
    with pytest.raises(ValueError, match=r"\(1, 3\)"):
        g(a, np.ones((1, 3)))
    # lower-rank inputs are padded on the left with broadcastable dims
    v = T.dvector("v")
    np.testing.assert_array_equal(function([m, v], m - v)(a, np.arange(3.0)), a - np.arange(3.0))
    assert (m + v).broadcastable == (False, False)
    assert (r + c).broadcastable == (False, False)
    assert (r + T.drow()).broadcastable == (True, False)


# ---------------------------------------------------------------- creation

def test_creation_functions():
    n = T.lscalar("n")
    x = T.dmatrix("x")
    a = np.arange(6.0).reshape(2, 3)
    cases = [(T.zeros_like(x), np.zeros_like(a)), (T.ones_like(x), np.ones_like(a)),
             (T.zeros_like(x, dtype="int8"), np.zeros((2, 3), "int8")),
             (T.alloc(1.5, n, 3), np.full((4, 3), 1.5)), (T.alloc(T.arange(3), 2, 3),
                                                         np.tile(np.arange(3), (2, 1))),
             (T.zeros((n, 2)), np.zeros((4, 2))), (T.ones(n, dtype="int32"), np.ones(4, "int32")),
             (T.arange(n), np.arange(4)), (T.arange(1, n, 2), np.arange(1, 4, 2)),
             (T.arange(0.5, n), np.arange(0.5, 4)), (T.eye(n), np.eye(4)),
             (T.eye(3, 4, k=1, dtype="int32"), np.eye(3, 4, k=1, dtype="int32"))]
    f = function([n, x], [c[0] for c in cases], on_unused_input="ignore")
    for out, (expr, ref) in zip(f(4, a), cases):
        np.testing.assert_array_equal(out, ref)
        assert out.dtype == ref.dtype, expr
    assert T.arange(n).dtype == "int64"
    assert T.arange(T.iscalar()).dtype == "int64"
    assert T.arange(2.5).dtype == "float64"


def test_alloc_broadcastable_from_constant_ones():
    n = T.lscalar("n")
    assert T.alloc(0.0, n, 1).broadcastable == (False, True)
    assert T.alloc(0.0, 1, 5).broadcastable == (True, False)


# ---------------------------------------------------------------- reductions

def test_reductions_api(rng):
    x = T.dtensor3("x")
    a = rng.rand(2, 3, 4)
    cases = []
    for axis in [None, 0, 1, -1, (0, 2), [1, 2]]:
        np_axis = tuple(axis) if isinstance(axis, list) else axis
        for kd in (False, True):
            cases += [(T.sum(x, axis=axis, keepdims=kd), a.sum(np_axis, keepdims=kd)),
                      (T.prod(x, axis=axis, keepdims=kd), a.prod(np_axis, keepdims=kd)),
                      (T.max(x, axis=axis, keepdims=kd), a.max(np_axis, keepdims=kd)),
                      (T.min(x, axis=axis, keepdims=kd), a.min(np_axis, keepdims=kd)),
                      (T.mean(x, axis=axis, keepdims=kd), a.mean(np_axis, keepdims=kd)),
                      (T.var(x, axis=axis, keepdims=kd), a.var(np_axis, keepdims=kd)),
                      (T.std(x, axis=axis, keepdims=kd), a.std(np_axis, keepdims=kd))]
    cases += [(T.var(x, axis=1, ddof=1), a.var(1, ddof=1)),
              (T.var(x, corrected=True), a.var(ddof=1)),
              (T.std(x, axis=0, ddof=1), a.std(0, ddof=1))]
    f = function([x], [c[0] for c in cases])
    for k, (out, (expr, ref)) in enumerate(zip(f(a), cases)):
        assert out.shape == ref.shape, k
        np.testing.assert_allclose(out, ref, rtol=1e-10, err_msg=f"case {k}")


def test_reduction_dtypes():
    assert T.sum(T.ivector()).dtype == "int64"
    assert T.sum(T.bvector()).dtype == "int64"
    assert T.sum(T.fvector()).dtype == "float32"
    assert T.sum(T.ivector(), dtype="float32").dtype == "float32"
    assert T.prod(T.wvector()).dtype == "int64"
    assert T.max(T.bvector()).dtype == "int8"
    assert T.mean(T.ivector()).dtype == "float64"
    assert T.mean(T.fvector()).dtype == "float32"
    assert T.mean(T.dvector(), dtype="float32").dtype == "float32"
    assert T.argmax(T.fmatrix(), axis=0).dtype == "int64"
    x = T.ivector("x")
    assert function([x], T.mean(x))(np.array([1, 2], dtype="int32")) == 1.5


def test_reduction_axis_errors():
    x = T.dmatrix("x")
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        T.sum(x, axis=2)
    with pytest.raises(ValueError, match="repeated axis"):
        T.sum(x, axis=(0, -2))
    with pytest.raises(NotImplementedError):
        T.argmax(T.dtensor3(), axis=(0, 1))


def test_argmax_argmin_api():
    x = T.dmatrix("x")
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    cases = [(T.argmax(x), a.argmax()), (T.argmin(x, axis=0), a.argmin(0)),
             (T.argmax(x, axis=-1, keepdims=True), a.argmax(-1)[:, None]),
             (T.argmax(x, axis=(0, 1)), a.argmax()),
             (T.argmax(x, keepdims=True), np.array([[a.argmax()]]))]
    mx, am = T.max_and_argmax(x, axis=1)
    f = function([x], [c[0] for c in cases] + [mx, am])
    outs = f(a)
    for out, (_, ref) in zip(outs, cases):
        np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(outs[-2], [5.0, 7.0])
    np.testing.assert_array_equal(outs[-1], [1, 0])


# ---------------------------------------------------------------- linear algebra

def test_dot_outer_tensordot(rng):
    v, w = T.dvectors("v", "w")
    m = T.dmatrix("m")
    t3 = T.dtensor3("t3")
    s = T.dscalar("s")
    av, aw, am, at = rng.rand(3), rng.rand(3), rng.rand(3, 3), rng.rand(2, 3, 4)
    cases = [(T.dot(v, w), av @ aw), (T.dot(m, v), am @ av), (T.dot(v, m), av @ am),
             (T.dot(m, m), am @ am), (T.dot(s, m), 2.0 * am), (T.dot(m, s), 2.0 * am),
             (T.outer(v, w), np.outer(av, aw)), (T.dot(t3.dimshuffle(2, 0, 1), v),
                                                 np.dot(at.transpose(2, 0, 1), av)),
             (T.dot(m, t3), np.dot(am, at)),
             (T.tensordot(t3, m, axes=[[1], [0]]), np.tensordot(at, am, axes=[[1], [0]])),
             (T.tensordot(t3, T.ones((3, 4, 2)), axes=2),
              np.tensordot(at, np.ones((3, 4, 2)), axes=2))]
    f = function([v, w, m, t3, s], [c[0] for c in cases])
    for k, (out, (_, ref)) in enumerate(zip(f(av, aw, am, at, 2.0), cases)):
        np.testing.assert_allclose(out, ref, rtol=1e-12, err_msg=f"case {k}")


# ---------------------------------------------------------------- shapes

def test_reshape_with_symbolic_shape():
    batch_size = T.lscalar("batch_size")
    x = T.dmatrix("x")
    img = x.reshape((batch_size, 1, 28, 28))
    assert img.ndim == 4 and img.broadcastable == (False, True, False, False)
    a = np.arange(2 * 784, dtype="float64").reshape(2, 784)
    out = function([x, batch_size], img)(a, 2)
    np.testing.assert_array_equal(out, a.reshape(2, 1, 28, 28))
    i = T.iscalar("i")      # an int32 scalar is accepted too
    np.testing.assert_array_equal(function([x, i], T.reshape(x, (i, -1)))(a, 4),
                                  a.reshape(4, -1))
    with pytest.raises(TypeError, match="integer scalar"):
        x.reshape((T.dscalar(), 2))


def test_reshape_variants():
    x = T.dmatrix("x")
    a = np.arange(12.0).reshape(3, 4)
    y = T.dtensor3("y")
    cases = [(x.reshape((-1,)), a.reshape(-1)), (x.reshape(12), a.reshape(12)),
             (x.reshape((2, -1, 3)), a.reshape(2, -1, 3)), (T.reshape(x, (4, 3)), a.reshape(4, 3)),
             (x.reshape(x.shape[::-1], ndim=2), a.reshape(4, 3)),
             (x.reshape(T.as_tensor_variable(np.array([6, 2]))), a.reshape(6, 2)),
             (x.reshape(T.shape(x)), a), (x.reshape((x.shape[1], x.shape[0])), a.reshape(4, 3))]
    f = function([x], [c[0] for c in cases])
    for out, (_, ref) in zip(f(a), cases):
        np.testing.assert_array_equal(out, ref)
    with pytest.raises(ValueError, match="ndim"):
        x.reshape(T.lvector())
    f = function([x], x.reshape((5, -1)), mode="py")    # the reference backend's message
    with pytest.raises(ValueError, match="cannot reshape"):
        f(a)
    assert y.reshape((2, 3, 4)).ndim == 3


def test_flatten():
    x = T.dtensor4("x")
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    f = function([x], [x.flatten(), x.flatten(2), x.flatten(3), T.flatten(x, outdim=4),
                       x.flatten(ndim=2)])
    outs = f(a)
    for out, nd in zip(outs, [1, 2, 3, 4, 2]):
        np.testing.assert_array_equal(out, a.reshape(a.shape[:nd - 1] + (-1,)))
    assert x.flatten(2).ndim == 2
    with pytest.raises(ValueError, match="outdim"):
        x.flatten(5)
    r = T.drow("r")
    assert r.flatten(2).broadcastable == (True, False)
    assert T.dscalar().flatten().ndim == 1


def test_transpose_dimshuffle_and_broadcast_helpers():
    x = T.dtensor3("x")
    a = np.arange(24.0).reshape(2, 3, 4)
    r = T.drow("r")
    cases = [(T.transpose(x), a.transpose()), (T.transpose(x, (1, 0, 2)), a.transpose(1, 0, 2)),
             (x.dimshuffle(2, 0, 1), a.transpose(2, 0, 1)),
             (T.shape_padleft(x), a[None]), (T.shape_padright(x, 2), a[..., None, None]),
             (T.shape_padaxis(x, 1), a[:, None]), (T.shape_padaxis(x, -1), a[..., None]),
             (T.squeeze(T.shape_padaxis(x, 1)), a), (T.addbroadcast(x[:1], 0), a[:1]),
             (T.unbroadcast(r, 0), np.ones((1, 4))), (T.patternbroadcast(r, (False, False)),
                                                      np.ones((1, 4)))]
    f = function([x, r], [c[0] for c in cases])
    for out, (_, ref) in zip(f(a, np.ones((1, 4))), cases):
        np.testing.assert_array_equal(out, ref)
    assert T.addbroadcast(x[:1], 0).broadcastable == (True, False, False)
    assert T.unbroadcast(r, 0).broadcastable == (False, False)
    assert T.patternbroadcast(r, (True, False)) is r
    g = function([x], T.addbroadcast(x, 0), mode="py")
    with pytest.raises(ValueError, match="broadcastable"):
        g(a)


def test_specify_shape():
    x = T.dmatrix("x")
    y = T.specify_shape(x, (2, None))
    f = function([x], y * 2, mode="py")
    np.testing.assert_array_equal(f(np.ones((2, 5))), 2 * np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"expected shape \(2, None\)"):
        f(np.ones((3, 5)))
    assert T.specify_shape(x, (1, None)).broadcastable == (True, False)
    with pytest.raises(ValueError):
        T.specify_shape(x, (1,))


def test_concatenate_stack_join():
    x, y = T.dmatrices("x", "y")
    s, t = T.dscalars("s", "t")
    v = T.ivector("v")
    a, b = np.ones((2, 3)), np.zeros((1, 3))
    cases = [(T.concatenate([x, y]), np.concatenate([a, b])),
             (T.concatenate([x, x], axis=1), np.concatenate([a, a], 1)),
             (T.concatenate([x, x], axis=-1), np.concatenate([a, a], -1)),
             (T.join(0, x, y, x), np.concatenate([a, b, a])),
             (T.stack([s, t]), np.array([1.0, 2.0])), (T.stack(s, t), np.array([1.0, 2.0])),
             (T.stack([x, x], axis=1), np.stack([a, a], 1)),
             (T.stack([x, x], axis=2), np.stack([a, a], 2)),
             (T.concatenate([x[0], v]), np.array([1, 1, 1, 4, 5.0]))]
    f = function([x, y, s, t, v], [c[0] for c in cases])
    for out, (_, ref) in zip(f(a, b, 1.0, 2.0, np.array([4, 5], dtype="int32")), cases):
        np.testing.assert_array_equal(out, ref)
    assert T.concatenate([x]) is x
    assert T.concatenate([x[0], v]).dtype == "float64"
    with pytest.raises(TypeError, match="same ndim"):
        T.concatenate([x, v])
    f = function([x, y], T.concatenate([x, y], axis=1), mode="py")
    with pytest.raises(ValueError, match="cannot be joined"):
        f(a, b)


# ---------------------------------------------------------------- indexing API

def test_getitem_forms():
    x = T.dmatrix("x")
    i = T.lscalar("i")
    j = T.iscalar("j")
    idx = T.lvector("idx")
    a = np.arange(20.0).reshape(4, 5)
    cases = [(x[1], a[1]), (x[-1], a[-1]), (x[1:3], a[1:3]), (x[::2, 1], a[::2, 1]),
             (x[i], a[2]), (x[i:], a[2:]), (x[:, j], a[:, 1]), (x[i, j], a[2, 1]),
             (x[i - 1:i + 1, ::j], a[1:3, ::1]), (x[idx], a[[0, 3, 3]]),
             (x[idx, 1:], a[[0, 3, 3], 1:]), (x[[1, 0]], a[[1, 0]]),
             (x[np.array([1, 2])], a[[1, 2]]), (x[np.int64(1)], a[1]), (x[..., 1], a[:, 1]),
             (x[1, ...], a[1])]
    f = function([x, i, j, idx], [c[0] for c in cases])
    for k, (out, (_, ref)) in enumerate(zip(f(a, 2, 1, np.array([0, 3, 3])), cases)):
        np.testing.assert_array_equal(out, ref, err_msg=f"case {k}")
    with pytest.raises(IndexError, match="too many indices"):
        x[1, 2, 3]
    with pytest.raises(TypeError, match="integer"):
        x[T.dscalar()]
    with pytest.raises(TypeError, match="integer"):
        x[T.dscalar():]
    with pytest.raises(NotImplementedError):
        x[x > 0]


@pytest.mark.parametrize("key", [
    (slice(None), None), (None,), None, (None, 1), (Ellipsis, None), (None, Ellipsis, 0),
    (1, None, slice(1, None)), (None, slice(None), None, 2), (None, -1, None),
], ids=str)
def test_getitem_newaxis(key):
    x = T.dmatrix("x")
    a = np.arange(6.0).reshape(2, 3)
    y = x[key]
    ref = a[key]
    np.testing.assert_array_equal(function([x], y)(a), ref)
    n_new = sum(k is None for k in (key if isinstance(key, tuple) else (key,)))
    assert y.ndim == ref.ndim and sum(y.broadcastable) == n_new    # new axes broadcast
    i = T.lscalar("i")
    np.testing.assert_array_equal(function([x, i], x[None, i])(a, 1), a[None, 1])
    with pytest.raises(IndexError, match="too many indices"):
        x[None, 1, 2, 3]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., None, ...]


def test_set_and_inc_subtensor_api():
    x = T.dmatrix("x")
    y = T.dvector("y")
    idx = T.lvector("idx")
    a = np.zeros((3, 4))
    f = function([x, y, idx], [T.set_subtensor(x[1], y), T.inc_subtensor(x[:, 1:3], 1),
                               T.set_subtensor(x[idx, 0], 5.0), T.inc_subtensor(x[idx], y)])
    s, inc, sadv, iadv = f(a, np.arange(4.0), np.array([0, 2, 2]))
    ref = a.copy()
    ref[1] = np.arange(4.0)
    np.testing.assert_array_equal(s, ref)
    ref = a.copy()
    ref[:, 1:3] += 1
    np.testing.assert_array_equal(inc, ref)
    ref = a.copy()
    ref[[0, 2], 0] = 5
    np.testing.assert_array_equal(sadv, ref)
    ref = a.copy()
    np.add.at(ref, [0, 2, 2], np.arange(4.0))
    np.testing.assert_array_equal(iadv, ref)
    with pytest.raises(TypeError, match="indexed tensor"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match="indexed tensor"):
        T.inc_subtensor(x + 1, 1.0)

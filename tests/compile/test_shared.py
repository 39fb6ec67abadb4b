"""Tests for symgraph/compile/sharedvalue.py: shared variables."""
import pickle

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import function, shared
from symgraph.compile.sharedvalue import GenericSharedVariable, SharedVariable, TensorSharedVariable
from symgraph.tensor.type import TensorType


@pytest.mark.parametrize("value, dtype, ndim", [
    (0, "int64", 0), (1.5, "float64", 0), (True, "bool", 0), (np.float32(2), "float32", 0),
    (np.zeros(3, dtype="int8"), "int8", 1), (np.zeros((2, 3), dtype="float32"), "float32", 2),
    ([[1.0, 2.0]], "float64", 2), ((1, 2, 3), "int64", 1),
])
def test_type_from_value(value, dtype, ndim):
    s = shared(value)
    assert isinstance(s, TensorSharedVariable) and isinstance(s, SharedVariable)
    assert s.type == TensorType(dtype, (False,) * ndim)
    assert s.dtype == dtype and s.ndim == ndim
    np.testing.assert_array_equal(s.get_value(), np.asarray(value))


def test_float_value_ignores_floatX(floatX32):
    assert shared(1.5).dtype == "float64"
    assert shared(np.zeros(2, dtype="float32")).dtype == "float32"


def test_broadcastable_argument_and_name():
    s = shared(np.zeros((1, 3)), name="s", broadcastable=(True, False))
    assert s.broadcastable == (True, False) and s.name == "s"
    assert shared(np.zeros((1, 3))).broadcastable == (False, False)
    with pytest.raises(TypeError, match="broadcastable"):
        s.set_value(np.zeros((2, 3)))


def test_get_value_borrow_semantics():
    a = np.arange(3.0)
    s = shared(a)                               # borrow=False copies the initial value
    a[0] = 100.0
    assert s.get_value()[0] == 0.0
    v = s.get_value()                           # a copy
    v[1] = 50.0
    assert s.get_value()[1] == 1.0
    internal = s.get_value(borrow=True)         # the internal array
    internal[2] = 7.0
    assert s.get_value()[2] == 7.0
    b = np.arange(3.0)
    t = shared(b, borrow=True)                  # borrow=True keeps the caller's array
    b[0] = -1.0
    assert t.get_value()[0] == -1.0


def test_set_value_borrow_semantics():
    s = shared(np.zeros(3))
    new = np.ones(3)
    s.set_value(new)                            # copied
    new[0] = 9.0
    assert s.get_value()[0] == 1.0
    s.set_value(new, borrow=True)               # kept
    new[1] = 8.0
    assert s.get_value()[1] == 8.0
    s.set_value(np.zeros(5))                    # the shape may change
    assert s.get_value().shape == (5,)
    assert s.value.shape == (5,)


def test_set_value_checks_type():
    s = shared(np.zeros(3), name="w")
    s.set_value([1, 2, 3])                      # safe conversions are fine
    assert s.get_value().dtype == np.float64
    with pytest.raises(TypeError, match="input 'w': wrong number of dimensions"):
        s.set_value(np.zeros((2, 2)))
    f = shared(np.zeros(2, dtype="float32"), name="f")
    with pytest.raises(TypeError, match="float32"):
        f.set_value(np.array([0.1, 0.2]))       # lossy float64 -> float32
    i = shared(np.zeros(2, dtype="int32"), name="i")
    with pytest.raises(TypeError):
        i.set_value(np.array([1.5, 2.0]))


def test_strict():
    s = shared(np.zeros(2), strict=True, name="s")
    s.set_value(np.ones(2))
    with pytest.raises(TypeError, match="expected dtype float64, got float32"):
        s.set_value(np.ones(2, dtype="float32"))
    lax = shared(np.zeros(2))
    lax.set_value(np.ones(2, dtype="float32"))
    assert lax.get_value().dtype == np.float64


def test_allow_downcast_at_creation():
    s = shared(np.zeros(2, dtype="float32"))
    assert s.dtype == "float32"


def test_shared_in_expressions_and_functions():
    W = shared(np.eye(2), name="W")
    x = T.dvector("x")
    y = T.dot(W, x) + W.sum()
    assert isinstance(y, T.TensorVariable)
    f = function([x], y)
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [3.0, 4.0])
    W.set_value(np.zeros((2, 2)))
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [0.0, 0.0])
    assert W.T.ndim == 2 and W[0].ndim == 1 and (W * 2).dtype == "float64"


def test_two_functions_share_one_container():
    count = shared(0, name="count")
    inc = T.lscalar("inc")
    up = function([inc], [], updates=[(count, count + inc)])
    read = function([], count * 1)
    up(5)
    assert read() == 5
    up(2)
    assert read() == 7 and count.get_value() == 7


def test_clone_keeps_storage():
    s = shared(np.zeros(2), name="s")
    c = s.clone()
    assert c is not s and c.container is s.container
    s.set_value(np.ones(2))
    np.testing.assert_array_equal(c.get_value(), [1.0, 1.0])


def test_random_state_shared():
    rs = np.random.RandomState(3)
    s = shared(rs)
    assert isinstance(s, GenericSharedVariable)
    assert s.get_value() is not rs                  # deep copied
    assert s.get_value().randint(1000) == np.random.RandomState(3).randint(1000)
    assert s.get_value(borrow=True) is s.get_value(borrow=True)
    with pytest.raises(TypeError, match="RandomState"):
        s.set_value(5)


def test_unsupported_value():
    with pytest.raises(TypeError, match="cannot make a shared variable from dict"):
        shared({"a": 1})


def test_pickle_shared():
    s = shared(np.arange(3.0), name="s")
    t = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(t.get_value(), [0.0, 1.0, 2.0])
    assert t.name == "s" and t.type == s.type and t.tag.trace is None
    assert (t * 2).eval().tolist() == [0.0, 2.0, 4.0]


def test_shared_grad_and_update_roundtrip():
    w = shared(np.array([1.0, -1.0]), name="w")
    cost = T.sum(w ** 2)
    g = symgraph.grad(cost, w)
    step = function([], cost, updates=[(w, w - 0.25 * g)])
    assert step() == 2.0
    np.testing.assert_array_equal(w.get_value(), [0.5, -0.5])

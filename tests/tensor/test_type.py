"""Tests for symgraph/tensor/type.py: TensorType identity, filter rules, upcast."""
import numpy as np
import pytest

from symgraph.tensor.type import TensorType, float_upcast, normalize_dtype, upcast


def test_identity_and_str():
    a = TensorType("float32", (False, True))
    assert a == TensorType(np.float32, [0, 1])
    assert hash(a) == hash(TensorType("float32", (False, True)))
    assert a != TensorType("float64", (False, True))
    assert a != TensorType("float32", (False, False))
    assert a.ndim == 2 and a.dtype == "float32" and a.broadcastable == (False, True)
    assert str(TensorType("float64", ())) == "TensorScalar(float64)"
    assert str(TensorType("int32", (False,))) == "TensorVector(int32)"
    assert str(TensorType("float32", (False, False))) == "TensorMatrix(float32)"
    assert str(a) == "TensorType(float32, (False, True))"
    assert TensorType("float64", 3).broadcastable == (False, False, False)
    assert a.clone(dtype="int8") == TensorType("int8", (False, True))


def test_unsupported_dtype():
    with pytest.raises(TypeError, match="unsupported dtype"):
        TensorType("datetime64[s]", ())


def test_normalize_dtype(floatX32):
    assert normalize_dtype(None) == "float32"
    assert normalize_dtype("floatX") == "float32"
    assert normalize_dtype(np.int16) == "int16"
    assert normalize_dtype(np.dtype("uint8")) == "uint8"


def test_filter_exact_dtype_is_not_copied():
    t = TensorType("float64", (False,))
    v = np.arange(3.0)
    assert t.filter(v) is v
    assert t.filter(v, strict=True) is v


def test_filter_strict():
    t = TensorType("float32", (False,))
    with pytest.raises(TypeError, match="expected dtype float32, got float64"):
        t.filter(np.zeros(2), strict=True)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        t.filter([1.0, 2.0], strict=True)


def test_filter_wrong_ndim_and_broadcastable():
    t = TensorType("float64", (False, False))
    with pytest.raises(TypeError, match="input 'x': wrong number of dimensions: expected 2"):
        t.filter(np.zeros(3), name="x")
    row = TensorType("float64", (True, False))
    assert row.filter(np.zeros((1, 4))).shape == (1, 4)
    with pytest.raises(TypeError, match="dimension 0 is broadcastable"):
        row.filter(np.zeros((2, 4)))


def test_filter_safe_upcasts():
    t = TensorType("float64", (False,))
    out = t.filter(np.array([1, 2], dtype="int32"))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 2.0])
    assert t.filter(np.zeros(2, dtype="float32")).dtype == np.float64
    assert TensorType("int64", ()).filter(np.int8(3)) == 3


def test_filter_lossy_ndarray_needs_allow_downcast():
    t = TensorType("float32", (False,))
    with pytest.raises(TypeError, match="allow_input_downcast=True"):
        t.filter(np.array([0.1, 0.2]))
    out = t.filter(np.array([0.1, 0.2]), allow_downcast=True)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.1, 0.2], rtol=1e-6)
    with pytest.raises(TypeError):
        TensorType("int32", (False,)).filter(np.array([1, 2], dtype="int64"))
    with pytest.raises(TypeError):
        TensorType("int32", (False,)).filter(np.array([1.0, 2.0]))
    with pytest.raises(TypeError):      # even an explicit False refuses lossy casts
        t.filter(np.array([0.1]), allow_downcast=False)


def test_filter_python_numbers():
    f32 = TensorType("float32", ())
    assert f32.filter(0.1).dtype == np.float32                 # Python float into fscalar
    assert f32.filter(3).dtype == np.float32                   # exact int
    i32 = TensorType("int32", ())
    assert i32.filter(7) == 7 and i32.filter(7).dtype == np.int32
    with pytest.raises(TypeError, match="without loss"):
        i32.filter(2 ** 40)
    with pytest.raises(TypeError):
        i32.filter(1.5)
    with pytest.raises(TypeError):
        i32.filter(1.0)                                        # float -> int needs downcast
    assert i32.filter(1.5, allow_downcast=True) == 1
    with pytest.raises(TypeError):
        TensorType("uint8", ()).filter(-1)
    with pytest.raises(TypeError, match="cannot convert"):
        f32.filter("abc")
    with pytest.raises(TypeError, match="cannot convert"):
        f32.filter(object())


def test_filter_nested_lists():
    t = TensorType("float64", (False, False))
    out = t.filter([[1, 2], [3, 4]])
    assert out.dtype == np.float64 and out.shape == (2, 2)
    with pytest.raises(TypeError, match="wrong number of dimensions"):
        t.filter([1, 2])


def test_values_eq_approx():
    t = TensorType("float32", (False,))
    assert t.values_eq_approx(np.array([1.0, 2.0]), np.array([1.00001, 2.0]))
    assert not t.values_eq_approx(np.array([1.0, 2.0]), np.array([1.01, 2.0]))
    assert not t.values_eq_approx(np.zeros(2), np.zeros(3))
    assert t.values_eq(np.array([np.nan]), np.array([np.nan]))
    it = TensorType("int64", (False,))
    assert not it.values_eq_approx(np.array([1]), np.array([2]))
    assert t.is_float and not it.is_float


@pytest.mark.parametrize("dtypes, expected", [
    (("int8", "int8"), "int8"),
    (("int8", "int32"), "int32"),
    (("int32", "float32"), "float64"),
    (("int16", "float32"), "float32"),
    (("float32", "float64"), "float64"),
    (("bool", "int8"), "int8"),
    (("uint8", "int8"), "int16"),
    (("float32", "complex64"), "complex64"),
])
def test_upcast(dtypes, expected):
    assert upcast(*dtypes) == expected


def test_upcast_empty_is_floatX(floatX32):
    assert upcast() == "float32"


@pytest.mark.parametrize("dtypes, expected", [
    (("int32",), "float64"),
    (("int64",), "float64"),
    (("int8",), "float64"),
    (("float32",), "float32"),
    (("float16",), "float16"),
    (("float32", "int64"), "float64"),
])
def test_float_upcast(dtypes, expected):
    assert float_upcast(*dtypes) == expected


def test_float_upcast_small_ints_follow_floatX(floatX32):
    assert float_upcast("int8") == "float32"
    assert float_upcast("bool") == "float32"
    assert float_upcast("int32") == "float64"

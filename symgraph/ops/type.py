"""TensorType: dtype + broadcastable pattern, and value filtering with Theano's rules."""
from __future__ import annotations

import pdb
import warnings

import numpy as np

from ..config import config
from ..graph import Type, format_trace, user_trace

ALL_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
              "float16", "float32", "float64", "complex64", "complex128")
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOAT_DTYPES = ("float16", "float32", "float64")
COMPLEX_DTYPES = ("complex64", "complex128")
DISCRETE_DTYPES = ("bool",) + INT_DTYPES


_DTYPE_NAMES = {}   # dtype spelling -> canonical name (np.dtype(d).name is slow; graphs ask often)


def normalize_dtype(dtype):
    if dtype is None or (isinstance(dtype, str) and dtype == "floatX"):
        return config.floatX
    try:
        return _DTYPE_NAMES[dtype]
    except (KeyError, TypeError):
        name = np.dtype(dtype).name
        try:
            _DTYPE_NAMES[dtype] = name
        except TypeError:       # unhashable spelling
            pass
        return name


class Float64Warning(UserWarning):
    """A float64 variable was created while ``config.warn_float64`` is 'warn'."""


def _float64_created(name):
    """``config.warn_float64``: 'warn', 'raise' or 'pdb' when a float64 variable is created."""
    msg = (f"a float64 variable {name or ''} was created at {format_trace(user_trace())} "
           f"(config.warn_float64={config.warn_float64!r}; use floatX or float32 constructors)")
    if config.warn_float64 == "warn":
        warnings.warn(msg, Float64Warning, stacklevel=4)
    elif config.warn_float64 == "raise":
        raise TypeError(msg)
    elif config.warn_float64 == "pdb":
        pdb.set_trace()


class TensorType(Type):
    """Type of n-dimensional arrays: ``TensorType('float32', (False, True))``.

    A dimension marked broadcastable always has length 1 and broadcasts
    against any length; an unmarked dimension never broadcasts.
    """

    def __init__(self, dtype, broadcastable, shape=None):
        self.dtype = normalize_dtype(dtype)
        if self.dtype not in ALL_DTYPES:
            raise TypeError(f"unsupported dtype {dtype!r}")
        if isinstance(broadcastable, int):
            broadcastable = (False,) * broadcastable
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        self.ndim = len(self.broadcastable)
        self.numpy_dtype = np.dtype(self.dtype)

    # -- identity
    def __eq__(self, other):
        return (type(other) is type(self) and other.dtype == self.dtype
                and other.broadcastable == self.broadcastable)

    def __hash__(self):
        return hash((type(self), self.dtype, self.broadcastable))

    def __str__(self):
        names = {0: "Scalar", 1: "Vector", 2: "Matrix"}
        if self.ndim in names and not any(self.broadcastable):
            return f"Tensor{names[self.ndim]}({self.dtype})"
        return f"TensorType({self.dtype}, {self.broadcastable})"

    __repr__ = __str__

    def clone(self, dtype=None, broadcastable=None):
        return TensorType(self.dtype if dtype is None else dtype,
                          self.broadcastable if broadcastable is None else broadcastable)

    # The variable classes (with their operators) are defined at the top of the ops layer,
    # which imports every op family; ops/variable.py fills these in when it is imported.
    variable_type = None
    constant_type = None
    _pattern_cast = None        # patternbroadcast(var, broadcastable), from ops/shape.py

    def make_variable(self, name=None):
        if self.dtype == "float64" and config.warn_float64 != "ignore":
            _float64_created(name)
        return self.variable_type(self, name=name)

    def make_constant(self, data, name=None):
        """A constant of this type holding ``data`` (an ndarray of this dtype and ndim)."""
        return self.constant_type(self, data, name=name)

    def convert_variable(self, var):
        """``var`` as a variable of this type if only the broadcast pattern differs, else None."""
        t = var.type
        if getattr(t, "dtype", None) != self.dtype or getattr(t, "ndim", None) != self.ndim:
            return None
        return TensorType._pattern_cast(var, self.broadcastable)

    # -- values
    def filter(self, data, strict=False, allow_downcast=None, name=None):
        """Convert ``data`` to an ndarray of this type or raise TypeError.

        Theano's rules: ``strict`` requires an ndarray of exactly this dtype;
        otherwise values are cast when no precision is lost, Python floats
        may become float32 when ``allow_downcast`` is None, and any lossy cast
        needs ``allow_downcast=True``.
        """
        what = f"input {name!r}" if name else "value"
        if strict:
            if not isinstance(data, np.ndarray):
                raise TypeError(f"{what}: expected a numpy.ndarray of {self}, got {type(data).__name__}")
            if data.dtype != self.numpy_dtype:
                raise TypeError(f"{what}: expected dtype {self.dtype}, got {data.dtype}")
        if isinstance(data, np.ndarray) and data.dtype == self.numpy_dtype:
            arr = data
        else:
            arr = self._convert(data, allow_downcast, what)
        if arr.ndim != self.ndim:
            raise TypeError(f"{what}: wrong number of dimensions: expected {self.ndim} "
                            f"({self}), got {arr.ndim} with shape {arr.shape}")
        for i, (b, s) in enumerate(zip(self.broadcastable, arr.shape)):
            if b and s != 1:
                raise TypeError(f"{what}: dimension {i} is broadcastable in {self} so must have "
                                f"length 1, got shape {arr.shape}")
        return arr

    def _convert(self, data, allow_downcast, what):
        target = self.numpy_dtype
        if isinstance(data, np.ndarray) or isinstance(data, np.generic):
            src = np.asarray(data)
            if allow_downcast:
                return src.astype(target)
            if np.can_cast(src.dtype, target, casting="safe"):
                return src.astype(target)
            if allow_downcast is None and src.dtype == np.float64 and target == np.float32 \
                    and src.ndim == 0:
                return src.astype(target)
            raise TypeError(
                f"{what}: cannot convert dtype {src.dtype} to {self.dtype} without losing "
                f"precision; pass allow_input_downcast=True to function() or cast the value "
                f"(e.g. numpy.asarray(x, dtype='{self.dtype}'))")
        # Python scalars and nested sequences
        try:
            src = np.asarray(data)
        except Exception as exc:
            raise TypeError(f"{what}: cannot convert {type(data).__name__} to {self}: {exc}") from None
        if src.dtype.kind not in "biufc":   # objects, strings, ragged lists
            raise TypeError(f"{what}: cannot convert {type(data).__name__} to {self}")
        converted = src.astype(target)
        if allow_downcast or np.can_cast(src.dtype, target, casting="safe"):
            return converted
        # Python numbers: allowed when the value is represented exactly (or, for
        # floats, when allow_downcast is None, as Theano did for floatX).
        same = np.array_equal(converted.astype(src.dtype), src, equal_nan=src.dtype.kind == "f")
        if same and (src.dtype.kind != "f" or target.kind in "fc"):
            return converted
        if allow_downcast is None and src.dtype.kind == "f" and target.kind == "f":
            return converted
        raise TypeError(f"{what}: {data!r} cannot be converted to {self.dtype} without loss; "
                        f"pass allow_input_downcast=True")

    def values_eq(self, a, b):
        return np.array_equal(a, b, equal_nan=True)

    def values_eq_approx(self, a, b, rtol=None, atol=None):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if self.dtype in DISCRETE_DTYPES:
            return np.array_equal(a, b)
        tol = {"float16": 1e-2, "float32": 1e-4, "float64": 1e-8}.get(self.dtype, 1e-8)
        return np.allclose(a, b, rtol=rtol or tol, atol=atol or tol, equal_nan=True)

    @property
    def is_float(self):
        return self.dtype in FLOAT_DTYPES


_UPCAST = {}        # tuple of dtype names -> result (every Elemwise node asks)


def upcast(*dtypes):
    """Result dtype of combining ``dtypes`` (numpy's promotion, bool < int < float)."""
    dtypes = tuple(normalize_dtype(d) for d in dtypes)
    if not dtypes:
        return config.floatX
    out = _UPCAST.get(dtypes)
    if out is None:
        out = _UPCAST[dtypes] = np.result_type(*[np.dtype(d) for d in dtypes]).name
    if config.cast_policy == "numpy+floatX":
        out = _keep_floatX(out, dtypes)
    return out


def _keep_floatX(out, dtypes):
    """Theano's ``numpy+floatX`` rule: a float64 (or float32) result that no input asked for
    explicitly becomes floatX when floatX is narrower (int64 + float32 -> float32 under
    floatX=float32; float64 + anything stays float64)."""
    narrow = config.floatX
    if narrow == "float32" and out == "float64" and "float64" not in dtypes:
        return "float32"
    if narrow == "float16" and out in ("float32", "float64") and \
            not {"float32", "float64"} & set(dtypes):
        return "float16"
    return out


def float_upcast(*dtypes):
    """Dtype of a float-valued function (exp, log, true division) of ``dtypes``."""
    out = upcast(*dtypes)
    if out in FLOAT_DTYPES or out in COMPLEX_DTYPES:
        return out
    if out in ("bool", "int8", "uint8", "int16", "uint16"):
        return "float32" if config.floatX == "float32" else "float64"
    return "float64"


# ---------------------------------------------------------------- constructors: T.matrix, T.fvector, ...

_PREFIX = {"b": "int8", "w": "int16", "i": "int32", "l": "int64",
           "f": "float32", "d": "float64", "c": "complex64", "z": "complex128"}


_KINDS = {"scalar": (), "vector": (False,), "row": (True, False), "col": (False, True),
          "matrix": (False, False), "tensor3": (False,) * 3, "tensor4": (False,) * 4,
          "tensor5": (False,) * 5}


def tensor(dtype=None, broadcastable=None, name=None, shape=None):
    """``T.tensor('float32', (False, True))`` or ``T.tensor(dtype, name=..., shape=(None, 1))``."""
    if broadcastable is None:
        broadcastable = tuple(s == 1 for s in shape) if shape is not None else ()
    return TensorType(normalize_dtype(dtype), broadcastable)(name)


def _make_ctor(kind, default_dtype):
    bcast = _KINDS[kind]

    def ctor(name=None, dtype=None):
        return TensorType(normalize_dtype(dtype or default_dtype), bcast)(name)
    ctor.__name__ = kind
    ctor.__doc__ = f"A symbolic {kind} ({default_dtype or 'floatX'} unless dtype= is given)."
    return ctor


def _make_plural(single):
    def ctors(*names, dtype=None):
        if len(names) == 1 and isinstance(names[0], int):
            names = [None] * names[0]
        out = [single(n, dtype=dtype) for n in names]
        return out
    return ctors


_ns = globals()
for _kind in _KINDS:
    _plural = "matrices" if _kind == "matrix" else _kind + "s"
    _ns[_kind] = _make_ctor(_kind, None)
    _ns[_plural] = _make_plural(_ns[_kind])
    for _p, _dt in _PREFIX.items():
        _ns[_p + _kind] = _make_ctor(_kind, _dt)
        _ns[_p + _plural] = _make_plural(_ns[_p + _kind])
del _ns, _kind, _p, _dt, _plural

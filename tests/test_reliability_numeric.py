"""Reliability, numeric and graph-depth classes (issue #15, round two).

Each test pins a class of bug: wide fused kernels, float -> int casts, integer semantics,
assignment gradients, allocation failures, numerical stability in every mode, and graphs
deeper than Python's recursion limit. Every backend is checked against an independent
NumPy reference and against the Python reference backend.
"""
import warnings

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.backends import c_available
from symgraph.compile.mode import Mode

LINKERS = ["py", pytest.param("c", marks=pytest.mark.skipif(not c_available(), reason="no working C compiler"))]
FLOATS = ("float32", "float64")
INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


# ---------------------------------------------------------------- 1. wide fused kernels

@pytest.mark.parametrize("n", [33, 40, 63, 64, 65, 100])
@pytest.mark.parametrize("linker", LINKERS)
def test_wide_fused_elemwise_with_broadcast_and_strided_operands(n, linker):
    """Operands at positions >= 32 that are broadcast along the last dim or strided: the C
    driver kept "broadcast along the last dim" in a 32-bit mask (bit k shifted by k up to 63)."""
    rng = np.random.default_rng(n)
    xs, vals = [], []
    for k in range(n):
        kind = k % 3 if k >= 32 else (1 if k % 2 else 0)
        if kind == 1:                        # broadcast along the last dim
            xs.append(T.col(f"x{k}")); vals.append(rng.random((5, 1)))
        elif kind == 2:                      # strided (a transposed buffer)
            xs.append(T.matrix(f"x{k}")); vals.append(rng.random((7, 5)).T)
        else:
            xs.append(T.matrix(f"x{k}")); vals.append(rng.random((5, 7)))
    scale = [1.0 if v.broadcastable[-1] else 1.0 + k / 100.0 for k, v in enumerate(xs)]
    out = xs[0]
    for k, v in enumerate(xs[1:], 1):
        out = out + (v if v.broadcastable[-1] else v * scale[k])
    f = symgraph.function(xs, out, mode=Mode(linker=linker))
    expect = vals[0] + sum(v * c for v, c in zip(vals[1:], scale[1:]))
    np.testing.assert_allclose(f(*vals), expect, rtol=1e-12)
    # fusion made one kernel of every operand (or split it: never a wrong answer)
    assert max(len(node.inputs) for node in f.maker.fgraph.toposort()) >= min(n, 33)


# ---------------------------------------------------------------- 2. float -> int casts

CAST_VALUES = [np.nan, np.inf, -np.inf, -0.0, 0.5, -0.5, -1.0, -1.5, 127.9, 128.0, -129.0, 255.5, 256.0,
               300.0, -300.0, 65535.9, 65536.0, -40000.0, 2.0 ** 31 - 1, 2.0 ** 31, -2.0 ** 31,
               -2.0 ** 31 - 1, 2.0 ** 32, 3e9, -3e9, 1e12, 2.0 ** 63, -2.0 ** 63, 1e19, 2.0 ** 64, 5e18,
               -5e18, 1e30, -1e30, 3.4e38, -3.4e38]


def numpy_scalar_cast(values, dtype):
    """NumPy's x86-64 result, element by element (its scalar loop, free of the length-dependent
    vectorised loop): the reference every backend must match bit for bit."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.array([np.array([v]).astype(dtype)[0] for v in values], dtype=dtype)


@pytest.mark.parametrize("src", FLOATS)
@pytest.mark.parametrize("linker", LINKERS)
def test_float_to_int_casts_give_numpys_bits_on_every_backend(src, linker):
    rng = np.random.default_rng(0)
    extra = rng.standard_normal(200) * 10.0 ** rng.integers(0, 22, 200)
    a = np.concatenate([np.array(CAST_VALUES), extra]).astype(src)
    x = T.vector("x", dtype=src)
    outs = [T.cast(x, d) for d in INTS + ("bool",)]
    f = symgraph.function([x], outs, mode=Mode(linker=linker))
    # 1, 7, 8, 9, 16 and 17 elements too: NumPy's own astype depends on the length for uint32
    for arr in (a, a[::3], a[:1], a[:7], a[:9], a[:17]):
        for dtype, got in zip(INTS + ("bool",), f(arr)):
            want = numpy_scalar_cast(arr, dtype)
            assert got.dtype == want.dtype
            bad = np.nonzero(got != want)[0]
            assert bad.size == 0, (src, dtype, [(arr[i], got[i], want[i]) for i in bad[:5]])


@pytest.mark.parametrize("src", FLOATS)
def test_casts_inside_fused_kernels_and_constant_folding_agree(src):
    """The same casts inside a Composite (fused with arithmetic) and folded from constants."""
    a = np.array(CAST_VALUES, dtype=src)
    x = T.vector("x", dtype=src)
    outs = [T.cast(x * 2 - x, d) + T.cast(1, d) for d in INTS]
    folded = [T.cast(T.constant(a) * 2 - T.constant(a), d) + T.cast(1, d) for d in INTS]
    results = {}
    for linker in ["py"] + (["c"] if c_available() else []):
        f = symgraph.function([x], outs + folded, mode=Mode(linker=linker))
        results[linker] = f(a)
    with np.errstate(all="ignore"):
        for k, d in enumerate(INTS):
            want = numpy_scalar_cast(a * 2 - a, d) + np.array(1, d)
            for linker, got in results.items():
                np.testing.assert_array_equal(got[k], want, err_msg=f"{linker} {src}->{d}")
                np.testing.assert_array_equal(got[len(INTS) + k], want, err_msg=f"folded {linker} {src}->{d}")

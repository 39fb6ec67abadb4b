"""The NumPy side of the micro-benchmarks, written as a NumPy user would.

Each function computes one fixed expression; the symgraph side must compute the
same one (given in each docstring) on the same input, made by the matching
``*_input()`` function. NumPy runs every operator as its own pass over memory,
which is exactly what symgraph's elementwise fusion is meant to beat.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fused5", "fused5_input", "reduce_large", "reduce_large_input", "one_op", "one_op_input"]


def fused5_input(n: int = 1 << 20, seed: int = 0) -> np.ndarray:
    """1M float32 values uniform in [-1, 1)."""
    return np.random.default_rng(seed).uniform(-1.0, 1.0, n).astype(np.float32)


def fused5(x: np.ndarray) -> np.ndarray:
    """Five elementwise ops, five passes: ``tanh(x * 2 + 1) * x - 0.5``.

    symgraph side: ``x = T.fvector(); f = function([x], T.tanh(x * 2 + 1) * x - 0.5)``.
    Python-float constants keep float32 (NEP 50), so the result is float32; compare
    with rtol around 1e-6 (a fused kernel may use a different tanh).

    >>> fused5(np.zeros(2, np.float32))
    array([-0.5, -0.5], dtype=float32)
    """
    return np.tanh(x * 2.0 + 1.0) * x - 0.5


def reduce_large_input(shape: tuple[int, int] = (4096, 4096), seed: int = 0) -> np.ndarray:
    """A 64 MiB float32 matrix (4096 x 4096), uniform in [0, 1)."""
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def reduce_large(x: np.ndarray, axis: int = 1) -> np.ndarray:
    """Row sums of a large float32 matrix: ``x.sum(axis=1)`` (symgraph: ``x.sum(axis=1)``).

    NumPy sums float32 pairwise in float32; a kernel that accumulates naively in
    float32 drifts by about 1e-4 relative over 4096 terms, so compare with rtol 1e-4.
    """
    return x.sum(axis=axis)


def one_op_input(n: int = 10) -> np.ndarray:
    """Ten float64 values: the call-overhead benchmark's input."""
    return np.arange(n, dtype=np.float64)


def one_op(x: np.ndarray) -> np.ndarray:
    """``x + 1`` on ten float64s: measures per-call overhead (symgraph: ``T.dvector() + 1``).

    >>> one_op(one_op_input(3))
    array([1., 2., 3.])
    """
    return x + 1

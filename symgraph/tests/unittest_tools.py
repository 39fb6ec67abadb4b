"""Theano's module path ``theano.tests.unittest_tools``: ``verify_grad``, ``seed_rng``,
``fetch_seed`` and ``assert_allclose`` for test suites written against Theano.

The seed comes from ``config.unittests.rseed`` (flag ``unittests.rseed``, default 666;
``'random'`` draws a fresh one each call).
"""
from __future__ import annotations

import numpy as np

from ..config import config
from ..gradient import verify_grad as _verify_grad

__all__ = ["verify_grad", "seed_rng", "fetch_seed", "assert_allclose"]


def fetch_seed(pseed=None):
    """``pseed`` if given, else the ``unittests.rseed`` flag as an int (None for 'random')."""
    seed = pseed if pseed is not None else config.unittests.rseed
    if seed == "random" or seed is None:
        return None
    return int(seed)


def seed_rng(pseed=None):
    """Seed NumPy's global generator with ``fetch_seed(pseed)``; returns the seed."""
    seed = fetch_seed(pseed)
    np.random.seed(seed)
    return seed


def verify_grad(op, pt, n_tests=2, rng=None, *args, **kwargs):
    """``symgraph.gradient.verify_grad`` with a generator seeded from ``unittests.rseed`` when
    none is given (as Theano's unittest_tools)."""
    if rng is None:
        rng = np.random.RandomState(fetch_seed())
    return _verify_grad(op, pt, n_tests, rng, *args, **kwargs)


def assert_allclose(expected, value, rtol=None, atol=None):
    """``numpy.testing.assert_allclose`` with tolerances that follow the dtype (float32
    looser), Theano's default."""
    expected, value = np.asarray(expected), np.asarray(value)
    low = np.float32 in (expected.dtype.type, value.dtype.type) or \
        np.float16 in (expected.dtype.type, value.dtype.type)
    if rtol is None:
        rtol = 1e-3 if low else 1e-5
    if atol is None:
        atol = 1e-3 if low else 1e-8
    np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol)

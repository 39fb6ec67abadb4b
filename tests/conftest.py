"""Shared fixtures for the core tests."""
import inspect

import numpy as np
import pytest

import symgraph


@pytest.fixture
def floatX32():
    """Run a test with ``config.floatX = 'float32'`` and restore the old value afterwards."""
    old = symgraph.config.floatX
    symgraph.config.floatX = "float32"
    yield
    symgraph.config.floatX = old


@pytest.fixture
def rng():
    return np.random.RandomState(1234)


@pytest.fixture
def lineno():
    """``lineno()`` returns the line it is called on: ``y = x + z; line = lineno()`` records
    where an expression was built, for checking that error messages point there."""
    return lambda: inspect.currentframe().f_back.f_lineno

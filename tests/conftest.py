"""Shared fixtures for the core tests.

The tests never fill the user's compile cache: they compile into a private temporary
directory (removed at the end), or into ``$SYMGRAPH_TEST_COMPILEDIR`` when that is set (to
keep a warm cache between runs). Subprocesses get it through ``THEANO_FLAGS`` (the lowest
precedence, so a test that sets ``SYMGRAPH_FLAGS`` of its own keeps it).
"""
import inspect
import os
import shutil
import tempfile

import numpy as np
import pytest

_OWN_CACHE = not os.environ.get("SYMGRAPH_TEST_COMPILEDIR")
TEST_COMPILEDIR = os.environ.get("SYMGRAPH_TEST_COMPILEDIR") or \
    tempfile.mkdtemp(prefix="symgraph-test-cache-")
os.environ["THEANO_FLAGS"] = ",".join(
    f for f in (os.environ.get("THEANO_FLAGS", ""), f"compiledir={TEST_COMPILEDIR}") if f)

import symgraph  # noqa: E402  (after the cache directory is chosen)

symgraph.config.compiledir = TEST_COMPILEDIR


def pytest_sessionfinish(session, exitstatus):
    if _OWN_CACHE:
        shutil.rmtree(TEST_COMPILEDIR, ignore_errors=True)


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


def pytest_addoption(parser):
    parser.addoption("--stress", action="store_true", default=False,
                     help="run the long stress tests (marker 'stress'; or set SYMGRAPH_STRESS=1)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--stress") or os.environ.get("SYMGRAPH_STRESS"):
        return
    skip = pytest.mark.skip(reason="stress test: run with --stress or SYMGRAPH_STRESS=1")
    for item in items:
        if "stress" in item.keywords:
            item.add_marker(skip)

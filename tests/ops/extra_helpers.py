"""Shared helpers of the tests of the Theano 1.0 extra ops: run a graph on the Python
reference backend and on FAST_RUN (the C backend, which runs ``perform`` for ops without a C
lowering) and check that they agree."""
import functools

import numpy as np

import symgraph
from symgraph import function

verify_grad = functools.partial(symgraph.verify_grad, mode="py")


def run_both(inputs, outputs, *args, rtol=1e-10, atol=1e-12):
    """Values of ``outputs`` under mode 'py' and FAST_RUN; asserts they agree; returns the
    reference values."""
    single = not isinstance(outputs, (list, tuple))
    outs = [outputs] if single else list(outputs)
    ref = function(inputs, outs, mode="py")(*args)
    fast = function(inputs, outs, mode="FAST_RUN")(*args)
    for r, f in zip(ref, fast):
        r, f = np.asarray(r), np.asarray(f)
        assert r.dtype == f.dtype and r.shape == f.shape
        np.testing.assert_allclose(f, r, rtol=rtol, atol=atol)
    return ref[0] if single else ref

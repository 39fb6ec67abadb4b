"""Draws from a symbolic NumPy ``RandomState`` (Theano's ``raw_random``).

Each function takes a RandomState variable (usually
``shared(np.random.RandomState(seed))``) and returns ``(new_random_state,
sample)``; :class:`~symgraph.tensor.shared_randomstreams.RandomStreams` wires
the new state in as the shared variable's ``default_update``.

``size`` is a tuple of ints and/or symbolic int scalars, a symbolic int
vector such as ``X.shape``, or ``None``/``()`` for "the shape of the broadcast
parameters". ``ndim`` is needed only when the length of a symbolic ``size``
cannot be read from the graph.

>>> rng = shared(np.random.RandomState(42))
>>> new_rng, u = uniform(rng, size=(2, 3), low=-1.0, high=1.0)
>>> f = function([], u, updates=[(rng, new_rng)])
"""
from __future__ import annotations

import builtins

import numpy as np

from ..config import config
from ..graph import Variable
from ..ops import shape as sh
from ..ops.random import RandomFunction, random_state_type  # noqa: F401  (Theano names)
from .basic import _shape_length, as_tensor_variable, constant
from .type import normalize_dtype, upcast

RandomStateType = type(random_state_type)

__all__ = ["uniform", "normal", "binomial", "random_integers", "choice", "permutation"]


def size_vector_and_ndim(size, ndim, params=()):
    """(int64 shape vector, ndim of the size) for ``size`` as accepted by every draw."""
    if size is None or (isinstance(size, (tuple, list)) and len(size) == 0):
        n = builtins.max([p.ndim for p in params], default=0) if ndim is None else ndim
        return constant(np.zeros(0, dtype="int64")), n
    if isinstance(size, (int, np.integer)) or (isinstance(size, Variable) and size.ndim == 0):
        size = (size,)
    if isinstance(size, Variable):
        n = _shape_length(size)
        if n is None:
            if ndim is None:
                raise ValueError(f"cannot tell the number of dimensions of size={size}; "
                                 f"pass ndim=")
            n = ndim
    else:
        size = tuple(size)
        for d in size:
            if isinstance(d, (int, np.integer)) and d < 0:
                raise ValueError(f"size {size} has a negative dimension")
        n = len(size)
    if ndim is not None and ndim != n:
        raise ValueError(f"size {size} has {n} dimensions but ndim={ndim}")
    vec = sh.shape_vector(size)
    if vec.dtype != "int64":
        from .basic import cast
        vec = cast(vec, "int64")
    return vec, n


def _float_dtype(dtype, *params):
    if dtype is not None:
        return normalize_dtype(dtype)
    return upcast(config.floatX, *[p.dtype for p in params])


def _draw(fn, random_state, size, ndim, dtype, params, ndim_added=0, size_params=None):
    vec, n = size_vector_and_ndim(size, ndim, params if size_params is None else size_params)
    op = RandomFunction(fn, dtype, n + ndim_added)
    new_rs, sample = op(random_state, vec, *params)
    return new_rs, sample


def uniform(random_state, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
    """Uniform samples in [low, high): ``uniform(rng, size=(2, 2), low=0.0, high=1.0)``.

    ``dtype`` defaults to the upcast of floatX with the dtypes of low and high.
    """
    low, high = as_tensor_variable(low), as_tensor_variable(high)
    return _draw("uniform", random_state, size, ndim, _float_dtype(dtype, low, high), [low, high])


def normal(random_state, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
    """Gaussian samples: ``normal(rng, size=(2, 2), avg=0.0, std=1.0)``."""
    avg, std = as_tensor_variable(avg), as_tensor_variable(std)
    return _draw("normal", random_state, size, ndim, _float_dtype(dtype, avg, std), [avg, std])


def binomial(random_state, size=None, n=1, p=0.5, ndim=None, dtype="int64"):
    """Binomial(n, p) counts: ``binomial(rng, size=X.shape, n=1, p=0.8, dtype='float32')``."""
    n, p = as_tensor_variable(n), as_tensor_variable(p)
    return _draw("binomial", random_state, size, ndim, normalize_dtype(dtype), [n, p])


def random_integers(random_state, size=None, low=0, high=1, ndim=None, dtype="int64"):
    """Integers uniform in [low, high], ``high`` included (as Theano).

    >>> new_rng, k = random_integers(rng, size=(5,), low=1, high=6)   # dice
    """
    low, high = as_tensor_variable(low), as_tensor_variable(high)
    return _draw("random_integers", random_state, size, ndim, normalize_dtype(dtype), [low, high])


def choice(random_state, size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
    """Samples from ``a`` (an int n meaning ``arange(n)``, or a vector), optionally weighted by p.

    >>> new_rng, idx = choice(rng, size=(3,), a=10, replace=False)   # 3 distinct of 0..9
    """
    a = as_tensor_variable(a)
    params = [a, constant(bool(replace))]
    if p is not None:
        params.append(as_tensor_variable(p))
    if dtype == "int64" and a.ndim == 1:
        dtype = a.dtype
    return _draw("choice", random_state, size, ndim, normalize_dtype(dtype), params,
                 size_params=[])


def permutation(random_state, size=None, n=1, ndim=None, dtype="int64"):
    """Permutations of ``range(n)``, one per entry of ``size`` (output shape ``size + (n,)``).

    >>> new_rng, perm = permutation(rng, size=(), n=5)   # a vector, a shuffle of 0..4
    """
    n = as_tensor_variable(n)
    return _draw("permutation", random_state, size, ndim, normalize_dtype(dtype), [n],
                 ndim_added=1, size_params=[])

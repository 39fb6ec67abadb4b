"""RandomStreams: random draws whose NumPy RandomState lives in a shared variable.

Each draw owns a ``shared(np.random.RandomState(s))`` (``rv.rng``) seeded from
the stream's seed generator; its ``default_update`` is the draw's new state,
so every call of a compiled function that uses the draw advances it (unless
the function is built with ``no_default_updates=True``). A draw used twice in
one expression is drawn once per call: it is one variable.

>>> srng = RandomStreams(seed=234)
>>> rv_u = srng.uniform((2, 2))
>>> f = function([], rv_u)
>>> f(), f()                        # two different matrices
>>> rv_u.rng.get_value(borrow=True).seed(89234)   # reseed this draw only
>>> srng.seed(902340)               # reseed every draw of srng
"""
from __future__ import annotations

import numpy as np

from . import random as raw_random
from .sharedvar import shared

__all__ = ["RandomStreams"]


class RandomStreams:
    """Theano's ``RandomStreams(seed=None)``: ``uniform``, ``normal``, ``binomial``,
    ``random_integers``, ``choice``, ``permutation``, each ``(size=(), ..., ndim=None,
    dtype=...)``.

    ``state_updates`` lists ``(rng_shared_variable, new_rng)`` for every draw,
    in creation order (copy states between streams with it). ``seed(n)``
    gives each draw a fresh RandomState seeded from ``RandomState(n)``.
    """

    def __init__(self, seed=None):
        self.state_updates = []
        self.default_instance_seed = seed
        self.gen_seedgen = np.random.RandomState(seed)

    def updates(self):
        """The ``(rng, new_rng)`` pairs of every draw made so far."""
        return list(self.state_updates)

    def seed(self, seed=None):
        """Reseed every draw: ``srng.seed(902340)`` (None: the constructor's seed).

        Also resets the generator of the seeds given to future draws.
        """
        if seed is None:
            seed = self.default_instance_seed
        seedgen = np.random.RandomState(seed)
        for old_r, _new_r in self.state_updates:
            old_r.set_value(np.random.RandomState(int(seedgen.randint(2 ** 30))), borrow=True)
        self.gen_seedgen = seedgen

    def __getitem__(self, item):
        """``srng[rv.rng]``: the RandomState held by a draw's state variable."""
        return item.get_value(borrow=True)

    def __setitem__(self, item, val):
        if not isinstance(val, np.random.RandomState):
            raise TypeError(f"RandomStreams: expected a numpy RandomState, got "
                            f"{type(val).__name__}")
        item.set_value(val, borrow=True)

    def gen(self, op, *args, **kwargs):
        """Make a draw with ``op(random_state, *args, **kwargs) -> (new_state, sample)``.

        >>> u = srng.gen(raw_random.uniform, (3,), low=-1.0, high=1.0)
        """
        seed = int(self.gen_seedgen.randint(2 ** 30))
        rng = shared(np.random.RandomState(seed), borrow=True)
        rng.tag.is_rng = True
        new_rng, out = op(rng, *args, **kwargs)
        new_rng.name = "new_rng"
        out.rng = rng
        out.update = (rng, new_rng)
        rng.default_update = new_rng
        self.state_updates.append(out.update)
        return out

    def uniform(self, size=(), low=0.0, high=1.0, ndim=None, dtype=None):
        """Uniform samples in [low, high): ``srng.uniform((2, 2), low=-1.0, high=1.0)``."""
        return self.gen(raw_random.uniform, size, low, high, ndim=ndim, dtype=dtype)

    def normal(self, size=(), avg=0.0, std=1.0, ndim=None, dtype=None):
        """Gaussian samples: ``srng.normal((2, 2), avg=0.0, std=1.0)``."""
        return self.gen(raw_random.normal, size, avg, std, ndim=ndim, dtype=dtype)

    def binomial(self, size=(), n=1, p=0.5, ndim=None, dtype="int64"):
        """Binomial counts; a dropout mask: ``srng.binomial(X.shape, p=0.8, dtype=floatX)``."""
        return self.gen(raw_random.binomial, size, n, p, ndim=ndim, dtype=dtype)

    def random_integers(self, size=(), low=0, high=1, ndim=None, dtype="int64"):
        """Integers in [low, high], both included: ``srng.random_integers((5,), 1, 6)``."""
        return self.gen(raw_random.random_integers, size, low, high, ndim=ndim, dtype=dtype)

    def choice(self, size=(), a=2, replace=True, p=None, ndim=None, dtype="int64"):
        """Samples from ``a`` (int n or vector): ``srng.choice((3,), a=10, replace=False)``."""
        return self.gen(raw_random.choice, size, a, replace, p, ndim=ndim, dtype=dtype)

    def permutation(self, size=(), n=1, ndim=None, dtype="int64"):
        """Shuffles of range(n), shape ``size + (n,)``: ``srng.permutation(n=10)``."""
        return self.gen(raw_random.permutation, size, n, ndim=ndim, dtype=dtype)

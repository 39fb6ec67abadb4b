"""MRG_RandomStreams: Theano's MRG31k3p random streams (L'Ecuyer & Touzin 2000).

>>> from symgraph.sandbox.rng_mrg import MRG_RandomStreams as RandomStreams
>>> srng = RandomStreams(seed=12345)
>>> mask = srng.binomial(X.shape, p=0.8, dtype=config.floatX)    # a dropout mask
>>> f = function([X], X * mask / 0.8)       # each call draws a new mask

Specification of the ``MRGUniform`` op (``symgraph.ops.random``), which every
backend must reproduce bit for bit
==========================================================================

State. An int32 matrix ``rstate`` of shape ``(n_streams, 6)``, C order; row
``s`` is stream ``s``: ``x11 x12 x13`` (component 1, each in [0, M1)) and
``x21 x22 x23`` (component 2, each in [0, M2)), with M1 = 2147483647 = 2**31 - 1
and M2 = 2147462579 = 2**31 - 21069. ``x11``/``x21`` are the newest values.

One step of a stream. Compute in 64-bit signed integers (all values stay
below 2**33; never rely on int32 overflow, undefined in C):

    y1 = ((x12 & 511) << 22) + (x12 >> 9) + ((x13 & 16777215) << 7) + (x13 >> 24)
    if y1 >= M1: y1 -= M1
    y1 += x13
    if y1 >= M1: y1 -= M1                  # y1 = (2**22 x12 + 129 x13) mod M1
    z1 = ((x21 & 65535) << 15) + 21069 * (x21 >> 16)
    if z1 >= M2: z1 -= M2
    z2 = ((x23 & 65535) << 15) + 21069 * (x23 >> 16)
    if z2 >= M2: z2 -= M2
    z2 += x23
    if z2 >= M2: z2 -= M2
    z2 += z1
    if z2 >= M2: z2 -= M2                  # z2 = (2**15 x21 + 32769 x23) mod M2
    (x11, x12, x13) = (y1, x11, x12)
    (x21, x22, x23) = (z2, x21, x22)
    k = x11 - x21;  if k <= 0: k += M1     # k in [1, M1]

Output value (never 0, never 1):
    float64: (double)k * 4.656612873077392578125e-10          (2**-31, exact)
    float32: (float)k * 4.6566126e-10f   -- k rounded to float32 first (round to
             nearest even), then one float32 multiply (no FMA, no fast-math).

Layout. ``size`` gives the sample's shape; ``n = prod(size)`` elements in C
(row-major) order. Let ``used = min(n_streams, n)``. Element ``i`` (flat index)
is the ``(i // used)``-th step of stream ``s = i % used``; equivalently stream
``s`` (for ``s < used``) makes steps for elements ``s, s + used, s + 2 used, ...``
in that order, so a GPU runs one thread per stream with a loop
``for (i = s; i < n; i += used)``. Streams ``s >= used`` are not touched. The
new state (output 0) is the input state after those steps; the input itself is
left unchanged unless the op has ``inplace=True``.

Seeding (host side only; ``MRG_RandomStreams.get_substream_rstates``). The
generator state ``rstate0`` (6 values) is ``[seed] * 6`` for an int seed. A
draw with ``n_streams`` streams gets rows ``A72**s rstate0`` for
``s = 0 .. n_streams - 1`` (A72 = the one-step matrices raised to 2**72, applied
per component mod M1 / M2), and then ``rstate0`` jumps by 2**134 steps for the
next draw, as in Theano. ``normal`` is Box-Muller on one uniform draw of shape
``(2, ceil(n / 2))``: row 0 gives radii, row 1 angles; cos samples then sin
samples, the first ``n`` of them in C order.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..config import config
from ..graph import Variable
from .elemwise import as_tensor_variable, cast, cos, log, lt, sin, sqrt
from .random import MRG_M1 as M1, MRG_M2 as M2, MRGUniform, MultinomialFromUniform, size_vector_and_ndim
from .reduce import prod
from .shape import concatenate, reshape
from .sharedvar import shared
from .type import upcast

__all__ = ["MRG_RandomStreams", "guess_n_streams"]

# One step of each component as a 3x3 matrix on (x_n-1, x_n-2, x_n-3).
A1P0 = ((0, 4194304, 129), (1, 0, 0), (0, 1, 0))
A2P0 = ((32768, 0, 32769), (1, 0, 0), (0, 1, 0))


def _matmul_mod(a, b, m):
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) % m for j in range(3))
                 for i in range(3))


def _pow2_mod(a, e, m):
    """a ** (2 ** e) mod m (Python ints, exact)."""
    for _ in range(e):
        a = _matmul_mod(a, a, m)
    return a


A1P72, A2P72 = _pow2_mod(A1P0, 72, M1), _pow2_mod(A2P0, 72, M2)      # between substreams
A1P134, A2P134 = _pow2_mod(A1P0, 134, M1), _pow2_mod(A2P0, 134, M2)  # between draws


def _apply_mod(a, rows, m):
    """Rows (k, 3) int64 -> rows @ a.T mod m, exactly (each product < 2**62)."""
    a = np.asarray(a, dtype=np.int64)
    return ((rows[:, None, :] * a[None, :, :]) % m).sum(axis=2) % m


def guess_n_streams(size, warn=False):
    """Theano's stream count: prod(size) // 6 (at most 60 * 256) for a tuple of ints, else 60 * 256."""
    if isinstance(size, (tuple, list)) and all(isinstance(i, (int, np.integer)) for i in size):
        r = int(np.prod(size, dtype=np.int64))
        if r > 6:
            r = r // 6
        return max(1, min(r, 60 * 256))
    if warn:
        warnings.warn(f"MRG_RandomStreams can't determine #streams from size ({size}), "
                      f"guessing 60*256", stacklevel=3)
    return 60 * 256


def _check_size(size):
    if isinstance(size, (tuple, list)):
        for d in size:
            if not isinstance(d, (int, np.integer, Variable)):
                raise TypeError(f"size must be a tuple of ints or symbolic scalars, got {size!r}")
            if isinstance(d, (int, np.integer)) and d <= 0:
                raise ValueError(f"the size {size} contains a dimension with value <= 0")
    elif not (isinstance(size, Variable) and size.ndim == 1):
        raise TypeError(f"size must be a tuple of ints or a symbolic vector (e.g. X.shape), "
                        f"got {size!r}")


class MRG_RandomStreams:
    """Theano's ``MRG_RandomStreams(seed=12345)``: ``uniform``, ``normal``, ``binomial``
    (n=1), ``multinomial`` (n=1), each taking ``nstreams=`` (default: :func:`guess_n_streams`).

    ``seed`` is an int in [1, M2) (replicated 6 times) or 6 ints. Each draw owns
    an int32 shared state ``(nstreams, 6)`` whose ``default_update`` is the
    draw's new state. ``state_updates`` lists ``(state, new_state, size, nstreams)``.
    """

    def __init__(self, seed=12345):
        self.state_updates = []
        self.default_instance_seed = seed
        self.set_rstate(seed)

    def updates(self):
        return list(self.state_updates)

    def set_rstate(self, seed):
        """Set the generator state from an int seed or 6 ints."""
        if isinstance(seed, (int, np.integer)):
            seed = int(seed)
            if not 0 < seed < M2:
                raise ValueError(f"MRG_RandomStreams: seed must be in [1, {M2}), got {seed}")
            self.rstate = np.asarray([seed] * 6, dtype=np.int32)
        elif isinstance(seed, (tuple, list, np.ndarray)) and len(seed) == 6:
            seed = [int(s) for s in seed]
            if not (all(0 <= s < M1 for s in seed[:3]) and all(0 <= s < M2 for s in seed[3:])):
                raise ValueError(f"MRG_RandomStreams: seed values must be in [0, M1) for the "
                                 f"first 3 and [0, M2) for the last 3, got {seed}")
            if not any(seed[:3]) or not any(seed[3:]):
                raise ValueError(f"MRG_RandomStreams: neither half of the seed may be all 0, "
                                 f"got {seed}")
            self.rstate = np.asarray(seed, dtype=np.int32)
        else:
            raise TypeError(f"MRG_RandomStreams: seed must be 1 int or 6 ints, got {seed!r}")

    def seed(self, seed=None):
        """Reset the generator to ``seed`` (default: the constructor's) and re-seed every draw."""
        self.set_rstate(self.default_instance_seed if seed is None else seed)
        for old_r, _new_r, size, nstreams in self.state_updates:
            if nstreams is None:
                nstreams = self.n_streams(size)
            old_r.set_value(self.get_substream_rstates(nstreams), borrow=True)

    def inc_rstate(self):
        """Jump the generator state 2**134 steps ahead (the start of the next draw)."""
        r = self.rstate.astype(np.int64)[None, :]
        self.rstate = np.concatenate([_apply_mod(A1P134, r[:, :3], M1),
                                      _apply_mod(A2P134, r[:, 3:], M2)], axis=1)[0].astype(np.int32)

    def get_substream_rstates(self, n_streams, dtype=None, inc_rstate=True):
        """An int32 (n_streams, 6) state, row s = rstate jumped s * 2**72 steps."""
        n_streams = int(n_streams)
        if n_streams <= 0:
            raise ValueError(f"n_streams must be positive, got {n_streams}")
        rows = np.empty((n_streams, 6), dtype=np.int64)
        rows[0] = self.rstate
        p1, p2, k = A1P72, A2P72, 1
        while k < n_streams:       # rows[k:2k] = A72**k rows[0:k]
            m = min(k, n_streams - k)
            rows[k:k + m, :3] = _apply_mod(p1, rows[:m, :3], M1)
            rows[k:k + m, 3:] = _apply_mod(p2, rows[:m, 3:], M2)
            k += m
            p1, p2 = _matmul_mod(p1, p1, M1), _matmul_mod(p2, p2, M2)
        if inc_rstate:
            self.inc_rstate()
        return rows.astype(np.int32)

    def n_streams(self, size):
        return guess_n_streams(size)

    def pretty_return(self, node_rstate, new_rstate, sample, size, nstreams):
        sample.rstate = node_rstate
        sample.update = (node_rstate, new_rstate)
        self.state_updates.append((node_rstate, new_rstate, size, nstreams))
        node_rstate.default_update = new_rstate
        return sample

    def uniform(self, size, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None):
        """Uniform samples in (low, high): ``srng.uniform((2, 3), low=-1.0, high=1.0)``.

        ``size``: a tuple of ints / symbolic scalars or a symbolic vector
        (``X.shape``); ``dtype`` defaults to the upcast of floatX, low and high.
        """
        _check_size(size)
        low_v, high_v = as_tensor_variable(low), as_tensor_variable(high)
        if dtype is None:
            dtype = upcast(config.floatX, low_v.dtype, high_v.dtype)
        vec, ndim = size_vector_and_ndim(size, ndim)
        orig_nstreams = nstreams
        if nstreams is None:
            nstreams = self.n_streams(size)
        node_rstate = shared(self.get_substream_rstates(nstreams), borrow=True)
        node_rstate.tag.is_rng = True
        new_rstate, u = MRGUniform(dtype, ndim)(node_rstate, vec)
        u = self.pretty_return(node_rstate, new_rstate, u, size, orig_nstreams)
        if _is_number(low, 0) and _is_number(high, 1):
            return u
        r = u * (cast(high_v, dtype) - cast(low_v, dtype)) + cast(low_v, dtype)
        r.rstate, r.update = u.rstate, u.update
        return r

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", nstreams=None):
        """0/1 samples, 1 with probability p (n=1 only): ``srng.binomial(X.shape, p=0.8)``."""
        if not _is_number(n, 1):
            raise NotImplementedError("MRG_RandomStreams.binomial with n > 1")
        x = self.uniform(size=size, ndim=ndim, nstreams=nstreams)
        out = cast(lt(x, p), dtype)
        out.rstate, out.update = x.rstate, x.update
        return out

    def normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None):
        """Gaussian samples by Box-Muller: ``srng.normal((128, 10), avg=0.0, std=0.01)``."""
        _check_size(size)
        avg_v, std_v = as_tensor_variable(avg), as_tensor_variable(std)
        if dtype is None:
            dtype = upcast(config.floatX, avg_v.dtype, std_v.dtype)
        vec, ndim = size_vector_and_ndim(size, ndim)
        static = isinstance(size, (tuple, list)) and all(isinstance(d, (int, np.integer))
                                                           for d in size)
        if static:
            n = int(np.prod(size, dtype=np.int64))
            half = (n + 1) // 2
        else:
            n = cast(prod(vec), "int64")
            half = (n + 1) // 2
        u = self.uniform((2, half), dtype=dtype, nstreams=nstreams)
        radius = sqrt(-2 * log(u[0]))
        theta = (2 * np.pi) * u[1]
        z = concatenate([radius * cos(theta), radius * sin(theta)])
        if not (static and n == 2 * half):
            z = z[:n]
        z = reshape(z, vec, ndim=ndim)
        if not (_is_number(avg, 0) and _is_number(std, 1)):
            z = cast(avg_v, dtype) + cast(std_v, dtype) * z
        z.rstate, z.update = u.rstate, u.update
        return z

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None):
        """One-hot rows (n=1): row r has its 1 in column m with probability ``pvals[r, m]``.

        >>> srng.multinomial(pvals=[[.98, .01, .01], [.01, .98, .01]])   # likely [[1,0,0],[0,1,0]]
        """
        if pvals is None:
            raise TypeError("MRG_RandomStreams.multinomial: pvals is required")
        pvals = as_tensor_variable(pvals)
        if size is not None or ndim is not None:
            raise ValueError("MRG_RandomStreams.multinomial takes its shape from pvals; "
                             "do not pass size or ndim")
        if not _is_number(n, 1) or pvals.ndim != 2:
            raise NotImplementedError("MRG_RandomStreams.multinomial: only n=1 with a pvals matrix")
        unis = self.uniform(size=(pvals.shape[0],), ndim=1, nstreams=nstreams)
        out = MultinomialFromUniform(dtype)(pvals, unis)
        out.rstate, out.update = unis.rstate, unis.update
        return out


def _is_number(x, value):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) \
        and x == value

"""Random-number ops: ``RandomFunction`` (NumPy RandomState draws) and ``MRGUniform`` (MRG31k3p).

Both are pure ops with two outputs, ``(new_state, sample)``: the state input is
never modified (``perform`` copies it first), and the user-facing streams
(``symgraph.tensor.shared_randomstreams.RandomStreams``,
``symgraph.sandbox.rng_mrg.MRG_RandomStreams``) make the new state the
``default_update`` of the shared state variable, so each call of a compiled
function advances it. Random ops have no gradient with respect to their inputs.

``MRGUniform``'s exact element/stream layout, which the C and CUDA backends
reproduce bit for bit, is specified in ``symgraph/sandbox/rng_mrg.py``;
:func:`mrg_uniform_kernel` here is the reference implementation.
"""
from __future__ import annotations

import builtins
import copy
import sys

import numpy as np

from ..config import config
from ..graph import Apply, GenericType, Op, Variable
from .elemwise import as_tensor, as_tensor_variable, cast, constant
from .shape import _shape_length, shape_vector, static_dims
from .type import TensorType, INT_DTYPES, normalize_dtype, upcast

#: Type of a symbolic numpy RandomState (equal to the type ``shared(RandomState(...))`` gets).
random_state_type = GenericType(np.random.RandomState)


def _int64_vector(size):
    size = as_tensor(size)
    if size.ndim != 1 or size.dtype not in INT_DTYPES:
        raise TypeError(f"size must be an integer vector, got {size.type}")
    return size if size.dtype == "int64" else cast(size, "int64")


def _size_length(size, default):
    """Number of entries of the shape vector ``size`` when known statically, else ``default``."""
    n = _shape_length(size)
    return default if n is None else n


def _size_bcast(size, n):
    """Broadcastable pattern of a sample whose shape is the length-``n`` vector ``size``."""
    return tuple(d == 1 for d in static_dims(size, n))


# --------------------------------------------------------------------------
# NumPy RandomState samplers: name -> (function(rng, shape, *params), ndim_added).
# ``shape`` is a tuple, or None to take the shape from the broadcast parameters.

def _permutation(rng, shape, n):
    n = int(n)
    if shape is None:
        return rng.permutation(n)
    out = np.empty(tuple(shape) + (n,), dtype="int64")
    for idx in np.ndindex(*shape):
        out[idx] = rng.permutation(n)
    return out


def _choice(rng, shape, a, replace, p=None):
    a = a if np.ndim(a) else int(a)
    return rng.choice(a, size=shape, replace=bool(replace), p=p)


SAMPLERS = {
    "uniform": (lambda rng, shape, low, high: rng.uniform(low, high, size=shape), 0),
    "normal": (lambda rng, shape, avg, std: rng.normal(avg, std, size=shape), 0),
    "binomial": (lambda rng, shape, n, p: rng.binomial(n, p, size=shape), 0),
    # Theano's random_integers: ``high`` is included
    "random_integers": (lambda rng, shape, low, high:
                        rng.randint(low, np.asarray(high) + 1, size=shape, dtype="int64"), 0),
    "choice": (_choice, 0),
    "permutation": (_permutation, 1),
}
# Samplers whose parameters do not broadcast against the sample (size=() means a scalar draw).
_NO_PARAM_BROADCAST = ("choice", "permutation")


def _copy_state(node, rng):
    """A RandomState in ``rng``'s state that is not ``rng`` (the op is pure).

    ``copy.deepcopy`` of a RandomState pickles it (about 200 us); copying the
    state into an existing object is about 55 us. Each node keeps up to two
    spare objects (the ones it returned last) and reuses one only when nothing
    else refers to it (its reference count shows only the spare list): the
    object this node returned two calls ago is typically garbage by then,
    because the shared variable's container holds the newer one. An object a
    caller still holds (from ``get_value(borrow=True)``, a function output,
    ...) is never overwritten; it is dropped from the spares instead.
    """
    if type(rng) is not np.random.RandomState:      # a subclass may carry more state
        return copy.deepcopy(rng)
    spares = node.tag.__dict__.setdefault("rng_spares", [])
    for spare in spares:
        # references: the list, this loop variable, getrefcount's argument
        if spare is not rng and sys.getrefcount(spare) <= 3:
            spare.set_state(rng.get_state())
            return spare
    fresh = copy.deepcopy(rng)
    # keep the newest objects: a spare someone holds on to is forgotten (not reused)
    spares[:] = [s for s in spares if s is rng][-1:] + [fresh]
    return fresh


class RandomFunction(Op):
    """One draw from a NumPy ``RandomState``: ``(rng, size, *params) -> (new_rng, sample)``.

    ``fn`` names a sampler in :data:`SAMPLERS`; ``ndim`` is the sample's ndim.
    ``size`` is an int64 vector; an empty one means "the shape of the broadcast
    parameters" (as numpy's ``size=None``). With ``inplace=True`` the input
    RandomState is advanced in place (``destroy_map``) instead of copied.

    >>> new_rng, u = RandomFunction('uniform', 'float64', 2)(rng_var, [2, 3], 0.0, 1.0)
    """

    __props__ = ("fn", "dtype", "ndim", "inplace")

    def __init__(self, fn, dtype, ndim, inplace=False):
        if fn not in SAMPLERS:
            raise ValueError(f"RandomFunction: unknown sampler {fn!r}; known: {sorted(SAMPLERS)}")
        self.fn = fn
        self.dtype = np.dtype(dtype).name
        self.ndim = int(ndim)
        self.inplace = bool(inplace)
        if self.inplace:
            self.destroy_map = {0: [0]}

    def make_node(self, rng, size, *params):
        if not isinstance(rng, Variable) or rng.type != random_state_type:
            raise TypeError(f"{self}: the first input must be a RandomState variable "
                            f"(shared(np.random.RandomState(seed))), got {rng}")
        size = _int64_vector(size)
        params = [as_tensor(p) for p in params]
        ndim_added = SAMPLERS[self.fn][1]
        n_size = _size_length(size, self.ndim - ndim_added)
        if n_size > 0:
            if n_size + ndim_added != self.ndim:
                raise ValueError(f"{self}: size has {n_size} entries but the sample is "
                                 f"{self.ndim}-d")
            bcast = _size_bcast(size, n_size) + (False,) * ndim_added
        elif self.fn in _NO_PARAM_BROADCAST or self.ndim == 0:
            bcast = (False,) * self.ndim
        else:  # the shape comes from the parameters: broadcast their patterns
            pads = [(True,) * (self.ndim - p.ndim) + p.broadcastable for p in params]
            bcast = tuple(all(b[d] for b in pads) for d in range(self.ndim))
        sample = TensorType(self.dtype, bcast)()
        return Apply(self, [rng, size] + params, [rng.type(), sample])

    def perform(self, node, inputs, output_storage):
        rng, size, *params = inputs
        if not self.inplace:
            rng = _copy_state(node, rng)
        sampler, ndim_added = SAMPLERS[self.fn]
        shape = tuple(int(s) for s in size) if len(size) else None
        sample = np.asarray(sampler(rng, shape, *params), dtype=self.dtype)
        if sample.ndim != self.ndim:
            raise ValueError(f"{self}: drew a {sample.ndim}-d sample (shape {sample.shape}) "
                             f"for a {self.ndim}-d output; give size= or ndim= consistently")
        output_storage[0][0] = rng
        output_storage[1][0] = sample

    def L_op(self, inputs, outputs, output_grads):
        return [None] * len(inputs)

    def infer_shape(self, node, input_shapes):
        size = node.inputs[1]
        n_size = _size_length(size, self.ndim - SAMPLERS[self.fn][1])
        if n_size == 0:
            return [None, () if self.ndim == 0 else None]
        dims = tuple(size[i] for i in range(n_size))
        if SAMPLERS[self.fn][1]:  # permutation: trailing dimension n
            dims = dims + (cast(node.inputs[2], "int64"),)
        return [None, dims]


# --------------------------------------------------------------------------
# MRG31k3p (L'Ecuyer & Touzin). Layout and arithmetic: see symgraph/sandbox/rng_mrg.py.

MRG_M1 = 2147483647        # 2**31 - 1
MRG_M2 = 2147462579        # 2**31 - 21069
MRG_NORM64 = 4.656612873077392578125e-10   # 2**-31, exact in float64
MRG_NORM32 = np.float32(4.6566126e-10)     # largest float32 with float32(M1) * NORM32 < 1


def mrg_step(st):
    """Advance the streams in ``st`` (int64 array, rows x11 x12 x13 x21 x22 x23) by one draw.

    ``st`` has shape (6, k) and is updated in place. Returns the integer
    output ``k`` in [1, M1] of each stream (``x11 - x21``, wrapped mod M1).
    """
    x11, x12, x13, x21, x22, x23 = st
    # component 1: x11' = (2**22 * x12 + (2**7 + 1) * x13) mod M1, in the shift form Theano uses
    y1 = ((x12 & 511) << 22) + (x12 >> 9) + ((x13 & 16777215) << 7) + (x13 >> 24)
    y1 -= np.where(y1 >= MRG_M1, MRG_M1, 0)
    y1 += x13
    y1 -= np.where(y1 >= MRG_M1, MRG_M1, 0)
    # component 2: x21' = (2**15 * x21 + (2**15 + 1) * x23) mod M2
    z1 = ((x21 & 65535) << 15) + 21069 * (x21 >> 16)
    z1 -= np.where(z1 >= MRG_M2, MRG_M2, 0)
    z2 = ((x23 & 65535) << 15) + 21069 * (x23 >> 16)
    z2 -= np.where(z2 >= MRG_M2, MRG_M2, 0)
    z2 += x23
    z2 -= np.where(z2 >= MRG_M2, MRG_M2, 0)
    z2 += z1
    z2 -= np.where(z2 >= MRG_M2, MRG_M2, 0)
    st[2] = x12
    st[1] = x11
    st[0] = y1
    st[5] = x22
    st[4] = x21
    st[3] = z2
    d = y1 - z2
    return np.where(d <= 0, d + MRG_M1, d)


def mrg_to_float(k, dtype):
    """The uniform in (0, 1) for integer outputs ``k`` (exactly as the C/CUDA kernels compute it)."""
    if dtype == "float64":
        return k.astype(np.float64) * MRG_NORM64
    if dtype == "float32":
        return k.astype(np.float32) * MRG_NORM32
    raise TypeError(f"MRG uniform: unsupported dtype {dtype!r} (float32 or float64)")


def mrg_uniform_kernel(rstate, n, dtype):
    """Reference MRG31k3p draw: ``(new_rstate, sample[n])`` from an int32 (n_streams, 6) state.

    Element ``i`` is the ``(i // used)``-th draw of stream ``i % used`` with
    ``used = min(n_streams, n)``; streams ``>= used`` do not move. Vectorised
    over streams, one loop iteration per round of draws.
    """
    rstate = np.asarray(rstate)
    if rstate.ndim != 2 or rstate.shape[1] != 6 or rstate.dtype != np.int32:
        raise ValueError(f"MRG state must be an int32 (n_streams, 6) matrix, got "
                         f"{rstate.dtype} {rstate.shape}")
    n_streams = rstate.shape[0]
    out = np.empty(n, dtype=dtype)
    new_state = rstate.copy()
    if n == 0:
        return new_state, out
    if n_streams == 0:
        raise ValueError("MRG state has no streams")
    used = min(n_streams, n)
    st = rstate[:used].T.astype(np.int64)       # (6, used)
    for start in range(0, n, used):
        k = min(used, n - start)
        ints = mrg_step(st[:, :k] if k < used else st)   # a view: advances st
        out[start:start + k] = mrg_to_float(ints, dtype)
    new_state[:used] = st.T.astype(np.int32)
    return new_state, out


class MRGUniform(Op):
    """Uniform (0, 1) samples from MRG31k3p streams: ``(rstate, size) -> (new_rstate, sample)``.

    ``rstate`` is an int32 matrix (n_streams, 6); ``size`` an int vector of
    length ``ndim``. Call through ``MRG_RandomStreams.uniform``.

    >>> state = shared(MRG_RandomStreams(12345).get_substream_rstates(4))
    >>> new_state, u = MRGUniform('float32', 2)(state, [3, 5])
    """

    __props__ = ("dtype", "ndim", "inplace")

    def __init__(self, dtype, ndim, inplace=False):
        self.dtype = np.dtype(dtype).name
        if self.dtype not in ("float32", "float64"):
            raise TypeError(f"MRGUniform: dtype must be float32 or float64, got {dtype!r}")
        self.ndim = int(ndim)
        self.inplace = bool(inplace)
        if self.inplace:
            self.destroy_map = {0: [0]}

    def make_node(self, rstate, size):
        rstate = as_tensor(rstate)
        if rstate.type.dtype != "int32" or rstate.ndim != 2:
            raise TypeError(f"{self}: rstate must be an int32 matrix, got {rstate.type}")
        size = _int64_vector(size)
        n_size = _size_length(size, self.ndim)
        if n_size != self.ndim:
            raise ValueError(f"{self}: size has {n_size} entries for a {self.ndim}-d sample")
        sample = TensorType(self.dtype, _size_bcast(size, self.ndim))()
        return Apply(self, [rstate, size], [rstate.type(), sample])

    def perform(self, node, inputs, output_storage):
        rstate, size = inputs
        if len(size) != self.ndim:
            raise ValueError(f"{self}: size {list(size)} has {len(size)} entries, "
                             f"expected {self.ndim}")
        shape = tuple(int(s) for s in size)
        if any(s < 0 for s in shape):
            raise ValueError(f"{self}: negative size {shape}")
        new_state, flat = mrg_uniform_kernel(rstate, int(np.prod(shape, dtype=np.int64)),
                                             self.dtype)
        if self.inplace:
            rstate[...] = new_state
            new_state = rstate
        output_storage[0][0] = new_state
        output_storage[1][0] = flat.reshape(shape)

    def L_op(self, inputs, outputs, output_grads):
        return [None, None]

    def infer_shape(self, node, input_shapes):
        size = node.inputs[1]
        return [input_shapes[0], tuple(size[i] for i in range(self.ndim))]


class MultinomialFromUniform(Op):
    """One-hot draws (n=1) from the rows of ``pvals`` given one uniform per row.

    Row ``r`` gets a 1 at the first column ``m`` with ``unis[r] < cumsum(pvals[r])[m]``
    (Theano's ``MultinomialFromUniform``).
    """

    __props__ = ("dtype",)

    def __init__(self, dtype="int64"):
        self.dtype = np.dtype(dtype).name

    def make_node(self, pvals, unis):
        pvals, unis = as_tensor(pvals), as_tensor(unis)
        if pvals.ndim != 2 or unis.ndim != 1:
            raise TypeError(f"{self}: expected a pvals matrix and a uniforms vector, got "
                            f"{pvals.type} and {unis.type}")
        return Apply(self, [pvals, unis], [TensorType(self.dtype, pvals.broadcastable)()])

    def perform(self, node, inputs, output_storage):
        pvals, unis = inputs
        if unis.shape[0] != pvals.shape[0]:
            raise ValueError(f"{self}: {unis.shape[0]} uniforms for {pvals.shape[0]} rows")
        cums = np.cumsum(pvals, axis=1)
        hit = (cums <= unis[:, None]).sum(axis=1)
        out = np.zeros(pvals.shape, dtype=self.dtype)
        rows = np.nonzero(hit < pvals.shape[1])[0]
        out[rows, hit[rows]] = 1
        output_storage[0][0] = out

    def L_op(self, inputs, outputs, output_grads):
        return [None, None]

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]


# ---------------------------------------------------------------- draws from a symbolic RandomState (Theano's raw_random)

# Draws from a symbolic NumPy ``RandomState`` (Theano's ``raw_random``).
#
# Each function takes a RandomState variable (usually
# ``shared(np.random.RandomState(seed))``) and returns ``(new_random_state,
# sample)``; :class:`~symgraph.tensor.shared_randomstreams.RandomStreams` wires
# the new state in as the shared variable's ``default_update``.
#
# ``size`` is a tuple of ints and/or symbolic int scalars, a symbolic int
# vector such as ``X.shape``, or ``None``/``()`` for "the shape of the broadcast
# parameters". ``ndim`` is needed only when the length of a symbolic ``size``
# cannot be read from the graph.
#
# >>> rng = shared(np.random.RandomState(42))
# >>> new_rng, u = uniform(rng, size=(2, 3), low=-1.0, high=1.0)
# >>> f = function([], u, updates=[(rng, new_rng)])

RandomStateType = type(random_state_type)



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
    vec = shape_vector(size)
    if vec.dtype != "int64":
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

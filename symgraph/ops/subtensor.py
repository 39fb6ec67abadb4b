"""Indexing: basic (Subtensor, IncSubtensor) and advanced (AdvancedSubtensor, AdvancedIncSubtensor).

An index is described by ``idx_list``, a tuple with one entry per indexed axis:

- ``("int", c)``: an integer index; ``c`` is an int or ``"s"`` (next symbolic input)
- ``("slice", a, b, c)``: each of start/stop/step is None, an int or ``"s"``
- ``("adv",)``: an integer tensor index (advanced; next tensor input)

Symbolic inputs follow the indexed tensor (and, for Inc ops, the value) in the
order they appear in ``idx_list``.
"""
from __future__ import annotations

import builtins

import numpy as np

from ..graph import Apply, Constant, Op, Variable
from .elemwise import (as_tensor, as_tensor_variable, cast, dimshuffle, eq, index_int64, patternbroadcast,
                       zeros_like)
from . import reduce
from .shape import arange, concatenate, reshape
from .type import TensorType, INT_DTYPES


def _n_sym(entry):
    if entry[0] == "adv":
        return 1
    return sum(1 for c in entry[1:] if c == "s")


def build_index(idx_list, sym_values):
    """Python/numpy index tuple from ``idx_list`` and the runtime symbolic values."""
    it = iter(sym_values)
    out = []
    for e in idx_list:
        if e[0] == "int":
            out.append(int(next(it)) if e[1] == "s" else e[1])
        elif e[0] == "slice":
            out.append(slice(*[(int(next(it)) if c == "s" else c) for c in e[1:]]))
        else:
            out.append(np.asarray(next(it)))
    return tuple(out)


def describe_index(idx_list):
    parts = []
    for e in idx_list:
        if e[0] == "int":
            parts.append("i" if e[1] == "s" else str(e[1]))
        elif e[0] == "slice":
            a, b, c = ("s" if v == "s" else ("" if v is None else str(v)) for v in e[1:])
            parts.append(f"{a}:{b}" + (f":{c}" if c else ""))
        else:
            parts.append("idx")
    return "[" + ", ".join(parts) + "]"


def parse_index(x, key):
    """Turn a ``__getitem__`` key into (idx_list, symbolic inputs, is_advanced)."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        i = [k is Ellipsis for k in key].index(True)
        n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - n_real) + key[i + 1:]
    if any(k is None for k in key):
        raise NotImplementedError("indexing with None/newaxis: use dimshuffle('x', ...)")
    if len(key) > x.ndim:
        raise IndexError(f"too many indices ({len(key)}) for {x.type} built at {x.where()}")
    idx_list, syms, advanced = [], [], False
    for k in key:
        if isinstance(k, slice):
            comps = []
            for c in (k.start, k.stop, k.step):
                if c is None or isinstance(c, (int, np.integer)):
                    comps.append(None if c is None else int(c))
                else:
                    comps.append("s")
                    syms.append(_scalar_index(c))
            idx_list.append(("slice", *comps))
        elif isinstance(k, (int, np.integer)):
            idx_list.append(("int", int(k)))
        else:
            if isinstance(k, (list, np.ndarray)):
                k = as_tensor(np.asarray(k))
            k = as_tensor(k)
            if k.dtype == "bool":
                raise NotImplementedError("boolean mask indexing is not supported; use T.nonzero-free "
                                          "forms such as T.switch")
            if k.dtype not in INT_DTYPES:
                raise TypeError(f"index must be an integer, got {k.type}")
            if k.ndim == 0:
                idx_list.append(("int", "s"))
                syms.append(_scalar_index(k))
            else:
                idx_list.append(("adv",))
                syms.append(k)
                advanced = True
    return tuple(idx_list), syms, advanced


def _scalar_index(v):
    v = as_tensor(v)
    if v.ndim != 0 or v.dtype not in INT_DTYPES:
        raise TypeError(f"slice bounds and scalar indices must be integer scalars, got {v.type}")
    return index_int64(v) if v.dtype == "uint64" else v


def _sub_bcast(x, idx_list):
    """Broadcastable pattern of basic indexing."""
    out = []
    for d, e in enumerate(idx_list):
        if e[0] == "slice":
            full = e[1] in (None, 0) and e[2] is None and e[3] in (None, 1)
            out.append(x.broadcastable[d] and full)
    out.extend(x.broadcastable[len(idx_list):])
    return tuple(out)


def _adv_bcast(x, idx_list, idx_vars):
    """Broadcastable pattern of numpy advanced indexing (index tensors broadcast together)."""
    adv_pos = [d for d, e in enumerate(idx_list) if e[0] != "slice"]
    adv_vars = []
    it = iter(idx_vars)
    for e in idx_list:
        for _ in range(_n_sym(e)):
            v = next(it)
            if e[0] != "slice":
                adv_vars.append(v)
    nd = max(v.ndim for v in adv_vars) if adv_vars else 0
    adv_b = []
    for d in range(nd):
        flags = [v.broadcastable[d - (nd - v.ndim)] for v in adv_vars if d >= nd - v.ndim]
        adv_b.append(all(flags))
    slices = [(d, x.broadcastable[d] and e[1:] == (None, None, None))
              for d, e in enumerate(idx_list) if e[0] == "slice"]
    rest = list(x.broadcastable[len(idx_list):])
    contiguous = adv_pos == list(range(adv_pos[0], adv_pos[-1] + 1)) if adv_pos else True
    if contiguous:
        before = [b for d, b in slices if d < adv_pos[0]]
        after = [b for d, b in slices if d > adv_pos[-1]]
        return tuple(before + adv_b + after + rest)
    return tuple(adv_b + [b for _, b in slices] + rest)


class Subtensor(Op):
    """Basic indexing ``x[2:n, i]``: a view of the input."""

    __props__ = ("idx_list",)
    view_map = {0: [0]}

    def __init__(self, idx_list):
        self.idx_list = tuple(idx_list)

    def __str__(self):
        return f"Subtensor{describe_index(self.idx_list)}"

    def make_node(self, x, *syms):
        x = as_tensor(x)
        syms = [_scalar_index(s) for s in syms]
        return Apply(self, [x] + syms, [TensorType(x.dtype, _sub_bcast(x, self.idx_list))()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        idx = build_index(self.idx_list, inputs[1:])
        try:
            out = x[idx]
        except IndexError as exc:
            raise IndexError(f"{self}: {exc} (input shape {x.shape}, index {idx})") from None
        output_storage[0][0] = np.asarray(out) if not isinstance(out, np.ndarray) else out

    def grad(self, inputs, output_grads):
        x, syms = inputs[0], inputs[1:]
        g = IncSubtensor(self.idx_list)(zeros_like(x), output_grads[0], *syms) if x.type.is_float else None
        return [g] + [None] * len(syms)

    def infer_shape(self, node, shapes):
        return [None]


class _IncSubtensorBase(Op):
    """What IncSubtensor and AdvancedIncSubtensor share: a copy of x (x itself when
    ``inplace``) with the indexed region set to, or incremented by, y.

    A subclass names the op that reads the same region (``_read_op``, used by
    ``grad``) and what a failed update reports (``_error_message``); it may
    override how its index inputs are checked (``_index_inputs``), how the
    runtime index is built (``_runtime_index``) and how a region is incremented
    (``_increment``).
    """

    __props__ = ("idx_list", "set_instead_of_inc", "inplace")
    _read_op = None

    def __init__(self, idx_list, set_instead_of_inc=False, inplace=False):
        self.idx_list = tuple(idx_list)
        self.set_instead_of_inc = set_instead_of_inc
        self.inplace = inplace
        self.destroy_map = {0: [0]} if inplace else {}

    def make_node(self, x, y, *syms):
        x, y = as_tensor(x), as_tensor(y)
        if y.dtype != x.dtype:
            y = cast(y, x.dtype)
        return Apply(self, [x, y] + self._index_inputs(syms), [x.type()])

    def _index_inputs(self, syms):
        return [as_tensor(s) for s in syms]

    def _runtime_index(self, x, sym_values):
        return build_index(self.idx_list, sym_values)

    def _increment(self, out, idx, y):
        out[idx] += y

    def perform(self, node, inputs, output_storage):
        x, y = inputs[0], inputs[1]
        out = x if self.inplace else x.copy()
        idx = self._runtime_index(x, inputs[2:])
        try:
            if self.set_instead_of_inc:
                out[idx] = y
            else:
                self._increment(out, idx, y)
        except (ValueError, IndexError) as exc:
            raise type(exc)(self._error_message(exc, x, idx, y)) from None
        output_storage[0][0] = out

    def grad(self, inputs, output_grads):
        y, syms = inputs[1], inputs[2:]
        (gz,) = output_grads
        if self.set_instead_of_inc:
            gx = type(self)(self.idx_list, True)(gz, zeros_like(y), *syms)
        else:
            gx = gz
        region = self._read_op(self.idx_list)(gz, *syms)
        if self.set_instead_of_inc and self._read_op is AdvancedSubtensor:
            region = region * self._last_write_mask(gz, region, syms)
        gy = _reduce_to(region, y)
        return [gx, gy] + [None] * len(syms)

    def _last_write_mask(self, gz, region, syms):
        """1 where an element of the indexed region is the write that survives, else 0.

        With repeated indices NumPy's assignment keeps the last write, so only that element
        of y reaches the output: each region element writes its own position, and keeps its
        gradient where reading back gives that position."""
        pos = reshape(arange(region.flatten().shape[0]), region.shape, ndim=region.ndim)
        slots = type(self)(self.idx_list, True)(cast(zeros_like(gz), "int64") - 1, pos, *syms)
        return cast(eq(self._read_op(self.idx_list)(slots, *syms), pos), gz.dtype)

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class IncSubtensor(_IncSubtensorBase):
    """``inc_subtensor(x[idx], y)`` / ``set_subtensor``: a copy of x with the region updated."""

    _read_op = Subtensor

    def __str__(self):
        kind = "Set" if self.set_instead_of_inc else "Inc"
        return f"{kind}Subtensor{describe_index(self.idx_list)}" + ("[inplace]" if self.inplace else "")

    def _index_inputs(self, syms):
        return [_scalar_index(s) if e_is_scalar else as_tensor(s)
                for s, e_is_scalar in zip(syms, self._sym_kinds())]

    def _sym_kinds(self):
        kinds = []
        for e in self.idx_list:
            kinds.extend([e[0] != "adv"] * _n_sym(e))
        return kinds

    def _error_message(self, exc, x, idx, y):
        return (f"{self}: cannot {'set' if self.set_instead_of_inc else 'increment'} "
                f"region {idx} of shape-{x.shape} tensor with a value of shape "
                f"{np.shape(y)}: {exc}")


def _reduce_to(g, y):
    """Sum ``g`` down to the shape pattern of ``y`` (where y was broadcast)."""
    if g.ndim > y.ndim:
        g = reduce.sum(g, axis=list(range(g.ndim - y.ndim)))
    axes = [d for d in range(y.ndim) if y.broadcastable[d] and not g.broadcastable[d]]
    if axes:
        g = reduce.sum(g, axis=axes, keepdims=True)
    if g.broadcastable != y.broadcastable:
        g = patternbroadcast(g, y.broadcastable)
    return g


def _check_adv(x, idx, op):
    """Bounds-check integer index arrays before numpy sees them (clear IndexError)."""
    for d, i in enumerate(idx):
        if isinstance(i, np.ndarray) and i.size:
            n = x.shape[d]
            lo, hi = int(i.min()), int(i.max())
            if lo < -n or hi >= n:
                bad = lo if lo < -n else hi
                raise IndexError(f"{op}: index {bad} is out of bounds for axis {d} with size {n} "
                                 f"(input shape {x.shape})")


class AdvancedSubtensor(Op):
    """Integer-array indexing, e.g. ``p[T.arange(n), y]`` (numpy semantics)."""

    __props__ = ("idx_list",)

    def __init__(self, idx_list):
        self.idx_list = tuple(idx_list)

    def __str__(self):
        return f"AdvancedSubtensor{describe_index(self.idx_list)}"

    def make_node(self, x, *idx):
        x = as_tensor(x)
        idx = [as_tensor(i) for i in idx]
        return Apply(self, [x] + idx, [TensorType(x.dtype, _adv_bcast(x, self.idx_list, idx))()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        idx = build_index(self.idx_list, inputs[1:])
        _check_adv(x, idx, self)
        try:
            output_storage[0][0] = np.asarray(x[idx])
        except IndexError as exc:
            raise IndexError(f"{self}: {exc} (input shape {x.shape})") from None

    def grad(self, inputs, output_grads):
        x, idx = inputs[0], inputs[1:]
        gx = AdvancedIncSubtensor(self.idx_list)(zeros_like(x), output_grads[0], *idx)
        return [gx if x.type.is_float else None] + [None] * len(idx)

    def infer_shape(self, node, shapes):
        return [None]


class AdvancedIncSubtensor(_IncSubtensorBase):
    """Accumulate (``np.add.at``) or set values at integer-array indices."""

    _read_op = AdvancedSubtensor

    def __str__(self):
        kind = "Set" if self.set_instead_of_inc else "Inc"
        return f"Advanced{kind}Subtensor{describe_index(self.idx_list)}"

    def _runtime_index(self, x, sym_values):
        idx = build_index(self.idx_list, sym_values)
        _check_adv(x, idx, self)
        return idx

    def _increment(self, out, idx, y):
        np.add.at(out, idx, y)

    def _error_message(self, exc, x, idx, y):
        return (f"{self}: {exc} (x shape {x.shape}, indexed region shape {x[idx].shape}, "
                f"y shape {np.shape(y)})")


def is_constant_index(v):
    return isinstance(v, Constant)


# ---------------------------------------------------------------- constructors

def getitem(x, key):
    if isinstance(key, tuple) and any(k is None for k in key) or key is None:
        return _getitem_newaxis(x, key if isinstance(key, tuple) else (key,))
    idx_list, syms, advanced = parse_index(x, key)
    if advanced:
        return AdvancedSubtensor(idx_list)(x, *syms)
    return Subtensor(idx_list)(x, *syms)


def _getitem_newaxis(x, key):
    """``x[:, None]``: insert broadcastable axes with a DimShuffle, then index the rest."""
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if builtins.sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    expanded = []
    for k in key:
        expanded.extend([slice(None)] * (x.ndim - n_real) if k is Ellipsis else [k])
    pattern, rest, d = [], [], 0
    for k in expanded:
        if k is None:
            pattern.append("x")
            rest.append(slice(None))
        else:
            pattern.append(d)
            rest.append(k)
            d += 1
    if d > x.ndim:
        raise IndexError(f"too many indices ({d}) for {x.type} built at {x.where()}")
    pattern.extend(range(d, x.ndim))
    return getitem(dimshuffle(x, pattern), tuple(rest))


def _inc(x_sub, y, set_instead):
    node = getattr(x_sub, "owner", None)
    if node is None or not isinstance(node.op, (Subtensor, AdvancedSubtensor)):
        what = "set_subtensor" if set_instead else "inc_subtensor"
        raise TypeError(f"{what}: the first argument must be an indexed tensor such as x[2:5], "
                        f"got {x_sub}")
    base, syms = node.inputs[0], node.inputs[1:]
    if isinstance(node.op, Subtensor):
        return IncSubtensor(node.op.idx_list, set_instead)(base, y, *syms)
    return AdvancedIncSubtensor(node.op.idx_list, set_instead)(base, y, *syms)


def set_subtensor(x_sub, y):
    """A copy of the indexed tensor with ``x[idx] = y``: ``T.set_subtensor(x[2:4], 0)``."""
    return _inc(x_sub, y, True)


def inc_subtensor(x_sub, y):
    """A copy of the indexed tensor with ``x[idx] += y`` (repeated indices accumulate)."""
    return _inc(x_sub, y, False)

__all__ = ["Subtensor", "IncSubtensor", "AdvancedSubtensor", "AdvancedIncSubtensor",
           "parse_index", "build_index", "Variable"]


def roll(x, shift, axis=None):
    """``numpy.roll``: shift the elements of ``x`` by ``shift`` (an int or integer scalar)
    along ``axis``; ``axis=None`` rolls the flattened tensor and restores the shape."""
    x = as_tensor_variable(x)
    if axis is None:
        if x.ndim > 1:
            return reshape(roll(x.flatten(), shift, axis=0), x.shape, ndim=x.ndim)
        axis = 0
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"roll: axis {axis} is out of range for {x.type}")
    axis %= x.ndim
    n = x.shape[axis]
    split = n - shift % n           # Python-style modulo: a negative shift rolls backwards
    before = (slice(None),) * axis
    return concatenate([x[before + (slice(split, None),)], x[before + (slice(0, split),)]],
                       axis=axis)

"""Collectives as graph Ops: ``allreduce``, ``allgather``, ``broadcast`` (and broadcast's gradient).

Each Op's ``perform`` calls the eager collective of :mod:`.comm` on the node's input arrays.  No
backend has a lowering for them, so every backend runs ``perform`` where the node sits in the
schedule: the C backend ends the current C segment, calls ``perform`` on views of its buffers (a
"py" step of ``backends/c/plan.py``), and continues with the next segment; MPI reads those arrays
through the buffer interface and writes into a fresh output array (no copy of a contiguous
input; a non-contiguous one is made contiguous once).

Rewrites: a collective communicates, so

* ``_no_constant_fold = True``: constant folding never computes one at compile time (a
  collective of constants must still run on every rank, or the others wait for it);
* ``_no_merge = True``: merge never combines two collectives, even equal ones on the same
  inputs.  Every collective the user wrote runs exactly once per call, so the count and order of
  MPI calls follow the program as written (what MPI's matching of collectives relies on), not
  whatever a rewrite happened to find equal.  Equal collectives on one input cost one more
  message; write them once if that matters.

Graphs must be the same on every rank (same collectives in the same order): do not put
``rank()``-dependent constants upstream of a collective, where a rewrite could simplify a
collective away on some ranks only.  A wrong order is caught by the header exchange.
"""
from __future__ import annotations

import symgraph.tensor as T
from symgraph.graph import Apply, Op

from . import comm

_REDUCE_OPS = ("sum", "mean", "max", "min")


def _names(node):
    return [v.name or f"input {i} (built at {v.where()})" for i, v in enumerate(node.inputs)]


class Collective(Op):
    """Base of the collective Ops: never constant-folded, never merged (see the module docstring)."""

    _no_constant_fold = True
    _no_merge = True


class AllReduce(Collective):
    """``n`` inputs -> ``n`` outputs, each reduced elementwise over ranks with ``op``.

    With several inputs (``average_gradients``) the arrays of one dtype are packed into buckets
    of at most ``bucket_bytes`` and each bucket is one MPI allreduce.
    """

    __props__ = ("op", "bucket_bytes")

    def __init__(self, op="sum", bucket_bytes=comm.DEFAULT_BUCKET_BYTES):
        if op not in _REDUCE_OPS:
            raise ValueError(f"allreduce op must be one of {_REDUCE_OPS}, got {op!r}")
        self.op = op
        self.bucket_bytes = int(bucket_bytes)

    def __str__(self):
        return f"AllReduce{{{self.op}}}"

    def make_node(self, *xs):
        if not xs:
            raise TypeError("allreduce needs at least one input")
        xs = [T.as_tensor_variable(x) for x in xs]
        outs = []
        for x in xs:
            if self.op in ("max", "min") and x.dtype.startswith("complex"):
                raise TypeError(f"allreduce({self.op}) of {x.type}: complex numbers have no order")
            dtype = str(comm.result_dtype(self.op, x.dtype))
            outs.append(T.TensorType(dtype, x.broadcastable)())
        return Apply(self, xs, outs)

    def perform(self, node, inputs, output_storage):
        results = comm.allreduce_arrays(inputs, self.op, names=_names(node),
                                        bucket_bytes=self.bucket_bytes)
        for cell, r in zip(output_storage, results):
            cell[0] = r

    def infer_shape(self, node, shapes):
        return list(shapes)

    def L_op(self, inputs, outputs, output_grads):
        if self.op in ("sum", "mean"):
            # y = sum_r x_r (or its mean) on every rank, the loss is the sum of every rank's:
            # d loss / d x_r = sum_s gz_s (or its mean): the same collective of the output grads
            gz = [g if g.dtype == x.dtype or not x.type.is_float else T.cast(g, x.dtype)
                  for g, x in zip(output_grads, inputs)]
            gs = AllReduce(self.op, self.bucket_bytes)(*gz)
            gs = gs if isinstance(gs, (list, tuple)) else [gs]
            return [g if x.type.is_float else None for g, x in zip(gs, inputs)]
        # max / min: the gradient goes to the ranks holding the extreme value
        total = AllReduce("sum", self.bucket_bytes)(*output_grads)
        total = total if isinstance(total, (list, tuple)) else [total]
        return [T.cast(g * T.eq(x, y), x.dtype) if x.type.is_float else None
                for g, x, y in zip(total, inputs, outputs)]


class AllGather(Collective):
    """Every rank's ``x`` concatenated along ``axis`` in rank order (equal shapes on every rank)."""

    __props__ = ("axis",)

    def __init__(self, axis=0):
        self.axis = int(axis)

    def __str__(self):
        return f"AllGather{{axis={self.axis}}}"

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        if not -x.ndim <= self.axis < x.ndim:
            raise ValueError(f"allgather axis {self.axis} out of range for {x.type}")
        ax = self.axis % x.ndim
        bc = tuple(False if d == ax else b for d, b in enumerate(x.broadcastable))
        return Apply(self, [x], [T.TensorType(x.dtype, bc)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        output_storage[0][0] = comm.allgather_array(x, self.axis % x.ndim, name=_names(node)[0])

    def infer_shape(self, node, shapes):
        ax = self.axis % node.inputs[0].ndim
        s = list(shapes[0])
        s[ax] = s[ax] * comm.size()
        return [tuple(s)]

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        if not x.type.is_float:
            return [None]
        # d loss / d x_r = sum over ranks of gz_s[rank r's slice]
        total = AllReduce("sum")(gz)
        ax = self.axis % x.ndim
        n = x.shape[ax]
        start = comm.rank() * n
        index = [slice(None)] * x.ndim
        index[ax] = slice(start, start + n)
        return [total[tuple(index)]]


class Broadcast(Collective):
    """Root's ``x`` on every rank."""

    __props__ = ("root",)

    def __init__(self, root=0):
        self.root = int(root)

    def __str__(self):
        return f"Broadcast{{root={self.root}}}"

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = comm.broadcast_array(inputs[0], self.root, name=_names(node)[0])

    def infer_shape(self, node, shapes):
        return list(shapes)

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        if not x.type.is_float:
            return [None]
        return [ReduceToRoot(self.root)(gz)]


class ReduceToRoot(Collective):
    """Sum over ranks on ``root``, zeros on the other ranks (the gradient of ``broadcast``).

    One Op rather than ``allreduce(g) * (rank == root)``: a rewrite could turn ``x * 0`` into
    zeros on the non-root ranks and remove their half of the collective.
    """

    __props__ = ("root",)

    def __init__(self, root=0):
        self.root = int(root)

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = comm.reduce_to_root_array(inputs[0], self.root, name=_names(node)[0])

    def infer_shape(self, node, shapes):
        return list(shapes)

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        return [Broadcast(self.root)(gz)] if x.type.is_float else [None]


def allreduce(x, op="sum"):
    """``x`` reduced elementwise over ranks (``op``: sum, mean, max, min), a symbolic variable.

    Every rank gets the result. The mean of an integer tensor is float64 (as NumPy's); the sum
    of booleans is their logical or. The gradient of ``sum``/``mean`` is the same collective of
    the output gradient.
    """
    return AllReduce(op)(x)


def allgather(x, axis=0):
    """Every rank's ``x`` concatenated along ``axis`` in rank order (shapes must be equal)."""
    return AllGather(axis)(x)


def broadcast(x, root=0):
    """Rank ``root``'s ``x`` on every rank (same dtype and shape required on every rank)."""
    return Broadcast(root)(x)

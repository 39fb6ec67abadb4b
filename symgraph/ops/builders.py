"""Ops built by the user: ``OpFromGraph`` (an Op over a sub-graph, Theano's
``compile.builders.OpFromGraph``) and ``as_op`` (an Op from a Python function, Theano's
``compile.ops.as_op``).

``OpFromGraph(inputs, outputs, inline=False)`` holds a copy of the graph from ``inputs`` to
``outputs`` over fresh placeholders; calling it on variables of the inputs' types builds one
node. Shared variables the sub-graph reads become extra inputs of every node (so the inner
graph holds none, as Scan's); any other free variable is an error. ``perform`` evaluates the
inner graph; the gradient is the sub-graph's own, rebuilt on the node's inputs, so it can
be differentiated again. With ``inline=True`` the rewrite pipeline's canonicalize phase
replaces each node by a copy of the sub-graph (``rewrite/canonicalize.py``,
``local_inline_op_from_graph``), so the rest of the pipeline sees through it.
"""
from __future__ import annotations

import copy

import numpy as np

from ..graph import Apply, Constant, Op, Variable, aliasing, clone_replace, graph_inputs
from .elemwise import as_tensor_variable
from .innergraph import Evaluated, make_inner, outer_outputs, placeholder, pullback
from .innergraph import infer_inner_shapes
from .type import TensorType


def _coerce(op, k, v, ttype):
    """Input ``k`` of ``op`` as a variable of ``ttype`` (only its broadcast pattern may differ)."""
    v = as_tensor_variable(v)
    if v.type == ttype:
        return v
    out = ttype.convert_variable(v)
    if out is None:
        raise TypeError(f"{op}: input {k} must be {ttype}, got {v.type} (built at {v.where()})")
    return out


def _as_type(t):
    """A TensorType from a type or a constructor (``T.dmatrix``)."""
    if isinstance(t, TensorType):
        return t
    if callable(t):
        v = t()
        if isinstance(getattr(v, "type", None), TensorType):
            return v.type
    raise TypeError(f"as_op: itypes/otypes must be tensor types or constructors (T.dmatrix), "
                    f"got {t!r}")


class OpFromGraph(Evaluated, Op):
    """``OpFromGraph(inputs, outputs, inline=False)``: see the module docstring.

    >>> x, y = T.dmatrices('x', 'y'); op = OpFromGraph([x, y], [x + y * 2])
    >>> z = op(a, b)            # a + b * 2, one node
    """

    def __init__(self, inputs, outputs, inline=False, name=None, **kwargs):
        single = not isinstance(outputs, (list, tuple))
        outputs = [outputs] if single else list(outputs)
        inputs = list(inputs)
        for v in inputs + outputs:
            if not isinstance(v, Variable):
                raise TypeError(f"OpFromGraph: inputs and outputs must be symbolic variables, "
                                f"got {type(v).__name__}")
        for v in inputs:
            if isinstance(v, Constant) or aliasing.is_shared(v):
                raise TypeError(f"OpFromGraph: input {v} must be a plain variable, not a "
                                f"constant or shared variable")
        free = [v for v in graph_inputs(outputs, inputs)
                if v not in inputs and not isinstance(v, Constant)]
        bad = [v for v in free if not aliasing.is_shared(v)]
        if bad:
            raise ValueError(f"OpFromGraph: the outputs depend on {bad[0]} (built at "
                             f"{bad[0].where()}), which is not among the inputs")
        self.shared_inputs = free
        inner_in = [placeholder(v) for v in inputs + free]
        inner_out = outer_outputs(make_inner(inputs + free, outputs), inner_in)
        self.fgraph = make_inner(inner_in, inner_out)
        self.n_explicit = len(inputs)
        self.inline = bool(inline)
        self.name = name or "OpFromGraph"
        self.kwargs = kwargs

    def __str__(self):
        return f"{self.name}{{inline={self.inline}}}"

    def inner_graphs(self):
        return [("graph", self.fgraph)]

    def with_inner(self, fgraph):
        """This op over another (rewritten) copy of its sub-graph."""
        new = copy.copy(self)
        new.__dict__.pop("_evaluators", None)
        new.fgraph = fgraph
        return new

    def make_node(self, *inputs):
        # the explicit inputs, or (a rebuilt node) all of them, shared ones included
        if len(inputs) not in (self.n_explicit, len(self.fgraph.inputs)):
            raise TypeError(f"{self}: expected {self.n_explicit} inputs, got {len(inputs)}")
        ins = [_coerce(self, k, v, p.type) for k, (v, p) in
               enumerate(zip(inputs, self.fgraph.inputs))]
        ins += self.shared_inputs[len(inputs) - self.n_explicit:]
        return Apply(self, ins, [o.type() for o in self.fgraph.outputs])

    def perform(self, node, inputs, output_storage):
        results = self.evaluator(self.fgraph, str(self))(list(inputs))
        for cell, r in zip(output_storage, results):
            cell[0] = r

    def expand(self, node_inputs):
        """The sub-graph's outputs rebuilt on ``node_inputs`` (what inlining puts in)."""
        return outer_outputs(self.fgraph, list(node_inputs))

    def L_op(self, inputs, outputs, output_grads):
        # on fresh placeholders, so an input passed twice gets each position's share
        fresh = [placeholder(v) for v in inputs]
        grads = pullback(self.expand(fresh), output_grads, fresh)
        grads = clone_replace(grads, dict(zip(fresh, inputs)))
        return [g if inp.type.is_float else None for g, inp in zip(grads, inputs)]

    def infer_shape(self, node, shapes):
        subst = dict(zip(self.fgraph.inputs, node.inputs))
        found = infer_inner_shapes(self.fgraph, shapes, subst)
        return [s if s is not None and None not in s else
                tuple(node.outputs[k].shape[d] for d in range(node.outputs[k].ndim))
                for k, s in enumerate(found)]


class FromFunctionOp(Op):
    """The Op ``as_op`` builds: ``perform`` calls the Python function on the input arrays."""

    __props__ = ("fn", "itypes", "otypes", "infer_shape_fn")

    def __init__(self, fn, itypes, otypes, infer_shape=None):
        self.fn = fn
        self.itypes = tuple(itypes)
        self.otypes = tuple(otypes)
        self.infer_shape_fn = infer_shape
        self.__name__ = getattr(fn, "__name__", "as_op")
        if infer_shape is not None:
            self.infer_shape = self._infer_shape

    def __str__(self):
        return f"FromFunctionOp{{{self.__name__}}}"

    def make_node(self, *inputs):
        if len(inputs) != len(self.itypes):
            raise TypeError(f"{self}: expected {len(self.itypes)} inputs, got {len(inputs)}")
        ins = [_coerce(self, k, v, t) for k, (v, t) in enumerate(zip(inputs, self.itypes))]
        return Apply(self, ins, [t() for t in self.otypes])

    def perform(self, node, inputs, output_storage):
        result = self.fn(*inputs)
        if len(self.otypes) == 1:
            result = [result]
        if len(result) != len(self.otypes):
            raise ValueError(f"{self}: the function returned {len(result)} values for "
                             f"{len(self.otypes)} declared outputs")
        for k, (cell, r, t) in enumerate(zip(output_storage, result, self.otypes)):
            arr = np.asarray(r)
            if arr.ndim != t.ndim:
                raise ValueError(f"{self}: output {k} must be {t.ndim}-d ({t}), the function "
                                 f"returned shape {arr.shape}")
            cell[0] = arr.astype(t.dtype, copy=False)

    def _infer_shape(self, node, shapes):
        return self.infer_shape_fn(node, shapes)

    def grad(self, inputs, output_grads):
        raise NotImplementedError(f"{self}: an Op made by as_op has no gradient")


def as_op(itypes, otypes, infer_shape=None):
    """Theano's ``compile.ops.as_op`` decorator: make a Python function on NumPy arrays an
    Op with the given input and output types (``infer_shape(node, input_shapes)``
    optional). It has no gradient and runs in Python on every backend.

    >>> @as_op(itypes=[T.dmatrix], otypes=[T.dvector])
    ... def row_norms(a):
    ...     return np.linalg.norm(a, axis=1)
    """
    itypes, otypes = [_as_type(t) for t in itypes], [_as_type(t) for t in otypes]

    def deco(fn):
        return FromFunctionOp(fn, itypes, otypes, infer_shape)
    return deco

"""What the control-flow ops (``ifelse``, ``scan``) share: building an inner graph over
placeholders, inferring shapes through it, and reaching ``gradient.grad`` from an ``L_op``.

An inner graph is a :class:`FunctionGraph` whose inputs are fresh placeholders (one per
outer value the body reads) and which holds no shared variable: the owning op's node
takes the outer values as inputs and hands them to the inner graph at run time
(:class:`symgraph.graph.evaluate.GraphEvaluator`).
"""
from __future__ import annotations

from ..graph import Constant, FunctionGraph, ancestors, clone_replace
from ..graph.evaluate import GraphEvaluator
from .elemwise import as_tensor_variable, zeros_like
from .type import TensorType

# gradient.grad lives in a higher layer; it registers itself here (see docs/DESIGN.md)
_GRAD = []


def register_gradient(grad):
    """Called once by ``symgraph.gradient``: ``grad(cost, wrt, known_grads=..., ...)``."""
    if _GRAD and _GRAD[0] is not grad:
        raise RuntimeError("a gradient function is already registered")
    _GRAD[:] = [grad]


def grad_fn():
    if not _GRAD:
        raise RuntimeError("no gradient registered: import symgraph (symgraph.gradient) first")
    return _GRAD[0]


def pullback(outputs, output_grads, wrt):
    """Vector-Jacobian products: ``sum_i output_grads[i] . d outputs[i] / d wrt`` for each wrt.

    Outputs without a gradient (None) are skipped; a wrt that nothing depends on gets zeros.
    The same output listed twice gets the sum of its gradients.
    """
    known = {}
    for o, g in zip(outputs, output_grads):
        if g is None or not isinstance(o.type, TensorType) or isinstance(o, Constant):
            continue
        if o.dtype[:3] in ("int", "uin", "boo"):
            continue
        g = as_tensor_variable(g)
        known[o] = known[o] + g if o in known else g
    if not known:
        return [zeros_like(w) for w in wrt]
    return grad_fn()(None, list(wrt), known_grads=known, disconnected_inputs="ignore",
                     return_disconnected="zero")


def placeholder(v, name=None):
    """A fresh input variable of ``v``'s type (an inner graph's view of an outer value)."""
    p = v.type()
    p.name = name if name is not None else (v.name and f"{v.name}[inner]")
    return p


def make_inner(placeholders, outputs):
    """A FunctionGraph over ``placeholders`` computing ``outputs`` (already expressed on them)."""
    return FunctionGraph(list(placeholders), list(outputs))


def clone_inner(fgraph):
    """A copy of ``fgraph`` with new placeholders (rewriting the copy leaves the original)."""
    new_in = [placeholder(v, v.name) for v in fgraph.inputs]
    outs = clone_replace(fgraph.outputs, dict(zip(fgraph.inputs, new_in)), copy_inputs=True)
    return FunctionGraph(new_in, outs)


def outer_outputs(fgraph, outer_inputs):
    """The inner graph's outputs rebuilt on ``outer_inputs`` (a symbolic copy in the outer graph)."""
    return clone_replace(fgraph.outputs, dict(zip(fgraph.inputs, outer_inputs)),
                         copy_inputs=True)


class Evaluated:
    """Mixin for ops owning inner graphs: one lazily built evaluator per inner graph."""

    def evaluator(self, fgraph, where):
        cache = self.__dict__.setdefault("_evaluators", {})
        ev = cache.get(id(fgraph))
        if ev is None or ev.fgraph is not fgraph:
            ev = cache[id(fgraph)] = GraphEvaluator(fgraph, where)
        return ev

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_evaluators", None)
        return state

    # inner graphs make two instances different unless they are the same object
    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)


def infer_inner_shapes(fgraph, input_shapes, substitute):
    """Shapes of ``fgraph.outputs`` from its inputs' shapes, as outer expressions.

    ``input_shapes``: one tuple of outer dims (ints or int scalar variables) or None per inner
    input. ``substitute``: inner input -> outer variable for the inputs whose value is
    the same at every evaluation (an expression that reads another inner variable is not an
    outer expression and gives None). Returns one tuple (entries may be None) per output.
    """
    shapes = {}
    for v, s in zip(fgraph.inputs, input_shapes):
        if s is not None:
            shapes[v] = tuple(s)
    for node in fgraph.toposort():
        ins = []
        for i in node.inputs:
            if i in shapes:
                ins.append(shapes[i])
            elif isinstance(i, Constant) and isinstance(i.type, TensorType):
                ins.append(tuple(int(d) for d in getattr(i.data, "shape", ())))
            else:
                ins.append(None)
        if not hasattr(node.op, "infer_shape") or any(
                s is None for s, i in zip(ins, node.inputs) if isinstance(i.type, TensorType)):
            continue
        try:
            outs = node.op.infer_shape(node, ins)
        except Exception:
            continue
        for o, s in zip(node.outputs, outs or ()):
            if s is not None and isinstance(o.type, TensorType) and len(s) == o.ndim:
                shapes[o] = tuple(s)
    inner_vars = set(fgraph.variables) - set(substitute)
    result = []
    for o in fgraph.outputs:
        s = shapes.get(o)
        if s is None or not isinstance(o.type, TensorType):
            result.append(None)
            continue
        dims = []
        for d, dim in enumerate(s):
            if o.type.broadcastable[d]:
                dims.append(1)
            elif isinstance(dim, int) or not hasattr(dim, "owner"):
                dims.append(int(dim))
            elif any(a in inner_vars for a in ancestors([dim]) if not isinstance(a, Constant)):
                dims.append(None)
            else:
                dims.append(clone_replace([dim], dict(substitute))[0] if substitute else dim)
        result.append(tuple(dims))
    return result


__all__ = ["register_gradient", "pullback", "placeholder", "make_inner", "clone_inner",
           "infer_inner_shapes", "outer_outputs", "Evaluated"]

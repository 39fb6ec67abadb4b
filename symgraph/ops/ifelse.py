"""IfElse: a lazy conditional, ``ifelse(cond, then_branch, else_branch)``.

Each branch is an inner FunctionGraph over the same placeholders, one per outer value the
branches read (graph inputs of the branches, stopping at everything the condition already
computes). The node's inputs are ``[cond] + those outer values``; ``perform`` evaluates the
condition's value and runs only the taken branch's graph (``GraphEvaluator``), so every
backend that calls ``perform`` (the reference, and the C backend for ops it does not lower)
is lazy without any step-loop support.

    z = ifelse(T.lt(a, b), T.mean(x), T.mean(y))     # one of the two means is computed
"""
from __future__ import annotations

from ..graph import Apply, Constant, Op, ancestors, clone_replace, graph_inputs, with_test_values
from .elemwise import as_tensor_variable, patternbroadcast
from .innergraph import (Evaluated, clone_inner, infer_inner_shapes, make_inner, outer_outputs,
                         placeholder, pullback)
from .shape import Shape_i
from .type import TensorType


class IfElse(Evaluated, Op):
    """``n`` outputs: those of ``then_fg`` when the condition (input 0) is true, else ``else_fg``.

    Inputs 1.. feed the placeholders shared by both inner graphs.
    """

    def __init__(self, then_fg, else_fg, name=None):
        if len(then_fg.outputs) != len(else_fg.outputs):
            raise ValueError("IfElse: the branches have different numbers of outputs")
        self.then_fg = then_fg
        self.else_fg = else_fg
        self.n_outs = len(then_fg.outputs)
        self.name = name

    def __str__(self):
        return f"IfElse{{{self.name or ''}{',' if self.name else ''}n_outs={self.n_outs}}}"

    __repr__ = __str__

    def inner_graphs(self):
        return [("then", self.then_fg), ("else", self.else_fg)]

    def with_inner(self, then_fg, else_fg):
        return IfElse(then_fg, else_fg, self.name)

    def make_node(self, cond, *inputs):
        cond = as_tensor_variable(cond)
        if cond.ndim != 0:
            raise TypeError(f"ifelse: the condition must be a scalar, got {cond.type}")
        if len(inputs) != len(self.then_fg.inputs):
            raise ValueError(f"IfElse: {len(inputs)} inputs for {len(self.then_fg.inputs)} "
                             f"placeholders")
        for k, (i, p) in enumerate(zip(inputs, self.then_fg.inputs)):
            if i.type != p.type:
                raise TypeError(f"IfElse: input {k} has type {i.type}, expected {p.type}")
        outs = [o.type() for o in self.then_fg.outputs]
        return Apply(self, [cond, *inputs], outs)

    def perform(self, node, inputs, output_storage):
        cond, args = inputs[0], list(inputs[1:])
        if bool(cond):
            results = self.evaluator(self.then_fg, f"ifelse {self.name or ''} then-branch")(args)
        else:
            results = self.evaluator(self.else_fg, f"ifelse {self.name or ''} else-branch")(args)
        for cell, r in zip(output_storage, results):
            cell[0] = r

    def L_op(self, inputs, outputs, output_grads):
        cond, args = inputs[0], inputs[1:]
        diff = [k for k, a in enumerate(args) if isinstance(a.type, TensorType) and a.type.is_float]
        grads = [None] * len(args)
        if not diff:
            return [None] + grads
        wrt = [args[k] for k in diff]
        g_then = pullback(outer_outputs(self.then_fg, args), output_grads, wrt)
        g_else = pullback(outer_outputs(self.else_fg, args), output_grads, wrt)
        both = ifelse(cond, list(g_then), list(g_else), name=f"grad_{self.name or 'ifelse'}")
        for k, g in zip(diff, both):
            grads[k] = g
        return [None] + grads

    def infer_shape(self, node, input_shapes):
        subst = dict(zip(self.then_fg.inputs, node.inputs[1:]))
        sub_else = dict(zip(self.else_fg.inputs, node.inputs[1:]))
        st = infer_inner_shapes(self.then_fg, input_shapes[1:], subst)
        se = infer_inner_shapes(self.else_fg, input_shapes[1:], sub_else)
        result = []
        for k, out in enumerate(node.outputs):
            if not isinstance(out.type, TensorType):
                result.append(None)
                continue
            a, b = st[k], se[k]
            dims = []
            for d in range(out.ndim):
                x = a[d] if a is not None else None
                y = b[d] if b is not None else None
                if out.type.broadcastable[d]:
                    dims.append(1)
                elif x is None or y is None:
                    dims.append(Shape_i(d)(out))
                elif x is y or (isinstance(x, int) and isinstance(y, int) and x == y):
                    dims.append(x)
                else:
                    dims.append(ifelse(node.inputs[0], as_tensor_variable(x, dtype="int64"),
                                       as_tensor_variable(y, dtype="int64")))
            result.append(tuple(dims))
        return result


def _unify(k, a, b):
    """Make branch outputs ``a`` and ``b`` (output k) the same type, or say why not."""
    if not isinstance(a.type, TensorType) or not isinstance(b.type, TensorType):
        if a.type != b.type:
            raise TypeError(f"ifelse: output {k}: the then-branch is {a.type} and the "
                            f"else-branch {b.type}")
        return a, b
    if a.ndim != b.ndim or a.dtype != b.dtype:
        raise TypeError(
            f"ifelse: output {k}: the then-branch gives {a.type} (built at {a.where()}) and the "
            f"else-branch {b.type} (built at {b.where()}); both branches must have the same "
            f"dtype and number of dimensions (use T.cast(x, dtype) on one of them)")
    if a.broadcastable != b.broadcastable:
        common = tuple(x and y for x, y in zip(a.broadcastable, b.broadcastable))
        a, b = patternbroadcast(a, common), patternbroadcast(b, common)
    return a, b


def ifelse(condition, then_branch, else_branch, name=None):
    """``then_branch`` if the scalar ``condition`` is true, else ``else_branch``, computing
    only the branch taken. Branches are variables or lists of variables of the same types.

    >>> z = ifelse(T.gt(x.sum(), 0), x * 2, -x)
    """
    single = not isinstance(then_branch, (list, tuple))
    thens = [then_branch] if single else list(then_branch)
    elses = [else_branch] if not isinstance(else_branch, (list, tuple)) else list(else_branch)
    if len(thens) != len(elses):
        raise ValueError(f"ifelse: the then-branch has {len(thens)} outputs and the else-branch "
                         f"{len(elses)}; they must have the same number")
    if not thens:
        raise ValueError("ifelse: the branches have no outputs")
    cond = as_tensor_variable(condition)
    if cond.ndim != 0:
        raise TypeError(f"ifelse: the condition must be a scalar, got {cond.type} (built at "
                        f"{cond.where()}); reduce it first (T.any, T.all, x.sum() > 0)")
    thens = [_as_var(t) for t in thens]
    elses = [_as_var(e) for e in elses]
    pairs = [_unify(k, a, b) for k, (a, b) in enumerate(zip(thens, elses))]
    thens, elses = [p[0] for p in pairs], [p[1] for p in pairs]
    # values the condition computes anyway are inputs of the branches; the rest is lazy
    computed = set(ancestors([cond]))
    outer = [v for v in graph_inputs(thens + elses, blockers=computed)
             if not isinstance(v, Constant)]
    ph = [placeholder(v) for v in outer]
    mapping = dict(zip(outer, ph))
    from_outer = _rebuild(thens, mapping), _rebuild(elses, mapping)
    op = IfElse(make_inner(ph, from_outer[0]), make_inner(ph, from_outer[1]), name)
    outs = with_test_values(op.make_node(cond, *outer)).outputs
    for o in outs:
        o.name = name
    return outs[0] if single else outs


def _as_var(x):
    return x if hasattr(x, "owner") and hasattr(x, "type") else as_tensor_variable(x)


def _rebuild(outputs, mapping):
    return clone_replace(outputs, mapping, copy_inputs=True)


__all__ = ["IfElse", "ifelse", "clone_inner"]

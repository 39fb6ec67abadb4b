"""Aliasing: which values may share memory, and where shared variables keep their values.

One place for the rules that ``function()``, the inplace rewrite and the backends follow:

- a shared variable's value lives in its *storage*, a one-element list every compiled
  function reads (``storage(v)[0]``) and writes once per call, after every output is computed;
- an output may be a view of an input (``Op.view_map``) or overwrite one (``Op.destroy_map``);
  an op may also pass an input through without declaring a view
  (``Op.output_may_alias_input``), which matters to the inplace rewrite;
- an array returned to the user must not be an input, a constant, another output or a
  shared variable's new value (else changing one changes the other): ``outputs_to_copy``.
"""
from __future__ import annotations

from .basic import Constant
from .shared import SharedVariable


def is_shared(var):
    """True for a shared variable (its value persists across calls in its storage)."""
    return isinstance(var, SharedVariable)


def storage(var):
    """The one-element list holding a shared variable's value, or None for other variables."""
    return var.container if isinstance(var, SharedVariable) else None


def view_sources(node, index):
    """Inputs of ``node`` whose memory output ``index`` may be (declared views and destroys)."""
    op = node.op
    return [node.inputs[i] for m in (op.view_map, op.destroy_map) for i in m.get(index, ())]


def destroyed_inputs(node, keep=None):
    """Positions of the inputs ``node`` overwrites (``destroy_map``), those for which
    ``keep(variable)`` is true when given (e.g. graph inputs a backend must copy first)."""
    return sorted({k for ins in node.op.destroy_map.values() for k in ins
                   if keep is None or keep(node.inputs[k])})


def is_graph_input(var):
    """A free input of a graph (an explicit input or a shared variable), not a constant."""
    return var.owner is None and not isinstance(var, Constant)


def may_alias_input(node, index):
    """True when output ``index`` of ``node`` may share memory with an input it does not
    destroy: a declared view, or an input the op passes through (``output_may_alias_input``)."""
    op = node.op
    if index in op.view_map:
        return True
    if index in op.destroy_map:
        return False            # the destroyed input's buffer, already owned by this chain
    probe = getattr(op, "output_may_alias_input", None)
    return bool(probe(index)) if probe is not None else False


def alias_roots(var):
    """Variables whose memory ``var`` may be: following views and destroys back to a graph
    input or to the output of a node that allocates its result."""
    roots, stack, seen = set(), [var], set()
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        sources = view_sources(v.owner, v.index) if v.owner is not None else ()
        if sources:
            stack.extend(sources)
        else:
            roots.add(v)
    return roots


def outputs_to_copy(fgraph, n_outputs, borrow, internal, updated):
    """Which returned outputs and which new shared values must be copied before use.

    ``fgraph.outputs`` holds the ``n_outputs`` outputs, then one new value per variable of
    ``updated``; ``borrow[i]`` says the user accepts an alias for output i; ``internal`` are
    output indices the backend may overwrite on the next call (its own buffers). Returns
    ``(outputs, updates)``: indices into the outputs and into ``updated``.
    """
    roots = [alias_roots(o) for o in fgraph.outputs]
    graph_ins = set(fgraph.inputs)

    def foreign(k, sv=None):
        """Output k may share memory with an input (other than sv) or a constant."""
        return any((r in graph_ins and r is not sv) or isinstance(r, Constant) for r in roots[k])

    upd_roots = set().union(*roots[n_outputs:])
    outputs = [i for i in range(n_outputs)
               if not borrow[i] and (i in internal or foreign(i) or roots[i] & upd_roots
                                     or any(roots[i] & r for r in roots[:i]))]
    updates = [j for j, sv in enumerate(updated)
               if (n_outputs + j) in internal or foreign(n_outputs + j, sv)
               or any(roots[n_outputs + j] & r for r in roots[n_outputs:n_outputs + j])]
    return outputs, updates


__all__ = ["is_shared", "storage", "view_sources", "destroyed_inputs", "is_graph_input",
           "may_alias_input", "alias_roots",
           "outputs_to_copy"]

"""Rewrites of the control-flow ops (Scan, IfElse): their inner graphs go through the pipeline.

``InnerGraphRewriter`` gives every node whose op holds inner graphs (``op.inner_graphs()``)
a new op over rewritten copies of them (``op.with_inner(*fgraphs)``): the same phases as
the outer graph (merge, canonicalize, stabilize, specialize, fusion) except ``inplace``, as
an inner graph's inputs are the loop's buffers or the outer graph's values, and nested
scans are rewritten by the same pass inside. The user's graph keeps its original op.
An ``IfElse`` whose condition is a constant is replaced by the branch it selects.

The pipeline function is handed in by ``pipeline.py`` (which imports this module), so the
two modules do not import each other.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..graph import (
    Constant,
    GraphRewriter,
    InconsistencyError,
    clone_replace,
    graph_inputs,
    toposort,
)
from ..ops.blas import Dot, dot
from ..ops.elemwise import Elemwise, patternbroadcast, shape_padleft
from ..ops.ifelse import IfElse
from ..ops.innergraph import clone_inner, make_inner, outer_outputs, placeholder
from ..ops.random import MRGUniform, MultinomialFromUniform, RandomFunction
from ..ops.scan import Scan
from ..ops.shape import reshape, stack
from ..ops.subtensor import Subtensor
from ..ops.type import TensorType

_STOCHASTIC = (RandomFunction, MRGUniform, MultinomialFromUniform)

INNER_EXCLUDED = frozenset({"inplace"})


class InnerGraphRewriter(GraphRewriter):
    """Rewrite the inner graphs of Scan and IfElse nodes with ``run(fgraph, mode)``."""

    def __init__(self, name, tags, run):
        super().__init__(None, name, tags)
        self.run = run

    def apply(self, fgraph, excluded=frozenset()):
        mode = SimpleNamespace(optimizer="fast_run", excluded=frozenset(excluded) | INNER_EXCLUDED)
        for node in list(fgraph.toposort()):
            if node not in fgraph.apply_nodes or not hasattr(node.op, "inner_graphs"):
                continue
            if isinstance(node.op, IfElse) and isinstance(node.inputs[0], Constant):
                branch = node.op.then_fg if bool(np.asarray(node.inputs[0].data)) \
                    else node.op.else_fg
                new = outer_outputs(branch, node.inputs[1:])
            else:
                if getattr(node.op, "inner_rewritten", False):
                    continue
                graphs = [clone_inner(fg) for _, fg in node.op.inner_graphs()]
                for fg in graphs:
                    self.run(fg, mode)
                op = node.op.with_inner(*graphs)
                op.inner_rewritten = True
                new = op.make_node(*node.inputs).outputs
            try:
                fgraph.replace_validate(list(zip(node.outputs, new)), reason=self.name)
            except (InconsistencyError, TypeError):
                continue




# ---------------------------------------------------------------------- loop rewrites
#
# Each rewrite below rebuilds a Scan node with a changed layout: ``_rebuild`` takes the
# node, the new inner graph's (placeholder, outer value) pairs per group and the new inner
# outputs, and returns the new node's outputs (the old node's outputs it kept, in order).

def _pure(node):
    """A node that may be moved across the loop boundary: tensors in and out, no side effect."""
    op = node.op
    if getattr(op, "destroy_map", None) or isinstance(op, _STOCHASTIC):
        return False
    if hasattr(op, "inner_graphs"):
        return False
    return all(isinstance(v.type, TensorType) for v in node.inputs + node.outputs)


def _rebuild(node, seqs, istates, nonseqs, outputs):
    """A copy of Scan ``node`` whose sequences and non-sequences are ``seqs`` (a list of
    (outer, taps, placeholders)), its state placeholders ``istates`` and ``nonseqs`` ((outer, placeholder) pairs), its inner
    outputs ``outputs``; states are unchanged. Returns the new node's outputs."""
    op = node.op
    n_steps, _, inits, _ = op.split_inputs(node.inputs)
    placeholders = [p for _, _, phs in seqs for p in phs] + [p for phs in istates for p in phs] \
        + [p for _, p in nonseqs]
    fg = make_inner(placeholders, outputs)
    new_op = op.replace(fgraph=fg, seq_taps=[taps for _, taps, _ in seqs],
                        n_nonseq=len(nonseqs))
    new_op.inner_rewritten = False
    return new_op.make_node(n_steps, *[x for x, _, _ in seqs], *inits,
                            *[v for v, _ in nonseqs]).outputs


def _replace_pairs(fgraph, pairs, name):
    try:
        fgraph.replace_validate(pairs, reason=name)
    except (InconsistencyError, TypeError):
        return False
    return True


def _inner_copy(node):
    """The Scan's groups and outputs over fresh placeholders (the op's graph stays intact)."""
    op = node.op
    fg = clone_inner(op.fgraph)
    it = iter(fg.inputs)
    seqs = [[next(it) for _ in taps] for taps in op.seq_taps]
    states = [[next(it) for _ in taps] for taps in op.state_taps]
    return seqs, states, list(it), list(fg.outputs)


def _invariant_vars(outputs, invariant_inputs):
    """Variables of the graph of ``outputs`` computed only from ``invariant_inputs`` and
    constants through pure nodes, in topological order of their nodes."""
    inv = set(invariant_inputs)
    order = []
    for n in toposort(outputs):
        if _pure(n) and all(i in inv or isinstance(i, Constant) for i in n.inputs):
            inv.update(n.outputs)
            order.extend(n.outputs)
    return inv, order


def _frontier(outputs, candidates):
    """The variables of ``candidates`` read by a node outside it or returned as an output."""
    cand = set(candidates)
    used = []
    for n in toposort(outputs):
        if n.outputs[0] in cand:
            continue
        used.extend(i for i in n.inputs if i in cand and i not in used)
    used.extend(o for o in outputs if o in cand and o not in used)
    return used


def pushout_invariants(fgraph, node):
    """Inner computations of non-sequences and constants only move out of the loop; their
    results come back in as new non-sequences. Returns the new outputs or None."""
    op = node.op
    seqs, states, nons, outs = _inner_copy(node)
    _, oseqs, _, ononseqs = op.split_inputs(node.inputs)
    _, order = _invariant_vars(outs, nons)
    # values of constants only are left to constant folding
    moved = [v for v in _frontier(outs, order) if v not in nons
             and not all(isinstance(i, Constant) for i in graph_inputs([v]))]
    if not moved:
        return None
    outer_vals = clone_replace(moved, dict(zip(nons, ononseqs)))
    new_ph = [placeholder(v) for v in moved]
    outs = clone_replace(outs, dict(zip(moved, new_ph)))
    return _rebuild(node, list(zip(oseqs, op.seq_taps, seqs)), states,
                    list(zip(ononseqs, nons)) + list(zip(outer_vals, new_ph)), outs)


def _whole_sequence(inner, p, x, subst):
    """``inner`` (an Elemwise or Dot reading step input ``p`` of sequence ``x`` and
    loop-invariant values, ``subst`` mapping those to outer ones) computed on every row of
    ``x`` at once, or None when that is not a plain rewrite."""
    n = inner.owner
    ins = n.inputs
    if isinstance(n.op, Elemwise):
        args = []
        for i in ins:
            if i is p:
                args.append(x)
            else:
                v = i if isinstance(i, Constant) else subst[i]
                args.append(shape_padleft(v, x.ndim - v.ndim))
        return n.op(*args)
    if isinstance(n.op, Dot) and ins[0] is p and ins[1] is not p and ins[1].ndim == 2:
        w = ins[1] if isinstance(ins[1], Constant) else subst[ins[1]]
        if p.ndim == 1:
            return dot(x, w)
        rows = reshape(x, (-1, x.shape[2]), ndim=2)
        return reshape(dot(rows, w), stack([x.shape[0], x.shape[1], w.shape[1]]), ndim=3)
    return None


def pushout_sequences(fgraph, node):
    """An Elemwise or Dot reading one step of a sequence (a single tap) and loop-invariant
    values is computed for every step at once before the loop (``x_t @ W`` becomes one
    matrix product over the sequence); its result is a new sequence with the same tap."""
    op = node.op
    seqs, states, nons, outs = _inner_copy(node)
    _, oseqs, _, ononseqs = op.split_inputs(node.inputs)
    subst = dict(zip(nons, ononseqs))
    inv, _ = _invariant_vars(outs, nons)
    single = {phs[0]: (oseqs[j], op.seq_taps[j]) for j, phs in enumerate(seqs)
              if len(phs) == 1}
    new_seqs, repl = [], {}
    for n in toposort(outs):
        if not _pure(n) or len(n.outputs) != 1 or n.outputs[0] in inv:
            continue
        reads = [i for i in n.inputs if i in single]
        if len(set(reads)) != 1 or not all(i in single or i in inv or isinstance(i, Constant)
                                           for i in n.inputs):
            continue
        p = reads[0]
        x, taps = single[p]
        # an invariant computed inside (not a placeholder) is taken from the outer graph
        outer_inv = {v: clone_replace([v], subst)[0] for v in n.inputs
                     if v in inv and v not in subst}
        whole = _whole_sequence(n.outputs[0], p, x, {**subst, **outer_inv})
        if whole is None or whole.ndim != n.outputs[0].ndim + 1 or \
                whole.dtype != n.outputs[0].dtype:
            continue
        ph = placeholder(n.outputs[0])
        whole = patternbroadcast(whole, (False,) + ph.broadcastable)
        new_seqs.append((whole, taps, [ph]))
        repl[n.outputs[0]] = ph
    if not repl:
        return None
    outs = clone_replace(outs, repl)
    return _rebuild(node, list(zip(oseqs, op.seq_taps, seqs)) + new_seqs, states,
                    list(zip(ononseqs, nons)), outs)


def remove_unused_inputs(fgraph, node):
    """Sequences and non-sequences the body never reads are dropped from the node."""
    op = node.op
    seqs, states, nons, outs = _inner_copy(node)
    _, oseqs, _, ononseqs = op.split_inputs(node.inputs)
    read = set(graph_inputs(outs))
    keep_seqs = [(x, taps, phs) for x, taps, phs in zip(oseqs, op.seq_taps, seqs)
                 if any(p in read for p in phs)]
    if op.auto_steps and not keep_seqs:
        return None                     # the sequences give the number of steps
    if op.auto_steps and len(keep_seqs) < len(oseqs):
        return None                     # a dropped one may be the shortest
    keep_nons = [(v, p) for v, p in zip(ononseqs, nons) if p in read]
    if len(keep_seqs) == len(oseqs) and len(keep_nons) == len(nons):
        return None
    return _rebuild(node, keep_seqs, states, keep_nons, outs)


def keep_last_state(fgraph, node):
    """A state whose history is read only as ``h[-1]`` keeps only its last value in the loop
    (``state_keep`` "last": the loop holds the taps' window, not ``n_steps`` rows); the
    ``h[-1]`` nodes are replaced by that output; a history nobody reads is not kept
    either. (With zero steps ``h[-1]`` was an index
    error; the last-value form gives the initial value.)"""
    op = node.op
    keep = list(op.state_keep)
    repl = []
    for i in range(op.n_states):
        out = node.outputs[i]
        clients = fgraph.clients.get(out, [])
        if keep[i] != "all" or not isinstance(out.type, TensorType):
            continue
        if all(c != "output" and isinstance(c.op, Subtensor) and c.op.idx_list == (("int", -1),)
               for c, _ in clients):
            keep[i] = "last"
            repl.append((i, [c.outputs[0] for c, _ in clients]))
    if not repl:
        return None
    new = op.replace(state_keep=keep).make_node(*node.inputs).outputs
    pairs = [(o, n) for o, n in zip(node.outputs, new) if o not in {node.outputs[i] for i, _ in repl}]
    for i, reads in repl:
        if any(r.type != new[i].type for r in reads):
            return None
        pairs.extend((r, new[i]) for r in reads)
    return pairs


class ScanLoopRewriter(GraphRewriter):
    """Apply the loop rewrites (``pushout_invariants``, ``pushout_sequences``,
    ``remove_unused_inputs``, ``keep_last_state``) to every Scan node until none applies; each can be left out by
    its name (``Mode.excluding('pushout_sequences')``)."""

    REWRITES = (pushout_invariants, pushout_sequences, remove_unused_inputs, keep_last_state)

    def apply(self, fgraph, excluded=frozenset()):
        for rw in self.REWRITES:
            if rw.__name__ in excluded:
                continue
            for _ in range(4):          # each round pushes out one more level
                changed = False
                for node in list(fgraph.toposort()):
                    if node not in fgraph.apply_nodes or not isinstance(node.op, Scan):
                        continue
                    new = rw(fgraph, node)
                    if new is None:
                        continue
                    pairs = new if isinstance(new[0], tuple) else list(zip(node.outputs, new))
                    if _replace_pairs(fgraph, pairs, rw.__name__):
                        changed = True
                if not changed:
                    break


__all__ = ["InnerGraphRewriter", "ScanLoopRewriter", "pushout_invariants", "pushout_sequences",
           "remove_unused_inputs", "keep_last_state"]

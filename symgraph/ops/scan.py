"""Scan: loops over sequences with recurrent states, Theano 1.0's ``scan``.

Representation. A :class:`Scan` node holds its body as an inner FunctionGraph:

- inner inputs: one placeholder per sequence tap (sequence order, then the taps as given),
  one per state tap (state order, taps as given), then one per non-sequence;
- inner outputs: each state's new value, then each output that is not fed back ("nit-sot"),
  then the ``until`` condition when there is one;
- outer inputs: ``[n_steps, sequences..., initial states..., non-sequences...]``. A tensor
  state's initial value is a *window* of its last ``L`` values (``L`` = its largest
  ``|tap|``): ``h0[None]`` for a single ``-1`` tap, ``init[:L]`` for several taps. A
  non-tensor state (a random generator updated in the body) is passed as the value itself;
- outer outputs: per state its history (``n_steps`` rows, initial values excluded) or, when
  only the last value is wanted (shared-variable updates, gradient accumulators), that
  value; then per nit-sot output its ``n_steps`` rows.

Evaluation (the reference semantics): ``perform`` runs the loop on NumPy values, each step
with :class:`symgraph.graph.evaluate.GraphEvaluator` over the inner graph; every backend runs
the node through ``perform`` until the loop is lowered into generated code.

Differentiation (``Scan.L_op``): backpropagation through time as a second, backward Scan
built with :func:`scan` itself (so it can be differentiated again: nested scans, Hessians,
``Rop``). It runs over the forward steps in reverse, reading the forward's sequences and
state histories (reversed, with shifted taps), recomputes the step and pulls the step's
output gradients back through it; per tensor state it carries the window of gradients not
yet complete (the ``L`` positions later steps read), per non-sequence an accumulator.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..config import config
from ..graph import (Apply, Constant, Op, Variable, ancestors, clone_replace, format_trace,
                     graph_inputs, user_trace, with_test_values)
from ..graph.shared import SharedVariable
from . import subtensor as sub_ops
from .elemwise import (as_tensor_variable, cast, constant, eq, minimum, patternbroadcast,
                       shape_padleft, switch, zeros_like)
from .innergraph import Evaluated, infer_inner_shapes, make_inner, pullback
from .shape import Shape_i, concatenate, stack
from .type import TensorType

INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


class until:
    """``return h, until(T.gt(h, 10))``: stop after the step where the condition holds."""

    def __init__(self, condition):
        cond = as_tensor_variable(condition)
        if cond.ndim != 0:
            raise TypeError(f"until: the condition must be a scalar, got {cond.type} (built at "
                            f"{cond.where()}); reduce it first (T.any, T.all)")
        self.condition = cond


def _offset(taps):
    return -min(0, min(taps))


def _span(taps):
    return max(0, max(taps)) - min(0, min(taps))


class Scan(Evaluated, Op):
    """The loop node (see the module docstring for the layout of inputs and outputs)."""

    def __init__(self, fgraph, seq_taps, state_taps, state_keep, state_window, n_nitsot,
                 n_nonseq, as_while=False, auto_steps=False, truncate_gradient=-1, name=None,
                 trace=None, mode=None):
        self.fgraph = fgraph
        self.seq_taps = tuple(tuple(t) for t in seq_taps)
        self.state_taps = tuple(tuple(t) for t in state_taps)
        self.state_keep = tuple(state_keep)
        self.state_window = tuple(state_window)
        self.n_seqs = len(self.seq_taps)
        self.n_states = len(self.state_taps)
        self.n_nitsot = n_nitsot
        self.n_nonseq = n_nonseq
        self.as_while = as_while
        self.auto_steps = auto_steps
        self.truncate_gradient = truncate_gradient
        self.name = name
        self.trace = trace
        self.mode = mode
        n_in = sum(len(t) for t in self.seq_taps) + sum(len(t) for t in self.state_taps) + n_nonseq
        n_out = self.n_states + n_nitsot + (1 if as_while else 0)
        if len(fgraph.inputs) != n_in or len(fgraph.outputs) != n_out:
            raise ValueError(f"Scan: inner graph has {len(fgraph.inputs)} inputs and "
                             f"{len(fgraph.outputs)} outputs, expected {n_in} and {n_out}")

    def __str__(self):
        return f"Scan{{{self.name or 'scan'}, steps={'while' if self.as_while else 'for'}}}"

    __repr__ = __str__

    def where(self):
        return format_trace(self.trace)

    def replace(self, **kw):
        """A copy with some attributes changed (``fgraph``, ``state_keep``...)."""
        args = dict(fgraph=self.fgraph, seq_taps=self.seq_taps, state_taps=self.state_taps,
                    state_keep=self.state_keep, state_window=self.state_window,
                    n_nitsot=self.n_nitsot, n_nonseq=self.n_nonseq, as_while=self.as_while,
                    auto_steps=self.auto_steps, truncate_gradient=self.truncate_gradient,
                    name=self.name, trace=self.trace, mode=self.mode)
        args.update(kw)
        return Scan(**args)

    def inner_graphs(self):
        return [("body", self.fgraph)]

    def with_inner(self, fgraph):
        return self.replace(fgraph=fgraph)

    # ------------------------------------------------------------------ layout
    def split_inputs(self, inputs):
        s, n = self.n_seqs, self.n_states
        return inputs[0], list(inputs[1:1 + s]), list(inputs[1 + s:1 + s + n]), \
            list(inputs[1 + s + n:])

    def inner_groups(self):
        """The inner inputs grouped: per sequence, per state (lists of tap placeholders), non-seqs."""
        it = iter(self.fgraph.inputs)
        seqs = [[next(it) for _ in taps] for taps in self.seq_taps]
        states = [[next(it) for _ in taps] for taps in self.state_taps]
        return seqs, states, list(it)

    def make_node(self, n_steps, *inputs):
        n_steps = cast(as_tensor_variable(n_steps), "int64")
        expected = 1 + self.n_seqs + self.n_states + self.n_nonseq
        if len(inputs) + 1 != expected:
            raise ValueError(f"{self}: {len(inputs) + 1} inputs, expected {expected}")
        _, seqs, inits, nonseqs = self.split_inputs([n_steps, *inputs])
        iseqs, istates, inons = self.inner_groups()
        for j, (x, phs) in enumerate(zip(seqs, iseqs)):
            want = x.type.clone(broadcastable=x.broadcastable[1:])
            for p in phs:
                if p.type != want:
                    raise TypeError(f"{self}: sequence {j} of type {x.type} for a step input "
                                    f"of type {p.type}")
        outs = []
        for i, (h, phs) in enumerate(zip(inits, istates)):
            if self.state_window[i]:
                elem = h.type.clone(broadcastable=h.broadcastable[1:])
            else:
                elem = h.type
            for p in phs:
                if p.type != elem:
                    raise TypeError(f"{self}: state {i} has initial value of type {h.type}, "
                                    f"the step reads {p.type}")
            if self.state_keep[i] == "all":
                outs.append(TensorType(elem.dtype, (False,) + elem.broadcastable)())
            else:
                outs.append(elem())
        for k in range(self.n_nitsot):
            o = self.fgraph.outputs[self.n_states + k]
            outs.append(TensorType(o.dtype, (False,) + o.broadcastable)())
        for p, v in zip(inons, nonseqs):
            if p.type != v.type:
                raise TypeError(f"{self}: non-sequence of type {v.type} for {p.type}")
        return Apply(self, [n_steps, *inputs], outs)

    # ------------------------------------------------------------------ running
    def error_prefix(self):
        """How every run-time error of this scan starts (generated C code writes it too)."""
        return f"scan{' ' + repr(self.name) if self.name else ''} (built at {self.where()}): "

    def _error(self, msg, exc=ValueError):
        return exc(self.error_prefix() + msg)

    def n_steps_of(self, n_given, seqs):
        if self.auto_steps:
            n = None
            for j, (x, taps) in enumerate(zip(seqs, self.seq_taps)):
                if len(x) == 0:
                    raise self._error(f"sequence {j} has length 0: there is no step to run "
                                      f"(pass n_steps=0 for an empty result)")
                avail = len(x) - _span(taps)
                if avail <= 0:
                    raise self._error(
                        f"sequence {j} has length {len(x)} but its taps {list(taps)} reach "
                        f"{_span(taps)} elements beyond the current one: a tap is beyond the "
                        f"sequence's length (it needs at least {_span(taps) + 1} elements)")
                n = avail if n is None else min(n, avail)
            return n
        n = int(n_given)
        if n < 0:
            raise self._error(f"n_steps is {n}: a negative number of steps is not supported "
                              f"(use go_backwards=True to iterate backwards)")
        for j, (x, taps) in enumerate(zip(seqs, self.seq_taps)):
            if len(x) < n + _span(taps):
                raise self._error(
                    f"sequence {j} has length {len(x)}, but {n} steps with taps {list(taps)} "
                    f"read up to element {n + _span(taps) - 1}: a tap is beyond the sequence's "
                    f"length")
        return n

    def perform(self, node, inputs, output_storage):
        n_given, seqs, inits, nonseqs = self.split_inputs(inputs)
        n = self.n_steps_of(n_given, seqs)
        bufs, hist = [], []
        for i, (h, taps) in enumerate(zip(inits, self.state_taps)):
            if self.state_window[i]:
                L = -min(taps)
                if len(h) < L:
                    raise self._error(f"outputs_info[{i}]: the initial value has {len(h)} rows "
                                      f"but taps {list(taps)} read {L} past values")
                bufs.append([h[r] for r in range(L)])
            else:
                bufs.append([h])
            hist.append([])
        nits = [[] for _ in range(self.n_nitsot)]
        ev = self.evaluator(self.fgraph, f"scan {self.name or ''} body")
        offs = [_offset(t) for t in self.seq_taps]
        ns, keep = self.n_states, self.state_keep
        for t in range(n):
            args = []
            for x, taps, off in zip(seqs, self.seq_taps, offs):
                args.extend(x[t + k + off] for k in taps)
            for buf, taps in zip(bufs, self.state_taps):
                args.extend(buf[k] for k in taps)
            args.extend(nonseqs)
            res = ev(args, copy_aliased=False)
            for i in range(ns):
                v = res[i]
                buf = bufs[i]
                if self.state_window[i] and np.shape(v) != np.shape(buf[-1]):
                    raise self._error(f"output {i} changed shape from {np.shape(buf[-1])} to "
                                      f"{np.shape(v)} at step {t}; a recurrent state keeps its "
                                      f"shape")
                buf.append(v)
                del buf[0]
                if keep[i] == "all":
                    hist[i].append(v)
            for k in range(self.n_nitsot):
                nits[k].append(res[ns + k])
            if self.as_while and bool(res[-1]):
                break
        outs = node.outputs
        for i in range(ns):
            o = outs[i]
            if keep[i] == "all":
                elem = np.shape(inits[i])[1:]
                val = np.stack(hist[i]) if hist[i] else np.zeros((0,) + elem, o.type.dtype)
                output_storage[i][0] = np.asarray(val, dtype=o.type.dtype)
            else:
                v = bufs[i][-1]
                output_storage[i][0] = np.array(v, dtype=o.type.dtype) \
                    if isinstance(o.type, TensorType) else v
        for k in range(self.n_nitsot):
            o = outs[ns + k]
            if nits[k]:
                shapes = {np.shape(v) for v in nits[k]}
                if len(shapes) > 1:
                    raise self._error(f"output {ns + k} (not fed back) has different shapes at "
                                      f"different steps: {sorted(shapes)}")
                val = np.stack(nits[k])
            else:
                val = np.zeros((0,) + tuple(1 if b else 0 for b in o.broadcastable[1:]),
                               o.type.dtype)
            output_storage[ns + k][0] = np.asarray(val, dtype=o.type.dtype)

    # ------------------------------------------------------------------ shapes
    def symbolic_n_steps(self, node, input_shapes=None):
        n_steps, seqs, _, _ = self.split_inputs(node.inputs)
        if not self.auto_steps:
            return n_steps
        n = None
        for j, (x, taps) in enumerate(zip(seqs, self.seq_taps)):
            length = input_shapes[1 + j][0] if input_shapes and input_shapes[1 + j] else x.shape[0]
            avail = as_tensor_variable(length) - _span(taps)
            n = avail if n is None else minimum(n, avail)
        return n

    def infer_shape(self, node, input_shapes):
        _, seqs, inits, nonseqs = self.split_inputs(node.inputs)
        _, s_shapes, i_shapes, n_shapes = self.split_inputs(input_shapes)
        outs = node.outputs
        steps = None if self.as_while else self.symbolic_n_steps(node, input_shapes)
        result = []
        for i in range(self.n_states):
            o = outs[i]
            if not isinstance(o.type, TensorType):
                result.append(None)
                continue
            elem = tuple(i_shapes[i][1:]) if self.state_window[i] else tuple(i_shapes[i])
            if self.state_keep[i] == "all":
                result.append(((steps if steps is not None else Shape_i(0)(o)),) + elem)
            else:
                result.append(elem)
        # nit-sot: the step's output shape, from the inner graph where it reads only outer shapes
        ins = []
        for x_shape, taps in zip(s_shapes, self.seq_taps):
            ins.extend([tuple(x_shape[1:]) if x_shape is not None else None] * len(taps))
        for i, taps in enumerate(self.state_taps):
            s = i_shapes[i]
            s = (tuple(s[1:]) if self.state_window[i] else tuple(s)) if s is not None else None
            ins.extend([s] * len(taps))
        ins.extend(tuple(s) if s is not None else None for s in n_shapes)
        subst = dict(zip(self.inner_groups()[2], nonseqs))
        inner = infer_inner_shapes(self.fgraph, ins, subst)
        for k in range(self.n_nitsot):
            o = outs[self.n_states + k]
            s = inner[self.n_states + k]
            first = steps if steps is not None else Shape_i(0)(o)
            dims = [first]
            for d in range(1, o.ndim):
                e = s[d - 1] if s is not None else None
                dims.append(Shape_i(d)(o) if e is None else e)
            result.append(tuple(dims))
        return result

    # ------------------------------------------------------------------ gradient
    def L_op(self, inputs, outputs, output_grads):
        return scan_grad(self, inputs, outputs, output_grads)


# ---------------------------------------------------------------------- the user API

def _is_float(v):
    return isinstance(v.type, TensorType) and v.type.is_float


def _var(x):
    if isinstance(x, Variable):
        return x
    return as_tensor_variable(x)


def _loc(trace):
    return format_trace(trace)


def _normalize_sequences(sequences):
    if sequences is None:
        return []
    if not isinstance(sequences, (list, tuple)):
        sequences = [sequences]
    out = []
    for j, s in enumerate(sequences):
        if isinstance(s, dict):
            if "input" not in s:
                raise ValueError(f"scan: sequences[{j}] is a dict without 'input'")
            x, taps = s["input"], s.get("taps", [0])
            if taps is None:
                taps = [0]
        else:
            x, taps = s, [0]
        taps = [int(t) for t in (taps if isinstance(taps, (list, tuple)) else [taps])]
        if not taps:
            raise ValueError(f"scan: sequences[{j}] has an empty list of taps")
        x = _var(x)
        if not isinstance(x.type, TensorType) or x.ndim < 1:
            raise TypeError(f"scan: sequences[{j}] must be a tensor with at least one dimension "
                            f"(iterated over its first), got {x.type}")
        out.append((x, taps))
    return out


def _normalize_outputs_info(outputs_info):
    if outputs_info is None:
        return None
    if not isinstance(outputs_info, (list, tuple)):
        outputs_info = [outputs_info]
    out = []
    for i, o in enumerate(outputs_info):
        if o is None:
            out.append(None)
            continue
        if isinstance(o, dict):
            init = o.get("initial")
            if init is None:
                out.append(None)
                continue
            taps = o.get("taps", [-1])
            taps = [int(t) for t in (taps if isinstance(taps, (list, tuple)) else [taps])]
        else:
            init, taps = o, [-1]
        if not taps or any(t >= 0 for t in taps):
            raise ValueError(f"scan: outputs_info[{i}] has taps {taps}: the taps of a state "
                             f"must be negative (-1 = the previous step)")
        init = _var(init)
        out.append((init, taps))
    return out


def _parse_return(ret):
    """Split what the step function returned into (outputs, updates, until condition)."""
    outputs, updates, cond = [], OrderedDict(), None

    def is_updates(x):
        return isinstance(x, dict) or (isinstance(x, (list, tuple)) and x and all(
            isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], SharedVariable) for p in x))

    items = list(ret) if isinstance(ret, tuple) and any(
        isinstance(r, (dict, until)) or is_updates(r) for r in ret) else [ret]
    for r in items:
        if isinstance(r, until):
            cond = r.condition
        elif isinstance(r, dict):
            updates.update(r)
        elif is_updates(r) and len(items) > 1:
            updates.update(OrderedDict(r))
        elif isinstance(r, (list, tuple)):
            outputs.extend(r)
        elif r is not None:
            outputs.append(r)
    return outputs, updates, cond


def _convert_state(i, out, elem_type, init, trace):
    """The body's new value for state ``i`` converted to ``elem_type``, or a clear error."""
    if out.type == elem_type:
        return out
    where = f"scan (built at {_loc(trace)}): output {i} of the step function"
    if not isinstance(out.type, TensorType) or not isinstance(elem_type, TensorType):
        raise TypeError(f"{where} has type {out.type} but its initial state (outputs_info[{i}]) "
                        f"has type {elem_type}")
    if out.ndim != elem_type.ndim:
        raise TypeError(f"{where} is {out.type} ({out.ndim}-d, built at {out.where()}) but its "
                        f"initial state outputs_info[{i}] is {elem_type} ({elem_type.ndim}-d); "
                        f"a recurrent state keeps its number of dimensions")
    if out.dtype != elem_type.dtype:
        raise TypeError(f"{where} has dtype {out.dtype} ({out.type}, built at {out.where()}) "
                        f"while its initial state outputs_info[{i}] has dtype {elem_type.dtype} "
                        f"({elem_type}); make them agree, e.g. T.cast(h0, '{out.dtype}') for the "
                        f"initial state or T.cast(new_h, '{elem_type.dtype}') in the step")
    want, have = elem_type.broadcastable, out.broadcastable
    if all(h or not w for w, h in zip(want, have)):
        return patternbroadcast(out, want)     # the step's value is more broadcastable: fine
    dims = [d for d, (w, h) in enumerate(zip(want, have)) if w and not h]
    raise TypeError(
        f"{where} has broadcastable pattern {have} ({out.type}, built at {out.where()}) while "
        f"its initial state outputs_info[{i}] has {want} ({elem_type}): dimension(s) {dims} "
        f"of the initial state are broadcastable but the step's result is not; use "
        f"T.unbroadcast(h0, {', '.join(str(d) for d in dims)}) on the initial state, or "
        f"T.addbroadcast(new_h, {', '.join(str(d) for d in dims)}) in the step if those dimensions "
        f"really have length 1")


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, profile=False,
         allow_gc=None, strict=False, return_list=False):
    """Loop ``fn`` over ``sequences`` with recurrent states (Theano 1.0's ``scan``).

    ``fn`` receives, in order, the sequence taps, the state taps and the non-sequences, and
    returns the new states / outputs, optionally with an updates dict and ``until(cond)``.
    Returns ``(outputs, updates)``; pass ``updates`` to ``function(updates=...)``.

    >>> s, _ = scan(lambda x_t, acc: acc + x_t, sequences=x, outputs_info=T.zeros_like(x[0]))
    """
    return build_scan(fn, sequences, outputs_info, non_sequences, n_steps, truncate_gradient,
                      go_backwards, mode, name, strict, return_list, trace=user_trace())


def build_scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
               truncate_gradient=-1, go_backwards=False, mode=None, name=None, strict=False,
               return_list=False, keep_last=(), trace=None):
    """:func:`scan` with ``keep_last``: indices of ``outputs_info`` entries whose result is
    only the last value (not the history); the gradient builds its backward loop with it."""
    seqs = _normalize_sequences(sequences)
    infos = _normalize_outputs_info(outputs_info)
    if non_sequences is None:
        non_sequences = []
    elif not isinstance(non_sequences, (list, tuple)):
        non_sequences = [non_sequences]
    nonseqs = [n if isinstance(n, Variable) else _var(n) for n in non_sequences]
    loc = f"scan (built at {_loc(trace)})"

    # n_steps
    auto = n_steps is None
    if auto:
        if not seqs:
            raise ValueError(f"{loc}: no sequences and no n_steps: give n_steps (the number of "
                             f"iterations) or a sequence to iterate over")
        n_var = constant(-1, dtype="int64")
    elif isinstance(n_steps, (bool, np.bool_)):
        raise TypeError(f"{loc}: n_steps must be an integer scalar, got {n_steps!r}")
    elif isinstance(n_steps, (int, np.integer)):
        if n_steps < 0:
            raise ValueError(f"{loc}: n_steps={n_steps}: a negative number of steps is not "
                             f"supported" + ("" if go_backwards else
                                             " (use go_backwards=True to iterate backwards)"))
        n_var = constant(int(n_steps), dtype="int64")
    else:
        n_var = n_steps if isinstance(n_steps, Variable) else None
        if n_var is None or not isinstance(n_var.type, TensorType) or n_var.ndim != 0 \
                or n_var.dtype not in INT_DTYPES:
            what = n_var.type if n_var is not None else repr(n_steps)
            raise TypeError(f"{loc}: n_steps must be an integer scalar (a Python int or a "
                            f"symbolic int scalar such as T.iscalar()), got {what}")
        n_var = cast(n_var, "int64")

    if go_backwards:
        seqs = [(x[::-1], taps) for x, taps in seqs]

    # placeholders, in the step function's argument order
    seq_phs = []
    for j, (x, taps) in enumerate(seqs):
        elem = x.type.clone(broadcastable=x.broadcastable[1:])
        seq_phs.append([_ph(elem, x, f"[t{k:+d}]" if k else "[t]") for k in taps])
    states = []        # (outer init window or value, taps, placeholders, elem type, window?, keep)
    positions = []     # per outputs_info entry: ("state", i) or ("nit", k)
    if infos is not None:
        for p, info in enumerate(infos):
            if info is None:
                positions.append(("nit", None))
                continue
            init, taps = info
            if isinstance(init.type, TensorType):
                if taps == [-1]:
                    elem, window = init.type, shape_padleft(init)
                else:
                    L = -min(taps)
                    if init.ndim < 1:
                        raise TypeError(f"{loc}: outputs_info[{p}] has taps {taps}: its initial "
                                        f"value needs a leading dimension of {L} past values, "
                                        f"got {init.type}")
                    elem, window = init.type.clone(broadcastable=init.broadcastable[1:]), init[:L]
                is_window = True
            else:
                elem, window, is_window = init.type, init, False
            phs = [_ph(elem, init, f"[t{k:+d}]") for k in taps]
            positions.append(("state", len(states)))
            states.append([window, taps, phs, elem, is_window,
                           "last" if p in keep_last else "all", init])
    args = [p for phs in seq_phs for p in phs] + [p for s in states for p in s[2]] + nonseqs
    # the body's placeholders carry no test values: build it with compute_test_value off
    # (the Scan node itself computes its outputs' test values from the outer ones)
    with config.change_flags(compute_test_value="off"):
        ret = fn(*args)
    outputs, updates, cond = _parse_return(ret)
    outputs = [_var(o) for o in outputs]

    if infos is None:
        positions = [("nit", None)] * len(outputs)
    if len(outputs) != len(positions):
        raise ValueError(f"{loc}: the step function returned {len(outputs)} output(s) but "
                         f"outputs_info has {len(positions)} entr{'y' if len(positions) == 1 else 'ies'}"
                         f" (one per output: an initial state, or None for an output that is "
                         f"not fed back)")
    state_outs, nit_outs = [None] * len(states), []
    for p, ((kind, i), out) in enumerate(zip(positions, outputs)):
        if kind == "state":
            st = states[i]
            state_outs[i] = _convert_state(p, out, st[3], st[6], trace)
        else:
            nit_outs.append(out)

    # updates: given by the body, and the default updates of shared variables it reads
    upd = OrderedDict()
    for lhs, rhs in updates.items():
        if not isinstance(lhs, SharedVariable):
            raise TypeError(f"{loc}: the step function returned an update for {lhs}, which is "
                            f"not a shared variable")
        upd[lhs] = _var(rhs) if not isinstance(rhs, Variable) else rhs
    placeholders = set(args[:len(args) - len(nonseqs)])
    blockers = placeholders | set(nonseqs)
    while True:
        exprs = state_outs + nit_outs + list(upd.values()) + ([cond] if cond is not None else [])
        added = False
        for v in graph_inputs(exprs, blockers=blockers):
            if isinstance(v, SharedVariable) and v not in upd and v not in blockers \
                    and getattr(v, "default_update", None) is not None:
                upd[v] = v.default_update
                added = True
        if not added:
            break
    shared_states = []
    for sv, rhs in upd.items():
        if isinstance(sv.type, TensorType):
            elem, window = sv.type, shape_padleft(sv)
            rhs = _convert_update(sv, rhs, loc)
        else:
            if rhs.type != sv.type:
                raise TypeError(f"{loc}: the update of {sv} has type {rhs.type}, expected "
                                f"{sv.type}")
            elem, window = sv.type, sv
        ph = _ph(elem, sv, "[t-1]")
        shared_states.append((sv, window, ph, rhs, isinstance(sv.type, TensorType)))

    # free variables become implicit non-sequences (strict: an error)
    mapping = {}
    for sv, _, ph, _, _ in shared_states:
        mapping[sv] = ph
    ns_phs = []
    for v in nonseqs:
        ph = _ph(v.type, v, "")
        mapping[v] = ph
        ns_phs.append(ph)
    exprs = state_outs + [s[3] for s in shared_states] + nit_outs + \
        ([cond] if cond is not None else [])
    known = placeholders | set(mapping)
    free = [v for v in graph_inputs(exprs, blockers=known)
            if v not in known and not isinstance(v, Constant)]
    if strict and free:
        raise ValueError(f"{loc}: strict=True but the step function uses "
                         f"{', '.join(f'{v} ({v.type}, built at {v.where()})' for v in free)}, "
                         f"which {'is' if len(free) == 1 else 'are'} not passed as a sequence, "
                         f"state or non-sequence; add {'it' if len(free) == 1 else 'them'} to "
                         f"non_sequences")
    implicit = []
    for v in free:
        ph = _ph(v.type, v, "")
        mapping[v] = ph
        ns_phs.append(ph)
        implicit.append(v)
    inner_outs = clone_replace(exprs, mapping)
    fg = make_inner([p for phs in seq_phs for p in phs] + [p for st in states for p in st[2]]
                    + [st[2] for st in shared_states] + ns_phs, inner_outs)

    op = Scan(fg, seq_taps=[t for _, t in seqs],
              state_taps=[s[1] for s in states] + [[-1]] * len(shared_states),
              state_keep=[s[5] for s in states] + ["last"] * len(shared_states),
              state_window=[s[4] for s in states] + [s[4] for s in shared_states],
              n_nitsot=len(nit_outs), n_nonseq=len(ns_phs), as_while=cond is not None,
              auto_steps=auto, truncate_gradient=truncate_gradient, name=name, trace=trace,
              mode=mode)
    node = with_test_values(op.make_node(n_var, *[x for x, _ in seqs], *[s[0] for s in states],
                                         *[s[1] for s in shared_states], *nonseqs, *implicit))
    outs = node.outputs
    n_st = len(states)
    result = []
    nit_k = 0
    for kind, i in positions:
        if kind == "state":
            result.append(outs[i])
        else:
            result.append(outs[n_st + len(shared_states) + nit_k])
            nit_k += 1
    updates_out = OrderedDict()
    for k, (sv, *_rest) in enumerate(shared_states):
        updates_out[sv] = outs[n_st + k]
    for k, o in enumerate(result):
        if name:
            o.name = f"{name}[{k}]" if len(result) > 1 else name
    if return_list:
        return result, updates_out
    if len(result) == 1:
        return result[0], updates_out
    if not result:
        return None, updates_out
    return result, updates_out


def _ph(elem_type, like, suffix):
    p = elem_type()
    p.name = f"{like.name}{suffix}" if getattr(like, "name", None) else None
    return p


def _convert_update(sv, rhs, loc):
    rhs = _var(rhs)
    if rhs.type == sv.type:
        return rhs
    if isinstance(rhs.type, TensorType) and rhs.ndim == sv.ndim:
        if rhs.dtype != sv.dtype:
            raise TypeError(f"{loc}: the update of shared variable {sv} has dtype {rhs.dtype} "
                            f"({rhs.type}, built at {rhs.where()}) but the variable is "
                            f"{sv.type}; use T.cast(new_value, '{sv.dtype}')")
        if all(h or not w for w, h in zip(sv.broadcastable, rhs.broadcastable)):
            return patternbroadcast(rhs, sv.broadcastable)
    raise TypeError(f"{loc}: the update of shared variable {sv} has type {rhs.type} (built at "
                    f"{rhs.where()}), expected {sv.type}")


# ---------------------------------------------------------------------- map, reduce, folds

def map(fn, sequences, non_sequences=None, truncate_gradient=-1, go_backwards=False,  # noqa: A001
        mode=None, name=None):
    """``fn`` applied to each element of ``sequences``: ``map(T.sqr, x)``."""
    return build_scan(fn, sequences, None, non_sequences, None, truncate_gradient,
                      go_backwards, mode, name, trace=user_trace())


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None,  # noqa: A001
           name=None):
    """Fold ``fn`` over ``sequences`` keeping only the final states: ``reduce(f, x, x0)``."""
    infos = list(outputs_info) if isinstance(outputs_info, (list, tuple)) else [outputs_info]
    keep = {p for p, info in enumerate(infos) if info is not None
            and not (isinstance(info, dict) and info.get("initial") is None)}
    outs, upd = build_scan(fn, sequences, outputs_info, non_sequences, None, -1, go_backwards,
                           mode, name, return_list=True, keep_last=keep, trace=user_trace())
    last = [o if p in keep else o[-1] for p, o in enumerate(outs)]
    return (last[0] if len(last) == 1 else last), upd


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``reduce`` from the first element to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, False, mode, name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``reduce`` from the last element to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, True, mode, name)


# ---------------------------------------------------------------------- BPTT

def scan_grad(op, inputs, outputs, output_grads):
    """The gradients of a Scan node's inputs (see the module docstring)."""
    n_given, seqs, inits, nonseqs = op.split_inputs(inputs)
    iseqs, istates, inons = op.inner_groups()
    ns = op.n_states
    fg = op.fgraph
    grads_in = [None] * len(inputs)

    # histories of every tensor state (a twin loop keeps them where the node keeps only the last)
    tensor_state = [isinstance(h.type, TensorType) and op.state_window[i]
                    for i, h in enumerate(inits)]
    need_twin = any(t and op.state_keep[i] == "last" for i, t in enumerate(tensor_state))
    if need_twin:
        twin = op.replace(state_keep=["all" if t else k
                                      for t, k in zip(tensor_state, op.state_keep)])
        twin_outs = twin.make_node(*inputs).outputs
        hists = [twin_outs[i] if tensor_state[i] else None for i in range(ns)]
    else:
        hists = [outputs[i] if tensor_state[i] else None for i in range(ns)]
    any_hist = [h for h in hists if h is not None] + list(outputs[ns:ns + op.n_nitsot])
    if not any_hist:
        return grads_in         # no tensor output: nothing to differentiate
    N = any_hist[0].shape[0]    # the steps actually run (until may stop early)
    if op.truncate_gradient is not None and op.truncate_gradient >= 0:
        nb = minimum(N, op.truncate_gradient)
        truncated = True
    else:
        nb, truncated = N, False

    diff_seq = [j for j, x in enumerate(seqs) if _is_float(x)]
    diff_state = [i for i in range(ns) if tensor_state[i] and _is_float(inits[i])]
    diff_non = [m for m, w in enumerate(nonseqs) if _is_float(w)]
    if not diff_seq and not diff_state and not diff_non:
        return grads_in

    # backward sequences: forward sequence windows, state windows, output gradients
    b_seqs = []
    for j, (x, taps) in enumerate(zip(seqs, op.seq_taps)):
        xs = x[:N + _span(taps)][::-1]
        b_seqs.append(dict(input=xs, taps=[max(0, max(taps)) - k for k in taps]))
    B = {}
    for i in range(ns):
        if tensor_state[i]:
            L = -min(op.state_taps[i])
            B[i] = concatenate([inits[i][:L], hists[i]])
            b_seqs.append(dict(input=B[i][:N + L - 1][::-1],
                               taps=[-1 - k for k in op.state_taps[i]]))
    gH = {}
    for i in diff_state:
        if op.state_keep[i] == "all" and output_grads[i] is not None:
            gH[i] = len(b_seqs)
            b_seqs.append(dict(input=output_grads[i][::-1], taps=[0]))
    gY = {}
    for k in range(op.n_nitsot):
        g = output_grads[ns + k]
        if g is not None and _is_float(outputs[ns + k]):
            gY[k] = len(b_seqs)
            b_seqs.append(dict(input=g[::-1], taps=[0]))

    # backward states: per differentiable state the window of pending gradients, per
    # differentiable non-sequence an accumulator
    infos = []
    for i in diff_state:
        L = -min(op.state_taps[i])
        elem = inits[i].type.clone(broadcastable=inits[i].broadcastable[1:])
        c0 = patternbroadcast(zeros_like(inits[i][:L]), (L == 1,) + elem.broadcastable)
        if op.state_keep[i] == "last" and output_grads[i] is not None:
            c0 = sub_ops.set_subtensor(c0[0], output_grads[i])
        infos.append(c0)
    for m in diff_non:
        infos.append(zeros_like(nonseqs[m]))
    n_carry = len(infos)
    n_gx = sum(len(op.seq_taps[j]) for j in diff_seq)
    infos += [None] * n_gx

    rng_subs = []

    def step(*args):
        it = iter(args)
        mapping = {}
        for j, taps in enumerate(op.seq_taps):
            for p in iseqs[j]:
                mapping[p] = next(it)
        state_vals = {}
        for i in range(ns):
            if tensor_state[i]:
                state_vals[i] = [next(it) for _ in op.state_taps[i]]
                for p, v in zip(istates[i], state_vals[i]):
                    mapping[p] = v
        g_h = {i: next(it) for i in diff_state if i in gH}
        g_y = {k: next(it) for k in range(op.n_nitsot) if k in gY}
        carries = [next(it) for _ in diff_state]
        accs = [next(it) for _ in diff_non]
        non_vals = list(it)
        for p, v in zip(inons, non_vals):
            mapping[p] = v
        for i in range(ns):
            if not tensor_state[i]:
                for p in istates[i]:
                    mapping[p] = inits[i]      # only valid if the gradient does not read it
                    rng_subs.append(inits[i])
        fwd = clone_replace(fg.outputs[:ns + op.n_nitsot], mapping)
        gs = [None] * (ns + op.n_nitsot)
        for c, i in zip(carries, diff_state):
            dS = c[0]
            if i in g_h:
                dS = dS + g_h[i]
            gs[i] = dS
        for k, g in g_y.items():
            gs[ns + k] = g
        wrt = [mapping[p] for j in diff_seq for p in iseqs[j]] + \
              [v for i in diff_state for v in state_vals[i]] + \
              [non_vals[m] for m in diff_non]
        pulled = pullback(fwd, gs, wrt) if wrt else []
        pit = iter(pulled)
        gx = [next(pit) for j in diff_seq for _ in iseqs[j]]
        new_carries = []
        for c, i in zip(carries, diff_state):
            taps = op.state_taps[i]
            L = -min(taps)
            g_taps = dict(zip(taps, [next(pit) for _ in taps]))
            rows = []
            for d in range(L):
                r = c[d + 1] if d + 1 < L else zeros_like(c[0])
                if -1 - d in g_taps:
                    r = r + g_taps[-1 - d]
                rows.append(r)
            new = stack(rows) if L > 1 else shape_padleft(rows[0])
            new_carries.append(patternbroadcast(cast(new, c.dtype), c.broadcastable))
        new_accs = [cast(a + next(pit), a.dtype) for a in accs]
        new_accs = [patternbroadcast(a, w.broadcastable) for a, w in zip(new_accs, accs)]
        gx = [patternbroadcast(cast(g, p.dtype), p.broadcastable)
              for g, p in zip(gx, [mapping[p] for j in diff_seq for p in iseqs[j]])]
        outs = new_carries + new_accs + gx
        if rng_subs:
            used = set(ancestors(outs))
            for r in rng_subs:
                if r in used:
                    raise NotImplementedError(
                        f"the gradient through scan {op.name or ''} (built at {op.where()}) "
                        f"needs the random draws of its body at every step, which this "
                        f"version does not keep; draw the random numbers outside the scan and "
                        f"pass them as a sequence")
        return outs

    res, _ = build_scan(step, sequences=b_seqs, outputs_info=infos, non_sequences=list(nonseqs),
                        n_steps=nb, name=f"grad_of_{op.name or 'scan'}", return_list=True,
                        keep_last=set(range(n_carry)), trace=op.trace)
    carries_f = res[:len(diff_state)]
    accs_f = res[len(diff_state):n_carry]
    gxs = res[n_carry:]

    s_off, st_off, ns_off = 1, 1 + op.n_seqs, 1 + op.n_seqs + ns
    git = iter(gxs)
    for j in diff_seq:
        x, taps = seqs[j], op.seq_taps[j]
        off = _offset(taps)
        dx = zeros_like(x)
        for k in taps:
            G = next(git)[::-1]
            dx = sub_ops.inc_subtensor(dx[k + off + N - nb:k + off + N], G)
        grads_in[s_off + j] = dx
    for c, i in zip(carries_f, diff_state):
        L = -min(op.state_taps[i])
        init = inits[i]
        d_init = sub_ops.set_subtensor(zeros_like(init)[:L], c[::-1])
        if truncated:
            d_init = switch(eq(nb, N), d_init, zeros_like(init))
        grads_in[st_off + i] = patternbroadcast(cast(d_init, init.dtype), init.broadcastable)
    for a, m in zip(accs_f, diff_non):
        grads_in[ns_off + m] = a
    return grads_in


__all__ = ["Scan", "scan", "build_scan", "until", "map", "reduce", "foldl", "foldr",
           "scan_grad"]

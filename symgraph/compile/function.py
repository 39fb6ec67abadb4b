"""function(): compile a graph into a callable, with updates, givens and defaults."""
from __future__ import annotations

import operator
import warnings
from itertools import repeat

import numpy as np

from ..graph import Constant, Variable, ancestors, clone_replace, graph_inputs
from ..opt.fgraph import FunctionGraph
from .io import In, Out
from .mode import get_mode
from .sharedvalue import SharedVariable


class MissingInputError(ValueError):
    """An output depends on a symbolic input that was not given to function()."""


class UnusedInputError(ValueError):
    """An input of function() is not used by any output (on_unused_input='raise')."""


def _pairs(obj, what):
    if obj is None:
        return []
    if isinstance(obj, dict):
        return list(obj.items())
    pairs = list(obj)
    for p in pairs:
        if not isinstance(p, (tuple, list)) or len(p) != 2:
            raise TypeError(f"{what} must be a dict or a list of (variable, expression) pairs, "
                            f"got an item {p!r}")
    return [tuple(p) for p in pairs]


def _check_same_type(lhs, rhs, what):
    """Return ``rhs`` converted to lhs's type, or raise TypeError naming both."""
    from ..tensor.basic import as_tensor_variable, patternbroadcast
    from ..tensor.type import TensorType
    if not isinstance(lhs.type, TensorType):
        if not isinstance(rhs, Variable) or rhs.type != lhs.type:
            raise TypeError(f"{what}: {lhs} has type {lhs.type} but the expression has type "
                            f"{getattr(rhs, 'type', type(rhs).__name__)}")
        return rhs
    try:
        rhs = as_tensor_variable(rhs)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: the new value of {lhs} ({lhs.type}) must be a symbolic expression "
                        f"or a constant, got {type(rhs).__name__} {rhs!r:.80} ({exc})") from None
    if rhs.type == lhs.type:
        return rhs
    if rhs.dtype == lhs.dtype and rhs.ndim == lhs.ndim:
        return patternbroadcast(rhs, lhs.broadcastable)
    where = f" (expression built at {rhs.where()})" if getattr(rhs.tag, "trace", None) else ""
    raise TypeError(
        f"{what}: {lhs} has type {lhs.type} but the new expression has type {rhs.type}{where}. "
        f"The types must match: cast the expression (e.g. T.cast(expr, '{lhs.dtype}')) or "
        f"set config.floatX consistently.")


class Function:
    """A compiled function. Call it with positional or keyword arguments."""

    def __init__(self, maker):
        self.maker = maker
        self.name = maker.name
        self.trust_input = False
        self._ins = maker.in_specs
        self._n_explicit = len(self._ins)
        self._shared = maker.shared_inputs
        self._run = maker.thunk
        self._n_out = maker.n_outputs
        self._update_vars = maker.update_vars
        self._update_boxes = [sv._box for sv in maker.update_vars]
        self._single = maker.single_output
        self._copy_out = maker.copy_outputs
        self._copy_upd = maker.copy_updates
        self._defaults = [spec.value for spec in self._ins]
        self._index = {}
        for k, spec in enumerate(self._ins):
            if spec.name is not None:
                self._index.setdefault(spec.name, k)
        self._filters = [(spec.variable.type.filter, spec.strict,
                          maker.allow_downcast if spec.allow_downcast is None else spec.allow_downcast,
                          spec.name or str(spec.variable)) for spec in self._ins]

    # ------------------------------------------------------------------ call
    def __call__(self, *args, **kwargs):
        n = self._n_explicit
        if len(args) > n:
            raise TypeError(f"{self._label()} takes {n} argument(s) but {len(args)} were given")
        if kwargs or len(args) < n:
            args = self._bind(args, kwargs)
        if self.trust_input:
            values = list(args)
        else:
            try:
                values = [flt(a, strict, down, nm) for (flt, strict, down, nm), a in zip(self._filters, args)]
            except (TypeError, ValueError) as exc:
                raise self._input_error(exc, args) from None
        for sv in self._shared:
            values.append(sv._box[0])
        outs = self._run(values)
        n_out = self._n_out
        result = outs[:n_out]
        for i in self._copy_out:
            result[i] = np.array(result[i], copy=True)
        if self._update_vars:
            # all outputs computed: apply every update together
            new = outs[n_out:]
            for i in self._copy_upd:
                new[i] = np.array(new[i], copy=True)
            # one pass of C calls (no bytecode between assignments, so a KeyboardInterrupt
            # cannot land between them): every shared variable changes, or none does
            list(map(operator.setitem, self._update_boxes, repeat(0), new))
        if self._single:
            return result[0]
        return result

    def _bind(self, args, kwargs):
        vals = list(args) + [_MISSING] * (self._n_explicit - len(args))
        for key, val in kwargs.items():
            k = self._index.get(key)
            if k is None:
                raise TypeError(f"{self._label()} got an unexpected keyword argument {key!r} "
                                f"(inputs: {[s.name for s in self._ins]})")
            if vals[k] is not _MISSING:
                raise TypeError(f"{self._label()} got multiple values for input {key!r}")
            vals[k] = val
        for k, v in enumerate(vals):
            if v is _MISSING:
                spec = self._ins[k]
                if not spec.has_default:
                    raise TypeError(f"{self._label()}: missing required input "
                                    f"{spec.name or spec.variable} ({spec.variable.type}, "
                                    f"argument {k})")
                vals[k] = self._defaults[k]
        return vals

    def _input_error(self, exc, args):
        """``exc`` from filtering ``args``, naming the argument and the line that declared it."""
        for k, ((flt, strict, down, nm), a) in enumerate(zip(self._filters, args)):
            try:
                flt(a, strict, down, nm)
            except (TypeError, ValueError) as err:
                var = self._ins[k].variable
                return type(err)(f"{self._label()}, argument {k}: {err}\n"
                                 f"Input {var} ({var.type}) was declared at: {var.where()}")
        return exc

    def _label(self):
        return f"function {self.name!r}" if self.name else "function"

    # ------------------------------------------------------------------ misc
    def __setitem__(self, name, value):
        """Change an input's default: ``f['step'] = 2``."""
        k = self._index[name] if isinstance(name, str) else name
        self._defaults[k] = value

    def __getitem__(self, name):
        k = self._index[name] if isinstance(name, str) else name
        return self._defaults[k]

    @property
    def fgraph(self):
        return self.maker.fgraph

    def __reduce__(self):
        return (_rebuild_function, (self.maker.spec,))

    def __repr__(self):
        return f"<symgraph.Function {self.name or ''} {len(self.maker.fgraph.apply_nodes)} nodes>"


_MISSING = object()


def _rebuild_function(spec):
    return function(**spec)


class FunctionMaker:
    """Holds the optimized graph, the backend thunk and the call conventions."""


def function(inputs, outputs=None, mode=None, updates=None, givens=None, no_default_updates=False,
             accept_inplace=False, name=None, rebuild_strict=True, allow_input_downcast=None,
             profile=None, on_unused_input=None, trust_input=False):
    """Compile ``outputs`` as a function of ``inputs``.

    >>> x, y = T.dscalars('x', 'y')
    >>> f = function([x, In(y, value=1)], x + y)
    >>> f(2.0), f(2.0, 3.0), f(2.0, y=5.0)

    ``updates``: list of (shared_variable, expression) pairs or a dict; each
    shared variable takes the expression's value after the outputs are
    computed (all updates read the old values). ``givens``: pairs
    (variable, expression) substituted in the graph before compiling.
    """
    spec = dict(inputs=inputs, outputs=outputs, mode=mode, updates=updates, givens=givens,
                no_default_updates=no_default_updates, name=name,
                allow_input_downcast=allow_input_downcast, on_unused_input=on_unused_input)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("function: inputs must be a list (e.g. [x, y]); got "
                        f"{type(inputs).__name__}")
    mode = get_mode(mode)
    in_specs = [i if isinstance(i, In) else In(i) for i in inputs]
    seen = set()
    for spec_i in in_specs:
        v = spec_i.variable
        if not isinstance(v, Variable):
            raise TypeError(f"function: inputs must be symbolic variables, got {v!r}")
        if isinstance(v, Constant):
            raise TypeError(f"function: constant {v} cannot be an input")
        if isinstance(v, SharedVariable):
            raise TypeError(f"function: cannot use shared variable {v} as an explicit input; "
                            f"it is an implicit input of any function that uses it (use givens "
                            f"to substitute it)")
        if v.owner is not None:
            raise TypeError(f"function: input {v} is computed by {v.owner.op}; inputs must be "
                            f"free variables such as T.matrix() (use givens to substitute an "
                            f"expression)")
        if v in seen:
            raise ValueError(f"function: input {v} is given more than once")
        seen.add(v)

    single = False
    if outputs is None:
        out_specs = []
    elif isinstance(outputs, (list, tuple)):
        out_specs = [o if isinstance(o, Out) else Out(o) for o in outputs]
    else:
        single = True
        out_specs = [outputs if isinstance(outputs, Out) else Out(outputs)]
    from ..tensor.basic import as_tensor_variable
    for o in out_specs:
        if not isinstance(o.variable, Variable):
            o.variable = as_tensor_variable(o.variable)

    upd = []
    upd_seen = set()
    for lhs, rhs in _pairs(updates, "updates"):
        if not isinstance(lhs, SharedVariable):
            raise TypeError(f"updates: the left side {lhs} must be a shared variable")
        if lhs in upd_seen:
            raise ValueError(f"updates: shared variable {lhs} is updated more than once")
        upd_seen.add(lhs)
        upd.append((lhs, _check_same_type(lhs, rhs, "updates")))
    for spec_i in in_specs:
        if spec_i.update is not None:
            raise NotImplementedError("In(update=...) is not supported; use a shared variable")

    giv = []
    for lhs, rhs in _pairs(givens, "givens"):
        if not isinstance(lhs, Variable):
            raise TypeError(f"givens: keys must be symbolic variables, got {lhs!r}")
        giv.append((lhs, _check_same_type(lhs, rhs, "givens")))
    giv_map = dict(giv)

    # default updates (e.g. random-stream states), following new shared variables
    exprs = [o.variable for o in out_specs] + [r for _, r in upd]
    exprs = clone_replace(exprs, giv_map) if giv_map else exprs
    excluded = (set(no_default_updates) if isinstance(no_default_updates, (list, tuple))
                else None)
    if no_default_updates is not True:
        k = 0
        while True:
            added = False
            for v in graph_inputs(exprs):
                if isinstance(v, SharedVariable) and v not in upd_seen \
                        and getattr(v, "default_update", None) is not None \
                        and (excluded is None or v not in excluded):
                    rhs = _check_same_type(v, v.default_update, "default_update")
                    rhs = clone_replace([rhs], giv_map)[0] if giv_map else rhs
                    upd.append((v, rhs))
                    upd_seen.add(v)
                    exprs.append(rhs)
                    added = True
            k += 1
            if not added or k > 100:
                break

    explicit = [s.variable for s in in_specs]
    explicit_set = set(explicit)
    free = graph_inputs(exprs, blockers=explicit_set)
    shared_vars = []
    for v in free:
        if v in explicit_set or isinstance(v, Constant):
            continue
        if isinstance(v, SharedVariable):
            shared_vars.append(v)
            continue
        raise MissingInputError(
            f"function: output depends on input variable {v} ({v.type}, built at {v.where()}) "
            f"which is not in the inputs list {explicit}; add it to inputs or use givens")
    for sv, _ in upd:
        if sv not in shared_vars:
            shared_vars.append(sv)

    used = set(ancestors(exprs))
    policy = on_unused_input or "raise"
    for spec_i in in_specs:
        if spec_i.variable not in used:
            msg = (f"function: input {spec_i.variable} (argument {explicit.index(spec_i.variable)}) "
                   f"is not used by any output; pass on_unused_input='ignore' if this is intended")
            if policy == "raise":
                raise UnusedInputError(msg)
            if policy == "warn":
                warnings.warn(msg, stacklevel=2)

    fgraph = FunctionGraph(explicit + shared_vars, exprs)
    # output index -> shared variable it updates (the inplace pass may then reuse its buffer)
    fgraph.update_mapping = {len(out_specs) + j: sv for j, (sv, _) in enumerate(upd)}
    from ..opt import optimize
    optimize(fgraph, mode)
    linker = mode.make_linker()
    thunk = linker.make_thunk(fgraph)

    maker = FunctionMaker()
    maker.spec = spec
    maker.name = name
    maker.mode = mode
    maker.fgraph = fgraph
    maker.linker = linker
    maker.thunk = thunk
    maker.in_specs = in_specs
    maker.shared_inputs = shared_vars
    maker.n_outputs = len(out_specs)
    maker.update_vars = [sv for sv, _ in upd]
    maker.single_output = single
    maker.allow_downcast = allow_input_downcast
    internal = set(getattr(thunk, "internal_outputs", ()))
    n_out = len(out_specs)
    roots = [_alias_roots(fgraph, o) for o in fgraph.outputs]
    graph_ins = set(fgraph.inputs)

    def foreign(k, sv=None):
        """Output k may share memory with an input (other than sv) or a constant."""
        return any((r in graph_ins and r is not sv) or isinstance(r, Constant) for r in roots[k])

    # a returned array must not be an input, a constant, another output, or the new value of a
    # shared variable (the user could then change the shared value through it)
    upd_roots = set().union(*roots[n_out:])
    maker.copy_outputs = [i for i, o in enumerate(out_specs)
                          if not o.borrow and (i in internal or foreign(i) or roots[i] & upd_roots
                                               or any(roots[i] & r for r in roots[:i]))]
    # a new shared value must not be an input, a constant or another shared variable's value
    maker.copy_updates = [j for j, (sv, _) in enumerate(upd)
                          if (n_out + j) in internal or foreign(n_out + j, sv)
                          or any(roots[n_out + j] & r for r in roots[n_out:n_out + j])]
    return Function(maker)


def _alias_roots(fgraph, var):
    """Variables whose memory ``var`` may be (following view/destroy maps back to a graph input
    or to the output of a node that allocates its result)."""
    roots, stack, seen = set(), [var], set()
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v.owner is None:
            roots.add(v)
            continue
        op = v.owner.op
        sources = [v.owner.inputs[i] for m in (op.view_map, op.destroy_map) for i in m.get(v.index, ())]
        if sources:
            stack.extend(sources)
        else:
            roots.add(v)
    return roots

"""The graph IR: Type, Variable, Constant, Apply and Op.

A graph is a DAG of :class:`Apply` nodes. Each Apply applies an :class:`Op` to
input :class:`Variable` objects and owns its output Variables. Variables record
the user's source line where they were built (``var.tag.trace``) so errors
raised at run time can point back at user code.

Backends are not methods of Ops: each backend keeps its own table from Op type
to lowering (see ``symgraph/backends``).
"""
from __future__ import annotations

import os
import sys
import threading
import weakref
from types import SimpleNamespace

import numpy as np

from ..config import config

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # the symgraph package


def user_trace():
    """Return (filename, lineno, function) of the first frame outside symgraph."""
    frame = sys._getframe(1)
    while frame is not None:
        fname = frame.f_code.co_filename
        if not fname.startswith(_PKG_DIR):
            return (fname, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None



# The compiler lives in a layer above this one (symgraph.compile); it registers itself here so
# that Variable.eval and gradient.verify_grad can build functions without an upward import.
_COMPILER = []


def register_compiler(function):
    """Called once by ``symgraph.compile.function``: ``function(inputs, outputs, **kw)``."""
    if _COMPILER and _COMPILER[0] is not function:
        raise RuntimeError("a compiler is already registered")
    _COMPILER[:] = [function]


def compiler():
    """The registered ``function()`` (importing ``symgraph`` registers it)."""
    if not _COMPILER:
        raise RuntimeError("no compiler registered: import symgraph (symgraph.compile) first")
    return _COMPILER[0]


def format_trace(trace):
    if not trace:
        return "<unknown location>"
    fname, lineno, func = trace
    return f'File "{fname}", line {lineno}, in {func}'


class Type:
    """The type of a Variable: knows how to validate and convert values."""

    def filter(self, value, strict=False, allow_downcast=None):
        raise NotImplementedError

    def make_variable(self, name=None):
        return Variable(self, name=name)

    def __call__(self, name=None):
        return self.make_variable(name)

    def values_eq(self, a, b):
        return a == b


class Variable:
    """A symbolic value: the output of an Apply node, a graph input or a constant."""

    __array_priority__ = 1000  # make numpy defer to our operators

    def __init__(self, type, owner=None, index=None, name=None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.tag = SimpleNamespace(trace=user_trace())

    def clone(self):
        """A new Variable of the same type, name and trace, without owner."""
        cp = self.__class__.__new__(self.__class__)
        cp.__dict__.update(self.__dict__)
        cp.owner = None
        cp.index = None
        cp.tag = SimpleNamespace(**vars(self.tag))
        return cp

    def __getstate__(self):
        state = dict(self.__dict__)
        # functions compiled by eval(): rebuilt on demand; unpickling them would need this
        # variable's state before it is set
        state.pop("_eval_cache", None)
        if self.owner is not None and not _PICKLE.take_shallow(self):
            # Pickle would otherwise recurse owner -> inputs -> owner, one level per node of
            # depth: the graph above goes first as a flat list of its Apply nodes in dependency
            # order, so every node's inputs are already pickled when the node is.
            _PICKLE.entries.add(id(self))
            state = {"_sg_ancestry": toposort([self]), **state}
        return state

    def __setstate__(self, state):
        state = dict(state)
        state.pop("_sg_ancestry", None)
        self.__dict__.update(state)

    def __str__(self):
        if self.name is not None:
            return self.name
        if self.owner is not None:
            op = self.owner.op
            if len(self.owner.outputs) == 1:
                return f"{op}.out"
            return f"{op}.{self.index}"
        return f"<{self.type}>"

    def __repr__(self):
        return str(self)

    def where(self):
        """Human-readable location where the user built this variable."""
        return format_trace(getattr(self.tag, "trace", None))

    def eval(self, inputs_to_values=None, **kw):
        """Compile (cached per set of inputs) and evaluate this variable.

        >>> x = T.dscalar('x'); (x * 2).eval({x: 3.0})
        array(6.)
        """
        function = compiler()
        inputs_to_values = inputs_to_values or {}
        keys = tuple(inputs_to_values)
        cache = self.__dict__.setdefault("_eval_cache", {})
        if keys not in cache:
            cache[keys] = function(list(keys), self, on_unused_input="ignore", **kw)
        return cache[keys](*[inputs_to_values[k] for k in keys])


class Constant(Variable):
    """A Variable with a fixed value; graph rewrites can fold it."""

    def __init__(self, type, data, name=None):
        super().__init__(type, None, None, name)
        self.data = type.filter(data)

    def signature(self):
        return (self.type, _data_signature(self.data))

    def clone(self):
        cp = super().clone()
        return cp

    def __str__(self):
        if self.name is not None:
            return self.name
        return f"{type(self).__name__}{{{_short_repr(self.data)}}}"


def _short_repr(data):
    try:
        arr = np.asarray(data)
        if arr.size <= 6:
            s = str(arr.tolist())
        else:
            s = f"array(shape={arr.shape})"   # values elided
        return s
    except Exception:
        return repr(data)


def _data_signature(data):
    try:
        arr = np.asarray(data)
        return (arr.dtype.str, arr.shape, arr.tobytes())
    except Exception:
        return repr(data)


class _PickleMarks(threading.local):
    """Per thread: outputs of Apply nodes being pickled (pickled without their ancestry) and
    variables being pickled with theirs."""

    def __init__(self):
        self.shallow = {}
        self.entries = set()

    def take_shallow(self, var):
        ref = self.shallow.pop(id(var), None)
        return ref is not None and ref() is var


_PICKLE = _PickleMarks()


class Apply:
    """One application of an Op to input Variables, producing output Variables."""

    def __init__(self, op, inputs, outputs):
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for i, out in enumerate(self.outputs):
            if out.owner is not None and out.owner is not self:
                raise ValueError(f"output {i} of {op} already belongs to another Apply")
            out.owner = self
            out.index = i
        self.tag = SimpleNamespace()

    def clone_with_new_inputs(self, inputs, strict=True):
        """Rebuild this node on new inputs (via make_node, so types are re-derived)."""
        node = self.op.make_node(*inputs)
        for old, new in zip(self.outputs, node.outputs):
            new.name = old.name
            new.tag.trace = old.tag.trace
        return node

    def __getstate__(self):
        # this node's outputs come next in the pickle, right after it: they need no ancestry
        # (their owner, this node, is already pickled); see Variable.__getstate__
        for o in self.outputs:
            if id(o) in _PICKLE.entries:
                _PICKLE.entries.discard(id(o))
            else:
                _PICKLE.shallow[id(o)] = weakref.ref(o)
        return dict(self.__dict__)

    @property
    def out(self):
        assert len(self.outputs) == 1
        return self.outputs[0]

    def __str__(self):
        return f"{self.op}({', '.join(map(str, self.inputs))})"

    __repr__ = __str__


class Op:
    """Base class of operations.

    Subclasses define ``make_node(*inputs) -> Apply`` and
    ``perform(node, inputs, output_storage)``; ``grad``/``L_op``,
    ``infer_shape``, ``view_map`` and ``destroy_map`` are optional.
    ``__props__`` names the attributes that define equality and hashing, which
    merging and the compile cache rely on.
    """

    __props__ = ()
    view_map: dict = {}
    destroy_map: dict = {}
    default_output = None

    def _props(self):
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other):
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self):
        return hash((type(self), self._props()))

    def __str__(self):
        name = type(self).__name__
        if self.__props__:
            return f"{name}{{{', '.join(str(p) for p in self._props())}}}"
        return name

    __repr__ = __str__

    def make_node(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__}.make_node")

    def perform(self, node, inputs, output_storage):
        raise NotImplementedError(f"{type(self).__name__}.perform")

    def __call__(self, *inputs, **kwargs):
        node = self.make_node(*inputs, **kwargs)
        if not type(self).__module__.startswith("symgraph."):
            # an Op defined in user code: its outputs were traced to its own make_node;
            # point them at the line that applied the Op instead
            trace = user_trace()
            for out in node.outputs:
                out.tag.trace = trace
        with_test_values(node)
        if self.default_output is not None:
            return node.outputs[self.default_output]
        if len(node.outputs) == 1:
            return node.outputs[0]
        return node.outputs

    # Gradient: override grad(inputs, output_grads) or L_op(inputs, outputs, output_grads).
    def L_op(self, inputs, outputs, output_grads):
        return self.grad(inputs, output_grads)

    def grad(self, inputs, output_grads):
        raise NotImplementedError(f"{self} defines no gradient")


class TestValueError(ValueError):
    """compute_test_value: an input has no test value, or the Op failed on the test values."""


def _test_value(v):
    """The test value of ``v`` (a constant's data, a shared variable's value, else
    ``v.tag.test_value``), or None."""
    if isinstance(v, Constant):
        return v.data
    box = getattr(v, "_box", None)
    if box is not None:
        return box[0]
    value = getattr(v.tag, "test_value", None)
    if value is not None and hasattr(v.type, "filter"):
        value = v.type.filter(value, allow_downcast=True)
        v.tag.test_value = value
    return value


def with_test_values(node):
    """``node`` after its outputs got their test values when ``config.compute_test_value`` is
    on (what ``Op.__call__`` does; for nodes built by calling ``make_node`` directly)."""
    if config.compute_test_value != "off":
        compute_test_value(node, config.compute_test_value)
    return node


def compute_test_value(node, mode):
    """Theano's ``compute_test_value``: run ``node``'s ``perform`` on its inputs' test values
    at graph-build time and store the results as the outputs' ``tag.test_value``.

    An input without a test value: ``'ignore'`` skips the node, ``'warn'`` warns and skips,
    ``'raise'``/``'pdb'`` raise :class:`TestValueError`. An Op that fails on the values (a
    shape mismatch) raises at once, with the line that built the node (``'pdb'``: after the
    debugger).
    """
    values = []
    for k, v in enumerate(node.inputs):
        value = _test_value(v)
        if value is None:
            msg = (f"compute_test_value: input {k} ({v}) of {node.op} has no test value; set "
                   f"{v.name or 'the variable'}.tag.test_value (node built at "
                   f"{node.outputs[0].where()})")
            if mode == "ignore":
                return
            if mode == "warn":
                import warnings
                warnings.warn(msg, stacklevel=3)
                return
            raise TestValueError(msg)
        values.append(value)
    cells = [[None] for _ in node.outputs]
    try:
        node.op.perform(node, values, cells)
    except Exception as exc:
        if mode == "pdb":
            import pdb
            pdb.post_mortem(exc.__traceback__)
        shapes = ", ".join(str(np.shape(v)) for v in values)
        msg = (f"{exc}\ncompute_test_value: {node.op} failed on the test values (input shapes "
               f"{shapes}); the expression was built at {node.outputs[0].where()}")
        try:
            new = type(exc)(msg)
        except Exception:
            new = TestValueError(msg)
        raise new from exc
    for out, cell in zip(node.outputs, cells):
        out.tag.test_value = cell[0]


# --------------------------------------------------------------------------
# Graph traversal

def toposort(outputs, inputs=None):
    """Apply nodes between ``inputs`` (exclusive) and ``outputs``, in dependency order."""
    stop = set(inputs) if inputs else set()
    order = []
    seen = set()
    stack = [(v, False) for v in reversed(list(outputs))]
    while stack:
        var, expanded = stack.pop()
        node = var.owner if isinstance(var, Variable) else var
        if node is None or var in stop:
            continue
        if expanded:
            if node not in seen:
                seen.add(node)
                order.append(node)
            continue
        if node in seen:
            continue
        stack.append((node, True))
        for inp in reversed(node.inputs):
            if inp.owner is not None and inp.owner not in seen and inp not in stop:
                stack.append((inp, False))
    return order


def graph_inputs(outputs, blockers=None):
    """Variables without owner (or in ``blockers``) that ``outputs`` depend on, in order."""
    blockers = set(blockers) if blockers else set()
    result, seen = [], set()
    stack = list(reversed(list(outputs)))
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v.owner is None or v in blockers:
            result.append(v)
        else:
            stack.extend(reversed(v.owner.inputs))
    return result


def ancestors(outputs, blockers=None):
    """All variables ``outputs`` depend on (including themselves)."""
    blockers = set(blockers) if blockers else set()
    seen, stack, result = set(), list(outputs), []
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        result.append(v)
        if v.owner is not None and v not in blockers:
            stack.extend(v.owner.inputs)
    return result


def clone_replace(outputs, replace=None, copy_inputs=False):
    """Copy the graph of ``outputs`` with variables substituted per ``replace``.

    ``replace`` maps old variables to new ones (dict or list of pairs); the new
    ones must have compatible types. Returns the list of new outputs.
    """
    if replace is None:
        replace = {}
    elif not isinstance(replace, dict):
        replace = dict(replace)
    memo = dict(replace)
    for node in toposort(outputs, inputs=list(memo)):
        new_inputs = [memo.get(i, i) for i in node.inputs]
        if all(a is b for a, b in zip(new_inputs, node.inputs)) and not copy_inputs:
            new_node = node
        else:
            new_node = node.clone_with_new_inputs(new_inputs)
        for old, new in zip(node.outputs, new_node.outputs):
            memo.setdefault(old, new)
    return [memo.get(o, o) for o in outputs]


def is_same_graph(a, b):
    """Structural equality of two single-output graphs (for tests)."""
    if a is b:
        return True
    if isinstance(a, Constant) and isinstance(b, Constant):
        return a.signature() == b.signature()
    if a.owner is None or b.owner is None:
        return False
    if a.owner.op != b.owner.op or a.index != b.index or len(a.owner.inputs) != len(b.owner.inputs):
        return False
    return all(is_same_graph(x, y) for x, y in zip(a.owner.inputs, b.owner.inputs))

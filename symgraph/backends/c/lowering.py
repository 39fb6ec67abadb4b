"""The lowering table: Op type -> function that writes the C body of one node.

A lowering is registered from outside the Op (backend code never lives on Ops)::

    @register(Elemwise, check=elemwise_ok)
    def lower_elemwise(e):          # e is a NodeEmitter
        e.emit(f"if (sg_elemwise(c, &E, ops)) return 1;")

``check(node) -> bool`` says whether this node can be lowered (e.g. supported
dtypes); a node without lowering, or whose check fails, runs in Python.
``workspace`` is the number of scratch buffers the node needs (or a function
of the node). ``own_buffer`` marks view ops that sometimes copy (Reshape of a
non-contiguous input): their output may live in the input's memory or in a
buffer of their own. ``literal_inputs(node)`` names inputs rendered as literals
(never loaded). ``subgraphs(node)`` lists the inner FunctionGraphs the node's code runs
itself (Scan's body): the planner gives each a nested sub-plan (``plan.subplans``), whose
node functions the module defines before the node's own.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from ...graph import Constant
from ...ops.type import TensorType
from ..registry import LoweringRegistry
from .render import SUPPORTED_DTYPES, CDialect

MAXD = 8          # SG_MAXD in the runtime header
MAXOPS = 64       # SG_MAXOPS

ERR = {"value": "SG_EVALUE", "index": "SG_EINDEX", "type": "SG_ETYPE", "memory": "SG_EMEMORY",
       "runtime": "SG_ERUNTIME"}


@dataclasses.dataclass
class Lowering:
    fn: Callable
    check: Optional[Callable] = None
    workspace: object = 0
    own_buffer: bool = False
    literal_inputs: Optional[Callable] = None
    subgraphs: Optional[Callable] = None

    def n_workspace(self, node):
        return self.workspace(node) if callable(self.workspace) else self.workspace


LOWERINGS = LoweringRegistry("c")


def register(*op_types, check=None, workspace=0, own_buffer=False, literal_inputs=None,
             subgraphs=None, replace=False):
    """Decorator: ``@register(OpClass, ...)`` makes the function the C lowering of those Op types."""
    return LOWERINGS.register(*op_types, replace=replace,
                              wrap=lambda fn: Lowering(fn, check, workspace, own_buffer,
                                                       literal_inputs, subgraphs))


def lookup(node):
    """The Lowering for ``node``'s op, or None when it must run in Python."""
    low = LOWERINGS.lookup(node.op)
    if low is None:
        return None
    for v in list(node.inputs) + list(node.outputs):
        if not is_c_value(v):
            return None
    if low.check is not None and not low.check(node):
        return None
    return low


def is_c_value(v):
    """Whether C code can hold ``v`` (a tensor of a supported dtype and rank)."""
    t = v.type
    return isinstance(t, TensorType) and t.dtype in SUPPORTED_DTYPES and t.ndim <= MAXD


SFX = {"float32": "f32", "float64": "f64"}     # runtime function suffix of a float dtype


def same_float(node, tensor_inputs=None):
    """All float tensor inputs (by index) and every output share one float dtype."""
    dt = node.outputs[-1].dtype
    if dt not in SFX:
        return False
    idx = range(len(node.inputs)) if tensor_inputs is None else tensor_inputs
    return all(node.inputs[k].dtype == dt for k in idx) and all(o.dtype in (dt, "int32") for o in node.outputs)


def c_string(text):
    """A C string literal for ``text`` (printf-safe: '%' doubled)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("\n", "\\n")
    return f'"{out}"'


class NodeEmitter:
    """What a lowering sees: names of the node's values, buffers, and places to write C.

    ``e.inp(i)``/``e.out(j)`` are ``sg_val`` lvalues (``V[7]``); ``e.buf(j)`` the
    planned buffer of output j; ``e.inplace(j)`` the input whose memory output j
    reuses (None when the plan refused it); ``e.ws(k)`` workspace buffer k.
    ``e.emit(line)`` appends to the node's function; ``e.kernel(text)`` adds a
    module-level function; ``e.fail(kind, fmt, *args)`` is a ``return sg_fail(...)``.
    """

    def __init__(self, plan, index, node, dialect=None):
        self.plan = plan
        self.local = index                  # the node's position in ``plan``
        self.index = plan.node_id(index)    # its number in the module (C names, errors)
        self.node = node
        self.op = node.op
        self.d = dialect or CDialect()
        self.lines = []
        self.kernels = []
        self.math = set()
        self._static = 0

    # -- names
    def v(self, var):
        return f"V[{self.plan.val[var]}]"

    def inp(self, i):
        return self.v(self.node.inputs[i])

    def out(self, j):
        return self.v(self.node.outputs[j])

    def buf(self, j):
        return self.plan.out_buf[(self.local, j)]

    def inplace(self, j):
        return self.plan.inplace.get((self.local, j))

    def ws(self, k):
        return self.plan.ws_buf[(self.local, k)]

    def subplans(self):
        """The nested plans of this node's inner graphs (``Lowering.subgraphs``)."""
        return self.plan.subplans.get(self.local, [])

    def name(self, stem):
        """A module-unique C identifier for this node (``k12`` for stem 'k')."""
        return f"{stem}{self.index}"

    def ctype(self, var):
        return self.d.ctype(var.type.dtype)

    @staticmethod
    def isz(var):
        return np.dtype(var.type.dtype).itemsize

    def scalar(self, var, ctype="int64_t"):
        """C expression reading scalar ``var`` converted to ``ctype`` (a literal for constants)."""
        if isinstance(var, Constant):
            return self.d.literal(np.asarray(var.data).item(), var.type.dtype) if ctype != "double" \
                else repr(float(np.asarray(var.data).item()))
        return f"(({ctype})*(const {self.ctype(var)} *){self.v(var)}.data)"

    # -- code
    def emit(self, *lines):
        self.lines.extend(lines)

    def kernel(self, text):
        self.kernels.append(text)

    def static(self, ctype, values, stem="t"):
        """Declare ``static const ctype name[] = {values}`` in the node function; return the name."""
        name = f"{stem}{self._static}"
        self._static += 1
        vals = ", ".join(str(v) for v in values) if values else "0"
        self.lines.insert(0, f"static const {ctype} {name}[] = {{{vals}}};")
        return name

    def fail(self, kind, fmt, *args):
        extra = "".join(f", {a}" for a in args)
        return f"return sg_fail(c, {self.index}, {ERR[kind]}, {fmt}{extra});"

    def try_(self, call):
        return f"if ({call}) return 1;"

"""Printing graphs: ``pp`` (infix text), ``debugprint`` (tree with types), ``pydotprint`` (graphviz)."""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np

from .compile.function import Function
from .graph import Apply, Constant, Op, Variable, toposort
from .ops.elemwise import DimShuffle, Elemwise, as_tensor_variable
from .ops.subtensor import AdvancedSubtensor, Subtensor


def _precedence(sym):
    return {"**": 4, "*": 3, "/": 3, "//": 3, "%": 3, "+": 2, "-": 2}.get(sym, 1)


def pp(var):
    """Readable infix text of an expression.

    >>> pp(T.grad(x ** 2, x))
    '((fill((x ** 2.0), 1.0) * 2.0) * (x ** (2.0 - 1.0)))'
    """
    return _pp(var, {})


def _pp(var, memo):
    # iterative (graphs can be thousands of nodes deep): children before parents
    for node in toposort([var]):
        args = [memo.get(i) or _pp_leaf(i, memo) for i in node.inputs]
        for out in node.outputs:
            memo[out] = _pp_node(out, node, args)
    return memo.get(var) or _pp_leaf(var, memo)


def _pp_leaf(v, memo):
    if isinstance(v, Constant):
        import numpy as np
        data = np.asarray(v.data)
        text = repr(data.item()) if data.ndim == 0 else \
            f"TensorConstant{{{data.tolist() if data.size < 8 else data.shape}}}"
    else:
        text = v.name or f"<{v.type}>"
    memo[v] = text
    return text


def _pp_node(v, node, args):
    op = node.op
    if isinstance(op, Elemwise) and getattr(op.scalar_op, "symbol", None):
        sym = op.scalar_op.symbol
        return f"({args[0]} {sym} {args[1]})" if len(args) == 2 else f"{sym}{args[0]}"
    if isinstance(op, Elemwise):
        name = "fill" if op.scalar_op.name == "second" else op.scalar_op.name  # Theano's name
        return f"{name}({', '.join(args)})"
    if isinstance(op, DimShuffle):
        nd = len(op.input_broadcastable)
        pad = len(op.new_order) - nd
        if pad >= 0 and op.new_order == ("x",) * pad + tuple(range(nd)):
            return args[0]                      # the implicit broadcast of Elemwise inputs
        if op.new_order == tuple(reversed(range(nd))) and nd == 2:
            return f"{args[0]}.T"
        return f"{args[0]}.dimshuffle({', '.join(map(repr, op.new_order))})"
    if isinstance(op, (Subtensor, AdvancedSubtensor)):
        syms, parts = iter(args[1:]), []
        for e in op.idx_list:
            if e[0] == "slice":
                a, b, c = (next(syms) if x == "s" else ("" if x is None else str(x)) for x in e[1:])
                parts.append(f"{a}:{b}" + (f":{c}" if c else ""))
            else:       # ("int", c) or ("adv",)
                parts.append(next(syms) if e[0] == "adv" or e[1] == "s" else str(e[1]))
        return f"{args[0]}[{', '.join(parts)}]"
    text = f"{op}({', '.join(args)})"
    return text + f"[{v.index}]" if len(node.outputs) > 1 else text


def debugprint(obj, file=None, print_type=True, ids="id", depth=-1):
    """Print the graph of a variable, list of variables or compiled function as a tree.

    Shared sub-expressions are printed once and referred to by id afterwards.
    ``file='str'`` returns the text; otherwise it is written to ``file`` (default stdout), and
    the file is returned (None for stdout, so an interactive session prints the graph once).
    """
    if isinstance(obj, Function):
        fgraph = obj.maker.fgraph
        outputs = fgraph.outputs
    else:
        outputs = obj if isinstance(obj, (list, tuple)) else [obj]
    ids_ = {}
    lines = []

    def ident(v):
        if v not in ids_:
            ids_[v] = f"[id {_letters(len(ids_))}]"
        return ids_[v]

    def walk(v, prefix, d):
        stack = [(v, prefix, d)]        # iterative pre-order: graphs can be very deep
        while stack:
            v, prefix, d = stack.pop()
            known = v in ids_
            label = ident(v)
            typ = f" <{v.type}>" if print_type else ""
            if v.owner is None:
                lines.append(f"{prefix}{v}{' ' + label}{typ}")
                continue
            node = v.owner
            idx = f".{v.index}" if len(node.outputs) > 1 else ""
            extra = f" '{v.name}'" if v.name else ""
            lines.append(f"{prefix}{node.op}{idx}{extra} {label}{typ}"
                         f"{'' if not known else ' (shown above)'}")
            if known or d == 0:
                continue
            stack.extend((i, prefix + " |", d - 1) for i in reversed(node.inputs))

    for out in outputs:
        walk(out, "", depth)
    # the inner graphs of scan and ifelse nodes (and of the nodes inside those), after the tree
    pending, done = _inner_owners(outputs), set()
    if pending:
        lines.append("")
        lines.append("Inner graphs:")
    while pending:
        node = pending.pop(0)
        if node in done:
            continue
        done.add(node)
        for label, fg in node.op.inner_graphs():
            lines.append("")
            lines.append(f"{node.op} {ident(node.outputs[0])} ({label})")
            for o in fg.outputs:
                walk(o, " >", depth)
            pending.extend(_inner_owners(fg.outputs))
    text = "\n".join(lines)
    if file == "str":
        return text
    print(text, file=file or sys.stdout)
    return file         # as Theano: the file written to; None for stdout, so a REPL shows it once


def _inner_owners(outputs):
    """Nodes of the graph of ``outputs`` whose op holds inner graphs (Scan, IfElse)."""
    return [n for n in toposort(outputs) if hasattr(n.op, "inner_graphs")]


def _letters(n):
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _graph_of(obj):
    if isinstance(obj, Function):
        return obj.maker.fgraph.outputs, obj.maker.fgraph.toposort()
    outputs = list(obj) if isinstance(obj, (list, tuple)) else [obj]
    return outputs, toposort(outputs)


def _dot_quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(obj, name="symgraph"):
    """The graph of a variable, list of variables or compiled function in Graphviz's DOT
    language (text; needs neither Graphviz nor any Python package).

    Inputs are green boxes (named, with their type), constants grey boxes showing their value,
    other variables blue boxes with their type, Apply nodes ellipses; edges are numbered by
    input position.

    >>> open("g.dot", "w").write(to_dot(f))        # then: dot -Tpng g.dot -o g.png
    """
    outputs, nodes = _graph_of(obj)
    lines = [f"digraph {_dot_quote(name)} {{", "  rankdir=TB;"]
    names = {}

    def vid(v):
        if v not in names:
            names[v] = f"v{len(names)}"
            if isinstance(v, Constant):
                label, color = _short_constant(v), "gray"
            elif v.owner is None:
                label, color = f"{v.name or ''} {v.type}".strip(), "green"
            else:
                label, color = f"{v.name + ' ' if v.name else ''}{v.type}", "blue"
            if v in outputs:
                color = "red"
            lines.append(f"  {names[v]} [label={_dot_quote(label)}, shape=box, color={color}];")
        return names[v]

    for k, node in enumerate(nodes):
        lines.append(f"  n{k} [label={_dot_quote(node.op)}, shape=ellipse];")
        for i, inp in enumerate(node.inputs):
            lines.append(f"  {vid(inp)} -> n{k} [label={_dot_quote(i)}];")
        for o in node.outputs:
            lines.append(f"  n{k} -> {vid(o)};")
    for o in outputs:
        vid(o)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _short_constant(v):
    data = np.asarray(v.data)
    if data.size <= 6:
        return f"{data.tolist()!r} {data.dtype}"
    return f"constant {data.dtype} shape {data.shape}"


def pydotprint(fct, outfile="graph.png", format=None, **kwargs):
    """Draw a compiled function's (or a variable's) graph: ``pydotprint(f, 'f.png')``.

    The picture is made by Graphviz's ``dot`` program; ``format='dot'`` (or an outfile ending
    in ``.dot``) writes the DOT text itself (:func:`to_dot`), which needs nothing installed.
    Returns the path written.
    """
    fmt = format or outfile.rsplit(".", 1)[-1]
    text = to_dot(fct)
    if fmt == "dot":
        with open(outfile, "w") as f:
            f.write(text)
        return outfile
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "pydotprint: the Graphviz 'dot' program is not installed. Install the system "
            "package 'graphviz' (apt-get install graphviz, dnf install graphviz, brew install "
            "graphviz or conda install graphviz); the Python package of that name alone does not "
            f"provide it. Or write the DOT text, which needs nothing: pydotprint(f, "
            f"'{outfile.rsplit('.', 1)[0]}.dot') or symgraph.printing.to_dot(f).")
    proc = subprocess.run([dot, f"-T{fmt}", "-o", outfile], input=text, text=True,
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"pydotprint: dot -T{fmt} failed: {proc.stderr.strip()}")
    return outfile


__all__ = ["pp", "debugprint", "pydotprint", "to_dot", "Variable"]


pprint = pp          # Theano: theano.printing.pprint


def _print_fn(op, value):
    for attr in op.attrs:
        item = getattr(value, attr)
        print(op.message, attr, "=", item() if callable(item) else item)


class Print(Op):
    """Theano's ``printing.Print(message='', attrs=('__str__',), global_fn=...)``: an
    identity Op that prints ``message attr = value.attr()`` for each attribute when the
    function runs (once per call, in the order the graph computes it, on every backend:
    the C backend runs it as a Python step between its compiled segments).

    >>> x = T.dvector('x'); y = Print('x is')(x) * 2
    >>> f = theano.function([x], y); f([1, 2])      # prints: x is __str__ = [1. 2.]

    Its gradient passes through. The printed variable must be used by an output (an unused
    Print is pruned, as in Theano).
    """

    __props__ = ("message", "attrs", "global_fn")
    view_map = {0: [0]}
    _no_constant_fold = True        # print at run time, not once at compile time

    def __init__(self, message="", attrs=("__str__",), global_fn=_print_fn):
        self.message = message
        self.attrs = tuple(attrs)
        self.global_fn = global_fn

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        self.global_fn(self, x)
        output_storage[0][0] = x

    def grad(self, inputs, output_grads):
        return list(output_grads)

    def R_op(self, inputs, eval_points):
        return list(eval_points)

    def infer_shape(self, node, shapes):
        return shapes

    def __str__(self):
        return f"Print{{{self.message}}}"

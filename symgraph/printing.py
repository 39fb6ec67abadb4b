"""Printing graphs: ``pp`` (infix text), ``debugprint`` (tree with types), ``pydotprint`` (graphviz)."""
from __future__ import annotations

import sys

from .compile.function import Function
from .graph import Constant, Variable, toposort
from .ops.elemwise import DimShuffle, Elemwise
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
    Returns the text (and writes it to ``file``, default stdout, unless file='str').
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
    return text


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


def pydotprint(fct, outfile="graph.png", format=None, **kwargs):
    """Draw a compiled function's (or a variable's) graph with graphviz."""
    try:
        import graphviz
    except ImportError:
        raise ImportError("pydotprint needs the 'graphviz' Python package (pip install "
                          "graphviz) and the Graphviz 'dot' program") from None
    if isinstance(fct, Function):
        outputs, nodes = fct.maker.fgraph.outputs, fct.maker.fgraph.toposort()
    else:
        outputs = fct if isinstance(fct, (list, tuple)) else [fct]
        nodes = toposort(outputs)
    fmt = format or outfile.rsplit(".", 1)[-1]
    g = graphviz.Digraph(format=fmt)
    names = {}

    def vid(v):
        if v not in names:
            names[v] = f"v{len(names)}"
            label = f"{v.name or ''} {v.type}" if v.owner is None else str(v.type)
            g.node(names[v], label=label, shape="box", color="green" if v.owner is None else "blue")
        return names[v]

    for k, node in enumerate(nodes):
        nid = f"n{k}"
        g.node(nid, label=str(node.op), shape="ellipse")
        for i, inp in enumerate(node.inputs):
            g.edge(vid(inp), nid, label=str(i))
        for o in node.outputs:
            g.edge(nid, vid(o))
    base = outfile[: -(len(fmt) + 1)] if outfile.endswith("." + fmt) else outfile
    try:
        return g.render(base, cleanup=True)
    except graphviz.ExecutableNotFound:
        raise RuntimeError("pydotprint: the Graphviz 'dot' program was not found on PATH "
                           "(install graphviz, e.g. apt-get install graphviz)") from None


__all__ = ["pp", "debugprint", "pydotprint", "Variable"]

"""Tests for symgraph/opt/fgraph.py: cloning, replace, features, replace_validate."""
import numpy as np
import pytest

import symgraph.tensor as T
from symgraph.graph import toposort
from symgraph.graph.fgraph import Feature, FunctionGraph, InconsistencyError


def test_construction_does_not_touch_user_graph():
    x = T.dmatrix("x")
    y = T.exp(x) * 2
    user_nodes = toposort([y])
    user_inputs = [list(n.inputs) for n in user_nodes]
    fg = FunctionGraph([x], [y])
    assert fg.outputs[0] is not y
    assert fg.inputs == [x]
    fg.replace(fg.outputs[0], T.log(x), reason="test")
    assert [list(n.inputs) for n in toposort([y])] == user_inputs
    assert y.owner.op.scalar_op.name == "mul"
    assert len(fg.apply_nodes) == 1


def test_replace_updates_clients_and_prunes():
    x = T.dvector("x")
    a = T.exp(x)
    b = a + 1
    fg = FunctionGraph([x], [b * 2])
    a_fg = fg.outputs[0].owner.inputs[0].owner.inputs[0]
    assert a_fg.owner.op.scalar_op.name == "exp"
    fg.replace(a_fg, T.sin(x), reason="test")
    ops = sorted(n.op.scalar_op.name for n in fg.apply_nodes if hasattr(n.op, "scalar_op"))
    assert ops == ["add", "mul", "sin"]
    assert a_fg not in fg.variables
    assert all(c[0] in fg.apply_nodes or c[0] == "output" for v in fg.variables
               for c in fg.clients[v])


def test_replace_keeps_user_line():
    x = T.dvector("x")
    y = T.exp(x)
    fg = FunctionGraph([x], [y])
    out = fg.outputs[0]
    new = T.sin(x) * 3       # built here, inside the "rewrite"
    fg.replace(out, new, reason="test")
    assert fg.outputs[0].tag.trace == y.tag.trace
    assert fg.outputs[0].owner.inputs[0].tag.trace == y.tag.trace


def test_features_are_notified():
    events = []

    class Spy(Feature):
        def on_import(self, fgraph, node):
            events.append(("import", node.op))

        def on_prune(self, fgraph, node):
            events.append(("prune", node.op))

        def on_change_input(self, fgraph, node, i, old, new):
            events.append(("change", node))

    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x)])
    fg.attach_feature(Spy())
    fg.replace(fg.outputs[0], T.sin(x))
    kinds = [e[0] for e in events]
    assert kinds == ["import", "change", "prune"]
    assert events[1][1] == "output"


def test_replace_validate_undoes_on_veto():
    class Veto(Feature):
        def validate(self, fgraph):
            if any(getattr(n.op, "scalar_op", None) is not None and n.op.scalar_op.name == "sin"
                   for n in fgraph.apply_nodes):
                raise InconsistencyError("no sin allowed")

    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x) + 1])
    fg.attach_feature(Veto())
    exp_var = fg.outputs[0].owner.inputs[0]
    before = set(fg.apply_nodes)
    with pytest.raises(InconsistencyError):
        fg.replace_validate([(exp_var, T.sin(x))], reason="test")
    assert set(fg.apply_nodes) == before
    assert fg.outputs[0].owner.inputs[0] is exp_var
    fg.replace_validate([(exp_var, T.cos(x))], reason="test")
    assert fg.outputs[0].owner.inputs[0].owner.op.scalar_op.name == "cos"


def test_importing_a_small_expression_does_not_walk_the_whole_graph():
    x = T.dvector("x")
    y = x
    for _ in range(3000):
        y = T.tanh(y)
    fg = FunctionGraph([x], [y])
    top = fg.outputs[0]
    order = fg._new_nodes(T.exp(top) + 1)
    assert len(order) == 3          # exp, DimShuffle(1.0), add: not the 3000 ancestors


def test_missing_input_is_reported():
    x, y = T.dvectors("x", "y")
    with pytest.raises(ValueError, match="not one of its inputs"):
        FunctionGraph([x], [x + y])


def test_values_unchanged_by_cloning():
    import symgraph as th
    from symgraph.compile.mode import Mode
    x = T.dvector("x")
    y = T.exp(x) * 2
    f = th.function([x], y, mode=Mode(linker="py", optimizer=None))
    v = np.array([0.0, 1.0])
    np.testing.assert_allclose(f(v), np.exp(v) * 2)

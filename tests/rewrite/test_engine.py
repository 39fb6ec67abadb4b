"""Tests for symgraph/opt/engine.py and pipeline.py: node rewriters, the worklist driver,
the tagged pipeline and how modes select from it."""
import numpy as np
import pytest

import symgraph as th
import symgraph.tensor as T
from symgraph.compile.mode import Mode
from symgraph.config import config
from symgraph.ops import scalar as ps
from symgraph.ops.elemwise import Elemwise
from symgraph.graph.rewriting import EquilibriumRewriter, NodeRewriter, node_rewriter
from symgraph.graph.fgraph import FunctionGraph
from symgraph.rewrite.pipeline import PHASES, registered

from opt_models import compile_both, op_names


def _scalar_names(fg):
    return sorted(n.op.scalar_op.name for n in fg.apply_nodes if isinstance(n.op, Elemwise))


def test_node_rewriter_decorator_makes_a_named_rewriter():
    @node_rewriter([Elemwise], tags=("demo",))
    def local_exp_to_sin(fgraph, node):
        """exp -> sin"""
        if node.op.scalar_op == ps.exp:
            return [T.sin(node.inputs[0])]

    assert isinstance(local_exp_to_sin, NodeRewriter)
    assert local_exp_to_sin.name == "local_exp_to_sin"
    assert "demo" in local_exp_to_sin.tags
    assert local_exp_to_sin.tracks_class(Elemwise)
    assert not local_exp_to_sin.tracks_class(type(T.dot(T.dmatrix(), T.dmatrix()).owner.op))

    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(T.exp(x)) + 1])
    EquilibriumRewriter([local_exp_to_sin], "demo").apply(fg)
    assert _scalar_names(fg) == ["add", "sin", "sin"]
    assert fg.rewrite_counts["local_exp_to_sin"] == 2


def test_tracking_an_op_instance():
    @node_rewriter([Elemwise(ps.exp)])
    def local_only_exp(fgraph, node):
        return [T.cos(node.inputs[0])]

    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x) + T.sin(x)])
    EquilibriumRewriter([local_only_exp], "demo").apply(fg)
    assert _scalar_names(fg) == ["add", "cos", "sin"]


def test_equilibrium_stops_rewrites_that_undo_each_other():
    @node_rewriter([Elemwise])
    def flip(fgraph, node):
        if node.op.scalar_op == ps.sin:
            return [T.cos(node.inputs[0])]
        if node.op.scalar_op == ps.cos:
            return [T.sin(node.inputs[0])]

    x = T.dvector("x")
    fg = FunctionGraph([x], [T.sin(x)])
    with pytest.warns(UserWarning, match="cap"):
        EquilibriumRewriter([flip], "flip", min_edits=50).apply(fg)


def test_pipeline_phases_in_order():
    assert PHASES == ("merge1", "canonicalize", "stabilize", "specialize", "fusion",
                      "inplace", "merge2")
    names = [r.name for r in registered("canonicalize")]
    assert "constant_folding" in names and "local_useless_elemwise" in names
    assert "local_log_softmax" in [r.name for r in registered("stabilize")]


def _graph():
    x = T.dmatrix("x")
    return x, T.exp(x * 1.0) * 2.0 + (x - x)


def test_fast_run_rewrites_and_fuses():
    x, y = _graph()
    f, ref = compile_both([x], y)
    assert op_names(f) == ["Composite"]
    v = np.random.RandomState(0).rand(3, 4)
    np.testing.assert_allclose(f(v), ref(v))


def test_optimizer_none_leaves_graph_alone():
    x, y = _graph()
    f = th.function([x], y, mode=Mode(linker="py", optimizer=None))
    assert sorted(op_names(f)) == sorted(["mul", "exp", "mul", "sub", "add",
                                          "DimShuffle", "DimShuffle"])


def test_fast_compile_only_merges_and_folds_constants():
    x = T.dmatrix("x")
    y = T.exp(x * 1.0) + T.exp(x * 1.0)
    f = th.function([x], y, mode=Mode(linker="py", optimizer="fast_compile"))
    names = op_names(f)
    assert names.count("exp") == 1                   # merged
    assert "DimShuffle" not in names                 # DimShuffle(constant) folded
    assert "mul" in names and "Composite" not in names   # no canonicalize, no fusion


def test_excluding_a_rewrite_by_name_and_by_tag():
    x, y = _graph()
    f = th.function([x], y, mode=Mode(linker="py").excluding("fusion"))
    assert "Composite" not in op_names(f)
    assert "exp" in op_names(f)
    f = th.function([x], y, mode=Mode(linker="py").excluding("fusion", "local_useless_elemwise"))
    assert op_names(f).count("mul") == 2
    f = th.function([x], y, mode=Mode(linker="py").excluding("fusion", "useless"))
    assert "sub" in op_names(f)
    v = np.ones((2, 2))
    np.testing.assert_allclose(f(v), np.exp(v) * 2)


def test_excluding_through_config_flag(monkeypatch):
    monkeypatch.setattr(config, "optimizer_excluding", "fusion")
    x, y = _graph()
    f = th.function([x], y, mode=Mode(linker="py"))
    assert "Composite" not in op_names(f)


def test_print_rewrites(monkeypatch, capsys):
    monkeypatch.setattr(config, "print_rewrites", True)
    x = T.dvector("x")
    th.function([x], -(-x) * 1.0, mode=Mode(linker="py"))
    out = capsys.readouterr().out
    assert "rewrite local_double_neg: Elemwise{neg}" in out
    assert "->" in out


def test_debugprint_shows_optimized_graph():
    x, y = _graph()
    f = th.function([x], y, mode=Mode(linker="py"))
    text = th.debugprint(f, file="str")
    assert "Composite" in text and "sub" not in text

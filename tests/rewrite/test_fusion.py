"""Tests for symgraph/opt/fusion.py: elementwise groups become one Elemwise(Composite)."""
import inspect

import numpy as np
import pytest

import symgraph as th
import symgraph.tensor as T
from symgraph.compile.mode import Mode
from symgraph.graph import Constant
from symgraph.ops import scalar as ps
from symgraph.ops.elemwise import Elemwise

from opt_models import assert_same_values, compile_both, elementwise_chain, op_names

RNG = np.random.RandomState(3)


def composites(f):
    return [n for n in f.maker.fgraph.toposort()
            if isinstance(n.op, Elemwise) and isinstance(n.op.scalar_op, ps.Composite)]


def test_chain_becomes_one_composite():
    x, y = T.dmatrices("x", "y")
    out = T.exp(T.tanh(x) * 2 + y) - T.sqrt(abs(y))
    f, ref = compile_both([x, y], out)
    assert op_names(f) == ["Composite"]
    node = composites(f)[0]
    assert node.inputs == [x, y] or node.inputs == [y, x]
    assert len(node.op.scalar_op.nodes) >= 7
    assert_same_values(f, ref, RNG.rand(3, 4), RNG.rand(3, 4))


def test_dimshuffled_inputs_become_broadcast_inputs_and_constants_scalars():
    m, b = T.dmatrix("m"), T.dvector("b")
    out = T.tanh(m * 0.5 + b.dimshuffle("x", 0)) + 1.0
    f, ref = compile_both([m, b], out)
    assert op_names(f) == ["DimShuffle", "Composite"]
    node = composites(f)[0]
    assert not any(isinstance(i, Constant) for i in node.inputs)
    consts = [op for op, _ in node.op.scalar_op.nodes if isinstance(op, ps.ScalarConstant)]
    assert sorted(c.value for c in consts) == [0.5, 1.0]
    assert node.inputs[1].broadcastable == (True, False) or node.inputs[0].broadcastable == (True, False)
    assert_same_values(f, ref, RNG.rand(3, 4), RNG.rand(4))


def test_intermediate_used_outside_becomes_an_extra_output():
    x = T.dmatrix("x")
    a = T.exp(x) * 2
    b = T.tanh(a) + 1
    f, ref = compile_both([x], [b, a.sum()])
    comps = composites(f)
    assert len(comps) == 1 and len(comps[0].outputs) == 2
    assert op_names(f).count("Composite") == 1
    assert_same_values(f, ref, RNG.rand(2, 3))
    g, gref = compile_both([x], [a, b])
    assert op_names(g) == ["Composite"] and len(composites(g)[0].outputs) == 2
    assert_same_values(g, gref, RNG.rand(2, 3))


def test_no_cycle_through_a_reduction():
    x = T.dmatrix("x")
    e = T.exp(x * 3)
    # T.true_div, not "/": "/" builds softmax(x * 3) from this (a stable op, no reduction left)
    out = T.true_div(e, e.sum(axis=1, keepdims=True)) + 1
    mode = Mode(linker="py").excluding("stabilize")
    f = th.function([x], out, mode=mode)
    ref = th.function([x], out, mode=Mode(linker="py", optimizer=None))
    assert op_names(f).count("Composite") == 2
    assert_same_values(f, ref, RNG.rand(2, 3))


def test_different_broadcast_patterns_are_not_fused():
    v, m = T.dvector("v"), T.dmatrix("m")
    out = T.exp(v * 2).dimshuffle(0, "x") * m     # exp would run once per element of m
    f, ref = compile_both([v, m], out)
    assert len(composites(f)) <= 1
    assert "mul" in op_names(f)
    assert_same_values(f, ref, RNG.rand(3), RNG.rand(3, 2))


def test_ten_thousand_op_chain_fuses_and_evaluates():
    x, y = elementwise_chain(10_000)
    f, ref = compile_both([x], y)
    assert op_names(f) == ["Composite"]
    assert len(composites(f)[0].op.scalar_op.nodes) >= 10_000
    assert_same_values(f, ref, RNG.rand(3, 4))
    text = th.debugprint(f, file="str")          # large composites print a summary
    assert len(text) < 2000


def test_shape_error_in_fused_node_names_user_line():
    x, y = T.dmatrices("x", "y")
    line = inspect.currentframe().f_lineno + 1
    out = T.exp(T.tanh(x) * 2 + y)
    f = th.function([x, y], out, mode=Mode(linker="py"))
    assert op_names(f) == ["Composite"]
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones((3, 2)))
    msg = str(info.value)
    assert f"line {line}" in msg and __file__ in msg
    assert composites(f)[0].tag.fused_traces[0][1] == line


def test_fusion_can_be_excluded():
    x = T.dmatrix("x")
    f = th.function([x], T.exp(x) * 2 + 1, mode=Mode(linker="py").excluding("fusion"))
    assert not composites(f)

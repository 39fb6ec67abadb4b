"""Tests for symgraph/opt/inplace.py: which buffers may be overwritten, and that results and
the caller's data stay right."""
import numpy as np
import pytest

import symgraph as th
import symgraph.tensor as T
from symgraph.compile.mode import Mode
from symgraph.rewrite import optimize
from symgraph.graph.fgraph import FunctionGraph, InconsistencyError
from symgraph.rewrite.inplace import DestroyHandler

from opt_models import assert_same_values, compile_both

RNG = np.random.RandomState(5)


def destroyers(f):
    return [n for n in f.maker.fgraph.toposort() if n.op.destroy_map]


def test_intermediate_is_overwritten():
    x, w = T.dmatrices("x", "w")
    f, ref = compile_both([x, w], T.tanh(T.dot(x, w) + 1))
    (node,) = destroyers(f)
    assert node.op.inplace_pattern == ((0, 0),)
    assert type(node.inputs[0].owner.op).__name__ == "Dot"
    assert_same_values(f, ref, RNG.rand(2, 3), RNG.rand(3, 4))


def test_user_inputs_and_constants_are_never_overwritten():
    x = T.dmatrix("x")
    c = T.constant(np.ones((2, 2)))
    f = th.function([x], T.exp(x) * 2 + c, mode=Mode(linker="py"))
    assert not destroyers(f)
    v = RNG.rand(2, 2)
    keep = v.copy()
    f(v)
    f(v)
    np.testing.assert_array_equal(v, keep)
    np.testing.assert_array_equal(c.data, np.ones((2, 2)))


def test_value_read_twice_is_not_overwritten():
    x, w = T.dmatrices("x", "w")
    d = T.dot(x, w)
    f, ref = compile_both([x, w], [T.exp(d), T.log(d)])
    assert not destroyers(f)
    assert_same_values(f, ref, RNG.rand(2, 3) + 1, RNG.rand(3, 2) + 1)


def test_views_block_overwriting():
    x, w = T.dmatrices("x", "w")
    d = T.dot(x, w)
    f, ref = compile_both([x, w], [T.exp(d), d.T])
    assert not destroyers(f)
    assert_same_values(f, ref, RNG.rand(2, 3), RNG.rand(3, 2))


def test_shared_variable_update_in_place_only_when_nothing_else_reads_it():
    x = T.dvector("x")
    w = th.shared(np.ones(3), name="w")
    f = th.function([x], [], updates=[(w, w * 2 + x)], mode=Mode(linker="py"))
    (node,) = destroyers(f)
    assert node.inputs[node.op.inplace_pattern[0][1]] is w
    f(np.arange(3.0))
    f(np.arange(3.0))
    np.testing.assert_allclose(w.get_value(), [4.0, 7.0, 10.0])

    v = th.shared(np.ones(3), name="v")
    g = th.function([x], v.sum(), updates=[(v, v * 2 + x)], mode=Mode(linker="py"))
    assert not destroyers(g)
    assert g(np.zeros(3)) == 3.0 and g(np.zeros(3)) == 6.0
    h = th.function([], v * 3, mode=Mode(linker="py"))
    assert not destroyers(h)


def test_inc_subtensor_in_place():
    x = T.dmatrix("x")
    f, ref = compile_both([x], T.inc_subtensor(T.exp(x)[1:], 1.0))
    (node,) = destroyers(f)
    assert type(node.op).__name__ == "IncSubtensor" and node.op.inplace
    assert_same_values(f, ref, RNG.rand(3, 2))
    g, gref = compile_both([x], T.inc_subtensor(T.exp(x)[[0, 2, 0]], 1.0))
    (node,) = destroyers(g)
    assert type(node.op).__name__ == "AdvancedIncSubtensor" and node.op.inplace
    assert_same_values(g, gref, RNG.rand(3, 2))


def test_random_state_is_not_advanced_in_place():
    """A caller may hold the RandomState a draw read (tests/ops/test_random.py relies on it)."""
    from symgraph.tensor.shared_randomstreams import RandomStreams
    srng = RandomStreams(seed=11)
    u = srng.uniform((3,))
    before = u.rng.get_value(borrow=True)
    f = th.function([], u, mode=Mode(linker="py"))
    assert not destroyers(f)
    first = [f() for _ in range(3)]
    assert u.rng.get_value(borrow=True) is not before
    srng.seed(11)
    g = th.function([], u, mode=Mode(linker="py", optimizer=None))
    for a in first:
        np.testing.assert_array_equal(a, g())


def test_destroy_handler_vetoes_a_new_reader():
    x, w = T.dmatrices("x", "w")
    fg = FunctionGraph([x, w], [T.tanh(T.dot(x, w) + 1)])
    optimize(fg, Mode(linker="py"))
    assert fg.get_feature(DestroyHandler) is not None
    (node,) = [n for n in fg.apply_nodes if n.op.destroy_map]
    dot_out = node.inputs[0]
    with pytest.raises(InconsistencyError):
        fg.replace_validate([(fg.outputs[0], fg.outputs[0] + T.exp(dot_out))], reason="test")
    assert fg.outputs[0] is node.outputs[0]


def test_inplace_can_be_excluded():
    x, w = T.dmatrices("x", "w")
    f = th.function([x, w], T.tanh(T.dot(x, w) + 1), mode=Mode(linker="py").excluding("inplace"))
    assert not destroyers(f)

"""Tests for symgraph/opt/basic.py (named test_opt_basic: tests/tensor has a test_basic): merge (CSE) and constant folding."""
import numpy as np

import symgraph as th
import symgraph.tensor as T
from symgraph.compile.mode import Mode
from symgraph.graph import Apply, Constant, Op
from symgraph.rewrite.basic import FOLD_MAX_SIZE, merge
from symgraph.graph.fgraph import FunctionGraph
from symgraph.tensor.type import TensorType

from opt_models import assert_same_values, compile_both, op_names

RNG = np.random.RandomState(42)


def test_merge_identical_nodes_and_constants():
    x = T.dmatrix("x")
    a = T.exp(x * 2.0)           # two different constant objects for 2.0
    b = T.exp(x * 2.0)
    fg = FunctionGraph([x], [a + b])
    assert len(fg.apply_nodes) == 7
    merge.apply(fg)
    names = sorted(type(n.op).__name__ + getattr(getattr(n.op, "scalar_op", None), "name", "")
                   for n in fg.apply_nodes)
    assert names == ["DimShuffle", "Elemwiseadd", "Elemwiseexp", "Elemwisemul"]
    add = fg.outputs[0].owner
    assert add.inputs[0] is add.inputs[1]


def test_merge_keeps_different_ops_apart():
    x = T.dvector("x")
    fg = FunctionGraph([x], [T.exp(x) + T.log(x), T.sum(x, axis=0) + T.max(x, axis=0)])
    n = len(fg.apply_nodes)
    merge.apply(fg)
    assert len(fg.apply_nodes) == n


def test_merge_values_in_compiled_function():
    x = T.dmatrix("x")
    y = T.tanh(x.T).T + T.tanh(x.T).T
    f, ref = compile_both([x], y)
    assert op_names(f).count("tanh") + op_names(f).count("Composite") == 1
    assert_same_values(f, ref, RNG.rand(3, 4))


def test_constant_folding_computes_constant_subgraphs():
    x = T.dvector("x")
    c = T.exp(T.constant(np.array([0.0, 1.0, 2.0]))) * 3.0
    f, ref = compile_both([x], x + c)
    names = op_names(f)
    assert names == ["add"] or names == ["Composite"]
    node = f.maker.fgraph.toposort()[0]
    consts = [i for i in node.inputs if isinstance(i, Constant)]
    assert consts and np.allclose(consts[0].data, np.exp([0.0, 1.0, 2.0]) * 3.0)
    assert_same_values(f, ref, RNG.rand(3))


def test_fast_compile_folds_constants():
    x = T.dscalar("x")
    f = th.function([x], x * (T.constant(2.0) + 3.0), mode=Mode(linker="py", optimizer="fast_compile"))
    assert op_names(f) == ["mul"]
    assert f(2.0) == 10.0


def test_huge_results_and_allocs_are_not_folded():
    big = T.constant(np.ones(FOLD_MAX_SIZE + 1))
    x = T.dvector("x")
    f = th.function([x], x + big * 2.0, mode=Mode(linker="py").excluding("fusion"))
    assert "mul" in op_names(f)
    z = T.dvector("z")
    g = th.function([z], z + T.alloc(1.5, 1000).sum(), mode=Mode(linker="py"))
    assert "Alloc" in op_names(g)
    assert np.allclose(g(np.zeros(2)), 1500.0)


class CountingOp(Op):
    """An op with a side effect (it counts its calls): must not be folded."""

    _no_constant_fold = True
    calls = 0

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [TensorType(x.dtype, x.broadcastable)()])

    def perform(self, node, inputs, output_storage):
        CountingOp.calls += 1
        output_storage[0][0] = np.asarray(inputs[0] + 1)


def test_ops_can_opt_out_of_folding():
    x = T.dscalar("x")
    y = CountingOp()(T.constant(1.0)) + x
    f = th.function([x], y, mode=Mode(linker="py"))
    assert "CountingOp" in op_names(f)
    before = CountingOp.calls
    assert f(1.0) == 3.0 and f(1.0) == 3.0
    assert CountingOp.calls == before + 2


def test_random_draws_are_not_folded():
    from symgraph.tensor.shared_randomstreams import RandomStreams
    srng = RandomStreams(seed=3)
    u = srng.uniform((4,))
    f = th.function([], u, mode=Mode(linker="py"))
    assert "RandomFunction" in op_names(f)
    assert not np.allclose(f(), f())

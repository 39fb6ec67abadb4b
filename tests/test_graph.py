"""Tests for symgraph/graph.py: Variable, Constant, Apply, Op, traversal and cloning."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph.graph import (Apply, Constant, Op, Variable, ancestors, clone_replace,
                            format_trace, graph_inputs, is_same_graph, toposort, user_trace)
from symgraph.tensor.type import TensorType


class AddOne(Op):
    """A minimal Op written against the documented contract."""

    __props__ = ("amount",)

    def __init__(self, amount=1):
        self.amount = amount

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] + np.asarray(self.amount, dtype=inputs[0].dtype)

    def grad(self, inputs, output_grads):
        return [output_grads[0]]


class TwoOutputs(Op):
    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type(), x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2
        output_storage[1][0] = inputs[0] * 3


def test_variable_attributes_and_where():
    x = T.dmatrix("x")
    line = user_trace()[1] - 1
    assert x.name == "x" and x.owner is None and x.index is None
    assert x.type == TensorType("float64", (False, False))
    assert x.tag.trace[0] == __file__ and x.tag.trace[1] == line
    assert x.where() == f'File "{__file__}", line {line}, in test_variable_attributes_and_where'
    y = T.exp(x)
    assert y.owner.op.scalar_op.name == "exp" and y.owner.inputs == [x] and y.index == 0
    assert format_trace(None) == "<unknown location>"


def test_user_trace_skips_package_frames():
    # variables built by symgraph internals (e.g. gradients) still point at this file
    x = T.dscalar("x")
    g = symgraph.grad(T.exp(x) * 3, x)
    assert g.tag.trace[0] == __file__


def test_str_of_variables():
    x = T.dvector("x")
    assert str(x) == "x"
    assert str(T.dvector()) == "<TensorVector(float64)>"
    assert str(x + 1) == "Elemwise{add}.out"
    two = TwoOutputs()(x)
    assert str(two[1]) == "TwoOutputs.1"
    assert str(T.constant(2.5)) == "TensorConstant{2.5}"


def test_constant_data_and_signature():
    c1 = T.constant(np.array([1.0, 2.0]))
    c2 = T.constant(np.array([1.0, 2.0]))
    c3 = T.constant(np.array([1.0, 3.0]))
    c4 = T.constant(np.array([1, 2], dtype="int32"))
    assert isinstance(c1, Constant)
    np.testing.assert_array_equal(c1.data, [1.0, 2.0])
    assert c1.signature() == c2.signature()
    assert c1.signature() != c3.signature()
    assert c1.signature() != c4.signature()


def test_apply_rejects_output_of_another_node():
    x = T.dvector("x")
    y = x + 1
    with pytest.raises(ValueError, match="already belongs"):
        Apply(AddOne(), [x], [y])


def test_op_props_equality_and_hash():
    assert AddOne(2) == AddOne(2)
    assert hash(AddOne(2)) == hash(AddOne(2))
    assert AddOne(2) != AddOne(3)
    assert AddOne(1) != TwoOutputs()
    assert str(AddOne(2)) == "AddOne{2}"
    assert str(TwoOutputs()) == "TwoOutputs"


def test_op_base_class_defaults_raise():
    op = Op()
    with pytest.raises(NotImplementedError):
        op.make_node()
    with pytest.raises(NotImplementedError):
        op.perform(None, [], [])
    with pytest.raises(NotImplementedError, match="no gradient"):
        op.grad([], [])


def test_custom_op_runs_and_differentiates():
    x = T.dvector("x")
    y = AddOne(2)(x)
    f = symgraph.function([x], y)
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [3.0, 4.0])
    g = symgraph.grad(T.sum(AddOne(2)(x) ** 2), x)
    np.testing.assert_allclose(symgraph.function([x], g)(np.array([1.0, -1.0])), [6.0, 2.0])


def test_multi_output_op_returns_list_and_default_output():
    x = T.dvector("x")
    a, b = TwoOutputs()(x)
    f = symgraph.function([x], [a, b])
    ra, rb = f(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(ra, [2.0, 4.0])
    np.testing.assert_array_equal(rb, [3.0, 6.0])

    class Second(TwoOutputs):
        default_output = 1
    assert Second()(x).index == 1


def test_toposort_orders_dependencies_first():
    x, y = T.dscalars("x", "y")
    a = x + y
    b = a * x
    c = T.exp(b) - a
    order = toposort([c])
    pos = {n: k for k, n in enumerate(order)}
    for node in order:
        for inp in node.inputs:
            if inp.owner is not None:
                assert pos[inp.owner] < pos[node]
    assert len(order) == 4
    assert order[-1] is c.owner
    # stopping at an intermediate variable leaves out what it depends on
    order_b = toposort([c], inputs=[b])
    assert a.owner in order_b          # c still uses a directly
    assert b.owner not in order_b


def test_toposort_handles_deep_graphs_without_recursion():
    x = T.dscalar("x")
    y = x
    for _ in range(5000):
        y = y + 1.0
    order = toposort([y])
    assert len(order) == 5000
    assert order[0].inputs[0] is x and order[-1] is y.owner


def test_graph_inputs_and_ancestors():
    x, y, z = T.dscalars("x", "y", "z")
    c = T.constant(2.0)
    out = (x + y) * c + x
    ins = graph_inputs([out])
    assert set(ins) == {x, y, c} and len(ins) == 3
    assert z not in ins
    mid = x + y
    out2 = mid * z
    assert graph_inputs([out2], blockers=[mid]) == [mid, z]
    anc = ancestors([out2])
    assert {x, y, z, mid, out2} <= set(anc)
    assert x not in ancestors([out2], blockers=[mid])


def test_clone_replace_substitutes_and_keeps_original():
    x, y = T.dscalars("x", "y")
    out = T.exp(x) + x
    (new,) = clone_replace([out], {x: y})
    assert x not in graph_inputs([new]) and y in graph_inputs([new])
    assert graph_inputs([out]) == [x]          # the original is untouched
    f = symgraph.function([y], new)
    assert f(0.0) == pytest.approx(1.0)
    # list-of-pairs form, replacing an intermediate
    e = T.exp(x)
    out = e * 2
    (new2,) = clone_replace([out], [(e, y)])
    assert symgraph.function([y], new2)(3.0) == 6.0


def test_clone_replace_rederives_types():
    x = T.dvector("x")
    f32 = T.fvector("f")
    w = T.fvector("w")
    out = x * w
    assert out.dtype == "float64"
    (new,) = clone_replace([out], {x: f32})
    assert new.dtype == "float32"   # make_node runs again on the new inputs


def test_symgraph_clone():
    x, y = T.dscalars("x", "y")
    out = x ** 2 + 1
    c = symgraph.clone(out)
    assert c is not out and c.owner is not out.owner
    assert is_same_graph(c, out)
    assert x in graph_inputs([c])                 # inputs are shared, not copied
    c2, c3 = symgraph.clone([out, x * 3], replace={x: y})
    assert symgraph.function([y], [c2, c3])(3.0) == [10.0, 9.0]


def test_is_same_graph():
    x, y = T.dscalars("x", "y")
    assert is_same_graph(x + 1, x + 1)
    assert not is_same_graph(x + 1, x + 2)
    assert not is_same_graph(x + 1, y + 1)
    assert not is_same_graph(x + 1, x * 1)


def test_variable_eval_and_cache():
    x = T.dvector("x")
    y = x * 3
    np.testing.assert_array_equal(y.eval({x: np.array([1.0, 2.0])}), [3.0, 6.0])
    np.testing.assert_array_equal(y.eval({x: np.array([0.5])}), [1.5])
    assert len(y._eval_cache) == 1                  # compiled once per set of inputs
    assert (T.constant(2.0) * 4).eval() == 8.0
    s = symgraph.shared(np.array([1.0, 2.0]))
    np.testing.assert_array_equal((s + 1).eval(), [2.0, 3.0])


def test_variable_clone():
    x = T.dmatrix("x")
    y = (x + 1)
    yc = y.clone()
    assert yc.owner is None and yc.type == y.type and yc.name == y.name
    assert yc.tag is not y.tag and yc.tag.trace == y.tag.trace
    assert isinstance(yc, Variable) and type(yc) is type(y)

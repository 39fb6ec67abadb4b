"""Tests for symgraph/backends/python (the reference backend) and backends/errors.py."""
import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import function
from symgraph.backends import get_linker
from symgraph.backends.errors import NanGuardError, describe_node, reraise_with_node
from symgraph.backends.python import PythonLinker
from symgraph.graph import Apply, Op
from symgraph.graph.fgraph import FunctionGraph


def _thunk(inputs, outputs, **kw):
    return PythonLinker(**kw).make_thunk(FunctionGraph(inputs, outputs))


def test_thunk_runs_graph_in_order():
    x, y = T.dvectors("x", "y")
    run = _thunk([x, y], [T.exp(x) * y, x - y])
    a, b = np.array([0.0, 1.0]), np.array([2.0, 3.0])
    out = run([a, b])
    np.testing.assert_allclose(out[0], np.exp(a) * b)
    np.testing.assert_allclose(out[1], a - b)
    out2 = run([b, a])                               # storage is reused across calls
    np.testing.assert_allclose(out2[1], b - a)


def test_constants_shared_and_input_outputs():
    x = T.dvector("x")
    s = symgraph.shared(np.array([10.0, 20.0]), name="s")
    c = T.constant(np.array([1.0, 2.0]))
    run = _thunk([x, s], [x, c, x + c + s])
    out = run([np.zeros(2), s.get_value()])
    np.testing.assert_array_equal(out[0], [0.0, 0.0])
    np.testing.assert_array_equal(out[1], [1.0, 2.0])
    np.testing.assert_array_equal(out[2], [11.0, 22.0])


def test_intermediates_are_freed_between_calls():
    x = T.dvector("x")
    mid = T.exp(x)
    out = mid * 2
    fg = FunctionGraph([x], [out])
    run = PythonLinker().make_thunk(fg)
    run([np.ones(3)])
    inner = [n for n in fg.toposort() if n.outputs[0] not in fg.outputs]
    assert inner and all(run.storage[n.outputs[0]][0] is None for n in inner)
    assert run.storage[fg.outputs[0]][0] is not None


def test_errors_name_node_shapes_and_user_line(lineno):
    x = T.dmatrix("x")
    v = T.dvector("v")
    y = T.dot(x, v); line = lineno()  # noqa: E702
    run = _thunk([x, v], [y])
    with pytest.raises(ValueError) as info:
        run([np.ones((2, 3)), np.ones(4)])
    msg = str(info.value)
    assert "Apply node that caused the error: Dot" in msg
    assert "input 0: x (TensorMatrix(float64), shape (2, 3))" in msg
    assert "input 1: v (TensorVector(float64), shape (4,))" in msg
    assert f'File "{__file__}", line {line}' in msg
    assert info.value._symgraph_annotated


class _Boom(Op):
    def __init__(self, exc):
        self.exc = exc

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, out):
        raise self.exc


class _NoMessageError(Exception):
    def __init__(self):
        super().__init__("fixed")


def test_reraise_keeps_type_or_falls_back(lineno):
    x = T.dvector("x")
    y = _Boom(KeyError("k"))(x); line = lineno()  # noqa: E702
    with pytest.raises(KeyError) as info:
        function([x], y, mode="py")(np.ones(1))
    assert f"line {line}" in str(info.value)
    with pytest.raises(RuntimeError, match="fixed"):
        function([x], _Boom(_NoMessageError())(x), mode="py")(np.ones(1))
    with pytest.raises(KeyboardInterrupt):
        function([x], _Boom(KeyboardInterrupt())(x), mode="py")(np.ones(1))


def test_reraise_does_not_annotate_twice():
    x = T.dvector("x")
    node = (x + 1).owner
    exc = ValueError("inner")
    with pytest.raises(ValueError) as info:
        reraise_with_node(exc, node, [np.ones(2), np.ones(1)])
    first = info.value
    with pytest.raises(ValueError) as info2:
        reraise_with_node(first, node)
    assert info2.value is first and str(first).count("Apply node") == 1


def test_describe_node_without_values():
    x = T.dvector("x")
    node = T.exp(x).owner
    text = describe_node(node)
    assert text.splitlines()[0] == "Apply node that caused the error: Elemwise{exp}"
    assert "input 0: x (TensorVector(float64))" in text and "Expression built at" in text


def test_nan_guard(lineno):
    x = T.dvector("x")
    y = T.log(x); line = lineno()  # noqa: E702
    run = _thunk([x], [y * 2], nan_guard=True)
    np.testing.assert_allclose(run([np.ones(2)])[0], [0.0, 0.0])
    with pytest.raises(NanGuardError) as info:
        run([np.array([1.0, -1.0])])
    assert "NaN produced by Elemwise{log}" in str(info.value)
    with pytest.raises(NanGuardError, match="Inf produced by Elemwise{log}"):
        run([np.array([1.0, 0.0])])
    f = function([x], y, mode=symgraph.NanGuardMode(linker="py"))
    with pytest.raises(NanGuardError, match=f"line {line}"):
        f(np.array([-1.0]))
    assert issubclass(NanGuardError, FloatingPointError)


def test_get_linker():
    assert isinstance(get_linker("py"), PythonLinker)
    assert get_linker("py", nan_guard=True).nan_guard
    with pytest.raises(ValueError, match="unknown backend"):
        get_linker("fortran")


def test_python_mode_matches_default_mode(rng):
    x = T.dmatrix("x")
    w = T.dvector("w")
    expr = [T.tanh(T.dot(x, w)).sum(), T.max(x, axis=0) * 2 + 1, x[1:, ::2].T]
    a, b = rng.rand(4, 3), rng.rand(3)
    for ref, out in zip(function([x, w], expr, mode="py")(a, b),
                        function([x, w], expr)(a, b)):
        np.testing.assert_allclose(out, ref, rtol=1e-12)

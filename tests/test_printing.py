"""Tests for symgraph/printing.py: pp, debugprint, pydotprint."""
import io

import numpy as np
import pytest

import symgraph
import symgraph.tensor as T
from symgraph import debugprint, function, pp


def test_pp_infix_and_functions():
    x, y = T.dscalars("x", "y")
    assert pp(x * y ** 2) == "(x * (y ** 2.0))"
    assert pp(-x + 1) == "(-x + 1.0)"
    assert pp(T.exp(x) / T.log(y)) == "(exp(x) / log(y))"
    assert pp(T.switch(x > 0, x, 0)) == "switch((x > 0.0), x, 0.0)"
    assert pp(T.maximum(x, y)) == "maximum(x, y)"
    assert pp(T.dscalar()) == "<TensorScalar(float64)>"


def test_pp_of_gradient_is_readable():
    x = T.dscalar("x")
    gy = T.grad(x ** 2, x)
    assert pp(gy) == "((fill((x ** 2.0), 1.0) * 2.0) * (x ** (2.0 - 1.0)))"


def test_pp_shapes_indexing_and_other_ops():
    m = T.dmatrix("m")
    v = T.dvector("v")
    i = T.lscalar("i")
    idx = T.lvector("idx")
    assert pp(m + v) == "(m + v)"                       # implicit broadcast is not shown
    assert pp(m.T) == "m.T"
    assert pp(m.dimshuffle(1, "x", 0)) == "m.dimshuffle(1, 'x', 0)"
    assert pp(m[i, 1:i:2]) == "m[i, 1:i:2]"
    assert pp(m[idx, 0]) == "m[idx, 0]"
    assert pp(m[::-1]) == "m[::-1]"
    assert pp(T.sum(m, axis=1)) == "Sum{axis=[1]}(m)"
    assert pp(T.dot(m, v)) == "Dot(m, v)"
    assert pp(T.constant(np.arange(3))) == "TensorConstant{[0, 1, 2]}"
    assert pp(T.constant(np.zeros((4, 4)))) == "TensorConstant{(4, 4)}"
    named = T.exp(m)
    named.name = "e"
    assert pp(named + 1) == "(exp(m) + 1.0)"


def test_pp_deep_graph_does_not_recurse():
    x = T.dscalar("x")
    y = x
    for _ in range(3000):
        y = y + 1.0
    text = pp(y)
    assert text.startswith("(" * 3000 + "x + 1.0)") and text.count("+") == 3000


def test_debugprint_tree():
    x = T.dmatrix("x")
    v = T.dvector("v")
    e = T.tanh(x * v).sum(axis=1)
    text = debugprint(e + e, file="str")
    lines = text.splitlines()
    assert lines[0] == "Elemwise{add} [id A] <TensorVector(float64)>"
    assert lines[1] == " |Sum{axis=[1]} [id B] <TensorVector(float64)>"
    assert lines[2] == " | |Elemwise{tanh} [id C] <TensorMatrix(float64)>"
    assert " | | | |x [id E] <TensorMatrix(float64)>" in lines
    assert " | | | |DimShuffle{x,0} [id F] <TensorType(float64, (True, False))>" in lines
    assert lines[-1] == " |Sum{axis=[1]} [id B] <TensorVector(float64)> (shown above)"


def test_debugprint_options_and_outputs():
    x = T.dvector("x")
    y = T.exp(x) * 2
    y.name = "y"
    buf = io.StringIO()
    assert debugprint(y, file=buf) is buf
    returned = buf.getvalue().rstrip("\n")
    assert returned == debugprint(y, file="str")
    assert "Elemwise{mul} 'y' [id A]" in returned
    short = debugprint(y, depth=1, print_type=False, file="str")
    assert short.splitlines() == ["Elemwise{mul} 'y' [id A]", " |Elemwise{exp} [id B]",
                                  " |DimShuffle{x} [id C]"]
    two = debugprint([y, x], file="str")
    assert two.splitlines()[-1].startswith("x [id")


def test_debugprint_of_compiled_function(capsys):
    x = T.dvector("x")
    f = function([x], [T.exp(x), x * 2])
    debugprint(f)
    out = capsys.readouterr().out
    assert "exp" in out and "mul" in out and "x [id" in out


def test_debugprint_multi_output_index():
    from symgraph.graph import Apply, Op

    class Split(Op):
        def make_node(self, a):
            return Apply(self, [a], [a.type(), a.type()])
    a, b = Split()(T.dvector("z"))
    assert debugprint(b, print_type=False, file="str").splitlines()[0] == "Split.1 [id A]"


def test_pydotprint_without_graphviz_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(symgraph.printing.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="system package 'graphviz'") as err:
        symgraph.pydotprint(T.dvector() * 2, outfile=str(tmp_path / "never.png"))
    assert "to_dot" in str(err.value) and not (tmp_path / "never.png").exists()


def test_to_dot_and_pydotprint_dot_need_nothing_installed(tmp_path):
    x = T.dvector("x")
    y = T.exp(x) * np.array([1.5, 2.5]) + 1
    text = symgraph.printing.to_dot(y)
    assert text.startswith('digraph "symgraph" {') and text.rstrip().endswith("}")
    assert 'label="x TensorVector(float64)", shape=box, color=green' in text
    assert "[1.5, 2.5] float64" in text                 # constants show their value
    nodes = symgraph.graph.toposort([y])                # exp, mul, the DimShuffle of 1, add
    assert text.count("shape=ellipse") == len(nodes) == 4
    assert text.count("->") == sum(len(n.inputs) + len(n.outputs) for n in nodes)
    f = symgraph.function([x], y)
    path = symgraph.pydotprint(f, outfile=str(tmp_path / "g.dot"))
    assert open(path).read() == symgraph.printing.to_dot(f)


def test_pydotprint_with_dot_writes_the_picture(tmp_path):
    import shutil
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    out = symgraph.pydotprint(T.dvector("x") * 2, outfile=str(tmp_path / "g.png"))
    assert open(out, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_debugprint_to_stdout_returns_none_so_a_repl_prints_it_once(capsys):
    x = T.dvector("x")
    assert debugprint(T.exp(x)) is None
    assert capsys.readouterr().out.count("Elemwise{exp}") == 1

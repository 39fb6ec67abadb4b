"""Tests of symgraph/ops/ifelse.py: lazy ifelse on the Python and C backends, lists of
outputs, gradients, shapes, errors."""
import numpy as np
import pytest

import symgraph as theano
import symgraph.tensor as T
from symgraph import Mode, function, shared
from symgraph.graph import Apply, Op
from symgraph.ifelse import IfElse, ifelse

MODES = ["PY", "FAST_RUN", Mode(linker="c")]


class Counted(Op):
    """Identity that counts its runs (or raises when ``explode``): proves what ran."""

    def __init__(self, explode=False):
        self.explode = explode
        self.calls = 0

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        self.calls += 1
        if self.explode:
            raise RuntimeError("the untaken branch ran")
        output_storage[0][0] = np.array(inputs[0], copy=True)


@pytest.mark.parametrize("mode", MODES, ids=["PY", "FAST_RUN", "C"])
def test_only_the_taken_branch_runs(mode):
    a, b = T.dscalar("a"), T.dscalar("b")
    x = T.dvector("x")
    then_op, else_op = Counted(), Counted()
    z = ifelse(T.lt(a, b), T.exp(then_op(x)).sum(), (else_op(x) * 2).sum())
    f = function([a, b, x], z, mode=mode)
    xv = np.array([0.0, 1.0])
    np.testing.assert_allclose(f(1.0, 2.0, xv), np.exp(xv).sum())
    assert (then_op.calls, else_op.calls) == (1, 0)
    np.testing.assert_allclose(f(3.0, 2.0, xv), 2.0)
    assert (then_op.calls, else_op.calls) == (1, 1)
    boom = Counted(explode=True)
    w = ifelse(T.gt(a, 0), a * 2, boom(b))
    g = function([a, b], w, mode=mode)
    assert g(1.0, 5.0) == 2.0                 # the exploding branch is never computed
    with pytest.raises(RuntimeError, match="untaken branch ran"):
        g(-1.0, 5.0)


def test_lists_of_outputs_and_shared_inputs():
    c = T.iscalar("c")
    x, y = T.dvector("x"), T.dmatrix("y")
    s = shared(np.array([10.0, 20.0]), name="s")
    outs = ifelse(c, [x + s, y.sum()], [x * 0, y.max()])
    assert isinstance(outs, list) and len(outs) == 2
    xv, yv = np.array([1.0, 2.0]), np.arange(6.0).reshape(2, 3)
    for mode in MODES[:2]:
        f = function([c, x, y], outs, mode=mode)
        r = f(1, xv, yv)
        np.testing.assert_allclose(r[0], xv + [10, 20])
        assert r[1] == 15.0
        r = f(0, xv, yv)
        np.testing.assert_allclose(r[0], [0, 0])
        assert r[1] == 5.0


def test_branch_returning_an_input_does_not_alias_it():
    c = T.bscalar("c")
    x = T.dvector("x")
    f = function([c, x], ifelse(c, x, -x), mode="PY")
    xv = np.array([1.0, 2.0])
    out = f(1, xv)
    out[0] = 99
    assert xv[0] == 1.0


def test_gradient_follows_the_taken_branch():
    a, b = T.dscalar("a"), T.dscalar("b")
    z = ifelse(T.lt(a, b), a * a * b, T.sin(a) + b * 3)
    ga, gb = T.grad(z, [a, b])
    f = function([a, b], [ga, gb], mode="PY")
    np.testing.assert_allclose(f(1.0, 2.0), [2 * 1 * 2, 1.0])
    np.testing.assert_allclose(f(3.0, 2.0), [np.cos(3.0), 3.0])
    for pt in ([0.5, 2.0], [3.0, 2.0]):
        theano.verify_grad(lambda a, b: ifelse(T.lt(a, b), T.tanh(a * b), a - b ** 2),
                           [np.array(pt[0]), np.array(pt[1])], mode="PY")
    x = T.dvector("x")
    gx = T.grad(ifelse(T.gt(x.sum(), 0), (x ** 2).sum(), x.sum()), x)
    g = function([x], gx, mode="FAST_RUN")
    np.testing.assert_allclose(g(np.array([1.0, 2.0])), [2.0, 4.0])
    np.testing.assert_allclose(g(np.array([-1.0, -2.0])), [1.0, 1.0])


def test_gradient_of_the_untaken_branch_is_not_computed():
    a = T.dscalar("a")
    boom = Counted(explode=True)

    class Grad(Counted):
        def grad(self, inputs, output_grads):
            return [boom(output_grads[0])]

    op = Grad()
    z = ifelse(T.gt(a, 0), a * 3, op(a))
    f = function([a], T.grad(z, a), mode="PY")
    assert f(1.0) == 3.0


def test_infer_shape():
    c = T.iscalar("c")
    x, y = T.dmatrix("x"), T.dmatrix("y")
    z = ifelse(c, x, y)
    f = function([c, x, y], z.shape, mode="FAST_RUN")
    assert not any(isinstance(n.op, IfElse) and n.op.n_outs == 1 and
                   n.outputs[0].ndim == 2 for n in f.maker.fgraph.toposort())
    assert tuple(f(1, np.zeros((2, 3)), np.zeros((4, 5)))) == (2, 3)
    assert tuple(f(0, np.zeros((2, 3)), np.zeros((4, 5)))) == (4, 5)


def test_errors():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="condition must be a scalar"):
        ifelse(x, x, x)
    with pytest.raises(TypeError, match=r"output 0.*float32.*float64.*T\.cast"):
        ifelse(T.iscalar(), T.fvector(), x)
    with pytest.raises(ValueError, match="same number"):
        ifelse(T.iscalar(), [x, x], [x])


def test_broadcastable_branches_are_unified():
    c = T.iscalar("c")
    row = T.alloc(1.0, 1, 3)                 # (True, False)
    m = T.dmatrix("m")
    z = ifelse(c, row, m)
    assert z.broadcastable == (False, False)
    assert function([c, m], z, mode="PY")(1, np.zeros((2, 3))).shape == (1, 3)


def test_ifelse_inside_scan_and_debugprint():
    x = T.dvector("x")
    out, _ = theano.scan(lambda xt, h: ifelse(T.gt(xt, 0), h + xt, h * 0.5), sequences=x,
                         outputs_info=T.constant(1.0))
    xv = np.array([1.0, -1.0, 2.0])
    for mode in MODES[:2]:
        np.testing.assert_allclose(function([x], out, mode=mode)(xv), [2.0, 1.0, 3.0])
    theano.verify_grad(lambda x: theano.scan(
        lambda xt, h: ifelse(T.gt(xt, 0), h * xt, h * 0.5), sequences=x,
        outputs_info=T.constant(1.0))[0], [xv], mode="PY")
    text = theano.debugprint(ifelse(T.gt(x.sum(), 0), T.exp(x), -x), file="str")
    assert "(then)" in text and "(else)" in text and "exp" in text and "neg" in text


def test_constant_condition_is_folded():
    x = T.dvector("x")
    f = function([x], ifelse(T.constant(1), T.exp(x), -x), mode="FAST_RUN")
    assert not any(isinstance(n.op, IfElse) for n in f.maker.fgraph.toposort())
    np.testing.assert_allclose(f(np.zeros(2)), [1.0, 1.0])

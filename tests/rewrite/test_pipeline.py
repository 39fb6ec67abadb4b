"""Tests for symgraph/opt/pipeline.py on a whole program: the seeds' LeNet training function.

Node counts (batch 500, FAST_RUN on the Python backend) when this was written:
127 nodes unoptimized -> 71 rewritten; one SoftmaxCrossEntropy; of the 17 elementwise nodes
on float tensors 15 are composites (3 forward tanh(conv + b), 3 tanh gradients, 8 SGD
updates, the loss gradient 1/n); 12 nodes work in place.
"""
import numpy as np
import pytest

import symgraph as th
from symgraph.compile.mode import Mode
from symgraph.ops import scalar as ps
from symgraph.ops.elemwise import Elemwise

from opt_models import lenet_available, lenet_training, op_names

OK, REASON = lenet_available()
pytestmark = pytest.mark.skipif(not OK, reason=REASON)


def _compile(mode, batch_size=4):
    spec = lenet_training(batch_size=batch_size)
    params = spec.pop("params")
    return th.function(**spec, mode=mode), params


def _float_elemwise(f):
    """Elementwise nodes on float tensors (not the int64 shape arithmetic)."""
    return [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, Elemwise)
            and n.outputs[0].ndim > 0 and n.outputs[0].dtype.startswith("float")]


def test_lenet_training_graph_structure():
    f, _ = _compile(Mode(linker="py"), batch_size=500)
    ref, _ = _compile(Mode(linker="py", optimizer=None), batch_size=500)
    before, after = len(ref.maker.fgraph.apply_nodes), len(f.maker.fgraph.apply_nodes)
    print(f"LeNet training graph: {before} nodes -> {after} nodes")
    assert after < 0.7 * before
    names = op_names(f)
    assert names.count("SoftmaxCrossEntropy") == 1
    assert names.count("SoftmaxCrossEntropyGrad") == 1
    for absent in ("Softmax", "LogSoftmax", "SoftmaxGrad", "AdvancedSubtensor",
                   "AdvancedIncSubtensor", "log", "second"):
        assert absent not in names, absent
    elem = _float_elemwise(f)
    fused = [n for n in elem if isinstance(n.op.scalar_op, ps.Composite)]
    plain = [n for n in elem if not isinstance(n.op.scalar_op, ps.Composite)]
    assert len(fused) >= 10 and len(plain) <= 2, [str(n.op) for n in plain]
    assert any("tanh" in n.op.scalar_op.name for n in fused)
    assert sum(1 for n in f.maker.fgraph.apply_nodes if n.op.destroy_map) >= 8


def test_lenet_training_steps_match_unoptimized():
    f, params = _compile(Mode(linker="py"))
    ref, ref_params = _compile(Mode(linker="py", optimizer=None))   # same initial values
    for p, q in zip(params, ref_params):
        np.testing.assert_array_equal(p.get_value(), q.get_value())
    costs = [float(f(0)) for i in range(3)]
    ref_costs = [float(ref(0)) for i in range(3)]
    np.testing.assert_allclose(costs, ref_costs, rtol=1e-5)
    assert costs[2] < costs[0]
    for p, q in zip(params, ref_params):
        np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=1e-4, atol=1e-6)


def test_lenet_fast_compile_stabilizes_but_does_not_fuse():
    """FAST_COMPILE runs the stabilize phase (the same finite values as FAST_RUN, issue #15)
    but no fusion."""
    f, _ = _compile(Mode(linker="py", optimizer="fast_compile"))
    names = op_names(f)
    assert "SoftmaxCrossEntropy" in names
    assert "Composite" not in names


def test_register_refuses_a_second_rewriter_under_the_same_name():
    from symgraph.graph import node_rewriter
    from symgraph.rewrite import pipeline

    first = pipeline.registered("canonicalize")[0]
    pipeline.register(first, "canonicalize")                 # the same object again: a no-op
    assert pipeline.registered("canonicalize").count(first) == 1

    @node_rewriter(None, name=first.name)
    def impostor(fgraph, node):
        return None

    with pytest.raises(KeyError, match=first.name):
        pipeline.register(impostor, "canonicalize")
    assert first in pipeline.registered("canonicalize")
    try:
        pipeline.register(impostor, "canonicalize", replace=True)
        names = [r.name for r in pipeline.registered("canonicalize")]
        assert impostor in pipeline.registered("canonicalize") and names.count(first.name) == 1
    finally:
        pipeline.register(first, "canonicalize", replace=True)
    assert first in pipeline.registered("canonicalize")

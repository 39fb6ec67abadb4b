"""Theano's module path ``theano.gof.graph``: nodes, variables and graph traversal."""
from ..graph.basic import (  # noqa: F401
    Apply, Constant, Variable, ancestors, clone_replace, graph_inputs, is_same_graph, toposort,
)

inputs = graph_inputs            # Theano: inputs(variable_list, blockers=None)


def io_toposort(inputs, outputs, orderings=None):
    """Theano's argument order for ``toposort``: the Apply nodes between ``inputs`` and
    ``outputs`` in dependency order (``orderings`` is not supported)."""
    if orderings:
        raise NotImplementedError("io_toposort: orderings are not supported")
    return toposort(outputs, inputs)

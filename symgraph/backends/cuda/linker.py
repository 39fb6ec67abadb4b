"""CudaLinker: run a FunctionGraph with generated CUDA kernels, cuBLAS and host fallbacks.

``make_thunk(fgraph) -> run(values) -> outputs``, like the Python linker.

Where values live is decided once, when the thunk is built:

- explicit tensor inputs (ndim >= 1) are uploaded when the call starts, 0-d
  inputs stay on the host (they become kernel arguments or slice bounds);
- shared variables made under ``device=cuda`` (``CudaSharedVariable``) are
  already on the device and their updates stay there; other shared variables
  live on the host;
- constants of ndim >= 1 are uploaded once, here;
- each node's lowering (``lowering.py``) says where its outputs are: device
  kernels give device arrays, shape arithmetic stays on the host, and ops
  without a lowering run ``perform`` on the host.

A value needed in the other place is transferred once per call, right after
it is computed. Function outputs are copied to the host at the end of the
call (``CudaMode(keep_outputs_on_gpu=True)`` returns ``DeviceArray`` instead).
"""
from __future__ import annotations

import numpy as np

from ...graph import Constant
from ..errors import reraise_with_node
from .lowering import ANY, DEVICE, HOST, BuildContext, Step, find_lowering
from .elemwise import op_perform, supported_dtype

# the lowerings register themselves on import
from . import elemwise, shape, reduce, blas, nnet, conv, pool, rng, indexing  # noqa: F401,E402


class CudaLinker:
    """Build ``run(values) -> outputs`` executing on the GPU."""

    name = "cuda"

    def __init__(self, nan_guard=False, keep_outputs_on_gpu=False):
        self.nan_guard = nan_guard
        self.keep_outputs_on_gpu = keep_outputs_on_gpu

    def plan(self, fgraph):
        """Placement and lowering of every node, without touching the GPU.

        Returns ``(order, places, steps, ctx)``; ``ctx.handles`` holds the
        rendered kernels (:func:`render_source` joins them into the module).
        """
        from .shared import CudaSharedVariable
        order = fgraph.toposort()
        places = {}
        for v in fgraph.inputs:
            if isinstance(v, CudaSharedVariable):
                places[v] = DEVICE
            elif getattr(v, "_box", None) is None and getattr(v.type, "ndim", 0) >= 1 \
                    and supported_dtype(v.type.dtype):
                places[v] = DEVICE          # explicit input: uploaded once per call
            else:
                places[v] = HOST
        for node in order:
            for v in node.inputs:
                if v not in places:     # constants (and shared values not in fgraph.inputs)
                    places[v] = DEVICE if _uploadable_constant(v) else HOST
        ctx = BuildContext(places)
        steps = []
        for node in order:
            step = None
            lower = find_lowering(node.op)
            if lower is not None:
                step = lower(node, ctx)
            if step is None:
                step = _host_step(node)
            for v, p in zip(node.outputs, step.out_places):
                places[v] = p if p != ANY else HOST
            steps.append((node, step))
        for v in fgraph.outputs:
            places.setdefault(v, HOST)
        return order, places, steps, ctx

    def render_source(self, fgraph):
        """The CUDA module this linker would compile for ``fgraph`` (no GPU needed)."""
        from .lowering import render_module
        return render_module(self.plan(fgraph)[3].handles.values())

    def make_thunk(self, fgraph):
        from .driver import cuda
        from .memory import DeviceArray
        from .shared import CudaSharedVariable
        cuda()
        order, places, steps, ctx = self.plan(fgraph)
        ctx.finish()
        storage = {}
        for v in places:
            if isinstance(v, Constant):
                data = v.data
                storage[v] = [DeviceArray.from_host(np.asarray(data)) if places[v] == DEVICE
                              else data]
            elif getattr(v, "_box", None) is not None and v not in fgraph.inputs:
                storage[v] = v._box
            else:
                storage[v] = [None]

        # conversions: (var, other place) needed by some consumer -> its own cell
        need = set()
        for node, step in steps:
            for v, want in zip(node.inputs, step.in_places):
                if want != ANY and want != places[v]:
                    need.add((v, want))
        conv_cells = {key: [None] for key in need}
        for (v, want), cell in conv_cells.items():
            if isinstance(v, Constant):
                cell[0] = v.data if want == HOST else _to_device(v.data)

        def cell_for(v, want):
            if want == ANY or want == places[v]:
                return storage[v]
            return conv_cells[(v, want)]

        def converters(vars_):
            out = []
            for v in vars_:
                for want in (DEVICE, HOST):
                    if (v, want) in conv_cells and not isinstance(v, Constant):
                        out.append((storage[v], conv_cells[(v, want)],
                                    _to_device if want == DEVICE else _to_host))
            return out

        program = []
        for node, step in steps:
            ins = [cell_for(v, w) for v, w in zip(node.inputs, step.in_places)]
            outs = [storage[v] for v in node.outputs]
            program.append((node, step.run, ins, outs, converters(node.outputs)))
        entry = converters(fgraph.inputs)
        in_cells = [storage[v] for v in fgraph.inputs]
        input_places = [places[v] for v in fgraph.inputs]

        updates = getattr(fgraph, "update_mapping", None) or {}
        out_plan = []
        for k, v in enumerate(fgraph.outputs):
            target = updates.get(k)
            if target is not None:
                want = DEVICE if isinstance(target, CudaSharedVariable) else HOST
            else:
                want = DEVICE if self.keep_outputs_on_gpu else HOST
            out_plan.append((storage[v], want))
        keep = set(fgraph.outputs) | set(fgraph.inputs)
        free = [storage[v] for node in order for v in node.outputs if v not in keep]
        free += [c for (v, _), c in conv_cells.items() if not isinstance(v, Constant)]
        nan_guard = self.nan_guard

        def run(values):
            for cell, val, place in zip(in_cells, values, input_places):
                if place == DEVICE and not isinstance(val, DeviceArray):
                    val = DeviceArray.from_host(val)
                cell[0] = val
            for src, dst, fn in entry:
                dst[0] = fn(src[0])
            for node, fn, ins, outs, convs in program:
                args = [c[0] for c in ins]
                try:
                    results = fn(args)
                except Exception as exc:
                    reraise_with_node(exc, node, args)
                for cell, r in zip(outs, results):
                    cell[0] = r
                for src, dst, cfn in convs:
                    dst[0] = cfn(src[0])
                if nan_guard:
                    _check_finite(node, outs)
            result = []
            for cell, want in out_plan:
                v = cell[0]
                if want == HOST:
                    v = _to_host(v)
                elif not isinstance(v, DeviceArray):
                    v = DeviceArray.from_host(v)
                elif not v.is_c_contiguous:
                    v = v.copy()
                result.append(v)
            for cell in free:
                cell[0] = None
            return result

        run.storage = storage
        run.places = places
        run.kernels = sorted(ctx.handles)
        return run


def _uploadable_constant(v):
    return isinstance(v, Constant) and np.ndim(v.data) >= 1 \
        and supported_dtype(np.asarray(v.data).dtype)


def _to_device(v):
    from .memory import to_device
    return to_device(v)


def _to_host(v):
    from .memory import to_host
    return to_host(v)


def _host_step(node):
    """Run ``perform`` on the host (ops without a CUDA lowering)."""
    def run(ins):
        return op_perform(node, ins)
    return Step(run, [HOST] * len(node.inputs), [HOST] * len(node.outputs))


def _check_finite(node, outs):
    from ..python import check_finite
    check_finite(node, [[_to_host(c[0])] for c in outs])


class CudaMode:
    """Factory of a ``Mode`` running on the GPU with options of the CUDA linker.

    >>> f = function([x], y, mode=CudaMode(keep_outputs_on_gpu=True))   # returns DeviceArray
    """

    def __new__(cls, keep_outputs_on_gpu=False, optimizer="fast_run", **kw):
        from ...compile.mode import Mode

        class _Mode(Mode):
            def make_linker(self):
                return CudaLinker(nan_guard=self.nan_guard, keep_outputs_on_gpu=keep_outputs_on_gpu)

            def resolve_linker(self):
                return "cuda"

        return _Mode(linker="cuda", optimizer=optimizer, **kw)

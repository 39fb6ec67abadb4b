"""Shape ops on the GPU: metadata-only views, fills and copies.

``Shape``/``Shape_i``/``Rebroadcast``/``SpecifyShape`` only read ``.shape``, so
their ``perform`` runs unchanged on a ``DeviceArray`` (no transfer). ``Reshape``
is a view of a contiguous array, ``Alloc`` a fill or broadcast copy, ``Join``
one copy per input into slices of the result.
"""
from __future__ import annotations

import numpy as np

from ....ops.shape import Alloc, Join, Rebroadcast, Reshape, Shape, Shape_i, SpecifyShape
from .elemwise import op_perform, scalar_kind, supported_dtype
from ..lowering import ANY, DEVICE, HOST, Step, register
from .elemwise import copy_into
from ..memory import DeviceArray
from .elemwise import fill


@register(Shape, Shape_i, Rebroadcast, SpecifyShape)
def lower_metadata(node, ctx):
    """Ops whose perform only looks at shapes: run as they are, wherever the value lives."""
    if isinstance(node.op, Shape_i) and ctx.reusable(node.outputs[0]):
        i, ints = node.op.i, {}

        def run_i(ins):            # the length of one dimension, as a 0-d int64 array
            n = ins[0].shape[i]
            out = ints.get(n)
            if out is None:
                out = ints[n] = np.asarray(n, dtype="int64")
            return [out]

        return Step(run_i, [ANY], [HOST], launches=False)
    out_place = HOST if isinstance(node.op, Shape) else ctx.place(node.inputs[0])

    def run(ins):
        return op_perform(node, ins)

    return Step(run, [ANY], [out_place], launches=False)


@register(Reshape)
def lower_reshape(node, ctx):
    if ctx.place(node.inputs[0]) != DEVICE:
        return None
    ndim = node.op.ndim

    def run(ins):
        x, shp = ins
        if len(shp) != ndim:
            raise ValueError(f"Reshape: shape {tuple(shp)} has {len(shp)} entries, expected {ndim}")
        try:
            return [x.reshape(tuple(int(s) for s in shp))]
        except ValueError:
            raise ValueError(f"Reshape: cannot reshape an array of shape {x.shape} "
                             f"(size {x.size}) into shape {tuple(int(s) for s in shp)}") from None

    return Step(run, [DEVICE, HOST], [DEVICE], launches=False)


@register(Alloc)
def lower_alloc(node, ctx):
    dtype = node.outputs[0].dtype
    value = node.inputs[0]
    if not supported_dtype(dtype):
        return None
    scalar = scalar_kind(value, ctx) == "scalar"

    def run(ins):
        v, shape = ins[0], tuple(int(s) for s in ins[1:])
        if any(s < 0 for s in shape):
            raise ValueError(f"Alloc: negative dimension in shape {shape}")
        out = DeviceArray(shape, dtype)
        if scalar:
            fill(out, np.asarray(v).item())
            return [out]
        vshape = v.shape
        if len(vshape) > len(shape) or any(a != b and a != 1 for a, b in
                                           zip(vshape, shape[len(shape) - len(vshape):])):
            raise ValueError(f"Alloc: cannot broadcast value of shape {vshape} to shape {shape}")
        pad = len(shape) - len(vshape)
        strides = [0] * pad + [0 if a == 1 else s for a, s in zip(vshape, v.strides)]
        copy_into(out, v.view(shape, strides))
        return [out]

    return Step(run, [HOST if scalar else DEVICE] + [HOST] * (len(node.inputs) - 1), [DEVICE])


@register(Join)
def lower_join(node, ctx):
    if not any(ctx.place(v) == DEVICE for v in node.inputs):
        return None
    axis, dtype = node.op.axis, node.outputs[0].dtype

    def run(ins):
        first = ins[0].shape
        for t in ins:
            if len(t.shape) != len(first) or any(a != b for d, (a, b) in
                                                  enumerate(zip(t.shape, first)) if d != axis):
                raise ValueError(f"{node.op}: shapes {[i.shape for i in ins]} cannot be joined "
                                 f"along axis {axis}")
        total = sum(t.shape[axis] for t in ins)
        shape = first[:axis] + (total,) + first[axis + 1:]
        out = DeviceArray(shape, dtype)
        start = 0
        for t in ins:
            stop = start + t.shape[axis]
            idx = (slice(None),) * axis + (slice(start, stop),)
            copy_into(out[idx], t)
            start = stop
        return [out]

    return Step(run, [DEVICE] * len(node.inputs), [DEVICE])

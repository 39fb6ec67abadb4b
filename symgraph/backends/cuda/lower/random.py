"""MRG31k3p uniform draws on the GPU, bit for bit those of the reference backend.

The specification (state layout, one step, the float conversion, which stream
draws which element) is the docstring of ``symgraph.sandbox.rng_mrg``. Here one
thread runs one stream: for ``s < used = min(n_streams, n)`` it draws elements
``s, s + used, s + 2 used, ...`` in order, then stores its new state; streams
``>= used`` are copied unchanged. Arithmetic is 64-bit integer; the float32
value is ``__fmul_rn((float)k, 4.6566126e-10f)`` (one rounded multiply, as
numpy's float32 multiply).
"""
from __future__ import annotations

from ....ops.random import MRGUniform
from ..dialect import DIALECT, instantiate
from ..lowering import DEVICE, HOST, Step, register
from .. import driver
from ..memory import DeviceArray


def render_mrg_uniform(dtype):
    """``<name>(n_streams, n, state, new_state, out)``: ``src/mrg_uniform.cu`` for ``dtype``."""
    return instantiate("mrg_uniform.cu", SG_T=DIALECT.ctype(dtype), SG_MRG_F64=int(dtype == "float64"))


@register(MRGUniform)
def lower_mrg_uniform(node, ctx):
    op = node.op
    h = ctx.kernel(f"mrg_uniform_{op.dtype}", render_mrg_uniform(op.dtype), "qqPPP")

    def run(ins):
        rstate, size = ins
        if len(size) != op.ndim:
            raise ValueError(f"{op}: size {list(size)} has {len(size)} entries, expected {op.ndim}")
        shape = tuple(int(s) for s in size)
        if any(s < 0 for s in shape):
            raise ValueError(f"{op}: negative size {shape}")
        if rstate.ndim != 2 or rstate.shape[1] != 6 or rstate.dtype.name != "int32":
            raise ValueError(f"MRG state must be an int32 (n_streams, 6) matrix, got "
                             f"{rstate.dtype} {rstate.shape}")
        if not rstate.is_c_contiguous:
            rstate = rstate.copy()
        n_streams = rstate.shape[0]
        out = DeviceArray(shape, op.dtype)
        new_state = rstate if op.inplace else DeviceArray(rstate.shape, "int32")
        if out.size and not n_streams:
            raise ValueError("MRG state has no streams")
        driver.launch(h.fn, n_streams, n_streams, out.size, rstate.ptr, new_state.ptr, out.ptr,
                      threads=128)
        return [new_state, out]

    return Step(run, [DEVICE, HOST], [DEVICE, DEVICE])

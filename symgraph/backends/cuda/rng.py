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

from ...ops.random import MRGUniform
from .dialect import DIALECT, grid_loop
from .lowering import DEVICE, HOST, Step, register
from . import driver
from .memory import DeviceArray


def render_mrg_uniform(dtype):
    """``KERNEL(n_streams, n, state, new_state, out)``."""
    d = DIALECT
    t = d.ctype(dtype)
    if dtype == "float32":
        conv = "__fmul_rn((float)k, 4.6566126e-10f)"
    else:
        conv = "__dmul_rn((double)k, 4.656612873077392578125e-10)"
    return "\n".join([
        f"{d.kernel_prefix} KERNEL(const long long n_streams, const long long n, const int* state,"
        f" int* new_state, {t}* {d.restrict} out)",     # state == new_state when inplace
        "{",
        "  const long long M1 = 2147483647LL, M2 = 2147462579LL;",
        "  const long long used = n_streams < n ? n_streams : n;",
        grid_loop("s", "n_streams"),
        "    const int* st = state + 6LL * s;",
        "    long long x11 = st[0], x12 = st[1], x13 = st[2], x21 = st[3], x22 = st[4], x23 = st[5];",
        "    if (s < used) {",
        "      for (long long i = s; i < n; i += used) {",
        "        long long y1 = ((x12 & 511) << 22) + (x12 >> 9) + ((x13 & 16777215) << 7) + (x13 >> 24);",
        "        if (y1 >= M1) y1 -= M1;",
        "        y1 += x13;",
        "        if (y1 >= M1) y1 -= M1;",
        "        long long z1 = ((x21 & 65535) << 15) + 21069 * (x21 >> 16);",
        "        if (z1 >= M2) z1 -= M2;",
        "        long long z2 = ((x23 & 65535) << 15) + 21069 * (x23 >> 16);",
        "        if (z2 >= M2) z2 -= M2;",
        "        z2 += x23;",
        "        if (z2 >= M2) z2 -= M2;",
        "        z2 += z1;",
        "        if (z2 >= M2) z2 -= M2;",
        "        x13 = x12; x12 = x11; x11 = y1;",
        "        x23 = x22; x22 = x21; x21 = z2;",
        "        long long k = x11 - x21;",
        "        if (k <= 0) k += M1;",
        f"        out[i] = {conv};",
        "      }",
        "    }",
        "    int* ns = new_state + 6LL * s;",
        "    ns[0] = (int)x11; ns[1] = (int)x12; ns[2] = (int)x13;",
        "    ns[3] = (int)x21; ns[4] = (int)x22; ns[5] = (int)x23;",
        "  }",
        "}", ""])


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

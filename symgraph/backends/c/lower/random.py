"""C lowering of the random family: MRG31k3p uniforms (``sg_mrg_uniform``, ``src/nnet.c``)."""
from __future__ import annotations

from ....ops import random
from ..lowering import c_string, register


@register(random.MRGUniform, literal_inputs=lambda n: set())
def lower_mrg_uniform(e):
    op = e.op
    size = e.node.inputs[1]
    nd = op.ndim
    S = e.v(size)
    msg = c_string("size has ") + ' "%lld entries, expected ' + f'{nd}"'
    e.emit(f"if ({S}.shape[0] != {nd}) {{ {e.fail('value', msg, f'(long long){S}.shape[0]')} }}",
           "int64_t size[SG_MAXD + 1] = {0};",
           f"for (int d = 0; d < {nd}; d++) size[d] = (int64_t)((const {e.ctype(size)} *){S}.data)[d * {S}.strides[0]];",
           e.try_(f"sg_mrg_uniform(c, {e.index}, {-1 if e.inplace(0) == 0 else e.buf(0)}, {e.buf(1)}, "
                  f"&{e.inp(0)}, size, {nd}, "
                  f"{int(op.dtype == 'float64')}, &{e.out(0)}, &{e.out(1)})"))

"""Elementwise kernels: one kernel per ``Elemwise`` node (a fused ``Composite`` included).

Rendering (no GPU needed)::

    src = render_elemwise(KERNEL_NAME, scalar.add, ["float32", "float32"], ["array", "scalar"], 2)

One thread per output element in a grid-stride loop. At run time the
operands' dimensions are collapsed (adjacent dimensions that are contiguous
in every operand merge; broadcast dimensions have stride 0), so most calls
take the contiguous path where every operand is read at the flat index.
Counts, sizes, strides and offsets are 64-bit; a strided launch whose element
count and operand extents all fit in 32 bits splits the flat index and sums the
offsets in ``int`` (``path`` 2, chosen at launch). On an H100, 67M-element permuted
3-d/4-d operands took 0.67/0.64 ms with 64-bit offsets, 0.45/0.50 ms with ``int``
ones; contiguous launches (``path`` 1) ran at the same speed either way.
Host scalars (0-d inputs computed on the host, Python constants) are kernel
arguments, not device arrays.
"""
from __future__ import annotations

import numpy as np

from ....ops import scalar as ps
from ....ops.elemwise import DimShuffle, Elemwise
from ..dialect import DIALECT, KERNEL_NAME, grid_loop
from ..lowering import DEVICE, HOST, Step, helper_kernel, register
from .. import driver
from .. import memory
from ..memory import empty

# pycuda/struct letter and C parameter type of a scalar passed by value
PARAM = {
    "float32": ("f", "float"), "float64": ("d", "double"), "int64": ("q", "long long"),
    "uint64": ("Q", "unsigned long long"), "int32": ("i", "int"), "uint32": ("I", "unsigned int"),
    "int16": ("h", "short"), "uint16": ("H", "unsigned short"), "int8": ("b", "signed char"),
    "uint8": ("B", "unsigned char"), "bool": ("b", "signed char"),
}


#: a strided launch whose element count and operand extents are at most this takes the
#: kernels' int path (tests lower it to run the 64-bit one at small sizes)
INDEX32_MAX = 2 ** 31 - 1


def supported_dtype(dtype):
    return np.dtype(dtype).name in PARAM


def _op_stem(scalar_op):
    if isinstance(scalar_op, ps.Composite):
        names = [op.name for op, _ in scalar_op.nodes if op.nin]
        stem = "_".join(names[:4]) + ("_etc" if len(names) > 4 else "")
        return stem or "const"
    return scalar_op.name


def render_elemwise(name, scalar_op, in_dtypes, in_kinds, nd, out_dtypes=None):
    """CUDA source of an elementwise kernel.

    ``in_kinds[i]``: ``"array"`` (a strided device array) or ``"scalar"`` (by value).
    Parameters: ``n, path, d0..d{nd-1}``, then per output ``ptr, strides``,
    then per input ``ptr, strides`` or the value. ``path``: 1 every operand is read at
    the flat index, 0 strided, 2 strided with every offset below 2**31 (int arithmetic).
    """
    d = DIALECT
    if out_dtypes is None:
        out_dtypes = scalar_op.output_dtypes(list(in_dtypes))
    params = ["const long long n", "const int path"] + [f"const long long d{k}" for k in range(nd)]
    for o, dt in enumerate(out_dtypes):
        params.append(f"{d.ctype(dt)}* o{o}")
        params += [f"const long long o{o}s{k}" for k in range(nd)]
    for i, (dt, kind) in enumerate(zip(in_dtypes, in_kinds)):
        if kind == "array":
            params.append(f"const {d.ctype(dt)}* i{i}")
            params += [f"const long long i{i}s{k}" for k in range(nd)]
        else:
            params.append(f"const {PARAM[dt][1]} i{i}")
    arrays = [f"o{o}" for o in range(len(out_dtypes))] + \
             [f"i{i}" for i, k in enumerate(in_kinds) if k == "array"]
    lines = [f"{d.kernel_prefix} {name}({', '.join(params)})", "{",
             grid_loop("i", "n")]
    lines.append("    " + " ".join(f"long long p_{a} = i;" for a in arrays))
    if nd:
        lines.append("    if (path == 2) {")
        lines += ["      " + s for s in _offsets(nd, arrays, "int")]
        lines.append("    } else if (path == 0) {")
        lines += ["      " + s for s in _offsets(nd, arrays, "long long")]
        lines.append("    }")
    in_exprs = []
    for i, (dt, kind) in enumerate(zip(in_dtypes, in_kinds)):
        if kind == "array":
            lines.append(f"    const {d.ctype(dt)} v{i} = i{i}[p_i{i}];")
        else:
            lines.append(f"    const {d.ctype(dt)} v{i} = ({d.ctype(dt)})i{i};")
        in_exprs.append((f"v{i}", dt))
    body, outs = d.composite(scalar_op, in_exprs)
    lines += ["    " + s for s in body]
    for o, ((expr, dt), odt) in enumerate(zip(outs, out_dtypes)):
        lines.append(f"    o{o}[p_o{o}] = {d.cast(expr, dt, odt)};")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def _offsets(nd, arrays, t):
    """Statements setting ``p_<array>`` to the offsets of flat index ``i`` (arithmetic in
    ``t``: int only where the launch checked that every value fits)."""
    cast = "" if t == "long long" else f"({t})"
    lines = [f"{t} r = {cast}i, k;", " ".join(f"{t} q_{a} = 0;" for a in arrays)]
    for k in reversed(range(nd)):
        lines.append(f"k = r % {cast}d{k}; r /= {cast}d{k};" if k else "k = r;")
        lines.append(" ".join(f"q_{a} += k * {cast}{a}s{k};" for a in arrays))
    lines.append(" ".join(f"p_{a} = q_{a};" for a in arrays))
    return lines


def arg_format(in_dtypes, in_kinds, n_out, nd):
    """The launch format of :func:`render_elemwise`'s kernel (sizes and strides ``q``)."""
    fmt = "qi" + "q" * nd + ("P" + "q" * nd) * n_out
    for dt, kind in zip(in_dtypes, in_kinds):
        fmt += ("P" + "q" * nd) if kind == "array" else PARAM[dt][0]
    return fmt


def collapse(shape, strides_list):
    """Merge dimensions contiguous in every operand; drop length-1 ones.

    ``strides_list``: per operand, strides in elements (0 where broadcast).
    Returns ``(dims, [strides per operand])``, outermost first.
    """
    dims, sts = [], [[] for _ in strides_list]
    for k, size in enumerate(shape):
        if size == 1:
            continue
        if dims and all(s[-1] == st[k] * size for s, st in zip(sts, strides_list)):
            dims[-1] *= size
            for s, st in zip(sts, strides_list):
                s[-1] = st[k]
            continue
        dims.append(size)
        for s, st in zip(sts, strides_list):
            s.append(st[k])
    return dims, sts


class ElemwiseLaunch:
    """The run-time half of an elementwise kernel: collapse, pad to ``nd``, launch.

    Launch parameters are cached per (shape, strides) signature.
    """

    def __init__(self, handle, nd, in_kinds):
        self.handle = handle
        self.nd = nd
        self.in_kinds = in_kinds
        self.cache = {}

    def __call__(self, shape, outs, ins):
        """``outs``: DeviceArrays of ``shape``; ``ins``: DeviceArrays (broadcasting) or scalars."""
        arrays = list(outs) + [a for a, k in zip(ins, self.in_kinds) if k == "array"]
        key = (shape,) + tuple(a.strides for a in arrays) + tuple(a.shape for a in arrays)
        plan = self.cache.get(key)
        if plan is None:
            plan = self.cache[key] = self._plan(shape, arrays)
        n, head, stride_args, grid, block = plan
        if not n:
            return
        args = list(head)
        it = iter(stride_args)
        for a in outs:
            args.append(a.ptr)
            args.extend(next(it))
        for a, kind in zip(ins, self.in_kinds):
            if kind == "array":
                args.append(a.ptr)
                args.extend(next(it))
            else:
                args.append(a.item() if hasattr(a, "item") else a)
        self.handle.fn.prepared_call(grid, block, *args)

    def _plan(self, shape, arrays):
        nd = len(shape)
        strides = []
        for a in arrays:
            es = a.elem_strides()
            pad = nd - a.ndim
            strides.append([0 if k < pad or a.shape[k - pad] == 1 else es[k - pad]
                            for k in range(nd)])
        n = int(np.prod(shape, dtype=np.int64))
        dims, sts = collapse(shape, strides)
        if len(dims) <= 1 and all(not s or s[0] == 1 for s in sts):
            path = 1
        elif n <= INDEX32_MAX and all(sum((d - 1) * abs(s) for d, s in zip(dims, st))
                                      <= INDEX32_MAX for st in sts):
            path = 2
        else:
            path = 0
        pad = self.nd - len(dims)
        dims = [1] * pad + dims
        sts = [[0] * pad + s for s in sts]
        grid, block = driver.launch_dims(n)
        return n, [n, path] + dims, sts, grid, block


def scalar_kind(var, ctx):
    """``"scalar"`` for a host value of one element (a 0-d input, a dimshuffled constant):
    passed to the kernel by value; ``"array"`` otherwise."""
    return "scalar" if ctx.place(var) == HOST and all(var.broadcastable) else "array"


def out_shape(node, values):
    """Output shape of an Elemwise node; raises like ``Elemwise.check_shapes``.

    Theano broadcasting: a dimension broadcasts only where its type says so,
    and every non-broadcastable input must agree on its length.
    """
    shape = []
    for k in range(node.outputs[0].ndim):
        size = None
        for var, val in zip(node.inputs, values):
            if var.broadcastable[k]:
                continue
            s = val.shape[k]
            if size is None:
                size = s
            elif s != size:
                shapes = ", ".join(str(tuple(np.shape(v))) for v in values)
                raise ValueError(f"{node.op}: input shapes do not match along dimension {k}: "
                                 f"got {shapes} (a dimension broadcasts only when its type "
                                 f"marks it broadcastable)")
        shape.append(1 if size is None else size)
    return tuple(shape)


def restrict_composite(comp, outs):
    """``(sub, used)``: a Composite computing only outputs ``outs`` of ``comp``, and the
    indices of the inputs it reads (in order)."""
    nin = comp.nin
    need, stack = set(), [comp.outputs[k] for k in outs]
    while stack:
        r = stack.pop()
        if r not in need:
            need.add(r)
            if r >= nin:
                stack.extend(comp.nodes[r - nin][1])
    used = sorted(r for r in need if r < nin)
    kept = sorted(r - nin for r in need if r >= nin)
    remap = {r: j for j, r in enumerate(used)}
    remap.update({nin + k: len(used) + j for j, k in enumerate(kept)})
    nodes = [(comp.nodes[k][0], tuple(remap[a] for a in comp.nodes[k][1])) for k in kept]
    sub = ps.Composite([comp.in_dtypes[r] for r in used], nodes, [remap[comp.outputs[k]] for k in outs])
    return sub, used


@register(Elemwise)
def lower_elemwise(node, ctx):
    op = node.op
    dtypes = [v.dtype for v in node.inputs + node.outputs]
    if not any(ctx.place(v) == DEVICE for v in node.inputs) or \
            not all(supported_dtype(dt) for dt in dtypes):
        return None           # everything on the host: perform()
    try:
        DIALECT.composite(op.scalar_op, [(f"v{i}", v.dtype) for i, v in enumerate(node.inputs)])
    except NotImplementedError:
        return None
    comp = op.scalar_op
    if isinstance(comp, ps.Composite) and comp.nout > 1 and node.outputs[0].ndim == 0 \
            and not op.inplace_pattern:
        # scalar outputs computed from host values only (fusion may have merged shape
        # arithmetic into a loss computation) stay on the host: no transfer back for them
        host = [k for k in range(comp.nout)
                if all(ctx.place(node.inputs[i]) == HOST for i in restrict_composite(comp, [k])[1])]
        if host and len(host) < comp.nout and all(ctx.reusable(node.outputs[k]) for k in host):
            return _split_scalar_elemwise(node, ctx, host)
    return _device_elemwise(node, ctx, comp, list(range(len(node.outputs))),
                            list(range(len(node.inputs))))


def _device_elemwise(node, ctx, scalar_op, outs, used):
    """Step running ``scalar_op`` (outputs ``outs`` of the node, reading inputs ``used``)."""
    op = node.op
    nd = node.outputs[0].ndim
    ins_v = [node.inputs[i] for i in used]
    in_kinds = [scalar_kind(v, ctx) for v in ins_v]
    in_dtypes = [v.dtype for v in ins_v]
    out_dtypes = [node.outputs[k].dtype for k in outs]
    out_np = [np.dtype(dt) for dt in out_dtypes]
    src = render_elemwise(KERNEL_NAME, scalar_op, in_dtypes, in_kinds, nd, out_dtypes)
    h = ctx.kernel(f"E_{_op_stem(scalar_op)}_{nd}d",
                   src, arg_format(in_dtypes, in_kinds, len(out_dtypes), nd))
    launch = ElemwiseLaunch(h, nd, in_kinds)
    inplace = dict(op.inplace_pattern)
    n_out = len(out_dtypes)
    in_places = [DEVICE if k == "array" else HOST for k in in_kinds]

    shapes = {}

    def run(ins):
        if nd:
            key = tuple([a.shape for a, k in zip(ins, in_kinds) if k == "array"])
            shape = shapes.get(key)
            if shape is None:
                shape = shapes[key] = out_shape(node, ins)
        else:
            shape = ()
        outs_v = [ins[inplace[o]] if o in inplace else empty(shape, out_np[o])
                  for o in range(n_out)]
        launch(shape, outs_v, ins)
        return outs_v

    return Step(run, in_places, [DEVICE] * n_out)


def _split_scalar_elemwise(node, ctx, host):
    """A 0-d multi-output Elemwise: outputs ``host`` by NumPy on the host, the rest on the GPU."""
    comp = node.op.scalar_op
    dev = [k for k in range(comp.nout) if k not in host]
    sub_h, used_h = restrict_composite(comp, host)
    sub_d, used_d = restrict_composite(comp, dev)
    dstep = _device_elemwise(node, ctx, sub_d, dev, used_d)
    h_dtypes = [node.outputs[k].dtype for k in host]
    n = len(node.outputs)

    memo = {}

    def run(ins):
        key = tuple([ins[i].tobytes() for i in used_h])
        hv = memo.get(key)
        if hv is None:
            hv = sub_h.impl(*[ins[i] for i in used_h])
            hv = memo[key] = [np.asarray(v, dtype=dt) for v, dt in
                              zip(hv if sub_h.nout > 1 else (hv,), h_dtypes)]
            if len(memo) > 64:
                memo.clear()
        dv = dstep.run([ins[i] for i in used_d])
        out = [None] * n
        for k, v in zip(host, hv):
            out[k] = v
        for k, v in zip(dev, dv):
            out[k] = v
        return out

    in_places = [HOST] * len(node.inputs)
    for i, p in zip(used_d, dstep.in_places):
        in_places[i] = p
    return Step(run, in_places, [HOST if k in host else DEVICE for k in range(n)])


@register(DimShuffle)
def lower_dimshuffle(node, ctx):
    if ctx.place(node.inputs[0]) != DEVICE:
        return None
    op = node.op

    def run(ins):
        x = ins[0]
        v = x.transpose(*(op.shuffle + op.drop)) if x.ndim else x
        shape, strides = list(v.shape[:len(op.shuffle)]), list(v.strides[:len(op.shuffle)])
        for pos in op.augment:
            shape.insert(pos, 1)
            strides.insert(pos, 0)
        return [v.view(shape, strides)]

    return Step(run, [DEVICE], [DEVICE], launches=False)


def op_perform(node, ins):
    storage = [[None] for _ in node.outputs]
    node.op.perform(node, ins, storage)
    return [s[0] for s in storage]


# ---------------------------------------------------------------- helpers used by other lowerings

_COPIES = {}


def strided_copy(dst, src):
    """dst[...] = src for any strides (and a cast when dtypes differ)."""
    nd = max(dst.ndim, 1)
    key = (src.dtype, dst.dtype, nd)
    launch = _COPIES.get(key)
    if launch is None:
        fn = _copy_kernel(src.dtype.name, dst.dtype.name, nd)
        launch = _COPIES[key] = ElemwiseLaunch(_Bound(fn), nd, ["array"])
    shape = dst.shape if dst.ndim else (1,)
    d = dst if dst.ndim else dst.view((1,), (dst.itemsize,))
    s = src if src.ndim else src.view((1,), (0,))
    launch(shape, [d], [s])


class _Bound:
    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


def _copy_source(src_dtype, dst_dtype, nd):
    src = render_elemwise(KERNEL_NAME, ps.identity, [src_dtype], ["array"], nd, [dst_dtype])
    return f"copy_{src_dtype}_{dst_dtype}_{nd}d", src, arg_format([src_dtype], ["array"], 1, nd)


def _copy_kernel(src_dtype, dst_dtype, nd):
    return helper_kernel(*_copy_source(src_dtype, dst_dtype, nd))


def register_copy(ctx, dtype, nd, dst_dtype=None):
    """Compile the strided copy kernel ``strided_copy`` will need with the function's module
    (instead of on first use)."""
    ctx.kernel(*_copy_source(dtype, dst_dtype or dtype, max(nd, 1)))


_FILLS = {}


def fill(dst, value):
    """dst[...] = value (a host scalar) for a C-contiguous dst."""
    if not dst.size:
        return
    dt = dst.dtype.name
    fn = _FILLS.get(dt)
    if fn is None:
        fn = _FILLS[dt] = helper_kernel(
            f"fill_{dt}", render_elemwise(KERNEL_NAME, ps.identity, [dt], ["scalar"], 0, [dt]),
            arg_format([dt], ["scalar"], 1, 0))
    driver.launch(fn, dst.size, dst.size, 1, dst.ptr, np.asarray(value, dtype=dt).item())


def copy_into(dst, src):
    """dst[...] = src (same shape; any strides) on the device."""
    if dst.shape != src.shape:
        raise ValueError(f"copy_into: shapes {dst.shape} and {src.shape} differ")
    if not dst.size:
        return
    if dst.is_c_contiguous and src.is_c_contiguous and dst.dtype == src.dtype:
        driver.cuda().memcpy_dtod_async(dst.ptr, src.ptr, dst.nbytes, driver.stream())
        return
    strided_copy(dst, src)


memory.register_copy_into(copy_into)

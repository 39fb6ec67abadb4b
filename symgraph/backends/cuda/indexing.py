"""Indexing on the GPU.

``Subtensor`` is a view (pointer offset and strides). ``IncSubtensor`` copies
x (unless inplace) and adds or copies y into a view of the region with one
elementwise kernel. Advanced indexing runs on the GPU for the form the
tutorials use, integer vectors on the leading axes (``p[T.arange(n), y]``,
``W[idx]``): a gather, and for its gradient a scatter with ``atomicAdd``.
Other advanced forms run on the host.

Advanced indices are not bounds-checked on the GPU (that would cost a copy
to the host per call): an out-of-range index reads 0 and writes nothing.
"""
from __future__ import annotations

import numpy as np

from ...ops import scalar as ps
from ...ops.subtensor import (AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor, Subtensor,
                              build_index)
from .dialect import DIALECT
from .elemwise import (ElemwiseLaunch, arg_format, register_copy, render_elemwise, scalar_kind,
                       supported_dtype)
from .lowering import DEVICE, HOST, Step, register


@register(Subtensor)
def lower_subtensor(node, ctx):
    if ctx.place(node.inputs[0]) != DEVICE:
        return None
    op = node.op

    def run(ins):
        x = ins[0]
        idx = build_index(op.idx_list, ins[1:])
        try:
            return [x[idx]]
        except IndexError as exc:
            raise IndexError(f"{op}: {exc} (input shape {x.shape}, index {idx})") from None

    return Step(run, [DEVICE] + [HOST] * (len(node.inputs) - 1), [DEVICE], launches=False)


def broadcast_view(y, shape, what):
    """``y`` (a DeviceArray) seen with ``shape`` by numpy broadcasting (stride 0), or ValueError."""
    if y.ndim > len(shape):
        raise ValueError(f"{what}: cannot broadcast a value of shape {y.shape} to {tuple(shape)}")
    pad = len(shape) - y.ndim
    strides = [0] * pad
    for a, b, st in zip(y.shape, shape[pad:], y.strides):
        if a == b:
            strides.append(st)
        elif a == 1:
            strides.append(0)
        else:
            raise ValueError(f"{what}: cannot broadcast a value of shape {y.shape} to "
                             f"{tuple(shape)}")
    return y.view(shape, strides)


@register(IncSubtensor)
def lower_inc_subtensor(node, ctx):
    x, y = node.inputs[:2]
    if ctx.place(x) != DEVICE or not supported_dtype(x.dtype):
        return None
    op = node.op
    nd = x.ndim - sum(1 for e in op.idx_list if e[0] == "int")
    y_kind = scalar_kind(y, ctx)
    kn = max(nd, 1)
    if op.set_instead_of_inc:
        sop, kinds, dts = ps.identity, [y_kind], [x.dtype]
    else:
        sop, kinds, dts = ps.add, ["array", y_kind], [x.dtype, x.dtype]
    h = ctx.kernel(f"{'set' if op.set_instead_of_inc else 'inc'}_subtensor_{x.dtype}_{kn}d",
                   render_elemwise("KERNEL", sop, dts, kinds, kn, [x.dtype]),
                   arg_format(dts, kinds, 1, kn))
    register_copy(ctx, x.dtype, x.ndim)
    launch = ElemwiseLaunch(h, kn, kinds)
    verb = "set" if op.set_instead_of_inc else "increment"

    def run(ins):
        xv, yv = ins[0], ins[1]
        out = xv if op.inplace else xv.copy()
        idx = build_index(op.idx_list, ins[2:])
        try:
            region = out[idx]
        except IndexError as exc:
            raise IndexError(f"{op}: {exc} (input shape {xv.shape}, index {idx})") from None
        if y_kind == "array":
            yv = broadcast_view(yv, region.shape, f"{op}: cannot {verb} region {idx} of shape-"
                                f"{xv.shape} tensor")
        shape = region.shape if region.ndim else (1,)
        if not region.ndim:
            region = region.view((1,), (region.itemsize,))
            if y_kind == "array":
                yv = yv.view((1,), (0,))
        ins_k = [yv] if op.set_instead_of_inc else [region, yv]
        if region.size:
            launch(shape, [region], ins_k)
        return [out]

    return Step(run, [DEVICE, HOST if y_kind == "scalar" else DEVICE] +
                [HOST] * (len(node.inputs) - 2), [DEVICE])


def _leading_vectors(node, n_sym_start):
    """True when the index is k integer vectors on the leading axes (then full slices)."""
    op = node.op
    entries = list(op.idx_list)
    k = 0
    while k < len(entries) and entries[k][0] == "adv":
        k += 1
    if k == 0 or any(e != ("slice", None, None, None) for e in entries[k:]):
        return 0
    idx_vars = node.inputs[n_sym_start:]
    if len(idx_vars) != k or any(v.ndim != 1 or v.dtype not in
                                 ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32")
                                 for v in idx_vars):
        return 0
    return k


def render_gather(dtype, idx_dtypes, scatter=None):
    """``KERNEL(L, R, d0..dk-1 (indexed sizes), x, idx0.., out)``: out[i, r] = x[idx0[i], .., r]
    (x C-contiguous, R = trailing size). ``scatter='inc'|'set'``: x[...] (+)= y[i, r] instead."""
    d = DIALECT
    t = d.ctype(dtype)
    k = len(idx_dtypes)
    params = ["const int L", "const int R"] + [f"const int d{j}" for j in range(k)]
    if scatter:
        params += [f"{t}* x", f"const {t}* {d.restrict} y", "const int ys_i", "const int ys_r"]
    else:
        params += [f"const {t}* {d.restrict} x", f"{t}* {d.restrict} out"]
    params += [f"const {d.ctype(it)}* {d.restrict} idx{j}" for j, it in enumerate(idx_dtypes)]
    lines = [f"{d.kernel_prefix} KERNEL({', '.join(params)})", "{",
             f"  for (int i = {d.global_index}; i < L * R; i += {d.grid_stride}) {{",
             "    const int row = i / R, r = i - row * R;",
             "    long long off = 0; bool ok = true;"]
    for j in range(k):
        lines += [f"    {{ long long v = (long long)idx{j}[row]; if (v < 0) v += d{j};",
                  f"      ok = ok && v >= 0 && v < d{j}; off = off * d{j} + v; }}"]
    lines.append("    off = off * R + r;")
    if scatter == "inc":
        lines.append("    if (ok) atomicAdd(x + off, y[(long long)row * ys_i + (long long)r * ys_r]);")
    elif scatter == "set":
        lines.append("    if (ok) x[off] = y[(long long)row * ys_i + (long long)r * ys_r];")
    else:
        lines.append(f"    out[i] = ok ? x[off] : ({t})0;")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


@register(AdvancedSubtensor)
def lower_advanced_subtensor(node, ctx):
    from . import driver
    from .memory import DeviceArray
    x = node.inputs[0]
    k = _leading_vectors(node, 1)
    if not k or ctx.place(x) != DEVICE or not supported_dtype(x.dtype):
        return None
    idx_dtypes = [v.dtype for v in node.inputs[1:]]
    h = ctx.kernel(f"gather_{x.dtype}_{k}", render_gather(x.dtype, idx_dtypes),
                   "ii" + "i" * k + "PP" + "P" * k)

    def run(ins):
        xv = ins[0] if ins[0].is_c_contiguous else ins[0].copy()
        idx = [v if v.is_c_contiguous else v.copy() for v in ins[1:]]
        L = idx[0].shape[0]
        if any(v.shape[0] != L for v in idx):
            raise IndexError(f"{node.op}: shape mismatch: indexing arrays could not be broadcast "
                             f"together with shapes {[v.shape for v in idx]}")
        rest = xv.shape[k:]
        R = int(np.prod(rest, dtype=np.int64))
        out = DeviceArray((L,) + rest, xv.dtype)
        if out.size:
            grid, block = driver.launch_dims(out.size)
            h.fn.prepared_call(grid, block, L, R, *xv.shape[:k], xv.ptr, out.ptr,
                               *[v.ptr for v in idx])
        return [out]

    return Step(run, [DEVICE] * len(node.inputs), [DEVICE])


@register(AdvancedIncSubtensor)
def lower_advanced_inc_subtensor(node, ctx):
    from . import driver
    from .memory import DeviceArray
    x, y = node.inputs[:2]
    k = _leading_vectors(node, 2)
    op = node.op
    if not k or ctx.place(x) != DEVICE or x.dtype not in ("float32", "float64"):
        return None
    idx_dtypes = [v.dtype for v in node.inputs[2:]]
    mode = "set" if op.set_instead_of_inc else "inc"
    h = ctx.kernel(f"scatter_{mode}_{x.dtype}_{k}", render_gather(x.dtype, idx_dtypes, mode),
                   "ii" + "i" * k + "PPii" + "P" * k)
    y_host = scalar_kind(y, ctx) == "scalar"

    def run(ins):
        xv, yv = ins[0], ins[1]
        out = xv if op.inplace and xv.is_c_contiguous else xv.copy()
        idx = [v if v.is_c_contiguous else v.copy() for v in ins[2:]]
        L = idx[0].shape[0]
        if any(v.shape[0] != L for v in idx):
            raise IndexError(f"{op}: shape mismatch: indexing arrays could not be broadcast "
                             f"together with shapes {[v.shape for v in idx]}")
        rest = xv.shape[k:]
        R = int(np.prod(rest, dtype=np.int64))
        if y_host:
            yv = DeviceArray.from_host(np.full((1,), np.asarray(yv).item(), dtype=x.dtype)
                                       ).view((L, R), (0, 0))
        else:
            yv = broadcast_view(yv, (L,) + rest, f"{op}: x shape {xv.shape}")
            if yv.ndim > 2 and not _collapsible(yv):
                yv = yv.copy()
            yv = yv.view((L, R), (yv.strides[0], yv.strides[-1] if yv.ndim > 1 else 0))
        if L * R:
            grid, block = driver.launch_dims(L * R)
            es = yv.elem_strides()
            h.fn.prepared_call(grid, block, L, R, *xv.shape[:k], out.ptr, yv.ptr, es[0], es[1],
                               *[v.ptr for v in idx])
        return [out]

    return Step(run, [DEVICE, HOST if y_host else DEVICE] + [DEVICE] * (len(node.inputs) - 2),
                [DEVICE])


def _collapsible(v):
    """True when the trailing dims of v (after the first) form one strided run."""
    es = v.elem_strides()
    for j in range(1, v.ndim - 1):
        if es[j] != es[j + 1] * v.shape[j + 1]:
            return False
    return True


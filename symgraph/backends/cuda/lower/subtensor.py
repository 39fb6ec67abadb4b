"""Indexing on the GPU, and the device error word that bounds-checks indices read by kernels.

``Subtensor`` is a view (pointer offset and strides). ``IncSubtensor`` copies
x (unless inplace) and adds or copies y into a view of the region with one
elementwise kernel; their indices are host scalars, checked in Python. Advanced
indexing runs on the GPU for the form the tutorials use, integer vectors on the
leading axes (``p[T.arange(n), y]``, ``W[idx]``): a gather, and for its
gradient a scatter with ``atomicAdd``. ``set_subtensor`` on such an index is a scatter
too; where the index repeats a target, the last position wins as in NumPy (a first pass
finds the winner of each target with ``atomicMax``, so the result does not depend on the
order threads run in). Other advanced forms run on the host (``perform``, which checks).

Indices read on the device (the gather and scatter here, the class labels of
the fused softmax cross-entropy in ``nnet.py``) are checked like the reference:
an advanced index ``v`` on an axis of size ``n`` is legal for ``-n <= v < n``
(negative ones count from the end, as in NumPy), a class label for
``0 <= c < k``. A kernel never reads or writes outside its arrays: a bad index
skips the access (a gather writes 0, a scatter writes nothing) and is recorded
in the function's *error word*, :class:`ErrorWord`:

- four ``long long`` in device memory, allocated once per compiled function by
  the linker (so its address is the same in every CUDA-graph replay), zero
  while no error happened. Every kernel that reads an index takes its pointer
  and the *site* of its node (a number the linker gave the node, >= 1);
- the first bad index wins (``atomicCAS`` on word 0): word 0 becomes
  ``site * 256 + axis``, then the winning thread writes the index value, the
  size it was checked against and its position in the index vector;
- the linker reads the word once per call, after the GPU work of the call and
  before outputs are copied out or updates committed (one 32-byte copy to the
  host, which waits for the GPU: functions with index sites pay that
  synchronisation even with ``keep_outputs_on_gpu``). A set word is cleared
  and raised as IndexError with the reference's wording (op, value, axis size)
  and the node description of ``reraise_with_node`` (the user's line).

How updates of shared variables are kept whole when the check fails is the
linker's part (``linker.py``): no node overwrites a shared variable's buffer
during the call, and the write-backs of a replayed CUDA graph are guarded by
the word (:func:`render_guarded_copy`).
"""
from __future__ import annotations

import numpy as np

from ....ops import scalar as ps
from ....ops.subtensor import (AdvancedIncSubtensor, AdvancedSubtensor, IncSubtensor, Subtensor,
                              build_index)
from ...errors import reraise_with_node
from ..dialect import DIALECT, KERNEL_NAME, grid_loop, render_kernel
from .elemwise import (ElemwiseLaunch, arg_format, register_copy, render_elemwise, scalar_kind,
                       supported_dtype)
from ..lowering import DEVICE, HOST, Step, register
from ..memory import DeviceArray
from .. import driver
from ..memory import empty


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
                   render_elemwise(KERNEL_NAME, sop, dts, kinds, kn, [x.dtype]),
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


_INT64 = np.dtype("int64")
ERROR_WORDS = 4         # long longs in the error word: code, value, size, position
SITE_SHIFT = 256        # code = site * SITE_SHIFT + axis


def render_error_helper(name=KERNEL_NAME):
    """``name_bad_index(err, site, axis, position, value, size)``: record a bad index in the
    error word unless an earlier one is there (a ``__device__`` helper of the kernel ``name``)."""
    d = DIALECT
    return "\n".join([
        f"{d.helper_prefix} void {name}_bad_index(long long* err, const int site, const int axis, "
        "const long long pos, const long long value, const long long size)",
        "{",
        "  const unsigned long long code = (unsigned long long)site * "
        f"{SITE_SHIFT}ULL + (unsigned long long)axis;",
        "  if (atomicCAS((unsigned long long*)err, 0ULL, code) == 0ULL) {",
        "    err[1] = value; err[2] = size; err[3] = pos;",
        "  }",
        "}", ""])


ERROR_PARAMS = ["long long* err", "const int site"]     # the last two arguments ("Pi")


def _target_lines(k, report):
    """Statements computing ``off``, the flat index of the target row ``(v0, .., v{k-1})`` of
    index position ``row`` over the indexed sizes ``d0..``, and ``ok``, false when an index
    is outside ``[-d, d)`` (recorded in the error word by the thread where ``report`` holds)."""
    lines = ["    long long off = 0; bool ok = true;"]
    for j in range(k):
        lines += [f"    {{ const long long v0 = (long long)idx{j}[row];",
                  f"      const long long v = v0 < 0 ? v0 + d{j} : v0;",
                  f"      if (v < 0 || v >= d{j}) {{",
                  "        ok = false;"]
        if report:
            lines.append(f"        if ({report}) ${{name}}_bad_index(err, site, {j}, row, v0, d{j});")
        lines += ["      }",
                  f"      off = off * d{j} + v; }}"]
    return lines


def render_gather(dtype, idx_dtypes, scatter=None):
    """``<name>(L, R, d0..dk-1 (indexed sizes), x, out, idx0.., err, site)``: out[i, r] =
    x[idx0[i], .., r] (x C-contiguous, R = trailing size). ``scatter='inc'``:
    ``<name>(L, R, d.., x, y, ys_i, ys_r, idx.., err, site)``, x[...] += y[i, r] instead
    (``atomicAdd``: repeated targets sum). ``scatter='set'``: ``<name>(L, R, d.., x, y, ys_i,
    ys_r, win, idx.., err, site)``, x[...] = y[i, r] where ``win`` (one entry per row of x's
    indexed dims, from :func:`render_scatter_winner`) names this position ``i`` as the last
    one with that target: NumPy's "last occurrence wins", whatever order threads run in.

    An index outside ``[-d, d)`` is recorded in the error word (by the thread with r == 0)
    and its element skipped: a gather writes 0 there, a scatter nothing. With R == 0 (no
    element to move) the indices are still checked, as the reference does.
    """
    d = DIALECT
    t = d.ctype(dtype)
    k = len(idx_dtypes)
    params = ["const long long L", "const long long R"]
    params += [f"const long long d{j}" for j in range(k)]
    if scatter:
        params += [f"{t}* x", f"const {t}* {d.restrict} y", "const long long ys_i",
                   "const long long ys_r"]
        if scatter == "set":
            params.append(f"const long long* {d.restrict} win")
    else:
        params += [f"const {t}* {d.restrict} x", f"{t}* {d.restrict} out"]
    params += [f"const {d.ctype(it)}* {d.restrict} idx{j}" for j, it in enumerate(idx_dtypes)]
    params += ERROR_PARAMS
    body = ["  const long long RR = R > 0 ? R : 1;",
            grid_loop("i", "L * RR"),
            "    const long long row = i / RR, r = i - row * RR;"]
    body += _target_lines(k, "r == 0")
    body += ["    if (R == 0) continue;"]
    if scatter == "set":
        body.append("    if (ok && win[off] != row) continue;      // a later position wins")
    body.append("    off = off * R + r;")
    y_at = "y[row * ys_i + r * ys_r]"
    if scatter == "inc":
        body.append(f"    if (ok) atomicAdd(x + off, {y_at});")
    elif scatter == "set":
        body.append(f"    if (ok) x[off] = {y_at};")
    else:
        body.append(f"    out[i] = ok ? x[off] : ({t})0;")
    body.append("  }")
    return render_error_helper() + render_kernel(params, body)


def render_scatter_winner(idx_dtypes):
    """``<name>(L, d0..dk-1, win, idx0.., phase)``, run with phase 0 then 1 before a
    ``set`` scatter: phase 0 sets ``win`` to -1 at every target row, phase 1 leaves there the
    largest index position ``i`` with that target (``atomicMax``). Out-of-range indices are
    skipped (the scatter reports them)."""
    d = DIALECT
    k = len(idx_dtypes)
    params = ["const long long L"] + [f"const long long d{j}" for j in range(k)]
    params += [f"long long* {d.restrict} win"]
    params += [f"const {d.ctype(it)}* {d.restrict} idx{j}" for j, it in enumerate(idx_dtypes)]
    params += ["const int phase"]
    body = [grid_loop("row", "L")] + _target_lines(k, None) + [
        "    if (!ok) continue;",
        "    if (phase == 0) win[off] = -1;",
        "    else atomicMax(win + off, row);",
        "  }"]
    return render_kernel(params, body)


def render_guarded_copy(itemsize):
    """``<name>(n, src, dst, err)``: dst[:n] = src[:n] (elements of ``itemsize`` bytes) unless
    the error word is set: the write-back of an update at the end of a CUDA graph."""
    d = DIALECT
    t = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int",
         8: "unsigned long long"}[itemsize]
    return "\n".join([
        f"{d.kernel_prefix} {KERNEL_NAME}(const long long n, const {t}* {d.restrict} src, "
        f"{t}* {d.restrict} dst, const long long* {d.restrict} err)",
        "{",
        "  if (err[0] != 0) return;",
        f"  for (long long i = {d.global_index}; i < n; i += {d.grid_stride}) dst[i] = src[i];",
        "}", ""])


class ErrorWord:
    """The device error word of one compiled function (see the module docstring).

    The linker puts one on the build context (``ctx.index_errors``). At build time,
    lowerings take a site for each node whose kernels read indices::

        site = ctx.index_errors.site(node, message)   # message(axis, value, size, pos, values)

    and their run-time step passes ``ptr`` and ``site`` as the kernels' last arguments
    (``ptr`` is read at run time: the linker allocates the buffer, :meth:`allocate`, once
    the function is planned). The linker calls :meth:`check` at the end of each call.
    """

    def __init__(self):
        self.sites = []         # site - 1 -> (node, message)
        self.buf = None
        self.ptr = 0
        self._host = np.zeros(ERROR_WORDS, dtype=np.int64)

    def site(self, node, message):
        """A new site (an int >= 1) for ``node``; ``message(axis, value, size, position,
        input values)`` words the IndexError."""
        self.sites.append((node, message))
        return len(self.sites)

    def allocate(self):
        """The device buffer (zeroed), when some kernel reports to it."""
        if self.sites and self.buf is None:
            self.buf = DeviceArray.from_host(np.zeros(ERROR_WORDS, dtype=np.int64))
            self.ptr = self.buf.ptr

    def read(self):
        """The word (an int64 array) when set, after clearing it on the device; else None.
        A synchronous copy: it waits for the GPU work queued so far."""
        drv = driver.cuda()
        drv.memcpy_dtoh(self._host, self.ptr)
        if not self._host[0]:
            return None
        word = self._host.copy()
        drv.memcpy_htod(self.ptr, np.zeros(ERROR_WORDS, dtype=np.int64))
        return word

    def error(self, word, values_of):
        """``(node, IndexError, input values)`` for a set ``word``; ``values_of(node)``
        gives the node's input values (for their shapes)."""
        site, axis = divmod(int(word[0]), SITE_SHIFT)
        if not 1 <= site <= len(self.sites):
            raise RuntimeError(f"CUDA error word holds an unknown site {site} ({list(word)})")
        node, message = self.sites[site - 1]
        values = values_of(node)
        return node, IndexError(message(axis, int(word[1]), int(word[2]), int(word[3]), values)), \
            values

    def check(self, values_of):
        """Raise the recorded IndexError (naming the node and where it was built), if any."""
        if not self.sites:
            return
        word = self.read()
        if word is not None:
            node, exc, values = self.error(word, values_of)
            reraise_with_node(exc, node, values)


def _adv_message(op):
    """The reference's wording (``ops.subtensor._check_adv``) of a bad advanced index."""
    def message(axis, value, size, pos, values):
        shape = getattr(values[0], "shape", None) if values else None
        return (f"{op}: index {value} is out of bounds for axis {axis} with size {size} "
                f"(input shape {shape}; entry {pos} of the index)")
    return message


@register(AdvancedSubtensor)
def lower_advanced_subtensor(node, ctx):
    x = node.inputs[0]
    k = _leading_vectors(node, 1)
    if not k or ctx.place(x) != DEVICE or not supported_dtype(x.dtype):
        return None
    idx_dtypes = [v.dtype for v in node.inputs[1:]]
    h = ctx.kernel(f"gather_{x.dtype}_{k}", render_gather(x.dtype, idx_dtypes),
                   "qq" + "q" * k + "PP" + "P" * k + "Pi")
    errors = ctx.index_errors
    site = errors.site(node, _adv_message(node.op))

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
        # (with R == 0 too: the indices are checked)
        driver.launch(h.fn, L * max(R, 1), L, R, *xv.shape[:k], xv.ptr, out.ptr,
                      *[v.ptr for v in idx], errors.ptr, site)
        return [out]

    return Step(run, [DEVICE] * len(node.inputs), [DEVICE])


@register(AdvancedIncSubtensor)
def lower_advanced_inc_subtensor(node, ctx):
    x, y = node.inputs[:2]
    k = _leading_vectors(node, 2)
    op = node.op
    if not k or ctx.place(x) != DEVICE or x.dtype not in ("float32", "float64"):
        return None
    idx_dtypes = [v.dtype for v in node.inputs[2:]]
    mode = "set" if op.set_instead_of_inc else "inc"
    h = ctx.kernel(f"scatter_{mode}_{x.dtype}_{k}", render_gather(x.dtype, idx_dtypes, mode),
                   "qq" + "q" * k + "PPqq" + "P" * (mode == "set") + "P" * k + "Pi")
    if mode == "set":
        h_win = ctx.kernel(f"scatter_winner_{k}", render_scatter_winner(idx_dtypes),
                           "q" + "q" * k + "P" + "P" * k + "i")
    y_host = scalar_kind(y, ctx) == "scalar"
    errors = ctx.index_errors
    site = errors.site(node, _adv_message(op))

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
        if not L:
            return [out]
        dims, idx_ptrs = xv.shape[:k], [v.ptr for v in idx]
        win = []
        if mode == "set":       # the position that writes each target row: the last one
            rows = empty((int(np.prod(dims, dtype=np.int64)) if R else 0,), _INT64)
            if R:
                for phase in (0, 1):
                    driver.launch(h_win.fn, L, L, *dims, rows.ptr, *idx_ptrs, phase)
            win = [rows.ptr]
        es = yv.elem_strides()
        # (with R == 0 too: the indices are checked)
        driver.launch(h.fn, L * max(R, 1), L, R, *dims, out.ptr, yv.ptr, es[0], es[1], *win,
                      *idx_ptrs, errors.ptr, site)
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


"""2-D pooling over the last two axes: ``Pool`` and its gradient ops.

Modes: 'max', 'sum', 'average_inc_pad' (divide by the window size counted in
the padded image) and 'average_exc_pad' (divide by the number of real
elements in the window). Max pooling ignores the padding (as Theano's C code
and cuDNN do). Per pooled axis, with ``v = size + 2 * pad``::

    ignore_border=True:            max(0, (v - ws) // st + 1)
    ignore_border=False, st >= ws: (v - 1) // st + 1
    ignore_border=False, st < ws:  max(0, (v - 1 - ws + st) // st) + 1

``ignore_border=False`` pools the partial windows at the border.

``perform`` loops over the ws[0] * ws[1] window offsets; each step is one
vectorised NumPy operation on a strided view of the whole batch.
``MaxPoolGrad`` routes the gradient of a window to every position equal to
its maximum (ties all receive it, as Theano's MaxPoolGrad); ``MaxPoolGradGrad``
(Theano's DownsampleFactorMaxGradGrad) is its exact adjoint, so second
derivatives of max pooling work.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .elemwise import as_tensor, maximum, zeros_like
from .type import TensorType

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


class PoolParameterError(ValueError, NotImplementedError):
    """Invalid pooling parameters (a ValueError; also a NotImplementedError, as Theano raised)."""


def pool_out_len(size, ws, st, pad, ignore_border):
    """Pooled length along one axis; ``size`` may be an int or a symbolic scalar."""
    v = size + 2 * pad
    if ignore_border:
        return _max0((v - ws) // st + 1)
    if st >= ws:
        return (v - 1) // st + 1
    return _max0((v - 1 - ws + st) // st) + 1


def _max0(v):
    if isinstance(v, (int, np.integer)):
        return max(0, int(v))
    return maximum(v, 0)


def check_pool_params(ws, stride, pad, ignore_border, mode):
    """Validated (ws, stride, pad, ignore_border, mode) as int pairs / bool / str."""
    def pair(v, what, low):
        try:
            v = tuple(int(x) for x in v)
        except TypeError:
            raise PoolParameterError(f"pool_2d: {what} must be a pair of ints, got {v!r}") from None
        if len(v) != 2 or min(v) < low:
            raise PoolParameterError(f"pool_2d: {what} must be a pair of ints >= {low}, got {v}")
        return v
    if mode == "max_deterministic":
        mode = "max"
    if mode not in MODES:
        raise PoolParameterError(f"pool_2d: mode must be one of {MODES}, got {mode!r}")
    ws = pair(ws, "ws (ds)", 1)
    stride = ws if stride is None else pair(stride, "stride (st)", 1)
    pad = pair(pad, "pad (padding)", 0)
    if pad != (0, 0):
        if not ignore_border:
            raise PoolParameterError(f"pool_2d: padding {pad} needs ignore_border=True")
        if pad[0] >= ws[0] or pad[1] >= ws[1]:
            raise PoolParameterError(f"pool_2d: padding {pad} must be smaller than the window "
                                     f"{ws} in each dimension")
    return ws, stride, pad, bool(ignore_border), mode


class _PoolBase(Op):
    __props__ = ("ws", "stride", "pad", "ignore_border", "mode")

    def __init__(self, ws, stride=None, pad=(0, 0), ignore_border=False, mode="max"):
        (self.ws, self.stride, self.pad, self.ignore_border,
         self.mode) = check_pool_params(ws, stride, pad, ignore_border, mode)

    def __str__(self):
        props = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__
                          if getattr(self, p) is not None)
        return f"{type(self).__name__}{{{props}}}"

    def _params(self):
        return dict(ws=self.ws, stride=self.stride, pad=self.pad,
                    ignore_border=self.ignore_border, mode=self.mode)

    def _input(self, x, what="input"):
        x = as_tensor(x)
        if x.ndim < 2:
            raise TypeError(f"{self}: the {what} must have at least 2 dimensions, got {x.type}")
        return x

    # -- geometry of one call
    def out_hw(self, hw):
        return tuple(pool_out_len(s, w, t, p, self.ignore_border)
                     for s, w, t, p in zip(hw, self.ws, self.stride, self.pad))

    def _padded_hw(self, hw, out_hw):
        """Spatial size holding the padded image and every (partial) window."""
        return tuple(max(s + 2 * p, (o - 1) * t + k) for s, p, o, t, k in
                     zip(hw, self.pad, out_hw, self.stride, self.ws))

    def _padded(self, x, out_hw, fill):
        """x with the padding and the room the partial border windows need, set to ``fill``."""
        (ph, pw), (h, w) = self.pad, x.shape[-2:]
        need = self._padded_hw((h, w), out_hw)
        if need == (h, w):
            return x
        buf = np.full(x.shape[:-2] + need, fill, dtype=x.dtype)
        buf[..., ph:ph + h, pw:pw + w] = x
        return buf

    def _windows(self, out_hw):
        """(i, j, index) for each window offset; ``buf[index]`` is (..., oh, ow)."""
        (oh, ow), (sh, sw) = out_hw, self.stride
        for i in range(self.ws[0]):
            for j in range(self.ws[1]):
                # max(..., i): an empty output (oh == 0) must not give a negative stop,
                # which would count from the end
                yield (Ellipsis, slice(i, max(i + sh * (oh - 1) + 1, i), sh),
                       slice(j, max(j + sw * (ow - 1) + 1, j), sw))

    def _counts(self, hw, out_hw, dtype):
        """Divisor of each window for the average modes, shape (oh, ow)."""
        per_axis = []
        for s, k, t, p, o in zip(hw, self.ws, self.stride, self.pad, out_hw):
            start = np.arange(o) * t - p
            lo, hi = (-p, s + p) if self.mode == "average_inc_pad" else (0, s)
            per_axis.append(np.minimum(start + k, hi) - np.maximum(start, lo))
        return np.multiply.outer(*per_axis).astype(dtype)

    def _crop(self, g, hw):
        (ph, pw), (h, w) = self.pad, hw
        return np.ascontiguousarray(g[..., ph:ph + h, pw:pw + w])


def _lowest(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


class Pool(_PoolBase):
    """``Pool(ws, stride, pad, ignore_border, mode)(x)``: pool the last two axes of x."""

    def make_node(self, x):
        x = self._input(x)
        return Apply(self, [x], [TensorType(x.dtype, x.broadcastable[:-2] + (False, False))()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        out_hw = self.out_hw(x.shape[-2:])
        is_max = self.mode == "max"
        buf = self._padded(x, out_hw, _lowest(x.dtype) if is_max else 0)
        acc = None
        for idx in self._windows(out_hw):
            v = buf[idx]
            if acc is None:
                acc = v.copy()
            elif is_max:
                np.maximum(acc, v, out=acc)
            else:
                np.add(acc, v, out=acc)
        if self.mode.startswith("average"):
            acc = acc / self._counts(x.shape[-2:], out_hw, np.float64 if acc.dtype.kind != "f"
                                     else acc.dtype)
        output_storage[0][0] = np.asarray(acc, dtype=x.dtype)

    def L_op(self, inputs, outputs, output_grads):
        (x,), (out,), (gz,) = inputs, outputs, output_grads
        if not x.type.is_float:
            return [None]
        if self.mode == "max":
            return [MaxPoolGrad(**self._params())(x, out, gz)]
        return [AveragePoolGrad(**self._params())(x, gz)]

    def infer_shape(self, node, shapes):
        (shp,) = shapes
        return [tuple(shp[:-2]) + self.out_hw(shp[-2:])]

    @staticmethod
    def out_shape(imgshape, ws=None, ignore_border=False, stride=None, pad=None, ndim=2):
        """Theano's ``Pool.out_shape``: the pooled shape of an input of shape ``imgshape``."""
        stride = ws if stride is None else stride
        pad = (0, 0) if pad is None else pad
        imgshape = tuple(imgshape)
        return imgshape[:-2] + tuple(pool_out_len(s, w, t, p, ignore_border)
                                     for s, w, t, p in zip(imgshape[-2:], ws, stride, pad))


class MaxPoolGrad(_PoolBase):
    """``MaxPoolGrad(...)(x, maxout, gz)``: gradient of max pooling wrt x.

    Every input position equal to its window's maximum receives that window's
    gradient (ties all receive it, overlapping windows accumulate).
    """

    def make_node(self, x, maxout, gz):
        x, maxout, gz = self._input(x), self._input(maxout, "max"), self._input(gz, "gradient")
        if not x.ndim == maxout.ndim == gz.ndim:
            raise TypeError(f"{self}: x, maxout and gz need the same ndim, got "
                            f"{x.type}, {maxout.type}, {gz.type}")
        return Apply(self, [x, maxout, gz], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, maxout, gz = inputs
        out_hw = self.out_hw(x.shape[-2:])
        _check_pooled(self, maxout, gz, x.shape[:-2] + out_hw)
        buf = self._padded(x, out_hw, _lowest(x.dtype))
        gbuf = np.zeros(buf.shape, dtype=node.outputs[0].dtype)
        for idx in self._windows(out_hw):
            gbuf[idx] += np.where(buf[idx] == maxout, gz, 0)
        output_storage[0][0] = self._crop(gbuf, x.shape[-2:])

    def grad(self, inputs, output_grads):
        x, maxout, _ = inputs
        (ggx,) = output_grads
        return [zeros_like(x), zeros_like(maxout), MaxPoolGradGrad(**self._params())(x, maxout, ggx)]

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class MaxPoolGradGrad(_PoolBase):
    """``MaxPoolGradGrad(...)(x, maxout, ggx)``: the adjoint of MaxPoolGrad wrt gz.

    Each window takes the sum of ``ggx`` over its positions equal to the max
    (Theano's DownsampleFactorMaxGradGrad). Output shape: that of ``maxout``.
    """

    def make_node(self, x, maxout, ggx):
        x, maxout, ggx = self._input(x), self._input(maxout, "max"), self._input(ggx, "gradient")
        return Apply(self, [x, maxout, ggx], [maxout.type()])

    def perform(self, node, inputs, output_storage):
        x, maxout, ggx = inputs
        out_hw = self.out_hw(x.shape[-2:])
        _check_pooled(self, maxout, maxout, x.shape[:-2] + out_hw)
        buf = self._padded(x, out_hw, _lowest(x.dtype))
        ggbuf = self._padded(ggx, out_hw, 0)
        acc = np.zeros(maxout.shape, dtype=node.outputs[0].dtype)
        for idx in self._windows(out_hw):
            acc += np.where(buf[idx] == maxout, ggbuf[idx], 0)
        output_storage[0][0] = acc

    def grad(self, inputs, output_grads):
        x, maxout, _ = inputs
        (g,) = output_grads
        return [zeros_like(x), zeros_like(maxout), MaxPoolGrad(**self._params())(x, maxout, g)]

    def infer_shape(self, node, shapes):
        return [shapes[1]]


class AveragePoolGrad(_PoolBase):
    """``AveragePoolGrad(...)(x, gz)``: gradient of sum/average pooling wrt x."""

    def make_node(self, x, gz):
        x, gz = self._input(x), self._input(gz, "gradient")
        if self.mode == "max":
            raise ValueError(f"{self}: use MaxPoolGrad for max pooling")
        return Apply(self, [x, gz], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, gz = inputs
        out_hw = self.out_hw(x.shape[-2:])
        _check_pooled(self, gz, gz, x.shape[:-2] + out_hw)
        dtype = node.outputs[0].dtype
        if self.mode != "sum":
            gz = gz / self._counts(x.shape[-2:], out_hw, dtype)
        gbuf = np.zeros(x.shape[:-2] + self._padded_hw(x.shape[-2:], out_hw), dtype=dtype)
        for idx in self._windows(out_hw):
            gbuf[idx] += gz
        output_storage[0][0] = self._crop(gbuf, x.shape[-2:])

    def grad(self, inputs, output_grads):
        x, _ = inputs
        (ggx,) = output_grads
        return [zeros_like(x), Pool(**self._params())(ggx)]

    def infer_shape(self, node, shapes):
        return [shapes[0]]


def _check_pooled(op, a, b, expected):
    for v in (a, b):
        if v.shape != tuple(expected):
            raise ValueError(f"{op}: pooled tensors must have shape {tuple(expected)} for this "
                             f"input, got {v.shape}")


# ---------------------------------------------------------------- user API

def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max",
            ds=None, st=None, padding=None):
    """``pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode='max')``

    Pool the last two axes of ``input`` (any ndim >= 2) with windows ``ws``
    moved by ``stride`` (default ``ws``) over the image zero-padded by ``pad``.
    ``ds``, ``st`` and ``padding`` are the old names of ``ws``, ``stride``
    and ``pad``. ``ignore_border=None`` means False with a warning (Theano 1.0).

    >>> x = T.dtensor4('x')
    >>> y = pool_2d(x, ws=(2, 2), ignore_border=True)   # (n, c, h // 2, w // 2)
    """
    import warnings
    ws = _renamed(ws, ds, "ws", "ds")
    stride = _renamed(stride, st, "stride", "st")
    if padding is not None:
        if tuple(pad) != (0, 0):
            raise ValueError("pool_2d: pass pad or its old name padding, not both")
        pad = padding
    if ws is None:
        raise ValueError("pool_2d: the window size ws is required")
    if ignore_border is None:
        warnings.warn("pool_2d: ignore_border=None defaults to False; pass ignore_border=True "
                      "(the faster, cuDNN-compatible choice) or False explicitly", stacklevel=3)
        ignore_border = False
    return Pool(ws, stride, pad, ignore_border, mode)(input)


def _renamed(new, old, new_name, old_name):
    if old is None:
        return new
    if new is not None:
        raise ValueError(f"pool_2d: pass {new_name} or its old name {old_name}, not both")
    return old


# ---------------------------------------------------------------- legacy interface (theano.tensor.signal.downsample)

def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
    """``max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode='max')``:
    the old name of ``pool.pool_2d(input, ws=ds, ignore_border, stride=st, pad=padding, mode)``.

    >>> from symgraph.tensor.signal import downsample
    >>> y = downsample.max_pool_2d(x, (2, 2), ignore_border=False)   # 5x5 -> 3x3
    """
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)


__all__ = ["max_pool_2d", "Pool", "MaxPoolGrad", "MaxPoolGradGrad", "AveragePoolGrad", "pool_2d",
           "pool_out_len", "check_pool_params", "PoolParameterError", "MODES"]

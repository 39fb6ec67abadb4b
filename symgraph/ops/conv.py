"""2-D convolution: ``Conv2d`` and its two gradient ops (Theano's CorrMM design).

Images are NCHW, filters OIHW. Each op computes a cross-correlation of the
zero-padded image with the (optionally flipped, optionally dilated) filters,
subsampled by ``subsample``; ``filter_flip=True`` flips the filters first,
which makes it a true convolution (Theano's default).

Per spatial axis, with ``span = (k - 1) * dilation + 1``::

    out = (in + 2 * pad - span) // stride + 1
    pad = 0 ('valid'), span - 1 ('full'), span // 2 ('half') or the given int

``Conv2dGradInputs(kern, topgrad, (H, W))`` and ``Conv2dGradWeights(img,
topgrad, (kh, kw))`` take the spatial shape they must produce as a symbolic
int vector (with a stride, several input sizes give the same output size).
The three ops are bilinear and their gradients are expressed with each other,
so second derivatives work.

``perform`` uses im2col: a strided view of the padded image with one axis per
filter tap, contracted with the filters by one BLAS matrix product.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..graph import Apply, Op, Variable
from . import shape as sh
from .elemwise import as_tensor, as_tensor_variable, patternbroadcast
from .shape import reshape
from .type import TensorType, upcast, INT_DTYPES

_MODES = ("full", "half")


def normalize_border_mode(border_mode, kshape=None, dilation=(1, 1)):
    """'valid' | 'full' | 'half' | int | (int, int) -> (ph, pw), or 'full'/'half'
    when the filter size (``kshape``, two entries or None) is not known yet."""
    if isinstance(border_mode, str):
        if border_mode == "valid":
            return (0, 0)
        if border_mode not in _MODES:
            raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or "
                             f"a pair of ints, got {border_mode!r}")
        if kshape is not None and None not in kshape:
            return tuple(int(p) for p in pads_for(border_mode, kshape, dilation))
        return border_mode
    if isinstance(border_mode, (int, np.integer)):
        border_mode = (border_mode, border_mode)
    try:
        pads = tuple(int(p) for p in border_mode)
    except TypeError:
        pads = ()
    if len(pads) != 2 or min(pads) < 0:
        raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or a pair "
                         f"of non-negative ints, got {border_mode!r}")
    return pads


def pads_for(border_mode, kshape, dilation):
    """Padding per spatial axis; works on ints and on symbolic sizes."""
    if border_mode == "full":
        return tuple((k - 1) * d for k, d in zip(kshape, dilation))
    if border_mode == "half":
        return tuple(((k - 1) * d + 1) // 2 for k, d in zip(kshape, dilation))
    return tuple(border_mode)


def conv_out_len(size, k, pad, stride, dilation):
    """Output length along one axis (ints or symbolic scalars)."""
    return (size + 2 * pad - ((k - 1) * dilation + 1)) // stride + 1


def _pair(v, what):
    if isinstance(v, (int, np.integer)):
        v = (v, v)
    v = tuple(int(x) for x in v)
    if len(v) != 2 or min(v) < 1:
        raise ValueError(f"conv2d: {what} must be a pair of positive ints, got {v}")
    return v


# ---------------------------------------------------------------- NumPy kernels

def _pad(img, pads):
    ph, pw = pads
    if ph == 0 and pw == 0:
        return img
    return np.pad(img, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _patches(xp, kshape, stride, dilation, out_hw):
    """Read-only view (N, C, oh, ow, kh, kw) of the padded image: im2col without a copy."""
    n, c = xp.shape[:2]
    s = xp.strides
    shape = (n, c) + tuple(out_hw) + tuple(kshape)
    strides = (s[0], s[1], s[2] * stride[0], s[3] * stride[1],
               s[2] * dilation[0], s[3] * dilation[1])
    return as_strided(xp, shape, strides, writeable=False)


def _geometry(op, in_hw, kshape, what):
    pads = pads_for(op.border_mode, kshape, op.filter_dilation)
    out = tuple(conv_out_len(i, k, p, s, d) for i, k, p, s, d in
                zip(in_hw, kshape, pads, op.subsample, op.filter_dilation))
    if min(out) < 1:
        raise ValueError(f"{what}: the filter (spatial shape {tuple(kshape)}, dilation "
                         f"{op.filter_dilation}) does not fit the padded image (spatial shape "
                         f"{tuple(in_hw)}, padding {pads})")
    return pads, out


def _check_topgrad(op, topgrad, out_hw, in_hw):
    if tuple(topgrad.shape[2:]) != tuple(out_hw):
        raise ValueError(f"{op}: output gradient has spatial shape {topgrad.shape[2:]} but an "
                         f"image of spatial shape {tuple(in_hw)} gives {tuple(out_hw)}")


def _tensordot(a, b, axes):
    """``np.tensordot``, except that a contraction over a single element multiplies directly:
    np.dot hands that case to BLAS routines that skip zero factors (0 * inf would give 0, not NaN)."""
    if all(a.shape[i] == 1 for i in axes[0]):
        pick = lambda x, ax: x[tuple(0 if i in ax else slice(None) for i in range(x.ndim))]  # noqa: E731
        return np.multiply.outer(pick(a, axes[0]), pick(b, axes[1]))
    return np.tensordot(a, b, axes=axes)


def corr2d(img, kern, op):
    """Forward: (N, C, H, W) x (O, C, kh, kw) -> (N, O, oh, ow)."""
    if op.filter_flip:
        kern = kern[:, :, ::-1, ::-1]
    pads, out_hw = _geometry(op, img.shape[2:], kern.shape[2:], "conv2d")
    cols = _patches(_pad(img, pads), kern.shape[2:], op.subsample, op.filter_dilation, out_hw)
    out = _tensordot(cols, kern, axes=([1, 4, 5], [1, 2, 3]))     # (N, oh, ow, O)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def corr2d_grad_inputs(kern, topgrad, in_hw, op):
    """Gradient of ``corr2d`` wrt the image: scatter (col2im) of kern^T . topgrad."""
    if op.filter_flip:
        kern = kern[:, :, ::-1, ::-1]
    (ph, pw), out_hw = _geometry(op, in_hw, kern.shape[2:], str(op))
    _check_topgrad(op, topgrad, out_hw, in_hw)
    n, c = topgrad.shape[0], kern.shape[1]
    kh, kw = kern.shape[2:]
    (sh_, sw), (dh, dw) = op.subsample, op.filter_dilation
    oh, ow = out_hw
    cols = _tensordot(kern, topgrad, axes=([0], [1]))             # (C, kh, kw, N, oh, ow)
    gxp = np.zeros((c, n, in_hw[0] + 2 * ph, in_hw[1] + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh_ * (oh - 1) + 1, sh_)
        for j in range(kw):
            gxp[:, :, rows, j * dw: j * dw + sw * (ow - 1) + 1: sw] += cols[:, i, j]
    gx = gxp[:, :, ph:ph + in_hw[0], pw:pw + in_hw[1]].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(gx)


def corr2d_grad_weights(img, topgrad, kshape, op):
    """Gradient of ``corr2d`` wrt the filters: topgrad . im2col(image)."""
    pads, out_hw = _geometry(op, img.shape[2:], kshape, str(op))
    _check_topgrad(op, topgrad, out_hw, img.shape[2:])
    cols = _patches(_pad(img, pads), kshape, op.subsample, op.filter_dilation, out_hw)
    gk = _tensordot(topgrad, cols, axes=([0, 2, 3], [0, 2, 3]))    # (O, C, kh, kw)
    if op.filter_flip:
        gk = gk[:, :, ::-1, ::-1]
    return np.ascontiguousarray(gk)


# ---------------------------------------------------------------- the ops

class _ConvBase(Op):
    """Shared parameters and checks of the three convolution ops."""

    def __init__(self, border_mode="valid", subsample=(1, 1), filter_flip=True,
                 filter_dilation=(1, 1)):
        self.filter_dilation = _pair(filter_dilation, "filter_dilation")
        self.border_mode = normalize_border_mode(border_mode)
        self.subsample = _pair(subsample, "subsample")
        self.filter_flip = bool(filter_flip)

    def __str__(self):
        props = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__
                          if getattr(self, p) is not None)
        return f"{type(self).__name__}{{{props}}}"

    def _params(self):
        return dict(border_mode=self.border_mode, subsample=self.subsample,
                    filter_flip=self.filter_flip, filter_dilation=self.filter_dilation)

    def _tensor4(self, v, what):
        v = as_tensor(v)
        if v.ndim != 4:
            raise TypeError(f"{self}: {what} must be a 4-d tensor, got {v.type}")
        return v

    def _shape2(self, shp, what):
        if not isinstance(shp, Variable):
            shp = sh.shape_vector(list(shp))
        shp = as_tensor(shp)
        if shp.ndim != 1 or shp.dtype not in INT_DTYPES:
            raise TypeError(f"{self}: {what} must be an integer vector of 2 entries, "
                            f"got {shp.type}")
        return shp

    def _grad_ops(self):
        p = self._params()
        return Conv2d(**p), Conv2dGradInputs(**p), Conv2dGradWeights(**p)

    def _out_hw(self, in_hw, kshape):
        pads = pads_for(self.border_mode, kshape, self.filter_dilation)
        return tuple(conv_out_len(i, k, p, s, d) for i, k, p, s, d in
                     zip(in_hw, kshape, pads, self.subsample, self.filter_dilation))


def _shape_checked(what, declared, actual, param):
    if declared is not None and any(d is not None and d != a for d, a in zip(declared, actual)):
        raise ValueError(f"conv2d: the {what} has shape {tuple(actual)} but {param}="
                         f"{tuple(declared)} was declared (None = any)")


class Conv2d(_ConvBase):
    """``Conv2d(border_mode, subsample, filter_flip, filter_dilation, imshp, kshp)(img, kern)``.

    ``border_mode`` is a pair of paddings, or 'full'/'half' when the filter
    size was unknown at graph construction. ``imshp``/``kshp`` are the shapes
    the user declared (None entries are free); they are checked at run time.
    """

    __props__ = ("border_mode", "subsample", "filter_flip", "filter_dilation", "imshp", "kshp")

    def __init__(self, border_mode="valid", subsample=(1, 1), filter_flip=True,
                 filter_dilation=(1, 1), imshp=None, kshp=None):
        super().__init__(border_mode, subsample, filter_flip, filter_dilation)
        self.imshp = None if imshp is None else tuple(imshp)
        self.kshp = None if kshp is None else tuple(kshp)

    def make_node(self, img, kern):
        img, kern = self._tensor4(img, "the input"), self._tensor4(kern, "the filters")
        dtype = upcast(img.dtype, kern.dtype)
        bcast = (img.broadcastable[0], kern.broadcastable[0], False, False)
        return Apply(self, [img, kern], [TensorType(dtype, bcast)()])

    def perform(self, node, inputs, output_storage):
        img, kern = inputs
        _shape_checked("input", self.imshp, img.shape, "input_shape (image_shape)")
        _shape_checked("filters", self.kshp, kern.shape, "filter_shape")
        if img.shape[1] != kern.shape[1]:
            raise ValueError(f"conv2d: the input has {img.shape[1]} channels (shape {img.shape}) "
                             f"but the filters expect {kern.shape[1]} (filter shape {kern.shape})")
        dtype = node.outputs[0].dtype
        output_storage[0][0] = corr2d(img.astype(dtype, copy=False),
                                      kern.astype(dtype, copy=False), self).astype(dtype, copy=False)

    def L_op(self, inputs, outputs, output_grads):
        img, kern = inputs
        (gz,) = output_grads
        _, grad_inputs, grad_weights = self._grad_ops()
        gi = grad_inputs(kern, gz, img.shape[2:])
        gk = grad_weights(img, gz, kern.shape[2:])
        return [patternbroadcast(gi, img.broadcastable) if img.type.is_float else None,
                patternbroadcast(gk, kern.broadcastable) if kern.type.is_float else None]

    def infer_shape(self, node, shapes):
        ishp, kshp = shapes
        return [(ishp[0], kshp[0]) + self._out_hw(ishp[2:], kshp[2:])]


class Conv2dGradInputs(_ConvBase):
    """Gradient of ``Conv2d`` wrt its image: ``(kern, topgrad, (H, W)) -> (N, C, H, W)``."""

    __props__ = ("border_mode", "subsample", "filter_flip", "filter_dilation")

    def make_node(self, kern, topgrad, shape):
        kern = self._tensor4(kern, "the filters")
        topgrad = self._tensor4(topgrad, "the output gradient")
        shape = self._shape2(shape, "the image shape")
        dtype = upcast(kern.dtype, topgrad.dtype)
        bcast = (topgrad.broadcastable[0], kern.broadcastable[1], False, False)
        return Apply(self, [kern, topgrad, shape], [TensorType(dtype, bcast)()])

    def perform(self, node, inputs, output_storage):
        kern, topgrad, shape = inputs
        if len(shape) != 2:
            raise ValueError(f"{self}: the image shape must have 2 entries, got {tuple(shape)}")
        if kern.shape[0] != topgrad.shape[1]:
            raise ValueError(f"{self}: filters of shape {kern.shape} do not match an output "
                             f"gradient of shape {topgrad.shape}")
        dtype = node.outputs[0].dtype
        out = corr2d_grad_inputs(kern.astype(dtype, copy=False), topgrad.astype(dtype, copy=False),
                                 tuple(int(s) for s in shape), self)
        output_storage[0][0] = out.astype(dtype, copy=False)

    def L_op(self, inputs, outputs, output_grads):
        kern, topgrad, _ = inputs
        (ggi,) = output_grads
        conv, _, grad_weights = self._grad_ops()
        return [grad_weights(ggi, topgrad, kern.shape[2:]), conv(ggi, kern), None]

    def infer_shape(self, node, shapes):
        kern, topgrad, shape = node.inputs
        return [(shapes[1][0], shapes[0][1], shape[0], shape[1])]


class Conv2dGradWeights(_ConvBase):
    """Gradient of ``Conv2d`` wrt its filters: ``(img, topgrad, (kh, kw)) -> (O, C, kh, kw)``."""

    __props__ = ("border_mode", "subsample", "filter_flip", "filter_dilation")

    def make_node(self, img, topgrad, shape):
        img = self._tensor4(img, "the input")
        topgrad = self._tensor4(topgrad, "the output gradient")
        shape = self._shape2(shape, "the filter shape")
        dtype = upcast(img.dtype, topgrad.dtype)
        bcast = (topgrad.broadcastable[1], img.broadcastable[1], False, False)
        return Apply(self, [img, topgrad, shape], [TensorType(dtype, bcast)()])

    def perform(self, node, inputs, output_storage):
        img, topgrad, shape = inputs
        if len(shape) != 2:
            raise ValueError(f"{self}: the filter shape must have 2 entries, got {tuple(shape)}")
        if img.shape[0] != topgrad.shape[0]:
            raise ValueError(f"{self}: an input of shape {img.shape} does not match an output "
                             f"gradient of shape {topgrad.shape}")
        dtype = node.outputs[0].dtype
        out = corr2d_grad_weights(img.astype(dtype, copy=False), topgrad.astype(dtype, copy=False),
                                  tuple(int(s) for s in shape), self)
        output_storage[0][0] = out.astype(dtype, copy=False)

    def L_op(self, inputs, outputs, output_grads):
        img, topgrad, _ = inputs
        (ggk,) = output_grads
        conv, grad_inputs, _ = self._grad_ops()
        return [grad_inputs(ggk, topgrad, img.shape[2:]), conv(img, ggk), None]

    def infer_shape(self, node, shapes):
        img, topgrad, shape = node.inputs
        return [(shapes[1][1], shapes[0][1], shape[0], shape[1])]


# ---------------------------------------------------------------- user API

def _declared_shape(shape, what):
    """A declared 4-entry shape as a tuple of int/None (symbolic entries count as None)."""
    if shape is None:
        return None
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(f"conv2d: {what} must have 4 entries, got {shape}")
    out = []
    for s in shape:
        if s is None or isinstance(s, Variable):
            out.append(None)
        else:
            s = int(s)
            if s < 0:
                raise ValueError(f"conv2d: {what} has a negative entry: {shape}")
            out.append(s)
    return tuple(out)


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), filter_flip=True, image_shape=None, filter_dilation=(1, 1),
           num_groups=1, unshared=False, **kwargs):
    """``conv2d(input, filters, input_shape=None, filter_shape=None, border_mode='valid',
    subsample=(1, 1), filter_flip=True, image_shape=None, filter_dilation=(1, 1))``

    2-D convolution of a batch of NCHW images with OIHW filters (Theano 1.0's
    ``T.nnet.conv2d``). ``border_mode`` is 'valid', 'full', 'half', an int or
    a pair of ints (zero padding). ``filter_flip=False`` computes a
    cross-correlation. ``input_shape`` (old name ``image_shape``) and
    ``filter_shape`` may hold None entries; the others are checked at run time.

    >>> x = T.tensor4('x'); w = T.tensor4('w')
    >>> y = conv2d(x, w, input_shape=(1, 1, 5, 5), filter_shape=(1, 1, 3, 3),
    ...            border_mode=(1, 1), subsample=(2, 2))        # (1, 1, 3, 3)
    """
    if kwargs:
        raise TypeError(f"conv2d: unexpected arguments {sorted(kwargs)}")
    if num_groups != 1 or unshared:
        raise NotImplementedError("conv2d: grouped and unshared convolutions are not supported")
    if image_shape is not None:
        if input_shape is not None:
            raise ValueError("conv2d: pass input_shape or its old name image_shape, not both")
        input_shape = image_shape
    imshp = _declared_shape(input_shape, "input_shape")
    kshp = _declared_shape(filter_shape, "filter_shape")
    if imshp and kshp and None not in (imshp[1], kshp[1]) and imshp[1] != kshp[1]:
        raise ValueError(f"conv2d: input_shape {imshp} has {imshp[1]} channels but filter_shape "
                         f"{kshp} expects {kshp[1]}")
    dilation = _pair(filter_dilation, "filter_dilation")
    border = normalize_border_mode(border_mode, kshp[2:] if kshp else None, dilation)
    op = Conv2d(border, subsample, filter_flip, dilation, imshp, kshp)
    return op(input, filters)


def _no_groups(what, num_groups, unshared):
    if num_groups != 1 or unshared:
        raise NotImplementedError(f"{what}: grouped and unshared convolutions are not supported")


def _spatial(shape, what):
    """The last two entries of a 4-entry shape (ints or symbolic scalars)."""
    if isinstance(shape, Variable):
        if shape.ndim != 1:
            raise TypeError(f"{what} must be a vector of 4 entries, got {shape.type}")
        return shape[2:]
    shape = tuple(shape)
    if len(shape) != 4:
        raise ValueError(f"{what} must have 4 entries, got {shape}")
    if any(s is None for s in shape[2:]):
        raise ValueError(f"{what} must give the spatial size (entries 2 and 3), got {shape}")
    return list(shape[2:])


def _abstract_params(imshp, kshp, border_mode, filter_dilation):
    imshp = _declared_shape(imshp, "imshp") if imshp is not None and \
        not isinstance(imshp, Variable) else None
    kshp = _declared_shape(kshp, "kshp") if kshp is not None and \
        not isinstance(kshp, Variable) else None
    dilation = _pair(filter_dilation, "filter_dilation")
    return imshp, kshp, normalize_border_mode(border_mode, kshp[2:] if kshp else None, dilation)


class AbstractConv2d(Conv2d):
    """Theano 1.0's ``AbstractConv2d(imshp=None, kshp=None, border_mode='valid',
    subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1))(input, filters)``: the
    :class:`Conv2d` op under Theano's constructor signature."""

    def __init__(self, imshp=None, kshp=None, border_mode="valid", subsample=(1, 1),
                 filter_flip=True, filter_dilation=(1, 1), num_groups=1, unshared=False):
        _no_groups("AbstractConv2d", num_groups, unshared)
        imshp, kshp, border = _abstract_params(imshp, kshp, border_mode, filter_dilation)
        super().__init__(border, subsample, filter_flip, filter_dilation, imshp, kshp)


class AbstractConv2d_gradInputs(Conv2dGradInputs):
    """Theano 1.0's ``AbstractConv2d_gradInputs(imshp, kshp, border_mode, subsample,
    filter_flip, filter_dilation)(kern, topgrad, shape)``: :class:`Conv2dGradInputs`
    (``shape`` is the input's spatial size, two entries)."""

    def __init__(self, imshp=None, kshp=None, border_mode="valid", subsample=(1, 1),
                 filter_flip=True, filter_dilation=(1, 1), num_groups=1, unshared=False):
        _no_groups("AbstractConv2d_gradInputs", num_groups, unshared)
        _, _, border = _abstract_params(imshp, kshp, border_mode, filter_dilation)
        super().__init__(border, subsample, filter_flip, filter_dilation)


class AbstractConv2d_gradWeights(Conv2dGradWeights):
    """Theano 1.0's ``AbstractConv2d_gradWeights(imshp, kshp, border_mode, subsample,
    filter_flip, filter_dilation)(img, topgrad, shape)``: :class:`Conv2dGradWeights`
    (``shape`` is the filters' spatial size, two entries)."""

    def __init__(self, imshp=None, kshp=None, border_mode="valid", subsample=(1, 1),
                 filter_flip=True, filter_dilation=(1, 1), num_groups=1, unshared=False):
        _no_groups("AbstractConv2d_gradWeights", num_groups, unshared)
        _, _, border = _abstract_params(imshp, kshp, border_mode, filter_dilation)
        super().__init__(border, subsample, filter_flip, filter_dilation)


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None,
                           border_mode="valid", subsample=(1, 1), filter_flip=True,
                           filter_dilation=(1, 1), num_groups=1, unshared=False):
    """Theano 1.0's ``conv2d_grad_wrt_inputs``: the gradient of ``conv2d(input, filters,
    ...)`` with respect to an input of shape ``input_shape`` (4 entries; the last two, ints
    or symbolic, fix the size), given ``output_grad``.

    It is also the transposed convolution ("deconvolution") of decoder nets: with
    ``subsample=(2, 2)`` it upsamples ``output_grad`` to ``input_shape``.

    >>> up = conv2d_grad_wrt_inputs(h, W, input_shape=(None, 3, 32, 32),
    ...                             filter_shape=(16, 3, 5, 5), border_mode='half',
    ...                             subsample=(2, 2))
    """
    _no_groups("conv2d_grad_wrt_inputs", num_groups, unshared)
    op = AbstractConv2d_gradInputs(input_shape, filter_shape, border_mode, subsample,
                                   filter_flip, filter_dilation)
    return op(filters, output_grad, _spatial(input_shape, "conv2d_grad_wrt_inputs: input_shape"))


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None,
                            border_mode="valid", subsample=(1, 1), filter_flip=True,
                            filter_dilation=(1, 1), num_groups=1, unshared=False):
    """Theano 1.0's ``conv2d_grad_wrt_weights``: the gradient of ``conv2d(input, filters,
    ...)`` with respect to filters of shape ``filter_shape`` (4 entries; the last two fix
    the size), given ``output_grad``."""
    _no_groups("conv2d_grad_wrt_weights", num_groups, unshared)
    op = AbstractConv2d_gradWeights(input_shape, filter_shape, border_mode, subsample,
                                    filter_flip, filter_dilation)
    return op(input, output_grad, _spatial(filter_shape, "conv2d_grad_wrt_weights: filter_shape"))


# ---------------------------------------------------------------- legacy interfaces (theano.tensor.nnet.conv, theano.tensor.signal.conv)

_SPEED_KNOBS = ("unroll_batch", "unroll_kern", "unroll_patch", "verbose", "version",
                "direction_hint", "openmp")


def conv2d_legacy(input, filters, filter_shape=None, image_shape=None, border_mode="valid",
           subsample=(1, 1), **kargs):
    """``conv2d(input, filters, filter_shape=None, image_shape=None, border_mode='valid',
    subsample=(1, 1))``: the pre-1.0 ConvOp interface of ``T.nnet.conv2d`` (true
    convolution of NCHW images with OIHW filters; the shapes are checked at run time).

    >>> from symgraph.tensor.nnet import conv
    >>> y = conv.conv2d(x, w, filter_shape=(20, 1, 5, 5), image_shape=(500, 1, 28, 28))
    """
    for knob in _SPEED_KNOBS:        # ConvOp's tuning options do not change the result
        kargs.pop(knob, None)
    return conv2d(input, filters, input_shape=image_shape, filter_shape=filter_shape,
                   border_mode=border_mode, subsample=subsample, **kargs)


def signal_conv2d(input, filters, image_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), **kargs):
    """``conv2d(input, filters, image_shape=None, filter_shape=None, border_mode='valid',
    subsample=(1, 1))``: true convolution of single-channel images.

    ``input`` is (rows, cols) or (batch, rows, cols); ``filters`` is (rows, cols)
    or (nkern, rows, cols). The result is (batch, nkern, out_rows, out_cols)
    with the batch and kernel axes dropped where the argument was 2-d (a 3-d
    result holds whichever of the two was given).

    >>> from symgraph.tensor.signal import conv
    >>> y = conv.conv2d(T.dmatrix('img'), T.dmatrix('kern'), border_mode='full')
    """
    input, filters = as_tensor_variable(input), as_tensor_variable(filters)
    if input.ndim not in (2, 3) or filters.ndim not in (2, 3):
        raise TypeError(f"signal.conv2d: input and filters must be 2-d or 3-d, got "
                        f"{input.type} and {filters.type}")
    batch = input.shape[0] if input.ndim == 3 else 1
    nkern = filters.shape[0] if filters.ndim == 3 else 1
    imshp = kshp = None
    if image_shape is not None:
        image_shape = tuple(image_shape)
        imshp = (image_shape[0] if input.ndim == 3 else 1, 1) + image_shape[-2:]
    if filter_shape is not None:
        filter_shape = tuple(filter_shape)
        kshp = (filter_shape[0] if filters.ndim == 3 else 1, 1) + filter_shape[-2:]
    img4 = reshape(input, [batch, 1, input.shape[-2], input.shape[-1]], ndim=4)
    kern4 = reshape(filters, [nkern, 1, filters.shape[-2], filters.shape[-1]], ndim=4)
    out = conv2d(img4, kern4, input_shape=imshp, filter_shape=kshp, border_mode=border_mode,
                  subsample=subsample, **kargs)
    rows, cols = out.shape[2], out.shape[3]
    if input.ndim == 2 and filters.ndim == 2:
        return reshape(out, [rows, cols], ndim=2)
    if input.ndim == 2 or filters.ndim == 2:
        return reshape(out, [batch * nkern, rows, cols], ndim=3)
    return out

__all__ = ["conv2d_legacy", "signal_conv2d", "Conv2d", "Conv2dGradInputs", "Conv2dGradWeights", "conv2d", "conv_out_len",
           "normalize_border_mode", "pads_for", "corr2d", "corr2d_grad_inputs",
           "corr2d_grad_weights"]

"""Legacy ``theano.tensor.signal.conv``: ``conv2d`` of single-channel images."""
from ...ops.conv import conv2d as _conv2d
from .. import basic as T


def conv2d(input, filters, image_shape=None, filter_shape=None, border_mode="valid",
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
    input, filters = T.as_tensor_variable(input), T.as_tensor_variable(filters)
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
    img4 = T.reshape(input, [batch, 1, input.shape[-2], input.shape[-1]], ndim=4)
    kern4 = T.reshape(filters, [nkern, 1, filters.shape[-2], filters.shape[-1]], ndim=4)
    out = _conv2d(img4, kern4, input_shape=imshp, filter_shape=kshp, border_mode=border_mode,
                  subsample=subsample, **kargs)
    rows, cols = out.shape[2], out.shape[3]
    if input.ndim == 2 and filters.ndim == 2:
        return T.reshape(out, [rows, cols], ndim=2)
    if input.ndim == 2 or filters.ndim == 2:
        return T.reshape(out, [batch * nkern, rows, cols], ndim=3)
    return out


__all__ = ["conv2d"]

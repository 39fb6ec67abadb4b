"""Theano's module path ``theano.tensor.basic``: the tensor API, defined by op family in
 ``symgraph.ops`` (re-exported here and in ``symgraph.tensor``)."""
from ..ops.type import (  # noqa: F401
    bcol, bcols, bmatrices, bmatrix, brow, brows, bscalar, bscalars, btensor3, btensor3s,
    btensor4, btensor4s, btensor5, btensor5s, bvector, bvectors, ccol, ccols, cmatrices,
    cmatrix, col, cols, crow, crows, cscalar, cscalars, ctensor3, ctensor3s, ctensor4,
    ctensor4s, ctensor5, ctensor5s, cvector, cvectors, dcol, dcols, dmatrices, dmatrix, drow,
    drows, dscalar, dscalars, dtensor3, dtensor3s, dtensor4, dtensor4s, dtensor5, dtensor5s,
    dvector, dvectors, fcol, fcols, fmatrices, fmatrix, frow, frows, fscalar, fscalars,
    ftensor3, ftensor3s, ftensor4, ftensor4s, ftensor5, ftensor5s, fvector, fvectors, icol,
    icols, imatrices, imatrix, irow, irows, iscalar, iscalars, itensor3, itensor3s, itensor4,
    itensor4s, itensor5, itensor5s, ivector, ivectors, lcol, lcols, lmatrices, lmatrix, lrow,
    lrows, lscalar, lscalars, ltensor3, ltensor3s, ltensor4, ltensor4s, ltensor5, ltensor5s,
    lvector, lvectors, matrices, matrix, normalize_dtype, row, rows, scalar, scalars, tensor,
    tensor3, tensor3s, tensor4, tensor4s, tensor5, tensor5s, TensorType, upcast, vector,
    vectors, wcol, wcols, wmatrices, wmatrix, wrow, wrows, wscalar, wscalars, wtensor3,
    wtensor3s, wtensor4, wtensor4s, wtensor5, wtensor5s, wvector, wvectors, zcol, zcols,
    zmatrices, zmatrix, zrow, zrows, zscalar, zscalars, ztensor3, ztensor3s, ztensor4,
    ztensor4s, ztensor5, ztensor5s, zvector, zvectors,
)
from ..ops.elemwise import (  # noqa: F401
    abs_, add, addbroadcast, and_, arctan, arctan2, as_tensor, as_tensor_variable, bitwise_not,
    cast, ceil, ceil_intdiv, clip, constant, cos, cosh, dimshuffle, div_proxy, eq, erf, exp,
    expm1, fill, floor, floor_div, ge, gt, identity, int_div, inv, invert, isinf, isnan, le,
    log, log10, log1p, log2, lt, maximum, minimum, mod, mul, neg, neq, ones_like, or_,
    patternbroadcast, pow, round, round_half_to_even, second, sgn, shape_padaxis, shape_padleft,
    shape_padright, sin, sinh, sqr, sqrt, squeeze, sub, switch, tan, tanh, tensor_copy,
    transpose, true_div, trunc, unbroadcast, where, xor, zeros_like, _elem,
)
from ..ops.shape import (  # noqa: F401
    alloc, arange, concatenate, eye, flatten, join, ones, reshape, shape, specify_shape, stack,
    tile, zeros,
)
from ..ops.reduce import (  # noqa: F401
    all, any, argmax, argmin, max, max_and_argmax, mean, min, prod, std, sum, var,
)
from ..ops.subtensor import (  # noqa: F401
    getitem, inc_subtensor, roll, set_subtensor,
)
from ..ops.blas import (  # noqa: F401
    batched_dot, batched_tensordot, dot, outer, tensordot,
)
from ..ops.nlinalg import diag, diagonal, trace  # noqa: F401
from ..ops.extra_ops import (  # noqa: F401
    bincount, cumprod, cumsum, diff, fill_diagonal, fill_diagonal_offset, ravel_multi_index,
    repeat, searchsorted, to_one_hot, unravel_index,
)
from ..ops.sort import argsort, sort  # noqa: F401

from ..ops.variable import TensorConstant, TensorVariable  # noqa: F401

__all__ = ["bcol", "bcols", "bmatrices", "bmatrix", "brow", "brows", "bscalar", "bscalars", "btensor3", "btensor3s", "btensor4", "btensor4s", "btensor5", "btensor5s", "bvector", "bvectors", "ccol", "ccols", "cmatrices", "cmatrix", "col", "cols", "crow", "crows", "cscalar", "cscalars", "ctensor3", "ctensor3s", "ctensor4", "ctensor4s", "ctensor5", "ctensor5s", "cvector", "cvectors", "dcol", "dcols", "dmatrices", "dmatrix", "drow", "drows", "dscalar", "dscalars", "dtensor3", "dtensor3s", "dtensor4", "dtensor4s", "dtensor5", "dtensor5s", "dvector", "dvectors", "fcol", "fcols", "fmatrices", "fmatrix", "frow", "frows", "fscalar", "fscalars", "ftensor3", "ftensor3s", "ftensor4", "ftensor4s", "ftensor5", "ftensor5s", "fvector", "fvectors", "icol", "icols", "imatrices", "imatrix", "irow", "irows", "iscalar", "iscalars", "itensor3", "itensor3s", "itensor4", "itensor4s", "itensor5", "itensor5s", "ivector", "ivectors", "lcol", "lcols", "lmatrices", "lmatrix", "lrow", "lrows", "lscalar", "lscalars", "ltensor3", "ltensor3s", "ltensor4", "ltensor4s", "ltensor5", "ltensor5s", "lvector", "lvectors", "matrices", "matrix", "row", "rows", "scalar", "scalars", "tensor", "tensor3", "tensor3s", "tensor4", "tensor4s", "tensor5", "tensor5s", "TensorType", "vector", "vectors", "wcol", "wcols", "wmatrices", "wmatrix", "wrow", "wrows", "wscalar", "wscalars", "wtensor3", "wtensor3s", "wtensor4", "wtensor4s", "wtensor5", "wtensor5s", "wvector", "wvectors", "zcol", "zcols", "zmatrices", "zmatrix", "zrow", "zrows", "zscalar", "zscalars", "ztensor3", "ztensor3s", "ztensor4", "ztensor4s", "ztensor5", "ztensor5s", "zvector", "zvectors", "abs_", "add", "addbroadcast", "and_", "arctan", "arctan2", "as_tensor", "as_tensor_variable", "bitwise_not", "cast", "ceil", "ceil_intdiv", "clip", "constant", "cos", "cosh", "dimshuffle", "div_proxy", "eq", "erf", "exp", "expm1", "fill", "floor", "floor_div", "ge", "gt", "identity", "int_div", "inv", "invert", "isinf", "isnan", "le", "log", "log10", "log1p", "log2", "lt", "maximum", "minimum", "mod", "mul", "neg", "neq", "ones_like", "or_", "patternbroadcast", "pow", "round", "round_half_to_even", "second", "sgn", "shape_padaxis", "shape_padleft", "shape_padright", "sin", "sinh", "sqr", "sqrt", "squeeze", "sub", "switch", "tan", "tanh", "tensor_copy", "transpose", "true_div", "trunc", "unbroadcast", "where", "xor", "zeros_like", "alloc", "arange", "concatenate", "eye", "flatten", "join", "ones", "reshape", "shape", "specify_shape", "stack", "zeros", "argmax", "argmin", "max", "max_and_argmax", "mean", "min", "prod", "std", "sum", "var", "getitem", "inc_subtensor", "set_subtensor", "dot", "outer", "tensordot", "TensorConstant", "TensorVariable", "tile", "all", "any", "roll", "batched_dot", "batched_tensordot", "diag", "diagonal", "trace", "bincount", "cumprod", "cumsum", "diff", "fill_diagonal", "fill_diagonal_offset", "ravel_multi_index", "repeat", "searchsorted", "to_one_hot", "unravel_index", "argsort", "sort"]

"""Linear algebra with NumPy (``theano.tensor.nlinalg``): inverse, determinant, eigen and
singular value decompositions, pseudo-inverse, QR, and the diagonal ops (``T.diag``,
``T.diagonal``, ``T.trace``, ``extract_diag``, ``alloc_diag``).

Every ``perform`` is NumPy only. Gradients: ``matrix_inverse``, ``det``, ``eigh`` (values and
vectors), ``pinv``, ``trace`` and the diagonal ops. ``eig``, ``svd`` and ``qr`` have none (as in
Theano 1.0).
"""
from __future__ import annotations

import builtins

import numpy as np

from ..graph import Apply, Op
from .blas import dot
from .elemwise import abs_, as_tensor, as_tensor_variable, cast, maximum, minimum, neq, sqrt
from .shape import eye
from .type import TensorType, FLOAT_DTYPES, COMPLEX_DTYPES, float_upcast


def _float_tensor(x, what, ndim=2):
    """``x`` as a float tensor of ``ndim`` dimensions (integers are cast as Theano's
    float_upcast does)."""
    x = as_tensor_variable(x)
    if ndim is not None and x.ndim != ndim:
        raise TypeError(f"{what}: expected a {ndim}-d tensor, got {x.type}")
    if x.dtype not in FLOAT_DTYPES and x.dtype not in COMPLEX_DTYPES:
        x = cast(x, float_upcast(x.dtype))
    return x


def _matrix_type(dtype):
    return TensorType(dtype, (False, False))


def _check_square(op, a):
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{op}: expected a square matrix, got shape {a.shape}")


# ---------------------------------------------------------------- diagonals

def _diag_len(shape, offset, axis1, axis2):
    n1, n2 = shape[axis1], shape[axis2]
    if offset >= 0:
        return builtins.max(0, builtins.min(n1, n2 - offset))
    return builtins.max(0, builtins.min(n1 + offset, n2))


class ExtractDiag(Op):
    """``numpy.diagonal(x, offset, axis1, axis2)``: the diagonal becomes the last axis (a copy)."""

    __props__ = ("offset", "axis1", "axis2")

    def __init__(self, offset=0, axis1=0, axis2=1):
        self.offset, self.axis1, self.axis2 = int(offset), int(axis1), int(axis2)

    def make_node(self, x):
        x = as_tensor(x)
        if x.ndim < 2:
            raise ValueError(f"{self}: needs a tensor of at least 2 dimensions, got {x.type}")
        if not (0 <= self.axis1 < x.ndim and 0 <= self.axis2 < x.ndim) or self.axis1 == self.axis2:
            raise ValueError(f"{self}: axes ({self.axis1}, {self.axis2}) invalid for {x.type}")
        bcast = tuple(b for d, b in enumerate(x.broadcastable) if d not in (self.axis1, self.axis2))
        return Apply(self, [x], [TensorType(x.dtype, bcast + (False,))()])

    def perform(self, node, inputs, output_storage):
        out = np.diagonal(inputs[0], self.offset, self.axis1, self.axis2)
        output_storage[0][0] = np.array(out, dtype=node.outputs[0].dtype)

    def grad(self, inputs, output_grads):
        (x,), (gz,) = inputs, output_grads
        if not x.type.is_float:
            return [None]
        return [DiagonalScatter(self.offset, self.axis1, self.axis2)(x, gz)]

    def infer_shape(self, node, shapes):
        (s,) = shapes
        rest = tuple(d for i, d in enumerate(s) if i not in (self.axis1, self.axis2))
        n1, n2 = s[self.axis1], s[self.axis2]
        k = self.offset
        if all(isinstance(d, (int, np.integer)) for d in (n1, n2)):
            return [rest + (_diag_len(s, k, self.axis1, self.axis2),)]
        if k >= 0:
            n = _sym_min(n1, n2 - k)
        else:
            n = _sym_min(n1 + k, n2)
        return [rest + (_sym_max0(n),)]


def _sym_min(a, b):
    return minimum(a, b)


def _sym_max0(a):
    return maximum(a, 0)


class DiagonalScatter(Op):
    """Zeros shaped like ``x`` (dtype of ``g``) with ``g`` written on a diagonal: the gradient of
    ExtractDiag."""

    __props__ = ("offset", "axis1", "axis2")

    def __init__(self, offset=0, axis1=0, axis2=1):
        self.offset, self.axis1, self.axis2 = int(offset), int(axis1), int(axis2)

    def make_node(self, x, g):
        x, g = as_tensor(x), as_tensor(g)
        return Apply(self, [x, g], [TensorType(g.dtype, x.broadcastable)()])

    def perform(self, node, inputs, output_storage):
        x, g = inputs
        out = np.zeros(x.shape, dtype=node.outputs[0].dtype)
        moved = np.moveaxis(out, (self.axis1, self.axis2), (-2, -1))
        n = _diag_len(x.shape, self.offset, self.axis1, self.axis2)
        i = np.arange(n)
        rows, cols = (i, i + self.offset) if self.offset >= 0 else (i - self.offset, i)
        moved[..., rows, cols] = g
        output_storage[0][0] = out

    def grad(self, inputs, output_grads):
        x, g = inputs
        return [None, ExtractDiag(self.offset, self.axis1, self.axis2)(output_grads[0])]

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class AllocDiag(Op):
    """A square matrix with vector ``v`` on diagonal ``offset`` (``numpy.diag(v, k)``)."""

    __props__ = ("offset",)

    def __init__(self, offset=0):
        self.offset = int(offset)

    def make_node(self, v):
        v = as_tensor(v)
        if v.ndim != 1:
            raise TypeError(f"{self}: expected a vector, got {v.type}")
        return Apply(self, [v], [_matrix_type(v.dtype)()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.diag(inputs[0], self.offset).astype(node.outputs[0].dtype)

    def grad(self, inputs, output_grads):
        if not inputs[0].type.is_float:
            return [None]
        return [ExtractDiag(self.offset)(output_grads[0])]

    def infer_shape(self, node, shapes):
        n = shapes[0][0] + builtins.abs(self.offset)
        return [(n, n)]


def diagonal(a, offset=0, axis1=0, axis2=1):
    """``numpy.diagonal``: the diagonal of ``a`` along ``axis1``/``axis2``, as the last axis."""
    a = as_tensor_variable(a)
    return ExtractDiag(offset, axis1 % a.ndim, axis2 % a.ndim)(a)


def extract_diag(x):
    """The main diagonal of a matrix (Theano's ``nlinalg.extract_diag``)."""
    return diagonal(x)


def alloc_diag(v, offset=0):
    """A square matrix with ``v`` on its diagonal (Theano's ``nlinalg.alloc_diag``)."""
    return AllocDiag(offset)(as_tensor_variable(v))


def diag(v, k=0):
    """``numpy.diag``: a vector gives a matrix with ``v`` on diagonal ``k``; a matrix gives its
    ``k``-th diagonal."""
    v = as_tensor_variable(v)
    if v.ndim == 1:
        return AllocDiag(k)(v)
    if v.ndim == 2:
        return ExtractDiag(k)(v)
    raise ValueError(f"diag: input must be 1-d or 2-d, got {v.type}")


def trace(x):
    """Sum of the main diagonal of a matrix."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"trace: expected a matrix, got {x.type}")
    return diagonal(x).sum()


# ---------------------------------------------------------------- inverse, det, pinv

class MatrixInverse(Op):
    """Inverse of a square matrix (``numpy.linalg.inv``)."""

    def make_node(self, x):
        x = _float_tensor(x, "matrix_inverse")
        return Apply(self, [x], [_matrix_type(x.dtype)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square(self, x)
        output_storage[0][0] = np.linalg.inv(x).astype(node.outputs[0].dtype)

    def L_op(self, inputs, outputs, output_grads):
        # d(X^-1) = -X^-1 dX X^-1  =>  xbar = -X^-T gz X^-T
        (xi,), (gz,) = outputs, output_grads
        return [-dot(dot(xi.T, gz), xi.T)]

    def infer_shape(self, node, shapes):
        return [shapes[0]]


matrix_inverse = MatrixInverse()


class Det(Op):
    """Determinant of a square matrix."""

    def make_node(self, x):
        x = _float_tensor(x, "det")
        return Apply(self, [x], [TensorType(x.dtype, ())()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square(self, x)
        output_storage[0][0] = np.asarray(np.linalg.det(x), dtype=node.outputs[0].dtype)

    def L_op(self, inputs, outputs, output_grads):
        (x,), (d,), (gz,) = inputs, outputs, output_grads
        return [gz * d * matrix_inverse(x).T]

    def infer_shape(self, node, shapes):
        return [()]


det = Det()


class MatrixPinv(Op):
    """Moore-Penrose pseudo-inverse (``numpy.linalg.pinv``)."""

    def make_node(self, x):
        x = _float_tensor(x, "pinv")
        return Apply(self, [x], [_matrix_type(x.dtype)()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.linalg.pinv(inputs[0]).astype(node.outputs[0].dtype)

    def L_op(self, inputs, outputs, output_grads):
        # Golub & Pereyra: dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P, valid where
        # the rank of A is locally constant.
        (a,), (p,), (g,) = inputs, outputs, output_grads
        i_m = eye(a.shape[0], dtype=a.dtype)
        i_n = eye(a.shape[1], dtype=a.dtype)
        ga = (-dot(dot(p.T, g), p.T)
              + dot(dot(i_m - dot(a, p), g.T), dot(p, p.T))
              + dot(dot(dot(p.T, p), g.T), i_n - dot(p, a)))
        return [ga]

    def infer_shape(self, node, shapes):
        return [(shapes[0][1], shapes[0][0])]


def pinv(x):
    return MatrixPinv()(x)


# ---------------------------------------------------------------- decompositions

class Eig(Op):
    """Eigenvalues and right eigenvectors of a square matrix (``numpy.linalg.eig``).

    The outputs are real, of the input's dtype, as in Theano: a matrix with complex eigenvalues
    raises (Theano silently dropped the imaginary parts)."""

    def make_node(self, x):
        x = _float_tensor(x, "eig")
        return Apply(self, [x], [TensorType(x.dtype, (False,))(), _matrix_type(x.dtype)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square(self, x)
        w, v = np.linalg.eig(x)
        if np.iscomplexobj(w) and np.any(w.imag != 0):
            raise ValueError(f"{self}: the matrix has complex eigenvalues, which a real "
                             f"{node.outputs[0].dtype} output cannot hold")
        output_storage[0][0] = np.real(w).astype(node.outputs[0].dtype)
        output_storage[1][0] = np.real(v).astype(node.outputs[1].dtype)

    def grad(self, inputs, output_grads):
        raise NotImplementedError("eig defines no gradient (use eigh for symmetric matrices)")

    def infer_shape(self, node, shapes):
        n = shapes[0][0]
        return [(n,), (n, n)]


eig = Eig()


class Eigh(Op):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, reading only the lower
    (``UPLO='L'``) or upper triangle."""

    __props__ = ("UPLO",)

    def __init__(self, UPLO="L"):
        if UPLO not in ("L", "U"):
            raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
        self.UPLO = UPLO

    def make_node(self, x):
        x = _float_tensor(x, "eigh")
        return Apply(self, [x], [TensorType(x.dtype, (False,))(), _matrix_type(x.dtype)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square(self, x)
        w, v = np.linalg.eigh(x, self.UPLO)
        output_storage[0][0] = w.astype(node.outputs[0].dtype)
        output_storage[1][0] = v.astype(node.outputs[1].dtype)

    def L_op(self, inputs, outputs, output_grads):
        (x,), (w, v), (gw, gv) = inputs, outputs, output_grads
        return [EighGrad(self.UPLO)(x, w, v, gw, gv)]

    def infer_shape(self, node, shapes):
        n = shapes[0][0]
        return [(n,), (n, n)]


def eigh(a, UPLO="L"):
    return Eigh(UPLO)(a)


def _read_triangle_grad(gsym, lower):
    """Gradient with respect to the triangle an op reads, from the gradient ``gsym`` with
    respect to the symmetric matrix that triangle stands for."""
    full = gsym + gsym.T
    out = np.tril(full) if lower else np.triu(full)
    out[np.diag_indices_from(out)] = np.diag(gsym)
    return out


class EighGrad(Op):
    """Gradient of Eigh: ``V (diag(gw) + F * (V^T gv)) V^T`` with ``F_ij = 1 / (w_j - w_i)``,
    mapped onto the triangle Eigh reads. Needs distinct eigenvalues for the vector part."""

    __props__ = ("UPLO",)

    def __init__(self, UPLO="L"):
        self.UPLO = UPLO

    def make_node(self, x, w, v, gw, gv):
        ins = [as_tensor(t) for t in (x, w, v, gw, gv)]
        return Apply(self, ins, [_matrix_type(ins[0].dtype)()])

    def perform(self, node, inputs, output_storage):
        x, w, v, gw, gv = inputs
        n = w.shape[0]
        diff = w[np.newaxis, :] - w[:, np.newaxis]          # w_j - w_i
        with np.errstate(divide="ignore"):
            f = np.where(np.eye(n, dtype=bool), 0.0, 1.0 / np.where(diff == 0, np.inf, diff))
        inner = np.diag(gw) + f * (v.T @ gv)
        gsym = v @ inner @ v.T
        gsym = 0.5 * (gsym + gsym.T)
        out = _read_triangle_grad(gsym, self.UPLO == "L")
        output_storage[0][0] = out.astype(node.outputs[0].dtype)

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class SVD(Op):
    """Singular value decomposition (``numpy.linalg.svd``): ``U, s, V`` (V is NumPy's ``vh``) or
    only ``s`` with ``compute_uv=False``."""

    __props__ = ("full_matrices", "compute_uv")

    def __init__(self, full_matrices=True, compute_uv=True):
        self.full_matrices = bool(full_matrices)
        self.compute_uv = bool(compute_uv)

    def make_node(self, x):
        x = _float_tensor(x, "svd")
        s = TensorType(x.dtype, (False,))()
        if self.compute_uv:
            return Apply(self, [x], [_matrix_type(x.dtype)(), s, _matrix_type(x.dtype)()])
        return Apply(self, [x], [s])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        if self.compute_uv:
            u, s, vh = np.linalg.svd(x, self.full_matrices, True)
            for i, val in enumerate((u, s, vh)):
                output_storage[i][0] = val.astype(node.outputs[i].dtype)
        else:
            s = np.linalg.svd(x, self.full_matrices, False)
            output_storage[0][0] = s.astype(node.outputs[0].dtype)

    def grad(self, inputs, output_grads):
        raise NotImplementedError("svd defines no gradient (as in Theano 1.0)")

    def infer_shape(self, node, shapes):
        m, n = shapes[0]
        k = _sym_min(m, n) if not all(isinstance(d, (int, np.integer)) for d in (m, n)) \
            else builtins.min(m, n)
        if not self.compute_uv:
            return [(k,)]
        if self.full_matrices:
            return [(m, m), (k,), (n, n)]
        return [(m, k), (k,), (k, n)]


def svd(a, full_matrices=1, compute_uv=1):
    """``U, s, V = svd(a)`` (V = NumPy's vh), or ``s`` when ``compute_uv`` is false."""
    return SVD(full_matrices, compute_uv)(a)


class QRFull(Op):
    """QR decomposition (``numpy.linalg.qr``): mode 'reduced' or 'complete' give ``Q, R``;
    'r' gives ``R``; 'raw' gives ``h, tau``."""

    __props__ = ("mode",)

    def __init__(self, mode="reduced"):
        if mode not in ("reduced", "complete", "r", "raw"):
            raise ValueError(f"qr: mode must be 'reduced', 'complete', 'r' or 'raw', got {mode!r}")
        self.mode = mode

    def make_node(self, x):
        x = _float_tensor(x, "qr")
        if self.mode == "r":
            return Apply(self, [x], [_matrix_type(x.dtype)()])
        if self.mode == "raw":
            return Apply(self, [x], [_matrix_type(x.dtype)(), TensorType(x.dtype, (False,))()])
        return Apply(self, [x], [_matrix_type(x.dtype)(), _matrix_type(x.dtype)()])

    def perform(self, node, inputs, output_storage):
        res = np.linalg.qr(inputs[0], self.mode)
        if self.mode == "r":
            res = (res,)
        for i, val in enumerate(res):
            output_storage[i][0] = np.asarray(val).astype(node.outputs[i].dtype)

    def grad(self, inputs, output_grads):
        raise NotImplementedError("qr defines no gradient (as in Theano 1.0)")


def qr(a, mode="reduced"):
    return QRFull(mode)(a)


def matrix_dot(*args):
    """``dot(dot(a, b), c)...`` of the arguments, left to right."""
    rval = as_tensor_variable(args[0])
    for a in args[1:]:
        rval = dot(rval, a)
    return rval


def matrix_power(M, n):
    """``M`` to the integer power ``n >= 0`` by repeated squaring (symbolic products)."""
    M = as_tensor_variable(M)
    if n < 0:
        raise ValueError("matrix_power: n must be >= 0 (invert with matrix_inverse first)")
    result, base = None, M
    while n:
        if n & 1:
            result = base if result is None else dot(result, base)
        n >>= 1
        if n:
            base = dot(base, base)
    return result if result is not None else eye(M.shape[0], dtype=M.dtype)


def norm(x, ord):
    """Theano's ``nlinalg.norm``: vector norms (None/2, 1, inf, -inf, 0, p) and matrix norms
    (None/'fro', 1, -1, inf, -inf)."""
    x = as_tensor_variable(x)
    if x.ndim == 1:
        if ord is None or ord == 2:
            return sqrt((x * x).sum())
        if ord == np.inf:
            return abs_(x).max()
        if ord == -np.inf:
            return abs_(x).min()
        if ord == 0:
            return cast(neq(x, 0), x.dtype).sum()
        return (abs_(x) ** ord).sum() ** (1.0 / ord)
    if x.ndim == 2:
        if ord is None or ord == "fro":
            return sqrt((abs_(x) ** 2).sum())
        if ord == 1:
            return abs_(x).sum(0).max()
        if ord == -1:
            return abs_(x).sum(0).min()
        if ord == np.inf:
            return abs_(x).sum(1).max()
        if ord == -np.inf:
            return abs_(x).sum(1).min()
        raise ValueError(f"norm: ord {ord!r} is not supported for matrices")
    raise ValueError(f"norm: expected a vector or a matrix, got {x.type}")


__all__ = ["MatrixInverse", "matrix_inverse", "Det", "det", "MatrixPinv", "pinv", "Eig", "eig",
           "Eigh", "EighGrad", "eigh", "SVD", "svd", "QRFull", "qr", "matrix_dot",
           "matrix_power", "norm", "ExtractDiag", "AllocDiag", "DiagonalScatter", "diag",
           "diagonal", "extract_diag", "alloc_diag", "trace"]

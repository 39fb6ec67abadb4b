"""Theano's module path ``theano.tensor.nlinalg``: linear algebra with NumPy."""
from ..ops.nlinalg import (  # noqa: F401
    SVD, AllocDiag, Det, Eig, Eigh, EighGrad, ExtractDiag, MatrixInverse, MatrixPinv, QRFull,
    alloc_diag, det, diag, diagonal, eig, eigh, extract_diag, matrix_dot, matrix_inverse,
    matrix_power, norm, pinv, qr, svd, trace,
)

__all__ = ["matrix_inverse", "det", "eig", "eigh", "svd", "trace", "pinv", "qr", "matrix_dot",
           "matrix_power", "norm", "extract_diag", "alloc_diag", "diag", "MatrixInverse", "Det",
           "Eig", "Eigh", "EighGrad", "SVD", "MatrixPinv", "QRFull", "ExtractDiag", "AllocDiag"]

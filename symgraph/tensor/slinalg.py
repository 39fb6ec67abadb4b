"""Theano's module path ``theano.tensor.slinalg``: Cholesky, solves, the matrix exponential."""
from ..ops.slinalg import (  # noqa: F401
    Cholesky, CholeskyGrad, Expm, ExpmGrad, Solve, SolveTriangular, cholesky, expm, kron, solve,
    solve_lower_triangular, solve_symmetric, solve_triangular, solve_upper_triangular, tril,
    triu,
)

__all__ = ["cholesky", "solve", "solve_triangular", "solve_lower_triangular",
           "solve_upper_triangular", "solve_symmetric", "expm", "kron", "Cholesky",
           "CholeskyGrad", "Solve", "SolveTriangular", "Expm", "ExpmGrad"]

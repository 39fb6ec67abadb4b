"""Structured linear algebra (``theano.tensor.slinalg``): Cholesky factorization, linear solves
(general, symmetric, positive definite, triangular) and the matrix exponential.

``perform`` is NumPy only (SciPy is not needed): ``numpy.linalg.cholesky`` / ``solve``,
triangular solves by blocked substitution, ``expm`` by Pade(13) scaling and squaring (Higham
2005). Gradients: cholesky, solve, solve_triangular, expm.
"""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op
from .elemwise import as_tensor
from .nlinalg import _check_square, _float_tensor, _read_triangle_grad
from .type import TensorType, upcast


def _out_type(a, b):
    return TensorType(upcast(a.dtype, b.dtype), b.broadcastable)


# ---------------------------------------------------------------- Cholesky

class Cholesky(Op):
    """Cholesky factor of a symmetric positive-definite matrix: lower ``L`` with ``A = L L^T``
    (``lower=True``, reading the lower triangle) or upper ``U`` with ``A = U^T U`` (reading the
    upper triangle)."""

    __props__ = ("lower",)

    def __init__(self, lower=True):
        self.lower = bool(lower)

    def make_node(self, x):
        x = _float_tensor(x, "cholesky")
        return Apply(self, [x], [TensorType(x.dtype, (False, False))()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        _check_square(self, x)
        try:
            l = np.linalg.cholesky(x if self.lower else x.T)
        except np.linalg.LinAlgError as exc:
            raise np.linalg.LinAlgError(f"{self}: {exc} (the matrix is not positive definite)") \
                from None
        output_storage[0][0] = (l if self.lower else l.T).astype(node.outputs[0].dtype)

    def L_op(self, inputs, outputs, output_grads):
        return [CholeskyGrad(self.lower)(inputs[0], outputs[0], output_grads[0])]

    def infer_shape(self, node, shapes):
        return [shapes[0]]


def cholesky(x, lower=True):
    return Cholesky(lower)(x)


def _phi(m):
    """Lower triangle with the diagonal halved."""
    out = np.tril(m)
    out[np.diag_indices_from(out)] *= 0.5
    return out


class CholeskyGrad(Op):
    """Gradient of Cholesky: with ``S = L^-T Phi(L^T Lbar) L^-1`` the gradient with respect to
    the symmetric matrix is ``(S + S^T) / 2``, mapped onto the triangle Cholesky reads."""

    __props__ = ("lower",)

    def __init__(self, lower=True):
        self.lower = bool(lower)

    def make_node(self, x, l, gl):
        x, l, gl = as_tensor(x), as_tensor(l), as_tensor(gl)
        return Apply(self, [x, l, gl], [TensorType(x.dtype, (False, False))()])

    def perform(self, node, inputs, output_storage):
        x, l, gl = inputs
        if not self.lower:        # U = L^T with L the factor of A^T (whose lower part is read)
            l, gl = l.T, gl.T
        p = _phi(l.T @ gl)
        s = _solve_tri(l, _solve_tri(l, p.T, lower=True, trans=True).T, lower=True, trans=True)
        # s = L^-T (L^-T P^T)^T = L^-T P L^-1
        gsym = 0.5 * (s + s.T)
        g = _read_triangle_grad(gsym, True)
        output_storage[0][0] = (g if self.lower else g.T).astype(node.outputs[0].dtype)

    def infer_shape(self, node, shapes):
        return [shapes[0]]


# ---------------------------------------------------------------- triangular solves

def _solve_tri(a, b, lower, trans=False, unit_diagonal=False):
    """Solve ``op(T) x = b`` with T the lower/upper triangle of ``a`` (op: transpose if
    ``trans``) by substitution, NumPy only. ``b`` is a vector or a matrix."""
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        t = t.copy()
        t[np.diag_indices_from(t)] = 1
    if trans:
        t, lower = t.T, not lower
    n = t.shape[0]
    if t.shape != (n, n) or b.shape[0] != n:
        raise ValueError(f"solve_triangular: shapes {a.shape} and {b.shape} do not match")
    dtype = np.result_type(t.dtype, b.dtype, np.float32)
    x = np.array(b, dtype=dtype, copy=True)
    order = range(n) if lower else range(n - 1, -1, -1)
    diag = np.diag(t)
    if np.any(diag == 0):
        raise np.linalg.LinAlgError("solve_triangular: singular matrix (zero on the diagonal)")
    for i in order:
        if lower:
            acc = t[i, :i] @ x[:i] if i else 0
        else:
            acc = t[i, i + 1:] @ x[i + 1:] if i < n - 1 else 0
        x[i] = (x[i] - acc) / diag[i]
    return x


class SolveTriangular(Op):
    """``scipy.linalg.solve_triangular(a, b, trans, lower, unit_diagonal)``: only the chosen
    triangle of ``a`` is read (and not its diagonal with ``unit_diagonal``)."""

    __props__ = ("trans", "lower", "unit_diagonal")

    def __init__(self, trans=0, lower=False, unit_diagonal=False):
        trans = {0: 0, 1: 1, 2: 1, "N": 0, "T": 1, "C": 1}.get(trans)
        if trans is None:
            raise ValueError("solve_triangular: trans must be 0/'N', 1/'T' or 2/'C'")
        self.trans, self.lower, self.unit_diagonal = trans, bool(lower), bool(unit_diagonal)

    def make_node(self, a, b):
        a = _float_tensor(a, "solve_triangular")
        b = _float_tensor(as_tensor(b), "solve_triangular", ndim=None)
        if b.ndim not in (1, 2):
            raise TypeError(f"solve_triangular: b must be a vector or a matrix, got {b.type}")
        return Apply(self, [a, b], [_out_type(a, b)()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        _check_square(self, a)
        x = _solve_tri(a, b, self.lower, bool(self.trans), self.unit_diagonal)
        output_storage[0][0] = x.astype(node.outputs[0].dtype)

    def L_op(self, inputs, outputs, output_grads):
        (a, b), (x,), (gx,) = inputs, outputs, output_grads
        gb = SolveTriangular(1 - self.trans, self.lower, self.unit_diagonal)(a, gx)
        ga_eff = -(gb.dimshuffle(0, "x") * x.dimshuffle("x", 0) if b.ndim == 1 else gb.dot(x.T))
        ga = ga_eff.T if self.trans else ga_eff
        return [_TriangleMask(self.lower, self.unit_diagonal)(ga), gb]

    def infer_shape(self, node, shapes):
        return [shapes[1]]


class _TriangleMask(Op):
    """Keep the lower (or upper) triangle, optionally without the diagonal."""

    __props__ = ("lower", "strict")

    def __init__(self, lower, strict=False):
        self.lower, self.strict = bool(lower), bool(strict)

    def make_node(self, x):
        x = as_tensor(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        k = -1 if self.strict else 0
        out = np.tril(x, k) if self.lower else np.triu(x, -k)
        output_storage[0][0] = out.astype(node.outputs[0].dtype)

    def grad(self, inputs, output_grads):
        return [self(output_grads[0])]

    def infer_shape(self, node, shapes):
        return [shapes[0]]


def tril(x, k=0):
    """Lower triangle (``numpy.tril``) for k in (0, -1)."""
    if k not in (0, -1):
        raise NotImplementedError("tril: only k=0 and k=-1")
    return _TriangleMask(True, k == -1)(x)


def triu(x, k=0):
    """Upper triangle (``numpy.triu``) for k in (0, 1)."""
    if k not in (0, 1):
        raise NotImplementedError("triu: only k=0 and k=1")
    return _TriangleMask(False, k == 1)(x)


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False):
    return SolveTriangular(trans, lower, unit_diagonal)(a, b)


# ---------------------------------------------------------------- general solves

_STRUCTURES = {"general": "gen", "gen": "gen", "symmetric": "sym", "sym": "sym",
               "her": "sym", "pos": "pos", "lower_triangular": "lower_triangular",
               "upper_triangular": "upper_triangular"}


class Solve(Op):
    """``solve(a, b)``: x with ``a x = b``. ``A_structure`` (Theano) or ``assume_a`` (SciPy):
    'general'/'gen' (all of a), 'symmetric'/'sym' and 'pos' (only the triangle chosen by
    ``lower`` is read, as SciPy), 'lower_triangular', 'upper_triangular'."""

    __props__ = ("A_structure", "lower")

    def __init__(self, A_structure="general", lower=False, overwrite_A=False, overwrite_b=False):
        if A_structure not in _STRUCTURES:
            raise ValueError(f"solve: unknown A_structure/assume_a {A_structure!r} (valid: "
                             f"{', '.join(sorted(_STRUCTURES))})")
        self.A_structure = _STRUCTURES[A_structure]
        if self.A_structure == "lower_triangular":
            lower = True
        elif self.A_structure == "upper_triangular":
            lower = False
        self.lower = bool(lower)

    def make_node(self, a, b):
        a = _float_tensor(a, "solve")
        b = _float_tensor(as_tensor(b), "solve", ndim=None)
        if b.ndim not in (1, 2):
            raise TypeError(f"solve: b must be a vector or a matrix, got {b.type}")
        return Apply(self, [a, b], [_out_type(a, b)()])

    def _effective(self, a):
        if self.A_structure in ("sym", "pos"):
            t = np.tril(a) if self.lower else np.triu(a)
            return t + t.T - np.diag(np.diag(a))
        return a

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        _check_square(self, a)
        if a.shape[0] != b.shape[0]:
            raise ValueError(f"{self}: shapes {a.shape} and {b.shape} do not match")
        if self.A_structure in ("lower_triangular", "upper_triangular"):
            x = _solve_tri(a, b, self.lower)
        else:
            x = np.linalg.solve(self._effective(a), b)
        output_storage[0][0] = np.asarray(x).astype(node.outputs[0].dtype)

    def L_op(self, inputs, outputs, output_grads):
        (a, b), (x,), (gx,) = inputs, outputs, output_grads
        if self.A_structure in ("lower_triangular", "upper_triangular"):
            gb = SolveTriangular(1, self.lower)(a, gx)
        else:
            gb = Solve(self.A_structure, self.lower)(a.T if self.A_structure == "gen" else a, gx)
        ga = -(gb.dimshuffle(0, "x") * x.dimshuffle("x", 0) if b.ndim == 1 else gb.dot(x.T))
        if self.A_structure in ("lower_triangular", "upper_triangular"):
            ga = _TriangleMask(self.lower)(ga)
        elif self.A_structure in ("sym", "pos"):
            ga = _SymTriangleGrad(self.lower)(ga)
        return [ga, gb]

    def infer_shape(self, node, shapes):
        return [shapes[1]]


class _SymTriangleGrad(Op):
    """Map a gradient with respect to a full matrix onto the triangle of a symmetric matrix that
    stands for it: ``tril(G + G^T)`` with G's own diagonal."""

    __props__ = ("lower",)

    def __init__(self, lower):
        self.lower = bool(lower)

    def make_node(self, g):
        g = as_tensor(g)
        return Apply(self, [g], [g.type()])

    def perform(self, node, inputs, output_storage):
        (g,) = inputs
        full = g + g.T
        out = np.tril(full) if self.lower else np.triu(full)
        out[np.diag_indices_from(out)] = np.diag(g)
        output_storage[0][0] = out.astype(node.outputs[0].dtype)

    def infer_shape(self, node, shapes):
        return [shapes[0]]


def solve(a, b, assume_a="gen", lower=False, overwrite_a=False, overwrite_b=False,
          check_finite=True, A_structure=None):
    """Solve ``a x = b`` (``assume_a`` as SciPy, or Theano's ``A_structure``)."""
    return Solve(A_structure or assume_a, lower)(a, b)


solve_lower_triangular = Solve("lower_triangular", lower=True)
solve_upper_triangular = Solve("upper_triangular", lower=False)
solve_symmetric = Solve("symmetric")


# ---------------------------------------------------------------- matrix exponential

_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
           129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
           40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def _expm(a):
    """Matrix exponential by Pade(13) approximation with scaling and squaring (Higham 2005)."""
    a = np.asarray(a, dtype=np.result_type(a.dtype, np.float64))
    n = a.shape[0]
    if n == 0:
        return a.copy()
    norm1 = np.abs(a).sum(axis=0).max()
    s = 0
    if norm1 > _THETA13:
        s = int(np.ceil(np.log2(norm1 / _THETA13)))
    a = a / (2.0 ** s)
    b = _PADE13
    ident = np.eye(n, dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2
             + b[1] * ident)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 \
        + b[0] * ident
    r = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r


class Expm(Op):
    """Matrix exponential of a square matrix."""

    def make_node(self, a):
        a = _float_tensor(a, "expm")
        return Apply(self, [a], [TensorType(a.dtype, (False, False))()])

    def perform(self, node, inputs, output_storage):
        (a,) = inputs
        _check_square(self, a)
        output_storage[0][0] = _expm(a).astype(node.outputs[0].dtype)

    def grad(self, inputs, output_grads):
        return [ExpmGrad()(inputs[0], output_grads[0])]

    def infer_shape(self, node, shapes):
        return [shapes[0]]


class ExpmGrad(Op):
    """Gradient of expm: the Frechet derivative at ``A^T`` in the direction ``G``, read off the
    upper-right block of ``expm([[A^T, G], [0, A^T]])`` (Mathias 1996)."""

    def make_node(self, a, g):
        a, g = as_tensor(a), as_tensor(g)
        return Apply(self, [a, g], [a.type()])

    def perform(self, node, inputs, output_storage):
        a, g = inputs
        n = a.shape[0]
        big = np.zeros((2 * n, 2 * n), dtype=np.result_type(a.dtype, g.dtype, np.float64))
        big[:n, :n] = a.T
        big[n:, n:] = a.T
        big[:n, n:] = g
        output_storage[0][0] = _expm(big)[:n, n:].astype(node.outputs[0].dtype)

    def infer_shape(self, node, shapes):
        return [shapes[0]]


expm = Expm()


def kron(a, b):
    """Kronecker product of two matrices (NumPy semantics for 2-d operands)."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim != 2 or b.ndim != 2:
        raise NotImplementedError("kron: only matrices are supported")
    out = a.dimshuffle(0, "x", 1, "x") * b.dimshuffle("x", 0, "x", 1)
    return out.reshape((a.shape[0] * b.shape[0], a.shape[1] * b.shape[1]), ndim=2)


__all__ = ["Cholesky", "CholeskyGrad", "cholesky", "Solve", "solve", "solve_lower_triangular",
           "solve_upper_triangular", "solve_symmetric", "SolveTriangular", "solve_triangular",
           "Expm", "ExpmGrad", "expm", "kron", "tril", "triu"]

"""Reverse-mode differentiation (``grad``) and finite-difference checking (``verify_grad``).

The pullback of each Op lives next to the Op (``Op.grad`` / ``Op.L_op``);
this module walks the graph from the cost back to the requested variables.
"""
from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from .config import config
from .graph import Apply, Op, Variable, clone_replace, compiler, format_trace, toposort
from .ops import elemwise as elemwise_ops
from .ops import innergraph as innergraph_ops
from .ops import reduce as reduce_ops
from .ops import scan as scan_ops
from .ops import shape as shape_ops
from .ops.sharedvar import shared
from .ops.type import TensorType, DISCRETE_DTYPES


class DisconnectedInputError(ValueError):
    """grad() was asked for a variable the cost does not depend on."""


class NullTypeGradError(TypeError):
    pass


class _ConsiderConstant(Op):
    """Identity whose gradient is zero (``consider_constant`` / ``zero_grad``)."""

    view_map = {0: [0]}

    def make_node(self, x):
        x = elemwise_ops.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def grad(self, inputs, output_grads):
        return [elemwise_ops.zeros_like(inputs[0])]

    def infer_shape(self, node, shapes):
        return shapes


consider_constant_op = _ConsiderConstant()


def zero_grad(x):
    """x in the forward pass, with zero gradient."""
    return consider_constant_op(x)


disconnected_grad = zero_grad


def consider_constant(x):
    """Theano's ``gradient.consider_constant(x)``: x, with the gradient stopped there."""
    return consider_constant_op(x)


class _GradTransform(Op):
    """Identity in the forward pass whose pullback transforms the incoming gradient."""

    view_map = {0: [0]}

    def make_node(self, x, *params):
        x = elemwise_ops.as_tensor_variable(x)
        params = [elemwise_ops.as_tensor_variable(p) for p in params]
        for p in params:
            if p.ndim != 0:
                raise TypeError(f"{type(self).__name__}: its bounds/factor must be scalars, "
                                f"got {p.type}")
        return Apply(self, [x] + params, [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, node, shapes):
        return shapes[:1]

    def connection_pattern(self, node):
        return [[True]] + [[False]] * (len(node.inputs) - 1)


class GradClip(_GradTransform):
    """``grad_clip``: the gradient flowing back is clipped to [lower, upper]."""

    def grad(self, inputs, output_grads):
        x, lo, hi = inputs
        return [elemwise_ops.clip(output_grads[0], lo, hi), None, None]


class GradScale(_GradTransform):
    """``grad_scale``: the gradient flowing back is multiplied by a factor."""

    def grad(self, inputs, output_grads):
        x, factor = inputs
        return [output_grads[0] * factor, None]


def grad_clip(x, lower_bound, upper_bound):
    """Theano's ``gradient.grad_clip(x, lower_bound, upper_bound)``: x in the forward pass;
    the gradient reaching x through it is clipped elementwise to [lower_bound, upper_bound].

    >>> z = T.grad(grad_clip(x, -1, 1) ** 2, x)     # clip(2 * x, -1, 1)
    """
    if not isinstance(lower_bound, Variable) and not isinstance(upper_bound, Variable) \
            and lower_bound > upper_bound:
        raise ValueError(f"grad_clip: lower_bound {lower_bound} is above upper_bound "
                         f"{upper_bound}")
    return GradClip()(x, lower_bound, upper_bound)


def grad_scale(x, multiplier):
    """Theano's ``gradient.grad_scale(x, multiplier)``: x, with its gradient scaled."""
    return GradScale()(x, multiplier)


def grad(cost: Variable | None, wrt: Variable | Sequence[Variable],
         consider_constant: Sequence[Variable] | None = None, disconnected_inputs: str = "raise",
         add_names: bool = True, known_grads: Mapping[Variable, Any] | None = None,
         return_disconnected: str = "zero", null_gradients: str = "raise") -> Any:
    """Symbolic gradient of scalar ``cost`` with respect to ``wrt`` (a variable or list).

    >>> x = T.dscalar('x'); gx = T.grad(x ** 2, x)   # 2 * x

    Integer-typed ``wrt`` get a zero gradient (as in Theano). A ``wrt`` the
    cost does not depend on raises DisconnectedInputError unless
    ``disconnected_inputs`` is 'warn' or 'ignore' (then its gradient is zero).
    """

    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    if cost is not None:
        cost = elemwise_ops.as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError(f"grad: cost must be a scalar, got {cost.type} "
                            f"(built at {cost.where()}); use reduce_ops.sum or reduce_ops.mean first")
        if cost.dtype in DISCRETE_DTYPES:
            raise TypeError(f"grad: cost must be a float, got {cost.type}")
    for w in wrt_list:
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt must contain symbolic variables, got {type(w).__name__}")

    blockers = set(consider_constant or [])
    outputs = [cost] if cost is not None else []
    if known_grads:
        outputs = outputs + list(known_grads)

    # variables on a path from wrt to cost
    on_path = _connected(outputs, wrt_list, blockers)

    grads = {}
    if cost is not None:
        grads[cost] = elemwise_ops.ones_like(cost)
    for v, g in (known_grads or {}).items():
        grads[v] = _accumulate(grads.get(v), elemwise_ops.as_tensor_variable(g))

    for node in reversed(toposort(outputs, inputs=[b for b in blockers])):
        if not any(o in grads for o in node.outputs):
            continue
        if not any(i in on_path for i in node.inputs):
            continue
        out_grads = []
        for o in node.outputs:
            g = grads.get(o)
            if g is None:   # non-tensor outputs (a RandomState) get no gradient
                g = elemwise_ops.zeros_like(o) if isinstance(o.type, TensorType) else None
            out_grads.append(g)
        try:
            in_grads = node.op.L_op(node.inputs, node.outputs, out_grads)
        except NotImplementedError as exc:
            raise NotImplementedError(f"{exc} (node {node}, built at "
                                      f"{node.outputs[0].where()})") from None
        if len(in_grads) != len(node.inputs):
            raise ValueError(f"{node.op}.grad returned {len(in_grads)} gradients for "
                             f"{len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, in_grads):
            if g is None or inp not in on_path or inp in blockers:
                continue
            g = elemwise_ops.as_tensor_variable(g)
            if g.ndim != inp.ndim:
                raise ValueError(f"{node.op}.grad returned a {g.ndim}-d gradient for a "
                                 f"{inp.ndim}-d input")
            _copy_trace(g, node.outputs[0])
            grads[inp] = _accumulate(grads.get(inp), g)

    result = []
    for w in wrt_list:
        g = grads.get(w)
        if w.type.dtype in DISCRETE_DTYPES:
            g = elemwise_ops.zeros_like(w, dtype=_float_like(w))
        elif g is None:
            # on the path only through integer-valued steps (a cast to int): zero, as in Theano
            msg = (f"grad: the cost does not depend on {w} (built at {w.where()}); "
                   f"pass disconnected_inputs='ignore' to get a zero gradient")
            if disconnected_inputs == "raise" and w not in on_path:
                raise DisconnectedInputError(msg)
            if disconnected_inputs == "warn" and w not in on_path:
                warnings.warn(msg, stacklevel=2)
            g = elemwise_ops.zeros_like(w)
        else:
            if g.dtype != w.dtype:
                g = elemwise_ops.cast(g, w.dtype)
            if g.broadcastable != w.broadcastable:
                g = elemwise_ops.patternbroadcast(g, w.broadcastable)
        if add_names and w.name and cost is not None and g.name is None:
            g.name = f"(d{cost.name or 'cost'}/d{w.name})"
        result.append(g)
    return result[0] if single else result


def _float_like(v):
    return config.floatX


def _copy_trace(g, src):
    if g.owner is not None and getattr(src.tag, "trace", None):
        g.tag.trace = src.tag.trace


def _accumulate(a, b):
    if a is None:
        return b
    return a + b


def _connected(outputs, wrt, blockers):
    """Variables that lie on some path from a ``wrt`` variable to ``outputs``."""
    wrt = set(wrt)
    order = toposort(outputs, inputs=list(blockers))
    reach = set(v for v in wrt)
    for node in order:
        if any(i in reach and i not in blockers for i in node.inputs):
            reach.update(node.outputs)
    # keep only those that also lead to outputs
    useful = set(outputs) & reach
    for node in reversed(order):
        if any(o in useful for o in node.outputs):
            useful.update(i for i in node.inputs if i in reach)
    return useful | (wrt & useful)


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """Vector times Jacobian: ``eval_points`` (shaped like ``f``) pulled back to ``wrt``.

    >>> x = T.dvector('x'); W = T.dmatrix('W'); v = T.dvector('v')
    >>> VJ = T.Lop(T.dot(x, W), W, v)          # outer(x, v)

    ``f`` and ``eval_points`` may be lists of the same length.
    """
    fs = list(f) if isinstance(f, (list, tuple)) else [f]
    evs = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(fs) != len(evs):
        raise ValueError(f"Lop: {len(fs)} expressions but {len(evs)} eval_points")
    known = {}
    for fi, ev in zip(fs, evs):
        ev = elemwise_ops.as_tensor_variable(ev)
        if ev.ndim != fi.ndim:
            raise ValueError(f"Lop: eval_point of type {ev.type} for an expression of type {fi.type}")
        known[fi] = elemwise_ops.cast(ev, fi.dtype)
    return grad(None, wrt, consider_constant=consider_constant,
                disconnected_inputs=disconnected_inputs, known_grads=known)


def Rop(f, wrt, eval_points):
    """Jacobian times vector: the change of ``f`` when ``wrt`` moves along ``eval_points``.

    >>> W = T.dmatrix('W'); V = T.dmatrix('V'); x = T.dvector('x')
    >>> JV = T.Rop(T.dot(x, W), W, V)          # dot(x, V)

    Computed as the gradient, with respect to a dummy ``u``, of ``Lop(f, wrt, u) . eval_points``
    (linear in ``u``, so ``u`` is then replaced by zeros). ``f`` may be a list.
    """
    single = not isinstance(f, (list, tuple))
    fs = [f] if single else list(f)
    ws = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    evs = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(ws) != len(evs):
        raise ValueError(f"Rop: {len(ws)} variables but {len(evs)} eval_points")
    dummies = [fi.type() for fi in fs]
    pulled = Lop(fs, ws, dummies, disconnected_inputs="ignore")
    inner = reduce_ops.sum([reduce_ops.sum(p * elemwise_ops.cast(ev, p.dtype)) for p, ev in zip(pulled, evs)]) \
        if len(ws) > 1 else reduce_ops.sum(pulled[0] * elemwise_ops.cast(evs[0], pulled[0].dtype))
    outs = grad(inner, dummies, disconnected_inputs="ignore")
    outs = clone_replace(outs, {u: elemwise_ops.zeros_like(fi) for u, fi in zip(dummies, fs)})
    return outs[0] if single else outs


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The Jacobian of a vector ``expression`` with respect to ``wrt`` (a variable or list):
    row ``i`` is ``grad(expression[i], wrt)``, computed by a scan over ``i``.

    >>> J = jacobian(T.tanh(T.dot(W, x)), x)        # (len(y), len(x))

    A scalar expression gives its gradient.
    """
    single = not isinstance(wrt, (list, tuple))
    ws = [wrt] if single else list(wrt)
    expression = elemwise_ops.as_tensor_variable(expression)
    if expression.ndim == 0:
        return grad(expression, wrt, consider_constant=consider_constant,
                    disconnected_inputs=disconnected_inputs)
    if expression.ndim != 1:
        raise TypeError(f"jacobian: the expression must be a vector (or a scalar), got "
                        f"{expression.type} (built at {expression.where()}); flatten it first")

    def row(i, y, *xs):
        return grad(y[i], list(xs), consider_constant=consider_constant,
                    disconnected_inputs=disconnected_inputs)

    rows, _ = scan_ops.build_scan(row, sequences=shape_ops.arange(expression.shape[0]),
                                  non_sequences=[expression] + ws, name="jacobian",
                                  return_list=True)
    return rows[0] if single else rows


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The Hessian of scalar ``cost`` with respect to each vector in ``wrt``: the Jacobian of
    its gradient (a scan over the gradient's entries).

    >>> H = hessian(T.sum(x ** 3), x)                # diag(6 x)
    """
    single = not isinstance(wrt, (list, tuple))
    ws = [wrt] if single else list(wrt)
    cost = elemwise_ops.as_tensor_variable(cost)
    if cost.ndim != 0:
        raise TypeError(f"hessian: the cost must be a scalar, got {cost.type}")
    out = []
    for w in ws:
        if w.ndim != 1:
            raise TypeError(f"hessian: wrt must be vectors, got {w} of type {w.type}; flatten "
                            f"the parameter or compute the Jacobian of its gradient")
        g = grad(cost, w, consider_constant=consider_constant,
                 disconnected_inputs=disconnected_inputs)
        out.append(jacobian(g, w, consider_constant=consider_constant,
                            disconnected_inputs=disconnected_inputs))
    return out[0] if single else out


innergraph_ops.register_gradient(grad)     # the control-flow ops' L_op reach grad through it


class GradientError(AssertionError):
    """verify_grad found a symbolic gradient that disagrees with finite differences."""


def verify_grad(fun, pt, n_tests=2, rng=None, eps=None, out_type=None, abs_tol=None,
                rel_tol=None, mode=None, cast_to_output_type=False, no_debug_ref=True):
    """Check ``grad`` of ``fun`` at points ``pt`` against central finite differences.

    ``fun`` takes symbolic tensors (one per array in ``pt``) and returns a
    symbolic tensor; the check projects its output on a random direction.
    Raises :class:`GradientError` with the worst element on mismatch.
    """

    if rng is None:
        rng = np.random.RandomState(42)
    pt = [np.array(p) for p in pt]
    for p in pt:
        if p.dtype.kind != "f":
            raise TypeError(f"verify_grad needs float points, got {p.dtype}")
    dtype = np.result_type(*pt)
    if eps is None:
        eps = 1e-7 if dtype == np.float64 else 3e-3
    if abs_tol is None:
        abs_tol = 1e-4 if dtype == np.float64 else 3e-2
    if rel_tol is None:
        rel_tol = 1e-4 if dtype == np.float64 else 3e-2

    tensor_pt = [TensorType(p.dtype.name, (False,) * p.ndim)(f"input{i}")
                 for i, p in enumerate(pt)]
    out = elemwise_ops.as_tensor_variable(fun(*tensor_pt))
    function = compiler()
    f_out = function(tensor_pt, out, mode=mode, on_unused_input="ignore")
    o_val = np.asarray(f_out(*pt))
    for _ in range(n_tests):
        proj = np.asarray(rng.rand(*o_val.shape) + 0.5, dtype=out.dtype)  # rand() is a float for 0-d
        t_proj = shared(proj, name="random_projection")
        cost = reduce_ops.sum(out * t_proj)
        sym_grads = grad(cost, tensor_pt, disconnected_inputs="ignore")
        f_cost = function(tensor_pt, cost, mode=mode, on_unused_input="ignore")
        f_grad = function(tensor_pt, sym_grads, mode=mode, on_unused_input="ignore")
        analytic = f_grad(*pt)
        for k, p in enumerate(pt):
            num = np.zeros_like(p, dtype=np.float64)
            flat = p.reshape(-1)
            for j in range(flat.size):
                old = flat[j]
                flat[j] = old + eps
                c_plus = float(f_cost(*pt))
                flat[j] = old - eps
                c_minus = float(f_cost(*pt))
                flat[j] = old
                num.reshape(-1)[j] = (c_plus - c_minus) / (2 * eps)
            a = np.asarray(analytic[k], dtype=np.float64)
            abs_err = np.abs(a - num)
            rel_err = abs_err / np.maximum(np.abs(a) + np.abs(num), 1e-8)
            bad = (abs_err > abs_tol) & (rel_err > rel_tol)
            if bad.any():
                j = int(np.argmax(np.where(bad, abs_err, 0)))
                raise GradientError(
                    f"verify_grad: gradient of input {k} (shape {p.shape}) disagrees with finite "
                    f"differences at flat index {j}: symbolic {a.reshape(-1)[j]!r}, numeric "
                    f"{num.reshape(-1)[j]!r} (abs err {abs_err.reshape(-1)[j]:.3g}, "
                    f"rel err {rel_err.reshape(-1)[j]:.3g})")


__all__ = ["grad", "verify_grad", "zero_grad", "disconnected_grad", "consider_constant",
           "grad_clip", "grad_scale", "Lop", "Rop", "jacobian",
           "hessian",
           "DisconnectedInputError",
           "GradientError", "format_trace"]

"""Elemwise (a scalar op mapped over broadcast tensors) and DimShuffle."""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Op, Variable
from ..tensor.type import TensorType
from . import scalar as ps


def as_tensor(x, name=None, dtype=None):
    if isinstance(x, Variable) and isinstance(x.type, TensorType):
        return x                # the common case, without the function-level import
    from ..tensor.basic import as_tensor_variable
    return as_tensor_variable(x, name=name, dtype=dtype)


class Elemwise(Op):
    """Apply ``scalar_op`` elementwise with Theano broadcasting.

    Inputs of lower rank are padded on the left with broadcastable
    dimensions. ``inplace_pattern`` maps output index -> input index whose
    buffer the output overwrites (set by the inplace rewrite).
    """

    __props__ = ("scalar_op", "inplace_pattern")

    def __init__(self, scalar_op, inplace_pattern=()):
        self.scalar_op = scalar_op
        if isinstance(inplace_pattern, dict):
            inplace_pattern = tuple(sorted(inplace_pattern.items()))
        self.inplace_pattern = tuple(inplace_pattern)
        self.destroy_map = {o: [i] for o, i in self.inplace_pattern}

    def __str__(self):
        name = self.scalar_op.name
        if isinstance(self.scalar_op, ps.Composite):
            name = "Composite{" + "; ".join(self.scalar_op.describe()) + "}"
        if self.inplace_pattern:
            return f"Elemwise{{{name}}}[inplace {dict(self.inplace_pattern)}]"
        return f"Elemwise{{{name}}}"

    def make_node(self, *inputs):
        inputs = [as_tensor(i) for i in inputs]
        if len(inputs) != self.scalar_op.nin:
            raise TypeError(f"{self} takes {self.scalar_op.nin} inputs, got {len(inputs)}")
        ndim = max([i.ndim for i in inputs] + [0])
        padded = []
        for i in inputs:
            if i.ndim < ndim:
                i = DimShuffle(i.broadcastable, ["x"] * (ndim - i.ndim) + list(range(i.ndim)))(i)
            padded.append(i)
        bcast = tuple(all(i.broadcastable[d] for i in padded) for d in range(ndim))
        out_dtypes = self.scalar_op.output_dtypes([i.dtype for i in padded])
        for o, i in self.inplace_pattern:
            if padded[i].dtype != out_dtypes[o] or padded[i].broadcastable != bcast:
                raise TypeError(f"{self}: cannot work inplace on input {i}")
        outs = [TensorType(dt, bcast)() for dt in out_dtypes]
        return Apply(self, padded, outs)

    def check_shapes(self, node, inputs):
        """The output shape; raise ValueError naming the op and shapes when the runtime shapes
        do not broadcast (a dimension broadcasts only where its type says so)."""
        shape = []
        for d in range(node.outputs[0].ndim):
            size = None
            for var, val in zip(node.inputs, inputs):
                if var.broadcastable[d]:
                    continue
                s = val.shape[d]
                if size is None:
                    size = s
                elif s != size:
                    shapes = ", ".join(str(np.shape(v)) for v in inputs)
                    raise ValueError(
                        f"{self}: input shapes do not match along dimension {d}: got {shapes} "
                        f"(a dimension broadcasts only when its type marks it broadcastable)")
            shape.append(1 if size is None else size)
        return tuple(shape)

    def perform(self, node, inputs, output_storage):
        shape = self.check_shapes(node, inputs)
        result = self.scalar_op.impl(*inputs)
        if self.scalar_op.nout == 1:
            result = (result,)
        for o, (store, res, var) in enumerate(zip(output_storage, result, node.outputs)):
            res = np.asarray(res, dtype=var.dtype)
            if res.shape != shape:
                res = np.broadcast_to(res, shape).copy()
            elif any(res is i for i in inputs):   # e.g. second(x, y) returns y: no view_map
                res = res.copy()
            if self.inplace_pattern and o in dict(self.inplace_pattern):
                target = inputs[dict(self.inplace_pattern)[o]]
                target[...] = res
                res = target
            store[0] = res

    def L_op(self, inputs, outputs, output_grads):
        from ..tensor import basic as T
        if self.scalar_op.nout != 1:
            raise NotImplementedError(f"gradient of multi-output {self}")
        gz = output_grads[0]
        grads = self.scalar_op.grad(inputs, outputs[0], gz)
        result = []
        for inp, g in zip(inputs, grads):
            if g is None:
                result.append(None)
                continue
            g = as_tensor(g)
            # sum over dimensions where this input was broadcast
            axes = [d for d in range(g.ndim) if inp.broadcastable[d] and not g.broadcastable[d]]
            if axes:
                g = T.sum(g, axis=axes, keepdims=True)
            if g.ndim == inp.ndim and g.broadcastable != inp.broadcastable:
                g = T.patternbroadcast(g, inp.broadcastable)
            if g.dtype != inp.dtype and inp.type.is_float:
                g = T.cast(g, inp.dtype)
            result.append(g)
        return result

    def infer_shape(self, node, shapes):
        out_shape = []
        for d in range(node.outputs[0].ndim):
            dim = None
            for var, sh in zip(node.inputs, shapes):
                if not var.broadcastable[d]:
                    dim = sh[d]
                    break
            out_shape.append(1 if dim is None else dim)
        return [tuple(out_shape)] * len(node.outputs)


class DimShuffle(Op):
    """Permute dimensions, drop broadcastable ones, insert broadcastable ones ('x').

    ``x.dimshuffle(1, 'x', 0)`` on a matrix gives a (cols, 1, rows) tensor.
    The output is a view of the input.
    """

    __props__ = ("input_broadcastable", "new_order")
    view_map = {0: [0]}

    def __init__(self, input_broadcastable, new_order):
        self.input_broadcastable = tuple(input_broadcastable)
        self.new_order = tuple(new_order)
        nd = len(self.input_broadcastable)
        kept = [d for d in self.new_order if d != "x"]
        for d in kept:
            if not isinstance(d, (int, np.integer)) or not 0 <= d < nd:
                raise ValueError(f"DimShuffle: invalid dimension {d!r} for a {nd}-d input")
        if len(set(kept)) != len(kept):
            raise ValueError(f"DimShuffle: repeated dimension in {self.new_order}")
        self.drop = tuple(d for d in range(nd) if d not in kept)
        for d in self.drop:
            if not self.input_broadcastable[d]:
                raise ValueError(f"DimShuffle {self.new_order}: cannot drop non-broadcastable "
                                 f"dimension {d} of an input with broadcastable "
                                 f"{self.input_broadcastable}")
        self.shuffle = tuple(kept)
        self.augment = tuple(i for i, d in enumerate(self.new_order) if d == "x")

    def __str__(self):
        return "DimShuffle{" + ",".join(str(d) for d in self.new_order) + "}"

    @property
    def is_transpose(self):
        return "x" not in self.new_order and not self.drop and self.new_order != tuple(range(len(self.new_order)))

    def make_node(self, x):
        x = as_tensor(x)
        if x.broadcastable != self.input_broadcastable:
            if len(x.broadcastable) != len(self.input_broadcastable):
                raise TypeError(f"{self}: expected a {len(self.input_broadcastable)}-d input, "
                                f"got {x.type}")
            # allow inputs that are more broadcastable than declared
            for a, b in zip(x.broadcastable, self.input_broadcastable):
                if b and not a:
                    raise TypeError(f"{self}: input type {x.type} does not match {self.input_broadcastable}")
        bcast = tuple(True if d == "x" else x.broadcastable[d] for d in self.new_order)
        return Apply(self, [x], [TensorType(x.dtype, bcast)()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        out_shape = []
        for d in self.new_order:
            out_shape.append(1 if d == "x" else x.shape[d])
        res = np.transpose(x, self.shuffle + self.drop) if x.ndim else x
        output_storage[0][0] = np.reshape(res, out_shape)

    def grad(self, inputs, output_grads):
        from ..tensor import basic as T
        (x,), (gz,) = inputs, output_grads
        order = [None] * x.ndim
        kept = [d for d in self.new_order if d != "x"]
        # gz has the output layout; undo it
        gz_axes = [i for i, d in enumerate(self.new_order) if d != "x"]
        g = gz
        if self.augment:
            g = T.sum(g, axis=list(self.augment), keepdims=True) if any(
                not g.broadcastable[i] for i in self.augment) else g
            g = DimShuffle(g.broadcastable, [i for i in range(g.ndim) if i not in self.augment])(g)
        # now g has dims in order `kept`; add dropped dims and invert permutation
        for pos, d in enumerate(kept):
            order[d] = pos
        new_order = []
        for d in range(x.ndim):
            new_order.append("x" if order[d] is None else order[d])
        del gz_axes
        g = DimShuffle(g.broadcastable, new_order)(g)
        return [T.patternbroadcast(g, x.broadcastable) if g.broadcastable != x.broadcastable else g]

    def infer_shape(self, node, shapes):
        (sh,) = shapes
        return [tuple(1 if d == "x" else sh[d] for d in self.new_order)]

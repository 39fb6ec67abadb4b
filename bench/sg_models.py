"""The symgraph side of each benchmark, written with the Theano-style API as the seeds write it.

Every builder takes the same numpy arrays as its peer in :mod:`bench.peers_torch` /
:mod:`bench.peers_numpy` (Theano layout, ``lenet_init_params()`` / ``convnet_init_params()``),
keeps its data in shared variables, and returns a zero-argument callable, so a timed call
excludes host -> device conversion exactly as the peers' callables do::

    import symgraph as theano
    from bench import sg_models, peers_torch
    net = sg_models.LeNetSG(peers_torch.lenet_init_params(), x, y, batch_size=500)
    step = net.make_step()          # one SGD step on minibatch 0, returns the cost

The graphs follow the seeds line by line: seed 001's ``LeNetConvPoolLayer`` / ``HiddenLayer``
/ ``LogisticRegression`` with ``givens`` slicing shared data by ``index``; seed 000's
``model()`` with ``rectify``, its own ``softmax``, MRG dropout and ``RMSprop``. The caller
sets ``symgraph.config.floatX = 'float32'`` first, as the seeds' ``THEANO_FLAGS`` did.

A symgraph module that another engineer has not written yet (conv2d, pool_2d, softmax,
MRG_RandomStreams) raises :class:`FeatureMissing`, which the runner reports as a skipped row.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

import symgraph as theano
import symgraph.tensor as T

__all__ = [
    "FeatureMissing", "LeNetSG", "ConvnetSG", "conv2d_fwd_bwd", "maxpool", "softmax_xent",
    "fused5", "reduce_large", "one_op",
]


class FeatureMissing(RuntimeError):
    """A symgraph op a benchmark needs is not available (yet)."""


def _conv2d():
    try:
        from symgraph.tensor.nnet import conv2d
    except ImportError as exc:
        raise FeatureMissing(f"symgraph.tensor.nnet.conv2d: {exc}") from None
    return conv2d


def _pool_2d():
    try:
        from symgraph.tensor.signal.pool import pool_2d
    except ImportError as exc:
        raise FeatureMissing(f"symgraph.tensor.signal.pool.pool_2d: {exc}") from None
    return pool_2d


def _softmax():
    try:
        from symgraph.tensor.nnet import softmax
    except ImportError as exc:
        raise FeatureMissing(f"symgraph.tensor.nnet.softmax: {exc}") from None
    return softmax


def _categorical_crossentropy():
    try:
        from symgraph.tensor.nnet import categorical_crossentropy
    except ImportError as exc:
        raise FeatureMissing(f"symgraph.tensor.nnet.categorical_crossentropy: {exc}") from None
    return categorical_crossentropy


def _mrg_streams():
    try:
        from symgraph.sandbox.rng_mrg import MRG_RandomStreams
    except ImportError as exc:
        raise FeatureMissing(f"symgraph.sandbox.rng_mrg.MRG_RandomStreams: {exc}") from None
    return MRG_RandomStreams


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype="float32")


# ---------------------------------------------------------------------------
# LeNet (seed 001, the deeplearning.net tutorial)
# ---------------------------------------------------------------------------

class LeNetSG:
    """Seed 001's LeNet: two ``LeNetConvPoolLayer``, a tanh ``HiddenLayer``, ``LogisticRegression``.

    ``params``: arrays named as :func:`bench.peers_torch.lenet_init_params` returns them.
    ``x_data`` (n, 784) float and ``y_data`` (n,) labels become shared variables, the labels
    stored as floatX and cast to int32 as the tutorial's ``shared_dataset`` does.
    ``train_model(index)`` is the tutorial's function: cost, SGD updates, ``givens`` slices.

    >>> net = LeNetSG(peers_torch.lenet_init_params(), x, y, batch_size=500)   # doctest: +SKIP
    >>> net.make_step()()                                                      # doctest: +SKIP
    2.3025851
    """

    names = ("W0", "b0", "W1", "b1", "W2", "b2", "W3", "b3")
    shapes = {"W0": (20, 1, 5, 5), "b0": (20,), "W1": (50, 20, 5, 5), "b1": (50,),
              "W2": (800, 500), "b2": (500,), "W3": (500, 10), "b3": (10,)}

    @classmethod
    def random_params(cls, seed: int = 0, scale: float = 0.05) -> dict[str, np.ndarray]:
        """Parameters of the right shapes without torch (for compile-time measurements)."""
        rng = np.random.default_rng(seed)
        return {n: _f32(rng.standard_normal(s) * scale) for n, s in cls.shapes.items()}

    def __init__(self, params: dict[str, np.ndarray], x_data, y_data, batch_size: int,
                 lr: float = 0.1, mode=None, nkerns=(20, 50)):
        conv2d, pool_2d, softmax = _conv2d(), _pool_2d(), _softmax()
        self.batch_size = batch_size
        self.params = {n: theano.shared(_f32(params[n]), name=n) for n in self.names}
        self.train_set_x = theano.shared(_f32(x_data), name="train_set_x")
        train_set_y = T.cast(theano.shared(_f32(y_data), name="train_set_y"), "int32")

        index = T.lscalar("index")
        x = T.matrix("x")
        y = T.ivector("y")
        p = self.params

        def conv_pool_layer(inp, W, b, filter_shape, image_shape):
            conv_out = conv2d(input=inp, filters=W, filter_shape=filter_shape, input_shape=image_shape)
            pooled_out = pool_2d(conv_out, (2, 2), ignore_border=True)
            return T.tanh(pooled_out + b.dimshuffle("x", 0, "x", "x"))

        layer0_input = x.reshape((batch_size, 1, 28, 28))
        layer0 = conv_pool_layer(layer0_input, p["W0"], p["b0"], (nkerns[0], 1, 5, 5),
                                 (batch_size, 1, 28, 28))
        layer1 = conv_pool_layer(layer0, p["W1"], p["b1"], (nkerns[1], nkerns[0], 5, 5),
                                 (batch_size, nkerns[0], 12, 12))
        layer2 = T.tanh(T.dot(layer1.flatten(2), p["W2"]) + p["b2"])
        p_y_given_x = softmax(T.dot(layer2, p["W3"]) + p["b3"])
        cost = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])   # negative_log_likelihood

        plist = [p[n] for n in self.names]
        grads = T.grad(cost, plist)
        updates = [(param_i, param_i - lr * grad_i) for param_i, grad_i in zip(plist, grads)]
        t0 = time.perf_counter()
        self.train_model = theano.function(
            [index], cost, updates=updates, mode=mode,
            givens={x: self.train_set_x[index * batch_size: (index + 1) * batch_size],
                    y: train_set_y[index * batch_size: (index + 1) * batch_size]})
        self.function_s = time.perf_counter() - t0   # function() alone: rewrites + backend build

    def make_step(self, index: int = 0) -> Callable[[], object]:
        """One SGD step on minibatch ``index``; the callable returns the cost before the update."""
        train_model = self.train_model
        return lambda: train_model(index)

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Put the parameters back to ``params`` (to check against a fresh peer)."""
        for n in self.names:
            self.params[n].set_value(_f32(params[n]))

    def get_params(self) -> dict[str, np.ndarray]:
        return {n: np.asarray(v.get_value()) for n, v in self.params.items()}


# ---------------------------------------------------------------------------
# Radford's convnet (seed 000, Theano-Tutorials 5_convolutional_net)
# ---------------------------------------------------------------------------

def rectify(X):
    return T.maximum(X, 0.)


def softmax(X):
    """Seed 000's own softmax (not ``T.nnet.softmax``)."""
    e_x = T.exp(X - X.max(axis=1).dimshuffle(0, "x"))
    return e_x / e_x.sum(axis=1).dimshuffle(0, "x")


class ConvnetSG:
    """Seed 000's convnet and its RMSprop training function.

    ``params``: ``w w2 w3 w4 w_o`` as :func:`bench.peers_torch.convnet_init_params` returns them.
    ``x_data`` (n, 1, 28, 28) and one-hot ``y_data`` (n, 10) live in shared variables.
    :meth:`make_step` compiles (once per ``dropout`` setting) the seed's ``train`` with
    ``givens`` slicing minibatch ``index``; both functions share parameters and RMSprop
    accumulators, so ``dropout=False`` can check the model and ``dropout=True`` time it.
    """

    names = ("w", "w2", "w3", "w4", "w_o")

    def __init__(self, params: dict[str, np.ndarray], x_data, y_data, batch_size: int,
                 lr: float = 0.001, rho: float = 0.9, epsilon: float = 1e-6,
                 p_drop_conv: float = 0.2, p_drop_hidden: float = 0.5, mode=None, seed: int = 1234):
        self._conv2d, self._pool_2d = _conv2d(), _pool_2d()
        self.batch_size, self.mode, self.seed = batch_size, mode, seed
        self.lr, self.rho, self.epsilon = lr, rho, epsilon
        self.p_drop_conv, self.p_drop_hidden = p_drop_conv, p_drop_hidden
        self.params = {n: theano.shared(_f32(params[n]), name=n) for n in self.names}
        # RMSprop's accumulators: theano.shared(p.get_value() * 0.)
        self.acc = {n: theano.shared(_f32(params[n]) * 0, name="acc_" + n) for n in self.names}
        self.trX = theano.shared(_f32(x_data).reshape(-1, 1, 28, 28), name="trX")
        self.trY = theano.shared(_f32(y_data), name="trY")
        self._train = {}

    def _model(self, X, p_drop_conv, p_drop_hidden):
        conv2d, pool_2d = self._conv2d, self._pool_2d
        w, w2, w3, w4, w_o = (self.params[n] for n in self.names)
        srng = self._srng

        def dropout(X, p=0.):
            if p > 0:
                retain_prob = 1 - p
                X = X * srng.binomial(X.shape, p=retain_prob, dtype=theano.config.floatX)
                X = X / retain_prob
            return X

        l1a = rectify(conv2d(X, w, border_mode="full"))
        l1 = dropout(pool_2d(l1a, (2, 2), ignore_border=False), p_drop_conv)
        l2a = rectify(conv2d(l1, w2))
        l2 = dropout(pool_2d(l2a, (2, 2), ignore_border=False), p_drop_conv)
        l3a = rectify(conv2d(l2, w3))
        l3b = pool_2d(l3a, (2, 2), ignore_border=False)
        l3 = dropout(T.flatten(l3b, outdim=2), p_drop_conv)
        l4 = dropout(rectify(T.dot(l3, w4)), p_drop_hidden)
        return softmax(T.dot(l4, w_o))

    def _compile(self, dropout: bool):
        self._srng = _mrg_streams()(seed=self.seed) if dropout else None
        X, Y, index = T.ftensor4("X"), T.fmatrix("Y"), T.lscalar("index")
        if dropout:
            noise_py_x = self._model(X, self.p_drop_conv, self.p_drop_hidden)
        else:
            noise_py_x = self._model(X, 0., 0.)
        cost = T.mean(_categorical_crossentropy()(noise_py_x, Y))
        params = [self.params[n] for n in self.names]
        grads = T.grad(cost=cost, wrt=params)
        updates = []
        for n, p, g in zip(self.names, params, grads):   # the seed's RMSprop
            acc = self.acc[n]
            acc_new = self.rho * acc + (1 - self.rho) * g ** 2
            gradient_scaling = T.sqrt(acc_new + self.epsilon)
            g = g / gradient_scaling
            updates.append((acc, acc_new))
            updates.append((p, p - self.lr * g))
        b = self.batch_size
        return theano.function(inputs=[index], outputs=cost, updates=updates, mode=self.mode,
                               givens={X: self.trX[index * b:(index + 1) * b],
                                       Y: self.trY[index * b:(index + 1) * b]})

    def make_step(self, dropout: bool = True, index: int = 0) -> Callable[[], object]:
        """One RMSprop step on minibatch ``index``; the callable returns the cost."""
        if dropout not in self._train:
            self._train[dropout] = self._compile(dropout)
        train = self._train[dropout]
        return lambda: train(index)

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Put the parameters back to ``params`` and RMSprop's accumulators to zero."""
        for n in self.names:
            self.params[n].set_value(_f32(params[n]))
            self.acc[n].set_value(_f32(params[n]) * 0)

    def get_params(self) -> dict[str, np.ndarray]:
        return {n: np.asarray(v.get_value()) for n, v in self.params.items()}


# ---------------------------------------------------------------------------
# Micro-kernels: same signatures and results as the peers in bench.peers_torch
# (inputs held in shared variables, the callable returns numpy arrays).
# ---------------------------------------------------------------------------

def conv2d_fwd_bwd(x: np.ndarray, w: np.ndarray, gy: np.ndarray | None = None,
                   input_grad: bool = True, border_mode: str = "valid", mode=None,
                   subsample=(1, 1), backward: bool = True) -> Callable[[], tuple]:
    """``conv2d(x, w, border_mode, subsample)`` and the gradients of ``sum(y * gy)``: returns
    ``(y, gx, gw)``.

    ``input_grad=False`` returns ``(y, gw)`` (a first layer, whose input is data);
    ``backward=False`` returns ``(y,)``.
    """
    conv2d = _conv2d()
    xs, ws = theano.shared(x, name="x"), theano.shared(w, name="w")
    y = conv2d(xs, ws, input_shape=x.shape, filter_shape=w.shape, border_mode=border_mode,
               subsample=tuple(subsample))
    if not backward:
        fwd = theano.function([], y, mode=mode)
        return lambda: (fwd(),)
    cost = T.sum(y) if gy is None else T.sum(y * theano.shared(gy, name="gy"))
    wrt = [xs, ws] if input_grad else [ws]
    f = theano.function([], [y] + T.grad(cost, wrt), mode=mode)
    return lambda: tuple(f())


def maxpool(x: np.ndarray, ds: tuple[int, int] = (2, 2), ignore_border: bool = True,
            backward: bool = False, mode=None) -> Callable[[], object]:
    """``pool_2d(x, ds, ignore_border)``; with ``backward`` returns ``(out, d out.sum() / dx)``."""
    pool_2d = _pool_2d()
    xs = theano.shared(x, name="x")
    out = pool_2d(xs, ds, ignore_border=ignore_border)
    if not backward:
        return theano.function([], out, mode=mode)
    f = theano.function([], [out, T.grad(out.sum(), xs)], mode=mode)
    return lambda: tuple(f())


def softmax_xent(logits: np.ndarray, y: np.ndarray, backward: bool = False, mode=None) -> Callable[[], object]:
    """``-T.mean(T.log(T.nnet.softmax(z))[T.arange(n), y])``; with ``backward`` also d cost / dz."""
    softmax_ = _softmax()
    z = theano.shared(logits, name="z")
    ys = theano.shared(np.asarray(y, dtype="int32"), name="y")
    cost = -T.mean(T.log(softmax_(z))[T.arange(ys.shape[0]), ys])
    if not backward:
        return theano.function([], cost, mode=mode)
    f = theano.function([], [cost, T.grad(cost, z)], mode=mode)
    return lambda: tuple(f())


def fused5(mode=None):
    """Compiled ``tanh(x * 2 + 1) * x - 0.5`` of a float32 vector (peer: ``peers_numpy.fused5``)."""
    x = T.fvector("x")
    return theano.function([x], T.tanh(x * 2 + 1) * x - 0.5, mode=mode)


def reduce_large(mode=None, axis: int = 1):
    """Compiled ``x.sum(axis=1)`` of a float32 matrix (peer: ``peers_numpy.reduce_large``)."""
    x = T.fmatrix("x")
    return theano.function([x], x.sum(axis=axis), mode=mode)


def one_op(mode=None, trust_input: bool = False):
    """Compiled ``x + 1`` of a float64 vector: per-call overhead (peer: ``peers_numpy.one_op``)."""
    x = T.dvector("x")
    f = theano.function([x], x + 1, mode=mode)
    f.trust_input = trust_input
    return f

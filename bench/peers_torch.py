"""The PyTorch side of each benchmark: the seed networks and the micro-kernels.

Everything takes numpy arrays in Theano's layout and conventions, so the symgraph
side can be handed the very same arrays:

* Theano's ``conv2d`` is a true convolution (it flips the kernel); torch's is a
  cross-correlation. The models therefore *store* each conv kernel flipped in its
  last two axes and flip back in :meth:`get_params` / :meth:`grads`. A flip commutes
  with the elementwise SGD and RMSprop updates, so the trajectory is Theano's.
* ``max_pool_2d(..., ignore_border=False)`` keeps the partial last window: torch's
  ``ceil_mode=True`` (for the stride == window sizes used here).
* Parameters and inputs keep the numpy dtype they arrive in (float64 arrays give a
  float64 model, useful for gradient checks).

The ``make_step`` callables close over tensors already converted from numpy, so a
timing excludes numpy -> torch conversion; symgraph keeps its data in shared
variables, which is the same thing.
"""
from __future__ import annotations

import os
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(os.cpu_count() or 1)

__all__ = [
    "LeNetTorch", "ConvnetTorch", "lenet_init_params", "convnet_init_params",
    "lenet_flops", "convnet_flops", "LENET_CONV_SHAPES",
    "conv2d_fwd_bwd", "maxpool", "softmax_xent",
]

# (input shape, filter shape) of the two LeNet convolutions at batch 500 (seed 001).
LENET_CONV_SHAPES = {
    "conv1": ((500, 1, 28, 28), (20, 1, 5, 5)),
    "conv2": ((500, 20, 12, 12), (50, 20, 5, 5)),
}


def _flip(w: torch.Tensor) -> torch.Tensor:
    """Theano true-convolution kernel <-> torch cross-correlation kernel."""
    return torch.flip(w, dims=(-2, -1))


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).clone()


def _as_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


# ---------------------------------------------------------------------------
# LeNet (deeplearning.net tutorial, seed 001)
# ---------------------------------------------------------------------------

def lenet_init_params(seed: int = 23455, dtype=np.float32) -> dict[str, np.ndarray]:
    """LeNet's parameters exactly as the tutorial draws them from ``RandomState(seed)``.

    Draw order (layer0 W, layer1 W, hidden W) and bounds follow the tutorial; biases
    and the logistic-regression W3 start at zero. Note: W3 = 0 makes the first step's
    gradient for W2/b2 and the conv layers zero; pass your own arrays to exercise them.
    """
    rng = np.random.RandomState(seed)

    def conv_w(shape, pool=(2, 2)):
        fan_in = np.prod(shape[1:])
        fan_out = shape[0] * np.prod(shape[2:]) // np.prod(pool)
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        return np.asarray(rng.uniform(-bound, bound, size=shape), dtype=dtype)

    W0 = conv_w((20, 1, 5, 5))
    W1 = conv_w((50, 20, 5, 5))
    bound = np.sqrt(6.0 / (800 + 500))
    W2 = np.asarray(rng.uniform(-bound, bound, size=(800, 500)), dtype=dtype)
    zeros = lambda *s: np.zeros(s, dtype=dtype)  # noqa: E731
    return {"W0": W0, "b0": zeros(20), "W1": W1, "b1": zeros(50),
            "W2": W2, "b2": zeros(500), "W3": zeros(500, 10), "b3": zeros(10)}


def lenet_flops(batch: int) -> int:
    """Forward + backward FLOPs of one LeNet training step (2 per multiply-add).

    Counts only convolutions and matrix products: forward, weight-gradient and
    input-gradient products each cost 2*MACs, except that conv1 needs no input
    gradient. Elementwise ops, pooling and softmax (<2% here) are left out.
    At batch 500 this is about 6.6 GFLOP.
    """
    conv1 = 20 * 24 * 24 * (1 * 5 * 5)
    conv2 = 50 * 8 * 8 * (20 * 5 * 5)
    dense = 800 * 500 + 500 * 10
    macs_per_example = 2 * conv1 + 3 * (conv2 + dense)
    return 2 * batch * macs_per_example


class LeNetTorch:
    """Seed-001 LeNet in PyTorch: conv(20,5x5)-pool-tanh, conv(50,5x5)-pool-tanh, 500 tanh, softmax 10.

    ``params``: numpy arrays named and shaped as in Theano (see :func:`lenet_init_params`).
    Cost: mean negative log-likelihood; update: plain SGD ``p -= lr * grad``.

    >>> net = LeNetTorch(lenet_init_params())
    >>> x = np.zeros((2, 1, 28, 28), np.float32); y = np.array([3, 7])
    >>> round(net.step(x, y), 4)   # log(10): W3 = 0 gives uniform probabilities
    2.3026
    """

    names = ("W0", "b0", "W1", "b1", "W2", "b2", "W3", "b3")
    conv_names = ("W0", "W1")

    def __init__(self, params: dict[str, np.ndarray], lr: float = 0.1):
        self.lr = lr
        self.params = {}
        for name in self.names:
            t = _tensor(params[name])
            if name in self.conv_names:
                t = _flip(t).contiguous()
            self.params[name] = t.requires_grad_(True)
        self._plist = [self.params[n] for n in self.names]

    def _loss(self, x: torch.Tensor, y: torch.Tensor, *plist: torch.Tensor) -> torch.Tensor:
        W0, b0, W1, b1, W2, b2, W3, b3 = plist
        h = x.reshape(x.shape[0], 1, 28, 28)
        h = torch.tanh(F.max_pool2d(F.conv2d(h, W0), 2) + b0.view(1, -1, 1, 1))
        h = torch.tanh(F.max_pool2d(F.conv2d(h, W1), 2) + b1.view(1, -1, 1, 1))
        h = torch.tanh(h.flatten(1) @ W2 + b2)
        return F.cross_entropy(h @ W3 + b3, y)  # = -mean(log(softmax)[arange, y])

    def _convert(self, x_np, y_np):
        return _tensor(x_np), torch.from_numpy(np.asarray(y_np, dtype=np.int64))

    def _make_update(self, loss_fn) -> Callable[[torch.Tensor, torch.Tensor], float]:
        plist, lr = self._plist, self.lr

        def update(x, y):
            loss = loss_fn(x, y, *plist)
            grads = torch.autograd.grad(loss, plist)
            with torch.no_grad():
                for p, g in zip(plist, grads):
                    p -= lr * g
            return loss.item()
        return update

    def loss(self, x_np: np.ndarray, y_np: np.ndarray) -> float:
        """Cost on a batch, without updating."""
        with torch.no_grad():
            return self._loss(*self._convert(x_np, y_np), *self._plist).item()

    def grads(self, x_np: np.ndarray, y_np: np.ndarray) -> dict[str, np.ndarray]:
        """Gradient of the cost w.r.t. each parameter, in Theano layout, without updating."""
        g = torch.autograd.grad(self._loss(*self._convert(x_np, y_np), *self._plist), self._plist)
        return {n: _as_numpy(_flip(gi) if n in self.conv_names else gi) for n, gi in zip(self.names, g)}

    def step(self, x_np: np.ndarray, y_np: np.ndarray) -> float:
        """One SGD step on a numpy batch; returns the cost *before* the update."""
        return self._make_update(self._loss)(*self._convert(x_np, y_np))

    def make_step(self, x_np: np.ndarray, y_np: np.ndarray, compile: bool = False) -> Callable[[], float]:
        """A zero-argument callable doing one SGD step on this fixed batch; returns the cost.

        ``compile=True`` wraps the cost function in ``torch.compile`` (the backward
        pass is compiled by AOTAutograd too); the first call then takes tens of seconds.
        """
        x, y = self._convert(x_np, y_np)
        update = self._make_update(torch.compile(self._loss) if compile else self._loss)
        return lambda: update(x, y)

    def get_params(self) -> dict[str, np.ndarray]:
        """Current parameters as numpy arrays in Theano layout (copies)."""
        return {n: _as_numpy(_flip(p) if n in self.conv_names else p) for n, p in self.params.items()}


# ---------------------------------------------------------------------------
# Radford's convnet (Theano-Tutorials 5_convolutional_net, seed 000)
# ---------------------------------------------------------------------------

def convnet_init_params(seed: int = 0, dtype=np.float32) -> dict[str, np.ndarray]:
    """The seed's ``init_weights``: ``randn(*shape) * 0.01`` for w, w2, w3, w4, w_o (no biases)."""
    rng = np.random.RandomState(seed)
    shapes = {"w": (32, 1, 3, 3), "w2": (64, 32, 3, 3), "w3": (128, 64, 3, 3),
              "w4": (128 * 3 * 3, 625), "w_o": (625, 10)}
    return {n: np.asarray(rng.randn(*s) * 0.01, dtype=dtype) for n, s in shapes.items()}


def convnet_flops(batch: int) -> int:
    """Forward + backward FLOPs of one convnet training step, counted as :func:`lenet_flops`."""
    conv1 = 32 * 30 * 30 * (1 * 3 * 3)
    conv2 = 64 * 13 * 13 * (32 * 3 * 3)
    conv3 = 128 * 5 * 5 * (64 * 3 * 3)
    dense = 1152 * 625 + 625 * 10
    return 2 * batch * (2 * conv1 + 3 * (conv2 + conv3 + dense))


class ConvnetTorch:
    """Seed-000 convnet: 3 x [conv3x3 - relu - maxpool2 (ceil) - dropout], 625 relu, softmax 10.

    conv1 is 'full' (pad 2), conv2/conv3 'valid'; shapes (b,1,28,28) -> 32x30x30 -> 15
    -> 64x13x13 -> 7 -> 128x5x5 -> 3 -> 1152 -> 625 -> 10. Dropout after each pooling
    and the flatten uses ``p_drop_conv``, after the 625 layer ``p_drop_hidden``
    (Theano's ``X * binomial(1-p) / (1-p)``, which is torch's dropout). Cost: mean
    categorical cross-entropy against one-hot targets (float matrix; int labels are
    one-hot encoded). Update: the seed's RMSprop.
    """

    names = ("w", "w2", "w3", "w4", "w_o")
    conv_names = ("w", "w2", "w3")

    def __init__(self, params: dict[str, np.ndarray], lr: float = 0.001, rho: float = 0.9,
                 epsilon: float = 1e-6, p_drop_conv: float = 0.2, p_drop_hidden: float = 0.5):
        self.lr, self.rho, self.epsilon = lr, rho, epsilon
        self.p_drop_conv, self.p_drop_hidden = p_drop_conv, p_drop_hidden
        self.params = {}
        for name in self.names:
            t = _tensor(params[name])
            if name in self.conv_names:
                t = _flip(t).contiguous()
            self.params[name] = t.requires_grad_(True)
        self._plist = [self.params[n] for n in self.names]
        self.acc = [torch.zeros_like(p, requires_grad=False) for p in self._plist]

    @staticmethod
    def _dropout(h: torch.Tensor, p: float, on: bool) -> torch.Tensor:
        # torch's global RNG: masks cannot match another framework's anyway.
        return F.dropout(h, p, training=True) if on and p > 0 else h

    def _loss(self, x, y_onehot, dropout: bool, *plist):
        w, w2, w3, w4, w_o = plist
        pc, ph = self.p_drop_conv, self.p_drop_hidden
        h = self._dropout(F.max_pool2d(F.relu(F.conv2d(x, w, padding=2)), 2, ceil_mode=True), pc, dropout)
        h = self._dropout(F.max_pool2d(F.relu(F.conv2d(h, w2)), 2, ceil_mode=True), pc, dropout)
        h = F.max_pool2d(F.relu(F.conv2d(h, w3)), 2, ceil_mode=True)
        h = self._dropout(h.flatten(1), pc, dropout)
        h = self._dropout(F.relu(h @ w4), ph, dropout)
        # log_softmax is the stable form of the seed's log(softmax(.)); equal unless p underflows.
        return -(y_onehot * F.log_softmax(h @ w_o, dim=1)).sum(dim=1).mean()

    def _convert(self, x_np, y_np):
        x_np, y = np.asarray(x_np), np.asarray(y_np)
        if y.ndim == 1:
            y = np.eye(10, dtype=x_np.dtype)[y]
        return _tensor(x_np.reshape(-1, 1, 28, 28)), _tensor(y.astype(x_np.dtype, copy=False))

    def _make_update(self, loss_fn, dropout: bool):
        plist, acc = self._plist, self.acc
        lr, rho, eps = self.lr, self.rho, self.epsilon

        def update(x, y):
            loss = loss_fn(x, y, dropout, *plist)
            grads = torch.autograd.grad(loss, plist)
            with torch.no_grad():
                for p, a, g in zip(plist, acc, grads):
                    a.mul_(rho).add_((1 - rho) * g * g)   # acc = rho*acc + (1-rho)*g^2
                    p -= lr * g / torch.sqrt(a + eps)     # p -= lr * g / sqrt(acc_new + eps)
            return loss.item()
        return update

    def loss(self, x_np, y_np, dropout: bool = True) -> float:
        """Cost on a batch, without updating."""
        with torch.no_grad():
            return self._loss(*self._convert(x_np, y_np), dropout, *self._plist).item()

    def grads(self, x_np, y_np, dropout: bool = True) -> dict[str, np.ndarray]:
        """Gradient of the cost w.r.t. each parameter, in Theano layout, without updating."""
        g = torch.autograd.grad(self._loss(*self._convert(x_np, y_np), dropout, *self._plist), self._plist)
        return {n: _as_numpy(_flip(gi) if n in self.conv_names else gi) for n, gi in zip(self.names, g)}

    def step(self, x_np, y_np, dropout: bool = True) -> float:
        """One RMSprop step on a numpy batch; returns the cost *before* the update."""
        return self._make_update(self._loss, dropout)(*self._convert(x_np, y_np))

    def make_step(self, x_np, y_np, dropout: bool = True, compile: bool = False) -> Callable[[], float]:
        """A zero-argument callable doing one RMSprop step on this fixed batch; returns the cost.

        ``dropout=False`` makes the step deterministic (for comparing losses across
        implementations); the seed trains with dropout on.
        """
        x, y = self._convert(x_np, y_np)
        update = self._make_update(torch.compile(self._loss) if compile else self._loss, dropout)
        return lambda: update(x, y)

    def get_params(self) -> dict[str, np.ndarray]:
        """Current parameters as numpy arrays in Theano layout (copies)."""
        return {n: _as_numpy(_flip(p) if n in self.conv_names else p) for n, p in self.params.items()}

    def get_accumulators(self) -> dict[str, np.ndarray]:
        """RMSprop's running mean squares, in Theano layout (copies)."""
        return {n: _as_numpy(_flip(a) if n in self.conv_names else a) for n, a in zip(self.names, self.acc)}


# ---------------------------------------------------------------------------
# Micro-kernels: each takes numpy inputs, converts once, and returns a
# zero-argument callable whose result is numpy (zero-copy views of torch memory).
# ---------------------------------------------------------------------------

def conv2d_fwd_bwd(x: np.ndarray, w: np.ndarray, gy: np.ndarray | None = None,
                   input_grad: bool = True, padding=(0, 0), stride=(1, 1),
                   backward: bool = True) -> Callable[[], tuple]:
    """Theano ``conv2d(x, w)`` (true convolution; zero ``padding`` each side, ``stride``)
    forward and backward.

    The callable returns ``(y, gx, gw)`` with ``gx, gw`` the gradients of
    ``sum(y * gy)`` (``gy`` defaults to ones, i.e. the gradient of ``y.sum()``),
    ``gw`` in Theano layout. ``input_grad=False`` returns ``(y, gw)``: what a
    first layer needs, whose input is data (LeNet's conv1); ``backward=False``
    returns ``(y,)``. Shapes: see :data:`LENET_CONV_SHAPES`.
    """
    xt = _tensor(x).requires_grad_(input_grad and backward)
    wt = _flip(_tensor(w)).contiguous().requires_grad_(backward)
    kw = dict(stride=tuple(stride), padding=tuple(padding))
    if not backward:
        def forward():
            with torch.no_grad():
                return (F.conv2d(xt, wt, **kw).numpy(),)
        return forward
    with torch.no_grad():
        out_shape = F.conv2d(xt, wt, **kw).shape
    gyt = torch.ones(out_shape, dtype=xt.dtype) if gy is None else _tensor(gy)
    wrt = (xt, wt) if input_grad else (wt,)

    def run():
        y = F.conv2d(xt, wt, **kw)
        grads = torch.autograd.grad(y, wrt, gyt)
        return (y.detach().numpy(), *(g.numpy() for g in grads[:-1]), _flip(grads[-1]).numpy())
    return run


def maxpool(x: np.ndarray, ds: tuple[int, int] = (2, 2), ignore_border: bool = True,
            backward: bool = False) -> Callable[[], object]:
    """Theano ``max_pool_2d(x, ds, ignore_border)`` on a 4-d array (stride = ds).

    The callable returns the pooled array, or ``(out, gx)`` with ``backward=True``
    (gx = gradient of ``out.sum()``). Ties: torch routes the gradient to one max
    element, Theano to every element equal to the max; random inputs have no ties.
    """
    xt = _tensor(x).requires_grad_(backward)

    def run():
        out = F.max_pool2d(xt, ds, ceil_mode=not ignore_border)
        if not backward:
            return out.detach().numpy()
        (gx,) = torch.autograd.grad(out, (xt,), torch.ones_like(out))
        return out.detach().numpy(), gx.numpy()
    return run


def softmax_xent(logits: np.ndarray, y: np.ndarray, backward: bool = False) -> Callable[[], object]:
    """Mean negative log-likelihood of ``softmax(logits)`` at integer labels ``y``.

    Theano: ``-T.mean(T.log(T.nnet.softmax(logits))[T.arange(n), y])``. The callable
    returns the scalar cost, or ``(cost, g_logits)`` with ``backward=True``.
    """
    lt = _tensor(logits).requires_grad_(backward)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))

    def run():
        cost = F.cross_entropy(lt, yt)
        if not backward:
            return cost.detach().numpy()
        (g,) = torch.autograd.grad(cost, (lt,))
        return cost.detach().numpy(), g.numpy()
    return run

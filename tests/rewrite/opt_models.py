"""Graphs the rewrite tests and bench/opt_compile_time.py share: the seeds' LeNet training
function (seed 001: two conv-pool layers, a tanh hidden layer, softmax regression trained with
SGD through ``givens``) and a long elementwise chain.

>>> spec = lenet_training(batch_size=4)          # doctest: +SKIP
>>> f = symgraph.function(**spec, mode=Mode(linker='py'))
"""
from __future__ import annotations

import numpy as np

import symgraph as theano
import symgraph.tensor as T


def lenet_available():
    """(True, '') when conv2d and pool_2d can be imported, else (False, reason)."""
    try:
        from symgraph.tensor.nnet import conv2d, softmax  # noqa: F401
        from symgraph.tensor.signal.pool import pool_2d  # noqa: F401
    except ImportError as exc:
        return False, f"LeNet needs symgraph.tensor.nnet.conv2d and signal.pool.pool_2d: {exc}"
    return True, ""


def lenet_training(batch_size=500, nkerns=(20, 50), n_batches=2, lr=0.1, seed=23455):
    """Keyword arguments of ``function()`` for seed 001's ``train_model(index)``.

    Data (random images, labels 0..9) live in shared variables sliced by ``index``
    through ``givens``; the cost is the tutorial's ``negative_log_likelihood``.
    Returns a dict with ``inputs``, ``outputs``, ``updates``, ``givens`` and the
    shared ``params`` (a list, for resetting values between functions).
    """
    from symgraph.tensor.nnet import conv2d, softmax
    from symgraph.tensor.signal.pool import pool_2d

    rng = np.random.RandomState(seed)
    f32 = lambda a: np.asarray(a, dtype="float32")  # noqa: E731
    n = batch_size * n_batches
    train_x = theano.shared(f32(rng.rand(n, 784)), name="train_set_x")
    train_y = T.cast(theano.shared(f32(rng.randint(0, 10, n)), name="train_set_y"), "int32")
    index = T.lscalar("index")
    x = T.fmatrix("x")
    y = T.ivector("y")

    def conv_pool(inp, filter_shape, image_shape):
        fan_in = np.prod(filter_shape[1:])
        fan_out = filter_shape[0] * np.prod(filter_shape[2:]) // 4
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        W = theano.shared(f32(rng.uniform(-bound, bound, filter_shape)), name="W")
        b = theano.shared(f32(np.zeros(filter_shape[0])), name="b")
        conv_out = conv2d(input=inp, filters=W, filter_shape=filter_shape, input_shape=image_shape)
        pooled = pool_2d(conv_out, (2, 2), ignore_border=True)
        return T.tanh(pooled + b.dimshuffle("x", 0, "x", "x")), [W, b]

    layer0, p0 = conv_pool(x.reshape((batch_size, 1, 28, 28)), (nkerns[0], 1, 5, 5),
                           (batch_size, 1, 28, 28))
    layer1, p1 = conv_pool(layer0, (nkerns[1], nkerns[0], 5, 5), (batch_size, nkerns[0], 12, 12))
    n_in = nkerns[1] * 4 * 4
    bound = np.sqrt(6.0 / (n_in + 500))
    W2 = theano.shared(f32(rng.uniform(-bound, bound, (n_in, 500))), name="W")
    b2 = theano.shared(f32(np.zeros(500)), name="b")
    layer2 = T.tanh(T.dot(layer1.flatten(2), W2) + b2)
    W3 = theano.shared(f32(np.zeros((500, 10))), name="W")
    b3 = theano.shared(f32(np.zeros(10)), name="b")
    p_y_given_x = softmax(T.dot(layer2, W3) + b3)
    cost = -T.mean(T.log(p_y_given_x)[T.arange(y.shape[0]), y])
    params = [W3, b3, W2, b2] + p1 + p0
    grads = T.grad(cost, params)
    updates = [(p, p - lr * g) for p, g in zip(params, grads)]
    givens = {x: train_x[index * batch_size: (index + 1) * batch_size],
              y: train_y[index * batch_size: (index + 1) * batch_size]}
    return dict(inputs=[index], outputs=cost, updates=updates, givens=givens, params=params)


def elementwise_chain(n=10_000):
    """(x, y): y is ``n`` elementwise ops applied one after the other to the matrix x."""
    x = T.dmatrix("x")
    y = x
    for i in range(n):
        k = i % 4
        if k == 0:
            y = y * 1.0001
        elif k == 1:
            y = y + 0.001
        elif k == 2:
            y = T.tanh(y)
        else:
            y = y - 0.5
    return x, y


# ---------------------------------------------------------------- test helpers

def py_modes():
    """(rewritten, reference) modes on the Python backend: FAST_RUN and optimizer=None."""
    from symgraph.compile.mode import Mode
    return Mode(linker="py"), Mode(linker="py", optimizer=None)


def compile_both(inputs, outputs, **kw):
    """The same function compiled with every rewrite and with none (Python backend)."""
    fast, ref = py_modes()
    return (theano.function(inputs, outputs, mode=fast, **kw),
            theano.function(inputs, outputs, mode=ref, **kw))


def op_names(f):
    """Names of the ops (``type(op).__name__``, or the scalar op name for Elemwise) of a
    compiled function's graph, as a list in topological order."""
    from symgraph.ops.elemwise import Elemwise
    names = []
    for node in f.maker.fgraph.toposort():
        op = node.op
        names.append(op.scalar_op.name if isinstance(op, Elemwise) and not
                     hasattr(op.scalar_op, "nodes") else
                     ("Composite" if isinstance(op, Elemwise) else type(op).__name__))
    return names


def assert_same_values(f, ref, *args, rtol=1e-7, atol=1e-10):
    """f(*args) and ref(*args) agree (elementwise, NaN == NaN)."""
    a, b = f(*args), ref(*args)
    if not isinstance(a, (list, tuple)):
        a, b = [a], [b]
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)
    return a

"""Theano basics, snippet by snippet (seed 002, "深度学习_Theano使用技巧"), printing each result.

Typed scalars, vectors and matrices; ``function``; several outputs at once; ``In``
defaults; shared variables with ``updates``; ``RandomStreams`` and reseeding; ``grad``
and ``pp``; ``conv2d`` with ``border_mode=(1, 1)`` and ``subsample=(2, 2)``.

    python examples/basics.py
"""
import argparse

import numpy as np

import symgraph as theano
import symgraph.tensor as T
from symgraph import In, function, pp, shared
from symgraph.tensor.shared_randomstreams import RandomStreams
from symgraph.tensor.nnet import conv2d

theano.config.floatX = 'float32'


def show(label, value):
    text = np.array2string(value, precision=4) if isinstance(value, np.ndarray) else repr(value)
    if "\n" in text:
        text = "\n    " + text.replace("\n", "\n    ")
    print(f"{label} = {text}")


def functions():
    print("## functions")
    # scalars
    x = T.dscalar('a')
    y = T.dscalar('b')
    z = x * y ** 2
    f = function([x, y], z)
    show("f(2, 3)  [a * b ** 2]", f(2, 3))
    # vectors
    x = T.vector('a')
    z = x + x
    f = function([x], z)
    show("f([1, 2, 3])  [a + a]", f([1, 2, 3]))
    # matrices
    x = T.dmatrix('x')
    y = T.dmatrix('y')
    z = x + y
    f = function([x, y], z)
    show("f(m1, m2)  [x + y]", f(np.array([[1, 2, 3], [4, 5, 6]]), np.array([[3, 4, 5], [6, 7, 8]])))

    # the logistic function: 1 / (1 + T.exp(-x)) == (1 + T.tanh(x / 2)) / 2
    x = T.dmatrix('x')
    s = 1 / (1 + T.exp(-x))
    f = function([x], s)
    show("logistic  1 / (1 + exp(-x))", f(np.array([[4, -1], [2, 3]])))
    s2 = (1 + T.tanh(x / 2)) / 2
    f2 = function([x], s2)
    show("logistic  (1 + tanh(x / 2)) / 2", f2(np.array([[4, -1], [2, 3]])))

    # several outputs at once
    a, b = T.dmatrices('a', 'b')
    f1 = a + b
    f2 = a - b
    f3 = a * b
    f4 = a ** b
    f = function([a, b], [f1, f2, f3, f4])
    ss = f(np.array([[1, 2], [3, 5]]), np.array([[1, 2], [3, 5]]))
    for name, value in zip(("a + b", "a - b", "a * b", "a ** b"), ss):
        show(name, value)

    # a default value for an argument
    x, y = T.dscalars('x', 'y')
    z = x + y
    f = function([x, In(y, value=1)], z)
    show("f(10)  [x + y, y defaults to 1]", f(10))
    show("f(10, 2)", f(10, 2))


def shared_variables():
    print("## shared variables and updates")
    count = shared(0)  # the counter starts at 0
    inc = T.iscalar('inc')
    f = function([inc], count, updates=[(count, count + inc)])
    show("f(10)  [returns the old count]", f(10))
    show("f(2)", f(2))
    show("count.get_value()", count.get_value())
    count.set_value(-1)
    show("count.get_value() after set_value(-1)", count.get_value())


def random_numbers():
    print("## random streams")
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))  # uniform
    rv_n = srng.normal((2, 2))   # normal
    f = function([], rv_u)
    g = function([], rv_n, no_default_updates=True)
    nearly_zeros = function([], rv_u + rv_u - 2 * rv_u)

    show("f()", f())
    show("f() again (a new draw)", f())
    show("g()", g())
    show("g() again (no_default_updates: the same draw)", g())
    show("nearly_zeros()", nearly_zeros())
    # reseed the generator of rv_u
    rng_val = rv_u.rng.get_value(borrow=True)
    rng_val.seed(100)
    rv_u.rng.set_value(rng_val, borrow=True)
    first = f()
    rng_val.seed(100)
    rv_u.rng.set_value(rng_val, borrow=True)
    show("f() after seed(100)", first)
    show("f() after seed(100) again (the same)", f())


def derivatives():
    print("## derivatives")
    x = T.dscalar('x')
    y = x ** 2
    gy = T.grad(y, x)
    show("pp(gy)", pp(gy))
    f = theano.function([x], gy)
    show("f(4)  [d(x ** 2)/dx at 4]", f(4))


def convolution():
    print("## 2D convolution")
    input = T.dtensor4('input')
    filters = T.dtensor4('filters')
    output = conv2d(
        input, filters, input_shape=(1, 1, 5, 5), filter_shape=(1, 1, 3, 3),
        border_mode=(1, 1), subsample=(2, 2))
    f = function([input, filters], output)
    image = np.arange(25, dtype='float64').reshape(1, 1, 5, 5)
    kernel = np.ones((1, 1, 3, 3))
    out = f(image, kernel)
    show("input", image[0, 0])
    show("conv2d(ones 3x3, border_mode=(1, 1), subsample=(2, 2)) shape", out.shape)
    show("conv2d(...)", out[0, 0])


def main(argv=None):
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    functions()
    shared_variables()
    random_numbers()
    derivatives()
    convolution()


if __name__ == '__main__':
    main()

import numpy as np
import symgraph as theano
import symgraph.tensor as T

x = T.matrix("x")
y = T.ivector("y")
s = T.dscalar("s")
W = theano.shared(np.zeros((3, 2)), name="W")
cost = T.sum(T.dot(x, W)) + s
gW = T.grad(cost, W)
f = theano.function([x, y, s], cost, updates=[(W, W - 0.1 * gW)], on_unused_input="ignore")
out = f(np.ones((2, 3)), [0, 1], 1.0)
theano.config.floatX = "float32"
print(theano.config.floatX, out, T.tensor3("t"), T.vector(), T.mean(x, axis=0))
text: str = theano.debugprint(cost, file="str")

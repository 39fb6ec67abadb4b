"""network3.py
~~~~~~~~~~~~~~

Michael Nielsen's Theano-based program for training and running simple neural
networks (Neural Networks and Deep Learning, chapter 6; seed 003), ported to
Python 3 and symgraph.

Supports several layer types (fully connected, convolutional, max pooling,
softmax), and activation functions (sigmoid, tanh, and rectified linear units,
with more easily added).  The layers use the legacy ``conv.conv2d(image_shape=...)``
and ``downsample.max_pool_2d``; dropout masks come from ``shared_randomstreams``.

``--net`` picks one of the chapter's runs (published best-validation test accuracy):

    shallow   one hidden layer of 100 sigmoid units          97.80 %
    conv1     one conv-pool layer + 100 sigmoid units         98.78 %   (default)
    conv2     two conv-pool layers + 100 sigmoid units        99.06 %
    relu      two conv-pool layers, ReLU, L2 (lmbda 0.1)      99.23 %
    dropout   ReLU, two 1000-unit layers with dropout 0.5     99.60 % (on expanded data)

    python examples/network3.py --net conv1 --epochs 60
    python examples/network3.py --net dropout --expand      # Nielsen's expanded training set
    python examples/network3.py --quick                      # 5,000 images, 1 epoch
"""

#### Libraries
# Third-party libraries
import numpy as np
import symgraph as theano
import symgraph.tensor as T
from symgraph.tensor.nnet import conv
from symgraph.tensor.nnet import softmax
from symgraph.tensor import shared_randomstreams
from symgraph.tensor.signal import downsample

from _common import Run, load_splits, make_parser, setup, state_variables


# Activation functions for neurons
def linear(z): return z
def ReLU(z): return T.maximum(0.0, z)
from symgraph.tensor.nnet import sigmoid  # noqa: E402
from symgraph.tensor import tanh  # noqa: E402,F401


#### Constants
# Nielsen's GPU flag is the --device option; the tutorials' recommended dtype:
theano.config.floatX = 'float32'


#### Load the MNIST data
def load_data_shared(args):
    """The three splits as shared variables, read through ``load_mnist(path=args.data)``."""
    training_data, validation_data, test_data = load_splits(args)
    if args.expand:
        training_data = expand_mnist(training_data, args.seed)

    def shared(data):
        """Place the data into shared variables.  This allows Theano to copy
        the data to the GPU, if one is available.

        """
        shared_x = theano.shared(
            np.asarray(data[0], dtype=theano.config.floatX), borrow=True)
        shared_y = theano.shared(
            np.asarray(data[1], dtype=theano.config.floatX), borrow=True)
        return shared_x, T.cast(shared_y, "int32")
    return [shared(training_data), shared(validation_data), shared(test_data)]


def expand_mnist(training_data, seed):
    """Nielsen's expand_mnist.py: each image plus its four one-pixel shifts, shuffled."""
    x, y = training_data
    images = x.reshape(-1, 28, 28)
    expanded = [images]
    for d, axis in [(1, 0), (-1, 0), (1, 1), (-1, 1)]:
        shifted = np.roll(images, d, axis + 1)
        # blank the row or column that rolled around the edge
        edge = 0 if d == 1 else 27
        if axis == 0:
            shifted[:, edge, :] = 0
        else:
            shifted[:, :, edge] = 0
        expanded.append(shifted)
    ex = np.concatenate(expanded).reshape(-1, 784)
    ey = np.tile(y, 5)
    order = np.random.RandomState(seed).permutation(len(ex))
    print("... expanded the training data to {0} images".format(len(ex)))
    return ex[order], ey[order]


#### Main class used to construct and train networks
class Network(object):

    def __init__(self, layers, mini_batch_size):
        """Takes a list of `layers`, describing the network architecture, and
        a value for the `mini_batch_size` to be used during training
        by stochastic gradient descent.

        """
        self.layers = layers
        self.mini_batch_size = mini_batch_size
        self.params = [param for layer in self.layers for param in layer.params]
        self.x = T.matrix("x")
        self.y = T.ivector("y")
        init_layer = self.layers[0]
        init_layer.set_inpt(self.x, self.x, self.mini_batch_size)
        for j in range(1, len(self.layers)):
            prev_layer, layer = self.layers[j-1], self.layers[j]
            layer.set_inpt(
                prev_layer.output, prev_layer.output_dropout, self.mini_batch_size)
        self.output = self.layers[-1].output
        self.output_dropout = self.layers[-1].output_dropout

    def SGD(self, training_data, epochs, mini_batch_size, eta,
            validation_data, test_data, lmbda=0.0, run=None):
        """Train the network using mini-batch stochastic gradient descent.

        ``run`` (from examples/_common.py) draws the progress bar, prints the
        epoch summaries and saves or resumes checkpoints.
        """
        training_x, training_y = training_data
        validation_x, validation_y = validation_data
        test_x, test_y = test_data

        # compute number of minibatches for training, validation and testing
        num_training_batches = size(training_data)//mini_batch_size
        num_validation_batches = size(validation_data)//mini_batch_size
        num_test_batches = size(test_data)//mini_batch_size

        # define the (regularized) cost function, symbolic gradients, and updates
        l2_norm_squared = sum([(layer.w**2).sum() for layer in self.layers])
        cost = self.layers[-1].cost(self)+\
               0.5*lmbda*l2_norm_squared/num_training_batches
        grads = T.grad(cost, self.params)
        updates = [(param, param-eta*grad)
                   for param, grad in zip(self.params, grads)]

        # define functions to train a mini-batch, and to compute the
        # accuracy in validation and test mini-batches.
        i = T.lscalar() # mini-batch index
        train_mb = theano.function(
            [i], cost, updates=updates,
            givens={
                self.x:
                training_x[i*self.mini_batch_size: (i+1)*self.mini_batch_size],
                self.y:
                training_y[i*self.mini_batch_size: (i+1)*self.mini_batch_size]
            })
        validate_mb_accuracy = theano.function(
            [i], self.layers[-1].accuracy(self.y),
            givens={
                self.x:
                validation_x[i*self.mini_batch_size: (i+1)*self.mini_batch_size],
                self.y:
                validation_y[i*self.mini_batch_size: (i+1)*self.mini_batch_size]
            })
        test_mb_accuracy = theano.function(
            [i], self.layers[-1].accuracy(self.y),
            givens={
                self.x:
                test_x[i*self.mini_batch_size: (i+1)*self.mini_batch_size],
                self.y:
                test_y[i*self.mini_batch_size: (i+1)*self.mini_batch_size]
            })
        self.test_mb_predictions = theano.function(
            [i], self.layers[-1].y_out,
            givens={
                self.x:
                test_x[i*self.mini_batch_size: (i+1)*self.mini_batch_size]
            })

        # Do the actual training
        run.track(state_variables(updates, cost))
        start_epoch, book = run.resume(dict(best_validation_accuracy=0.0,
                                            best_iteration=0, test_accuracy=None))
        best_validation_accuracy = book['best_validation_accuracy']
        best_iteration, test_accuracy = book['best_iteration'], book['test_accuracy']
        for epoch in range(start_epoch, epochs):
            note = ""
            with run.epoch_bar(epoch + 1, num_training_batches, mini_batch_size) as bar:
                for minibatch_index in range(num_training_batches):
                    iteration = num_training_batches*epoch+minibatch_index
                    cost_ij = train_mb(minibatch_index)
                    bar.step(cost_ij)
                    if (iteration+1) % num_training_batches == 0:
                        validation_accuracy = np.mean(
                            [validate_mb_accuracy(j) for j in range(num_validation_batches)])
                        if validation_accuracy >= best_validation_accuracy:
                            note = "(best validation accuracy to date)"
                            best_validation_accuracy = validation_accuracy
                            best_iteration = iteration
                            if test_data:
                                test_accuracy = np.mean(
                                    [test_mb_accuracy(j) for j in range(num_test_batches)])
            run.end_epoch(epoch + 1, bar.mean_cost, 1 - validation_accuracy,
                          None if test_accuracy is None else 1 - test_accuracy,
                          book=dict(best_validation_accuracy=float(best_validation_accuracy),
                                    best_iteration=best_iteration,
                                    test_accuracy=None if test_accuracy is None
                                    else float(test_accuracy)),
                          note=note)
        if start_epoch >= epochs and not run.history:   # --epochs 0: the network as it is
            best_validation_accuracy = np.mean(
                [validate_mb_accuracy(j) for j in range(num_validation_batches)])
            if test_data:
                test_accuracy = np.mean([test_mb_accuracy(j) for j in range(num_test_batches)])
        print("Finished training network.")
        print("Best validation accuracy of {0:.2%} obtained at iteration {1}".format(
            best_validation_accuracy, best_iteration))
        if test_accuracy is not None:
            print("Corresponding test accuracy of {0:.2%}".format(test_accuracy))
        first = self.layers[0]
        run.finish(best_validation_accuracy=best_validation_accuracy,
                   test_accuracy=test_accuracy,
                   filters=first.w.get_value() if isinstance(first, ConvPoolLayer) else None)

#### Define layer types

class ConvPoolLayer(object):
    """Used to create a combination of a convolutional and a max-pooling
    layer.  A more sophisticated implementation would separate the
    two, but for our purposes we'll always use them together, and it
    simplifies the code, so it makes sense to combine them.

    """

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2),
                 activation_fn=sigmoid):
        """`filter_shape` is a tuple of length 4, whose entries are the number
        of filters, the number of input feature maps, the filter height, and the
        filter width.

        `image_shape` is a tuple of length 4, whose entries are the
        mini-batch size, the number of input feature maps, the image
        height, and the image width.

        `poolsize` is a tuple of length 2, whose entries are the y and
        x pooling sizes.

        """
        self.filter_shape = filter_shape
        self.image_shape = image_shape
        self.poolsize = poolsize
        self.activation_fn=activation_fn
        # initialize weights and biases
        n_out = (filter_shape[0]*np.prod(filter_shape[2:])/np.prod(poolsize))
        self.w = theano.shared(
            np.asarray(
                np.random.normal(loc=0, scale=np.sqrt(1.0/n_out), size=filter_shape),
                dtype=theano.config.floatX),
            borrow=True)
        self.b = theano.shared(
            np.asarray(
                np.random.normal(loc=0, scale=1.0, size=(filter_shape[0],)),
                dtype=theano.config.floatX),
            borrow=True)
        self.params = [self.w, self.b]

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        self.inpt = inpt.reshape(self.image_shape)
        conv_out = conv.conv2d(
            input=self.inpt, filters=self.w, filter_shape=self.filter_shape,
            image_shape=self.image_shape)
        pooled_out = downsample.max_pool_2d(
            input=conv_out, ds=self.poolsize, ignore_border=True)
        self.output = self.activation_fn(
            pooled_out + self.b.dimshuffle('x', 0, 'x', 'x'))
        self.output_dropout = self.output # no dropout in the convolutional layers

class FullyConnectedLayer(object):

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        self.n_in = n_in
        self.n_out = n_out
        self.activation_fn = activation_fn
        self.p_dropout = p_dropout
        # Initialize weights and biases
        self.w = theano.shared(
            np.asarray(
                np.random.normal(
                    loc=0.0, scale=np.sqrt(1.0/n_out), size=(n_in, n_out)),
                dtype=theano.config.floatX),
            name='w', borrow=True)
        self.b = theano.shared(
            np.asarray(np.random.normal(loc=0.0, scale=1.0, size=(n_out,)),
                       dtype=theano.config.floatX),
            name='b', borrow=True)
        self.params = [self.w, self.b]

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        self.inpt = inpt.reshape((mini_batch_size, self.n_in))
        self.output = self.activation_fn(
            (1-self.p_dropout)*T.dot(self.inpt, self.w) + self.b)
        self.y_out = T.argmax(self.output, axis=1)
        self.inpt_dropout = dropout_layer(
            inpt_dropout.reshape((mini_batch_size, self.n_in)), self.p_dropout)
        self.output_dropout = self.activation_fn(
            T.dot(self.inpt_dropout, self.w) + self.b)

    def accuracy(self, y):
        "Return the accuracy for the mini-batch."
        return T.mean(T.eq(y, self.y_out))

class SoftmaxLayer(object):

    def __init__(self, n_in, n_out, p_dropout=0.0):
        self.n_in = n_in
        self.n_out = n_out
        self.p_dropout = p_dropout
        # Initialize weights and biases
        self.w = theano.shared(
            np.zeros((n_in, n_out), dtype=theano.config.floatX),
            name='w', borrow=True)
        self.b = theano.shared(
            np.zeros((n_out,), dtype=theano.config.floatX),
            name='b', borrow=True)
        self.params = [self.w, self.b]

    def set_inpt(self, inpt, inpt_dropout, mini_batch_size):
        self.inpt = inpt.reshape((mini_batch_size, self.n_in))
        self.output = softmax((1-self.p_dropout)*T.dot(self.inpt, self.w) + self.b)
        self.y_out = T.argmax(self.output, axis=1)
        self.inpt_dropout = dropout_layer(
            inpt_dropout.reshape((mini_batch_size, self.n_in)), self.p_dropout)
        self.output_dropout = softmax(T.dot(self.inpt_dropout, self.w) + self.b)

    def cost(self, net):
        "Return the log-likelihood cost."
        return -T.mean(T.log(self.output_dropout)[T.arange(net.y.shape[0]), net.y])

    def accuracy(self, y):
        "Return the accuracy for the mini-batch."
        return T.mean(T.eq(y, self.y_out))


#### Miscellanea
def size(data):
    "Return the size of the dataset `data`."
    return data[0].get_value(borrow=True).shape[0]

def dropout_layer(layer, p_dropout):
    srng = shared_randomstreams.RandomStreams(
        np.random.RandomState(0).randint(999999))
    mask = srng.binomial(n=1, p=1-p_dropout, size=layer.shape)
    return layer*T.cast(mask, theano.config.floatX)


#### The chapter-6 runs
def build_network(net, mini_batch_size):
    """The networks of chapter 6, by name; returns (layers, default epochs, eta, lmbda)."""
    mbs = mini_batch_size
    if net == "shallow":
        return [FullyConnectedLayer(n_in=784, n_out=100),
                SoftmaxLayer(n_in=100, n_out=10)], 60, 0.1, 0.0
    if net == "conv1":
        return [ConvPoolLayer(image_shape=(mbs, 1, 28, 28),
                              filter_shape=(20, 1, 5, 5),
                              poolsize=(2, 2)),
                FullyConnectedLayer(n_in=20*12*12, n_out=100),
                SoftmaxLayer(n_in=100, n_out=10)], 60, 0.1, 0.0
    if net == "conv2":
        return [ConvPoolLayer(image_shape=(mbs, 1, 28, 28),
                              filter_shape=(20, 1, 5, 5),
                              poolsize=(2, 2)),
                ConvPoolLayer(image_shape=(mbs, 20, 12, 12),
                              filter_shape=(40, 20, 5, 5),
                              poolsize=(2, 2)),
                FullyConnectedLayer(n_in=40*4*4, n_out=100),
                SoftmaxLayer(n_in=100, n_out=10)], 60, 0.1, 0.0
    if net == "relu":
        return [ConvPoolLayer(image_shape=(mbs, 1, 28, 28),
                              filter_shape=(20, 1, 5, 5),
                              poolsize=(2, 2),
                              activation_fn=ReLU),
                ConvPoolLayer(image_shape=(mbs, 20, 12, 12),
                              filter_shape=(40, 20, 5, 5),
                              poolsize=(2, 2),
                              activation_fn=ReLU),
                FullyConnectedLayer(n_in=40*4*4, n_out=100, activation_fn=ReLU),
                SoftmaxLayer(n_in=100, n_out=10)], 60, 0.03, 0.1
    if net == "dropout":
        return [ConvPoolLayer(image_shape=(mbs, 1, 28, 28),
                              filter_shape=(20, 1, 5, 5),
                              poolsize=(2, 2),
                              activation_fn=ReLU),
                ConvPoolLayer(image_shape=(mbs, 20, 12, 12),
                              filter_shape=(40, 20, 5, 5),
                              poolsize=(2, 2),
                              activation_fn=ReLU),
                FullyConnectedLayer(
                    n_in=40*4*4, n_out=1000, activation_fn=ReLU, p_dropout=0.5),
                FullyConnectedLayer(
                    n_in=1000, n_out=1000, activation_fn=ReLU, p_dropout=0.5),
                SoftmaxLayer(n_in=1000, n_out=10, p_dropout=0.5)], 40, 0.03, 0.0
    raise ValueError(net)


NETS = ("shallow", "conv1", "conv2", "relu", "dropout")


def main(argv=None):
    parser = make_parser(__doc__, epochs=None, batch_size=10, lr=None, seed=0,
                         epochs_help="per --net: 60, 40 for dropout",
                         lr_help="per --net: 0.1, 0.03 for relu and dropout")
    parser.add_argument("--net", choices=NETS, default="conv1",
                        help="which chapter-6 network to train (default conv1)")
    parser.add_argument("--lmbda", type=float, default=None,
                        help="L2 regularisation (default per --net: 0.1 for relu, else 0)")
    parser.add_argument("--expand", action="store_true",
                        help="train on the expanded data (each image and its 4 one-pixel shifts)")
    args = setup(parser, argv)
    np.random.seed(args.seed)  # Nielsen's initial weights come from np.random

    training_data, validation_data, test_data = load_data_shared(args)
    mini_batch_size = args.batch_size
    layers, epochs, eta, lmbda = build_network(args.net, mini_batch_size)
    args.epochs = epochs if args.epochs is None else args.epochs
    args.lr = eta if args.lr is None else args.lr
    lmbda = lmbda if args.lmbda is None else args.lmbda
    print("... building network {0!r}: epochs {1}, eta {2}, lmbda {3}".format(
        args.net, args.epochs, args.lr, lmbda))
    net = Network(layers, mini_batch_size)
    run = Run(args, "network3", config=dict(net=args.net, lmbda=lmbda, expand=args.expand))
    net.SGD(training_data, args.epochs, mini_batch_size, args.lr,
            validation_data, test_data, lmbda=lmbda, run=run)


if __name__ == "__main__":
    main()

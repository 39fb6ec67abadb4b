"""LeNet on MNIST: the deeplearning.net convolutional network tutorial (convolutional_mlp.py).

Two ``LeNetConvPoolLayer`` s (20 and 50 5x5 filters, 2x2 max-pooling, tanh), a tanh
``HiddenLayer`` of 500 units and a ``LogisticRegression`` (softmax) classifier, trained
by SGD (learning rate 0.1, batch 500) with early stopping on the validation error.
The minibatches are slices of shared variables selected through ``givens``.

Published result (200 epochs with early stopping): 0.91 % validation and 0.92 % test
error.  The default here is a short run; ``--epochs 200`` is the published one.

    python examples/lenet.py                 # the default short run
    python examples/lenet.py --epochs 200    # the published run
    python examples/lenet.py --quick         # 5,000 training images, 1 epoch
    mpiexec -n 2 python examples/lenet.py    # data-parallel: each rank takes half of every
                                             # minibatch of 500, gradients averaged
"""
import numpy

import symgraph as theano
import symgraph.tensor as T
import symgraph.distributed as dist
from symgraph.tensor.signal import pool
from symgraph.tensor.nnet import conv2d

from _common import Run, global_mean, make_parser, setup, state_variables
# as in the tutorial, the classifier and the data loading come from logistic_sgd.py
from logistic_sgd import LogisticRegression, load_data

theano.config.floatX = 'float32'


class HiddenLayer(object):
    def __init__(self, rng, input, n_in, n_out, W=None, b=None,
                 activation=T.tanh):
        """
        Typical hidden layer of a MLP: units are fully-connected and have
        tanh activation function. Weight matrix W is of shape (n_in,n_out)
        and the bias vector b is of shape (n_out,).

        :type rng: numpy.random.RandomState
        :param rng: a random number generator used to initialize weights
        :type input: theano.tensor.dmatrix
        :param input: a symbolic tensor of shape (n_examples, n_in)
        :type n_in: int
        :param n_in: dimensionality of input
        :type n_out: int
        :param n_out: number of hidden units
        :type activation: theano.Op or function
        :param activation: Non linearity to be applied in the hidden layer
        """
        self.input = input

        # `W` is initialized with `W_values` which is uniformely sampled
        # from sqrt(-6./(n_in+n_hidden)) and sqrt(6./(n_in+n_hidden))
        # for tanh activation function; for sigmoid, 4 times that.
        if W is None:
            W_values = numpy.asarray(
                rng.uniform(
                    low=-numpy.sqrt(6. / (n_in + n_out)),
                    high=numpy.sqrt(6. / (n_in + n_out)),
                    size=(n_in, n_out)
                ),
                dtype=theano.config.floatX
            )
            if activation == theano.tensor.nnet.sigmoid:
                W_values *= 4

            W = theano.shared(value=W_values, name='W', borrow=True)

        if b is None:
            b_values = numpy.zeros((n_out,), dtype=theano.config.floatX)
            b = theano.shared(value=b_values, name='b', borrow=True)

        self.W = W
        self.b = b

        lin_output = T.dot(input, self.W) + self.b
        self.output = (
            lin_output if activation is None
            else activation(lin_output)
        )
        # parameters of the model
        self.params = [self.W, self.b]


class LeNetConvPoolLayer(object):
    """Pool Layer of a convolutional network """

    def __init__(self, rng, input, filter_shape, image_shape, poolsize=(2, 2)):
        """
        Allocate a LeNetConvPoolLayer with shared variable internal parameters.

        :type rng: numpy.random.RandomState
        :param rng: a random number generator used to initialize weights
        :type input: theano.tensor.dtensor4
        :param input: symbolic image tensor, of shape image_shape
        :type filter_shape: tuple or list of length 4
        :param filter_shape: (number of filters, num input feature maps,
                              filter height, filter width)
        :type image_shape: tuple or list of length 4
        :param image_shape: (batch size, num input feature maps,
                             image height, image width)
        :type poolsize: tuple or list of length 2
        :param poolsize: the downsampling (pooling) factor (#rows, #cols)
        """
        assert image_shape[1] == filter_shape[1]
        self.input = input

        # there are "num input feature maps * filter height * filter width"
        # inputs to each hidden unit
        fan_in = numpy.prod(filter_shape[1:])
        # each unit in the lower layer receives a gradient from:
        # "num output feature maps * filter height * filter width" /
        #   pooling size
        fan_out = (filter_shape[0] * numpy.prod(filter_shape[2:]) //
                   numpy.prod(poolsize))
        # initialize weights with random weights
        W_bound = numpy.sqrt(6. / (fan_in + fan_out))
        self.W = theano.shared(
            numpy.asarray(
                rng.uniform(low=-W_bound, high=W_bound, size=filter_shape),
                dtype=theano.config.floatX
            ),
            borrow=True
        )

        # the bias is a 1D tensor -- one bias per output feature map
        b_values = numpy.zeros((filter_shape[0],), dtype=theano.config.floatX)
        self.b = theano.shared(value=b_values, borrow=True)

        # convolve input feature maps with filters
        conv_out = conv2d(
            input=input,
            filters=self.W,
            filter_shape=filter_shape,
            input_shape=image_shape
        )

        # pool each feature map individually, using maxpooling
        pooled_out = pool.pool_2d(
            input=conv_out,
            ds=poolsize,
            ignore_border=True
        )

        # add the bias term. Since the bias is a vector (1D array), we first
        # reshape it to a tensor of shape (1, n_filters, 1, 1). Each bias will
        # thus be broadcasted across mini-batches and feature map
        # width & height
        self.output = T.tanh(pooled_out + self.b.dimshuffle('x', 0, 'x', 'x'))

        # store parameters of this layer
        self.params = [self.W, self.b]

        # keep track of model input
        self.input = input


def evaluate_lenet5(args, nkerns=(20, 50)):
    """ Demonstrates lenet on MNIST dataset

    :param args: the command line: --lr (0.1), --epochs, --batch-size (500), --seed (23455)
    :type nkerns: list of ints
    :param nkerns: number of kernels on each layer
    """
    learning_rate, n_epochs, global_batch = args.lr, args.epochs, args.batch_size
    # data-parallel (mpiexec -n N): the model sees this rank's share of each global minibatch
    batch_size = dist.local_batch(global_batch)
    rng = numpy.random.RandomState(args.seed)

    datasets = load_data(args)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    # compute number of minibatches for training, validation and testing
    n_train_batches = train_set_x.get_value(borrow=True).shape[0]
    n_valid_batches = valid_set_x.get_value(borrow=True).shape[0]
    n_test_batches = test_set_x.get_value(borrow=True).shape[0]
    n_train_batches //= global_batch
    n_valid_batches //= global_batch
    n_test_batches //= global_batch

    # allocate symbolic variables for the data
    index = T.lscalar()  # index to a [mini]batch

    # start-snippet-1
    x = T.matrix('x')   # the data is presented as rasterized images
    y = T.ivector('y')  # the labels are presented as 1D vector of
                        # [int] labels

    ######################
    # BUILD ACTUAL MODEL #
    ######################
    print('... building the model')

    # Reshape matrix of rasterized images of shape (batch_size, 28 * 28)
    # to a 4D tensor, compatible with our LeNetConvPoolLayer
    # (28, 28) is the size of MNIST images.
    layer0_input = x.reshape((batch_size, 1, 28, 28))

    # Construct the first convolutional pooling layer:
    # filtering reduces the image size to (28-5+1 , 28-5+1) = (24, 24)
    # maxpooling reduces this further to (24/2, 24/2) = (12, 12)
    # 4D output tensor is thus of shape (batch_size, nkerns[0], 12, 12)
    layer0 = LeNetConvPoolLayer(
        rng,
        input=layer0_input,
        image_shape=(batch_size, 1, 28, 28),
        filter_shape=(nkerns[0], 1, 5, 5),
        poolsize=(2, 2)
    )

    # Construct the second convolutional pooling layer
    # filtering reduces the image size to (12-5+1, 12-5+1) = (8, 8)
    # maxpooling reduces this further to (8/2, 8/2) = (4, 4)
    # 4D output tensor is thus of shape (batch_size, nkerns[1], 4, 4)
    layer1 = LeNetConvPoolLayer(
        rng,
        input=layer0.output,
        image_shape=(batch_size, nkerns[0], 12, 12),
        filter_shape=(nkerns[1], nkerns[0], 5, 5),
        poolsize=(2, 2)
    )

    # the HiddenLayer being fully-connected, it operates on 2D matrices of
    # shape (batch_size, num_pixels) (i.e matrix of rasterized images).
    # This will generate a matrix of shape (batch_size, nkerns[1] * 4 * 4),
    # or (500, 50 * 4 * 4) = (500, 800) with the default values.
    layer2_input = layer1.output.flatten(2)

    # construct a fully-connected sigmoidal layer
    layer2 = HiddenLayer(
        rng,
        input=layer2_input,
        n_in=nkerns[1] * 4 * 4,
        n_out=500,
        activation=T.tanh
    )

    # classify the values of the fully-connected sigmoidal layer
    layer3 = LogisticRegression(input=layer2.output, n_in=500, n_out=10)

    # the cost we minimize during training is the NLL of the model
    cost = layer3.negative_log_likelihood(y)

    # this rank's rows of minibatch `index` (all of them in one process)
    lo, hi = dist.batch_slice(index, global_batch)

    # create a function to compute the mistakes that are made by the model
    test_model = theano.function(
        [index],
        layer3.errors(y),
        givens={
            x: test_set_x[lo:hi],
            y: test_set_y[lo:hi]
        }
    )

    validate_model = theano.function(
        [index],
        layer3.errors(y),
        givens={
            x: valid_set_x[lo:hi],
            y: valid_set_y[lo:hi]
        }
    )

    # create a list of all model parameters to be fit by gradient descent
    params = layer3.params + layer2.params + layer1.params + layer0.params

    # create a list of gradients for all model parameters
    grads = T.grad(cost, params)
    # data-parallel: every rank starts from rank 0's parameters and applies the gradients
    # averaged over ranks (bucketed allreduce), together with the global batch's mean cost
    dist.broadcast_shared(params)
    *grads, cost_out = dist.average_gradients(grads + [cost])

    # train_model is a function that updates the model parameters by
    # SGD Since this model has many parameters, it would be tedious to
    # manually create an update rule for each model parameter. We thus
    # create the updates list by automatically looping over all
    # (params[i], grads[i]) pairs.
    updates = [
        (param_i, param_i - learning_rate * grad_i)
        for param_i, grad_i in zip(params, grads)
    ]

    train_model = theano.function(
        [index],
        cost_out,
        updates=updates,
        givens={
            x: train_set_x[lo:hi],
            y: train_set_y[lo:hi]
        }
    )
    # end-snippet-1

    ###############
    # TRAIN MODEL #
    ###############
    print('... training')
    # early-stopping parameters
    patience = 10000  # look as this many examples regardless
    patience_increase = 2  # wait this much longer when a new best is
                           # found
    improvement_threshold = 0.995  # a relative improvement of this much is
                                   # considered significant
    validation_frequency = min(n_train_batches, patience // 2)
                                  # go through this many
                                  # minibatche before checking the network
                                  # on the validation set; in this case we
                                  # check every epoch

    run = Run(args, 'lenet', config=dict(nkerns=list(nkerns)))
    run.track(state_variables(updates, cost))
    epoch, book = run.resume(dict(patience=patience, best_validation_loss=numpy.inf,
                                  best_iter=0, test_score=0., done_looping=False))
    patience, best_validation_loss = book['patience'], book['best_validation_loss']
    best_iter, test_score = book['best_iter'], book['test_score']
    done_looping = book['done_looping']
    this_validation_loss = None

    while (epoch < n_epochs) and (not done_looping):
        epoch = epoch + 1
        with run.epoch_bar(epoch, n_train_batches, global_batch) as bar:
            for minibatch_index in range(n_train_batches):

                iter = (epoch - 1) * n_train_batches + minibatch_index

                cost_ij = train_model(minibatch_index)
                bar.step(cost_ij)

                if (iter + 1) % validation_frequency == 0:

                    # compute zero-one loss on validation set
                    validation_losses = [validate_model(i) for i
                                         in range(n_valid_batches)]
                    this_validation_loss = global_mean(validation_losses)

                    # if we got the best validation score until now
                    if this_validation_loss < best_validation_loss:

                        #improve patience if loss improvement is good enough
                        if this_validation_loss < best_validation_loss *  \
                           improvement_threshold:
                            patience = max(patience, iter * patience_increase)

                        # save best validation score and iteration number
                        best_validation_loss = this_validation_loss
                        best_iter = iter

                        # test it on the test set
                        test_losses = [
                            test_model(i)
                            for i in range(n_test_batches)
                        ]
                        test_score = global_mean(test_losses)

                if patience <= iter:
                    done_looping = True
                    break

        run.end_epoch(epoch, bar.mean_cost, this_validation_loss, test_score,
                      book=dict(patience=patience, best_validation_loss=float(best_validation_loss),
                                best_iter=best_iter, test_score=float(test_score),
                                done_looping=done_looping),
                      note="(test: best model so far)")

    if not numpy.isfinite(best_validation_loss):    # no epoch ran (--epochs 0): the model as it is
        best_validation_loss = global_mean([validate_model(i) for i in range(n_valid_batches)])
        test_score = global_mean([test_model(i) for i in range(n_test_batches)])
    print('Optimization complete.')
    print('Best validation score of %f %% obtained at iteration %i, '
          'with test performance %f %%' %
          (best_validation_loss * 100., best_iter + 1, test_score * 100.))
    run.finish(best_validation_error=best_validation_loss, test_error=test_score,
               test_accuracy=1 - test_score, filters=layer0.W.get_value())


def main(argv=None):
    parser = make_parser(__doc__, epochs=10, batch_size=500, lr=0.1, seed=23455)
    parser.add_argument('--nkerns', type=int, nargs=2, default=(20, 50), metavar=('N0', 'N1'),
                        help='number of filters of the two conv-pool layers (default 20 50)')
    args = setup(parser, argv)
    evaluate_lenet5(args, nkerns=tuple(args.nkerns))


if __name__ == '__main__':
    main()

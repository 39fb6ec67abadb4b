"""Softmax (multiclass logistic) regression on MNIST, trained by minibatch SGD.

The deeplearning.net tutorial ``logistic_sgd.py`` that seed 004 walks through: the
``LogisticRegression`` class, ``load_data`` putting the splits in shared variables,
``theano.function`` with ``givens`` slicing them by a minibatch index, and early
stopping on the validation error.  Published result: 7.50 % validation / 7.49 % test
error (learning rate 0.13, batch 600, early stopping after about 74 epochs).

    python examples/logistic_sgd.py            # the published run, about a minute
    python examples/logistic_sgd.py --quick    # 5,000 training images, 30 epochs (a few seconds)
"""
import numpy

import symgraph as theano
import symgraph.tensor as T

from _common import Run, load_splits, make_parser, setup, state_variables

theano.config.floatX = 'float32'


class LogisticRegression(object):
    """Multi-class Logistic Regression Class

    The logistic regression is fully described by a weight matrix :math:`W`
    and bias vector :math:`b`. Classification is done by projecting data
    points onto a set of hyperplanes, the distance to which is used to
    determine a class membership probability.
    """

    def __init__(self, input, n_in, n_out):
        """ Initialize the parameters of the logistic regression

        :type input: theano.tensor.TensorType
        :param input: symbolic variable that describes the input of the
                      architecture (one minibatch)
        :type n_in: int
        :param n_in: number of input units, the dimension of the space in
                     which the datapoints lie
        :type n_out: int
        :param n_out: number of output units, the dimension of the space in
                      which the labels lie
        """
        # initialize with 0 the weights W as a matrix of shape (n_in, n_out)
        self.W = theano.shared(
            value=numpy.zeros((n_in, n_out), dtype=theano.config.floatX),
            name='W',
            borrow=True
        )
        # initialize the biases b as a vector of n_out 0s
        self.b = theano.shared(
            value=numpy.zeros((n_out,), dtype=theano.config.floatX),
            name='b',
            borrow=True
        )

        # symbolic expression for computing the matrix of class-membership
        # probabilities: each row is one example, each column one class
        self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)

        # symbolic description of how to compute prediction as class whose
        # probability is maximal
        self.y_pred = T.argmax(self.p_y_given_x, axis=1)

        # parameters of the model
        self.params = [self.W, self.b]

        # keep track of model input
        self.input = input

    def negative_log_likelihood(self, y):
        """Return the mean of the negative log-likelihood of the prediction
        of this model under a given target distribution.

        Note: we use the mean instead of the sum so that the learning rate
        is less dependent on the batch size.  ``T.log(p)[T.arange(n), y]``
        picks, in each row, the log-probability of the correct label.
        """
        return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

    def errors(self, y):
        """Return a float representing the number of errors in the minibatch
        over the total number of examples of the minibatch ; zero one
        loss over the size of the minibatch
        """
        # check if y has same dimension of y_pred
        if y.ndim != self.y_pred.ndim:
            raise TypeError(
                'y should have the same shape as self.y_pred',
                ('y', y.type, 'y_pred', self.y_pred.type)
            )
        # check if y is of the correct datatype
        if y.dtype.startswith('int'):
            # the T.neq operator returns a vector of 0s and 1s, where 1
            # represents a mistake in prediction
            return T.mean(T.neq(self.y_pred, y))
        else:
            raise NotImplementedError()


def load_data(args):
    """Loads the dataset into shared variables.

    The file is read by ``symgraph.datasets.mnist.load_mnist(path=args.data, ...)``
    (which finds ``mnist.pkl.gz`` or downloads it) instead of the tutorial's own
    gzip/pickle code.
    """
    print('... loading data')
    train_set, valid_set, test_set = load_splits(args)

    def shared_dataset(data_xy, borrow=True):
        """ Function that loads the dataset into shared variables

        The reason we store our dataset in shared variables is to allow
        Theano to copy it into the GPU memory (when code is run on GPU).
        """
        data_x, data_y = data_xy
        shared_x = theano.shared(numpy.asarray(data_x, dtype=theano.config.floatX),
                                 borrow=borrow)
        shared_y = theano.shared(numpy.asarray(data_y, dtype=theano.config.floatX),
                                 borrow=borrow)
        # When storing data on the GPU it has to be stored as floats
        # therefore we will store the labels as ``floatX`` as well
        # (``shared_y`` does exactly that). But during our computations
        # we need them as ints (we use labels as index, and if they are
        # floats it doesn't make sense) therefore instead of returning
        # ``shared_y`` we will have to cast it to int.
        return shared_x, T.cast(shared_y, 'int32')

    test_set_x, test_set_y = shared_dataset(test_set)
    valid_set_x, valid_set_y = shared_dataset(valid_set)
    train_set_x, train_set_y = shared_dataset(train_set)

    rval = [(train_set_x, train_set_y), (valid_set_x, valid_set_y),
            (test_set_x, test_set_y)]
    return rval


def sgd_optimization_mnist(args):
    """Stochastic gradient descent optimization of a log-linear model on MNIST."""
    learning_rate, n_epochs, batch_size = args.lr, args.epochs, args.batch_size
    datasets = load_data(args)

    train_set_x, train_set_y = datasets[0]
    valid_set_x, valid_set_y = datasets[1]
    test_set_x, test_set_y = datasets[2]

    # compute number of minibatches for training, validation and testing
    n_train_batches = train_set_x.get_value(borrow=True).shape[0] // batch_size
    n_valid_batches = valid_set_x.get_value(borrow=True).shape[0] // batch_size
    n_test_batches = test_set_x.get_value(borrow=True).shape[0] // batch_size

    ######################
    # BUILD ACTUAL MODEL #
    ######################
    print('... building the model')

    # allocate symbolic variables for the data
    index = T.lscalar()  # index to a [mini]batch

    # generate symbolic variables for input (x and y represent a minibatch)
    x = T.matrix('x')  # data, presented as rasterized images
    y = T.ivector('y')  # labels, presented as 1D vector of [int] labels

    # construct the logistic regression class
    # Each MNIST image has size 28*28
    classifier = LogisticRegression(input=x, n_in=28 * 28, n_out=10)

    # the cost we minimize during training is the negative log likelihood of
    # the model in symbolic format, plus (seed 004) an optional L2 penalty
    # 0.5 * landa * sum(W ** 2)
    cost = classifier.negative_log_likelihood(y)
    if args.l2:
        cost = cost + 0.5 * args.l2 * T.sum(classifier.W ** 2)

    # compiling a Theano function that computes the mistakes that are made by
    # the model on a minibatch
    test_model = theano.function(
        inputs=[index],
        outputs=classifier.errors(y),
        givens={
            x: test_set_x[index * batch_size: (index + 1) * batch_size],
            y: test_set_y[index * batch_size: (index + 1) * batch_size]
        }
    )

    validate_model = theano.function(
        inputs=[index],
        outputs=classifier.errors(y),
        givens={
            x: valid_set_x[index * batch_size: (index + 1) * batch_size],
            y: valid_set_y[index * batch_size: (index + 1) * batch_size]
        }
    )

    # compute the gradient of cost with respect to theta = (W,b)
    g_W = T.grad(cost=cost, wrt=classifier.W)
    g_b = T.grad(cost=cost, wrt=classifier.b)

    # specify how to update the parameters of the model as a list of
    # (variable, update expression) pairs.
    updates = [(classifier.W, classifier.W - learning_rate * g_W),
               (classifier.b, classifier.b - learning_rate * g_b)]

    # compiling a Theano function `train_model` that returns the cost, but in
    # the same time updates the parameter of the model based on the rules
    # defined in `updates`
    train_model = theano.function(
        inputs=[index],
        outputs=cost,
        updates=updates,
        givens={
            x: train_set_x[index * batch_size: (index + 1) * batch_size],
            y: train_set_y[index * batch_size: (index + 1) * batch_size]
        }
    )

    ###############
    # TRAIN MODEL #
    ###############
    print('... training the model')
    # early-stopping parameters
    patience = 5000  # look as this many examples regardless
    patience_increase = 2  # wait this much longer when a new best is found
    improvement_threshold = 0.995  # a relative improvement of this much is
                                   # considered significant
    validation_frequency = min(n_train_batches, patience // 2)
                                  # go through this many
                                  # minibatches before checking the network
                                  # on the validation set; in this case we
                                  # check every epoch

    run = Run(args, 'logistic_sgd', config=dict(l2=args.l2))
    run.track(state_variables(updates, cost))
    epoch, book = run.resume(dict(patience=patience, best_validation_loss=numpy.inf,
                                  test_score=0., done_looping=False))
    patience, best_validation_loss = book['patience'], book['best_validation_loss']
    test_score, done_looping = book['test_score'], book['done_looping']
    this_validation_loss = None

    while (epoch < n_epochs) and (not done_looping):
        epoch = epoch + 1
        with run.epoch_bar(epoch, n_train_batches, batch_size) as bar:
            for minibatch_index in range(n_train_batches):

                minibatch_avg_cost = train_model(minibatch_index)
                bar.step(minibatch_avg_cost)
                # iteration number
                iter = (epoch - 1) * n_train_batches + minibatch_index

                if (iter + 1) % validation_frequency == 0:
                    # compute zero-one loss on validation set
                    validation_losses = [validate_model(i)
                                         for i in range(n_valid_batches)]
                    this_validation_loss = numpy.mean(validation_losses)

                    # if we got the best validation score until now
                    if this_validation_loss < best_validation_loss:
                        #improve patience if loss improvement is good enough
                        if this_validation_loss < best_validation_loss * \
                           improvement_threshold:
                            patience = max(patience, iter * patience_increase)

                        best_validation_loss = this_validation_loss
                        # test it on the test set

                        test_losses = [test_model(i)
                                       for i in range(n_test_batches)]
                        test_score = numpy.mean(test_losses)

                if patience <= iter:
                    done_looping = True
                    break

        run.end_epoch(epoch, bar.mean_cost, this_validation_loss, test_score,
                      book=dict(patience=patience, best_validation_loss=float(best_validation_loss),
                                test_score=float(test_score), done_looping=done_looping),
                      note="(test: best model so far)")

    if not numpy.isfinite(best_validation_loss):    # no epoch ran (--epochs 0): the model as it is
        best_validation_loss = numpy.mean([validate_model(i) for i in range(n_valid_batches)])
        test_score = numpy.mean([test_model(i) for i in range(n_test_batches)])
    print('Optimization complete with best validation score of %f %%, '
          'with test performance %f %%'
          % (best_validation_loss * 100., test_score * 100.))

    # seed 004: a function with no inputs at all, its data given by `givens`
    predict_model = theano.function(inputs=[], outputs=classifier.y_pred,
                                    givens={x: test_set_x[:10]})
    print("Predicted values for the first 10 examples in test set:", predict_model())
    run.finish(best_validation_error=best_validation_loss, test_error=test_score)


def main(argv=None):
    parser = make_parser(__doc__, epochs=1000, batch_size=600, lr=0.13, seed=0, quick_epochs=30)
    parser.add_argument('--l2', type=float, default=0.0, metavar='LAMBDA',
                        help='L2 weight penalty 0.5*LAMBDA*sum(W**2) (seed 004; default 0)')
    args = setup(parser, argv)
    sgd_optimization_mnist(args)


if __name__ == '__main__':
    main()

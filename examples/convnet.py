"""Alec Radford's convnet on MNIST (Theano-Tutorials, 5_convolutional_net.py; seed 000).

Three conv + max-pool layers (32, 64, 128 3x3 filters; the first conv in ``'full'``
mode, pooling with ``ignore_border=False``), a 625-unit rectified layer and a softmax,
with dropout drawn from ``MRG_RandomStreams``, trained by RMSprop (lr 0.001, batch 128)
on one-hot targets with ``categorical_crossentropy``.

As in the original, training uses all 60,000 MNIST training images (the 50,000
``train`` and 10,000 ``valid`` rows of mnist.pkl.gz) and each epoch reports the test
accuracy.  Published log: 0.917 after epoch 1, 0.992 at epoch 10, 0.995 by epochs 43-50.

    python examples/convnet.py --epochs 10
    python examples/convnet.py --quick       # 5,000 training images, 3 epochs of batch 32
    mpiexec -n 2 python examples/convnet.py  # data-parallel: each rank takes half of every
                                             # minibatch of 128, gradients averaged
"""
import numpy as np

import symgraph as theano
import symgraph.tensor as T
import symgraph.distributed as dist
from symgraph.sandbox.rng_mrg import MRG_RandomStreams as RandomStreams
from symgraph.tensor.nnet.conv import conv2d
from symgraph.tensor.signal.downsample import max_pool_2d

from _common import Run, global_sum, load_splits, make_parser, setup, state_variables

theano.config.floatX = 'float32'

srng = None  # the MRG_RandomStreams of the dropout masks, seeded in main()


def floatX(X):
    return np.asarray(X, dtype=theano.config.floatX)


def init_weights(shape):
    return theano.shared(floatX(np.random.randn(*shape) * 0.01))


def rectify(X):
    return T.maximum(X, 0.)


def softmax(X):
    e_x = T.exp(X - X.max(axis=1).dimshuffle(0, 'x'))
    return e_x / e_x.sum(axis=1).dimshuffle(0, 'x')


def dropout(X, p=0.):
    if p > 0:
        retain_prob = 1 - p
        X *= srng.binomial(X.shape, p=retain_prob, dtype=theano.config.floatX)
        X /= retain_prob
    return X


def RMSprop(cost, params, lr=0.001, rho=0.9, epsilon=1e-6):
    # data-parallel: the gradients averaged over ranks (one bucketed allreduce; as is in one process)
    grads = dist.average_gradients(T.grad(cost=cost, wrt=params))
    updates = []
    for p, g in zip(params, grads):
        acc = theano.shared(p.get_value() * 0.)
        acc_new = rho * acc + (1 - rho) * g ** 2
        gradient_scaling = T.sqrt(acc_new + epsilon)
        g = g / gradient_scaling
        updates.append((acc, acc_new))
        updates.append((p, p - lr * g))
    return updates


def model(X, w, w2, w3, w4, w_o, p_drop_conv, p_drop_hidden):
    # X:  128 * 1 * 28 * 28, w: 32 * 1 * 3 * 3
    # full mode -> l1a: 128 * 32 * (28 + 3 - 1) * (28 + 3 - 1)
    l1a = rectify(conv2d(X, w, border_mode='full'))
    # ignore_border False -> l1: 128 * 32 * (30 / 2) * (30 / 2)
    l1 = max_pool_2d(l1a, (2, 2), ignore_border=False)
    l1 = dropout(l1, p_drop_conv)

    # w2: 64 * 32 * 3 * 3, valid mode -> l2a: 128 * 64 * 13 * 13
    l2a = rectify(conv2d(l1, w2))
    # l2: 128 * 64 * (13 / 2 + 1) * (13 / 2 + 1)
    l2 = max_pool_2d(l2a, (2, 2), ignore_border=False)
    l2 = dropout(l2, p_drop_conv)

    # w3: 128 * 64 * 3 * 3 -> l3a: 128 * 128 * 5 * 5 -> l3b: 128 * 128 * 3 * 3
    l3a = rectify(conv2d(l2, w3))
    l3b = max_pool_2d(l3a, (2, 2), ignore_border=False)
    # l3: 128 * (128 * 3 * 3)
    l3 = T.flatten(l3b, outdim=2)
    l3 = dropout(l3, p_drop_conv)

    # w4: (128 * 3 * 3) * 625 -> l4: 128 * 625
    l4 = rectify(T.dot(l3, w4))
    l4 = dropout(l4, p_drop_hidden)

    # w_o: 625 * 10 -> pyx: 128 * 10
    pyx = softmax(T.dot(l4, w_o))
    return l1, l2, l3, l4, pyx


def mnist(args, onehot=True):
    """The original ``load.mnist``: 60,000 training and 10,000 test images, one-hot labels."""
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_splits(args)
    trX, trY = np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y])
    teX, teY = test_x, test_y
    if onehot:
        trY, teY = np.eye(10, dtype='float32')[trY], np.eye(10, dtype='float32')[teY]
    return trX, teX, trY, teY


def main(argv=None):
    global srng
    # --quick: 3 epochs of batches of 32 (about 600 steps; at batch 128 its 6,000 images give
    # too few steps to leave the starting plateau: 92 % test accuracy instead of 11 %)
    parser = make_parser(__doc__, epochs=10, batch_size=128, lr=0.001, seed=42, quick_epochs=3,
                         quick_batch_size=32)
    parser.add_argument('--eval-batch', type=int, default=500, metavar='N',
                        help='images per call of predict() when measuring test accuracy')
    args = setup(parser, argv)
    batch_size = args.batch_size
    # --quick: 5000 train images (+ 1000 "valid" rows folded in, as in the full run)
    np.random.seed(args.seed)
    # each rank draws its own dropout masks (rank 0's are those of the one-process run)
    srng = RandomStreams(seed=args.seed + 7919 * dist.rank())

    trX, teX, trY, teY = mnist(args, onehot=True)

    trX = trX.reshape(-1, 1, 28, 28)
    teX = teX.reshape(-1, 1, 28, 28)

    X = T.ftensor4()
    Y = T.fmatrix()

    w = init_weights((32, 1, 3, 3))
    w2 = init_weights((64, 32, 3, 3))
    w3 = init_weights((128, 64, 3, 3))
    w4 = init_weights((128 * 3 * 3, 625))
    w_o = init_weights((625, 10))

    # the model with dropout, for training
    noise_l1, noise_l2, noise_l3, noise_l4, noise_py_x = model(X, w, w2, w3, w4, w_o, 0.2, 0.5)
    # the model without dropout, for prediction
    l1, l2, l3, l4, py_x = model(X, w, w2, w3, w4, w_o, 0., 0.)
    y_x = T.argmax(py_x, axis=1)

    cost = T.mean(T.nnet.categorical_crossentropy(noise_py_x, Y))
    params = [w, w2, w3, w4, w_o]
    dist.broadcast_shared(params)       # every rank starts from rank 0's weights
    updates = RMSprop(cost, params, lr=args.lr)

    print('... compiling')
    train = theano.function(inputs=[X, Y], outputs=cost, updates=updates, allow_input_downcast=True)
    predict = theano.function(inputs=[X], outputs=y_x, allow_input_downcast=True)

    # data-parallel: each rank predicts its shard of the test set, the counts are summed
    mine = dist.shard(len(teX), pad=False) if dist.size() > 1 else slice(None)
    myX, myY = teX[mine], teY[mine]

    def accuracy():
        # predict() in slices of --eval-batch images rather than all 10,000 at once
        pred = np.concatenate([predict(myX[i:i + args.eval_batch])
                               for i in range(0, len(myX), args.eval_batch)])
        right, total = global_sum([np.sum(np.argmax(myY, axis=1) == pred), len(myX)])
        return right / total

    run = Run(args, 'convnet')
    run.track(state_variables(updates, cost))
    start_epoch, _ = run.resume()

    batches = list(zip(range(0, len(trX), batch_size), range(batch_size, len(trX), batch_size)))
    acc = None
    for i in range(start_epoch, args.epochs):
        with run.epoch_bar(i + 1, len(batches), batch_size) as bar:
            for start, end in batches:
                lo, hi = dist.batch_slice(start // batch_size, batch_size)   # this rank's rows
                cost = train(trX[lo:hi], trY[lo:hi])
                bar.step(cost)
        acc = accuracy()
        # the original printed "iter {:03d}, {:.3f}".format(i + 1, acc)
        run.end_epoch(i + 1, bar.mean_cost, test_error=1 - acc,
                      note="iter {:03d}, {:.3f}".format(i + 1, acc))

    if acc is None:     # no epoch ran here: the checkpoint's last result, or the model as it is
        acc = 1 - run.history[-1]['test_error'] if run.history else accuracy()
    run.finish(test_accuracy=acc, filters=w.get_value())


if __name__ == '__main__':
    main()

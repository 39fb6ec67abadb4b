"""The deeplearning.net RBM tutorial (``rbm.py``) rebuilt on ``scan``.

A binary RBM (784 visible, ``--hidden`` hidden units) trained on MNIST by contrastive
divergence: the Gibbs chain ``h -> v -> h`` runs ``--k`` steps in one :func:`symgraph.scan`
whose body draws its samples from ``RandomStreams`` (the streams' updates come back from
``scan``); the cost is the free energy of the data minus that of the chain end, with the
chain end held constant (``consider_constant``). ``--persistent`` (the tutorial's default,
PCD) keeps the chain's hidden state in a shared variable across updates; without it each
update starts the chain at the data (CD-k). Each epoch prints the mean pseudo-likelihood
cost (the stochastic approximation of the tutorial: one bit flipped per image).

At the end it writes two PNG images (no plotting library needed): the learned filters
(the first 100 columns of W as 28x28 tiles) and samples drawn from a persistent chain
started at test images (``--sample-steps`` Gibbs steps between the rows shown).

    python examples/rbm.py                   # 5 epochs, 500 hidden units, PCD-15
    python examples/rbm.py --quick           # 5,000 images, 1 epoch
    python examples/rbm.py --no-persistent --k 1   # CD-1
"""
import struct
import zlib

import numpy as np

import symgraph as theano
import symgraph.tensor as T
from symgraph.tensor.shared_randomstreams import RandomStreams

from _common import Run, load_splits, make_parser, setup, state_variables

theano.config.floatX = 'float32'


class RBM:
    def __init__(self, n_visible, n_hidden, np_rng, theano_rng):
        a = 4 * np.sqrt(6. / (n_hidden + n_visible))
        self.W = theano.shared(np.asarray(np_rng.uniform(-a, a, (n_visible, n_hidden)),
                                          dtype='float32'), name='W')
        self.hbias = theano.shared(np.zeros(n_hidden, dtype='float32'), name='hbias')
        self.vbias = theano.shared(np.zeros(n_visible, dtype='float32'), name='vbias')
        self.params = [self.W, self.hbias, self.vbias]
        self.rng = theano_rng

    def free_energy(self, v):
        wx_b = T.dot(v, self.W) + self.hbias
        return -T.dot(v, self.vbias) - T.sum(T.log(1 + T.exp(wx_b)), axis=1)

    def sample_h_given_v(self, v):
        mean = T.nnet.sigmoid(T.dot(v, self.W) + self.hbias)
        return mean, self.rng.binomial(size=mean.shape, n=1, p=mean, dtype='float32')

    def sample_v_given_h(self, h):
        pre = T.dot(h, self.W.T) + self.vbias
        mean = T.nnet.sigmoid(pre)
        return pre, mean, self.rng.binomial(size=mean.shape, n=1, p=mean, dtype='float32')

    def gibbs_hvh(self, h):
        pre_v, v_mean, v = self.sample_v_given_h(h)
        h_mean, h_new = self.sample_h_given_v(v)
        return [pre_v, v_mean, v, h_mean, h_new]

    def gibbs_vhv(self, v):
        _, h = self.sample_h_given_v(v)
        _, v_mean, v_new = self.sample_v_given_h(h)
        return [v_mean, v_new]

    def updates(self, x, lr, persistent, k):
        """The CD-k / PCD-k cost and parameter updates (with the random streams' updates)."""
        _, ph = self.sample_h_given_v(x)
        start = ph if persistent is None else persistent
        (_, _, vs, _, hs), updates = theano.scan(
            lambda h: self.gibbs_hvh(h), outputs_info=[None, None, None, None, start],
            n_steps=k, name='gibbs_hvh')
        chain_end = vs[-1]
        cost = T.mean(self.free_energy(x)) - T.mean(self.free_energy(chain_end))
        grads = T.grad(cost, self.params, consider_constant=[chain_end])
        for p, g in zip(self.params, grads):
            updates[p] = p - g * T.cast(lr, 'float32')
        if persistent is not None:
            updates[persistent] = hs[-1]
        return updates

    def pseudo_likelihood(self, x, bit):
        """The tutorial's stochastic pseudo-likelihood: flip bit ``bit`` of every image."""
        xi = T.round(x)
        fe = self.free_energy(xi)
        xi_flip = T.set_subtensor(xi[:, bit], 1 - xi[:, bit])
        fe_flip = self.free_energy(xi_flip)
        return T.mean(784 * T.log(T.nnet.sigmoid(fe_flip - fe)))


def tile(images, shape, grid, spacing=1):
    """Rows of ``images`` (scaled to [0, 1] each) as one uint8 picture of ``grid`` tiles."""
    h, w = shape
    rows, cols = grid
    out = np.zeros((rows * (h + spacing) - spacing, cols * (w + spacing) - spacing), np.uint8)
    for n, img in enumerate(images[:rows * cols]):
        img = img.reshape(shape).astype(np.float64)
        img = (img - img.min()) / (img.max() - img.min() + 1e-8)
        r, c = divmod(n, cols)
        out[r * (h + spacing):r * (h + spacing) + h, c * (w + spacing):c * (w + spacing) + w] = \
            np.round(255 * img)
    return out


def write_png(path, gray):
    """An 8-bit grayscale PNG of the 2-d uint8 array ``gray``."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body))
    h, w = gray.shape
    raw = b''.join(b'\x00' + gray[r].tobytes() for r in range(h))
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def main(argv=None):
    parser = make_parser(__doc__, epochs=5, batch_size=20, lr=0.1, seed=123, quick_epochs=1)
    parser.add_argument('--hidden', type=int, default=500, metavar='N',
                        help='hidden units (default %(default)s)')
    parser.add_argument('--k', type=int, default=15, help='Gibbs steps per update (default 15)')
    parser.add_argument('--no-persistent', action='store_true', help='CD-k instead of PCD-k')
    parser.add_argument('--filters', default='rbm_filters.png', metavar='PATH',
                        help='PNG of the learned filters (default %(default)s)')
    parser.add_argument('--samples', default='rbm_samples.png', metavar='PATH',
                        help='PNG of samples from the model (default %(default)s)')
    parser.add_argument('--n-chains', type=int, default=10, help='sampling chains (default 10)')
    parser.add_argument('--n-samples', type=int, default=5, help='rows of samples (default 5)')
    parser.add_argument('--sample-steps', type=int, default=200,
                        help='Gibbs steps between two rows of samples (default 200)')
    args = setup(parser, argv)
    np_rng = np.random.RandomState(args.seed)
    theano_rng = RandomStreams(np_rng.randint(2 ** 30))

    (train_x, _), _, (test_x, _) = load_splits(args)
    train_set = theano.shared(train_x.astype('float32'), name='train_x')
    bs = args.batch_size
    n_batches = len(train_x) // bs

    index, bit = T.lscalar('index'), T.lscalar('bit')
    x = T.fmatrix('x')
    rbm = RBM(784, args.hidden, np_rng, theano_rng)
    persistent = None if args.no_persistent else \
        theano.shared(np.zeros((bs, args.hidden), dtype='float32'), name='persistent_chain')
    updates = rbm.updates(x, args.lr, persistent, args.k)
    pl = rbm.pseudo_likelihood(x, bit)

    print('... compiling')
    train = theano.function([index, bit], pl, updates=updates,
                            givens={x: train_set[index * bs:(index + 1) * bs]})

    run = Run(args, 'rbm', config=dict(hidden=args.hidden, k=args.k,
                                       persistent=not args.no_persistent))
    run.track(state_variables(updates, pl))
    start_epoch, book = run.resume(dict(bit=0))
    bit_i = book['bit']
    print('... training')
    for epoch in range(start_epoch + 1, args.epochs + 1):
        with run.epoch_bar(epoch, n_batches, bs) as bar:
            for i in range(n_batches):
                bar.step(train(i, bit_i))
                bit_i = (bit_i + 1) % 784
        run.end_epoch(epoch, bar.mean_cost, book=dict(bit=bit_i),
                      note='(cost: pseudo-likelihood)')

    write_png(args.filters, tile(rbm.W.get_value().T, (28, 28), (10, 10)))
    print(f'... wrote {args.filters}')

    # sampling: persistent chains started at test images, a scan of --sample-steps steps
    idx = np_rng.randint(len(test_x) - args.n_chains)
    chains = theano.shared(test_x[idx:idx + args.n_chains].astype('float32'), name='chains')
    (v_means, vs), sample_updates = theano.scan(rbm.gibbs_vhv, outputs_info=[None, chains],
                                                n_steps=args.sample_steps, name='gibbs_vhv')
    sample_updates[chains] = vs[-1]
    sample = theano.function([], v_means[-1], updates=sample_updates)
    rows = [sample() for _ in range(args.n_samples)]
    write_png(args.samples, tile(np.concatenate(rows), (28, 28), (args.n_samples, args.n_chains)))
    print(f'... wrote {args.samples}')
    last_pl = run.history[-1]['cost'] if run.history else None
    run.finish(pseudo_likelihood=None if last_pl is None else round(last_pl, 4))


if __name__ == '__main__':
    main()

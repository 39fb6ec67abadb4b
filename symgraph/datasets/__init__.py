"""Data sets used by the examples and tests: currently MNIST (``mnist.pkl.gz``)."""
from symgraph.datasets.mnist import (  # noqa: F401
    MNIST_SHA256,
    MNIST_URLS,
    DatasetError,
    data_dir,
    download,
    find_mnist,
    load_mnist,
)

__all__ = ["DatasetError", "MNIST_SHA256", "MNIST_URLS", "data_dir", "download", "find_mnist", "load_mnist"]

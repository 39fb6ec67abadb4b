"""Theano's ``theano.misc``: ``pkl_utils`` (dump/load with arrays stored as .npy)."""
from . import pkl_utils  # noqa: F401

"""Datasets and batching: Fashion-MNIST (located, downloaded, verified), scikit-learn's digits as a
binary task, tiny 2-D toy sets, and fast in-memory minibatches. No model code lives here.

Importing this package does not import torch or scikit-learn; the functions that need them do.
"""

from backproplab.data import toy
from backproplab.data.batches import iterate_minibatches, num_batches
from backproplab.data.digits import load_digits_binary
from backproplab.data.fashion_mnist import (
    FASHION_CLASSES,
    MIRRORS,
    SHA256,
    SPLITS,
    cache_dir,
    describe_files,
    download_file,
    fashion_mnist_flat,
    fashion_mnist_tensors,
    load_fashion_mnist,
    one_hot,
    stratified_subset,
    subset,
)
from backproplab.data.idx import read_idx, read_idx_file
from backproplab.data.toy import circles, moons, spirals, xor

__all__ = [
    "FASHION_CLASSES",
    "MIRRORS",
    "SHA256",
    "SPLITS",
    "cache_dir",
    "circles",
    "describe_files",
    "download_file",
    "fashion_mnist_flat",
    "fashion_mnist_tensors",
    "iterate_minibatches",
    "load_digits_binary",
    "load_fashion_mnist",
    "moons",
    "num_batches",
    "one_hot",
    "read_idx",
    "read_idx_file",
    "spirals",
    "stratified_subset",
    "subset",
    "toy",
    "xor",
]

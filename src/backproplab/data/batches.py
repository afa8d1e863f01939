"""Minibatches sliced from whole in-memory arrays or tensors with one seeded permutation.

At Fashion-MNIST sizes a per-item ``Dataset`` + ``DataLoader`` costs more than the model, so the
training loops keep the data in memory (on the device, for torch) and index it with a permutation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np

from backproplab.errors import InputError


def _is_tensor(x) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return int(batch_size)


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches :func:`iterate_minibatches` yields for ``n`` samples.

    ``ceil(n / batch_size)``, or ``floor(n / batch_size)`` with ``drop_last``.
    """
    batch_size = _check_batch_size(batch_size)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"n must be an integer >= 0, got {n!r}")
    return int(n) // batch_size if drop_last else -(-int(n) // batch_size)


def _permutation(n: int, seed, like_tensor, device):
    """A permutation of ``range(n)``: a torch tensor on ``device`` when ``like_tensor``, else NumPy."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(seed, torch.Generator):
        perm = torch.randperm(n, generator=seed, device=seed.device)
        return perm.to(device) if like_tensor else perm.cpu().numpy()
    if isinstance(seed, np.random.Generator) or seed is None or (
            isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        if like_tensor:
            if isinstance(seed, np.random.Generator):
                return torch.from_numpy(seed.permutation(n)).to(device)
            generator = torch.Generator()
            if seed is None:
                generator.seed()
            else:
                generator.manual_seed(int(seed))
            return torch.randperm(n, generator=generator).to(device)
        return np.random.default_rng(seed).permutation(n)
    raise InputError(f"seed must be None, an int, a numpy Generator or a torch.Generator, got {seed!r}")


def iterate_minibatches(X, y, batch_size: int, seed=None, shuffle: bool = True,
                        drop_last: bool = False) -> Iterator[tuple]:
    """Yield ``(X_batch, y_batch)`` pairs covering the data once (one epoch).

    Parameters
    ----------
    X : numpy.ndarray or torch.Tensor, shape [N, ...]
    y : numpy.ndarray or torch.Tensor, shape [N, ...]
    batch_size : int
        Samples per batch (>= 1); the last batch may be smaller unless ``drop_last``.
    seed : None, int, numpy.random.Generator or torch.Generator
        Source of the shuffling permutation. With torch tensors an int seeds a private
        ``torch.Generator`` and the permutation is moved to the tensor's device; a Generator
        passed in advances, so successive epochs differ. None draws fresh entropy.
    shuffle : bool
        Visit the samples in a random order; without it, batches are consecutive slices (views).
    drop_last : bool
        Leave out a final batch smaller than ``batch_size``.

    Returns
    -------
    iterator of tuple
        ``num_batches(N, batch_size, drop_last)`` pairs with the types of ``X`` and ``y``.

    Raises
    ------
    InputError
        ``batch_size`` < 1, ``X`` and ``y`` of different lengths, or a bad ``seed``; raised at the
        call, not at the first ``next``.
    """
    batch_size = _check_batch_size(batch_size)
    if not (hasattr(X, "shape") and hasattr(y, "shape")):
        raise InputError(f"X and y must be NumPy arrays or torch tensors, got {type(X).__name__} and {type(y).__name__}")
    if len(X.shape) == 0 or len(y.shape) == 0:
        raise InputError(f"X and y must have a first (sample) dimension, got shapes {tuple(X.shape)} and {tuple(y.shape)}")
    n = X.shape[0]
    if y.shape[0] != n:
        raise InputError(f"X and y must have the same length, got {n} and {y.shape[0]}")
    order = None
    if shuffle:
        tensor = _is_tensor(X)
        order = _permutation(n, seed, tensor, X.device if tensor else None)
    return _batches(X, y, n, batch_size, order, drop_last)


def _take(a, index):
    if _is_tensor(a) and not _is_tensor(index):
        import torch

        index = torch.from_numpy(np.asarray(index)).to(a.device)
    elif not _is_tensor(a) and _is_tensor(index):
        index = index.cpu().numpy()
    elif _is_tensor(a) and index.device != a.device:
        index = index.to(a.device)
    return a[index]


def _batches(X, y, n: int, batch_size: int, order, drop_last: bool) -> Iterator[tuple]:
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        if order is None:
            yield X[start:end], y[start:end]
        else:
            index = order[start:end]
            yield _take(X, index), _take(y, index)

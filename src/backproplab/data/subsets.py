"""Subsets and label encodings for any labelled array: stratified subsets and one-hot rows.

Shapes: ``labels [N]`` (NumPy, a tensor, or a sequence of ints); ``X [N, ...]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from backproplab.errors import InputError

if TYPE_CHECKING:
    import torch

__all__ = ["stratified_subset", "subset", "one_hot"]


def stratified_subset(labels: np.ndarray | torch.Tensor | Sequence[int], n: int, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """Indices of a seeded random subset of size ``n`` with the classes' proportions kept.

    Each class gets ``n * count / N`` places, rounded by largest remainder, so the sizes add up to
    ``n`` exactly.

    Parameters
    ----------
    labels : array-like of int, shape [N]
    n : int
        Subset size, 1 <= n <= N.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray, int64, shape [n], sorted ascending.
    """
    labels = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels)
    if labels.ndim != 1:
        raise InputError(f"labels must be 1-D, got shape {labels.shape}")
    total = len(labels)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= total:
        raise InputError(f"n must be an integer in [1, {total}] (the number of labels), got {n!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    share = counts * (n / total)
    take = np.floor(share).astype(np.int64)
    remainder = int(n - take.sum())
    if remainder:
        order = np.argsort(-(share - take), kind="stable")
        take[order[:remainder]] += 1
    chosen = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False)
              for c, k in zip(classes, take, strict=True) if k]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def subset(X: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, n: int,
           seed: int | np.random.Generator | None = 0) -> tuple:
    """``(X[idx], y[idx])`` for ``idx = stratified_subset(y, n, seed)``; NumPy arrays or torch tensors."""
    if len(X) != len(y):
        raise InputError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    idx = stratified_subset(y, n, seed)
    if hasattr(X, "device") and not isinstance(X, np.ndarray):
        import torch

        index = torch.from_numpy(idx).to(X.device)
        return X[index], y[index.to(y.device)]
    return X[idx], y[idx]


def one_hot(labels: np.ndarray | torch.Tensor | Sequence[int], num_classes: int | None = None,
            dtype: np.dtype | type = np.float64) -> np.ndarray:
    """One-hot encode integer labels.

    Parameters
    ----------
    labels : array-like of int, shape [N]
    num_classes : int, optional
        Number of columns C; default ``max(labels) + 1``.
    dtype : numpy dtype
        Default float64.

    Returns
    -------
    numpy.ndarray, shape [N, C], one 1 per row.

    Raises
    ------
    InputError
        Labels not 1-D integers, negative, or not below ``num_classes``.
    """
    array = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels)
    if array.ndim != 1:
        raise InputError(f"labels must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.equal(np.mod(array, 1), 0)):
            raise InputError(f"labels must be integers, got dtype {array.dtype} with fractional values")
        array = array.astype(np.int64)
    array = array.astype(np.int64, copy=False)
    if num_classes is None:
        num_classes = int(array.max()) + 1 if array.size else 0
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        if not (num_classes == 0 and array.size == 0):
            raise InputError(f"num_classes must be a positive integer, got {num_classes!r}")
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise InputError(
            f"labels must be in [0, {num_classes - 1}] for num_classes={num_classes}, "
            f"got values from {int(array.min())} to {int(array.max())}")
    out = np.zeros((array.size, num_classes), dtype=dtype)
    out[np.arange(array.size), array] = 1
    return out


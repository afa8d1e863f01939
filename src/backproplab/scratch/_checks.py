"""Input validation at the door, scikit-learn style: every error names the argument.

These helpers raise :class:`backproplab.errors.InputError` (a ``ValueError``) whose message says
which argument was wrong, what was expected and what was given.
"""

from __future__ import annotations

import numbers

import numpy as np

from backproplab.checks import is_real
from backproplab.errors import InputError


def as_float_array(x, name: str, *, ndim: int | tuple[int, ...] | None = None, dtype=None) -> np.ndarray:
    """Return ``x`` as a floating-point array (float64 unless it already is a float type).

    Raises InputError when ``x`` is not numeric, has the wrong number of dimensions, is empty,
    or holds NaN or inf.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - anything array-like may fail in its own way
        raise InputError(f"{name} must be array-like, got {type(x).__name__}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise InputError(f"{name} must be real, got dtype {arr.dtype}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise InputError(f"{name} must be {want}, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise InputError(f"{name} must be finite, got {bad} NaN/inf value(s)")
    return arr


def check_positive(value, name: str, *, integer: bool = False, minimum: float | None = None):
    """Check that a scalar is finite and > 0 (or >= ``minimum`` when given); return it."""
    if not is_real(value):
        kind = "an integer" if integer else "a number"
        raise InputError(f"{name} must be {kind}, got {value!r}")
    if integer and not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if not np.isfinite(value):
        raise InputError(f"{name} must be finite, got {value!r}")
    if minimum is not None:
        if value < minimum:
            raise InputError(f"{name} must be >= {minimum}, got {value!r}")
    elif value <= 0:
        raise InputError(f"{name} must be > 0, got {value!r}")
    return int(value) if integer else float(value)


def check_labels(y, n_classes: int, n_rows: int, name: str = "y") -> np.ndarray:
    """Return class targets as a float one-hot (or probability) matrix of shape (n_rows, n_classes).

    ``y`` may be integer labels of shape (n_rows,) with values in [0, n_classes), or a matrix of
    shape (n_rows, n_classes) (one-hot or class probabilities; each row must sum to 1).
    """
    arr = np.asarray(y)
    if arr.ndim == 1:
        if arr.shape[0] != n_rows:
            raise InputError(f"{name} must have {n_rows} labels (one per row), got shape {arr.shape}")
        if np.issubdtype(arr.dtype, np.floating):
            if not np.isfinite(arr).all() or not np.array_equal(arr, np.round(arr)):
                raise InputError(f"{name} must hold integer class labels, got non-integer values")
            arr = arr.astype(np.int64)
        elif not np.issubdtype(arr.dtype, np.integer):
            raise InputError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= n_classes:
            raise InputError(
                f"{name} labels must be in [0, {n_classes - 1}] for {n_classes} classes, got range [{lo}, {hi}]"
            )
        onehot = np.zeros((n_rows, n_classes))
        onehot[np.arange(n_rows), arr] = 1.0
        return onehot
    if arr.ndim == 2:
        if arr.shape != (n_rows, n_classes):
            raise InputError(
                f"{name} as a one-hot matrix must have shape ({n_rows}, {n_classes}), got {arr.shape}"
            )
        arr = as_float_array(arr, name)
        if (arr < 0).any() or not np.allclose(arr.sum(axis=1), 1.0, atol=1e-6):
            raise InputError(f"{name} rows must be one-hot or probabilities summing to 1")
        return arr
    raise InputError(f"{name} must be 1-D labels or a 2-D one-hot matrix, got shape {arr.shape}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> np.ndarray:
    """Return ``b`` reshaped to ``a``'s shape when only a trailing unit axis differs; else raise."""
    if a.shape == b.shape:
        return b
    if a.ndim == 2 and a.shape[1] == 1 and b.shape == (a.shape[0],):
        return b.reshape(a.shape)
    if b.ndim == 2 and b.shape[1] == 1 and a.shape == (b.shape[0],):
        return b.reshape(a.shape)
    raise InputError(f"{name_b} must have the shape of {name_a} {a.shape}, got {b.shape}")

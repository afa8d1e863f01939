"""Tiny 2-D datasets for lesson plots: XOR, two moons, two circles, spirals. All seeded.

Every generator takes ``n`` as the *total* number of points and a ``seed`` (an int, a
``numpy.random.Generator`` or None) and returns ``X`` float64 ``[n, 2]`` and integer labels
``[n]`` (except :func:`xor`, whose targets are float64 as the course's XOR network expects).
"""

from __future__ import annotations

import numpy as np

from backproplab.checks import is_real
from backproplab.errors import InputError


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise InputError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def _check(n, noise, min_n: int = 1) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < min_n:
        raise InputError(f"n must be an integer >= {min_n}, got {n!r}")
    if not is_real(noise) or not noise >= 0:
        raise InputError(f"noise must be a number >= 0, got {noise!r}")


def _split(n: int, parts: int) -> np.ndarray:
    """Sizes of ``parts`` groups adding up to ``n``, as equal as possible."""
    return np.full(parts, n // parts) + (np.arange(parts) < n % parts)


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points.

    Returns
    -------
    X : numpy.ndarray, float64, shape [4, 2]
        ``[[0, 0], [0, 1], [1, 0], [1, 1]]``
    y : numpy.ndarray, float64, shape [4]
        ``[0, 1, 1, 0]``
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    return X, y


def moons(n: int = 200, noise: float = 0.1, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's ``make_moons``).

    Returns
    -------
    X : numpy.ndarray, float64, shape [n, 2]
    y : numpy.ndarray, int64, shape [n], values {0, 1} (the upper moon is 0)
    """
    _check(n, noise)
    rng = _rng(seed)
    n0, n1 = _split(n, 2)
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], axis=1),
                        np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n)
    return X[order], y[order]


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """A small circle inside a big one (as scikit-learn's ``make_circles``).

    Parameters
    ----------
    factor : float
        Radius of the inner circle relative to the outer one (radius 1), in (0, 1).

    Returns
    -------
    X : numpy.ndarray, float64, shape [n, 2]
    y : numpy.ndarray, int64, shape [n]; 0 outer, 1 inner
    """
    _check(n, noise)
    if not is_real(factor) or not 0.0 < factor < 1.0:
        raise InputError(f"factor must be a number strictly between 0 and 1, got {factor!r}")
    rng = _rng(seed)
    n0, n1 = _split(n, 2)
    t0 = np.linspace(0.0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * np.pi, n1, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], axis=1),
                        factor * np.stack([np.cos(t1), np.sin(t1)], axis=1)])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + rng.normal(scale=noise, size=X.shape)
    order = rng.permutation(n)
    return X[order], y[order]


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms (the CS231n toy set), ``n`` points in all.

    Arm ``k`` has its radius growing from 0 to 1 while its angle runs from ``4k`` to ``4(k+1)``
    radians, plus Gaussian angle noise of scale ``noise``.

    Returns
    -------
    X : numpy.ndarray, float64, shape [n, 2]
    y : numpy.ndarray, int64, shape [n], values 0..classes-1
    """
    _check(n, noise)
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise InputError(f"classes must be an integer >= 2, got {classes!r}")
    rng = _rng(seed)
    Xs, ys = [], []
    for k, size in enumerate(_split(n, classes)):
        radius = np.linspace(0.0, 1.0, size)
        theta = np.linspace(k * 4.0, (k + 1) * 4.0, size) + rng.normal(scale=noise, size=size)
        Xs.append(np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=1))
        ys.append(np.full(size, k, dtype=np.int64))
    X, y = np.concatenate(Xs), np.concatenate(ys)
    order = rng.permutation(n)
    return X[order], y[order]

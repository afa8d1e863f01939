"""Weight initialisers, all drawing from an explicit seed or ``numpy.random.Generator``.

Every initialiser returns a weight matrix of shape ``(d_in, d_out)``, the layout of this engine
(``z = x @ W + b`` with ``x`` of shape ``(N, d_in)``). Note that PyTorch's ``nn.Linear.weight`` is
stored the other way round, ``(d_out, d_in)``.

Which fan does the course's He check use?
----------------------------------------
The course checks that a He weight from ``make_layer(100000, 2, ...)`` has standard deviation
about 1. He-normal has ``std = sqrt(2 / fan)``, so ``std ~ 1`` means ``fan = 2 = d_out``: the
check holds for the **fan-out** of a ``(d_in, d_out)`` layer, ``make_layer(100000, 2, "he_fan_out")``
(std 1.000 measured over the 200,000 draws), and *not* for the usual fan-in He,
``make_layer(100000, 2, "he")``, whose std is ``sqrt(2 / 100000) = 0.00447``. The course's number is
what ``torch.nn.init.kaiming_normal_`` gives when applied to a ``(d_in, d_out)`` array: PyTorch reads
"fan_in" from ``size(1)``, which is the fan-in for its own ``(d_out, d_in)`` layout but the fan-out
for the ``(d_in, d_out)`` layout. Both facts are asserted in ``tests/scratch/test_init.py``.
Here ``"he"`` is the fan-in variant (what preserves the variance of the forward signal through ReLU
layers, and what PyTorch's ``kaiming_normal_`` does to an ``nn.Linear`` weight); ``"he_fan_out"``
reproduces the course's check.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backproplab.errors import InputError
from backproplab.scratch._checks import check_positive

SeedLike = int | np.random.Generator | None


def as_generator(rng: SeedLike, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, a Generator (returned as is) or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise InputError(f"{name} must be a non-negative int seed, a numpy Generator or None, got {rng!r}")
    return np.random.default_rng(int(rng))


def _dims(d_in, d_out) -> tuple[int, int]:
    return (
        check_positive(d_in, "d_in", integer=True, minimum=1),
        check_positive(d_out, "d_out", integer=True, minimum=1),
    )


def _dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise InputError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _draw(rng, shape, distribution: str, scale: float, dtype) -> np.ndarray:
    """Normal with std ``scale`` or uniform on ``[-scale*sqrt(3), scale*sqrt(3)]`` (same std)."""
    gen = as_generator(rng)
    if distribution == "normal":
        w = gen.standard_normal(shape) * scale
    elif distribution == "uniform":
        bound = scale * np.sqrt(3.0)
        w = gen.uniform(-bound, bound, size=shape)
    else:
        raise InputError(f"distribution must be 'normal' or 'uniform', got {distribution!r}")
    return w.astype(_dtype(dtype), copy=False)


def he(
    d_in: int,
    d_out: int,
    mode: str = "fan_in",
    distribution: str = "normal",
    rng: SeedLike = None,
    dtype=np.float64,
) -> np.ndarray:
    """He (Kaiming) initialisation for ReLU layers: variance ``2 / fan``.

    Parameters
    ----------
    d_in, d_out : int
        Layer sizes; the result has shape ``(d_in, d_out)``.
    mode : "fan_in" or "fan_out"
        ``fan = d_in`` (keeps the forward signal's variance) or ``fan = d_out`` (keeps the backward
        gradient's variance; the fan the course's ``make_layer(100000, 2)`` check implies).
    distribution : "normal" or "uniform"
        Normal with std ``sqrt(2/fan)``, or uniform on ``[-sqrt(6/fan), sqrt(6/fan)]`` (same variance).
    rng : int, numpy.random.Generator or None
    dtype : float32 or float64

    Returns
    -------
    ndarray of shape (d_in, d_out)
    """
    d_in, d_out = _dims(d_in, d_out)
    if mode == "fan_in":
        fan = d_in
    elif mode == "fan_out":
        fan = d_out
    else:
        raise InputError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return _draw(rng, (d_in, d_out), distribution, np.sqrt(2.0 / fan), dtype)


def xavier(
    d_in: int,
    d_out: int,
    distribution: str = "normal",
    rng: SeedLike = None,
    gain: float = 1.0,
    dtype=np.float64,
) -> np.ndarray:
    """Xavier/Glorot initialisation for tanh/sigmoid layers: variance ``gain**2 * 2 / (d_in + d_out)``.

    ``distribution="uniform"`` draws from ``[-b, b]`` with ``b = gain * sqrt(6 / (d_in + d_out))``.
    Returns an array of shape ``(d_in, d_out)``.
    """
    d_in, d_out = _dims(d_in, d_out)
    gain = check_positive(gain, "gain")
    return _draw(rng, (d_in, d_out), distribution, gain * np.sqrt(2.0 / (d_in + d_out)), dtype)


def small_normal(
    d_in: int, d_out: int, std: float = 0.01, rng: SeedLike = None, dtype=np.float64
) -> np.ndarray:
    """``std * N(0, 1)`` of shape ``(d_in, d_out)``: the course's ``0.01 * randn`` initialisation."""
    d_in, d_out = _dims(d_in, d_out)
    std = check_positive(std, "std")
    return _draw(rng, (d_in, d_out), "normal", std, dtype)


def zeros(d_in: int, d_out: int, rng: SeedLike = None, dtype=np.float64) -> np.ndarray:
    """All-zero weights of shape ``(d_in, d_out)``: every hidden unit then gets the same gradient
    and stays identical to the others (the symmetry the digits lesson shows). ``rng`` is ignored."""
    d_in, d_out = _dims(d_in, d_out)
    return np.zeros((d_in, d_out), dtype=_dtype(dtype))


#: init name -> function ``(d_in, d_out, rng, dtype) -> W``.
INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "he": lambda i, o, rng, dtype: he(i, o, "fan_in", "normal", rng, dtype),
    "he_fan_out": lambda i, o, rng, dtype: he(i, o, "fan_out", "normal", rng, dtype),
    "he_uniform": lambda i, o, rng, dtype: he(i, o, "fan_in", "uniform", rng, dtype),
    "xavier": lambda i, o, rng, dtype: xavier(i, o, "normal", rng, 1.0, dtype),
    "xavier_uniform": lambda i, o, rng, dtype: xavier(i, o, "uniform", rng, 1.0, dtype),
    "small_normal": lambda i, o, rng, dtype: small_normal(i, o, 0.01, rng, dtype),
    "zeros": lambda i, o, rng, dtype: zeros(i, o, rng, dtype),
}


def make_layer(
    d_in: int,
    d_out: int,
    init: str | Callable[..., np.ndarray] = "he",
    rng: SeedLike = None,
    dtype=np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias of one dense layer, as in the course's ``make_layer``.

    Parameters
    ----------
    d_in, d_out : int
    init : str or callable
        A name in :data:`INITIALIZERS` (``"he"`` is fan-in He; ``"he_fan_out"`` is the one for which
        the course's check ``make_layer(100000, 2, ...).std() ~ 1`` holds, see the module docstring),
        or a callable ``(d_in, d_out, rng, dtype) -> W``.
    rng : int, numpy.random.Generator or None
    dtype : float32 or float64

    Returns
    -------
    W : ndarray (d_in, d_out)
    b : ndarray (d_out,), zeros
    """
    d_in, d_out = _dims(d_in, d_out)
    dtype = _dtype(dtype)
    if callable(init):
        W = np.asarray(init(d_in, d_out, as_generator(rng), dtype), dtype=dtype)
    elif init in INITIALIZERS:
        W = INITIALIZERS[init](d_in, d_out, as_generator(rng), dtype)
    else:
        raise InputError(f"init must be one of {sorted(INITIALIZERS)} or a callable, got {init!r}")
    if W.shape != (d_in, d_out):
        raise InputError(f"init must return an array of shape ({d_in}, {d_out}), got {W.shape}")
    return np.ascontiguousarray(W), np.zeros(d_out, dtype=dtype)

"""The integer checks the whole project shares: seeds and positive counts.

Every seed (the CLI's ``--seed``, each lesson's ``run``, ``reproduce``, ``torchnn.fit``,
``NumpyANN``) goes through :func:`check_seed`, and every "a positive integer" argument of the
torch side through :func:`positive_int`, so they accept the same values (Python and NumPy
integers, never ``bool``) and refuse the rest with the same words, naming the argument.
"""

from __future__ import annotations

import numbers

from backproplab.errors import InputError

SEED_LIMIT = 2**32
"""Seeds are integers in ``[0, SEED_LIMIT)``: what ``np.random.seed`` and every lesson accept."""


def check_seed(seed: object) -> int:
    """``seed`` as an ``int`` in ``[0, 2**32)`` (NumPy integers accepted); InputError naming ``seed`` otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < SEED_LIMIT:
        raise InputError(f"seed must be an integer >= 0 and < 2**32 ({SEED_LIMIT}), got {short_repr(seed)}")
    return int(seed)


def positive_int(name: str, value: object) -> int:
    """``value`` as an ``int`` >= 1 (NumPy integers accepted, ``bool`` refused); InputError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {short_repr(value)}")
    return int(value)


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters; a huge int is described by its size instead
    (Python refuses to print ints of more than 4300 digits, and a message should stay one line)."""
    if isinstance(value, numbers.Integral) and int(value).bit_length() > 200:
        return f"an integer of {int(value).bit_length()} bits"
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."

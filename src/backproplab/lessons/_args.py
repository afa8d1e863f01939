"""Argument checks every lesson's ``run`` shares."""

from __future__ import annotations

import numbers

from backproplab.errors import InputError


def check_seed(seed: object) -> int:
    """``seed`` as an ``int`` >= 0 (NumPy integers accepted); InputError naming ``seed`` otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed must be an integer >= 0, got {seed!r}")
    return int(seed)

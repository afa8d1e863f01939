"""The integer checks the whole project shares: seeds and positive counts.

Every seed (the CLI's ``--seed``, each lesson's ``run``, ``reproduce``, ``torchnn.fit``,
``NumpyANN``) goes through :func:`check_seed`, and every "a positive integer" argument of the
torch side through :func:`positive_int`, so they accept the same values (Python and NumPy
integers, never ``bool``) and refuse the rest with the same words, naming the argument. A CLI
count whose size sets the run time (epochs, steps, rounds) is bounded at the door by
:func:`int_from_to`, and from Python by :func:`count_up_to`, so one typo cannot start a run of hours.
"""

from __future__ import annotations

import argparse
import numbers
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backproplab.errors import InputError

SEED_LIMIT = 2**32
"""Seeds are integers in ``[0, SEED_LIMIT)``: what ``np.random.seed`` and every lesson accept."""


def check_seed(seed: object) -> int:
    """``seed`` as an ``int`` in ``[0, 2**32)`` (NumPy integers accepted); InputError naming ``seed`` otherwise."""
    if not _is_int(seed) or not 0 <= seed < SEED_LIMIT:
        raise InputError(f"seed must be an integer >= 0 and < 2**32 ({SEED_LIMIT}), got {short_repr(seed)}")
    return int(seed)


def following_seeds(seed: int, n: int) -> list[int]:
    """``seed`` and the ``n - 1`` seeds after it, for a median over several runs; past ``2**32 - 1`` (a
    valid ``--seed``) they wrap to 0."""
    return [(seed + k) % SEED_LIMIT for k in range(n)]


def is_real(value: object) -> bool:
    """Whether ``value`` is a real number as every argument takes one: an int, a float or a NumPy integer
    or floating scalar (``np.float32(0.1)`` was refused as a step size), never a ``bool``."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_int(value: object) -> bool:
    """An integer of Python's or NumPy's; not a ``bool`` (``True`` as a count is a slip, not a 1)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(name: str, value: object) -> int:
    """``value`` as an ``int`` >= 1 (NumPy integers accepted, ``bool`` refused); InputError naming ``name``."""
    if not _is_int(value) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {short_repr(value)}")
    return int(value)


def count_up_to(name: str, value: object, high: int, why: str) -> int:
    """``value`` as an ``int`` from 1 to ``high`` (NumPy integers accepted, ``bool`` refused): a count whose
    size sets the run time, bounded from Python as :func:`int_from_to` bounds it on the command line;
    InputError naming ``name``, the bound and ``why`` (where the maximum comes from)."""
    if not _is_int(value) or not 1 <= value <= high:
        raise InputError(f"{name} must be an integer from 1 to {high} ({why}), got {short_repr(value)}")
    return int(value)


def int_from_to(low: int, high: int, why: str) -> Callable[[str], int]:
    """An argparse ``type``: the option's text as an int in ``[low, high]``.

    Anything else is a usage error that argparse prefixes with the option's name, e.g.
    ``argument --epochs: expected an integer from 1 to 100 (<why>), got '1000000'``; ``why`` says
    where the maximum comes from.
    """
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer from {low} to {high} ({why}), "
                                             f"got {short_repr(text)}")
        return value

    parse.__name__ = f"integer from {low} to {high}"  # argparse's words for a failed conversion
    return parse


def path_arg(what: str) -> Callable[[str], Path]:
    """An argparse ``type``: the option's text as a Path, an empty one refused (``--json "$UNSET"``:
    ``Path("")`` is the current folder, and the error then spoke of the directory '.')."""
    def parse(text: str) -> Path:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"expected a {what} path, got {text!r}")
        if "folder" not in what and text.endswith(("/", os.sep)):  # Path() drops the slash: a file named so
            raise argparse.ArgumentTypeError(f"expected a {what} path, got {text!r}, which names a folder")
        return Path(text)

    parse.__name__ = f"{what} path"
    return parse


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

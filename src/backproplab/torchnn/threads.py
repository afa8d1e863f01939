"""Limit torch's intra-op thread pool for a block of code.

Why: the lessons' networks are tiny. On a shared 2-core machine torch's thread pool spends far more
time waking threads than computing (measured: 10 s vs 0.16 s for the same 50 XOR steps), so the
lessons that train small networks run them on one thread.

:func:`run_threads` caps both pools, torch's and the BLAS libraries' (NumPy's OpenBLAS/MKL), for a
whole run: what ``backproplab reproduce --threads N`` and every lesson's ``--threads N`` apply.
Without it a run uses every core, and idle OpenMP threads sleep rather than spin (``OMP_WAIT_POLICY``
is ``PASSIVE`` unless the user set it; see :mod:`backproplab`), which keeps a shared machine usable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from backproplab.errors import InputError

__all__ = ["torch_threads", "one_torch_thread", "run_threads", "check_threads"]


def check_threads(n: object) -> int | None:
    """``n`` if it is None or an int >= 1; InputError naming ``threads`` otherwise."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise InputError(f"threads must be an integer >= 1 or None, got {n!r}")
    return n


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``, restoring the previous count after.

    ``None`` leaves the pool as it is.
    """
    if check_threads(n) is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def one_torch_thread() -> contextlib.AbstractContextManager[None]:
    """``torch_threads(1)``: what the lessons' small networks run under."""
    return torch_threads(1)


@contextlib.contextmanager
def run_threads(n: int | None) -> Iterator[None]:
    """Run the block with at most ``n`` torch intra-op threads and ``n`` BLAS threads (threadpoolctl).

    ``None`` leaves both pools as they are. Blocks inside that ask for fewer threads (the lessons'
    :func:`one_torch_thread`) still get fewer; the previous counts are restored after.
    """
    if check_threads(n) is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with torch_threads(n), threadpool_limits(limits=n, user_api="blas"):
        yield

"""How many threads a whole run may use: ``backproplab reproduce --threads N`` and every lesson's.

Without a cap a run uses every core, and idle OpenMP threads sleep rather than spin
(``OMP_WAIT_POLICY=PASSIVE`` unless the user set it; see :mod:`backproplab`): measured on 2 cores
beside two busy processes, one epoch of the course MLP took 4-5 s that way, 80-131 s with spinning
threads and 15-17 s on one thread, so "every core, passive" is the default. ``--threads N`` caps
torch's intra-op pool and the BLAS libraries' (NumPy's OpenBLAS/MKL, through threadpoolctl) for the
whole run. This module imports torch only when a cap is asked for, so a command refused for a bad
argument answers at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from backproplab.errors import InputError

__all__ = ["MAX_THREADS", "check_threads", "run_threads"]

MAX_THREADS = 1024
"""The most threads accepted (more is a typo, not a machine: ``bench --threads 100000000`` ended in a
segmentation fault inside the thread pools)."""


def check_threads(n: object) -> int | None:
    """``n`` if it is None or an int from 1 to :data:`MAX_THREADS`; InputError naming ``threads`` otherwise."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_THREADS):
        raise InputError(f"threads must be an integer >= 1 (at most {MAX_THREADS}) or None, got {n!r:.40}")
    return n


@contextlib.contextmanager
def run_threads(n: int | None) -> Iterator[None]:
    """Run the block with at most ``n`` torch intra-op threads and ``n`` BLAS threads.

    ``None`` leaves both pools as they are. Blocks inside that ask for fewer threads (the lessons'
    :func:`~backproplab.torchnn.threads.one_torch_thread`) still get fewer; the previous counts are
    restored after.
    """
    if check_threads(n) is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    from backproplab.torchnn.threads import torch_threads

    with torch_threads(n), threadpool_limits(limits=n, user_api="blas"):
        yield

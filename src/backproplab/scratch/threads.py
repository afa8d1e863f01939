"""Limit the BLAS thread pool for the duration of a training loop.

Why: OpenBLAS workers spin while waiting for each other. On a machine whose cores are busy with
other processes, a two-thread matrix product of minibatch size can take a scheduler time slice
instead of a millisecond (measured: 108 ms instead of 0.8 ms on 2 shared cores). ``fit`` and
``NumpyANN.train`` take ``blas_threads``; ``1`` is the safe choice on a shared machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from backproplab.scratch._checks import check_positive


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Run the block with at most ``n`` BLAS threads (``None``: leave the pool as it is)."""
    if n is None:
        yield
        return
    n = check_positive(n, "blas_threads", integer=True, minimum=1)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield

"""Limit torch's intra-op thread pool for a block of code.

Why: the lessons' networks are tiny. On a shared 2-core machine torch's thread pool spends far more
time waking threads than computing (measured: 10 s vs 0.16 s for the same 50 XOR steps), so the
lessons that train small networks run them on one thread. A whole run's cap (``--threads``) is
:func:`backproplab.threads.run_threads`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from backproplab.threads import check_threads

__all__ = ["torch_threads", "one_torch_thread"]


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

"""Multi-process training on ``torch.distributed``: the helpers :func:`~backproplab.torchnn.train.fit` uses.

``fit`` runs unchanged under ``torchrun --nproc_per_node=N``: when a process group is initialised
(or the torchrun environment variables are set, see :func:`init_from_env`) it wraps the model in
``DistributedDataParallel`` (gloo on CPU, nccl on CUDA), every rank draws the same seeded permutation,
each global batch of ``batch_size * world_size`` samples is cut into ``world_size`` contiguous shards
(rank ``r`` takes the ``r``-th), per-epoch metrics are summed over ranks once per epoch, and only rank
0 writes checkpoints and shows progress.

Gradient equivalence: each rank's loss is the mean over its shard, scaled by
``shard_size * world_size / global_batch_size``; DDP averages gradients over ranks, so the update
equals single-process training with batch ``batch_size * world_size`` (exactly, up to floating-point
summation order), including a ragged last batch.
"""

from __future__ import annotations

import atexit
import os
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["is_distributed", "rank", "world_size", "is_main_process", "init_from_env", "default_backend",
           "wrap_ddp", "all_reduce_sum", "shard_bounds", "epoch_batches", "count_batches"]


def is_distributed() -> bool:
    """True when a process group with more than one process is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """True on rank 0 (and when not distributed): the one process that writes files and logs."""
    return rank() == 0


def default_backend(device: torch.device | str | None = None) -> str:
    """``"nccl"`` for CUDA devices, ``"gloo"`` otherwise."""
    kind = torch.device(device).type if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    return "nccl" if kind == "cuda" else "gloo"


def init_from_env(backend: str | None = None, timeout_s: float = 300.0) -> bool:
    """Initialise the default process group from torchrun's variables when they are set.

    Reads ``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` (set by ``torchrun``). Does
    nothing when already initialised or when ``WORLD_SIZE`` is unset or 1.

    Returns
    -------
    bool
        True when a multi-process group is (now) initialised.
    """
    if not dist.is_available():
        return False
    if dist.is_initialized():
        return dist.get_world_size() > 1
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = backend or default_backend()
    if backend == "nccl" and "LOCAL_RANK" in os.environ:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_s))
    atexit.register(_destroy_at_exit)
    return dist.get_world_size() > 1


#: How long a rank waits at exit for the others to reach their own exit before it leaves anyway.
EXIT_BARRIER_S = 60.0


def _destroy_at_exit() -> None:
    """Destroy the process group :func:`init_from_env` made, while the interpreter is whole: left to the
    interpreter's teardown, gloo's threads aborted the process now and then ("terminate called without an
    active exception", exit -6, and torchrun reported the run failed). The ranks first meet at a barrier:
    a rank that tore its connections down while another's gloo threads still used them aborted that one
    too, under load (one full suite run in four). A rank whose peers are gone leaves after
    ``EXIT_BARRIER_S``. A no-op once destroyed."""
    if not dist.is_initialized():
        return
    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=timedelta(seconds=EXIT_BARRIER_S))
        else:
            dist.barrier()
    except Exception:  # noqa: BLE001 - a peer already gone: nothing left to wait for
        pass
    dist.destroy_process_group()


def local_device(device: torch.device) -> torch.device:
    """Under torchrun on CUDA, the GPU of this rank (``LOCAL_RANK``); otherwise ``device``."""
    if device.type == "cuda" and device.index is None and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return device


def wrap_ddp(model: nn.Module, device: torch.device) -> nn.Module:
    """``DistributedDataParallel(model)`` on ``device`` (returned unchanged when already wrapped)."""
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        return model
    if device.type == "cuda":
        return DistributedDataParallel(model, device_ids=[device.index if device.index is not None
                                                          else torch.cuda.current_device()])
    return DistributedDataParallel(model)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all ranks in place (no-op when not distributed); returns it."""
    if is_distributed():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def shard_bounds(n: int, world: int, r: int) -> tuple[int, int]:
    """The half-open range ``[lo, hi)`` of rank ``r``'s contiguous shard of ``n`` items.

    Sizes differ by at most one (the first ``n % world`` ranks take one more).
    """
    base, rem = divmod(n, world)
    lo = r * base + min(r, rem)
    return lo, lo + base + (1 if r < rem else 0)


def epoch_batches(perm: torch.Tensor, n: int, global_batch: int, world: int, rank: int):
    """``(indices, loss scale)`` of each of this rank's batches of one epoch.

    A ragged remainder of fewer samples than ranks leaves some shards empty; such a rank still takes
    part in the step (DDP's gradient average needs every rank) with one sample of the batch and a
    scale of 0: it adds nothing to the gradient or the metrics (the loop counts no sample of a batch
    whose scale is 0). It used to be skipped on every rank, which single-process training does not do.
    """
    for start in range(0, n, global_batch):
        stop = min(start + global_batch, n)
        if world > 1:
            g = stop - start
            lo, hi = shard_bounds(g, world, rank)
            if hi == lo:
                yield perm[start:start + 1], 0.0
            else:
                yield perm[start + lo:start + hi], (hi - lo) * world / g
        else:
            yield perm[start:stop], 1.0


def count_batches(n: int, batch_size: int, world: int) -> int:
    """Batches per epoch on each rank: the global batches, a ragged last one included."""
    return -(-n // (batch_size * world))


"""Resuming :func:`~backproplab.torchnn.train.fit` from a checkpoint, exactly.

A checkpoint (see :mod:`backproplab.torchnn.checkpoint`) keeps the model, the optimizer, the history
and both RNG states (the batch-order generator and the global RNG used by dropout), so resuming from
epoch ``k`` ends with the weights of the uninterrupted run on the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from backproplab.errors import CheckpointError
from backproplab.history import History
from backproplab.torchnn.checkpoint import apply_checkpoint, read_checkpoint
from backproplab.torchnn.probes import Probe

__all__ = ["resume_from", "resumed_history", "snapshot_rng"]


def resume_from(checkpoint: str | os.PathLike, module: nn.Module, opt: torch.optim.Optimizer, epochs: int,
            generator: torch.Generator, cuda_devices: list[int]) -> dict[str, Any]:
    """Check a checkpoint against this run, then load its model, optimizer and RNG states.

    Nothing is changed when the checkpoint is refused (corrupt, of another model, or further along
    than ``epochs``). Returns the checkpoint's state (``epoch`` an int >= 0, ``history`` a dict or None).
    """
    state = read_checkpoint(checkpoint)
    start_epoch = state["epoch"]  # an int >= 0, as many as the history's rows (read_checkpoint checks)
    if start_epoch > epochs:
        raise CheckpointError(
            f"checkpoint {checkpoint} has {start_epoch} completed epochs, more than epochs={epochs}: "
            f"expected at most {epochs}; pass epochs >= {start_epoch} to continue it, or another "
            "checkpoint path to start afresh")
    apply_checkpoint(state, checkpoint, module, opt)
    rng = state.get("rng") or {}
    try:
        if "generator" in rng:
            generator.set_state(rng["generator"])
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
        if cuda_devices and rng.get("cuda"):
            torch.cuda.set_rng_state(rng["cuda"][0], cuda_devices[0])
    except (RuntimeError, TypeError, KeyError, IndexError) as exc:
        raise CheckpointError(f"checkpoint {checkpoint}: unusable RNG state ({exc})") from exc
    return state


def resumed_history(state: dict[str, Any], hist: History, run_params: dict[str, Any],
                     probes: Sequence[Probe]) -> History:
    """The checkpoint's history (this run's params on top), or ``hist``; the probes get their records back."""
    if state.get("history"):
        hist = History.from_dict(state["history"])
        hist.params.update(run_params)
    for p in probes:
        p.load_records(hist.probes.get(p.name, {}))
    return hist


def snapshot_rng(generator: torch.Generator, cuda_devices: list[int]) -> dict[str, Any]:
    rng: dict[str, Any] = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if cuda_devices:
        rng["cuda"] = [torch.cuda.get_rng_state(cuda_devices[0])]
    return rng


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
            generator: torch.Generator, cuda_devices: list[int], run_params: dict[str, Any]) -> dict[str, Any]:
    """Check a checkpoint against this run, then load its model, optimizer and RNG states.

    Nothing is changed when the checkpoint is refused (corrupt, of another model class, optimizer or
    seed, with validation where this run has none or the reverse, or further along than ``epochs``).
    The optimizer's state (momentum, step counts) comes from the checkpoint, its hyperparameters
    (``lr``, ``momentum``, ...) stay this run's: ``torch``'s ``load_state_dict`` put the old ones back,
    so resuming a diverged run "with a smaller learning rate" trained at the old one, and ``History``
    recorded the new ``lr`` in ``params`` beside the old one in ``lr``.
    Returns the checkpoint's state (``epoch`` an int >= 0, ``history`` a dict or None).
    """
    state = read_checkpoint(checkpoint)
    start_epoch = state["epoch"]  # an int >= 0, as many as the history's rows (read_checkpoint checks)
    if start_epoch > epochs:
        raise CheckpointError(
            f"checkpoint {checkpoint} has {start_epoch} completed epochs, more than epochs={epochs}: "
            f"expected at most {epochs}; pass epochs >= {start_epoch} to continue it, or another "
            "checkpoint path to start afresh")
    _check_same_run(state, module, run_params, checkpoint)
    hyper = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    apply_checkpoint(state, checkpoint, module, opt)
    for group, own in zip(opt.param_groups, hyper, strict=True):  # apply_checkpoint checked the group count
        params = group["params"]
        group.clear()
        group.update(own, params=params)
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


def _check_same_run(state: dict[str, Any], module: nn.Module, run_params: dict[str, Any],
                    checkpoint: str | os.PathLike) -> None:
    """Refuse a checkpoint of another run: its model class or optimizer differ from this run's (the weights
    or the optimizer state would belong to another run while ``History.params`` named this one), or it
    validated where this run does not or the reverse (``val_*`` would stop having one value per epoch).
    What the checkpoint does not record is not compared. The seed is not: the random states come from the
    checkpoint, so a run resumed with another seed continues the saved one exactly (``PyTorchANN.train``
    seeds fit with the model's seed, and a model rebuilt with another one was refused), and its history
    keeps the checkpoint's seed (:func:`resumed_history`)."""
    problems = []
    saved_class, own_class = state.get("model_class"), type(module).__name__
    if isinstance(saved_class, str) and saved_class != own_class:
        problems.append(f"model {saved_class} there, {own_class} here")
    history = state.get("history") or {}
    saved = history.get("params") or {}
    if "optimizer" in saved and "optimizer" in run_params and saved["optimizer"] != run_params["optimizer"]:
        problems.append(f"optimizer={saved['optimizer']!r} there, {run_params['optimizer']!r} here")
    validating = bool(run_params.get("n_val"))
    if history.get("train_loss") and bool(history.get("val_loss")) != validating:
        problems.append(f"validation {'none' if validating else 'every epoch'} there, "
                        f"{'every epoch' if validating else 'none'} here")
    if problems:
        raise CheckpointError(f"checkpoint {checkpoint} was written by another run ({'; '.join(problems)}): "
                              "resuming it would mix two runs in one history; pass the same to continue it, or "
                              "another checkpoint path to start afresh")


def resumed_history(state: dict[str, Any], hist: History, run_params: dict[str, Any],
                     probes: Sequence[Probe]) -> History:
    """The checkpoint's history (this run's params on top, but the seed, whose random states the run
    continues, the checkpoint's), or ``hist``; the probes get their records back."""
    if state.get("history"):
        hist = History.from_dict(state["history"])
        seed = hist.params.get("seed")
        hist.params.update(run_params)
        if "seed" in state["history"].get("params", {}):
            hist.params["seed"] = seed
    for p in probes:
        p.load_records(hist.probes.get(p.name, {}))
    return hist


def snapshot_rng(generator: torch.Generator, cuda_devices: list[int]) -> dict[str, Any]:
    rng: dict[str, Any] = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if cuda_devices:
        rng["cuda"] = [torch.cuda.get_rng_state(cuda_devices[0])]
    return rng


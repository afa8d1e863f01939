"""The torch engine's side of the divergence policy (:mod:`backproplab.divergence`): save, restore, locate.

Finiteness is read once per epoch (no read-back per batch), so the loop only learns *that* an epoch
diverged (:class:`~backproplab.divergence.Diverged`, with the first bad batch). :func:`snapshot_state`
keeps the start of each epoch (model, optimizer, both RNGs); :func:`locate_nonfinite` replays the
epoch from it up to the bad batch with hooks on every module and names the first non-finite
activation or gradient; :func:`restore_state` puts the snapshot back. :func:`epoch_rollback` ties them
into the :class:`~backproplab.divergence.EpochRollback` that ``fit`` uses.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from backproplab.divergence import Diverged, EpochRollback
from backproplab.torchnn.distributed import epoch_batches
from backproplab.torchnn.probes import ProbeSet
from backproplab.torchnn.resume import snapshot_rng

__all__ = ["epoch_rollback", "snapshot_state", "restore_state", "locate_nonfinite"]


def epoch_rollback(run: Any, X: torch.Tensor, y: torch.Tensor, batch_size: int, probes: ProbeSet,
                   after_restore: Any = None) -> EpochRollback:
    """The rollback of one ``fit`` call: ``run`` is its ``_Run`` (net, module, opt, loss_fn, generator,
    dev, world, rank, cuda_devices); the probes are paused while the epoch is replayed."""

    def save() -> dict[str, Any]:
        return snapshot_state(run.module, run.opt, run.generator, run.cuda_devices)

    def restore(snapshot: dict[str, Any]) -> None:
        restore_state(run.module, run.opt, run.generator, snapshot)

    def locate(snapshot: dict[str, Any], div: Diverged) -> str:
        if div.parameters:  # the last step's update: the parameters hold it still, no replay needed
            return next((f"parameter {name}" for name, p in run.module.named_parameters()
                         if not torch.isfinite(p).all()), "a parameter")
        with probes.paused():
            return locate_nonfinite(run, X, y, batch_size, snapshot, div.batch)

    return EpochRollback(save, restore, locate, after_restore)


def snapshot_state(module: nn.Module, opt: torch.optim.Optimizer, generator: torch.Generator,
              cuda_devices: list[int]) -> dict[str, Any]:
    return {"model": {k: v.detach().clone() for k, v in module.state_dict().items()},
            "opt": copy.deepcopy(opt.state_dict()), "rng": snapshot_rng(generator, cuda_devices),
            "cuda_devices": cuda_devices}


def restore_state(module: nn.Module, opt: torch.optim.Optimizer, generator: torch.Generator,
             snapshot: dict[str, Any]) -> None:
    module.load_state_dict(snapshot["model"])
    opt.load_state_dict(copy.deepcopy(snapshot["opt"]))
    generator.set_state(snapshot["rng"]["generator"])
    torch.set_rng_state(snapshot["rng"]["torch"])
    if snapshot["cuda_devices"]:
        torch.cuda.set_rng_state(snapshot["rng"]["cuda"][0], snapshot["cuda_devices"][0])


def locate_nonfinite(run: Any, X: torch.Tensor, y: torch.Tensor, batch_size: int, snapshot: dict[str, Any],
                     bad: int) -> str:
    """Replay the epoch from ``snapshot`` up to batch ``bad`` (1-based), checking every value on the way.

    Returns the first non-finite gradient of the step before ``bad``, else the first module whose
    output is non-finite at ``bad`` (forward order), else the first non-finite gradient at ``bad``.
    ``run`` is fit's ``_Run`` (what it trains with: net, module, opt, loss_fn, generator, dev, world, rank).
    """
    net, module, opt, loss_fn, generator = run.net, run.module, run.opt, run.loss_fn, run.generator
    dev, world, rank = run.dev, run.world, run.rank
    restore_state(module, opt, generator, snapshot)
    nn.Module.train(net, True)
    perm = torch.randperm(len(X), generator=generator).to(dev)
    named = dict(module.named_modules())
    found: list[str] = []
    last: list[str] = []  # the last leaf module run: the output layer

    def hook(mod: nn.Module, _inputs: Any, output: Any) -> None:
        name = next(n for n, m in named.items() if m is mod) or "model"
        if mod is not module:
            last[:] = [f"{name} ({type(mod).__name__})"]
        if not found and isinstance(output, torch.Tensor) and not torch.isfinite(output).all():
            found.append(f"output (activation) of {name} ({type(mod).__name__})")

    def bad_grad() -> str | None:
        return next((f"gradient of {n}" for n, p in module.named_parameters()
                     if p.grad is not None and not torch.isfinite(p.grad).all()), None)

    for i, (idx, scale) in enumerate(epoch_batches(perm, len(X), batch_size * world, world, rank)):
        xb, yb = X.index_select(0, idx), y.index_select(0, idx)
        if i + 1 < bad:
            opt.zero_grad(set_to_none=True)
            (loss_fn(net(xb), yb) * scale).backward()
            if i + 2 == bad and (g := bad_grad()) is not None:
                return g + f" (batch {bad - 1}, the step before)"
            opt.step()
            continue
        handles = [m.register_forward_hook(hook) for m in named.values()
                   if not list(m.children()) or m is module]
        try:
            out = net(xb)
        finally:
            for h in handles:
                h.remove()
        if found:
            return found[0]
        opt.zero_grad(set_to_none=True)
        (loss_fn(out, yb) * scale).backward()
        output_layer = last[0] if last else type(module).__name__
        return bad_grad() or f"no activation or gradient; the loss of the output layer {output_layer} overflowed"
    return "not found on replay (the run was not deterministic)"

"""What :func:`~backproplab.torchnn.train.fit` does when the loss goes NaN/inf: go back and find where.

Finiteness is read once per epoch (no read-back per batch), so the loop only learns *that* an epoch
diverged (:class:`Diverged`, with the first bad batch). :func:`snapshot_state` keeps the start of
each epoch; :func:`locate_nonfinite` replays the epoch from it up to the bad batch with hooks on
every module and names the first non-finite activation or gradient; :func:`restore_state` puts the
model, optimizer and RNGs back to the last good state; :func:`nonfinite_error` words the error.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from backproplab.errors import NonFiniteError
from backproplab.torchnn.distributed import epoch_batches
from backproplab.torchnn.inputs import LossFn
from backproplab.torchnn.resume import snapshot_rng

__all__ = ["Diverged", "snapshot_state", "restore_state", "locate_nonfinite", "nonfinite_error"]


class Diverged(Exception):
    """An epoch whose loss went non-finite at batch ``batch`` (1-based) of ``n_batches``."""

    def __init__(self, batch: int, n_batches: int):
        super().__init__(batch, n_batches)
        self.batch, self.n_batches = batch, n_batches


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


def locate_nonfinite(net: nn.Module, module: nn.Module, opt: torch.optim.Optimizer, loss_fn: LossFn,
                      X: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator,
                      dev: torch.device, world: int, rank: int, snapshot: dict[str, Any], bad: int) -> str:
    """Replay the epoch from ``snapshot`` up to batch ``bad`` (1-based), checking every value on the way.

    Returns the first non-finite gradient of the step before ``bad``, else the first module whose
    output is non-finite at ``bad`` (forward order), else the first non-finite gradient at ``bad``.
    """
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


def nonfinite_error(div: Diverged, epoch: int, where: str, checkpoint: Any) -> NonFiniteError:
    """The error for a loss that went NaN/inf in ``epoch`` (0-based), after the state was restored."""
    saved = f"; checkpoint {checkpoint} holds that state (epoch {epoch})" if checkpoint is not None else ""
    err = NonFiniteError(
        f"training loss became non-finite at epoch {epoch + 1}, batch {div.batch} of "
        f"{div.n_batches}; first non-finite: {where}; the model and optimizer are restored to "
        f"their last good state, the start of epoch {epoch + 1}{saved}; try a smaller learning rate")
    err.epoch, err.batch, err.layer = epoch + 1, div.batch, where
    return err


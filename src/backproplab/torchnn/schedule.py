"""The learning-rate schedule add-on of :func:`~backproplab.torchnn.train.fit`: ``lr_schedule=callable(epoch)``.

At the start of every epoch (after a resume too) each parameter group's learning rate is set to its
base rate times ``lr_schedule(epoch)`` (0-based epoch), e.g. a step decay
``lambda e: 0.2 if e >= 3 else 1.0``. The base rate is kept in the group as ``initial_lr`` (PyTorch's
own schedulers' key), so a second ``fit`` on the same optimizer scales the same base, not the decayed
rate. Without a schedule the rates are left as they are. Either way :meth:`LrSchedule.start_epoch`
returns the rate the epoch trains with, which ``fit`` records in ``History.lr``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from backproplab.errors import InputError

__all__ = ["LrSchedule"]


class LrSchedule:
    """Applies ``schedule`` (or nothing, when None) to ``opt``'s parameter groups at each epoch start.

    ``schedule`` is callable or None: ``fit`` checks that at its door (``inputs.check_options``).
    """

    def __init__(self, opt: torch.optim.Optimizer, schedule: Callable[[int], float] | None):
        self.opt, self.schedule = opt, schedule
        # the base rates, read only with a schedule (without one the rates are left as they are)
        self.base = [g.setdefault("initial_lr", g["lr"]) for g in opt.param_groups] if schedule is not None else []

    def start_epoch(self, epoch: int) -> float:
        """Set the rates for ``epoch`` (0-based); return the first group's rate, the one ``History.lr`` records."""
        if self.schedule is not None:
            value = self.schedule(epoch)
            try:
                factor = float(value)
            except (TypeError, ValueError):
                factor = math.nan
            if not (math.isfinite(factor) and factor > 0):
                raise InputError(f"lr_schedule({epoch}) must be a positive number, got {value!r:.60}")
            for group, base in zip(self.opt.param_groups, self.base, strict=True):
                group["lr"] = base * factor
        return float(self.opt.param_groups[0]["lr"])

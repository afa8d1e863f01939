"""The NumPy engine's side of the divergence policy (:mod:`backproplab.divergence`): save, restore, locate.

:func:`epoch_rollback` builds the :class:`~backproplab.divergence.EpochRollback` that
:func:`~backproplab.scratch.train.fit` uses: a copy of the parameters and of the optimizer's state at
each epoch start, put back when the loss goes non-finite, after naming the first layer whose
activation, weights or gradient went non-finite at the failing batch (the loop checks the scalar loss
of every batch, so the layers still hold that batch's values: no replay is needed).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from backproplab.divergence import Diverged, EpochRollback
from backproplab.scratch.network import Network

__all__ = ["epoch_rollback", "first_nonfinite"]


def epoch_rollback(network: Network, optimizer: Any) -> EpochRollback:
    """The rollback of ``network`` and ``optimizer`` (its ``__dict__``, when it can be copied) to an epoch's start."""

    def save() -> tuple[list[np.ndarray], dict[str, Any] | None]:
        return [p.copy() for p in network.parameters()], _copy_state(optimizer)

    def restore(snapshot: tuple[list[np.ndarray], dict[str, Any] | None]) -> None:
        params, opt_state = snapshot
        for p, saved in zip(network.parameters(), params, strict=True):
            np.copyto(p, saved)
        if opt_state is not None:
            optimizer.__dict__.update(copy.deepcopy(opt_state))

    def locate(_snapshot: Any, _div: Diverged) -> str:
        return first_nonfinite(network)

    return EpochRollback(save, restore, locate)


def first_nonfinite(network: Network) -> str:
    """The first non-finite value in forward order: a layer's activation, then its W or b, then a gradient."""
    for i, layer in enumerate(network.layers):
        if layer.output is not None and not np.isfinite(layer.output).all():
            return f"layers[{i}] ({layer.activation}) activation"
        for name, arr in (("W", layer.W), ("b", layer.b)):
            if not np.isfinite(arr).all():
                return f"layers[{i}].{name}"
    for i, layer in enumerate(network.layers):
        if not (np.isfinite(layer.dW).all() and np.isfinite(layer.db).all()):
            return f"layers[{i}] ({layer.activation}) gradient"
    last = len(network.layers) - 1
    return (f"no activation or gradient; the loss of the output layers[{last}] "
            f"({network.layers[-1].activation}) overflowed")


def _copy_state(optimizer: Any) -> dict[str, Any] | None:
    try:
        return copy.deepcopy(optimizer.__dict__)
    except Exception:  # an optimizer whose state cannot be copied: parameters are restored alone
        return None

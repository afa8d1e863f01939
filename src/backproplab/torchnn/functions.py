"""The scratch engine's activation names -> the torch functions that compute the same thing.

The one table the checks against PyTorch use (``scratch.gradcheck``, the activations lesson, the
tracer's torch reference), so a name means the same function everywhere. Leaky ReLU and ELU take
:mod:`backproplab.scratch.functional`'s alphas; softmax runs along the last axis.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from backproplab.errors import InputError
from backproplab.scratch.functional import ELU_ALPHA, LEAKY_RELU_ALPHA

__all__ = ["TORCH_ACTIVATIONS", "torch_activation"]


def _identity(z: torch.Tensor) -> torch.Tensor:
    return z


def _leaky_relu(z: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(z, LEAKY_RELU_ALPHA)


def _elu(z: torch.Tensor) -> torch.Tensor:
    return F.elu(z, ELU_ALPHA)


def _softmax(z: torch.Tensor) -> torch.Tensor:
    return torch.softmax(z, dim=-1)


#: name (as in ``backproplab.scratch.functional.ACTIVATIONS``, plus ``softmax``) -> torch function.
TORCH_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "identity": _identity,
    "softmax": _softmax,
}


def torch_activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The torch function of the activation ``name``; InputError naming the choices otherwise."""
    try:
        return TORCH_ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise InputError(f"activation must be one of {sorted(TORCH_ACTIVATIONS)}, got {name!r}") from None

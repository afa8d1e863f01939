"""Checkpoints: everything needed to resume training exactly, written atomically, loaded safely.

A checkpoint is one ``torch.save`` file holding a dict::

    {"format": "backproplab.torchnn.checkpoint", "version": 1,
     "model": state_dict, "optimizer": state_dict or None, "history": History.to_dict() or None,
     "epoch": epochs completed, "rng": {"torch": ByteTensor, "generator": ByteTensor, "cuda": [...]},
     "extra": plain values}

It is written to a temporary sibling and renamed into place (:func:`backproplab.files.atomic_open`),
so an interrupted save never leaves a half-written file, and read with
``torch.load(weights_only=True)``, so loading a file never runs code from it. A missing, truncated or
foreign file, or one whose tensors do not fit the model, raises
:class:`~backproplab.errors.CheckpointError` naming the file (and the mismatched keys and shapes).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from backproplab.errors import CheckpointError
from backproplab.files import atomic_open

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "save_checkpoint", "load_checkpoint",
           "read_checkpoint", "check_state_dict"]

CHECKPOINT_FORMAT = "backproplab.torchnn.checkpoint"
CHECKPOINT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    *, history: Any = None, epoch: int = 0, rng: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint of ``model`` (and optimizer, history, epoch, RNG states) atomically.

    Parameters
    ----------
    path : file path
    model : nn.Module
        Wrappers (DDP) are looked through; tensors are saved on the CPU.
    optimizer : torch.optim.Optimizer, optional
    history : History or dict, optional
    epoch : int
        Epochs completed.
    rng : dict, optional
        RNG states, e.g. ``{"torch": torch.get_rng_state(), "generator": gen.get_state()}``.
    extra : dict, optional
        Plain values (str, int, float, lists, dicts) to keep with the checkpoint.

    Returns
    -------
    Path of the written file.
    """
    from backproplab.torchnn.probes import unwrap_model

    module = unwrap_model(model)
    state = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
    if history is not None and hasattr(history, "to_dict"):
        history = history.to_dict()
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_class": type(module).__name__,
        "model": state,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "history": history,
        "epoch": int(epoch),
        "rng": rng or {},
        "extra": extra or {},
    }
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)
    return path


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read and validate a checkpoint file without applying it; returns its dict.

    Raises
    ------
    CheckpointError
        The file is missing, truncated, not a torch file, or not a backproplab checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError, ValueError,
            KeyError, AttributeError, TypeError) as exc:
        size = path.stat().st_size
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} ({size} bytes) could not be read: it is truncated, "
                              f"corrupt or not a torch file ({type(exc).__name__}: {first})") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        if isinstance(payload, dict):
            keys = sorted(map(str, payload))[:8]
            found = f"a dict with keys {keys}{' ...' if len(payload) > 8 else ''}"
        else:
            found = type(payload).__name__
        raise CheckpointError(f"checkpoint {path} is not a backproplab checkpoint: expected a dict with "
                              f"format={CHECKPOINT_FORMAT!r}, found {found}")
    version = payload.get("version")
    if version != CHECKPOINT_VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {version!r}; this backproplab reads "
                              f"version {CHECKPOINT_VERSION}")
    missing = [k for k in ("model", "epoch") if k not in payload]
    if missing or not isinstance(payload["model"], dict):
        raise CheckpointError(f"checkpoint {path} is incomplete: missing {missing or ['model state']}")
    return payload


def check_state_dict(expected: dict[str, torch.Tensor], found: dict[str, Any], source: str) -> None:
    """Raise :class:`CheckpointError` listing missing, unexpected and wrongly shaped keys."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [f"{k}: model {tuple(expected[k].shape)} vs checkpoint {tuple(found[k].shape)}"
              for k in expected if k in found and isinstance(found[k], torch.Tensor)
              and tuple(found[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        if shapes:
            parts.append(f"shape mismatches [{'; '.join(shapes)}]")
        raise CheckpointError(f"checkpoint {source} does not fit the model: " + ", ".join(parts))


def load_checkpoint(path: str | os.PathLike, model: nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint and load its states into ``model`` and ``optimizer`` (when given).

    Returns
    -------
    dict
        The checkpoint (``"epoch"``, ``"history"``, ``"rng"``, ``"extra"`` ...).

    Raises
    ------
    CheckpointError
        Missing/truncated/foreign file, or states that do not fit the model/optimizer (the message
        names the file and lists mismatched keys and shapes).
    """
    from backproplab.torchnn.probes import unwrap_model

    payload = read_checkpoint(path, map_location)
    if model is not None:
        module = unwrap_model(model)
        check_state_dict(module.state_dict(), payload["model"], str(path))
        module.load_state_dict(payload["model"])
    if optimizer is not None:
        state = payload.get("optimizer")
        if state is None:
            raise CheckpointError(f"checkpoint {path} holds no optimizer state")
        try:
            optimizer.load_state_dict(state)
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"checkpoint {path}: optimizer state does not fit the optimizer "
                                  f"({type(optimizer).__name__}): {exc}") from exc
    return payload

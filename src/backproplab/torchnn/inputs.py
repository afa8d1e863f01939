"""Checks :func:`~backproplab.torchnn.train.fit` and ``evaluate`` run once per call, at the door.

Data pairs (tensors, NumPy arrays or a DataLoader), integer options, the loss name, and the values
(finite ``X`` of the model's input shape and dtype; labels in ``[0, C)`` for a named loss). Every
refusal is an :class:`~backproplab.errors.InputError` naming the argument and what was expected.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from backproplab.checks import check_seed, positive_int
from backproplab.errors import InputError
from backproplab.files import check_writable_dir, refuse_special
from backproplab.history import History
from backproplab.torchnn.probes import PausedProbes, Probe

__all__ = ["LossFn", "loss_function", "as_tensor", "check_pair", "check_values", "check_inputs", "class_indices",
           "positive_int", "check_checkpoint_path", "check_options", "to_device_checked"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_function(loss: str | LossFn) -> LossFn:
    if callable(loss):
        return loss
    if loss in ("cross_entropy", "ce"):
        return F.cross_entropy
    if loss == "nll":
        return F.nll_loss
    raise InputError(f"loss must be 'cross_entropy', 'nll' or a callable(logits, y), got {loss!r}")


def as_tensor(value: Any) -> Any:
    """A NumPy array becomes a tensor sharing its memory (dtype kept); anything else is returned as is."""
    return torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value


def _from_loader(loader: DataLoader, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (X, y) batch of a DataLoader, read once and concatenated (fit batches the data itself)."""
    xs, ys = [], []
    for batch in loader:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise InputError(f"{name} DataLoader must yield (X, y) batches, got {type(batch).__name__}")
        xs.append(as_tensor(batch[0]))
        ys.append(as_tensor(batch[1]))
    if not xs:
        raise InputError(f"{name} DataLoader is empty (N = 0)")
    return torch.cat(xs), torch.cat(ys)


def check_pair(pair: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(pair, DataLoader):
        pair = _from_loader(pair, name)
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise InputError(f"{name} must be a pair (X, y) of tensors or NumPy arrays, or a DataLoader, "
                         f"got {type(pair).__name__}")
    X, y = (as_tensor(v) for v in pair)
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise InputError(f"{name} must hold torch tensors (X, y), got ({type(X).__name__}, {type(y).__name__})")
    if X.ndim < 2:
        raise InputError(f"{name} X must have shape [N, ...] with N samples, got {tuple(X.shape)}")
    if y.ndim != 1 or len(y) != len(X):
        raise InputError(f"{name} y must have shape [N] = [{len(X)}] to match X, got {tuple(y.shape)}")
    if len(X) == 0:
        raise InputError(f"{name} is empty (N = 0)")
    return X, y


def check_values(module: nn.Module, X: torch.Tensor, y: torch.Tensor, name: str, loss: str | LossFn) -> None:
    """Once per call: X finite and of the model's input shape; for a named loss, y labels in [0, C)."""
    _check_finite(X, f"{name} X")
    if not callable(loss) and (y.is_floating_point() or y.is_complex() or y.dtype == torch.bool):
        raise InputError(f"{name} y must hold integer class indices (int64) for loss {loss!r}, got dtype {y.dtype}")
    out = _one_sample(module, X, f"{name} X")
    if callable(loss) or out.ndim != 2:
        return
    classes = out.shape[1]
    lo, hi = torch.stack([y.min(), y.max()]).tolist()
    if lo < 0 or hi >= classes:
        raise InputError(f"{name} y must hold class indices in [0, {classes - 1}] for a model with {classes} "
                         f"outputs, got values from {lo} to {hi}")
    _check_log_probabilities(out, loss)


def _check_log_probabilities(out: torch.Tensor, loss: str) -> None:
    """``"nll"`` takes log-probabilities: on logits it is −logit[y], which has no minimum, and training
    pushes the logits up until they overflow. A sample whose outputs' exponentials do not sum to 1 shows
    the model has no ``LogSoftmax`` at its end."""
    if loss != "nll" or not out.is_floating_point():
        return
    total = float(out[:1].double().exp().sum())
    if not abs(total - 1.0) < 0.05:  # loose enough for bfloat16 log-probabilities
        raise InputError(f"loss 'nll' takes log-probabilities (a model ending in nn.LogSoftmax(dim=1)), but this "
                         f"model's outputs are not: their exponentials sum to {total:.4g}, not 1, on the first "
                         "sample; use loss='cross_entropy' on logits")


def check_inputs(module: nn.Module, X: torch.Tensor, what: str) -> torch.Tensor:
    """``X`` finite and of the model's input shape and dtype (one sample goes through ``module`` in eval
    mode, on the module's device); returns that sample's output. ``what`` names ``X`` in the message."""
    _check_finite(X, what)
    return _one_sample(module, X, what)


def _one_sample(module: nn.Module, X: torch.Tensor, what: str) -> torch.Tensor:
    """``module``'s output for ``X[:1]``; a dtype or shape it does not take is an InputError naming ``what``."""
    was_training = module.training
    nn.Module.train(module, False)  # eval mode: no dropout draw, no batch-norm update
    first = next(module.parameters(), None)
    try:
        with torch.no_grad():
            return module(X[:1] if first is None else X[:1].to(first.device))  # evaluate moves batches later
    except (RuntimeError, ValueError) as exc:  # torch's words for a wrong shape (BatchNorm's: ValueError)
        wanted = _param_dtype(module)
        if wanted is not None and X.dtype != wanted:
            # the same RuntimeError for a dtype mismatch used to be blamed on the shape
            raise InputError(f"{what} must have the model's dtype {_dtype_name(wanted)}, got dtype "
                             f"{_dtype_name(X.dtype)}, samples of shape {tuple(X.shape[1:])} (convert it first, e.g. "
                             f"X.to(torch.{_dtype_name(wanted)}))") from exc
        detail = " ".join(str(exc).split())[:300]
        raise InputError(f"{what} must have the input shape the model expects, got samples of shape "
                         f"{tuple(X.shape[1:])} ({detail})") from exc
    finally:
        nn.Module.train(module, was_training)


def _check_finite(X: torch.Tensor, what: str) -> None:
    # min and max propagate NaN and show inf: one reduction, no N x D mask
    if X.is_floating_point() and X.numel() and not bool(torch.isfinite(torch.stack(torch.aminmax(X))).all()):
        bad = int((~torch.isfinite(X)).sum())
        raise InputError(f"{what} must be finite, got {bad} NaN/inf value(s)")


def class_indices(y: torch.Tensor, loss: str | LossFn) -> torch.Tensor:
    """``y`` as int64 for a named loss, whose torch functions take no other integer type (int32 labels,
    NumPy's default on Windows, stopped ``fit`` at its first batch with torch's 'expected target dtype
    to be Long'); for a callable loss ``y`` as it is. Call it after :func:`check_values`."""
    return y if callable(loss) or y.dtype == torch.int64 else y.to(torch.int64)


def _param_dtype(module: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating-point parameter, or None when it has none."""
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), None)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def check_options(seed: Any, resume: bool, checkpoint: Any, probes: Sequence[Any], lr_schedule: Any = None) -> None:
    """``fit``'s options, checked before anything touches the caller's model (a resume loads into it)."""
    check_seed(seed)
    if lr_schedule is not None and not callable(lr_schedule):
        raise InputError(f"lr_schedule must be a callable(epoch) -> float or None, got {lr_schedule!r:.60}")
    if resume and checkpoint is None:
        raise InputError("resume=True needs a checkpoint path (checkpoint=None given)")
    check_checkpoint_path(checkpoint, resume)
    for p in probes:
        if not isinstance(p, Probe):
            raise InputError(f"probes must be Probe instances (GradientMagnitudes, ...), got {type(p).__name__}")


def check_history(history: Any, validating: bool) -> None:
    """A ``history`` to continue: a :class:`~backproplab.history.History` whose epochs were all validated
    when this run validates, or none of them when it does not. Otherwise its ``val_*`` lists would stop
    matching its epochs (plotted at the wrong epochs, and left out of the verdict without a word)."""
    if history is None:
        return
    if not isinstance(history, History):
        raise InputError(f"history must be a backproplab History (what fit returns) or None, got "
                         f"{type(history).__name__}")
    if history.epochs and bool(history.val_loss) != validating:
        has = f"validation for {len(history.val_loss)} of its {history.epochs} epochs"
        raise InputError(f"history has {has} and this run {'validates' if validating else 'does not validate'} "
                         "(val): its val_loss/val_acc would no longer have one value per epoch; continue it "
                         f"{'without' if not history.val_loss else 'with'} val, or start a new history")


def check_checkpoint_path(checkpoint: Any, resume: bool = False) -> None:
    """Refuse, before the first epoch, a ``checkpoint`` that cannot be written or would overwrite a file
    that is not a checkpoint: not a path, a directory, a device or pipe, an existing file that is not
    a zip (what ``torch.save`` writes; with ``resume`` the reading names what is wrong with it), or a
    folder that cannot be written. ``None`` passes."""
    if checkpoint is None:
        return
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise InputError(f"checkpoint must be a file path or None, got {type(checkpoint).__name__}")
    path = Path(checkpoint)
    if path.is_dir():
        raise InputError(f"checkpoint must be a file path, got the directory {str(path)!r}; "
                         f"name a file, e.g. {str(path / 'checkpoint.pt')!r}")
    refuse_special(path)
    if not resume and path.exists() and not zipfile.is_zipfile(path):
        raise InputError(f"checkpoint {str(path)!r} exists and is not a checkpoint (torch.save writes a zip "
                         "file); fit would overwrite it after the first epoch: choose another path or remove it")
    check_writable_dir(path.parent, "checkpoint")


def to_device_checked(module: nn.Module, X: torch.Tensor, y: torch.Tensor, dev: torch.device,
                       probes: Sequence[Probe], name: str, loss: str | LossFn) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = X.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
    with PausedProbes(probes):  # probes attached before the call must not record the shape check
        check_values(module, X, y, name, loss)
    return X, class_indices(y, loss)


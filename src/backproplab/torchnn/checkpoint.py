"""Checkpoints: everything needed to resume training exactly, written atomically, loaded safely.

A checkpoint is one ``torch.save`` file holding a small envelope around the state::

    {"format": "backproplab.torchnn.checkpoint", "version": 2,
     "sha256": hex digest of content, "content": uint8 tensor = torch.save bytes of the state}

and the state is the dict that :func:`read_checkpoint` returns::

    {"format": ..., "version": 2, "model_class": str,
     "model": state_dict, "optimizer": state_dict or None, "history": History.to_dict() or None,
     "epoch": epochs completed, "rng": {"torch": ByteTensor, "generator": ByteTensor, "cuda": [...]},
     "extra": plain values}

It is written to a temporary sibling and renamed into place (:func:`backproplab.files.atomic_open`),
so an interrupted save never leaves a half-written file, and read with
``torch.load(weights_only=True)``, so loading a file never runs code from it. Before the state is
used, the zip members' CRC-32 and the content's SHA-256 are checked: ``torch.load`` itself checks
neither, so a file with flipped bytes used to load with weights like -1.27e38. Version-1 files
(written before the checksum existed) are still read, checked by their CRC-32 only.

A missing, truncated, corrupted or foreign file, one whose fields have the wrong type (``history``
a list, a negative ``epoch``), or one whose tensors do not fit the model raises
:class:`~backproplab.errors.CheckpointError` naming the file (and the mismatched keys and shapes).
"""

from __future__ import annotations

import hashlib
import io
import numbers
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from backproplab.errors import CheckpointError, InputError
from backproplab.files import atomic_open
from backproplab.history import History

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "save_checkpoint", "load_checkpoint",
           "read_checkpoint", "apply_checkpoint", "check_state_dict", "EpochCheckpoints"]

CHECKPOINT_FORMAT = "backproplab.torchnn.checkpoint"
CHECKPOINT_VERSION = 2
#: Versions :func:`read_checkpoint` reads: 1 had no content checksum (only the zip CRC-32 is checked).
READABLE_VERSIONS = (1, 2)

_LOAD_ERRORS = (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, OSError, ValueError,
                KeyError, AttributeError, TypeError, IndexError, UnicodeDecodeError)


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

    Raises
    ------
    InputError
        ``epoch`` not an integer >= 0, or ``history`` neither a History, a dict nor None.
    """
    from backproplab.torchnn.probes import unwrap_model

    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
        raise InputError(f"epoch must be the number of completed epochs, an integer >= 0, got {epoch!r:.60}")
    if history is not None and hasattr(history, "to_dict"):
        history = history.to_dict()
    if history is not None and not isinstance(history, dict):
        raise InputError(f"history must be a History, a dict or None, got {type(history).__name__}")
    module = unwrap_model(model)
    state = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model_class": type(module).__name__,
        "model": state,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "history": history,
        "epoch": int(epoch),  # a NumPy integer becomes a plain int
        "rng": rng or {},
        "extra": extra or {},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    content = buffer.getvalue()
    envelope = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                "sha256": hashlib.sha256(content).hexdigest(),
                "content": torch.frombuffer(bytearray(content), dtype=torch.uint8)}
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        torch.save(envelope, handle)
    return path


MAX_INFLATION = 8
"""A zip member may hold at most this many times its bytes in the file (torch.save's hold exactly 1)."""


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read, verify and validate a checkpoint file without applying it; returns its state dict.

    Raises
    ------
    CheckpointError
        The file is missing, truncated, corrupted (a zip CRC-32 or the content's SHA-256 does not
        match), not a torch file, not a backproplab checkpoint, or holds fields of the wrong type.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    _check_zip_crc(path)
    envelope = _torch_load(path, path, "cpu")  # the content is hashed on the CPU, whatever map_location
    _check_format(envelope, path)
    if envelope["version"] == 1:
        payload = envelope if str(map_location) == "cpu" else _torch_load(path, path, map_location)
    else:
        content = _verified_content(envelope, path)
        payload = _torch_load(io.BytesIO(content), path, map_location)
        _check_format(payload, path)
    _check_fields(payload, path)
    return payload


def _torch_load(source: Path | io.BytesIO, path: Path, map_location: str | torch.device) -> Any:
    try:
        return torch.load(source, map_location=map_location, weights_only=True)
    except _LOAD_ERRORS as exc:
        size = path.stat().st_size
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} ({size} bytes) could not be read: it is truncated, "
                              f"corrupt or not a torch file ({type(exc).__name__}: {first})") from exc


def _check_zip_crc(path: Path) -> None:
    """Refuse a zip whose members fail their CRC-32 (``torch.load`` does not check them)."""
    errors = (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except errors:
        return  # not a readable zip at all: torch.load's own error names the problem
    _refuse_inflation(members, path)  # before testzip, which would inflate every member
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except errors:
        return
    if bad is not None:
        raise CheckpointError(f"checkpoint {path} is corrupt: its member {bad!r} fails the zip CRC-32 check "
                              "(bytes changed after it was written); restore it from a copy or retrain")


def _refuse_inflation(members: list[zipfile.ZipInfo], path: Path) -> None:
    """Refuse a member that inflates far beyond its bytes in the file: ``torch.save`` stores members
    uncompressed, so one that does is crafted, and ``torch.load`` would allocate all of it at once (a
    14 MB file declaring 3 GiB was read whole, and testing its CRC took seconds)."""
    for info in members:
        if info.file_size > max(MAX_INFLATION * info.compress_size, 2**20):
            raise CheckpointError(f"checkpoint {path} is not one torch.save writes: its member {info.filename!r:.80} "
                                  f"inflates from {info.compress_size} to {info.file_size} bytes; refusing to "
                                  "read it (restore the checkpoint from a copy or retrain)")


def _check_format(payload: Any, path: Path) -> None:
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        if isinstance(payload, dict):
            keys = sorted(map(str, payload))[:8]
            found = f"a dict with keys {keys}{' ...' if len(payload) > 8 else ''}"
        else:
            found = type(payload).__name__
        raise CheckpointError(f"checkpoint {path} is not a backproplab checkpoint: expected a dict with "
                              f"format={CHECKPOINT_FORMAT!r}, found {found}")
    version = payload.get("version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise CheckpointError(f"checkpoint {path} has format version {version!r:.40}; this backproplab reads "
                              f"versions {', '.join(map(str, READABLE_VERSIONS))}")


def _verified_content(envelope: dict[str, Any], path: Path) -> bytes:
    """The state's bytes, after checking them against the SHA-256 stored beside them."""
    content, stored = envelope.get("content"), envelope.get("sha256")
    if not (isinstance(content, torch.Tensor) and content.dtype == torch.uint8 and content.ndim == 1
            and isinstance(stored, str)):
        raise CheckpointError(f"checkpoint {path} is incomplete: expected a uint8 'content' tensor and its "
                              "'sha256' string")
    data = content.contiguous().numpy().tobytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != stored:
        raise CheckpointError(f"checkpoint {path} is corrupt: the SHA-256 of its content is {actual}, but the "
                              f"file says {stored[:64]!r} (bytes changed after it was written); restore it "
                              "from a copy or retrain")
    return data


def _check_fields(payload: dict[str, Any], path: Path) -> None:
    """Every field a resume reads has the type it needs, so a bad one is named here, not deep inside."""
    missing = [k for k in ("model", "epoch") if k not in payload]
    if missing or not isinstance(payload["model"], dict):
        raise CheckpointError(f"checkpoint {path} is incomplete: missing {missing or ['model state']}")
    epoch = payload["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise CheckpointError(f"checkpoint {path}: 'epoch' must be the number of completed epochs, an "
                              f"integer >= 0, got {epoch!r:.60}")
    for key, kind in (("optimizer", dict), ("history", dict), ("rng", dict), ("extra", dict)):
        value = payload.get(key)
        if value is not None and not isinstance(value, kind):
            raise CheckpointError(f"checkpoint {path}: '{key}' must be a {kind.__name__} or None, got "
                                  f"{type(value).__name__}")
    if payload.get("history") is not None:
        _check_history(payload["history"], epoch, path)


def _check_history(history: dict[str, Any], epoch: int, path: Path) -> None:
    """What :meth:`History.from_dict` reads (per-epoch lists of numbers of agreeing lengths), with at
    least ``epoch`` training rows. A history written before ``lr`` was recorded is read (lr: NaN)."""
    try:
        rows = History.from_dict(history).epochs
    except InputError as exc:
        raise CheckpointError(f"checkpoint {path}: {exc}") from None
    if rows < epoch:
        raise CheckpointError(f"checkpoint {path}: 'epoch' says {epoch} epochs were completed, but its history "
                              f"holds only {rows}")


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
        Missing/truncated/corrupted/foreign file, or states that do not fit the model/optimizer (the
        message names the file and lists mismatched keys and shapes).
    """
    payload = read_checkpoint(path, map_location)
    apply_checkpoint(payload, path, model, optimizer)
    return payload


def apply_checkpoint(payload: dict[str, Any], path: str | os.PathLike, model: nn.Module | None = None,
                     optimizer: torch.optim.Optimizer | None = None) -> None:
    """Load a :func:`read_checkpoint` state into ``model`` and ``optimizer`` (when given).

    Everything is checked before anything is changed: the model's keys and shapes, then the
    optimizer's (which checks its own groups before loading), then the model's weights are loaded.
    ``path`` only names the file in messages.
    """
    from backproplab.torchnn.probes import unwrap_model

    module = unwrap_model(model) if model is not None else None
    if module is not None:
        check_state_dict(module.state_dict(), payload["model"], str(path))
    if optimizer is not None:
        state = payload.get("optimizer")
        if state is None:
            raise CheckpointError(f"checkpoint {path} holds no optimizer state")
        try:
            optimizer.load_state_dict(state)
        except (ValueError, KeyError, RuntimeError, TypeError, IndexError) as exc:
            raise CheckpointError(f"checkpoint {path}: optimizer state does not fit the optimizer "
                                  f"({type(optimizer).__name__}): {exc}") from exc
    if module is not None:
        try:
            module.load_state_dict(payload["model"])
        except (RuntimeError, TypeError) as exc:
            raise CheckpointError(f"checkpoint {path}: model state does not load ({exc})") from exc


class EpochCheckpoints:
    """The checkpoint add-on of :func:`~backproplab.torchnn.train.fit`: when to write, and what.

    With ``path`` None (no ``checkpoint=``, or a rank other than 0 under DDP) it writes nothing.
    Otherwise :meth:`end_epoch` writes after every ``every``-th epoch and after the last
    (``epochs``), with the RNG states ``rng()`` returns then; :meth:`after_restore` writes the state
    a divergence was rolled back to (the start of the failing epoch, whatever ``every`` skipped).
    """

    def __init__(self, path: str | os.PathLike | None, every: int, epochs: int, model: nn.Module,
                 optimizer: torch.optim.Optimizer, rng: Any):
        self.path, self.every, self.epochs = path, every, epochs
        self.model, self.optimizer, self.rng = model, optimizer, rng

    def end_epoch(self, done: int, history: Any) -> None:
        """After ``done`` completed epochs (1-based count)."""
        if self.path is not None and (done % self.every == 0 or done == self.epochs):
            save_checkpoint(self.path, self.model, self.optimizer, history=history, epoch=done, rng=self.rng())

    def after_restore(self, epoch: int, snapshot: dict[str, Any], history: Any) -> str:
        """Write the state restored at the start of ``epoch`` (1-based); the note for the error message."""
        if self.path is None:
            return ""
        save_checkpoint(self.path, self.model, self.optimizer, history=history, epoch=epoch - 1,
                        rng=snapshot["rng"])
        return f"; checkpoint {self.path} holds that state (epoch {epoch - 1})"

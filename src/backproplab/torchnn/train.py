"""A fast, seeded training loop for in-memory tensors: :func:`fit`, :func:`evaluate`, :class:`History`.

Why it is fast: the whole dataset stays in memory (on the device when there is one), each epoch's
batch order is one seeded ``torch.randperm``, batches are ``index_select`` slices, and nothing reads a
value back per batch: loss sums, correct counts and probe records accumulate in device tensors and
are read once per epoch. A per-item ``Dataset`` + ``DataLoader`` pipeline collates 64 tensors per
batch and costs more than the model at these sizes (see ``benchmarks/torchnn_fit_loop.py``).

Why it is reproducible: the batch order comes from a ``torch.Generator`` seeded with ``seed``, and
the global RNG (dropout) is forked and seeded with ``seed`` for the duration of the call, so the
same seed on the CPU gives the same weights, whatever the caller did to the global RNG before, and
the caller's RNG stream is left as it was. Checkpoints keep both RNG states, so resuming from epoch
``k`` ends with exactly the weights of the uninterrupted run on the CPU.

Shapes: ``train = (X [N, ...], y [N] int64)``; the model maps ``X[batch]`` to logits ``[B, C]``.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from backproplab.checks import check_seed, positive_int
from backproplab.errors import CheckpointError, InputError, NonFiniteError
from backproplab.progress import LoopProgress
from backproplab.torchnn import distributed as ddp
from backproplab.torchnn.checkpoint import apply_checkpoint, read_checkpoint, save_checkpoint
from backproplab.torchnn.probes import Probe, unwrap_model

__all__ = ["History", "fit", "evaluate", "resolve_device", "make_optimizer", "plot_history"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """Per-epoch metrics of a :func:`fit` run, Keras style.

    Attributes
    ----------
    train_loss, train_acc : list of float
        Mean loss and accuracy over the epoch's training batches (model in training mode).
    val_loss, val_acc : list of float
        On the validation set after each epoch (empty without validation data).
    epoch_time : list of float
        Seconds per epoch (training + validation).
    probes : dict
        ``{probe name: {key: list of float}}``, e.g. ``probes["grad_magnitudes"]["fc1"]`` has one
        record per batch.
    params : dict
        How the run was made (epochs, batch size, optimizer, lr, seed, device, world size).
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    probes: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train_loss)

    def __len__(self) -> int:
        return self.epochs

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (JSON-ready; also what checkpoints store)."""
        return {
            "train_loss": list(self.train_loss), "train_acc": list(self.train_acc),
            "val_loss": list(self.val_loss), "val_acc": list(self.val_acc),
            "epoch_time": list(self.epoch_time),
            "probes": {p: {k: list(v) for k, v in rec.items()} for p, rec in self.probes.items()},
            "params": dict(self.params),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict`."""
        known = {f: data.get(f) for f in ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time",
                                          "probes", "params") if data.get(f) is not None}
        return cls(**known)


# -- set-up helpers --------------------------------------------------------------------------------
def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (or None) → CUDA when available, else CPU; otherwise ``torch.device(device)``."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for CUDA, but torch.cuda.is_available() is False here")
    return dev


_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "rmsprop": torch.optim.RMSprop}


def make_optimizer(optimizer: Any, params: Sequence[nn.Parameter] | Any, *, lr: float,
                   momentum: float = 0.0, weight_decay: float = 0.0,
                   fused: bool | None = None) -> torch.optim.Optimizer:
    """An optimizer from a name (``sgd``, ``adam``, ``adamw``, ``rmsprop``), an instance, or a factory.

    ``None`` means SGD. A factory is called as ``optimizer(params)``. ``momentum`` applies to SGD and
    RMSprop. ``fused=None`` uses PyTorch's fused SGD/Adam/AdamW step where the parameters allow it
    (``True``: require it, ``False``: never).
    """
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise InputError(f"lr must be a positive finite number, got {lr!r}")
    for arg, value in (("momentum", momentum), ("weight_decay", weight_decay)):
        if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
            raise InputError(f"{arg} must be a finite number >= 0, got {value!r}")
    params = list(params)
    if optimizer is None or isinstance(optimizer, str):
        name = (optimizer or "sgd").lower()
        if name not in _OPTIMIZERS:
            raise InputError(f"optimizer must be one of {sorted(_OPTIMIZERS)}, an Optimizer or a factory, "
                             f"got {optimizer!r}")
        kwargs: dict[str, Any] = {"lr": lr, "weight_decay": weight_decay}
        if name in ("sgd", "rmsprop"):
            kwargs["momentum"] = momentum
        if name in ("sgd", "adam", "adamw") and fused is not False:
            # one fused kernel per step instead of a Python loop over parameters (CPU and CUDA);
            # the same arithmetic as the default implementation
            try:
                return _OPTIMIZERS[name](params, fused=True, **kwargs)
            except (RuntimeError, ValueError, TypeError):
                if fused:
                    raise
        return _OPTIMIZERS[name](params, **kwargs)
    if callable(optimizer):
        opt = optimizer(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise InputError(f"optimizer factory must return a torch.optim.Optimizer, got {type(opt).__name__}")
        return opt
    raise InputError(f"optimizer must be a name, an Optimizer or a factory, got {optimizer!r}")


def _loss_fn(loss: str | LossFn) -> LossFn:
    if callable(loss):
        return loss
    if loss in ("cross_entropy", "ce"):
        return F.cross_entropy
    if loss == "nll":
        return F.nll_loss
    raise InputError(f"loss must be 'cross_entropy', 'nll' or a callable(logits, y), got {loss!r}")


def _as_tensor(value: Any) -> Any:
    """A NumPy array becomes a tensor sharing its memory (dtype kept); anything else is returned as is."""
    return torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value


def _from_loader(loader: DataLoader, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (X, y) batch of a DataLoader, read once and concatenated (fit batches the data itself)."""
    xs, ys = [], []
    for batch in loader:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise InputError(f"{name} DataLoader must yield (X, y) batches, got {type(batch).__name__}")
        xs.append(_as_tensor(batch[0]))
        ys.append(_as_tensor(batch[1]))
    if not xs:
        raise InputError(f"{name} DataLoader is empty (N = 0)")
    return torch.cat(xs), torch.cat(ys)


def _check_pair(pair: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(pair, DataLoader):
        pair = _from_loader(pair, name)
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise InputError(f"{name} must be a pair (X, y) of tensors or NumPy arrays, or a DataLoader, "
                         f"got {type(pair).__name__}")
    X, y = (_as_tensor(v) for v in pair)
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise InputError(f"{name} must hold torch tensors (X, y), got ({type(X).__name__}, {type(y).__name__})")
    if X.ndim < 2:
        raise InputError(f"{name} X must have shape [N, ...] with N samples, got {tuple(X.shape)}")
    if y.ndim != 1 or len(y) != len(X):
        raise InputError(f"{name} y must have shape [N] = [{len(X)}] to match X, got {tuple(y.shape)}")
    if len(X) == 0:
        raise InputError(f"{name} is empty (N = 0)")
    return X, y


def _check_values(module: nn.Module, X: torch.Tensor, y: torch.Tensor, name: str, loss: str | LossFn) -> None:
    """Once per call: X finite and of the model's input shape; for a named loss, y labels in [0, C)."""
    # min and max propagate NaN and show inf: one reduction, no N x D mask
    if X.is_floating_point() and X.numel() and not bool(torch.isfinite(torch.stack(torch.aminmax(X))).all()):
        bad = int((~torch.isfinite(X)).sum())
        raise InputError(f"{name} X must be finite, got {bad} NaN/inf value(s)")
    if not callable(loss) and (y.is_floating_point() or y.is_complex() or y.dtype == torch.bool):
        raise InputError(f"{name} y must hold integer class indices (int64) for loss {loss!r}, got dtype {y.dtype}")
    was_training = module.training
    nn.Module.train(module, False)  # eval mode: no dropout draw, no batch-norm update
    try:
        with torch.no_grad():
            out = module(X[:1])
    except RuntimeError as exc:
        wanted = _param_dtype(module)
        if wanted is not None and X.dtype != wanted:
            # the same RuntimeError for a dtype mismatch used to be blamed on the shape
            raise InputError(f"{name} X must have the model's dtype {_dtype_name(wanted)}, got dtype "
                             f"{_dtype_name(X.dtype)}, samples of shape {tuple(X.shape[1:])} (convert it first, e.g. "
                             f"X.to(torch.{_dtype_name(wanted)}))") from exc
        detail = " ".join(str(exc).split())[:300]
        raise InputError(f"{name} X must have the input shape the model expects, got samples of shape "
                         f"{tuple(X.shape[1:])} ({detail})") from exc
    finally:
        nn.Module.train(module, was_training)
    if callable(loss) or out.ndim != 2:
        return
    classes = out.shape[1]
    lo, hi = torch.stack([y.min(), y.max()]).tolist()
    if lo < 0 or hi >= classes:
        raise InputError(f"{name} y must hold class indices in [0, {classes - 1}] for a model with {classes} "
                         f"outputs, got values from {lo} to {hi}")


def _param_dtype(module: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating-point parameter, or None when it has none."""
    return next((p.dtype for p in module.parameters() if p.is_floating_point()), None)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# -- evaluation ------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 2048,
             loss: str | LossFn = "cross_entropy", device: str | torch.device | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``(X [N, ...], y [N])`` in eval mode.

    The model's training/eval mode is restored afterwards; values accumulate on the device and are
    read once. ``device`` defaults to the model's.

    Returns
    -------
    (loss, accuracy) : tuple of float
    """
    X, y = _check_pair((X, y), "evaluate data")
    batch_size = positive_int("batch_size", batch_size)
    loss_fn = _loss_fn(loss)
    module = unwrap_model(model)
    first = next(module.parameters(), None)
    dev = resolve_device(device) if device is not None else (first.device if first is not None else torch.device("cpu"))
    was_training = module.training
    nn.Module.train(module, False)
    try:
        total = torch.zeros((), dtype=torch.float64, device=dev)
        correct = torch.zeros((), dtype=torch.int64, device=dev)
        for start in range(0, len(X), batch_size):
            xb = X[start:start + batch_size].to(dev, non_blocking=True)
            yb = y[start:start + batch_size].to(dev, non_blocking=True)
            out = module(xb)
            total += loss_fn(out, yb).double() * len(yb)
            correct += (out.argmax(dim=1) == yb).sum()
        total_f, correct_f = torch.stack([total, correct.double()]).tolist()
    finally:
        nn.Module.train(module, was_training)
    return total_f / len(X), correct_f / len(X)


# -- training ---------------------------------------------------------------------------------------
def fit(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
        val: tuple[torch.Tensor, torch.Tensor] | None = None, *, epochs: int, batch_size: int,
        optimizer: Any = None, lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0,
        loss: str | LossFn = "cross_entropy", device: str | torch.device = "auto", seed: int = 0,
        probes: Sequence[Probe] = (), progress: bool | None = True, checkpoint: str | os.PathLike | None = None,
        resume: bool = False, checkpoint_every: int = 1, eval_batch_size: int = 2048,
        history: History | None = None, lr_schedule: Callable[[int], float] | None = None) -> History:
    """Train ``model`` on in-memory tensors; return the per-epoch :class:`History`.

    Parameters
    ----------
    model : nn.Module
        Maps ``X[batch]`` to logits ``[B, C]``. Moved to ``device``.
    train : (X [N, ...] float, y [N] int64), as tensors or NumPy arrays, or a DataLoader of such batches
        NumPy arrays are used without a copy; a DataLoader is read once and concatenated (``fit``
        makes its own batches, so the loader's batch size and order do not matter).
        ``X`` has the dtype of the model's parameters (float32 for a default model); another dtype
        (float16, float64, integers) is refused with an error naming it, never converted silently.
    val : (X_val, y_val), optional
        Evaluated after every epoch (eval mode, probes paused).
    epochs, batch_size : int
        Total epochs (including any resumed ones) and samples per batch (per process under DDP).
    optimizer : None, str, torch.optim.Optimizer or callable(params)
        ``None``/``"sgd"`` → SGD(lr, momentum); ``"adam"``, ``"adamw"``, ``"rmsprop"``; an instance
        built on ``model.parameters()``; or a factory.
    lr, momentum, weight_decay : float
        Used when the optimizer is built here.
    loss : "cross_entropy", "nll" or callable(logits, y) → mean loss
    device : "auto", "cpu", "cuda", torch.device
        ``"auto"`` picks CUDA when available. Data and model are moved there once.
    seed : int
        Seeds the batch-order generator and (forked) global RNG used by dropout.
    probes : sequence of Probe
        Attached for the call (and removed after), paused during validation, flushed per epoch into
        ``history.probes[probe.name]``.
    progress : bool or None
        Report progress on stderr (rank 0 only): a bar with epoch, batch, running loss and ETA, and
        one line per epoch. ``True`` reports in the form the run's setting asks for (``reproduce``
        and the ``backproplab`` command set it: lines when stderr is not a terminal), ``None`` only
        when a run set one, ``False`` never; see :mod:`backproplab.progress`.
    checkpoint : path, optional
        Written atomically every ``checkpoint_every`` epochs and after the last (rank 0 only).
    resume : bool
        When ``checkpoint`` exists, load it and continue from its epoch (exact on the CPU).
    history : History, optional
        Continue appending to this history (e.g. a model's earlier runs).
    lr_schedule : callable(epoch) -> float, optional
        Multiplier of each parameter group's base learning rate for epoch ``epoch`` (0-based), set at
        the start of every epoch (after a resume too), e.g. ``lambda e: 0.1 if e >= 4 else 1.0``.

    Under ``torchrun --nproc_per_node=N`` (or any initialised process group) the same call trains
    with ``DistributedDataParallel``: every rank holds the data, takes its contiguous shard of each
    global batch of ``batch_size * N`` samples, and the result equals single-process training with
    batch ``batch_size * N`` (see :mod:`backproplab.torchnn.distributed`); only rank 0 writes
    checkpoints and shows progress; every rank returns the same history.

    Returns
    -------
    History

    Raises
    ------
    InputError for bad arguments; CheckpointError for unusable checkpoints; NonFiniteError when the
    loss becomes NaN/inf, naming the epoch, the batch and the first layer whose activation or
    gradient went non-finite (attributes ``epoch``, ``batch``, ``layer``). Finiteness is checked once
    per epoch from a device-side count (no read-back per batch); the bad batch's layer is then found
    by replaying the epoch from a once-per-epoch snapshot. The model and optimizer are left at the
    start of the failing epoch, the last good state, and a ``checkpoint`` is written with it.
    """
    X, y = _check_pair(train, "train")
    if val is not None:
        Xv, yv = _check_pair(val, "val")
    epochs, batch_size, checkpoint_every = (positive_int(name, value) for name, value in (
        ("epochs", epochs), ("batch_size", batch_size), ("checkpoint_every", checkpoint_every)))
    seed = _check_options(seed, resume, checkpoint, probes)
    loss_fn = _loss_fn(loss)
    dev = resolve_device(device)
    ddp.init_from_env(ddp.default_backend(dev))
    world, rank = ddp.world_size(), ddp.rank()
    dev = ddp.local_device(dev)
    module = unwrap_model(model)
    module.to(dev)
    net = ddp.wrap_ddp(module, dev) if world > 1 else model
    opt = make_optimizer(optimizer, module.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)

    X, y = _to_device_checked(module, X, y, dev, probes, "train", loss)
    if val is not None:
        val = _to_device_checked(module, Xv, yv, dev, probes, "val", loss)
    hist = history if history is not None else History()
    run_params = {"epochs": epochs, "batch_size": batch_size, "optimizer": type(opt).__name__,
                  "lr": opt.param_groups[0].get("lr"), "seed": seed, "device": str(dev),
                  "world_size": world, "n_train": len(X), "n_val": len(val[0]) if val is not None else 0}
    hist.params.update(run_params)
    generator = torch.Generator().manual_seed(seed)
    start_epoch = 0
    cuda_devices = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []

    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        if resume and checkpoint is not None and Path(checkpoint).exists():
            state = _resume(checkpoint, module, opt, epochs, generator, cuda_devices)
            start_epoch = state["epoch"]
            hist = _resumed_history(state, hist, run_params, probes)

        base_lrs = _base_lrs(opt, lr_schedule is not None)
        attached = [p for p in probes if not p.attached]
        for p in attached:
            p.attach(module)
        report = LoopProgress(progress if rank == 0 else False, epochs=epochs, first_epoch=start_epoch + 1,
                              batches=_count_batches(len(X), batch_size, world), desc=type(module).__name__)
        try:
            for epoch in range(start_epoch, epochs):
                t0 = time.perf_counter()
                report.start_epoch(epoch + 1)
                if lr_schedule is not None:
                    _apply_lr_schedule(opt, lr_schedule, epoch, base_lrs)
                # once per epoch (nothing per batch): the state a non-finite loss goes back to
                snapshot = _snapshot(module, opt, generator, cuda_devices)
                try:
                    train_loss, train_acc = _train_epoch(net, opt, loss_fn, X, y, batch_size, generator, dev,
                                                         world, rank, report)
                except _Diverged as div:
                    with _paused(probes):
                        where = _locate_nonfinite(net, module, opt, loss_fn, X, y, batch_size, generator,
                                                  dev, world, rank, snapshot, div.batch)
                    _restore(module, opt, generator, snapshot)
                    if checkpoint is not None and rank == 0:
                        save_checkpoint(checkpoint, module, opt, history=hist, epoch=epoch, rng=snapshot["rng"])
                    raise _nonfinite_error(div, epoch, where, checkpoint if rank == 0 else None) from None
                with _paused(probes):  # validation is not training: the probes do not record it
                    scores = evaluate(module, *val, batch_size=eval_batch_size, loss=loss_fn) if val else None
                _record_epoch(hist, (train_loss, train_acc), scores, probes, time.perf_counter() - t0, report)
                done = epoch + 1
                if checkpoint is not None and rank == 0 and (done % checkpoint_every == 0 or done == epochs):
                    save_checkpoint(checkpoint, module, opt, history=hist, epoch=done,
                                    rng=_snapshot_rng(generator, cuda_devices))
        finally:
            report.close()
            for p in attached:
                p.remove()
    return hist


def _resume(checkpoint: str | os.PathLike, module: nn.Module, opt: torch.optim.Optimizer, epochs: int,
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


class _Diverged(Exception):
    def __init__(self, batch: int, n_batches: int):
        super().__init__(batch, n_batches)
        self.batch, self.n_batches = batch, n_batches


def _check_options(seed: Any, resume: bool, checkpoint: Any, probes: Sequence[Any]) -> int:
    """Check fit's options at the door; return the seed as an int in [0, 2**32)."""
    seed = check_seed(seed)
    if resume and checkpoint is None:
        raise InputError("resume=True needs a checkpoint path (checkpoint=None given)")
    for p in probes:
        if not isinstance(p, Probe):
            raise InputError(f"probes must be Probe instances (GradientMagnitudes, ...), got {type(p).__name__}")
    return seed


def _base_lrs(opt: torch.optim.Optimizer, scheduled: bool) -> list[float]:
    """Each group's learning rate before any schedule (kept as ``initial_lr`` when a schedule scales it)."""
    if scheduled:
        return [g.setdefault("initial_lr", g["lr"]) for g in opt.param_groups]
    return [g.get("initial_lr", g["lr"]) for g in opt.param_groups]


def _apply_lr_schedule(opt: torch.optim.Optimizer, lr_schedule: Callable[[int], float], epoch: int,
                       base_lrs: list[float]) -> None:
    factor = float(lr_schedule(epoch))
    if not (math.isfinite(factor) and factor > 0):
        raise InputError(f"lr_schedule({epoch}) must be a positive number, got {factor!r}")
    for group, base in zip(opt.param_groups, base_lrs, strict=True):
        group["lr"] = base * factor


def _to_device_checked(module: nn.Module, X: torch.Tensor, y: torch.Tensor, dev: torch.device,
                       probes: Sequence[Probe], name: str, loss: str | LossFn) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = X.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
    with _paused(probes):  # probes attached before the call must not record the shape check
        _check_values(module, X, y, name, loss)
    return X, y


def _resumed_history(state: dict[str, Any], hist: History, run_params: dict[str, Any],
                     probes: Sequence[Probe]) -> History:
    """The checkpoint's history (this run's params on top), or ``hist``; the probes get their records back."""
    if state.get("history"):
        hist = History.from_dict(state["history"])
        hist.params.update(run_params)
    for p in probes:
        p.load_records(hist.probes.get(p.name, {}))
    return hist


def _record_epoch(hist: History, train: tuple[float, float], val: tuple[float, float] | None,
                  probes: Sequence[Probe], seconds: float, report: LoopProgress) -> None:
    """Append the epoch's (loss, accuracy) on train and validation, its probe records and its time."""
    hist.train_loss.append(train[0])
    hist.train_acc.append(train[1])
    if val is not None:
        hist.val_loss.append(val[0])
        hist.val_acc.append(val[1])
    for p in probes:
        slot = hist.probes.setdefault(p.name, {})
        for key, values in p.flush().items():
            slot.setdefault(key, []).extend(values)
    hist.epoch_time.append(seconds)
    report.end_epoch(*train, seconds, **({"val_loss": val[0], "val_acc": val[1]} if val is not None else {}))


def _nonfinite_error(div: _Diverged, epoch: int, where: str, checkpoint: Any) -> NonFiniteError:
    """The error for a loss that went NaN/inf in ``epoch`` (0-based), after the state was restored."""
    saved = f"; checkpoint {checkpoint} holds that state (epoch {epoch})" if checkpoint is not None else ""
    err = NonFiniteError(
        f"training loss became non-finite at epoch {epoch + 1}, batch {div.batch} of "
        f"{div.n_batches}; first non-finite: {where}; the model and optimizer are restored to "
        f"their last good state, the start of epoch {epoch + 1}{saved}; try a smaller learning rate")
    err.epoch, err.batch, err.layer = epoch + 1, div.batch, where
    return err


def _snapshot_rng(generator: torch.Generator, cuda_devices: list[int]) -> dict[str, Any]:
    rng: dict[str, Any] = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if cuda_devices:
        rng["cuda"] = [torch.cuda.get_rng_state(cuda_devices[0])]
    return rng


def _snapshot(module: nn.Module, opt: torch.optim.Optimizer, generator: torch.Generator,
              cuda_devices: list[int]) -> dict[str, Any]:
    return {"model": {k: v.detach().clone() for k, v in module.state_dict().items()},
            "opt": copy.deepcopy(opt.state_dict()), "rng": _snapshot_rng(generator, cuda_devices),
            "cuda_devices": cuda_devices}


def _restore(module: nn.Module, opt: torch.optim.Optimizer, generator: torch.Generator,
             snapshot: dict[str, Any]) -> None:
    module.load_state_dict(snapshot["model"])
    opt.load_state_dict(copy.deepcopy(snapshot["opt"]))
    generator.set_state(snapshot["rng"]["generator"])
    torch.set_rng_state(snapshot["rng"]["torch"])
    if snapshot["cuda_devices"]:
        torch.cuda.set_rng_state(snapshot["rng"]["cuda"][0], snapshot["cuda_devices"][0])


def _locate_nonfinite(net: nn.Module, module: nn.Module, opt: torch.optim.Optimizer, loss_fn: LossFn,
                      X: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator,
                      dev: torch.device, world: int, rank: int, snapshot: dict[str, Any], bad: int) -> str:
    """Replay the epoch from ``snapshot`` up to batch ``bad`` (1-based), checking every value on the way.

    Returns the first non-finite gradient of the step before ``bad``, else the first module whose
    output is non-finite at ``bad`` (forward order), else the first non-finite gradient at ``bad``.
    """
    _restore(module, opt, generator, snapshot)
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

    for i, (idx, scale) in enumerate(_batches(perm, len(X), batch_size * world, world, rank)):
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


def _batches(perm: torch.Tensor, n: int, global_batch: int, world: int, rank: int):
    """``(indices, loss scale)`` of each of this rank's batches of one epoch."""
    for start in range(0, n, global_batch):
        stop = min(start + global_batch, n)
        if world > 1:
            g = stop - start
            if g < world:  # a shard would be empty: every rank skips this ragged remainder
                break
            lo, hi = ddp.shard_bounds(g, world, rank)
            yield perm[start + lo:start + hi], (hi - lo) * world / g
        else:
            yield perm[start:stop], 1.0


class _paused:
    def __init__(self, probes: Sequence[Probe]):
        self.contexts = [p.paused() for p in probes]

    def __enter__(self) -> None:
        for c in self.contexts:
            c.__enter__()

    def __exit__(self, *exc) -> None:
        for c in reversed(self.contexts):
            c.__exit__(*exc)


def _count_batches(n: int, batch_size: int, world: int) -> int:
    """Batches per epoch on each rank (a ragged remainder smaller than ``world`` is skipped)."""
    full, rest = divmod(n, batch_size * world)
    return full + (1 if rest >= world else 0)


def _train_epoch(net: nn.Module, opt: torch.optim.Optimizer, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor,
                 batch_size: int, generator: torch.Generator, dev: torch.device, world: int, rank: int,
                 report: LoopProgress) -> tuple[float, float]:
    """One pass over a fresh seeded permutation; returns (mean loss, accuracy) over the samples used."""
    nn.Module.train(net, True)
    n = len(X)
    perm = torch.randperm(n, generator=generator).to(dev, non_blocking=True)
    global_batch = batch_size * world
    loss_sum = torch.zeros((), dtype=torch.float32, device=dev)
    correct = torch.zeros((), dtype=torch.int64, device=dev)
    finite_batches = torch.zeros((), dtype=torch.int64, device=dev)  # batches before the loss went NaN/inf
    seen = 0
    n_batches = math.ceil(n / global_batch)

    def running_loss() -> float:  # read only when the bar draws (a device sync every REFRESH_S)
        return float(loss_sum) / max(seen, 1)

    for idx, scale in _batches(perm, n, global_batch, world, rank):
        xb = X.index_select(0, idx)
        yb = y.index_select(0, idx)
        out = net(xb)
        batch_loss = loss_fn(out, yb)
        opt.zero_grad(set_to_none=True)
        (batch_loss * scale if scale != 1.0 else batch_loss).backward()
        opt.step()
        with torch.no_grad():
            detached = batch_loss.detach()
            loss_sum += detached * len(idx)
            correct += (out.argmax(dim=1) == yb).sum()
            finite_batches += torch.isfinite(loss_sum)
        seen += len(idx)
        report.step(1, running_loss)
    totals = torch.stack([loss_sum.double(), correct.double(), torch.tensor(float(seen), dtype=torch.float64,
                                                                             device=dev)])
    total_loss, total_correct, total_seen = ddp.all_reduce_sum(totals).tolist()
    if not math.isfinite(total_loss):
        raise _Diverged(int(finite_batches.item()) + 1, n_batches)
    return total_loss / total_seen, total_correct / total_seen


# -- plotting ---------------------------------------------------------------------------------------
def plot_history(history: History | dict[str, Any], title: str | None = None):
    """A Matplotlib figure with loss (left) and accuracy (right) per epoch, train and validation."""
    from matplotlib.figure import Figure

    if isinstance(history, dict):
        history = History.from_dict(history)
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = list(range(1, history.epochs + 1))
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, getattr(history, f"train_{key}"), marker="o", label=f"train {label}")
        val = getattr(history, f"val_{key}")
        if val:
            ax.plot(epochs[:len(val)], val, marker="s", label=f"validation {label}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig

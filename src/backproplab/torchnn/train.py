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

Under ``torchrun --nproc_per_node=N`` (or any initialised process group) the same :func:`fit` call
trains with ``DistributedDataParallel``: every rank holds the data, takes its contiguous shard of each
global batch of ``batch_size * N`` samples, and the result equals single-process training with batch
``batch_size * N`` (see :mod:`backproplab.torchnn.distributed`); only rank 0 writes checkpoints and
shows progress; every rank returns the same history.

Where things are: the bare loop is here (:func:`fit`, ``_train_epochs``, ``_train_epoch``); what it
calls are add-ons, each in its own module: the checks at the door in
:mod:`~backproplab.torchnn.inputs`; checkpoint writing (``EpochCheckpoints``) in
:mod:`~backproplab.torchnn.checkpoint` and resuming in :mod:`~backproplab.torchnn.resume`; the
learning-rate schedule in :mod:`~backproplab.torchnn.schedule`; the probes (``ProbeSet``) in
:mod:`~backproplab.torchnn.probes`; the divergence rollback and replay in
:mod:`~backproplab.torchnn.replay` (the policy, shared with the NumPy engine, in
:mod:`backproplab.divergence`); the DDP sharding in :mod:`~backproplab.torchnn.distributed`;
:class:`History`, shared with the NumPy engine, in :mod:`backproplab.history`.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from backproplab.checks import is_real
from backproplab.divergence import Diverged, EpochRollback
from backproplab.errors import InputError
from backproplab.history import History, plot_history, report_epoch
from backproplab.progress import LoopProgress
from backproplab.torchnn import distributed as ddp
from backproplab.torchnn.checkpoint import EpochCheckpoints
from backproplab.torchnn.inputs import (
    LossFn,
    check_history,
    check_options,
    check_pair,
    check_values,
    class_indices,
    loss_function,
    positive_int,
    to_device_checked,
)
from backproplab.torchnn.probes import Probe, ProbeSet, unwrap_model
from backproplab.torchnn.replay import epoch_rollback
from backproplab.torchnn.resume import resume_from, resumed_history, snapshot_rng
from backproplab.torchnn.schedule import LrSchedule

__all__ = ["History", "fit", "evaluate", "resolve_device", "make_optimizer", "plot_history"]


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
    if not (is_real(lr) and lr > 0 and math.isfinite(lr)):
        raise InputError(f"lr must be a positive finite number, got {lr!r}")
    for arg, value in (("momentum", momentum), ("weight_decay", weight_decay)):
        if not (is_real(value) and value >= 0 and math.isfinite(value)):
            raise InputError(f"{arg} must be a finite number >= 0, got {value!r}")
    lr, momentum, weight_decay = float(lr), float(momentum), float(weight_decay)
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



# -- evaluation ------------------------------------------------------------------------------------
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 2048,
             loss: str | LossFn = "cross_entropy", device: str | torch.device | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``(X [N, ...], y [N])`` in eval mode.

    The model's training/eval mode is restored afterwards; values accumulate on the device and are
    read once. ``device`` defaults to the model's. ``X`` and ``y`` are checked as ``fit`` checks them
    (finite ``X`` of the model's input shape and dtype; for a named loss integer labels in ``[0, C)``,
    any integer dtype): NaN in ``X`` gave ``(nan, 1.0)``, every NaN row's argmax being class 0.

    Returns
    -------
    (loss, accuracy) : tuple of float; the accuracy is NaN for a model with one output (no classes to pick)
    """
    X, y = check_pair((X, y), "evaluate data")
    batch_size = positive_int("batch_size", batch_size)
    module = unwrap_model(model)
    first = next(module.parameters(), None)
    dev = resolve_device(device) if device is not None else (first.device if first is not None else torch.device("cpu"))
    check_values(module, X, y, "evaluate data", loss)
    return _evaluate(module, X, class_indices(y, loss), batch_size, loss_function(loss), dev)


def _correct(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
    """How many rows' arg-max is their label; None for an output without classes to pick from (``[N, 1]``:
    its arg-max is always 0, which made the share of label 0 look like an accuracy)."""
    if out.ndim != 2 or out.shape[1] < 2:
        return None
    return (out.argmax(dim=1) == y).sum()


@torch.no_grad()
def _evaluate(module: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int, loss_fn: LossFn,
              dev: torch.device) -> tuple[float, float]:
    """:func:`evaluate` of data already checked (``fit``'s validation set, every epoch)."""
    was_training = module.training
    nn.Module.train(module, False)
    try:
        total = torch.zeros((), dtype=torch.float64, device=dev)
        correct = torch.zeros((), dtype=torch.int64, device=dev)
        classes = True
        for start in range(0, len(X), batch_size):
            xb = X[start:start + batch_size].to(dev, non_blocking=True)
            yb = y[start:start + batch_size].to(dev, non_blocking=True)
            out = module(xb)
            total += loss_fn(out, yb).double() * len(yb)
            hits = _correct(out, yb)
            classes = hits is not None
            if classes:
                correct += hits
        total_f, correct_f = torch.stack([total, correct.double()]).tolist()
    finally:
        nn.Module.train(module, was_training)
    return total_f / len(X), correct_f / len(X) if classes else float("nan")



# -- training ---------------------------------------------------------------------------------------
_COUNTS = ("epochs", "batch_size", "checkpoint_every", "eval_batch_size")
"""``fit``'s arguments that are positive integers, checked at the door."""


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
        Maps ``X[batch]`` to logits ``[B, C]``. Moved to ``device``; on the CPU a model with ``Conv2d``
        layers is also put in channels-last memory format (faster; same shapes and values).
    train : (X [N, ...] float, y [N] int64), as tensors or NumPy arrays (no copy), or a DataLoader
        (read once and concatenated; ``fit`` makes its own batches). ``X`` has the dtype of the
        model's parameters; another dtype is refused with an error naming it, never converted.
    val : (X_val, y_val), optional
        Evaluated after every epoch (eval mode, probes paused).
    epochs, batch_size : int
        Total epochs (including any resumed ones) and samples per batch (per process under DDP).
    optimizer : None, str, torch.optim.Optimizer or callable(params)
        ``None``/``"sgd"`` → SGD(lr, momentum); ``"adam"``, ``"adamw"``, ``"rmsprop"``; an instance
        built on ``model.parameters()``; or a factory.
    lr, momentum, weight_decay : float, used when the optimizer is built here
    loss : "cross_entropy", "nll" or callable(logits, y) → mean loss
    device : "auto" (CUDA when available), "cpu", "cuda", torch.device; data and model go there once
    seed : int
        Seeds the batch-order generator and (forked) global RNG used by dropout.
    probes : sequence of Probe
        Attached for the call (and removed after), paused during validation, flushed per epoch into
        ``history.probes[probe.name]``.
    progress : bool or None
        Progress on stderr (rank 0): ``True`` in the form the run's setting asks for, ``None`` only
        when a run set one, ``False`` never; see :mod:`backproplab.progress`.
    checkpoint : path, optional
        Written atomically every ``checkpoint_every`` epochs and after the last (rank 0 only).
    resume : bool
        When ``checkpoint`` exists, load it and continue from its epoch (exact on the CPU).
    history : History, optional
        Continue appending to this history (e.g. a model's earlier runs).
    lr_schedule : callable(epoch) -> float, optional
        Multiplier of the base learning rate for epoch ``epoch`` (0-based), e.g. a step decay
        ``lambda e: 0.1 if e >= 4 else 1.0``; see :mod:`~backproplab.torchnn.schedule`.

    Under ``torchrun`` the same call trains with DDP; see the module docstring.

    Returns
    -------
    History, with ``lr`` the rate each epoch trained with, and ``params`` and ``probes``.

    Raises
    ------
    InputError for bad arguments; CheckpointError for unusable checkpoints; NonFiniteError when the
    loss becomes NaN/inf, after restoring the model, the optimizer and the RNGs to the start of the
    failing epoch: the one policy of both engines, see :mod:`backproplab.divergence`. It names the
    epoch, the batch and the first layer whose activation or gradient went non-finite (found by a
    replay, see :mod:`~backproplab.torchnn.replay`); a ``checkpoint`` is written with that state.
    """
    (X, y), val = check_pair(train, "train"), check_pair(val, "val") if val is not None else None
    epochs, batch_size, checkpoint_every, eval_batch_size = (positive_int(name, value) for name, value in zip(
        _COUNTS, (epochs, batch_size, checkpoint_every, eval_batch_size), strict=True))
    check_options(seed, resume, checkpoint, probes, lr_schedule)
    check_history(history, val is not None)
    run = _Run.place(model, optimizer, loss, device, seed, lr=lr, momentum=momentum, weight_decay=weight_decay)
    X, y, val = run.to_device(X, y, val, probes, loss)
    hist = history if history is not None else History()
    hist.params.update(run_params := run.params(epochs, batch_size, seed, len(X), val))
    with torch.random.fork_rng(devices=run.cuda_devices):
        torch.manual_seed(seed)
        start_epoch, hist = run.resume(checkpoint if resume else None, epochs, hist, run_params, probes)
        checkpoints = EpochCheckpoints(checkpoint if run.rank == 0 else None, checkpoint_every, epochs,
                                       run.module, run.opt, run.rng_state)
        with ProbeSet(probes, run.module, distributed=run.world > 1) as probe_set, run.progress(progress, epochs, start_epoch, len(X),
                                                                     batch_size) as report:
            addons = _AddOns(LrSchedule(run.opt, lr_schedule), probe_set, checkpoints,
                             epoch_rollback(run, X, y, batch_size, probe_set, checkpoints.after_restore))
            _train_epochs(run, (X, y, val), hist, range(start_epoch, epochs), batch_size, eval_batch_size, addons,
                          report)
    return hist


@dataclass
class _Run:
    """The pieces one :func:`fit` call trains with, placed on the device (and wrapped for DDP)."""

    net: nn.Module  # what the batches go through: the model, DDP-wrapped under torchrun
    module: nn.Module  # the bare model: probes, checkpoints, evaluation
    opt: torch.optim.Optimizer
    loss_fn: LossFn
    dev: torch.device
    world: int
    rank: int
    cuda_devices: list[int]  # the one CUDA device whose RNG is forked and checkpointed, or none
    generator: torch.Generator  # the seeded batch order

    @classmethod
    def place(cls, model: nn.Module, optimizer: Any, loss: str | LossFn, device: str | torch.device, seed: int,
              **opt_kwargs: float) -> _Run:
        loss_fn = loss_function(loss)
        dev = resolve_device(device)
        ddp.init_from_env(ddp.default_backend(dev))
        world, rank = ddp.world_size(), ddp.rank()
        dev = ddp.local_device(dev)
        module = unwrap_model(model)
        module.to(dev)
        if dev.type == "cpu" and world == 1 and any(isinstance(m, nn.Conv2d) for m in module.modules()):
            # oneDNN's convolutions and pooling run about a quarter faster on NHWC than on NCHW on the CPU
            # (the quick Fashion CNN: 26 s -> 20 s on one thread); the values are the same up to rounding.
            # Not under DDP, whose gradient buckets are laid out for contiguous parameters.
            module.to(memory_format=torch.channels_last)
        net = ddp.wrap_ddp(module, dev) if world > 1 else model
        opt = make_optimizer(optimizer, module.parameters(), **opt_kwargs)
        cuda_devices = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
        return cls(net, module, opt, loss_fn, dev, world, rank, cuda_devices, torch.Generator().manual_seed(seed))

    def to_device(self, X: torch.Tensor, y: torch.Tensor, val: tuple[torch.Tensor, torch.Tensor] | None,
                  probes: Sequence[Probe], loss: str | LossFn) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Train and validation data moved to the device once and checked against the model."""
        X, y = to_device_checked(self.module, X, y, self.dev, probes, "train", loss)
        if val is not None:
            val = to_device_checked(self.module, *val, self.dev, probes, "val", loss)
        return X, y, val

    def resume(self, checkpoint: str | os.PathLike | None, epochs: int, hist: History,
               run_params: dict[str, Any], probes: Sequence[Probe]) -> tuple[int, History]:
        """``(first epoch to train, history)``: from ``checkpoint`` when one is given and exists, else (0, hist)."""
        if checkpoint is None or not Path(checkpoint).exists():
            return 0, hist
        state = resume_from(checkpoint, self.module, self.opt, epochs, self.generator, self.cuda_devices,
                            run_params)
        return state["epoch"], resumed_history(state, hist, run_params, probes)

    def rng_state(self) -> dict[str, Any]:
        """Both RNG states now (the batch-order generator, the global one), for a checkpoint."""
        return snapshot_rng(self.generator, self.cuda_devices)

    def progress(self, progress: bool | None, epochs: int, start_epoch: int, n: int, batch_size: int) -> LoopProgress:
        """The progress reporter (rank 0 only) for epochs ``start_epoch + 1 .. epochs`` of ``n`` samples."""
        return LoopProgress(progress if self.rank == 0 else False, epochs=epochs, first_epoch=start_epoch + 1,
                            batches=ddp.count_batches(n, batch_size, self.world), desc=type(self.module).__name__)

    def params(self, epochs: int, batch_size: int, seed: int, n_train: int, val: Any) -> dict[str, Any]:
        """How the run is made, for ``History.params``."""
        return {"epochs": epochs, "batch_size": batch_size, "optimizer": type(self.opt).__name__,
                "lr": self.opt.param_groups[0].get("lr"), "seed": seed, "device": str(self.dev),
                "world_size": self.world, "n_train": n_train, "n_val": len(val[0]) if val is not None else 0}


@dataclass
class _AddOns:
    """What the bare loop calls besides training: each an object from its own module."""

    schedule: LrSchedule  # sets the epoch's learning rate (torchnn.schedule)
    probes: ProbeSet  # paused for validation, flushed into the history (torchnn.probes)
    checkpoints: EpochCheckpoints  # written every k epochs (torchnn.checkpoint)
    rollback: EpochRollback  # the divergence policy (backproplab.divergence, torchnn.replay)


def _train_epochs(run: _Run, data: tuple[torch.Tensor, torch.Tensor, Any], hist: History, epochs: range,
                  batch_size: int, eval_batch_size: int, addons: _AddOns, report: LoopProgress) -> None:
    """The bare loop: train ``epochs`` (0-based), appending each to ``hist``."""
    X, y, val = data
    for epoch in epochs:
        t0 = time.perf_counter()
        report.start_epoch(epoch + 1)
        lr = addons.schedule.start_epoch(epoch)
        addons.rollback.start_epoch()  # once per epoch (nothing per batch): what a NaN/inf loss goes back to
        try:
            train_scores = _train_epoch(run, X, y, batch_size, report, addons.probes)
        except Diverged as div:
            raise addons.rollback.fail(div, epoch + 1, hist) from None
        with addons.probes.paused():  # validation is not training: the probes do not record it
            val_scores = _evaluate(run.module, *val, eval_batch_size, run.loss_fn, run.dev) if val else None
        hist.append_epoch(train=train_scores, val=val_scores, lr=lr, epoch_time=time.perf_counter() - t0)
        addons.probes.flush_into(hist)
        report_epoch(report, hist)
        addons.checkpoints.end_epoch(epoch + 1, hist)


def _train_epoch(run: _Run, X: torch.Tensor, y: torch.Tensor, batch_size: int, report: LoopProgress,
                 probes: ProbeSet) -> tuple[float, float]:
    """One pass over a fresh seeded permutation; returns (mean loss, accuracy) over the samples used.
    The probes' ``after_backward`` runs after each backward pass, before the step.

    Raises :class:`~backproplab.divergence.Diverged` (with the first bad batch) when the epoch's loss
    sum, read once at the end, is not finite, or when the last batch's step made a parameter non-finite.
    """
    net, opt, loss_fn, dev, world = run.net, run.opt, run.loss_fn, run.dev, run.world
    nn.Module.train(net, True)
    n = len(X)
    perm = torch.randperm(n, generator=run.generator).to(dev, non_blocking=True)
    global_batch = batch_size * world
    loss_sum = torch.zeros((), dtype=torch.float32, device=dev)
    correct = torch.zeros((), dtype=torch.int64, device=dev)
    finite_batches = torch.zeros((), dtype=torch.int64, device=dev)  # batches before the loss went NaN/inf
    seen, classes = 0, True
    n_batches = math.ceil(n / global_batch)

    def running_loss() -> float:  # read only when the bar draws (a device sync every REFRESH_S)
        return float(loss_sum) / max(seen, 1)

    for idx, scale in ddp.epoch_batches(perm, n, global_batch, world, run.rank):
        xb = X.index_select(0, idx)
        yb = y.index_select(0, idx)
        with probes.paused() if scale == 0.0 else contextlib.nullcontext():  # a stand-in sample: not seen
            out = net(xb)
        batch_loss = loss_fn(out, yb)
        opt.zero_grad(set_to_none=True)
        (batch_loss * scale if scale != 1.0 else batch_loss).backward()
        probes.after_backward()
        opt.step()
        if scale == 0.0:  # a stand-in sample on a rank whose shard of a ragged last batch is empty
            finite_batches += torch.isfinite(loss_sum)
            report.step(1, running_loss)
            continue
        with torch.no_grad():
            detached = batch_loss.detach()
            loss_sum += detached * len(idx)
            hits = _correct(out, yb)
            classes = hits is not None
            if classes:
                correct += hits
            finite_batches += torch.isfinite(loss_sum)
        seen += len(idx)
        report.step(1, running_loss)
    totals = torch.stack([loss_sum.double(), correct.double(), torch.tensor(float(seen), dtype=torch.float64,
                                                                             device=dev)])
    total_loss, total_correct, total_seen = ddp.all_reduce_sum(totals).tolist()
    if not math.isfinite(total_loss):
        raise Diverged(int(finite_batches.item()) + 1, n_batches)
    if not bool(torch.stack([torch.isfinite(p).all() for p in net.parameters()]).all()):  # the last step's
        raise Diverged(n_batches, n_batches, parameters=True)  # update, which no loss of this epoch shows
    return total_loss / total_seen, total_correct / total_seen if classes else float("nan")


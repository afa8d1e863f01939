"""The per-epoch record of a training run, one class for both engines: :class:`History`, :func:`plot_history`.

``backproplab.scratch.fit`` and ``backproplab.torchnn.fit`` both return a :class:`History`, Keras
style: ``history["val_acc"]`` is a list with one float per epoch, under the same six keys
(:data:`METRICS`) whichever engine trained. What is not one number per epoch sits beside the
metrics as attributes, not keys: ``probes`` (records of the torch probes, one per batch) and
``params`` (how the run was made).

``to_dict`` / ``from_dict`` give and take plain lists and dicts: what the lessons keep in their
results and what torch checkpoints store. ``from_dict`` checks what it reads (lists of numbers of
agreeing lengths) and reads dicts that lack ``lr`` or ``epoch_time`` too (a torch checkpoint written
before ``lr`` was recorded; the course's ``NumpyANN.train`` dict, which has neither): those get NaN
(not known) for each epoch, so every list stays one row per epoch.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from backproplab.errors import InputError

__all__ = ["METRICS", "History", "plot_history", "report_epoch"]

#: The per-epoch metrics, the keys of every :class:`History`: mean training loss and accuracy over
#: the epoch's batches as they were trained; validation loss and accuracy after the epoch (empty
#: lists without validation data); the learning rate the epoch trained with; seconds per epoch.
METRICS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time")
#: Per-epoch metrics that :meth:`History.from_dict` fills with NaN when a dict lacks them.
_FILLED = ("lr", "epoch_time")


@dataclass
class History:
    """Per-epoch metrics of a ``fit`` run; behaves like the dict ``{metric: list of float}``.

    Keys are :data:`METRICS` (``h["val_acc"]``, ``h.keys()``, ``h.items()``, ``"lr" in h``,
    ``dict(h)``, ``h.get(key, default)``); each is also an attribute (``h.val_acc``). ``len(h)``
    and ``h.epochs`` are the number of epochs recorded (not the number of keys).

    Attributes
    ----------
    train_loss, train_acc, val_loss, val_acc, lr, epoch_time : list of float
        One value per epoch (``val_*`` empty without validation data; accuracies NaN for a loss
        without classes, e.g. ``half_mse`` on one output; ``lr`` NaN where the optimizer has none).
    probes : dict
        ``{probe name: {key: list of float}}`` from the torch probes, e.g.
        ``probes["grad_magnitudes"]["fc1"]`` holds one record per batch. Empty for the NumPy engine.
    params : dict
        How the run was made (epochs, batch size, optimizer, lr, seed, device, ...).
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    probes: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    # -- the dict face: the metrics --------------------------------------------------------------
    def __getitem__(self, key: str) -> list[float]:
        if key not in METRICS:
            raise KeyError(f"{key!r} is not a History metric; choose from {list(METRICS)}")
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in METRICS

    def __iter__(self):
        return iter(METRICS)

    def __len__(self) -> int:
        """The number of epochs recorded."""
        return len(self.train_loss)

    @property
    def epochs(self) -> int:
        """The number of epochs recorded."""
        return len(self.train_loss)

    def keys(self) -> list[str]:
        return list(METRICS)

    def values(self) -> list[list[float]]:
        return [getattr(self, k) for k in METRICS]

    def items(self) -> list[tuple[str, list[float]]]:
        return [(k, getattr(self, k)) for k in METRICS]

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in METRICS else default

    # -- recording ---------------------------------------------------------------------------------
    def append_epoch(self, *, train: tuple[float, float], val: tuple[float, float] | None, lr: float,
                     epoch_time: float) -> None:
        """Record one epoch: ``train`` and ``val`` are (loss, accuracy), ``val`` None without validation."""
        self.train_loss.append(float(train[0]))
        self.train_acc.append(float(train[1]))
        if val is not None:
            self.val_loss.append(float(val[0]))
            self.val_acc.append(float(val[1]))
        self.lr.append(float(lr))
        self.epoch_time.append(float(epoch_time))

    # -- plain data ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The metrics as lists of floats, plus ``probes`` and ``params`` (JSON-ready)."""
        out: dict[str, Any] = {k: [float(v) for v in getattr(self, k)] for k in METRICS}
        out["probes"] = {p: {k: list(v) for k, v in rec.items()} for p, rec in self.probes.items()}
        out["params"] = dict(self.params)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict`; missing keys are empty (a missing ``lr`` or ``epoch_time``: NaN per epoch).

        Raises InputError naming the key when a metric is not a list of numbers, the per-epoch lists
        disagree in length, ``params`` is not a dict or ``probes`` not a dict of dicts of lists.
        """
        if not isinstance(data, dict):
            raise InputError(f"history must be a dict of per-epoch lists, got {type(data).__name__}")
        metrics = {k: _numbers(data.get(k), k) for k in METRICS}
        rows = len(metrics["train_loss"])
        for key in _FILLED:
            if data.get(key) is None:
                metrics[key] = [math.nan] * rows  # not recorded by whoever wrote the dict: not known
        _check_lengths(metrics)
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise InputError(f"history['params'] must be a dict, got {type(params).__name__}")
        probes = data.get("probes") or {}
        if not isinstance(probes, dict) or not all(
                isinstance(rec, dict) and all(isinstance(v, list) for v in rec.values()) for rec in probes.values()):
            raise InputError("history['probes'] must map each probe name to a dict of lists of numbers")
        return cls(**metrics, probes={p: {k: list(v) for k, v in rec.items()} for p, rec in probes.items()},
                   params=dict(params))


def _numbers(values: Any, key: str) -> list[float]:
    if values is None:
        return []
    if not isinstance(values, list) or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        raise InputError(f"history[{key!r}] must be a list of numbers, got {type(values).__name__}")
    return [float(v) for v in values]


def _check_lengths(metrics: dict[str, list[float]]) -> None:
    """train_loss, train_acc, lr and epoch_time one per epoch; val_loss and val_acc as long as each other."""
    rows = len(metrics["train_loss"])
    lengths = {k: len(metrics[k]) for k in ("train_acc", "lr", "epoch_time")}
    n_val = (len(metrics["val_loss"]), len(metrics["val_acc"]))
    if any(n != rows for n in lengths.values()) or n_val[0] != n_val[1] or n_val[0] > rows:
        raise InputError(f"history lists disagree in length (train_loss {rows}, "
                         f"{', '.join(f'{k} {n}' for k, n in lengths.items())}, val_loss {n_val[0]}, "
                         f"val_acc {n_val[1]})")


def report_epoch(report: Any, history: History) -> None:
    """Hand the last recorded epoch to a :class:`~backproplab.progress.LoopProgress` (its ``end_epoch`` line)."""
    val = {"val_loss": history.val_loss[-1], "val_acc": history.val_acc[-1]} if history.val_loss else {}
    report.end_epoch(history.train_loss[-1], history.train_acc[-1], history.epoch_time[-1], **val)


def plot_history(history: History | dict[str, Any], title: str | None = None):
    """A Matplotlib figure with loss (left) and accuracy (right) per epoch, train and validation.

    ``history`` is a :class:`History` or its ``to_dict()``; a figure (object API, no pyplot state).
    """
    from matplotlib.figure import Figure  # lazy: importing the engines does not load Matplotlib
    from matplotlib.ticker import MaxNLocator

    if isinstance(history, dict):
        history = History.from_dict(history)
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = list(range(1, history.epochs + 1))
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, history[f"train_{key}"], marker="o", label=f"train {label}")
        val = history[f"val_{key}"]
        if val:
            ax.plot(epochs[:len(val)], val, marker="s", label=f"validation {label}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs: no tick at epoch 1.25
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig

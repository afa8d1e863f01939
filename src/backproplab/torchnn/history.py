"""The per-epoch record of a :func:`~backproplab.torchnn.train.fit` run and its plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["History", "plot_history"]


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


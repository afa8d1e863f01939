"""The JKU assignment 7 (neural networks and a glimpse at PyTorch): the contract of CONTRACTS.md part B.

* 3.2a,b :class:`ANN_sigmoid`, :class:`ANN_relu` (from :mod:`backproplab.torchnn`): 784→512→1024→512→d_out.
* 3.2c :func:`train` (one epoch; returns the per-batch mean |grad| of the three hidden layers' weights),
  :func:`test` (mean loss and accuracy) and :func:`train_and_test` (SGD with ``hyperparameters["lr"]``
  and ``["momentum"]`` for ``["epochs"]`` epochs at batch size 64, then a plot of the gradient
  magnitudes per layer over the batches).

The functions take any iterable of ``(data, target)`` batches: a plain ``torch.utils.data.DataLoader``
over our tensors (:func:`fashion_loaders` builds the course's pair), or a :class:`TensorLoader`, which
slices whole in-memory tensors with one permutation per epoch instead of collating 64 items per batch
(the vanishing lesson uses it; on one CPU thread a 12,000-image epoch of ``ANN_sigmoid`` took
3.29 s of CPU with it against 3.57 s through a DataLoader, and on a GPU it keeps the data there).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from backproplab.checks import is_real
from backproplab.errors import InputError
from backproplab.progress import LoopProgress
from backproplab.torchnn.models import ANN_relu, ANN_sigmoid
from backproplab.torchnn.probes import GradientMagnitudes

__all__ = ["ANN_sigmoid", "ANN_relu", "BATCH_SIZE", "TensorLoader", "GradientLists", "TrainTestResult",
           "fashion_loaders", "train", "test", "train_and_test", "plot_gradient_magnitudes"]

#: The course's batch size.
BATCH_SIZE = 64


class TensorLoader:
    """A DataLoader-like iterable over whole in-memory tensors: ``(data, target)`` batches by index.

    Parameters
    ----------
    X : tensor [N, ...], y : tensor [N]
    batch_size : int
    shuffle : bool
        A fresh permutation every epoch (iteration), drawn from a ``torch.Generator`` seeded with
        ``seed``; without it, consecutive slices.
    seed : int
    device : None, str or torch.device
        Where the tensors are moved once (and where the batches are sliced).

    ``len(loader)`` is the number of batches and ``loader.dataset`` a ``TensorDataset`` of the tensors,
    as with a DataLoader.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int = BATCH_SIZE, shuffle: bool = False,
                 seed: int = 0, device: str | torch.device | None = None):
        if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor) or X.ndim < 1 or y.ndim < 1:
            raise InputError(f"X and y must be tensors [N, ...] and [N], got {type(X).__name__} and {type(y).__name__}")
        if len(X) != len(y) or len(X) == 0:
            raise InputError(f"X and y must hold the same number N >= 1 of samples, got {len(X)} and {len(y)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.X = X if device is None else X.to(device)
        self.y = y if device is None else y.to(device)
        self.batch_size, self.shuffle = int(batch_size), bool(shuffle)
        self.generator = torch.Generator().manual_seed(int(seed))

    @property
    def dataset(self) -> torch.utils.data.TensorDataset:
        return torch.utils.data.TensorDataset(self.X, self.y)

    def __len__(self) -> int:
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        n = len(self.X)
        order = torch.randperm(n, generator=self.generator).to(self.X.device) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                yield self.X[start:start + self.batch_size], self.y[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                yield self.X.index_select(0, idx), self.y.index_select(0, idx)


def fashion_loaders(batch_size: int = BATCH_SIZE, root: str | None = None, seed: int | None = None
                    ) -> tuple[torch.utils.data.DataLoader, torch.utils.data.DataLoader]:
    """The course's pair of plain ``DataLoader``s over Fashion-MNIST (course-normalised [N, 1, 28, 28]).

    The training loader shuffles (seeded when ``seed`` is given); the test loader does not.
    """
    from torch.utils.data import DataLoader, TensorDataset

    from backproplab.data import fashion_mnist_tensors

    X, y = fashion_mnist_tensors("train", root=root)
    Xt, yt = fashion_mnist_tensors("test", root=root)
    generator = None if seed is None else torch.Generator().manual_seed(int(seed))
    return (DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, generator=generator),
            DataLoader(TensorDataset(Xt, yt), batch_size=1000, shuffle=False))


class GradientLists(list):
    """What :func:`train` returns: a list of three lists (per batch, mean |grad| of fc1, fc2, fc3 weights).

    Attributes: ``layers`` (the layers' names), ``loss`` and ``accuracy`` (the epoch's training batches).
    """

    def __init__(self, lists: Sequence[list[float]], layers: Sequence[str], loss: float, accuracy: float):
        super().__init__(list(v) for v in lists)
        self.layers, self.loss, self.accuracy = list(layers), float(loss), float(accuracy)


def _device_of(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    if first is None:
        raise InputError("model has no parameters to train")
    return first.device


def train(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer, epoch: int,
          *, verbose: bool = False, progress: bool | None = None) -> GradientLists:
    """One epoch: per batch zero_grad, cross-entropy of ``model(data)``, backward, step.

    Parameters
    ----------
    model : nn.Module with at least three Linear layers (the first three are recorded)
    train_loader : iterable of (data [B, ...], target [B] int64), e.g. a DataLoader or a TensorLoader
    optimizer : torch.optim.Optimizer over ``model.parameters()``
    epoch : int, the epoch's number (for the printed line)
    progress : bool or None
        A bar with batch and running loss (a line in a log); None: when the run asks for it
        (``reproduce``, the ``backproplab`` command; see :mod:`backproplab.progress`).

    Returns
    -------
    GradientLists
        Three lists, one float per batch: the mean |grad| of each hidden layer's weight after backward
        (recorded on the device by :class:`~backproplab.torchnn.GradientMagnitudes`, read once).
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise InputError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    device = _device_of(model)
    model.train()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen = 0
    batches = len(train_loader) if isinstance(train_loader, Sized) else None
    report = LoopProgress(progress, epochs=None, batches=batches, first_epoch=epoch, desc=type(model).__name__)
    with GradientMagnitudes(layers=3).attach(model) as probe, report:
        for data, target in train_loader:
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.cross_entropy(output, target)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * len(target)
            correct += (output.detach().argmax(dim=1) == target).sum()
            seen += len(target)
            report.step(1, lambda total=loss_sum, n=seen: float(total) / n)  # read only when the bar draws
        if seen:
            report.end_epoch(float(loss_sum) / seen, float(correct) / seen)
    if seen == 0:
        raise InputError("train_loader yielded no batches")
    records = probe.records
    out = GradientLists([records[n] for n in probe.layer_names], probe.layer_names,
                        float(loss_sum) / seen, float(correct) / seen)
    if verbose:
        print(f"Train epoch {epoch}: loss {out.loss:.4f}, accuracy {out.accuracy:.4f} ({seen} samples)")
    return out


@torch.no_grad()
def test(model: nn.Module, test_loader: Iterable, *, verbose: bool = False) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` over ``test_loader`` in eval mode (the mode is restored)."""
    device = _device_of(model)
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    seen = 0
    try:
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            loss_sum += F.cross_entropy(output, target, reduction="sum").double()
            correct += (output.argmax(dim=1) == target).sum()
            seen += len(target)
    finally:
        model.train(was_training)
    if seen == 0:
        raise InputError("test_loader yielded no batches")
    loss, acc = float(loss_sum) / seen, float(correct) / seen
    if verbose:
        print(f"Test set: average loss {loss:.4f}, accuracy {int(round(acc * seen))}/{seen} ({acc:.2%})")
    return loss, acc


@dataclass
class TrainTestResult:
    """What :func:`train_and_test` returns: every batch's gradient record and every epoch's numbers."""

    layers: list[str]
    grads: list[list[float]]
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    figure: Any = None


def _hyperparameters(hyperparameters: Any) -> tuple[float, float, int]:
    if not isinstance(hyperparameters, dict) or not {"lr", "momentum", "epochs"} <= set(hyperparameters):
        raise InputError(f"hyperparameters must be a dict with keys 'lr', 'momentum' and 'epochs', got "
                         f"{hyperparameters!r}")
    lr, momentum, epochs = (hyperparameters[k] for k in ("lr", "momentum", "epochs"))
    if not is_real(lr) or not 0 < lr < math.inf:
        raise InputError(f"hyperparameters['lr'] must be a positive number, got {lr!r}")
    if not is_real(momentum) or not 0 <= momentum < 1:
        raise InputError(f"hyperparameters['momentum'] must be a number in [0, 1), got {momentum!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        raise InputError(f"hyperparameters['epochs'] must be a positive integer, got {epochs!r}")
    return float(lr), float(momentum), int(epochs)


def train_and_test(model: nn.Module, hyperparameters: dict[str, Any], *, train_loader: Iterable | None = None,
                   test_loader: Iterable | None = None, plot: bool = True, verbose: bool = True) -> TrainTestResult:
    """``optim.SGD(model.parameters(), lr, momentum)``; per epoch :func:`train` then :func:`test`; a plot.

    Parameters
    ----------
    model : nn.Module (e.g. ``ANN_sigmoid(784, 10)``), on the device it should train on
    hyperparameters : dict with ``"lr"``, ``"momentum"``, ``"epochs"``
    train_loader, test_loader : iterables of (data, target); default :func:`fashion_loaders` (batch 64)
    plot : bool
        Draw the gradient magnitudes per layer over the batches (``result.figure``).
    verbose : bool
        Print a line per epoch for training and test, as the course's functions do.
    """
    lr, momentum, epochs = _hyperparameters(hyperparameters)
    if train_loader is None or test_loader is None:
        default_train, default_test = fashion_loaders()
        train_loader = default_train if train_loader is None else train_loader
        test_loader = default_test if test_loader is None else test_loader
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    result = TrainTestResult(layers=[], grads=[[], [], []])
    for epoch in range(1, epochs + 1):
        grads = train(model, train_loader, optimizer, epoch, verbose=verbose)
        result.layers = grads.layers
        result.grads = [old + new for old, new in zip(result.grads, grads, strict=False)]
        result.train_loss.append(grads.loss)
        result.train_acc.append(grads.accuracy)
        loss, acc = test(model, test_loader, verbose=verbose)
        result.test_loss.append(loss)
        result.test_acc.append(acc)
    if plot:
        result.figure = plot_gradient_magnitudes(
            result.grads, result.layers,
            title=f"{type(model).__name__}: SGD lr {lr:g} momentum {momentum:g}, {epochs} epoch(s); "
                  f"test accuracy {result.test_acc[-1]:.3f}")
    return result


def plot_gradient_magnitudes(grads: Sequence[Sequence[float]], layers: Sequence[str] | None = None,
                             ax: Any = None, title: str | None = None) -> Any:
    """Mean |grad| per batch, one line per layer, on a log scale; returns the Matplotlib figure."""
    from matplotlib.figure import Figure

    if ax is None:
        ax = Figure(figsize=(7, 4)).subplots()
    layers = list(layers) if layers is not None else [f"layer {i + 1}" for i in range(len(grads))]
    for name, g in zip(layers, grads, strict=True):
        g = np.asarray(g, dtype=np.float64)
        ax.plot(np.arange(1, len(g) + 1), g, lw=0.8, label=f"{name} (mean {g.mean():.2g})")
    ax.set(yscale="log", xlabel="batch", ylabel="mean |gradient| of the layer's weights")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return ax.figure

"""The timed workloads, one copy each: used by ``backproplab bench`` and the scripts in ``benchmarks/``.

Every function trains one epoch and returns a :class:`Run` (wall seconds of the training alone,
the running training accuracy where the engine reports one, and the trained model). Building the
model and its initial weights is outside the timed region unless a docstring says otherwise.

* :func:`scratch_mlp_epoch` / :func:`torch_mlp_epoch`: a ReLU MLP (default 784-512-1024-512-10),
  softmax cross-entropy, plain SGD, batch 64, float32, from the same He-initialised weights.
* :func:`numpy_ann_epoch` / :func:`sklearn_mlp_epoch`: ``NumpyANN(784, h, 10)`` vs scikit-learn's
  ``MLPClassifier((h,), batch_size=64, max_iter=1)`` (both timings include building the model).
* :func:`course_loop` / :func:`item_loop` / :func:`plain_loop` / :func:`fit_loop`: ``ANN_relu`` with
  per-batch gradient recording of the first three layers, SGD lr 0.01 momentum 0.5,
  ``torch.manual_seed(66)``. The course loop starts from the raw uint8 images and does torchvision's
  per-item transforms; the item loop has the same loop shape over an already normalised tensor.
* :func:`cnn_fit_epoch` / :func:`cnn_plain_epoch`: ``PyTorchCNN`` with Adam lr 1e-3.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from backproplab.data import iterate_minibatches
from backproplab.errors import InputError

__all__ = [
    "MLP_SIZES", "Run", "PerItemDataset", "CourseFashionMNIST", "scratch_mlp_epoch", "torch_mlp_epoch",
    "numpy_ann_epoch", "sklearn_mlp_epoch", "course_loop", "item_loop", "plain_loop", "fit_loop", "cnn_fit_epoch", "cnn_plain_epoch",
    "warm_up", "test_accuracy",
]

MLP_SIZES: tuple[int, ...] = (784, 512, 1024, 512, 10)
"""Layer sizes of the MLP compared against torch (the course's ANN_relu shape)."""

ANN_BATCH, ANN_LR, ANN_MOMENTUM, ANN_SEED = 64, 0.01, 0.5, 66


@dataclass
class Run:
    """One timed epoch.

    Attributes
    ----------
    seconds : wall-clock seconds of the training (``time.perf_counter``)
    train_acc : running training accuracy over the epoch (NaN where the engine reports none)
    model : the trained model (a scratch ``Network``, ``NumpyANN``, ``MLPClassifier`` or ``nn.Module``)
    grads : per recorded layer, the mean |grad| after every batch (ANN_relu loops only)
    """

    seconds: float
    train_acc: float
    model: Any
    grads: list[list[float]] | None = field(default=None)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------- NumPy engine vs torch
def scratch_mlp_epoch(X: np.ndarray, y: np.ndarray, *, sizes: Sequence[int] = MLP_SIZES, batch_size: int = 64,
                      lr: float = 0.01, threads: int | None = None, seed: int = 0) -> Run:
    """One epoch of ``backproplab.scratch`` on ``X [N, sizes[0]]`` float32, ``y [N]`` int labels."""
    from backproplab.scratch import SGD, Network, fit

    net = Network.from_sizes(list(sizes), "relu", init="he", seed=seed, dtype=np.float32)
    start = time.perf_counter()
    h = fit(net, X, y, epochs=1, batch_size=batch_size, optimizer=SGD(lr), seed=seed, progress=False,
            blas_threads=threads)
    return Run(time.perf_counter() - start, float(h["train_acc"][0]), net)


def torch_mlp_epoch(X: torch.Tensor, y: torch.Tensor, *, sizes: Sequence[int] = MLP_SIZES, batch_size: int = 64,
                    lr: float = 0.01, threads: int | None = None, seed: int = 0) -> Run:
    """The same epoch as :func:`scratch_mlp_epoch` in torch (CPU), from the very same He weights.

    A fresh seeded permutation, forward, cross-entropy, backward, one SGD step per batch, loss and
    accuracy accumulated on the side. ``threads`` sets ``torch.set_num_threads`` (None: unchanged).
    """
    from backproplab.scratch import Network

    if threads is not None:
        torch.set_num_threads(threads)
    sizes = list(sizes)
    g = torch.Generator().manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    # start from the very weights our side starts from (He init, seed ``seed``)
    init = Network.from_sizes(sizes, "relu", init="he", seed=seed, dtype=np.float32)
    with torch.no_grad():
        for lin, (W, b, _) in zip((m for m in model if isinstance(m, torch.nn.Linear)), init.as_params(),
                                  strict=True):
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.reshape(-1)))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    start = time.perf_counter()
    total = torch.zeros(())
    correct = torch.zeros((), dtype=torch.long)
    for xb, yb in iterate_minibatches(X, y, batch_size, seed=g):
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            total += loss.detach() * xb.shape[0]
            correct += (out.argmax(1) == yb).sum()
    acc = float(correct) / X.shape[0]
    return Run(time.perf_counter() - start, acc, model)


# --------------------------------------------------------------------------- NumpyANN vs scikit-learn
def numpy_ann_epoch(X: np.ndarray, y: np.ndarray, *, hidden: int = 128, dtype: Any = np.float32,
                    batch_size: int = 64, seed: int = 0) -> Run:
    """``NumpyANN(784, hidden, 10, lr=0.1)`` trained one epoch; the time includes building it."""
    from backproplab.scratch import NumpyANN

    start = time.perf_counter()
    model = NumpyANN(X.shape[1], hidden, 10, lr=0.1, seed=seed, dtype=dtype)
    h = model.train(X, y, epochs=1, batch_size=batch_size)
    return Run(time.perf_counter() - start, float(h["train_acc"][0]), model)


def sklearn_mlp_epoch(X: np.ndarray, y: np.ndarray, *, hidden: int = 128, batch_size: int = 64,
                      seed: int = 0) -> Run:
    """``MLPClassifier((hidden,), batch_size, max_iter=1)`` fitted once; the time includes building it.

    scikit-learn reports no running training accuracy: ``train_acc`` is NaN.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    start = time.perf_counter()
    model = MLPClassifier(hidden_layer_sizes=(hidden,), batch_size=batch_size, max_iter=1, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return Run(time.perf_counter() - start, float("nan"), model)


# --------------------------------------------------------------------------- ANN_relu: three loops
class PerItemDataset(Dataset):
    """One (image, label) pair per ``__getitem__`` from an already normalised tensor, collated by the
    DataLoader: the course's loop shape without its per-item image transforms."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor):
        self.X, self.y = X, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        return self.X[i], self.y[i]


class CourseFashionMNIST(Dataset):
    """What the course's loop iterates: torchvision's ``FashionMNIST`` with
    ``transform=Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])``, step for step.

    torchvision is not a dependency here (it does not install beside this torch build), so its
    per-item work is written out: the uint8 image [28, 28] becomes a PIL image, ``ToTensor`` turns
    it back into a float tensor [1, 28, 28] in [0, 1], ``Normalize`` checks the std and subtracts
    the mean and divides by the std in place, and the label becomes a Python ``int``. The item
    equals ``fashion_mnist_tensors``'s normalised image (a test checks it).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: float = 0.1307, std: float = 0.3081):
        if images.dtype != torch.uint8 or images.ndim != 3:
            raise InputError(f"images must be uint8 [N, H, W] as the dataset stores them, got "
                             f"{images.dtype} {tuple(images.shape)}")
        self.data, self.targets = images, labels
        self.mean, self.std = (mean,), (std,)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        img, target = self.data[i], int(self.targets[i])
        pic = Image.fromarray(img.numpy())  # torchvision: "to return a PIL Image" like other datasets
        # ToTensor, PIL branch
        x = torch.from_numpy(np.array(pic, np.uint8, copy=True))
        x = x.view(pic.size[1], pic.size[0], len(pic.getbands())).permute((2, 0, 1)).contiguous()
        x = x.to(dtype=torch.get_default_dtype()).div(255)
        # Normalize
        mean = torch.as_tensor(self.mean, dtype=x.dtype, device=x.device)
        std = torch.as_tensor(self.std, dtype=x.dtype, device=x.device)
        if (std == 0).any():
            raise ValueError("std evaluated to zero")
        x.sub_(mean.view(-1, 1, 1)).div_(std.view(-1, 1, 1))
        return x, target


def _dataloader_loop(dataset: Dataset, device: torch.device, batch_size: int) -> Run:
    """``ANN_relu`` over ``DataLoader(dataset, shuffle=True)``, ``.item()`` on three mean |grad| per batch."""
    from backproplab.torchnn import ANN_relu

    torch.manual_seed(ANN_SEED)  # the course's contract: the seed before construction gives its weights
    model = ANN_relu(784, 10).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=ANN_LR, momentum=ANN_MOMENTUM)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    grads: list[list[float]] = [[], [], []]
    _sync(device)
    t0 = time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        for i, layer in enumerate((model.fc1, model.fc2, model.fc3)):
            grads[i].append(layer.weight.grad.abs().mean().item())
        opt.step()
    _sync(device)
    return Run(time.perf_counter() - t0, float("nan"), model, grads)


def course_loop(images: torch.Tensor, y: torch.Tensor, device: torch.device, *,
                batch_size: int = ANN_BATCH) -> Run:
    """The course's loop: :class:`CourseFashionMNIST` (per-item PIL, ToTensor, Normalize) in a
    shuffling ``DataLoader``, ``.item()`` on three mean |grad| after every batch.

    ``images`` are the raw uint8 images [N, 28, 28] (as ``load_fashion_mnist`` returns them).
    """
    return _dataloader_loop(CourseFashionMNIST(images, y), device, batch_size)


def item_loop(X: torch.Tensor, y: torch.Tensor, device: torch.device, *, batch_size: int = ANN_BATCH) -> Run:
    """The course's loop shape over an already normalised tensor ``X`` [N, 1, 28, 28]: a per-item
    ``Dataset`` and ``DataLoader`` and ``.item()`` per layer per batch, but no per-item transforms."""
    return _dataloader_loop(PerItemDataset(X, y), device, batch_size)


def plain_loop(X: torch.Tensor, y: torch.Tensor, device: torch.device, *, batch_size: int = ANN_BATCH) -> Run:
    """The whole dataset as one tensor, a seeded permutation, slices; mean |grad| kept on the device."""
    from backproplab.torchnn import ANN_relu

    torch.manual_seed(ANN_SEED)
    model = ANN_relu(784, 10).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=ANN_LR, momentum=ANN_MOMENTUM)
    Xd, yd = X.to(device), y.to(device)
    gen = torch.Generator().manual_seed(ANN_SEED)
    grads: list[list] = [[], [], []]
    _sync(device)
    t0 = time.perf_counter()
    for xb, yb in iterate_minibatches(Xd, yd, batch_size, seed=gen):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        for i, layer in enumerate((model.fc1, model.fc2, model.fc3)):
            grads[i].append(layer.weight.grad.abs().mean())
        opt.step()
    out = [torch.stack(g).tolist() for g in grads]
    _sync(device)
    return Run(time.perf_counter() - t0, float("nan"), model, out)


def fit_loop(X: torch.Tensor, y: torch.Tensor, device: torch.device, *, batch_size: int = ANN_BATCH) -> Run:
    """``backproplab.torchnn.fit`` with ``GradientMagnitudes(layers=3)``."""
    from backproplab.torchnn import ANN_relu, GradientMagnitudes, fit

    torch.manual_seed(ANN_SEED)
    model = ANN_relu(784, 10)
    probe = GradientMagnitudes(layers=3)
    _sync(device)
    t0 = time.perf_counter()
    hist = fit(model, (X, y), epochs=1, batch_size=batch_size, lr=ANN_LR, momentum=ANN_MOMENTUM, seed=ANN_SEED,
               device=device, probes=[probe], progress=False)
    _sync(device)
    elapsed = time.perf_counter() - t0
    grads = [list(hist.probes["grad_magnitudes"][k]) for k in ("fc1", "fc2", "fc3")]
    return Run(elapsed, float(hist.train_acc[0]), model, grads)


# --------------------------------------------------------------------------- PyTorchCNN
def cnn_fit_epoch(X: torch.Tensor, y: torch.Tensor, device: torch.device, *, batch_size: int = 64,
                  seed: int = 0) -> Run:
    """``PyTorchCNN(seed=seed)`` trained one epoch by ``fit`` with Adam lr 1e-3 (the course's)."""
    from backproplab.torchnn import PyTorchCNN, fit

    model = PyTorchCNN(seed=seed)
    _sync(device)
    t0 = time.perf_counter()
    hist = fit(model, (X, y), epochs=1, batch_size=batch_size, optimizer="adam", lr=1e-3, seed=seed,
               device=device, progress=False)
    _sync(device)
    return Run(time.perf_counter() - t0, float(hist.train_acc[0]), model)


def cnn_plain_epoch(X: torch.Tensor, y: torch.Tensor, device: torch.device, *, batch_size: int = 64,
                    seed: int = 0) -> Run:
    """The same epoch as :func:`cnn_fit_epoch` written as a plain tensor loop (``torch.optim.Adam``)."""
    from backproplab.torchnn import PyTorchCNN

    model = PyTorchCNN(seed=seed).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xd, yd = X.to(device), y.to(device)
    gen = torch.Generator().manual_seed(seed)
    correct = torch.zeros((), dtype=torch.long, device=device)
    nn_train = torch.nn.Module.train
    nn_train(model, True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # dropout draws from the (forked) global generator, as in fit
        _sync(device)
        t0 = time.perf_counter()
        for xb, yb in iterate_minibatches(Xd, yd, batch_size, seed=gen):
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            F.cross_entropy(out, yb).backward()
            opt.step()
            with torch.no_grad():
                correct += (out.argmax(1) == yb).sum()
        acc = float(correct) / len(Xd)
        _sync(device)
        elapsed = time.perf_counter() - t0
    return Run(elapsed, acc, model)


# --------------------------------------------------------------------------- helpers
def warm_up(device: torch.device) -> None:
    """One tiny ``fit`` so the first timed run does not pay imports (torch._dynamo) and first allocations."""
    from backproplab.torchnn import ANN_relu, fit

    X = torch.zeros(256, 1, 28, 28)
    y = torch.zeros(256, dtype=torch.long)
    fit(ANN_relu(784, 10), (X, y), epochs=1, batch_size=ANN_BATCH, device=device, progress=False)


def test_accuracy(model: Any, X: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Accuracy of any of the models above on ``(X, y)`` (inputs as the model was trained on)."""
    from backproplab.scratch import Network, NumpyANN

    if isinstance(model, Network):
        return float(np.mean(model.predict_classes(X) == np.asarray(y)))
    if isinstance(model, NumpyANN):
        return model.accuracy(X, y)
    if isinstance(model, torch.nn.Module):
        from backproplab.torchnn import evaluate

        Xt = X if isinstance(X, torch.Tensor) else torch.from_numpy(np.asarray(X))
        yt = y if isinstance(y, torch.Tensor) else torch.from_numpy(np.asarray(y))
        return float(evaluate(model, Xt, yt)[1])
    return float(model.score(X, y))  # a scikit-learn estimator

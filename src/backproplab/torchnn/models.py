"""The course's PyTorch models, and a general MLP.

Shapes: image models take ``[N, 1, 28, 28]`` (or anything ``[N, ...]`` that flattens to ``d_in``)
and return logits ``[N, classes]``.

* :class:`ANN_sigmoid`, :class:`ANN_relu`: four ``nn.Linear`` created in the order
  784→512→1024→512→d_out with PyTorch's default initialisation, so ``torch.manual_seed(66)`` before
  construction reproduces the course's weights and outputs exactly.
* :class:`PyTorchANN`: one hidden ReLU layer in ``self.model`` with the course's estimator methods
  (``train(X_train, y_train, X_val, y_val, ...)``, ``predict``, ``plot_train_val_metrics``,
  ``report_my_judgement``).
* :class:`PyTorchCNN`: four conv blocks (conv3x3 p1 → ReLU → maxpool2 → BatchNorm → Dropout 0.3;
  32, 64, 128, 256 channels), Flatten, Linear 256→128, ReLU, Linear 128→classes.
* :class:`MLP`: any stack of Linear layers with one activation between them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from backproplab.checks import positive_int
from backproplab.errors import InputError
from backproplab.torchnn.inputs import check_inputs

__all__ = ["ANN_sigmoid", "ANN_relu", "PyTorchANN", "PyTorchCNN", "MLP", "ACTIVATIONS", "seeded_init"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def _activation(activation: str | type[nn.Module] | nn.Module) -> type[nn.Module]:
    if isinstance(activation, str):
        key = activation.lower()
        if key not in ACTIVATIONS:
            raise InputError(f"activation must be one of {sorted(ACTIVATIONS)} or an nn.Module class, "
                             f"got {activation!r}")
        return ACTIVATIONS[key]
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation
    if isinstance(activation, nn.Module):
        return type(activation)
    raise InputError(f"activation must be a name or an nn.Module class, got {activation!r}")


class seeded_init:
    """Context manager: ``torch.manual_seed(seed)`` inside, global RNG state restored on exit.

    Constructing a model inside ``with seeded_init(seed):`` gives exactly the weights the course got
    with ``torch.manual_seed(seed)`` before construction, without changing the caller's RNG stream.
    ``seed=None`` leaves the global RNG alone (construction then consumes it as usual).
    """

    def __init__(self, seed: int | None):
        self.seed = seed
        self._fork = None

    def __enter__(self) -> seeded_init:
        if self.seed is not None:
            self._fork = torch.random.fork_rng(devices=[])
            self._fork.__enter__()
            torch.manual_seed(int(self.seed))
        return self

    def __exit__(self, *exc) -> None:
        if self._fork is not None:
            self._fork.__exit__(*exc)
            self._fork = None


class _FourLayerANN(nn.Module):
    """784→512→1024→512→d_out with one activation after each hidden layer.

    The four ``nn.Linear`` are created first and in order (``fc1`` … ``fc4``); the activation modules
    ``act1`` … ``act3`` have no parameters, so they do not change what a seeded construction draws.
    Separate activation modules let hooks (e.g. :class:`~backproplab.torchnn.probes.DeadUnits`) see
    each hidden layer's output.
    """

    activation: type[nn.Module] = nn.ReLU

    def __init__(self, d_in: int = 784, d_out: int = 10):
        super().__init__()
        d_in = positive_int("d_in", d_in)
        d_out = positive_int("d_out", d_out)
        self.d_in, self.d_out = d_in, d_out
        self.fc1 = nn.Linear(d_in, 512)
        self.fc2 = nn.Linear(512, 1024)
        self.fc3 = nn.Linear(1024, 512)
        self.fc4 = nn.Linear(512, d_out)
        self.act1 = self.activation()
        self.act2 = self.activation()
        self.act3 = self.activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, ...]`` flattening to ``[N, d_in]`` → logits ``[N, d_out]``."""
        x = x.reshape(x.shape[0], -1)
        x = self.act1(self.fc1(x))
        x = self.act2(self.fc2(x))
        x = self.act3(self.fc3(x))
        return self.fc4(x)

    def linear_layers(self) -> list[nn.Linear]:
        """The four Linear layers in order (the course records gradients of the first three)."""
        return [self.fc1, self.fc2, self.fc3, self.fc4]


class ANN_sigmoid(_FourLayerANN):
    """The course's deep sigmoid network: gradients vanish toward the input layer.

    Parameters
    ----------
    d_in : int
        Input features after flattening (784 for 28×28 images).
    d_out : int
        Number of classes.
    """

    activation = nn.Sigmoid


class ANN_relu(_FourLayerANN):
    """The course's deep ReLU network (same layers as :class:`ANN_sigmoid`, ReLU activations)."""

    activation = nn.ReLU


def _as_tensor(X: Any, dtype: torch.dtype, name: str) -> torch.Tensor:
    if isinstance(X, torch.Tensor):
        return X.to(dtype) if X.dtype != dtype else X
    try:
        return torch.as_tensor(np.asarray(X), dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be an array or tensor, got {type(X).__name__}") from exc


def _as_labels(y: Any, name: str, classes: int) -> torch.Tensor:
    """Class indices ``[N]`` from indices or one-hot/probability rows ``[N, classes]``. Another 2-D shape is
    refused: a column of indices ``[N, 1]`` was arg-maxed into all zeros (a history of 0.99 accuracy)."""
    t = y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))
    if t.ndim == 2 and t.shape[1] == classes:
        t = t.argmax(dim=1)
    if t.ndim != 1:
        raise InputError(f"{name} must be class indices [N] or one-hot rows [N, {classes}], got shape "
                         f"{tuple(t.shape)}" + (f" (a column of indices: pass {name}.reshape(-1))"
                                                if t.ndim == 2 and t.shape[1] == 1 else ""))
    if t.is_floating_point():
        if not torch.equal(t, t.round()):
            raise InputError(f"{name} must hold integer class indices, got non-integer values")
    return t.to(torch.int64)


class _CourseEstimator:
    """The course's estimator methods on an ``nn.Module`` (CONTRACTS.md A2.3-A2.7, A3.3).

    ``train(X_train, y_train, X_val, y_val, epochs, batch_size, learning_rate)`` trains with
    ``nn.CrossEntropyLoss`` and ``torch.optim.SGD(self.model.parameters(), lr=learning_rate)``.
    The name hides ``nn.Module.train(mode)``; that keeps working: ``model.train()``,
    ``model.train(True)``, ``model.train(False)``, ``model.train(mode=...)`` and ``model.eval()``
    (which calls ``self.train(False)``) switch modes as usual.
    """

    history = None

    def _input(self, X: Any) -> torch.Tensor:
        return _as_tensor(X, torch.float32, "X")

    def _labels(self, y: Any, name: str) -> torch.Tensor:
        classes = self._n_classes
        t = _as_labels(y, name, classes)
        if len(t) and (int(t.min()) < 0 or int(t.max()) >= classes):
            raise InputError(f"{name} must hold class indices in [0, {classes - 1}], got values from "
                             f"{int(t.min())} to {int(t.max())}")
        return t

    def train(self, X_train: Any = True, y_train: Any = None, X_val: Any = None, y_val: Any = None,
              epochs: int = 10, batch_size: int = 64, learning_rate: float = 0.01, *,
              optimizer: Any = None, seed: int | None = None, device: str | torch.device = "auto",
              progress: bool | None = None, probes: Sequence[Any] = (), **fit_kwargs: Any):
        """Train on ``(X_train, y_train)``, validating on ``(X_val, y_val)`` after each epoch; or set the mode.

        Per minibatch: ``zero_grad``, forward, ``nn.CrossEntropyLoss``, ``backward``, ``step``
        (the loop of :func:`backproplab.torchnn.train.fit`: batches in a seeded random order,
        divergence stops with a NonFiniteError). Per epoch the train/validation loss and accuracy
        are recorded in ``self.history`` (what :meth:`plot_train_val_metrics` and
        :meth:`report_my_judgement` read).

        Parameters
        ----------
        X_train : array or tensor ``[N, ...]``, or bool
            Training inputs. A bool (or no argument) means ``nn.Module.train(mode)``.
        y_train : class indices ``[N]`` (or one-hot ``[N, C]``)
        X_val, y_val : optional, as above
        epochs, batch_size : int
        learning_rate : float
            The SGD step size (default 0.01).
        optimizer : opt-in beyond the contract
            ``None`` (default): ``torch.optim.SGD(self.model.parameters(), lr=learning_rate)``.
            ``"adam"`` (or another name, an Optimizer, a factory) as in
            :func:`~backproplab.torchnn.train.fit`, at ``learning_rate``.
        seed : int, optional
            Seed of the batch order (default: the model's construction seed).
        progress : bool, optional
            As in :func:`~backproplab.torchnn.train.fit`; None (default): a bar or one line per
            epoch only when the run asks for it (``reproduce``, the CLI).
        **fit_kwargs : more :func:`~backproplab.torchnn.train.fit` options (``lr_schedule``,
            ``checkpoint`` ...)

        Returns
        -------
        self (after training, with ``self.history`` set); ``nn.Module.train``'s return in mode use.
        """
        if isinstance(X_train, bool):
            if y_train is not None or X_val is not None:
                raise InputError("train(mode) takes one bool; to train pass X_train, y_train arrays")
            mode = fit_kwargs.pop("mode", X_train)
            if fit_kwargs:
                raise InputError(f"train(mode) takes only mode, got also {sorted(fit_kwargs)}")
            return nn.Module.train(self, mode)
        if y_train is None:
            raise InputError("y_train is required when training (got None)")
        for alias in ("lr", "momentum"):
            if alias in fit_kwargs:
                raise InputError(f"{alias}= is not an argument of train: the step size is learning_rate=, "
                                 "and another optimizer is passed as optimizer=")
        from backproplab.torchnn.train import fit

        Xt, yt = self._input(X_train), self._labels(y_train, "y_train")
        val = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise InputError("X_val and y_val must be given together")
            val = (self._input(X_val), self._labels(y_val, "y_val"))
        if optimizer is None:
            optimizer = torch.optim.SGD(self.model.parameters(), lr=_learning_rate(learning_rate))
        self.history = fit(self, (Xt, yt), val, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                           lr=_learning_rate(learning_rate), loss=nn.CrossEntropyLoss(),
                           seed=seed if seed is not None else (self.seed if self.seed is not None else 0),
                           device=device, progress=progress, probes=probes, **fit_kwargs)
        return self

    @torch.no_grad()
    def predict_proba(self, X: Any, batch_size: int = 4096) -> np.ndarray:
        """Class probabilities ``[N, C]`` (softmax of the logits), as a NumPy array.

        ``X`` (N >= 1 samples) is checked as ``train`` checks it: finite, of the model's input shape.
        """
        Xt = self._input(X)
        if Xt.ndim < 2 or len(Xt) == 0:
            raise InputError(f"X must be a batch [N, ...] of N >= 1 samples, got shape {tuple(Xt.shape)}")
        check_inputs(self, Xt, "X")  # NaN images were all class 0: accuracy 1.0 where the labels were 0
        was_training = self.training
        nn.Module.train(self, False)
        try:
            device = next(self.parameters()).device
            out = [torch.softmax(self(Xt[i:i + batch_size].to(device)), dim=1).cpu()
                   for i in range(0, len(Xt), batch_size)]
        finally:
            nn.Module.train(self, was_training)
        return torch.cat(out).numpy()

    def predict(self, X: Any, batch_size: int = 4096) -> np.ndarray:
        """Integer labels ``[N]`` (int64 NumPy array): the argmax of ``forward(X)`` over classes."""
        return self.predict_proba(X, batch_size).argmax(axis=1).astype(np.int64)

    def accuracy(self, X: Any, y: Any) -> float:
        """Fraction of ``X`` whose predicted class equals ``y`` (class indices ``[N]`` or one-hot rows)."""
        labels = self._labels(y, "y").numpy()
        predicted = self.predict(X)
        if len(labels) != len(predicted):
            raise InputError(f"y must have one label per row of X ({len(predicted)}), got {len(labels)}")
        return float((predicted == labels).mean())

    def _require_history(self):
        if self.history is None:
            raise InputError("the model has no training history yet: call train(X_train, y_train, ...) first")
        return self.history

    def plot_train_val_metrics(self, path: str | os.PathLike | None = None):
        """One figure, two panels side by side: loss and accuracy per epoch, train and validation.

        With ``path`` it is also saved there (the course's run saves
        ``pytorch_ann_train_val_metrics.png``). Returns the Matplotlib figure.
        """
        from backproplab.torchnn.train import plot_history

        fig = plot_history(self._require_history(), title=type(self).__name__)
        if path is not None:
            from backproplab.files import atomic_open

            with atomic_open(Path(path), "wb") as handle:
                fig.savefig(handle, format="png", dpi=110, bbox_inches="tight")
        return fig

    def judge(self):
        """The :class:`~backproplab.torchnn.diagnose.Verdict` on the recorded curves, with its reasons."""
        from backproplab.torchnn.diagnose import diagnose

        return diagnose(self._require_history())

    def report_my_judgement(self, verbose: bool = True) -> str:
        """Exactly one of ``"underfitting"``, ``"overfitting"``, ``"generalizing"``, from the curves.

        The rule is :func:`~backproplab.torchnn.diagnose.diagnose` read in the course's words by
        :func:`~backproplab.torchnn.diagnose.judgement`; with ``verbose`` the reasons are printed
        (one line). :meth:`judge` returns them as a Verdict.
        """
        from backproplab.torchnn.diagnose import judgement

        verdict = self.judge()
        word = judgement(verdict)
        if verbose:
            print(f"{word} ({verdict})")
        return word


def _manual_seed(seed: Any) -> int | None:
    """``torch.manual_seed(seed)`` for an integer seed (the contract's A2.1); None leaves the RNG alone."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
        raise InputError(f"seed must be an integer in [0, 2**64) or None, got {seed!r}")
    torch.manual_seed(int(seed))
    return int(seed)


def _learning_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not (
            np.isfinite(value) and value > 0):
        raise InputError(f"learning_rate must be a positive finite number, got {value!r}")
    return float(value)


class PyTorchANN(_CourseEstimator, nn.Module):
    """One hidden ReLU layer: ``self.model = Sequential(Linear(in, hidden), ReLU, Linear(hidden, out))``.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
    seed : int or None
        ``torch.manual_seed(seed)`` is called, then the layers are drawn (the contract: the global
        RNG stays seeded afterwards, as after the course's own file); also the default seed of the
        batch order in :meth:`train`. ``None`` draws from the global RNG as it is.

    Shapes: ``forward`` takes ``[N, ...]`` flattening to ``[N, input_size]``, returns logits
    ``[N, output_size]``.
    """

    def __init__(self, input_size: int = 784, hidden_size: int = 128, output_size: int = 10,
                 seed: int | None = 0):
        nn.Module.__init__(self)
        self.input_size = positive_int("input_size", input_size)
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.output_size = positive_int("output_size", output_size)
        self.seed = _manual_seed(seed)
        self.model = nn.Sequential(
            nn.Linear(self.input_size, self.hidden_size),
            nn.ReLU(),
            nn.Linear(self.hidden_size, self.output_size),
        )

    @property
    def _n_classes(self) -> int:
        return self.output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``self.model(x)``: logits ``[N, output_size]`` (``x`` flattened to ``[N, input_size]`` first)."""
        return self.model(x.reshape(x.shape[0], -1))


class PyTorchCNN(_CourseEstimator, nn.Module):
    """The course's CNN for 28×28 grey images (CONTRACTS.md A3), all in one ``self.model``.

    ``self.model = nn.Sequential(`` four blocks ``Conv2d(3×3, stride 1, padding 1) → ReLU →
    MaxPool2d(2) → BatchNorm2d → Dropout(0.3)`` with 1→32→64→128→256 channels (28→14→7→3→1
    pixels), then ``Flatten, Linear(256, 128), ReLU, Linear(128, num_classes))``: 422,986
    parameters for 10 classes. Input ``[N, 1, 28, 28]`` (``[N, 784]`` is reshaped), output logits
    ``[N, num_classes]``. ``features`` and ``classifier`` are views of the two parts of
    ``self.model`` (the same modules, not copies). Training, prediction and the judgement are
    those of :class:`PyTorchANN`.
    """

    channels = (32, 64, 128, 256)
    #: modules per conv block (Conv2d, ReLU, MaxPool2d, BatchNorm2d, Dropout)
    _block = 5

    def __init__(self, num_classes: int = 10, seed: int | None = 0, in_channels: int = 1,
                 dropout: float = 0.3):
        nn.Module.__init__(self)
        self.num_classes = positive_int("num_classes", num_classes)
        in_channels = positive_int("in_channels", in_channels)
        if not 0.0 <= dropout < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {dropout!r}")
        self.seed = _manual_seed(seed)
        layers: list[nn.Module] = []
        c_in = in_channels
        for c_out in self.channels:
            layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2), nn.BatchNorm2d(c_out), nn.Dropout(dropout)]
            c_in = c_out
        layers += [nn.Flatten(), nn.Linear(self.channels[-1], 128), nn.ReLU(), nn.Linear(128, self.num_classes)]
        self.model = nn.Sequential(*layers)

    @property
    def _n_classes(self) -> int:
        return self.num_classes

    @property
    def features(self) -> nn.Sequential:
        """The four conv blocks (``self.model[:20]``)."""
        return self.model[:self._block * len(self.channels)]

    @property
    def classifier(self) -> nn.Sequential:
        """Flatten, Linear(256, 128), ReLU, Linear(128, num_classes) (``self.model[20:]``)."""
        return self.model[self._block * len(self.channels):]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``self.model(x)``: ``x`` ``[N, 1, 28, 28]`` (or ``[N, 784]``) → logits ``[N, num_classes]``."""
        if x.ndim == 2:
            side = int(round(x.shape[1] ** 0.5))
            x = x.reshape(x.shape[0], 1, side, side)
        return self.model(x)


class MLP(nn.Module):
    """A stack of Linear layers with ``activation`` between them (none after the last).

    Parameters
    ----------
    sizes : sequence of int, length ≥ 2
        ``[d_in, hidden_1, ..., d_out]``.
    activation : str or nn.Module class
        One of ``relu, sigmoid, tanh, leaky_relu, gelu, identity``, or a module class.

    Shapes: ``[N, ...]`` flattening to ``[N, sizes[0]]`` → ``[N, sizes[-1]]``. Layers are in
    ``self.layers`` (``nn.Sequential``).
    """

    def __init__(self, sizes: Sequence[int], activation: str | type[nn.Module] = "relu"):
        super().__init__()
        sizes = list(sizes) if not isinstance(sizes, (str, bytes)) else []
        if len(sizes) < 2:
            raise InputError(f"sizes must list at least an input and an output size, got {sizes!r}")
        sizes = [positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        act = _activation(activation)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(act())
        self.sizes = sizes
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.reshape(x.shape[0], -1))

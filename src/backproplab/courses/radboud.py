"""The Radboud Deep Learning assignment 1 in PyTorch tensors: the contract of CONTRACTS.md part C.

Every name is the one the course's notebook uses, with the course's argument order:

* 1.1 gradient descent on f(x, y) = x² + y² + x(y + 2) + cos 3x: :func:`optimize_f` (``decay`` for the
  schedule ηₜ = η₀·dᵗ of 1.1g,h; :func:`descend_f` for any list of step sizes);
* 1.3 :func:`sigmoid`, :func:`relu`, :func:`bce_loss` (truth first; finite, and 0 on perfect predictions);
* 1.4 :func:`model1`: σ(x·w + b);
* 1.5 :func:`network` and :func:`make_layer` (w ~ N(0, 2/d1): He scaling by the *output* width, which the
  course's assert ``make_layer(100000, 2, ...)`` std ≈ 1 requires);
* 1.6 :func:`enable_gradients`, :func:`add_gradients` (θ ← θ + step·∇θ: descent passes ``-learning_rate``),
  :func:`clear_gradients`, :func:`evaluate`, :func:`train_epoch`, :func:`fit`, and :func:`digits_tensors`
  (scikit-learn's digits as the course's binary task, 898 training and 899 validation samples).

``params`` is the course's list of layers ``[(w [d_in, d_out], b [d_out], activation), ...]``.
The gradient-descent part reuses the lab's own code: the course's function and its closed-form gradient
(:mod:`backproplab.lessons.gradient_descent`) and the schedule ηₜ = η₀·dᵗ (``step_sizes``).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from backproplab.checks import is_real
from backproplab.data import load_digits_binary
from backproplab.errors import InputError
from backproplab.expr import parse_expression
from backproplab.lessons.gradient_descent import COURSE_EXPR, course_gradient, step_sizes

__all__ = [
    "f", "grad_f", "optimize_f", "descend_f", "sigmoid", "relu", "bce_loss", "model1", "network",
    "make_layer", "enable_gradients", "add_gradients", "clear_gradients", "evaluate", "train_epoch", "fit",
    "digits_tensors", "w", "b", "LEARNING_RATE", "BATCH_SIZE",
]

Layer = tuple[torch.Tensor, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]

#: Our settings for 1.6 (the contract fixes the network, not these): with them a 64-32-1 ReLU/sigmoid
#: network reached validation accuracy 0.958-0.966 over ten seeds in 25 epochs.
LEARNING_RATE = 0.2
BATCH_SIZE = 16

#: The notebook's globals of 1.4: the weights and bias :func:`model1` uses when none are passed.
w: torch.Tensor | None = None
b: torch.Tensor | None = None


# -- 1.1 gradient descent ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _course_expression() -> Any:
    return parse_expression(COURSE_EXPR)


def f(x: Any, y: Any) -> Any:
    """The course's f(x, y) = x² + y² + x(y + 2) + cos 3x; tensors in (differentiable), or floats in."""
    expr = _course_expression()
    if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
        return expr.torch(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64))
    return float(expr(x, y))


def grad_f(x: float, y: float) -> tuple[float, float]:
    """(∂f/∂x, ∂f/∂y) = (2x − 3 sin 3x + y + 2, x + 2y), the closed form."""
    gx, gy = course_gradient(x, y)
    return float(gx), float(gy)


def _number(value: Any, name: str) -> float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if not is_real(value) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def descend_f(x: float, y: float, step_sizes: Sequence[float]) -> tuple[torch.Tensor, ...]:
    """Gradient descent on :func:`f` from (x, y) with step ``step_sizes[t]`` at step t.

    Returns
    -------
    (x, y, f(x, y), x_hist, y_hist) : 0-d float64 tensors, then float64 tensors of ``len(step_sizes) + 1``
        entries, the start included.
    """
    x, y = _number(x, "x"), _number(y, "y")
    xs, ys = [x], [y]
    with np.errstate(all="ignore"):
        for eta in step_sizes:
            gx, gy = grad_f(x, y)
            x, y = x - float(eta) * gx, y - float(eta) * gy
            xs.append(x)
            ys.append(y)
    t = torch.tensor
    return (t(x, dtype=torch.float64), t(y, dtype=torch.float64), t(f(x, y), dtype=torch.float64),
            t(xs, dtype=torch.float64), t(ys, dtype=torch.float64))


def optimize_f(x: float, y: float, step_size: float, steps: int, decay: float = 1.0) -> tuple[torch.Tensor, ...]:
    """Plain gradient descent on :func:`f` (1.1a), or with the step size ηₜ = η₀·dᵗ (1.1g,h).

    Parameters
    ----------
    x, y : float
        The start.
    step_size : float
        η₀ > 0.
    steps : int
        Number of steps (1 … 100000).
    decay : float
        d in (0, 1]; the step size at step t (from 0) is ``step_size * decay**t``, not compounded.

    Returns
    -------
    (x, y, f(x, y), x_hist, y_hist)
        From (3, 2), step 0.1, 10 steps: f = 1.2967616; with η₀ 0.2, d 0.9: f = −2.266296.
    """
    return descend_f(x, y, step_sizes(step_size, decay, steps))


# -- 1.3 activations and the loss ---------------------------------------------------------------------
def _tensor(value: Any, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.as_tensor(value, dtype=torch.get_default_dtype())
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"{name} must be a tensor (or numbers), got {type(value).__name__}") from exc


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + e^(−x)), same shape; exactly 0 and 1 at ∓100 in float32, finite (no NaN) at ±1000."""
    return torch.sigmoid(_tensor(x, "x"))


def relu(x: torch.Tensor) -> torch.Tensor:
    """max(0, x), same shape; derivative 0 at 0 (as autograd takes it)."""
    return torch.relu(_tensor(x, "x"))


def bce_loss(y: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy, truth first: the mean over samples of −(y log ŷ + (1 − y) log(1 − ŷ)).

    Parameters
    ----------
    y : tensor [N] (or any shape), targets in [0, 1]
    y_hat : tensor of ``y``'s shape, predicted probabilities in [0, 1]

    Returns
    -------
    0-d tensor (differentiable in ``y_hat``)
        0·log 0 is taken as 0, so a perfect prediction (y = ŷ ∈ {0, 1}) costs exactly 0, and the
        logarithm's argument is clamped at the dtype's smallest normal number, so a confidently wrong
        prediction costs a large finite amount (≈ 87 in float32, 708 in float64) instead of inf.
        Symmetric: bce_loss(1 − y, 1 − ŷ) == bce_loss(y, ŷ).
    """
    y, y_hat = _tensor(y, "y"), _tensor(y_hat, "y_hat")
    if y.shape != y_hat.shape:
        raise InputError(f"y and y_hat must have one shape (truth first: bce_loss(y, y_hat)), got "
                         f"{tuple(y.shape)} and {tuple(y_hat.shape)}")
    y = y.to(y_hat.dtype)
    tiny = torch.finfo(y_hat.dtype).tiny
    loss = -(torch.xlogy(y, y_hat.clamp(min=tiny)) + torch.xlogy(1 - y, (1 - y_hat).clamp(min=tiny))).mean()
    return loss + 0.0  # -0.0 (a perfect prediction) becomes 0.0


# -- 1.4, 1.5 models ----------------------------------------------------------------------------------
def model1(x: torch.Tensor, w: torch.Tensor | None = None, b: torch.Tensor | None = None) -> torch.Tensor:
    """σ(x·w + b): x [d] and w [d] give a 0-d output (x [N, d] gives [N]).

    ``w`` and ``b`` default to this module's ``w`` and ``b``, the notebook's globals; set them (or pass
    them) first.
    """
    w = globals()["w"] if w is None else w
    b = globals()["b"] if b is None else b
    if w is None or b is None:
        raise InputError("model1 needs w and b: pass them, or set radboud.w and radboud.b as the notebook does")
    x = _tensor(x, "x")
    if x.shape[-1:] != w.shape[:1]:
        raise InputError(f"x must end in w's length {tuple(w.shape)[:1]}, got shape {tuple(x.shape)}")
    return sigmoid(x @ w + b)


def network(x: torch.Tensor, params: Sequence[Layer]) -> torch.Tensor:
    """Apply the layers in order, z ← h(z·w + b); the last dimension is squeezed when it is 1.

    Parameters
    ----------
    x : tensor [N, d_in] (rank 2)
    params : list of (w [d_in, d_out], b [d_out], h)

    Returns
    -------
    tensor [N, d_out], or [N] when d_out is 1
    """
    z = _tensor(x, "x")
    if z.ndim != 2:
        raise InputError(f"x must have rank 2 [N, d_in], got shape {tuple(z.shape)}")
    for i, layer in enumerate(params):
        if not (isinstance(layer, (tuple, list)) and len(layer) == 3):
            raise InputError(f"params[{i}] must be a triple (w, b, activation), got {type(layer).__name__}")
        wi, bi, h = layer
        if z.shape[-1] != wi.shape[0]:
            raise InputError(f"params[{i}] weight has shape {tuple(wi.shape)}, but its input has "
                             f"{z.shape[-1]} features")
        z = h(z @ wi + bi)
    return z.squeeze(-1) if z.shape[-1] == 1 else z


def make_layer(d0: int, d1: int, activation: Callable[[torch.Tensor], torch.Tensor], *,
               dtype: torch.dtype | None = None, generator: torch.Generator | None = None) -> Layer:
    """One layer ``(w, b, activation)``: w [d0, d1] ~ N(0, std²) with std = √(2/d1), b = zeros [d1].

    The fan is the layer's *output* width d1 (He scaling, "fan-out"): the course's assert that
    ``make_layer(100000, 2, ...)`` has std ≈ 1 holds for it and fails for fan-in (std √(2/d0) ≈ 0.0045).
    ``torch.manual_seed`` (or ``generator``) decides the draw; ``dtype`` defaults to torch's default.
    """
    for name, value in (("d0", d0), ("d1", d1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InputError(f"{name} must be a positive integer, got {value!r}")
    if not callable(activation):
        raise InputError(f"activation must be a function of a tensor (e.g. relu), got {activation!r}")
    dtype = dtype or torch.get_default_dtype()
    weight = torch.randn(int(d0), int(d1), dtype=dtype, generator=generator) * math.sqrt(2.0 / int(d1))
    return weight, torch.zeros(int(d1), dtype=dtype), activation


# -- 1.6 training ---------------------------------------------------------------------------------------
def _tensors_of(params: Sequence[Layer]) -> list[torch.Tensor]:
    out = []
    for i, layer in enumerate(params):
        if not (isinstance(layer, (tuple, list)) and len(layer) == 3):
            raise InputError(f"params[{i}] must be a triple (w, b, activation), got {type(layer).__name__}")
        out.extend(layer[:2])
    return out


def enable_gradients(params: Sequence[Layer]) -> Sequence[Layer]:
    """Make every w and b require gradients (in place); returns ``params``."""
    for tensor in _tensors_of(params):
        tensor.requires_grad_(True)
    return params


def add_gradients(params: Sequence[Layer], step: float) -> None:
    """θ ← θ + step·∇θ for every w and b, without recording the update (a descent step: ``-learning_rate``)."""
    step = _number(step, "step")
    with torch.no_grad():
        for tensor in _tensors_of(params):
            if tensor.grad is None:
                raise InputError("a parameter has no gradient: call enable_gradients(params) and loss.backward() first")
            tensor.add_(tensor.grad, alpha=step)


def clear_gradients(params: Sequence[Layer]) -> None:
    """Set every w's and b's gradient to zero (gradients accumulate across backward calls)."""
    for tensor in _tensors_of(params):
        if tensor.grad is not None:
            tensor.grad.zero_()


def _xy(x: Any, y: Any, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _tensor(x, f"{where} x"), _tensor(y, f"{where} y")
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
        raise InputError(f"{where} needs x [N, d] and y [N] with N >= 1, got shapes {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    return x, y


def evaluate(params: Sequence[Layer], x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean BCE loss, accuracy) of the network on x [N, d], y [N] ∈ {0, 1}; a prediction is ŷ > 0.5."""
    x, y = _xy(x, y, "evaluate")
    with torch.no_grad():
        y_hat = network(x, params)
        loss = bce_loss(y, y_hat)
        acc = ((y_hat > 0.5) == (y > 0.5)).to(torch.float64).mean()
    return float(loss), float(acc)


def train_epoch(params: Sequence[Layer], x_train: torch.Tensor, y_train: torch.Tensor, learning_rate: float,
                batch_size: int, *, generator: torch.Generator | None = None) -> tuple[float, float]:
    """One epoch of minibatch gradient descent in a ``torch.randperm`` order; (mean loss, accuracy).

    Per batch: loss = bce_loss(y, network(x, params)), backward, ``add_gradients(params, -learning_rate)``,
    ``clear_gradients(params)``. The loss and accuracy are averaged over the samples as they were trained.
    """
    x_train, y_train = _xy(x_train, y_train, "train_epoch")
    learning_rate = _number(learning_rate, "learning_rate")
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    perm = torch.randperm(len(x_train), generator=generator)
    loss_sum, correct = 0.0, 0.0
    for start in range(0, len(x_train), int(batch_size)):
        idx = perm[start:start + int(batch_size)]
        xb, yb = x_train[idx], y_train[idx]
        y_hat = network(xb, params)
        loss = bce_loss(yb, y_hat)
        loss.backward()
        add_gradients(params, -learning_rate)
        clear_gradients(params)
        loss_sum += float(loss.detach()) * len(idx)
        correct += float(((y_hat.detach() > 0.5) == (yb > 0.5)).sum())
    return loss_sum / len(x_train), correct / len(x_train)


def fit(params: Sequence[Layer], x: dict[str, torch.Tensor], y: dict[str, torch.Tensor], learning_rate: float,
        batch_size: int, epochs: int = 25, *, generator: torch.Generator | None = None,
        verbose: bool = False) -> dict[str, list[float]]:
    """Train ``params`` (gradients enabled here) for ``epochs``; evaluate on ``x["val"]`` after each.

    Parameters
    ----------
    x, y : dicts keyed ``"train"`` and ``"val"``: x [N, d], y [N] ∈ {0, 1}

    Returns
    -------
    dict of lists, one entry per epoch: ``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``
    """
    for name, d in (("x", x), ("y", y)):
        if not isinstance(d, dict) or not {"train", "val"} <= set(d):
            raise InputError(f"{name} must be a dict with keys 'train' and 'val', got {type(d).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        raise InputError(f"epochs must be a positive integer, got {epochs!r}")
    enable_gradients(params)
    history: dict[str, list[float]] = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for epoch in range(int(epochs)):
        tl, ta = train_epoch(params, x["train"], y["train"], learning_rate, batch_size, generator=generator)
        vl, va = evaluate(params, x["val"], y["val"])
        for key, value in zip(history, (tl, ta, vl, va), strict=True):
            history[key].append(value)
        if verbose:
            print(f"epoch {epoch + 1}/{epochs}: loss {tl:.4f} acc {ta:.4f}  val_loss {vl:.4f} val_acc {va:.4f}")
    return history


def digits_tensors(seed: int = 0, dtype: torch.dtype | None = None
                   ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """scikit-learn's digits as the course's binary task: ``x, y`` dicts keyed "train" (898) and "val" (899).

    x [N, 64] standardised with the training statistics, y [N] ∈ {0., 1.} (digits 0-4 are 1, as the
    course's code labels them); see :func:`backproplab.data.load_digits_binary`.
    """
    dtype = dtype or torch.get_default_dtype()
    X_train, y_train, X_val, y_val = load_digits_binary(seed=seed)
    x = {"train": torch.tensor(X_train, dtype=dtype), "val": torch.tensor(X_val, dtype=dtype)}
    y = {"train": torch.tensor(y_train, dtype=dtype), "val": torch.tensor(y_val, dtype=dtype)}
    return x, y

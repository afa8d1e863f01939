"""Activations, their derivatives and losses with their gradients, side by side (micrograd style).

Conventions
-----------
* An activation ``f`` maps a pre-activation array ``z`` of any shape to an array of the same shape
  and dtype; its derivative ``f_grad(z)`` is ``f'(z)`` evaluated element-wise **at the
  pre-activation** ``z`` (not at ``f(z)``). Backprop through a layer is then
  ``dL/dz = dL/da * f_grad(z)``.
* At a kink (ReLU, leaky ReLU, ELU at ``z = 0``) the derivative takes the left-hand value, the
  same choice PyTorch autograd makes: ``relu_grad(0) = 0``, ``leaky_relu_grad(0) = alpha``,
  ``elu_grad(0) = alpha``.
* Every function is numerically safe for ``|z|`` up to at least 1000 in float32 and float64: no
  overflow, no NaN, no NumPy warning.
* A loss returns a Python ``float``; its ``*_grad`` returns ``dL/d(input)`` with the input's shape and
  dtype, already divided by the reduction's count, so it can be fed straight into backprop.
  The reduction of each loss is stated in its docstring.
* Losses validate their inputs (shapes, finiteness, label range) and raise ``ValueError``
  (:class:`backproplab.errors.InputError`) naming the argument; activations do not validate,
  because they sit in the hot loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backproplab.errors import InputError
from backproplab.scratch._checks import as_float_array, check_labels, check_same_shape

Array = np.ndarray


def _float(z) -> Array:
    """``z`` as an array, keeping a float dtype and promoting anything else to float64."""
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    return z


# --------------------------------------------------------------------------------------------------
# activations, each followed by its derivative
# --------------------------------------------------------------------------------------------------


def sigmoid(z) -> Array:
    """Logistic sigmoid ``1 / (1 + exp(-z))``, shape-preserving.

    Computed from ``e = exp(-|z|)``, which never overflows: ``1/(1+e)`` for ``z >= 0`` and
    ``e/(1+e)`` for ``z < 0``. ``sigmoid(1000) == 1.0`` and ``sigmoid(-1000) == 0.0`` without a warning.
    """
    z = _float(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid_grad(z) -> Array:
    """``sigmoid'(z) = s (1 - s)``, written as ``e / (1 + e)**2`` with ``e = exp(-|z|)`` (symmetric, exact)."""
    z = _float(z)
    e = np.exp(-np.abs(z))
    return e / ((1.0 + e) * (1.0 + e))


def tanh(z) -> Array:
    """Hyperbolic tangent, shape-preserving."""
    return np.tanh(_float(z))


def tanh_grad(z) -> Array:
    """``tanh'(z) = 1 - tanh(z)**2``."""
    t = np.tanh(_float(z))
    return 1.0 - t * t


def relu(z) -> Array:
    """Rectified linear unit ``max(z, 0)``."""
    z = _float(z)
    return np.maximum(z, 0, dtype=z.dtype)


def relu_grad(z) -> Array:
    """``relu'(z)``: 1 where ``z > 0``, else 0 (0 at ``z = 0``, as in PyTorch)."""
    z = _float(z)
    return (z > 0).astype(z.dtype)


def leaky_relu(z, alpha: float = 0.01) -> Array:
    """Leaky ReLU: ``z`` where ``z > 0``, ``alpha * z`` elsewhere."""
    z = _float(z)
    return np.where(z > 0, z, z * z.dtype.type(alpha))


def leaky_relu_grad(z, alpha: float = 0.01) -> Array:
    """``leaky_relu'(z)``: 1 where ``z > 0``, ``alpha`` elsewhere (``alpha`` at 0, as in PyTorch)."""
    z = _float(z)
    return np.where(z > 0, z.dtype.type(1), z.dtype.type(alpha))


def elu(z, alpha: float = 1.0) -> Array:
    """Exponential linear unit: ``z`` where ``z > 0``, ``alpha * (exp(z) - 1)`` elsewhere.

    The exponential is taken of ``min(z, 0)`` only, so large positive ``z`` cannot overflow.
    """
    z = _float(z)
    return np.where(z > 0, z, z.dtype.type(alpha) * np.expm1(np.minimum(z, 0)))


def elu_grad(z, alpha: float = 1.0) -> Array:
    """``elu'(z)``: 1 where ``z > 0``, ``alpha * exp(z)`` elsewhere (``alpha`` at 0, as in PyTorch)."""
    z = _float(z)
    return np.where(z > 0, z.dtype.type(1), z.dtype.type(alpha) * np.exp(np.minimum(z, 0)))


def identity(z) -> Array:
    """The identity ``f(z) = z`` (a linear output layer)."""
    return _float(z)


def identity_grad(z) -> Array:
    """``identity'(z) = 1``."""
    z = _float(z)
    return np.ones_like(z)


def softmax(z, axis: int = -1) -> Array:
    """Softmax along ``axis``: ``exp(z - max) / sum(exp(z - max))``.

    Subtracting the maximum makes every exponent ``<= 0``, so nothing overflows and at least one
    term of each sum is 1. Shape-preserving; along ``axis`` the result sums to 1.
    Its Jacobian is not needed separately: :func:`softmax_cross_entropy_grad` folds it in.
    """
    z = _float(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis: int = -1) -> Array:
    """``log(softmax(z))`` computed as ``z - max - log(sum(exp(z - max)))`` (never ``log(0)``)."""
    z = _float(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


#: name -> (activation, derivative at the pre-activation). ``leaky_relu`` and ``elu`` use their
#: default ``alpha`` here (0.01 and 1.0).
ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "identity": (identity, identity_grad),
}


def get_activation(name: str) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    """Look up ``(f, f_grad)`` in :data:`ACTIVATIONS`; raise ValueError naming the choices."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise InputError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}") from None


# --------------------------------------------------------------------------------------------------
# losses, each followed by its gradient with respect to its first argument
# --------------------------------------------------------------------------------------------------


def _bce_eps(dtype) -> float:
    return 1e-12 if np.dtype(dtype) == np.float64 else 1e-7


def _prob_targets(p: Array, y, name_p: str) -> tuple[Array, Array]:
    p = as_float_array(p, name_p)
    y = as_float_array(y, "y")
    y = check_same_shape(p, y, name_p, "y")
    if (y < 0).any() or (y > 1).any():
        raise InputError(f"y must hold targets in [0, 1], got range [{y.min()}, {y.max()}]")
    return p, y


def bce(p, y, eps: float | None = None) -> float:
    """Binary cross-entropy of probabilities, **mean over all entries** (the batch mean for one output).

    ``L = mean(-(y log p + (1 - y) log(1 - p)))`` with ``p`` clipped to ``[eps, 1 - eps]`` so that
    ``log(0)`` never happens (``eps`` 1e-12 in float64, 1e-7 in float32).

    Parameters
    ----------
    p : array (N,) or (N, K)
        Predicted probabilities in [0, 1].
    y : array of ``p``'s shape (or (N,) when ``p`` is (N, 1))
        Targets in [0, 1].

    Returns
    -------
    float
    """
    p, y = _prob_targets(p, y, "p")
    if (p < 0).any() or (p > 1).any():
        raise InputError(f"p must hold probabilities in [0, 1], got range [{p.min()}, {p.max()}]")
    eps = _bce_eps(p.dtype) if eps is None else eps
    pc = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(pc) + (1.0 - y) * np.log1p(-pc)))


def bce_grad(p, y, eps: float | None = None) -> Array:
    """Gradient of :func:`bce` w.r.t. ``p``: ``(p - y) / (p (1 - p)) / p.size``, shape of ``p``.

    ``p`` is clipped to ``[eps, 1 - eps]`` first, so the gradient stays finite at 0 and 1
    (PyTorch's ``BCELoss`` clamps the denominator the same way).
    """
    p, y = _prob_targets(p, y, "p")
    eps = _bce_eps(p.dtype) if eps is None else eps
    pc = np.clip(p, eps, 1.0 - eps)
    return ((pc - y) / (pc * (1.0 - pc)) / p.size).astype(p.dtype, copy=False)


def bce_with_logits(z, y) -> float:
    """Binary cross-entropy from logits, **mean over all entries** (the batch mean for one output).

    ``L = mean(max(z, 0) - z y + log(1 + exp(-|z|)))``, the log-sum-exp form of
    ``-(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))``: exact for any ``z``, no clipping, no overflow.

    Parameters
    ----------
    z : array (N,) or (N, K)
        Logits.
    y : array of ``z``'s shape (or (N,) when ``z`` is (N, 1))
        Targets in [0, 1].
    """
    z, y = _prob_targets(z, y, "z")
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def bce_with_logits_grad(z, y) -> Array:
    """Gradient of :func:`bce_with_logits` w.r.t. ``z``: ``(sigmoid(z) - y) / z.size``, shape of ``z``."""
    z, y = _prob_targets(z, y, "z")
    return ((sigmoid(z) - y) / z.size).astype(z.dtype, copy=False)


def _logits_targets(logits, y) -> tuple[Array, Array]:
    logits = as_float_array(logits, "logits", ndim=2)
    onehot = check_labels(y, logits.shape[1], logits.shape[0], "y")
    return logits, onehot


def softmax_cross_entropy(logits, y) -> float:
    """Softmax cross-entropy from logits, **summed over classes and averaged over the batch**.

    ``L = -(1/N) sum_n sum_k y_nk log softmax(z_n)_k``, with ``log_softmax`` computed stably. Equals
    ``torch.nn.functional.cross_entropy(logits, y)``.

    Parameters
    ----------
    logits : array (N, K)
    y : int array (N,) with labels in [0, K), or (N, K) one-hot / class probabilities.
    """
    logits, onehot = _logits_targets(logits, y)
    return float(-(onehot * log_softmax(logits, axis=1)).sum() / logits.shape[0])


def softmax_cross_entropy_grad(logits, y) -> Array:
    """Gradient of :func:`softmax_cross_entropy` w.r.t. the logits: ``(softmax(z) - y_onehot) / N``, (N, K)."""
    logits, onehot = _logits_targets(logits, y)
    return ((softmax(logits, axis=1) - onehot) / logits.shape[0]).astype(logits.dtype, copy=False)


def half_mse(yhat, y) -> float:
    """Half mean squared error, **mean over all entries** (the batch mean for one output).

    ``L = (1/2) mean((yhat - y)**2)``; the ½ cancels the 2 of the derivative.

    Parameters
    ----------
    yhat : array (N,) or (N, K)
    y : array of ``yhat``'s shape (or (N,) when ``yhat`` is (N, 1))
    """
    yhat = as_float_array(yhat, "yhat")
    y = check_same_shape(yhat, as_float_array(y, "y"), "yhat", "y")
    d = yhat - y
    return float(0.5 * np.mean(d * d))


def half_mse_grad(yhat, y) -> Array:
    """Gradient of :func:`half_mse` w.r.t. ``yhat``: ``(yhat - y) / yhat.size``, shape of ``yhat``."""
    yhat = as_float_array(yhat, "yhat")
    y = check_same_shape(yhat, as_float_array(y, "y"), "yhat", "y")
    return ((yhat - y) / yhat.size).astype(yhat.dtype, copy=False)


#: name -> (loss, gradient w.r.t. the network output). The network output is the last layer's
#: activation: logits for the ``*_with_logits``/softmax losses (use an ``identity`` last layer),
#: probabilities for ``bce`` (a ``sigmoid`` last layer).
LOSSES: dict[str, tuple[Callable[..., float], Callable[..., Array]]] = {
    "bce": (bce, bce_grad),
    "bce_with_logits": (bce_with_logits, bce_with_logits_grad),
    "softmax_cross_entropy": (softmax_cross_entropy, softmax_cross_entropy_grad),
    "half_mse": (half_mse, half_mse_grad),
}


def get_loss(name: str) -> tuple[Callable[..., float], Callable[..., Array]]:
    """Look up ``(loss, loss_grad)`` in :data:`LOSSES`; raise ValueError naming the choices."""
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        raise InputError(f"loss must be one of {sorted(LOSSES)}, got {name!r}") from None

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
* This module is the one place the NumPy math lives: ``fit``, ``Dense``, ``NumpyANN`` and the
  tracer call these functions. The math checks nothing (activations and the ``raw_*`` losses sit
  in the hot loop); validation happens at the doors, scikit-learn style: ``fit``/``evaluate``
  prepare targets once, and the public losses (``bce``, ``softmax_cross_entropy``, ...) are thin
  wrappers that check their inputs, raising ``ValueError`` (:class:`backproplab.errors.InputError`)
  naming the argument, then call their ``raw_*`` twin.
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


#: The default slopes of :func:`leaky_relu` (for ``z <= 0``) and :func:`elu` (its ``alpha``).
LEAKY_RELU_ALPHA = 0.01
ELU_ALPHA = 1.0


def relu_(z: Array) -> Array:
    """:func:`relu` in place: ``z`` (a float array) is overwritten with ``max(z, 0)`` and returned.

    The training loop's variant (no new array per batch); ``z`` itself is then gone, but
    :func:`relu_grad_from_output` needs only the output.
    """
    return np.maximum(z, 0, out=z)


def relu_grad_from_output(a: Array, out: Array | None = None) -> Array:
    """``relu'(z)`` as a bool mask from the output ``a = relu(z)``: ``a > 0`` exactly where ``z > 0``.

    ``out`` (bool, ``a``'s shape) receives the mask when given, so a loop allocates nothing.
    """
    return np.greater(a, 0, out=out)


def leaky_relu(z, alpha: float = LEAKY_RELU_ALPHA) -> Array:
    """Leaky ReLU: ``z`` where ``z > 0``, ``alpha * z`` elsewhere."""
    z = _float(z)
    return np.where(z > 0, z, z * z.dtype.type(alpha))


def leaky_relu_grad(z, alpha: float = LEAKY_RELU_ALPHA) -> Array:
    """``leaky_relu'(z)``: 1 where ``z > 0``, ``alpha`` elsewhere (``alpha`` at 0, as in PyTorch)."""
    z = _float(z)
    return np.where(z > 0, z.dtype.type(1), z.dtype.type(alpha))


def elu(z, alpha: float = ELU_ALPHA) -> Array:
    """Exponential linear unit: ``z`` where ``z > 0``, ``alpha * (exp(z) - 1)`` elsewhere.

    The exponential is taken of ``min(z, 0)`` only, so large positive ``z`` cannot overflow.
    """
    z = _float(z)
    return np.where(z > 0, z, z.dtype.type(alpha) * np.expm1(np.minimum(z, 0)))


def elu_grad(z, alpha: float = ELU_ALPHA) -> Array:
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
# losses: the math, each followed by its gradient with respect to the network output
# --------------------------------------------------------------------------------------------------
# These ``raw_*`` functions take targets ``t`` already prepared (the output's shape, one-hot rows
# for softmax cross-entropy, same float dtype) and check nothing: they run in the training loop.
# The doors check (``fit``, ``evaluate``, ``gradcheck``, and the public losses further below).


def bce_eps(dtype) -> float:
    """The clip of :func:`raw_bce`: ``p`` is kept in ``[eps, 1 - eps]``, 1e-12 in float64, 1e-7 in
    float32, the type's machine epsilon in a coarser one (in float16, ``1 - 1e-7`` is 1 and log(0) came back)."""
    dtype = np.dtype(dtype)
    return {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-7}.get(dtype, float(np.finfo(dtype).eps))


def raw_bce(p: Array, t: Array, eps: float | None = None) -> float:
    """``mean(-(t log p + (1 - t) log(1 - p)))`` over all entries, ``p`` clipped to ``[eps, 1 - eps]``
    (default :func:`bce_eps`). Of a sigmoid output, :func:`raw_bce_with_logits` is exact where this
    clip (or torch's log clamp at -100) is not: ``p = sigmoid(40)`` is 1.0 in float64."""
    eps = bce_eps(p.dtype) if eps is None else eps
    pc = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(t * np.log(pc) + (1.0 - t) * np.log1p(-pc)))


def raw_bce_grad(p: Array, t: Array, eps: float | None = None) -> Array:
    """``(p - t) / (p (1 - p)) / p.size``, shape of ``p``; ``p`` clipped as in :func:`raw_bce`."""
    eps = bce_eps(p.dtype) if eps is None else eps
    pc = np.clip(p, eps, 1.0 - eps)
    return ((pc - t) / (pc * (1.0 - pc)) / p.size).astype(p.dtype, copy=False)


def raw_bce_with_logits(z: Array, t: Array) -> float:
    """``mean(max(z, 0) - z t + log(1 + exp(-|z|)))`` over all entries: BCE of ``sigmoid(z)``, exact
    for any ``z`` (the log-sum-exp form; no clipping, no overflow).

    With ``log sigmoid(z) = -log(1 + e^-z)`` and ``log(1 - sigmoid(z)) = -z - log(1 + e^-z)``,
    ``-(t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))) = log(1 + e^z) - t z``, written as above so
    that no exponent is positive; its derivative is ``sigmoid(z) - t`` (:func:`raw_bce_with_logits_grad`).
    Equals torch's ``BCEWithLogitsLoss``.
    """
    return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))


def raw_bce_with_logits_grad(z: Array, t: Array) -> Array:
    """``(sigmoid(z) - t) / z.size``, shape of ``z`` (computed in place on a fresh array)."""
    grad = sigmoid(z)
    grad -= t
    grad *= grad.dtype.type(1.0 / z.size)
    return grad


def raw_softmax_cross_entropy(logits: Array, t: Array) -> float:
    """``-(1/N) Σ_n Σ_k t_nk log softmax(z_n)_k`` for (N, K) logits: summed over classes, averaged
    over the batch (``torch.nn.functional.cross_entropy``); ``log_softmax`` keeps it finite."""
    return -float(np.sum(t * log_softmax(logits, axis=-1))) / logits.shape[0]


def softmax_cross_entropy_delta(p: Array, t: Array) -> Array:
    """``p - t``: the gradient of the *summed* softmax cross-entropy w.r.t. the logits, from the
    softmax probabilities ``p`` already computed (the ``δ = ŷ - y`` of the output layer)."""
    return p - t


def raw_softmax_cross_entropy_grad(logits: Array, t: Array) -> Array:
    """``(softmax(z) - t) / N``, (N, K): the softmax Jacobian folded in (in place on a fresh array)."""
    grad = softmax_cross_entropy_delta(softmax(logits, axis=-1), t)
    grad *= grad.dtype.type(1.0 / logits.shape[0])
    return grad


def raw_half_mse(yhat: Array, t: Array) -> float:
    """``(1/2) mean((yhat - t)**2)`` over all entries; the ½ cancels the 2 of the derivative."""
    d = yhat - t
    return float(0.5 * np.mean(d * d))


def raw_half_mse_grad(yhat: Array, t: Array) -> Array:
    """``(yhat - t) / yhat.size``, shape of ``yhat``."""
    d = yhat - t
    d *= d.dtype.type(1.0 / yhat.size)
    return d


#: The course's clip inside the log of :func:`raw_cross_entropy` (``p`` in ``[1e-12, 1]``).
CROSS_ENTROPY_EPS = 1e-12


def raw_cross_entropy(p: Array, t: Array, eps: float = CROSS_ENTROPY_EPS) -> float:
    """Cross-entropy of probabilities, **mean over all entries**: ``-mean(t log clip(p, eps, 1))``.

    For (N, K) rows that is ``(1/K)`` times the usual per-row ``-Σ_k t_k log p_k``, averaged over
    the rows: the loss the Purdue course's ``NumpyANN._cross_entropy`` reports.
    """
    return float(-np.sum(t * np.log(np.clip(p, eps, 1.0))) / p.size)


def raw_cross_entropy_grad(p: Array, t: Array, eps: float = CROSS_ENTROPY_EPS) -> Array:
    """``-t / clip(p, eps, 1) / p.size`` (zero where ``p`` was clipped below ``eps``), shape of ``p``."""
    pc = np.clip(p, eps, 1.0)
    return np.where(p >= eps, -t / pc, 0.0).astype(p.dtype, copy=False) / p.size


#: name -> (loss, gradient) on prepared targets (the ``raw_*`` functions), as ``fit`` uses them.
RAW_LOSSES: dict[str, tuple[Callable[[Array, Array], float], Callable[[Array, Array], Array]]] = {
    "bce": (raw_bce, raw_bce_grad),
    "bce_with_logits": (raw_bce_with_logits, raw_bce_with_logits_grad),
    "softmax_cross_entropy": (raw_softmax_cross_entropy, raw_softmax_cross_entropy_grad),
    "half_mse": (raw_half_mse, raw_half_mse_grad),
}


def loss_and_grad(loss: str, out: Array, t: Array) -> tuple[float, Array]:
    """``(mean loss, dL/d(out))`` of the loss named ``loss`` for prepared targets ``t``; no checks."""
    value, grad = RAW_LOSSES[loss]
    return value(out, t), grad(out, t)


# --------------------------------------------------------------------------------------------------
# the public losses: thin checked doors around the math above (errors name the argument)
# --------------------------------------------------------------------------------------------------


def _prob_targets(p, y, name_p: str) -> tuple[Array, Array]:
    p = as_float_array(p, name_p)
    y = as_float_array(y, "y")
    y = check_same_shape(p, y, name_p, "y")
    if (y < 0).any() or (y > 1).any():
        raise InputError(f"y must hold targets in [0, 1], got range [{y.min()}, {y.max()}]")
    return p, y.astype(p.dtype, copy=False)


def _probabilities(p, y) -> tuple[Array, Array]:
    p, y = _prob_targets(p, y, "p")
    if (p < 0).any() or (p > 1).any():
        raise InputError(f"p must hold probabilities in [0, 1], got range [{p.min()}, {p.max()}]")
    return p, y


def _logits_targets(logits, y) -> tuple[Array, Array]:
    logits = as_float_array(logits, "logits", ndim=2)
    onehot = check_labels(y, logits.shape[1], logits.shape[0], "y")
    return logits, onehot.astype(logits.dtype, copy=False)


def _regression_targets(yhat, y) -> tuple[Array, Array]:
    yhat = as_float_array(yhat, "yhat")
    y = check_same_shape(yhat, as_float_array(y, "y"), "yhat", "y")
    return yhat, y.astype(yhat.dtype, copy=False)


def bce(p, y, eps: float | None = None) -> float:
    """Binary cross-entropy of probabilities, **mean over all entries**: :func:`raw_bce`, checked.

    Parameters
    ----------
    p : array (N,) or (N, K)
        Predicted probabilities in [0, 1], clipped to ``[eps, 1 - eps]`` (1e-12 in float64, 1e-7
        in float32) so that ``log(0)`` never happens.
    y : array of ``p``'s shape (or (N,) when ``p`` is (N, 1))
        Targets in [0, 1].
    """
    return raw_bce(*_probabilities(p, y), eps)


def bce_grad(p, y, eps: float | None = None) -> Array:
    """Gradient of :func:`bce` w.r.t. ``p``: :func:`raw_bce_grad`, checked as :func:`bce` is (``p`` in [0, 1];
    finite at 0 and 1)."""
    return raw_bce_grad(*_probabilities(p, y), eps)


def bce_with_logits(z, y) -> float:
    """Binary cross-entropy from logits ``z`` (N,) or (N, K), **mean over all entries**:
    :func:`raw_bce_with_logits`, checked; ``y`` of ``z``'s shape, targets in [0, 1]."""
    return raw_bce_with_logits(*_prob_targets(z, y, "z"))


def bce_with_logits_grad(z, y) -> Array:
    """Gradient of :func:`bce_with_logits` w.r.t. ``z``: ``(sigmoid(z) - y) / z.size``, checked."""
    return raw_bce_with_logits_grad(*_prob_targets(z, y, "z"))


def softmax_cross_entropy(logits, y) -> float:
    """Softmax cross-entropy of (N, K) ``logits``, summed over classes, averaged over the batch:
    :func:`raw_softmax_cross_entropy`, checked. ``y``: int labels (N,) in [0, K), or (N, K) one-hot /
    class probabilities. Equals ``torch.nn.functional.cross_entropy(logits, y)``."""
    return raw_softmax_cross_entropy(*_logits_targets(logits, y))


def softmax_cross_entropy_grad(logits, y) -> Array:
    """Gradient of :func:`softmax_cross_entropy` w.r.t. the logits: ``(softmax(z) - y_onehot) / N``."""
    return raw_softmax_cross_entropy_grad(*_logits_targets(logits, y))


def half_mse(yhat, y) -> float:
    """Half mean squared error ``(1/2) mean((yhat - y)**2)`` over all entries: :func:`raw_half_mse`,
    checked; ``y`` of ``yhat``'s shape (or (N,) when ``yhat`` is (N, 1))."""
    return raw_half_mse(*_regression_targets(yhat, y))


def half_mse_grad(yhat, y) -> Array:
    """Gradient of :func:`half_mse` w.r.t. ``yhat``: ``(yhat - y) / yhat.size``, checked."""
    return raw_half_mse_grad(*_regression_targets(yhat, y))


#: name -> (loss, gradient w.r.t. the network output), the checked public forms. The network
#: output is the last layer's activation: logits for the ``*_with_logits``/softmax losses (use an
#: ``identity`` last layer), probabilities for ``bce`` (a ``sigmoid`` last layer).
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

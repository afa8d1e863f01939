"""The training loop: ``fit`` (Keras style) returning a :class:`History` of per-epoch metrics.

The whole dataset stays in memory; each epoch draws one permutation from the seeded Generator and
gathers minibatches into reused buffers (``np.take(..., out=...)``). Targets are validated and
prepared once at the door (one-hot matrices for softmax cross-entropy), so the inner loop does no
checking beyond one ``isfinite`` on the scalar loss per batch.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from backproplab.divergence import Diverged
from backproplab.errors import InputError
from backproplab.history import History, report_epoch
from backproplab.progress import LoopProgress
from backproplab.scratch._checks import as_float_array, check_labels, check_positive
from backproplab.scratch.functional import LOSSES, RAW_LOSSES, loss_and_grad
from backproplab.scratch.init import as_generator
from backproplab.scratch.network import Network
from backproplab.scratch.rollback import epoch_rollback
from backproplab.scratch.threads import blas_threads as blas_threads_limit

# ------------------------------------------------------------------------------------------------
# targets, prepared once at the door; the losses themselves are functional's (``loss_and_grad``)
# ------------------------------------------------------------------------------------------------


def prepare_targets(y, loss: str, n_rows: int, d_out: int, dtype, name: str = "y") -> np.ndarray:
    """Validate ``y`` for ``loss`` and return it as an ``(n_rows, d_out)`` array of ``dtype``.

    softmax cross-entropy: integer labels (N,) in [0, d_out) or one-hot (N, d_out); the others:
    (N, d_out) or, for one output, (N,). Binary cross-entropy targets must lie in [0, 1].
    """
    if loss not in LOSSES:
        raise InputError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if loss == "softmax_cross_entropy":
        if d_out < 2:
            raise InputError(
                f"loss 'softmax_cross_entropy' needs at least 2 outputs, the network has {d_out}"
            )
        return check_labels(y, d_out, n_rows, name).astype(dtype, copy=False)
    t = as_float_array(y, name, ndim=(1, 2))
    if t.ndim == 1 and d_out == 1:
        t = t.reshape(-1, 1)
    if t.shape != (n_rows, d_out):
        want = f"({n_rows},) or ({n_rows}, 1)" if d_out == 1 else f"({n_rows}, {d_out})"
        raise InputError(f"{name} must have shape {want} for loss {loss!r}, got {np.shape(y)}")
    if loss in ("bce", "bce_with_logits") and ((t < 0).any() or (t > 1).any()):
        raise InputError(
            f"{name} must hold targets in [0, 1] for loss {loss!r}, got range [{t.min()}, {t.max()}]"
        )
    return t.astype(dtype, copy=False)


def count_correct(loss: str, out: np.ndarray, t: np.ndarray, last_activation: str) -> float:
    """How many rows of ``out`` are classified right against prepared targets ``t`` (NaN if no classes)."""
    if out.shape[1] > 1:
        return float(np.count_nonzero(out.argmax(axis=1) == t.argmax(axis=1)))
    if loss == "half_mse":
        return float("nan")
    threshold = 0.5 if (loss == "bce" or last_activation == "sigmoid") else 0.0
    return float(np.count_nonzero((out[:, 0] > threshold) == (t[:, 0] > 0.5)))


def check_loss_output(network: Network, loss: str) -> None:
    """Refuse ``"bce"`` on a network whose last layer is not a sigmoid: the loss takes probabilities
    (:func:`~backproplab.scratch.functional.bce` refuses others), and ``fit`` on an identity layer's
    outputs (−0.58 … 1.55) clipped them into (0, 1) and reported an epoch's loss of 16.6 without a word,
    where ``"bce_with_logits"``, the loss for logits, gives 0.74."""
    last = network.layers[-1].activation
    if loss == "bce" and last != "sigmoid":
        raise InputError(f"loss 'bce' takes probabilities from a sigmoid last layer, but this network's last "
                         f"activation is {last!r}: use loss='bce_with_logits' on its outputs (logits), or end the "
                         "network with a 'sigmoid' layer")


def evaluate(network: Network, X, y, loss: str = "softmax_cross_entropy", batch_size: int = 4096):
    """``(mean loss, accuracy)`` of ``network`` on ``(X, y)``, in batches, without touching gradients."""
    check_loss_output(network, loss)
    X = network.check_inputs(X)
    t = prepare_targets(y, loss, X.shape[0], network.d_out, network.dtype)
    return _evaluate(network, X, t, loss, check_positive(batch_size, "batch_size", integer=True, minimum=1))


def _evaluate(network: Network, X: np.ndarray, t: np.ndarray, loss: str, batch_size: int = 4096):
    total, correct = 0.0, 0.0
    last = network.layers[-1].activation
    for start in range(0, X.shape[0], batch_size):
        out = network._forward(X[start : start + batch_size])
        tb = t[start : start + batch_size]
        total += RAW_LOSSES[loss][0](out, tb) * out.shape[0]  # the loss alone: no gradient here
        correct += count_correct(loss, out, tb, last)
    return total / X.shape[0], correct / X.shape[0]


# ------------------------------------------------------------------------------------------------


def _check_fit_data(network: Network, X, y, X_val, y_val, loss: str):
    """``(X, targets, (X_val, val_targets) or None)`` in the network's dtype, checked against its sizes."""
    dtype = network.dtype
    check_loss_output(network, loss)
    X = np.ascontiguousarray(network.check_inputs(X))
    t = np.ascontiguousarray(prepare_targets(y, loss, X.shape[0], network.d_out, dtype, "y"))
    if (X_val is None) != (y_val is None):
        raise InputError("X_val and y_val must be given together, got only one of them")
    if X_val is None:
        return X, t, None
    X_val = network.check_inputs(X_val, "X_val")
    return X, t, (X_val, prepare_targets(y_val, loss, X_val.shape[0], network.d_out, dtype, "y_val"))


def fit(
    network: Network,
    X,
    y,
    epochs: int,
    batch_size: int,
    optimizer,
    loss: str = "softmax_cross_entropy",
    X_val=None,
    y_val=None,
    seed=0,
    progress: bool | None = True,
    shuffle: bool = True,
    blas_threads: int | None = None,
) -> History:
    """Train ``network`` in place by minibatch gradient descent; return the per-epoch :class:`History`.

    Parameters
    ----------
    network : Network
    X : array (N, d_in)
    y : targets for ``loss``: int labels (N,) or one-hot (N, K) for ``"softmax_cross_entropy"``;
        (N,) / (N, 1) in [0, 1] for ``"bce"`` (sigmoid output) and ``"bce_with_logits"``;
        (N, d_out) for ``"half_mse"``.
    epochs : int >= 1
    batch_size : int >= 1 (the last batch of an epoch may be smaller)
    optimizer : an object with ``step(params, grads)`` (e.g. :class:`~backproplab.scratch.optim.SGD`)
    loss : a name in :data:`~backproplab.scratch.functional.LOSSES`, applied to the last layer's output
    X_val, y_val : optional validation set, evaluated after every epoch
    seed : int or numpy.random.Generator, the source of the per-epoch shuffles
    progress : report progress on stderr (a bar with epoch, batch, running loss and ETA, or one line
        per epoch when stderr is not a terminal); ``None``: only when the run's setting asks for it
        (see :mod:`backproplab.progress`)
    shuffle : draw a new permutation every epoch (else keep the data order)
    blas_threads : cap on BLAS threads while training (None: unchanged; 1 on a busy shared machine)

    Returns
    -------
    History with ``train_loss``/``train_acc`` (averaged over the epoch's batches as they were
    trained, Keras style), ``val_loss``/``val_acc`` (after the epoch), ``lr``, ``epoch_time``.

    Raises
    ------
    ValueError (InputError) for bad arguments; NonFiniteError when the loss becomes NaN or inf, after
    restoring the parameters and the optimizer's state to the start of the failing epoch: the one
    policy of both engines, see :mod:`backproplab.divergence` (the error names the epoch, the batch
    and the first layer with a non-finite value; its ``history`` holds the epochs before).
    """
    epochs, batch_size = _check_fit_args(network, epochs, batch_size, optimizer)
    X, t, val = _check_fit_data(network, X, y, X_val, y_val, loss)
    rng = as_generator(seed, "seed")
    n = X.shape[0]
    batches = _Batches(X, t, batch_size, network.dtype)
    history = History()
    rollback = epoch_rollback(network, optimizer)
    report = LoopProgress(progress, epochs=epochs, batches=len(batches.sizes), desc=type(network).__name__)
    # overflow turns into inf/NaN silently here and is reported as a NonFiniteError below
    with blas_threads_limit(blas_threads), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for epoch in range(1, epochs + 1):
                start_time = time.perf_counter()
                report.start_epoch(epoch)
                order = rng.permutation(n) if shuffle else np.arange(n)
                rollback.start_epoch()  # once per epoch: what a non-finite loss goes back to
                lr = float(getattr(optimizer, "lr", float("nan")))
                try:
                    total, correct = _train_epoch(network, optimizer, loss, batches, order, report)
                except Diverged as div:
                    raise rollback.fail(div, epoch, history) from None
                if hasattr(optimizer, "end_epoch"):
                    optimizer.end_epoch()
                val_scores = _evaluate(network, *val, loss) if val is not None else None
                history.append_epoch(train=(total / n, correct / n), val=val_scores, lr=lr,
                                     epoch_time=time.perf_counter() - start_time)
                report_epoch(report, history)
        finally:
            report.close()
    return history


def _check_fit_args(network: Network, epochs: Any, batch_size: Any, optimizer: Any) -> tuple[int, int]:
    if not isinstance(network, Network):
        raise InputError(f"network must be a backproplab.scratch.Network, got {type(network).__name__}")
    epochs = check_positive(epochs, "epochs", integer=True, minimum=1)
    batch_size = check_positive(batch_size, "batch_size", integer=True, minimum=1)
    if not callable(getattr(optimizer, "step", None)):
        raise InputError(f"optimizer must have a step(params, grads) method, got {type(optimizer).__name__}")
    return epochs, batch_size


class _Batches:
    """Minibatches of ``(X, t)`` gathered into reused buffers, one per batch size (no allocation per batch)."""

    def __init__(self, X: np.ndarray, t: np.ndarray, batch_size: int, dtype: Any):
        n_full, rest = divmod(X.shape[0], batch_size)
        self.X, self.t = X, t
        self.sizes = [batch_size] * n_full + ([rest] if rest else [])
        self.bufs = {b: (np.empty((b, X.shape[1]), dtype), np.empty((b, t.shape[1]), dtype))
                     for b in set(self.sizes)}

    def __call__(self, order: np.ndarray):
        """Yield ``(xb, tb)`` for the consecutive slices of ``order`` (the buffers are overwritten)."""
        start = 0
        for size in self.sizes:
            idx = order[start : start + size]
            start += size
            xb, tb = self.bufs[size]
            np.take(self.X, idx, axis=0, out=xb)
            np.take(self.t, idx, axis=0, out=tb)
            yield xb, tb


def _train_epoch(network: Network, optimizer: Any, loss: str, batches: _Batches, order: np.ndarray,
                 report: LoopProgress) -> tuple[float, float]:
    """One pass over ``order`` in minibatches: (summed loss, number correct) over the epoch's samples.

    Raises :class:`~backproplab.divergence.Diverged` at the first batch whose loss is not finite, before
    that batch's step (one ``isfinite`` on the scalar loss per batch), or after the last batch when its
    step made the parameters non-finite (no later loss would show it: the epoch was recorded as good and
    its weights, inf, kept as the last good state).
    """
    params, grads = network.parameters(), network.gradients()
    last_act = network.layers[-1].activation
    total, correct, seen = 0.0, 0.0, 0
    for b_index, (xb, tb) in enumerate(batches(order)):
        out = network._forward(xb)
        value, grad = loss_and_grad(loss, out, tb)
        if not np.isfinite(value):
            raise Diverged(b_index + 1, len(batches.sizes), value)
        seen += len(xb)
        total += value * len(xb)
        correct += count_correct(loss, out, tb, last_act)
        network.backward(grad)
        optimizer.step(params, grads)
        report.step(1, total / seen)
    if not all(np.isfinite(p).all() for p in params):
        raise Diverged(len(batches.sizes), len(batches.sizes), parameters=True)
    return total, correct

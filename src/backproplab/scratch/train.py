"""The training loop: ``fit`` (Keras style) returning a :class:`History` of per-epoch metrics.

The whole dataset stays in memory; each epoch draws one permutation from the seeded Generator and
gathers minibatches into reused buffers (``np.take(..., out=...)``). Targets are validated and
prepared once at the door (one-hot matrices for softmax cross-entropy), so the inner loop does no
checking beyond one ``isfinite`` on the scalar loss per batch.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from backproplab.errors import InputError, NonFiniteError
from backproplab.progress import LoopProgress
from backproplab.scratch._checks import as_float_array, check_labels, check_positive
from backproplab.scratch.functional import LOSSES, RAW_LOSSES, loss_and_grad
from backproplab.scratch.init import as_generator
from backproplab.scratch.network import Network
from backproplab.scratch.threads import blas_threads as blas_threads_limit


@dataclass
class History:
    """Per-epoch metrics of a training run; ``history["val_acc"]`` works like Keras' ``history.history``.

    Lists hold one float per epoch. ``val_loss``/``val_acc`` stay empty without validation data;
    accuracies are NaN for a loss without classes (``half_mse`` on a single output).
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.keys():
            raise KeyError(f"{key!r} is not a History metric; choose from {self.keys()}")
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __len__(self) -> int:
        """The number of epochs recorded."""
        return len(self.train_loss)

    def keys(self) -> list[str]:
        return [f.name for f in fields(self)]

    def items(self):
        return [(k, getattr(self, k)) for k in self.keys()]

    def to_dict(self) -> dict[str, list[float]]:
        """A plain dict of lists of floats (JSON-ready)."""
        return {k: [float(v) for v in getattr(self, k)] for k in self.keys()}


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


def evaluate(network: Network, X, y, loss: str = "softmax_cross_entropy", batch_size: int = 4096):
    """``(mean loss, accuracy)`` of ``network`` on ``(X, y)``, in batches, without touching gradients."""
    X = as_float_array(X, "X", ndim=2, dtype=network.dtype)
    t = prepare_targets(y, loss, X.shape[0], network.d_out, network.dtype)
    return _evaluate(network, X, t, loss, batch_size)


def _evaluate(network: Network, X: np.ndarray, t: np.ndarray, loss: str, batch_size: int = 4096):
    total, correct = 0.0, 0.0
    last = network.layers[-1].activation
    for start in range(0, X.shape[0], batch_size):
        out = network._forward(X[start : start + batch_size])
        tb = t[start : start + batch_size]
        total += RAW_LOSSES[loss][0](out, tb) * out.shape[0]  # the loss alone: no gradient here
        correct += count_correct(loss, out, tb, last)
    return total / X.shape[0], correct / X.shape[0]


def _first_nonfinite_layer(network: Network) -> str:
    for i, layer in enumerate(network.layers):
        if layer.output is not None and not np.isfinite(layer.output).all():
            return f"layers[{i}] ({layer.activation}) activation"
        for name, arr in (("W", layer.W), ("b", layer.b)):
            if not np.isfinite(arr).all():
                return f"layers[{i}].{name}"
    for i, layer in enumerate(network.layers):
        if not (np.isfinite(layer.dW).all() and np.isfinite(layer.db).all()):
            return f"layers[{i}] ({layer.activation}) gradient"
    last = len(network.layers) - 1
    return (f"no activation or gradient; the loss of the output layers[{last}] "
            f"({network.layers[-1].activation}) overflowed")


def _copy_state(optimizer):
    try:
        return copy.deepcopy(optimizer.__dict__)
    except Exception:  # an optimizer whose state cannot be copied: parameters are restored alone
        return None


def _restore(network, optimizer, snap, order, steps, X, t, sizes, bufs, loss) -> None:
    """Reset parameters and optimizer state to ``snap`` (an epoch start), then replay ``steps`` batches."""
    params, opt_state, _ = snap
    for p, saved in zip(network.parameters(), params, strict=True):
        np.copyto(p, saved)
    if opt_state is not None:
        optimizer.__dict__.update(copy.deepcopy(opt_state))
    grads = network.gradients()
    start = 0
    for size in sizes[:steps]:
        idx = order[start : start + size]
        start += size
        xb, tb = bufs[size]
        np.take(X, idx, axis=0, out=xb)
        np.take(t, idx, axis=0, out=tb)
        _, grad = loss_and_grad(loss, network._forward(xb), tb)
        network.backward(grad)
        optimizer.step(network.parameters(), grads)


# ------------------------------------------------------------------------------------------------


def _check_fit_data(network: Network, X, y, X_val, y_val, loss: str):
    """``(X, targets, (X_val, val_targets) or None)`` in the network's dtype, checked against its sizes."""
    dtype = network.dtype
    X = np.ascontiguousarray(as_float_array(X, "X", ndim=2, dtype=dtype))
    if X.shape[1] != network.d_in:
        raise InputError(f"X must have shape (N, {network.d_in}) for this network, got {X.shape}")
    t = np.ascontiguousarray(prepare_targets(y, loss, X.shape[0], network.d_out, dtype, "y"))
    if (X_val is None) != (y_val is None):
        raise InputError("X_val and y_val must be given together, got only one of them")
    if X_val is None:
        return X, t, None
    X_val = as_float_array(X_val, "X_val", ndim=2, dtype=dtype)
    if X_val.shape[1] != network.d_in:
        raise InputError(f"X_val must have shape (M, {network.d_in}), got {X_val.shape}")
    return X, t, (X_val, prepare_targets(y_val, loss, X_val.shape[0], network.d_out, dtype, "y_val"))


def _nonfinite(network: Network, optimizer, value: float, epoch: int, b_index: int, snaps: tuple,
               data: tuple) -> NonFiniteError:
    """Restore the last good parameters (see :func:`fit`) and return the error naming epoch, batch and layer.

    ``snaps`` is (this epoch's snapshot, the previous epoch's or None); ``data`` is
    (X, targets, batch sizes, buffers, loss) as :func:`fit` holds them.
    """
    snap, prev_snap = snaps
    X, t, sizes, bufs, loss = data
    where = _first_nonfinite_layer(network)
    if b_index > 0:  # last good: before this epoch's step b_index
        _restore(network, optimizer, snap, snap[2], b_index - 1, X, t, sizes, bufs, loss)
    elif prev_snap is not None:  # last good: before the previous epoch's last step
        _restore(network, optimizer, prev_snap, prev_snap[2], len(sizes) - 1, X, t, sizes, bufs, loss)
    else:  # the first loss was already non-finite: the initial parameters stay
        _restore(network, optimizer, snap, snap[2], 0, X, t, sizes, bufs, loss)
    err = NonFiniteError(
        f"training produced a non-finite loss ({value}) at epoch {epoch}, batch {b_index + 1}; "
        f"first non-finite: {where}; the parameters are restored to their last good "
        "values (those of the last batch with a finite loss)"
    )
    err.epoch, err.batch, err.layer = epoch, b_index + 1, where
    return err


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
    ValueError (InputError) for bad arguments; NonFiniteError naming the epoch, the batch and the
    first layer with a non-finite value when the loss becomes NaN or inf (attributes ``epoch``,
    ``batch``, ``layer``). The network's parameters and the optimizer's state are then restored to
    their last good values: those the last batch with a finite loss was computed with (found by
    replaying the epoch from a once-per-epoch snapshot, so training pays nothing per batch).
    """
    epochs, batch_size = _check_fit_args(network, epochs, batch_size, optimizer)
    X, t, val = _check_fit_data(network, X, y, X_val, y_val, loss)
    rng = as_generator(seed, "seed")
    n = X.shape[0]
    n_full, rest = divmod(n, batch_size)
    sizes = [batch_size] * n_full + ([rest] if rest else [])
    bufs = {b: (np.empty((b, X.shape[1]), network.dtype), np.empty((b, t.shape[1]), network.dtype))
            for b in set(sizes)}
    history = History()
    snap = None
    report = LoopProgress(progress, epochs=epochs, batches=len(sizes), desc=type(network).__name__)
    # overflow turns into inf/NaN silently here and is reported as a NonFiniteError below
    with blas_threads_limit(blas_threads), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for epoch in range(1, epochs + 1):
                start_time = time.perf_counter()
                report.start_epoch(epoch)
                order = rng.permutation(n) if shuffle else np.arange(n)
                # once per epoch (no per-batch cost): parameters and optimizer state, so a non-finite
                # loss can restore the last good parameters by replaying this epoch's batches
                prev_snap, snap = snap, ([p.copy() for p in network.parameters()], _copy_state(optimizer), order)
                lr = float(getattr(optimizer, "lr", float("nan")))
                total, correct = _train_epoch(network, optimizer, loss, (X, t, sizes, bufs), order, epoch,
                                              (snap, prev_snap), report)
                if hasattr(optimizer, "end_epoch"):
                    optimizer.end_epoch()
                _record_epoch(history, network, loss, val, total / n, correct / n, lr, start_time, report)
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


def _train_epoch(network: Network, optimizer: Any, loss: str, data: tuple, order: np.ndarray, epoch: int,
                 snaps: tuple, report: LoopProgress) -> tuple[float, float]:
    """One pass over ``order`` in minibatches: (summed loss, number correct) over the epoch's samples.

    ``data`` is (X, t, batch sizes, preallocated batch buffers by size); ``snaps`` the epoch's and the
    previous epoch's snapshots, for restoring the last good parameters on a non-finite loss.
    """
    X, t, sizes, bufs = data
    params, grads = network.parameters(), network.gradients()
    last_act = network.layers[-1].activation
    total, correct, start = 0.0, 0.0, 0
    for b_index, size in enumerate(sizes):
        idx = order[start : start + size]
        start += size
        xb, tb = bufs[size]
        np.take(X, idx, axis=0, out=xb)
        np.take(t, idx, axis=0, out=tb)
        out = network._forward(xb)
        value, grad = loss_and_grad(loss, out, tb)
        if not np.isfinite(value):
            raise _nonfinite(network, optimizer, value, epoch, b_index, snaps, (X, t, sizes, bufs, loss))
        total += value * size
        correct += count_correct(loss, out, tb, last_act)
        network.backward(grad)
        optimizer.step(params, grads)
        report.step(1, total / start)
    return total, correct


def _record_epoch(history: History, network: Network, loss: str, val: Any, train_loss: float, train_acc: float,
                  lr: float, start_time: float, report: LoopProgress) -> None:
    """Append the epoch's numbers (validation evaluated now) and report them."""
    history.train_loss.append(train_loss)
    history.train_acc.append(train_acc)
    history.lr.append(lr)
    extra = {}
    if val is not None:
        extra["val_loss"], extra["val_acc"] = _evaluate(network, *val, loss)
        history.val_loss.append(extra["val_loss"])
        history.val_acc.append(extra["val_acc"])
    history.epoch_time.append(time.perf_counter() - start_time)
    report.end_epoch(train_loss, train_acc, history.epoch_time[-1], **extra)

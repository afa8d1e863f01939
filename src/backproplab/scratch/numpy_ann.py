"""``NumpyANN``: the course's one-hidden-layer classifier in NumPy, exactly as contracted.

The contract is ``docs/CONTRACTS.md`` part A1 (the "Purdue" homework); every method below
keeps the course's name, argument order and return type, so a student's file and this reference
can be held against each other.

Forward (``_forward``), for a batch ``X`` of shape (m, input_size)::

    z1 = X @ W1 + b1          a1 = relu(z1)
    z2 = a1 @ W2 + b2         a2 = softmax(z2)          (row-wise, shape (m, K))

Loss (``_cross_entropy(y_true, y_pred)``, truth first), with K the number of classes: one row gives
``-(1/K) Σ_k y_k log p_k``; a batch gives the mean of that over its rows (the contract is silent on
batches; a checker compares one-row values only).

Backward (``_backward(X, y_true)``), using the values ``_forward(X, True)`` stored::

    dz2 = a2 - Y
    dW2 = a1.T @ dz2 / m      db2 = Σ_rows dz2 / m
    dz1 = (dz2 @ W2.T) * relu'(z1)
    dW1 = X.T @ dz1 / m       db1 = Σ_rows dz1 / m
    θ ← θ - lr · dθ           (in place, for W1, b1, W2, b2)

**The scale of the two.** ``(a2 - Y) / m`` is the gradient, with respect to ``z2``, of the *mean
softmax cross-entropy* ``L = -(1/m) Σ_n Σ_k Y log a2`` (no ``1/K``). The course's reported loss is
``L / K``, so ``dθ = K · ∂(_cross_entropy)/∂θ``: the step ``lr · dθ`` is a step of ``lr · K`` on the
loss the course prints. The tests check the backward pass against finite differences of ``L``
and of ``K · _cross_entropy``.

The math itself comes from :mod:`backproplab.scratch.functional`: ``_relu``, ``_relu_grad`` and
``_softmax`` *are* ``functional.relu``, ``relu_grad`` and ``softmax``; the loss ``_ce`` calls
``functional.raw_cross_entropy`` and ``dz2`` is ``functional.softmax_cross_entropy_delta``. Training stops with a
:class:`~backproplab.errors.NonFiniteError` when the loss or the weights stop being finite, with
the weights of the start of the failing epoch restored: the policy of both engines' ``fit``
(:mod:`backproplab.divergence`).
"""

from __future__ import annotations

import math

import numpy as np

from backproplab.checks import check_seed
from backproplab.divergence import Diverged, EpochRollback
from backproplab.errors import InputError
from backproplab.history import History
from backproplab.progress import LoopProgress
from backproplab.scratch._checks import as_float_array, check_labels, check_positive
from backproplab.scratch.functional import (
    CROSS_ENTROPY_EPS,
    raw_cross_entropy,
    relu,
    relu_grad,
    softmax,
    softmax_cross_entropy_delta,
)
from backproplab.scratch.threads import blas_threads as blas_threads_limit

__all__ = ["NumpyANN", "MAX_PARAMETERS"]

#: At most this many weights (W1 and W2 together: 800 MB in float64); larger sizes are refused
#: before anything is allocated.
MAX_PARAMETERS = 10**8
#: ``y_pred`` is clipped to ``[EPS, 1]`` inside the logarithm of ``_cross_entropy`` (functional's).
EPS = CROSS_ENTROPY_EPS
PARAMS = ("W1", "b1", "W2", "b2")


def _check_sizes(input_size: int, hidden_size: int, output_size: int) -> None:
    weights = input_size * hidden_size + hidden_size * output_size
    if weights > MAX_PARAMETERS:
        raise InputError(
            f"input_size, hidden_size, output_size = {input_size}, {hidden_size}, {output_size} need "
            f"{weights:,} weights ({weights * 8 / 1e9:.3g} GB in float64); at most {MAX_PARAMETERS:,} "
            "are allowed: choose smaller sizes")


def _initial_weights(seed, input_size: int, hidden_size: int, output_size: int):
    """The course's draw: ``np.random.seed(seed)``, then W1, then W2, each ``0.01 * randn``.

    A ``numpy.random.Generator`` as ``seed`` (an opt-in beyond the contract) draws from it instead
    and leaves NumPy's global generator alone.
    """
    if isinstance(seed, np.random.Generator):
        return (0.01 * seed.standard_normal((input_size, hidden_size)),
                0.01 * seed.standard_normal((hidden_size, output_size)))
    try:
        seed = check_seed(seed)  # [0, 2**32): np.random.seed's range
    except InputError as err:
        raise InputError(f"{err} (or a numpy Generator)") from None
    np.random.seed(seed)
    W1 = 0.01 * np.random.randn(input_size, hidden_size)
    W2 = 0.01 * np.random.randn(hidden_size, output_size)
    return W1, W2


def _label_array(y, name: str, n_classes: int) -> np.ndarray:
    """``y`` as one array; a clear error when it mixes integer labels with one-hot rows."""
    want = f"integer labels of shape (N,) or one-hot rows of shape (N, {n_classes})"
    if isinstance(y, (list, tuple)) and len({np.ndim(v) for v in y}) > 1:
        first = [np.ndim(v) for v in y]
        i = next(k for k, d in enumerate(first) if d != first[0])
        raise InputError(f"{name} must be {want}, not a mix of both: entry 0 is "
                         f"{'a label' if first[0] == 0 else 'a row'}, entry {i} is "
                         f"{'a label' if first[i] == 0 else 'a row'}")
    try:
        arr = np.asarray(y)
    except (ValueError, TypeError):
        raise InputError(f"{name} must be {want}; it could not be read as one array "
                         "(rows of different lengths?)") from None
    if arr.dtype == object:
        raise InputError(f"{name} must be {want}; got entries of mixed kinds (dtype object)")
    return arr


class NumpyANN:
    """One hidden ReLU layer and a softmax output, trained by minibatch SGD (CONTRACTS.md A1).

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Widths; ``output_size`` is the number of classes K (at least 2).
    lr : float > 0
        The SGD step size of :meth:`_backward`.
    seed : int
        ``np.random.seed(seed)`` is called, then ``W1`` and then ``W2`` are drawn as
        ``0.01 * np.random.randn(...)`` (NumPy's legacy global generator, as the course does).
        A ``numpy.random.Generator`` is accepted as an opt-in (draws from it, global state untouched).
    dtype : float64 (the course's, default) or float32 (opt-in: about twice as fast)

    Attributes
    ----------
    W1 : (input_size, hidden_size);  b1 : (1, hidden_size), zeros
    W2 : (hidden_size, output_size); b2 : (1, output_size), zeros
    z1, a1, z2, a2 : what the last ``_forward(x, training=True)`` stored
    dW1, db1, dW2, db2 : the gradients of the last :meth:`_backward`
    history : the dict returned by the last :meth:`train`
    """

    _relu = staticmethod(relu)
    _relu_grad = staticmethod(relu_grad)
    _softmax = staticmethod(softmax)

    def __init__(self, input_size: int, hidden_size: int, output_size: int, lr: float = 0.1, seed=0,
                 *, dtype=np.float64) -> None:
        self.input_size = check_positive(input_size, "input_size", integer=True, minimum=1)
        self.hidden_size = check_positive(hidden_size, "hidden_size", integer=True, minimum=1)
        self.output_size = check_positive(output_size, "output_size", integer=True, minimum=2)
        _check_sizes(self.input_size, self.hidden_size, self.output_size)
        self.lr = check_positive(lr, "lr")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise InputError(f"dtype must be float32 or float64, got {self.dtype}")
        W1, W2 = _initial_weights(seed, self.input_size, self.hidden_size, self.output_size)
        self.seed = seed
        self.W1 = W1.astype(self.dtype, copy=False)
        self.W2 = W2.astype(self.dtype, copy=False)
        self.b1 = np.zeros((1, self.hidden_size), dtype=self.dtype)
        self.b2 = np.zeros((1, self.output_size), dtype=self.dtype)
        self.dW1, self.db1 = np.zeros_like(self.W1), np.zeros_like(self.b1)
        self.dW2, self.db2 = np.zeros_like(self.W2), np.zeros_like(self.b2)
        self._step = {name: np.empty_like(getattr(self, name)) for name in PARAMS}
        self.z1 = self.a1 = self.z2 = self.a2 = None
        self.history: dict[str, list[float]] = {}

    def __repr__(self) -> str:
        return (f"NumpyANN({self.input_size}, {self.hidden_size}, {self.output_size}, lr={self.lr}, "
                f"dtype={self.dtype.name})")

    # ------------------------------------------------------------------------------------------
    # the loss
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _ce(Y: np.ndarray, P: np.ndarray) -> float:
        """The contract's loss on prepared (N, K) targets and probabilities, unchecked (the hot loop):
        :func:`~backproplab.scratch.functional.raw_cross_entropy` with the arguments truth first."""
        return raw_cross_entropy(P, Y)

    def _cross_entropy(self, y_true, y_pred) -> float:
        """The course's cross-entropy, **truth first**: per row ``-(1/K) Σ_k y_true_k log y_pred_k``.

        Parameters
        ----------
        y_true : one-hot (N, K) (or (K,) for one sample), or integer labels (N,)
        y_pred : probabilities (N, K) (or (K,) for one sample), e.g. the output of ``_forward``;
            clipped to ``[1e-12, 1]`` inside the logarithm.

        Returns
        -------
        float: the per-row value averaged over the N rows (K is the number of classes, the
        columns of ``y_pred``).

        Raises
        ------
        InputError when the arguments look swapped (``y_true`` not 0/1 valued while ``y_pred`` is),
        when ``y_pred`` is not in [0, 1], or when the shapes disagree.
        """
        P = as_float_array(y_pred, "y_pred", ndim=(1, 2))
        one_sample = P.ndim == 1
        P = np.atleast_2d(P)
        n, k = P.shape
        arr = _label_array(y_true, "y_true", k)
        if one_sample and arr.shape == (k,):
            arr = arr[None, :]
        if arr.shape == P.shape and np.issubdtype(arr.dtype, np.number):
            zero_one_pred = bool(np.isin(P, (0.0, 1.0)).all())
            zero_one_true = bool(np.isin(arr, (0, 1)).all())
            if zero_one_pred and not zero_one_true:
                raise InputError(
                    "y_true holds values other than 0 and 1 while y_pred is one-hot: the arguments look "
                    "swapped; the order is _cross_entropy(y_true, y_pred), truth first")
        if (P < 0).any() or (P > 1).any():
            raise InputError(f"y_pred must hold probabilities in [0, 1] (the softmax output), got range "
                             f"[{P.min():.4g}, {P.max():.4g}]; the order is (y_true, y_pred), truth first")
        Y = check_labels(arr, k, n, "y_true")
        return self._ce(Y, P)

    # ------------------------------------------------------------------------------------------
    # forward and backward
    # ------------------------------------------------------------------------------------------
    def _forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Class probabilities ``a2`` (N, output_size) for ``x`` (N, input_size).

        With ``training=True`` it stores ``self.z1, self.a1, self.z2, self.a2`` for
        :meth:`_backward`; with ``training=False`` it stores nothing.
        """
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:  # one cheap look: no matmul traceback
            raise InputError(f"x must have shape (N, {self.input_size}) (or ({self.input_size},) for one "
                             f"sample), got {x.shape}")
        z1 = x @ self.W1 + self.b1
        a1 = self._relu(z1)
        z2 = a1 @ self.W2 + self.b2
        a2 = self._softmax(z2)
        if training:
            self.z1, self.a1, self.z2, self.a2 = z1, a1, z2, a2
        return a2

    def _backward(self, X: np.ndarray, y_true) -> None:
        """One SGD step from the values the last ``_forward(X, training=True)`` stored.

        ``dz2 = a2 - y_true``; every gradient is divided by ``m`` (the rows of ``X``) and stored in
        ``dW1, db1, dW2, db2``; then ``W1, b1, W2, b2`` are updated in place by ``-lr * grad``.
        ``y_true`` is one-hot (m, output_size) (integer labels (m,) are accepted too). Returns None.
        """
        if self.a2 is None or np.shape(X)[0] != self.a2.shape[0]:
            raise InputError("X must be the batch of the preceding _forward(X, training=True) call")
        X = np.asarray(X, dtype=self.dtype)
        m = X.shape[0]
        if isinstance(y_true, np.ndarray) and y_true.shape == self.a2.shape:
            Y = y_true.astype(self.dtype, copy=False)
        else:
            Y = self._onehot(y_true, m, "y_true")
        # the weight gradients are written into the arrays made once in __init__ (out=, /= m in
        # place): the same numbers as a1.T @ dz2 / m and X.T @ dz1 / m, without two fresh
        # input_size x hidden_size arrays per batch
        dz2 = softmax_cross_entropy_delta(self.a2, Y)  # a2 - Y
        np.dot(self.a1.T, dz2, out=self.dW2)
        self.dW2 /= m
        self.db2 = dz2.sum(axis=0, keepdims=True) / m
        dz1 = (dz2 @ self.W2.T) * self._relu_grad(self.z1)
        np.dot(X.T, dz1, out=self.dW1)
        self.dW1 /= m
        self.db1 = dz1.sum(axis=0, keepdims=True) / m
        step = self._step  # θ ← θ - lr · dθ, in place (lr · dθ written into a buffer made once)
        self.W1 -= np.multiply(self.dW1, self.lr, out=step["W1"])
        self.b1 -= np.multiply(self.db1, self.lr, out=step["b1"])
        self.W2 -= np.multiply(self.dW2, self.lr, out=step["W2"])
        self.b2 -= np.multiply(self.db2, self.lr, out=step["b2"])

    # ------------------------------------------------------------------------------------------
    # checks at the door
    # ------------------------------------------------------------------------------------------
    def _onehot(self, y, n: int, name: str) -> np.ndarray:
        arr = _label_array(y, name, self.output_size)
        return check_labels(arr, self.output_size, n, name).astype(self.dtype, copy=False)

    def _check_X(self, X, name: str) -> np.ndarray:
        # a float array keeps its dtype here (float32 pixels are not copied whole into float64);
        # each batch is converted to the model's dtype as it enters _forward
        X = as_float_array(X, name, ndim=2)
        if X.shape[1] != self.input_size:
            raise InputError(f"{name} must have shape (N, {self.input_size}), got {X.shape}")
        return X

    def _check_data(self, X, y, x_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
        X = self._check_X(X, x_name)
        return X, self._onehot(y, X.shape[0], y_name)

    # ------------------------------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------------------------------
    def train(self, X_train, y_train, X_val=None, y_val=None, epochs: int = 10, batch_size: int = 64,
              *, shuffle: bool = False, progress: bool | None = None,
              blas_threads: int | None = None) -> dict[str, list[float]]:
        """Minibatch SGD for ``epochs`` epochs; returns the per-epoch history.

        Each epoch takes minibatches of ``batch_size`` rows in order (the contract's reading;
        ``shuffle=True`` draws a new order each epoch from a generator seeded with ``seed``), and
        for each runs ``_forward(batch, True)`` then ``_backward(batch, y_batch)``.

        Parameters
        ----------
        X_train : (N, input_size); y_train : one-hot (N, output_size) or integer labels (N,)
        X_val, y_val : optional validation set of the same kind
        epochs, batch_size : int >= 1
        shuffle : opt-in
        progress : a bar with epoch, batch and running loss (one line per epoch in a log); None:
            when the run asks for it (``reproduce``, the CLI; see :mod:`backproplab.progress`)
        blas_threads : cap on BLAS threads while training (None: unchanged)

        Returns
        -------
        dict of per-epoch lists: ``train_loss`` (the contract's ``_cross_entropy`` averaged over
        the epoch's batches as they were trained), ``train_acc``, ``val_loss`` (``_cross_entropy``
        on the validation set after the epoch) and ``val_acc`` (empty without validation data).
        Also kept as ``self.history``.

        Raises
        ------
        InputError for bad arguments. NonFiniteError (attributes ``epoch``, ``batch``, ``layer``, and
        ``history``: a :class:`~backproplab.history.History` of the epochs before, ``lr`` filled in) when a batch's loss or the weights stop being finite (a step size or inputs far too
        large); the weights are then restored to those of the start of the failing epoch, the
        policy of :mod:`backproplab.divergence`.
        """
        X, Y = self._check_data(X_train, y_train, "X_train", "y_train")
        if (X_val is None) != (y_val is None):
            raise InputError("X_val and y_val must be given together, got only one of them")
        val = None if X_val is None else self._check_data(X_val, y_val, "X_val", "y_val")
        epochs = check_positive(epochs, "epochs", integer=True, minimum=1)
        batch_size = check_positive(batch_size, "batch_size", integer=True, minimum=1)
        rng = np.random.default_rng(self.seed) if shuffle else None
        history: dict[str, list[float]] = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
        labels = Y.argmax(axis=1)
        rollback = self._rollback()
        report = LoopProgress(progress, epochs=epochs, batches=math.ceil(X.shape[0] / batch_size), desc="NumpyANN")
        with blas_threads_limit(blas_threads), np.errstate(over="ignore", invalid="ignore", divide="ignore"), report:
            for epoch in range(1, epochs + 1):
                report.start_epoch(epoch)
                order = rng.permutation(X.shape[0]) if rng is not None else None
                rollback.start_epoch()
                try:
                    loss, correct = self._train_epoch(X, Y, labels, batch_size, order, report)
                except Diverged as div:
                    # the error's history is a History, as from both fits' errors; train's own return
                    # value stays the contract's plain dict
                    raise rollback.fail(div, epoch, History.from_dict(
                        {**history, "lr": [self.lr] * len(history["train_loss"])})) from None
                history["train_loss"].append(loss / X.shape[0])
                history["train_acc"].append(correct / X.shape[0])
                if val is not None:
                    pv = self.predict(val[0])
                    history["val_loss"].append(self._ce(val[1], pv))
                    history["val_acc"].append(float(np.mean(pv.argmax(axis=1) == val[1].argmax(axis=1))))
                report.end_epoch(history["train_loss"][-1], history["train_acc"][-1], **(
                    {"val_loss": history["val_loss"][-1], "val_acc": history["val_acc"][-1]} if val is not None else {}))
        self.history = history
        return history

    @staticmethod
    def _batches(n: int, batch_size: int, order):
        for start in range(0, n, batch_size):
            yield slice(start, start + batch_size) if order is None else order[start:start + batch_size]

    def _train_epoch(self, X, Y, labels, batch_size, order, report) -> tuple[float, int]:
        """One epoch over ``order`` (None: in order); returns (sum of per-row losses, correct count).

        Raises :class:`~backproplab.divergence.Diverged` at the first batch whose loss is not finite,
        or after the last batch when its update made the weights non-finite.
        """
        total, correct, b, rows = 0.0, 0, -1, 0
        n_batches = -(-X.shape[0] // batch_size)
        for b, idx in enumerate(self._batches(X.shape[0], batch_size, order)):
            xb, yb = X[idx], Y[idx]
            a2 = self._forward(xb, training=True)
            loss = self._ce(yb, a2)
            if not math.isfinite(loss):
                raise Diverged(b + 1, n_batches, loss)
            total += loss * xb.shape[0]
            correct += int(np.count_nonzero(a2.argmax(axis=1) == labels[idx]))
            self._backward(xb, yb)
            rows += xb.shape[0]
            report.step(1, total / rows)
        if not all(np.isfinite(getattr(self, p)).all() for p in PARAMS):
            raise Diverged(n_batches, n_batches, parameters=True)  # the last update made the weights non-finite
        return total, correct

    def _rollback(self) -> EpochRollback:
        """The divergence policy of :mod:`backproplab.divergence` for the four weight arrays."""

        def restore(saved: list[np.ndarray]) -> None:
            for name, value in zip(PARAMS, saved, strict=True):
                np.copyto(getattr(self, name), value)

        return EpochRollback(save=lambda: [getattr(self, p).copy() for p in PARAMS], restore=restore,
                             locate=lambda _snapshot, _div: self._first_nonfinite())

    def _first_nonfinite(self) -> str:
        where = (("z1", "hidden pre-activation X @ W1 + b1"), ("a1", "hidden activation relu(z1)"),
                 ("z2", "output logits a1 @ W2 + b2"), ("a2", "output probabilities softmax(z2)"))
        for name, what in where:
            value = getattr(self, name)
            if value is not None and not np.isfinite(value).all():
                return f"{name} ({what})"
        for name in PARAMS:
            if not np.isfinite(getattr(self, name)).all():
                return name
        return "none of z1, a1, z2, a2 or the weights (the loss itself overflowed)"

    # ------------------------------------------------------------------------------------------
    def predict(self, X, batch_size: int = 8192) -> np.ndarray:
        """``_forward(X, training=False)``: probabilities (N, output_size), rows summing to 1.

        ``batch_size`` (an int >= 1) only bounds the memory of one forward pass; the result is the same.
        """
        X = self._check_X(X, "X")
        batch_size = check_positive(batch_size, "batch_size", integer=True, minimum=1)
        return np.concatenate([self._forward(X[s:s + batch_size], training=False)
                               for s in range(0, X.shape[0], batch_size)])

    def accuracy(self, X, y_true) -> float:
        """Mean of ``argmax(predict(X)) == argmax(y_true)`` (``y_true`` one-hot, or integer labels)."""
        X = self._check_X(X, "X")
        Y = self._onehot(y_true, X.shape[0], "y_true")
        return float(np.mean(self.predict(X).argmax(axis=1) == Y.argmax(axis=1)))

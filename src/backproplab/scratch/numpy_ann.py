"""``NumpyANN``: the course's one-hidden-layer classifier in NumPy, with the course's method names.

Architecture: ``x (N, input_size) -> Linear -> ReLU -> Linear -> softmax``, trained with
cross-entropy by plain minibatch SGD.

    z1 = X @ W1 + b1          a1 = relu(z1)
    z2 = a1 @ W2 + b2         p  = softmax(z2)
    L  = -(1/N) sum_n log p[n, y_n]

    dz2 = (p - Y) / N                      (softmax and cross-entropy together)
    dW2 = a1.T @ dz2          db2 = sum_n dz2
    dz1 = (dz2 @ W2.T) * relu'(z1)
    dW1 = X.T @ dz1           db1 = sum_n dz1

The arithmetic writes into buffers allocated once per batch size (``out=`` arguments, in-place
bias, ReLU and softmax), which is what makes an epoch faster than scikit-learn's MLPClassifier.
"""

from __future__ import annotations

import numpy as np

from backproplab.errors import InputError
from backproplab.scratch._checks import as_float_array, check_labels, check_positive
from backproplab.scratch.init import as_generator
from backproplab.scratch.threads import blas_threads as blas_threads_limit


class NumpyANN:
    """One hidden ReLU layer and a softmax output, trained by minibatch SGD on cross-entropy.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
    lr : float > 0
        The SGD step size.
    seed : int or numpy.random.Generator
        Source of the initial weights and of the per-epoch shuffles.
    dtype : float64 (the course's) or float32 (twice as fast; the same accuracy here)

    Attributes
    ----------
    W1 : (input_size, hidden_size), ``0.01 * randn``;   b1 : (1, hidden_size), zeros
    W2 : (hidden_size, output_size), ``0.01 * randn``;  b2 : (1, output_size), zeros
    dW1, db1, dW2, db2 : the gradients of the last :meth:`_backward`
    history : the dict returned by the last :meth:`train`
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        lr: float = 0.1,
        seed=0,
        dtype=np.float64,
    ) -> None:
        self.input_size = check_positive(input_size, "input_size", integer=True, minimum=1)
        self.hidden_size = check_positive(hidden_size, "hidden_size", integer=True, minimum=1)
        self.output_size = check_positive(output_size, "output_size", integer=True, minimum=2)
        self.lr = check_positive(lr, "lr")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise InputError(f"dtype must be float32 or float64, got {self.dtype}")
        self.rng = as_generator(seed, "seed")
        rng = self.rng
        self.W1 = (0.01 * rng.standard_normal((self.input_size, self.hidden_size))).astype(self.dtype)
        self.b1 = np.zeros((1, self.hidden_size), dtype=self.dtype)
        self.W2 = (0.01 * rng.standard_normal((self.hidden_size, self.output_size))).astype(self.dtype)
        self.b2 = np.zeros((1, self.output_size), dtype=self.dtype)
        self.dW1 = np.zeros_like(self.W1)
        self.db1 = np.zeros_like(self.b1)
        self.dW2 = np.zeros_like(self.W2)
        self.db2 = np.zeros_like(self.b2)
        self._step = [np.empty_like(p) for p in (self.W1, self.b1, self.W2, self.b2)]
        self._buf: dict[int, dict[str, np.ndarray]] = {}
        self._cache: dict[str, np.ndarray] | None = None
        self.history: dict[str, list[float]] = {}

    def __repr__(self) -> str:
        return (
            f"NumpyANN({self.input_size}, {self.hidden_size}, {self.output_size}, lr={self.lr}, "
            f"dtype={self.dtype.name})"
        )

    # ------------------------------------------------------------------------------------------
    # the pieces, each with its derivative
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _relu(x: np.ndarray) -> np.ndarray:
        """``max(x, 0)``."""
        return np.maximum(x, 0)

    @staticmethod
    def _relu_grad(x: np.ndarray) -> np.ndarray:
        """``relu'(x)``: 1 where ``x > 0``, else 0 (same dtype as ``x``)."""
        return (x > 0).astype(x.dtype)

    @staticmethod
    def _softmax(x: np.ndarray) -> np.ndarray:
        """Row-wise softmax of logits (N, K), shifted by the row maximum so nothing overflows."""
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def _cross_entropy(self, y_pred: np.ndarray, y_true) -> float:
        """Mean over the batch of ``-sum_k y_true log y_pred``; ``y_true`` one-hot (N, K) or labels (N,).

        ``y_pred`` (probabilities) is clipped to ``[1e-12, 1]`` so ``log(0)`` cannot occur.
        """
        y_pred = np.asarray(y_pred)
        onehot = self._onehot(y_true, y_pred.shape[0], "y_true")
        return float(-np.sum(onehot * np.log(np.clip(y_pred, 1e-12, 1.0))) / y_pred.shape[0])

    # ------------------------------------------------------------------------------------------
    def _buffers(self, n: int) -> dict[str, np.ndarray]:
        buf = self._buf.get(n)
        if buf is None:
            if len(self._buf) >= 4:
                self._buf.clear()
            dt = self.dtype
            buf = self._buf[n] = {
                "x": np.empty((n, self.input_size), dt),
                "y": np.empty((n, self.output_size), dt),
                "a1": np.empty((n, self.hidden_size), dt),
                "da1": np.empty((n, self.hidden_size), dt),
                "mask": np.empty((n, self.hidden_size), bool),
                "p": np.empty((n, self.output_size), dt),
                "m": np.empty((n, 1), dt),
            }
        return buf

    def _forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        """Class probabilities (N, output_size) for ``x`` (N, input_size).

        With ``training=True`` the activations are kept for :meth:`_backward` and the result is a
        buffer reused by the next call with the same batch size; with ``training=False`` nothing is
        kept and a fresh array is returned.
        """
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        if not training:
            a1 = self._relu(x @ self.W1 + self.b1)
            return self._softmax(a1 @ self.W2 + self.b2)
        buf = self._buffers(x.shape[0])
        a1, p, m = buf["a1"], buf["p"], buf["m"]
        np.dot(x, self.W1, out=a1)
        a1 += self.b1
        np.maximum(a1, 0, out=a1)  # ReLU in place; a1 > 0 exactly where z1 > 0
        np.dot(a1, self.W2, out=p)
        p += self.b2
        np.max(p, axis=1, keepdims=True, out=m)  # softmax in place
        p -= m
        np.exp(p, out=p)
        np.sum(p, axis=1, keepdims=True, out=m)
        p /= m
        self._cache = {"x": x, "a1": a1, "p": p, "buf": buf}
        return p

    def _backward(self, X: np.ndarray, y_true: np.ndarray) -> None:
        """Gradients of the mean cross-entropy for the batch of the last ``_forward(X, training=True)``,
        stored in ``dW1, db1, dW2, db2``, then one SGD step ``param -= lr * grad``.

        ``y_true`` is one-hot (N, output_size) or integer labels (N,).
        """
        cache = self._cache
        if cache is None or cache["x"].shape[0] != np.shape(X)[0]:
            raise InputError("X must be the batch of the preceding _forward(X, training=True) call")
        buf = cache["buf"]
        a1, p, x = cache["a1"], cache["p"], cache["x"]
        n = x.shape[0]
        y = y_true if (isinstance(y_true, np.ndarray) and y_true.shape == p.shape) else None
        if y is None:
            y = self._onehot(y_true, n, "y_true")
        dz2 = p  # reuse the probability buffer: dz2 = (p - y) / n
        dz2 -= y
        dz2 *= self.dtype.type(1.0 / n)
        np.dot(a1.T, dz2, out=self.dW2)
        np.sum(dz2, axis=0, keepdims=True, out=self.db2)
        da1 = np.dot(dz2, self.W2.T, out=buf["da1"])
        np.greater(a1, 0, out=buf["mask"])
        da1 *= buf["mask"]  # dz1 = da1 * relu'(z1)
        np.dot(x.T, da1, out=self.dW1)
        np.sum(da1, axis=0, keepdims=True, out=self.db1)
        lr = self.dtype.type(self.lr)
        for param, grad, step in zip(
            (self.W1, self.b1, self.W2, self.b2),
            (self.dW1, self.db1, self.dW2, self.db2),
            self._step,
            strict=True,
        ):
            np.multiply(grad, lr, out=step)
            param -= step
        self._cache = None

    # ------------------------------------------------------------------------------------------
    def _onehot(self, y, n: int, name: str) -> np.ndarray:
        return check_labels(y, self.output_size, n, name).astype(self.dtype, copy=False)

    def _check_X(self, X, name: str) -> np.ndarray:
        X = as_float_array(X, name, ndim=2)
        if X.shape[1] != self.input_size:
            raise InputError(f"{name} must have shape (N, {self.input_size}), got {X.shape}")
        return X

    def train(
        self,
        X_train,
        y_train,
        X_val=None,
        y_val=None,
        epochs: int = 10,
        batch_size: int = 64,
        progress: bool = False,
        blas_threads: int | None = None,
    ) -> dict[str, list[float]]:
        """Minibatch SGD for ``epochs`` epochs; a new shuffle each epoch; returns the history.

        Parameters
        ----------
        X_train : (N, input_size); y_train : integer labels (N,) or one-hot (N, output_size)
        X_val, y_val : optional validation set of the same kind
        epochs, batch_size : int >= 1
        progress : show a tqdm bar over epochs
        blas_threads : cap on BLAS threads while training (None: unchanged; 1 on a busy shared machine)

        Returns
        -------
        dict with lists per epoch: ``train_loss`` and ``train_acc`` (averaged over the epoch's
        batches as they were trained), ``val_loss`` and ``val_acc`` (after the epoch; empty
        without validation data). Also kept as ``self.history``.
        """
        X_train = self._check_X(X_train, "X_train")
        Y = self._onehot(y_train, X_train.shape[0], "y_train")
        epochs = check_positive(epochs, "epochs", integer=True, minimum=1)
        batch_size = check_positive(batch_size, "batch_size", integer=True, minimum=1)
        if (X_val is None) != (y_val is None):
            raise InputError("X_val and y_val must be given together, got only one of them")
        if X_val is not None:
            X_val = self._check_X(X_val, "X_val")
            Y_val = self._onehot(y_val, X_val.shape[0], "y_val")
        labels = Y.argmax(axis=1)
        n = X_train.shape[0]
        history: dict[str, list[float]] = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
        epoch_iter = range(epochs)
        if progress:
            from tqdm.auto import tqdm

            epoch_iter = tqdm(epoch_iter, desc="NumpyANN", unit="epoch", leave=False)
        with blas_threads_limit(blas_threads):
            for _ in epoch_iter:
                order = self.rng.permutation(n)
                total_loss, correct = 0.0, 0
                for start in range(0, n, batch_size):
                    idx = order[start : start + batch_size]
                    buf = self._buffers(idx.shape[0])
                    xb, yb = buf["x"], buf["y"]
                    if X_train.dtype == self.dtype:
                        np.take(X_train, idx, axis=0, out=xb)
                    else:
                        xb[...] = X_train[idx]
                    np.take(Y, idx, axis=0, out=yb)
                    p = self._forward(xb, training=True)
                    lab = labels[idx]
                    total_loss -= float(np.log(np.maximum(p[np.arange(idx.shape[0]), lab], 1e-12)).sum())
                    correct += int(np.count_nonzero(p.argmax(axis=1) == lab))
                    self._backward(xb, yb)
                history["train_loss"].append(total_loss / n)
                history["train_acc"].append(correct / n)
                if X_val is not None:
                    pv = self.predict(X_val)
                    history["val_loss"].append(self._cross_entropy(pv, Y_val))
                    history["val_acc"].append(float(np.mean(pv.argmax(axis=1) == Y_val.argmax(axis=1))))
        self.history = history
        return history

    def predict(self, X, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities (N, output_size) for ``X`` (N, input_size); rows sum to 1."""
        X = self._check_X(X, "X")
        out = np.empty((X.shape[0], self.output_size), dtype=self.dtype)
        for start in range(0, X.shape[0], batch_size):
            out[start : start + batch_size] = self._forward(X[start : start + batch_size], training=False)
        return out

    def accuracy(self, X, y) -> float:
        """The fraction of rows of ``X`` whose most probable class is ``y`` (labels (N,) or one-hot)."""
        X = self._check_X(X, "X")
        Y = self._onehot(y, X.shape[0], "y")
        return float(np.mean(self.predict(X).argmax(axis=1) == Y.argmax(axis=1)))

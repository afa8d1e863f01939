"""A sequential network of dense layers, and the course's functional ``network(x, params)``.

Two forms of the same computation:

* :class:`Network`, a list of :class:`~backproplab.scratch.layers.Dense` layers with ``forward``,
  ``backward``, ``parameters()`` / ``gradients()`` and ``predict`` (what the trainer and the
  gradient checks use);
* :func:`forward`, a pure function of ``x`` and ``params = [(W, b, activation), ...]``, the
  course's ``network(x, params)``: easy to read, nothing cached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from backproplab.errors import InputError
from backproplab.scratch._checks import as_float_array, check_positive
from backproplab.scratch.functional import get_activation, get_loss
from backproplab.scratch.init import SeedLike, as_generator
from backproplab.scratch.layers import Dense


class Network:
    """A sequential stack of dense layers of any depth, mixed activations, float32 or float64.

    Parameters
    ----------
    layers : sequence of Dense
        Consecutive widths must agree (``layers[i].d_out == layers[i+1].d_in``) and all layers
        must share one dtype.

    Examples
    --------
    >>> net = Network.from_sizes([64, 32, 1], ["relu", "sigmoid"], seed=0)
    >>> net.forward(np.zeros((5, 64))).shape
    (5, 1)
    """

    def __init__(self, layers: Sequence[Dense]) -> None:
        layers = list(layers)
        if not layers:
            raise InputError("layers must hold at least one Dense layer, got an empty list")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Dense):
                raise InputError(f"layers[{i}] must be a Dense layer, got {type(layer).__name__}")
        for i, (a, b) in enumerate(zip(layers, layers[1:], strict=False)):
            if a.d_out != b.d_in:
                raise InputError(
                    f"layers[{i + 1}] must take {a.d_out} inputs (the output width of layers[{i}]), got d_in={b.d_in}"
                )
            if a.dtype != b.dtype:
                raise InputError(
                    f"layers must share one dtype, got {a.dtype} and {b.dtype} at layers[{i + 1}]"
                )
        self.layers = layers
        self.dtype = layers[0].dtype

    @classmethod
    def from_sizes(
        cls,
        sizes: Sequence[int],
        activations: str | Sequence[str] = "relu",
        init: str | Sequence[str] = "he",
        seed: SeedLike = 0,
        dtype=np.float64,
    ) -> Network:
        """Build ``len(sizes) - 1`` layers ``sizes[i] -> sizes[i+1]``.

        ``activations``/``init`` are one name for every layer or one per layer. With one activation
        name the last layer is ``"identity"`` (logits), the usual shape of a classifier.
        Layers draw their weights in order from one Generator made from ``seed``.
        """
        sizes = list(sizes)
        if len(sizes) < 2:
            raise InputError(f"sizes must list at least an input and an output width, got {sizes}")
        n = len(sizes) - 1
        if isinstance(activations, str):
            activations = [activations] * (n - 1) + ["identity"]
        if isinstance(init, str) or callable(init):
            init = [init] * n
        for name, value in (("activations", activations), ("init", init)):
            if not hasattr(value, "__len__"):  # len(None) was a bare TypeError
                raise InputError(f"{name} must be one name or a list of {n} (one per layer), got {value!r}")
        if len(activations) != n:
            raise InputError(f"activations must name {n} activations (one per layer), got {len(activations)}")
        if len(init) != n:
            raise InputError(f"init must name {n} initialisers (one per layer), got {len(init)}")
        rng = as_generator(seed, "seed")
        return cls([Dense(sizes[i], sizes[i + 1], activations[i], init[i], rng, dtype) for i in range(n)])

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Network([\n  {inner}\n])"

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def d_in(self) -> int:
        return self.layers[0].d_in

    @property
    def d_out(self) -> int:
        return self.layers[-1].d_out

    # ------------------------------------------------------------------------------------------
    def _forward(self, x: np.ndarray) -> np.ndarray:
        """Forward pass without validation; returns the last layer's own buffer (not a copy)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def forward(self, x) -> np.ndarray:
        """The network's output for ``x`` of shape ``(N, d_in)``: an ``(N, d_out)`` array (a copy).

        Layers cache what :meth:`backward` needs, so ``forward`` then ``backward`` is one training step.
        """
        x = as_float_array(x, "x", ndim=2, dtype=self.dtype)
        if x.shape[1] != self.d_in:
            raise InputError(f"x must have shape (N, {self.d_in}), got {x.shape}")
        return self._forward(x).copy()

    __call__ = forward

    def backward(self, grad_out, need_input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate ``dL/d(output)`` (N, d_out) through every layer, filling each layer's ``dW``/``db``.

        Returns ``dL/dx`` of shape (N, d_in) when ``need_input_grad`` is True, else None (the first
        layer then skips that product, as PyTorch does for inputs that do not require grad).
        """
        g = grad_out
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            g = self.layers[i].backward(g, need_input_grad=need_input_grad or i > 0)
        return g

    def check_inputs(self, X, name: str = "X", dtype=None) -> np.ndarray:
        """``X`` as a float array (N, d_in) in ``dtype`` (default the network's); an :class:`InputError`
        naming ``name`` otherwise. The one check of every door that takes a batch of inputs."""
        X = as_float_array(X, name, ndim=2, dtype=self.dtype if dtype is None else dtype)
        if X.shape[1] != self.d_in:
            raise InputError(f"{name} must have shape (N, {self.d_in}) for this network, got {X.shape}")
        return X

    def predict(self, X, batch_size: int = 4096) -> np.ndarray:
        """The network's output (N, d_out) for ``X`` (N, d_in), computed in batches."""
        X = self.check_inputs(X)
        batch_size = check_positive(batch_size, "batch_size", integer=True, minimum=1)
        out = np.empty((X.shape[0], self.d_out), dtype=self.dtype)
        for start in range(0, X.shape[0], batch_size):
            out[start : start + batch_size] = self._forward(X[start : start + batch_size])
        return out

    def predict_classes(self, X, batch_size: int = 4096) -> np.ndarray:
        """Class labels (N,) int64: the arg-max for several outputs; for one output, 1 where the output
        is above 0.5 (a sigmoid output layer) or above 0 (a logit output layer), else 0."""
        out = self.predict(X, batch_size)
        return _classes(out, self.layers[-1].activation)

    def dead_units(self, X, batch_size: int = 4096) -> list[int | None]:
        """Per layer, how many ReLU units output 0 for every row of ``X`` (``w . x + b <= 0`` on all
        inputs seen): such a unit passes no gradient and cannot recover. None for non-ReLU layers."""
        X = self.check_inputs(X)
        batch_size = check_positive(batch_size, "batch_size", integer=True, minimum=1)
        alive = [np.zeros(layer.d_out, dtype=bool) for layer in self.layers]
        for start in range(0, X.shape[0], batch_size):
            a = X[start : start + batch_size]
            for i, layer in enumerate(self.layers):
                a = layer.forward(a)
                alive[i] |= (a > 0).any(axis=0)
        return [
            int(np.count_nonzero(~alive[i])) if layer.activation == "relu" else None
            for i, layer in enumerate(self.layers)
        ]

    # ------------------------------------------------------------------------------------------
    def parameters(self) -> list[np.ndarray]:
        """``[W1, b1, W2, b2, ...]``, the arrays themselves (updated in place by optimizers)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self) -> list[np.ndarray]:
        """``[dW1, db1, dW2, db2, ...]``, aligned with :meth:`parameters`."""
        return [g for layer in self.layers for g in layer.gradients()]

    def parameter_names(self) -> list[str]:
        """``["layers[0].W", "layers[0].b", ...]``, aligned with :meth:`parameters`."""
        return [f"layers[{i}].{p}" for i in range(len(self.layers)) for p in ("W", "b")]

    def astype(self, dtype) -> Network:
        """A copy of the network with every parameter cast to ``dtype``."""
        return Network([layer.astype(dtype) for layer in self.layers])

    def copy(self) -> Network:
        """An independent copy (same dtype, same parameter values)."""
        return self.astype(self.dtype)

    def as_params(self) -> list[tuple[np.ndarray, np.ndarray, str]]:
        """The network as the course's ``[(W, b, activation), ...]`` list (the arrays themselves)."""
        return [(layer.W, layer.b, layer.activation) for layer in self.layers]

    def loss_and_gradients(self, X, y, loss: str = "softmax_cross_entropy") -> float:
        """One forward and backward pass on a batch; returns the loss, leaves gradients in the layers.

        ``loss`` is a name in :data:`backproplab.scratch.functional.LOSSES`, applied to the output
        of the last layer.
        """
        f, f_grad = get_loss(loss)
        out = self.forward(X)
        value = f(out, y)
        self.backward(f_grad(out, y))
        return value


def _classes(out: np.ndarray, last_activation: str) -> np.ndarray:
    if out.shape[1] > 1:
        return out.argmax(axis=1).astype(np.int64)
    threshold = 0.5 if last_activation == "sigmoid" else 0.0
    return (out[:, 0] > threshold).astype(np.int64)


def forward(x, params: Sequence[tuple[np.ndarray, np.ndarray, str | Callable]]) -> np.ndarray:
    """The course's ``network(x, params)``: apply ``a = f(a @ W + b)`` for each ``(W, b, f)`` in turn.

    Parameters
    ----------
    x : array (N, d_in), or (d_in,) for one sample
    params : list of (W, b, activation)
        ``W`` (d_in, d_out), ``b`` (d_out,) or (1, d_out), ``activation`` a name in ``ACTIVATIONS``
        or a callable.

    Returns
    -------
    ndarray (N, d_out), or (d_out,) for a 1-D ``x``.
    """
    a = as_float_array(x, "x", ndim=(1, 2))
    for i, item in enumerate(params):
        if len(item) != 3:
            raise InputError(f"params[{i}] must be a (W, b, activation) triple, got {len(item)} items")
        W, b, act = item
        W = np.asarray(W)
        if W.ndim != 2 or W.shape[0] != a.shape[-1]:
            raise InputError(f"params[{i}] W must have shape ({a.shape[-1]}, d_out), got {np.shape(W)}")
        b = np.asarray(b)
        if b.shape not in ((W.shape[1],), (1, W.shape[1])):  # a (1,) b broadcast over every unit, unsaid
            raise InputError(f"params[{i}] b must have shape ({W.shape[1]},) or (1, {W.shape[1]}) for a W of "
                             f"shape {W.shape}, got {b.shape}")
        f = act if callable(act) else get_activation(act)[0]
        a = f(a @ W + b.reshape(-1))
    return a

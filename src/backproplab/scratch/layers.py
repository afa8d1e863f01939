"""A dense (fully connected) layer with a hand-written backward pass.

Forward:  ``z = x @ W + b``, ``a = f(z)``.
Backward: given ``dL/da`` (``grad_out``),
``dz = dL/da * f'(z)``, ``dW = x.T @ dz``, ``db = dz.sum(axis=0)``, ``dL/dx = dz @ W.T``.

The activations are :mod:`backproplab.scratch.functional`'s (for ReLU its in-place pair ``relu_``
and ``relu_grad_from_output``). The layer keeps what backward needs (its input ``x`` and ``z``, or
for ReLU only ``a``, since ``a > 0`` exactly where ``z > 0``). Speed: the products write into preallocated buffers
(``np.dot(..., out=...)``), bias and ReLU are applied in place on the same buffer, and the
buffers are reused from batch to batch, so a training step allocates almost nothing.
"""

from __future__ import annotations

import numpy as np

from backproplab.errors import InputError
from backproplab.scratch.functional import get_activation, relu_, relu_grad_from_output
from backproplab.scratch.init import SeedLike, _dtype, make_layer


class _Buffers:
    """Work arrays of one batch size: pre-activation/activation, its gradient, the input gradient."""

    __slots__ = ("z", "dz", "gin", "mask")

    def __init__(self, n: int, d_in: int, d_out: int, dtype) -> None:
        self.z = np.empty((n, d_out), dtype=dtype)
        self.dz = np.empty((n, d_out), dtype=dtype)
        self.gin = np.empty((n, d_in), dtype=dtype)
        self.mask = np.empty((n, d_out), dtype=bool)


class Dense:
    """A fully connected layer ``a = activation(x @ W + b)``.

    Parameters
    ----------
    d_in, d_out : int
        Input and output widths.
    activation : str
        A name in :data:`backproplab.scratch.functional.ACTIVATIONS`: ``"sigmoid"``, ``"tanh"``,
        ``"relu"``, ``"leaky_relu"`` (alpha 0.01), ``"elu"`` (alpha 1.0) or ``"identity"``.
    init : str or callable
        A name in :data:`backproplab.scratch.init.INITIALIZERS` or a callable (see ``make_layer``).
    seed : int, numpy.random.Generator or None
        Source of the initial weights.
    dtype : float32 or float64

    Attributes
    ----------
    W : ndarray (d_in, d_out)
    b : ndarray (d_out,)
    dW, db : ndarrays of the same shapes, the gradients written by :meth:`backward`.

    Notes
    -----
    :meth:`forward` returns an array owned by the layer, overwritten by the next forward call
    with the same batch size; copy it to keep it (``Network.forward`` returns a copy).
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        activation: str = "relu",
        init="he",
        seed: SeedLike = None,
        dtype=np.float64,
    ) -> None:
        self.f, self.f_grad = get_activation(activation)
        self.activation = activation
        self.dtype = _dtype(dtype)
        self.W, self.b = make_layer(d_in, d_out, init, seed, self.dtype)
        self.d_in, self.d_out = self.W.shape
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self._buffers: dict[int, _Buffers] = {}
        self._x: np.ndarray | None = None
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None
        self._buf: _Buffers | None = None

    def __repr__(self) -> str:
        return f"Dense({self.d_in}, {self.d_out}, activation={self.activation!r}, dtype={self.dtype.name})"

    # ------------------------------------------------------------------------------------------
    def _buffers_for(self, n: int) -> _Buffers:
        buf = self._buffers.get(n)
        if buf is None:
            if len(self._buffers) >= 4:  # a training run needs two sizes (full and last batch)
                self._buffers.clear()
            buf = self._buffers[n] = _Buffers(n, self.d_in, self.d_out, self.dtype)
        return buf

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``activation(x @ W + b)`` for ``x`` of shape ``(N, d_in)``; returns ``(N, d_out)``.

        ``x`` is converted to the layer's dtype; it is kept (not copied) for the backward pass.
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.d_in:
            raise InputError(f"x must have shape (N, {self.d_in}) for {self!r}, got {x.shape}")
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        buf = self._buffers_for(x.shape[0])
        z = buf.z
        np.dot(x, self.W, out=z)
        z += self.b
        self._x, self._buf = x, buf
        if self.activation == "relu":  # in place: a > 0 exactly where z > 0, so z is not needed
            self._z, self._a = None, relu_(z)
        else:  # (identity(z) is z itself, no copy)
            self._z, self._a = z, self.f(z)
        return self._a

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dL/da`` of shape ``(N, d_out)``; set ``dW``, ``db``; return ``dL/dx`` (N, d_in).

        With ``need_input_grad=False`` (the first layer of a network) the input gradient is not
        computed and None is returned.
        """
        buf = self._buf
        if buf is None:
            raise InputError(f"backward called before forward on {self!r}")
        grad_out = np.asarray(grad_out)
        if grad_out.shape != buf.z.shape:
            raise InputError(
                f"grad_out must have shape {buf.z.shape} (the last output's), got {grad_out.shape}"
            )
        if grad_out.dtype != self.dtype:
            grad_out = grad_out.astype(self.dtype)
        if self.activation == "relu":
            dz = np.multiply(grad_out, relu_grad_from_output(self._a, out=buf.mask), out=buf.dz)
        elif self.activation == "identity":  # identity'(z) = 1: dL/dz is dL/da, nothing to multiply
            dz = grad_out
        else:
            dz = np.multiply(grad_out, self.f_grad(self._z), out=buf.dz)
        np.dot(self._x.T, dz, out=self.dW)
        np.sum(dz, axis=0, out=self.db)
        if not need_input_grad:
            return None
        return np.dot(dz, self.W.T, out=buf.gin)

    # ------------------------------------------------------------------------------------------
    def parameters(self) -> list[np.ndarray]:
        """``[W, b]`` (the arrays themselves: an optimizer updates them in place)."""
        return [self.W, self.b]

    def gradients(self) -> list[np.ndarray]:
        """``[dW, db]``, aligned with :meth:`parameters`."""
        return [self.dW, self.db]

    def astype(self, dtype) -> Dense:
        """A copy of this layer with parameters cast to ``dtype`` (float32 or float64)."""
        dtype = _dtype(dtype)
        new = Dense(self.d_in, self.d_out, self.activation, init="zeros", dtype=dtype)
        new.W[...] = self.W
        new.b[...] = self.b
        return new

    @property
    def output(self) -> np.ndarray | None:
        """The activation of the last forward call (None before any)."""
        return self._a

    @property
    def pre_activation(self) -> np.ndarray | None:
        """``z`` of the last forward call; for ReLU layers, where ``z`` is overwritten, None."""
        return self._z

"""The parsed function ``f(x, y)`` a user typed: its values, its gradient three ways, its text and TeX.

:func:`parse_expression` is the door (type and length checked here, the rest by the parser);
:class:`Expression` evaluates with NumPy or PyTorch and differentiates by forward mode (fast) or
torch autograd (the reference); :func:`finite_difference_gradient` is the third, independent check.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backproplab.errors import InputError
from backproplab.expr.derivative import value_and_partials
from backproplab.expr.evaluate import NUMPY, evaluate, torch_backend
from backproplab.expr.nodes import Node, variables_in
from backproplab.expr.parser import parse_tree
from backproplab.expr.render import to_latex, to_text
from backproplab.expr.vocabulary import MAX_LENGTH

__all__ = ["Expression", "parse_expression", "finite_difference_gradient", "finite_difference_rounding"]


def _float64_pair(x: Any, y: Any, *, broadcast: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """``x`` and ``y`` as float64 arrays, and the shape they broadcast to (ValueError if they do not).

    With ``broadcast`` both come back as read-only views of that shape (forward mode and autograd
    need one shape for x and y; plain evaluation does not, and is cheaper on an outer grid without).
    """
    x64 = np.asarray(x, dtype=np.float64)
    y64 = np.asarray(y, dtype=np.float64)
    shape = np.broadcast_shapes(x64.shape, y64.shape)
    if broadcast:
        x64, y64 = np.broadcast_to(x64, shape), np.broadcast_to(y64, shape)
    return x64, y64, shape


def _float64_copy(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` (a scalar or an array that broadcasts to ``shape``) as a fresh float64 array."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), shape).copy()


class Expression:
    """A parsed function ``f(x, y)``; evaluate it with NumPy or PyTorch, differentiate it.

    Build one with :func:`parse_expression`. Arithmetic is float64 throughout; invalid points
    (``log(-1)``, ``1/0``) give ``nan`` or ``inf`` rather than an exception. Every method taking
    ``x, y`` accepts floats or array-likes that broadcast to one shape ``S`` and returns float64
    arrays of shape ``S``.

    Attributes
    ----------
    text : str
        The text as given.
    tree : Node
        The parsed tree.
    """

    def __init__(self, text: str, tree: Node) -> None:
        self.text = text
        self.tree = tree

    @property
    def variables(self) -> set[str]:
        """The variables the expression uses (a subset of ``{"x", "y"}``)."""
        return variables_in(self.tree)

    def __call__(self, x: Any, y: Any) -> np.ndarray:
        """f at ``x, y`` -> float64 array of shape ``S``."""
        x64, y64, shape = _float64_pair(x, y)
        with np.errstate(all="ignore"):
            return _float64_copy(evaluate(self.tree, {"x": x64, "y": y64}, NUMPY), shape)

    def torch(self, x: Any, y: Any) -> Any:
        """f at torch tensors ``x, y`` (float64), built from differentiable torch operations."""
        import torch  # lazy: see backproplab.expr.evaluate.torch_backend

        value = evaluate(self.tree, {"x": x, "y": y}, torch_backend())
        return value.expand(torch.broadcast_shapes(x.shape, y.shape))

    def value_and_grad(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(f, df/dx, df/dy)`` by forward-mode autodiff (dual numbers) in NumPy; fast, vectorised."""
        x64, y64, shape = _float64_pair(x, y, broadcast=True)
        with np.errstate(all="ignore"):
            f, gx, gy = value_and_partials(self.tree, {"x": x64, "y": y64})
            return _float64_copy(f, shape), _float64_copy(gx, shape), _float64_copy(gy, shape)

    def gradient(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(f, df/dx, df/dy)`` by torch autograd (reverse mode), the reference for checks."""
        import torch  # lazy: see backproplab.expr.evaluate.torch_backend

        x64, y64, shape = _float64_pair(x, y, broadcast=True)
        tx = torch.tensor(x64.copy(), dtype=torch.float64, requires_grad=True)
        ty = torch.tensor(y64.copy(), dtype=torch.float64, requires_grad=True)
        value = self.torch(tx, ty)
        if not value.requires_grad:  # a constant: no graph to differentiate
            return value.detach().numpy().copy(), np.zeros(shape), np.zeros(shape)
        gx, gy = torch.autograd.grad(value.sum(), (tx, ty), allow_unused=True)
        gx = torch.zeros_like(tx) if gx is None else gx
        gy = torch.zeros_like(ty) if gy is None else gy
        return value.detach().numpy().copy(), gx.numpy().copy(), gy.numpy().copy()

    def to_latex(self) -> str:
        """The expression in LaTeX, e.g. ``x^{2} + \\cos\\left(3 \\cdot x\\right)``."""
        return to_latex(self.tree)

    def __str__(self) -> str:
        return to_text(self.tree)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def parse_expression(text: str) -> Expression:
    """Parse ``text`` into an :class:`Expression` of ``x`` and ``y``; never evaluates code.

    Parameters
    ----------
    text : str
        E.g. ``"x^2 + y^2 + x*(y+2) + cos(3*x)"``. Numbers, ``x``, ``y``, ``pi``, ``e``,
        ``+ - * /``, powers ``^`` or ``**``, parentheses and the functions in :data:`FUNCTIONS`.

    Returns
    -------
    Expression

    Raises
    ------
    InputError
        (a ``ValueError``) naming the problem and its 1-based position: unknown names, bad syntax,
        text longer than :data:`MAX_LENGTH`, nesting deeper than :data:`MAX_DEPTH`, literal
        exponents beyond :data:`MAX_EXPONENT`.
    """
    if not isinstance(text, str):
        raise InputError(f"expression must be a string such as 'x^2 + y^2', got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise InputError(f"expression is {len(text)} characters long; at most {MAX_LENGTH} are accepted")
    return Expression(text, parse_tree(text))


def finite_difference_gradient(expr: Expression, x: Any, y: Any, h: float = 1e-6
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Central differences ``(f(x+h_x) - f(x-h_x)) / (2 h_x)`` in x and in y, evaluated with NumPy.

    The step is relative beyond 1: ``h_x = h * max(1, |x|)`` (likewise in y), divided by the distance
    between the two points as floats hold them. A fixed ``h`` at ``x = 1e9`` lost the difference of
    ``x^2`` in rounding (f is 1e18 there: a relative error of 0.04).

    Parameters
    ----------
    expr : Expression
    x, y : float or array-like, broadcastable to one shape ``S``
    h : float
        Relative step, default 1e-6 (error O(h_x^2) plus rounding of order eps |f| / h_x).

    Returns
    -------
    (df/dx, df/dy) : two float64 arrays of shape ``S``
    """
    (ax, bx, dx), (ay, by, dy) = _central_pairs(expr, x, y, h)
    return (ax - bx) / dx, (ay - by) / dy


def finite_difference_rounding(expr: Expression, x: Any, y: Any, h: float = 1e-6
                               ) -> tuple[np.ndarray, np.ndarray]:
    """How far rounding alone may move :func:`finite_difference_gradient`'s quotients (same ``h``):
    ``4 eps (|f(x+h_x)| + |f(x-h_x)|) / (2 h_x)`` in x, likewise in y, f's values taken to be right to
    a few ulps. It is f's size, not its slope, that sets it: at 1e6 + x² + y² it is 2e-3 in units of
    ∂f/∂x = 2x near x = 0.2, so no agreement to 1e-6 can be asked of central differences there.

    Returns ``(rx, ry)``: two float64 arrays of shape ``S``, as :func:`finite_difference_gradient`'s.
    """
    (ax, bx, dx), (ay, by, dy) = _central_pairs(expr, x, y, h)
    eps = np.finfo(np.float64).eps
    return 4 * eps * (np.abs(ax) + np.abs(bx)) / dx, 4 * eps * (np.abs(ay) + np.abs(by)) / dy


def _central_pairs(expr: Expression, x: Any, y: Any, h: float) -> tuple[tuple[np.ndarray, ...], ...]:
    """f one step ahead and one behind in x, then in y, and each pair's distance as floats hold it:
    ``((f(x+h_x, y), f(x-h_x, y), 2 h_x), (f(x, y+h_y), f(x, y-h_y), 2 h_y))``, ``h_x = h · max(1, |x|)``."""
    if not h > 0:
        raise InputError(f"h must be a positive step, got {h!r}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    hx, hy = h * np.maximum(1.0, np.abs(x)), h * np.maximum(1.0, np.abs(y))
    with np.errstate(all="ignore"):
        return ((expr(x + hx, y), expr(x - hx, y), (x + hx) - (x - hx)),
                (expr(x, y + hy), expr(x, y - hy), (y + hy) - (y - hy)))

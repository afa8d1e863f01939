"""Derivatives of a tree by forward-mode autodiff (dual numbers) in NumPy: fast and vectorised.

Each node gives ``(value, d/dx, d/dy)``; a function's derivative comes from the same
:data:`~backproplab.expr.vocabulary.FUNCTIONS` entry as the function. The reference these are
checked against is torch autograd (:meth:`Expression.gradient
<backproplab.expr.expression.Expression.gradient>`) and central finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backproplab.expr.nodes import Call, Neg, Node, Num, Var, literal_value
from backproplab.expr.vocabulary import FUNCTIONS

__all__ = ["value_and_partials"]


def _chain(outer: Any, inner: Any) -> Any:
    """outer * inner, with 0 where the inner derivative is exactly 0 (so 0 * inf stays 0)."""
    return np.where(inner == 0, 0.0, outer * inner)


def value_and_partials(node: Node, env: dict[str, np.ndarray]) -> tuple[Any, Any, Any]:
    """``(f, df/dx, df/dy)`` of ``node`` as NumPy float64; ``env`` holds x and y broadcast to one shape."""
    if isinstance(node, Num):
        return np.float64(node.value), np.float64(0.0), np.float64(0.0)
    if isinstance(node, Var):
        one, zero = np.ones_like(env[node.name]), np.zeros_like(env[node.name])
        return (env[node.name], one, zero) if node.name == "x" else (env[node.name], zero, one)
    if isinstance(node, Neg):
        v, dx, dy = value_and_partials(node.operand, env)
        return -v, -dx, -dy
    if isinstance(node, Call):
        a, ax, ay = value_and_partials(node.arg, env)
        func, deriv, _ = FUNCTIONS[node.func]
        fa = func(a)
        fprime = deriv(a, fa)
        return fa, _chain(fprime, ax), _chain(fprime, ay)
    a, ax, ay = value_and_partials(node.left, env)
    if node.op == "^":
        literal = literal_value(node.right)
        if literal is not None:  # d(a^c) = c a^(c-1) da
            fprime = literal * np.power(a, literal - 1.0)
            return np.power(a, literal), _chain(fprime, ax), _chain(fprime, ay)
        b, bx, by = value_and_partials(node.right, env)
        v = np.power(a, b)  # d(a^b) = a^b (b da / a + log(a) db)
        return (v, _chain(v * b / a, ax) + _chain(v * np.log(a), bx),
                _chain(v * b / a, ay) + _chain(v * np.log(a), by))
    b, bx, by = value_and_partials(node.right, env)
    if node.op == "+":
        return a + b, ax + bx, ay + by
    if node.op == "-":
        return a - b, ax - bx, ay - by
    if node.op == "*":
        return a * b, ax * b + a * bx, ay * b + a * by
    return a / b, (ax * b - a * bx) / (b * b), (ay * b - a * by) / (b * b)

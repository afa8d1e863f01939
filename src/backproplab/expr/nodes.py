"""The parsed tree: one small frozen dataclass per kind of node, and two questions asked of a tree.

A tree is built only by :mod:`~backproplab.expr.parser`; :mod:`~backproplab.expr.evaluate`,
:mod:`~backproplab.expr.derivative` and :mod:`~backproplab.expr.render` walk it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Num", "Var", "Neg", "BinOp", "Call", "Node", "literal_value", "variables_in"]


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: float


@dataclass(frozen=True)
class Var:
    """The variable ``x`` or ``y``."""

    name: str


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with ``op`` one of ``+ - * / ^``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """A whitelisted function of one argument, e.g. ``cos(3*x)``."""

    func: str
    arg: Node


Node = Num | Var | Neg | BinOp | Call


def literal_value(node: Node) -> float | None:
    """The value of a literal exponent such as ``3``, ``-2`` or ``(1.5)``; None otherwise."""
    sign = 1.0
    while isinstance(node, Neg):
        sign, node = -sign, node.operand
    return sign * node.value if isinstance(node, Num) else None


def variables_in(node: Node) -> set[str]:
    """The variables a tree uses (a subset of ``{"x", "y"}``)."""
    if isinstance(node, Var):
        return {node.name}
    if isinstance(node, Num):
        return set()
    if isinstance(node, Neg):
        return variables_in(node.operand)
    if isinstance(node, Call):
        return variables_in(node.arg)
    return variables_in(node.left) | variables_in(node.right)

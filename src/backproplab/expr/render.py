"""A tree written back out: canonical text (what ``str(expression)`` shows) and LaTeX.

Both writers put in only the parentheses precedence needs: ``+ -`` 1, ``* /`` 2, unary minus 3,
``^`` 4 (right-associative).
"""

from __future__ import annotations

import math

from backproplab.expr.nodes import Call, Neg, Node, Num, Var
from backproplab.expr.vocabulary import CONSTANTS

__all__ = ["to_text", "to_latex"]


def to_text(node: Node, parent: int = 0) -> str:
    """Canonical text with only the parentheses precedence needs (used by ``str``)."""
    if isinstance(node, Num):
        for name, value in CONSTANTS.items():
            if node.value == value:
                return name
        if node.value.is_integer() and abs(node.value) < 1e15:
            return str(int(node.value))
        return repr(node.value)
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Call):
        return f"{node.func}({to_text(node.arg)})"
    if isinstance(node, Neg):
        text = "-" + to_text(node.operand, 3)
        return f"({text})" if parent > 3 else text
    prec = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}[node.op]
    if node.op == "^":
        text = f"{to_text(node.left, 5)}^{to_text(node.right, 3)}"
    else:
        text = f"{to_text(node.left, prec)} {node.op} {to_text(node.right, prec + 1)}"
    return f"({text})" if parent > prec else text


_TEX_FUNCS = {"sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "exp": r"\exp", "log": r"\log",
              "ln": r"\ln", "tanh": r"\tanh", "sinh": r"\sinh", "cosh": r"\cosh", "atan": r"\arctan",
              "arctan": r"\arctan"}


def to_latex(node: Node, parent: int = 0) -> str:
    """LaTeX for the tree, with the same precedence rules as :func:`to_text`."""
    if isinstance(node, Num):
        if node.value == math.pi:
            return r"\pi"
        if node.value == math.e:
            return "e"
        text = f"{node.value:.10g}"
        if "e" in text:
            mant, exp = text.split("e")
            text = rf"{mant} \times 10^{{{int(exp)}}}"
        return text
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Call):
        arg = to_latex(node.arg)
        if node.func == "sqrt":
            return rf"\sqrt{{{arg}}}"
        if node.func == "abs":
            return rf"\left|{arg}\right|"
        return rf"{_TEX_FUNCS[node.func]}\left({arg}\right)"
    if isinstance(node, Neg):
        text = "-" + to_latex(node.operand, 3)
        return rf"\left({text}\right)" if parent > 3 else text
    if node.op == "/":
        return rf"\frac{{{to_latex(node.left)}}}{{{to_latex(node.right)}}}"
    prec = {"+": 1, "-": 1, "*": 2, "^": 4}[node.op]
    if node.op == "^":
        text = f"{{{to_latex(node.left, 5)}}}^{{{to_latex(node.right)}}}"
    elif node.op == "*":
        text = rf"{to_latex(node.left, prec)} \cdot {to_latex(node.right, prec + 1)}"
    else:
        text = f"{to_latex(node.left, prec)} {node.op} {to_latex(node.right, prec + 1)}"
    return rf"\left({text}\right)" if parent > prec else text

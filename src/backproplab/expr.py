"""A safe parser for functions of ``x`` and ``y`` typed by a user, e.g. ``"x^2 + y^2 + cos(3*x)"``.

The gradient-descent lesson lets people pass their own function as text. Text from a user is
never handed to ``eval``, ``exec``, ``compile`` or :mod:`ast`: a hand-written tokenizer and a
recursive-descent parser turn it into a small tree of :class:`Num`, :class:`Var`, :class:`Neg`,
:class:`BinOp` and :class:`Call` nodes, and two tree walkers evaluate that tree, one with NumPy
(values, vectorised) and one with PyTorch (values and gradients by autograd).

Grammar (``^`` and ``**`` are both powers, right-associative, binding tighter than unary minus,
so ``-x^2`` is ``-(x^2)`` and ``2^3^2`` is ``2^9``)::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("-" | "+") unary | power
    power  := atom (("^" | "**") unary)?
    atom   := NUMBER | "x" | "y" | "pi" | "e" | FUNC "(" expr ")" | "(" expr ")"

Limits keep every input cheap: at most :data:`MAX_LENGTH` characters, nesting at most
:data:`MAX_DEPTH` levels, literal exponents at most :data:`MAX_EXPONENT` in absolute value, and all
arithmetic in float64 (overflow gives ``inf``, never a long integer computation). Every rejected
input raises :class:`~backproplab.errors.InputError` (a ``ValueError``) on one line that names
the problem and its position.

Examples
--------
>>> f = parse_expression("x^2 + y^2 + x*(y + 2) + cos(3*x)")
>>> round(float(f(3.0, 2.0)), 6)
24.08887
>>> value, gx, gy = f.gradient(0.0, 0.0)
>>> float(gx), float(gy)
(2.0, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backproplab.errors import InputError

__all__ = [
    "MAX_LENGTH", "MAX_DEPTH", "MAX_EXPONENT", "FUNCTIONS", "CONSTANTS", "VARIABLES",
    "Num", "Var", "Neg", "BinOp", "Call", "Expression", "parse_expression",
    "finite_difference_gradient",
]

MAX_LENGTH = 500
"""Longest accepted expression, in characters."""
MAX_DEPTH = 50
"""Deepest accepted nesting of parentheses, function calls, signs and powers."""
MAX_EXPONENT = 100.0
"""Largest accepted absolute value of a literal exponent, as in ``x^100``."""

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}

# name -> (NumPy function f, its derivative f'(a, f(a)), name of the torch function).
# Each derivative sits beside its function, as in micrograd: forward and backward on one line.
FUNCTIONS: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], Any], str]] = {
    "sin": (np.sin, lambda a, fa: np.cos(a), "sin"),
    "cos": (np.cos, lambda a, fa: -np.sin(a), "cos"),
    "tan": (np.tan, lambda a, fa: 1.0 + fa * fa, "tan"),
    "exp": (np.exp, lambda a, fa: fa, "exp"),
    "log": (np.log, lambda a, fa: 1.0 / a, "log"),
    "ln": (np.log, lambda a, fa: 1.0 / a, "log"),
    "sqrt": (np.sqrt, lambda a, fa: 0.5 / fa, "sqrt"),
    "tanh": (np.tanh, lambda a, fa: 1.0 - fa * fa, "tanh"),
    "sinh": (np.sinh, lambda a, fa: np.cosh(a), "sinh"),
    "cosh": (np.cosh, lambda a, fa: np.sinh(a), "cosh"),
    "atan": (np.arctan, lambda a, fa: 1.0 / (1.0 + a * a), "atan"),
    "arctan": (np.arctan, lambda a, fa: 1.0 / (1.0 + a * a), "atan"),
    "abs": (np.abs, lambda a, fa: np.sign(a), "abs"),
}

_ALIASES = {"\u2212": "-", "\u00b7": "*", "\u00d7": "*"}  # − · × as typed in course notes


# --------------------------------------------------------------------------- tree


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


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "(", ")", "end"
    text: str
    pos: int  # 0-based position in the text
    value: float = 0.0


def _fail(text: str, message: str) -> InputError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return InputError(f"expression {shown!r}: {message}")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = _ALIASES.get(text[i], text[i])
        if ch in " \t\r\n":
            i += 1
            continue
        if ch.isascii() and (ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isascii()
                                              and text[i + 1].isdigit())):
            start = i
            while i < n and text[i].isascii() and text[i].isdigit():
                i += 1
            if i < n and text[i] == ".":
                i += 1
                while i < n and text[i].isascii() and text[i].isdigit():
                    i += 1
            if i < n and text[i] in "eE":
                j = i + 1
                if j < n and text[j] in "+-":
                    j += 1
                if j < n and text[j].isascii() and text[j].isdigit():
                    i = j
                    while i < n and text[i].isascii() and text[i].isdigit():
                        i += 1
            literal = text[start:i]
            if i < n and text[i] == ".":
                raise _fail(text, f"malformed number {text[start:i + 1]!r} at position {start + 1}")
            value = float(literal)
            if not math.isfinite(value):
                raise _fail(text, f"number {literal!r} at position {start + 1} is too large for float64")
            tokens.append(_Token("num", literal, start, value))
            continue
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            start = i
            while i < n and text[i].isascii() and (text[i].isalnum() or text[i] == "_"):
                i += 1
            tokens.append(_Token("name", text[start:i], start))
            continue
        if ch == "*" and i + 1 < n and _ALIASES.get(text[i + 1], text[i + 1]) == "*":
            tokens.append(_Token("op", "^", i))
            i += 2
            continue
        if ch in "+-*/^":
            tokens.append(_Token("op", ch, i))
            i += 1
            continue
        if ch in "()":
            tokens.append(_Token(ch, ch, i))
            i += 1
            continue
        raise _fail(text, f"unexpected character {text[i]!r} at position {i + 1}; "
                          "expected numbers, x, y, + - * / ^ ** ( ) or a function name")
    tokens.append(_Token("end", "", n))
    return tokens


# --------------------------------------------------------------------------- parser


def _known_names() -> str:
    return (f"variables {', '.join(VARIABLES)}; constants {', '.join(CONSTANTS)}; "
            f"functions {', '.join(sorted(FUNCTIONS))}")


class _Parser:
    """Recursive descent over the token list; ``depth`` bounds the recursion."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    # helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _describe(self, tok: _Token) -> str:
        return "the end" if tok.kind == "end" else f"{tok.text!r} at position {tok.pos + 1}"

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _fail(self.text, f"nests deeper than {MAX_DEPTH} levels "
                                   f"(at position {self.tok.pos + 1})")

    # grammar
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise _fail(self.text, "is empty; expected a function of x and y such as 'x^2 + y^2'")
        node = self._expr()
        if self.tok.kind != "end":
            tok = self.tok
            if tok.kind == ")":
                raise _fail(self.text, f"unmatched ')' at position {tok.pos + 1}")
            raise _fail(self.text, f"expected an operator before {self._describe(tok)} "
                                   "(write 2*x, not 2x)")
        return node

    def _expr(self) -> Node:
        node = self._term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            op = self.tok.text
            self.i += 1
            node = BinOp(op, node, self._term())
        return node

    def _term(self) -> Node:
        node = self._unary()
        while self.tok.kind == "op" and self.tok.text in "*/":
            op = self.tok.text
            self.i += 1
            node = BinOp(op, node, self._unary())
        return node

    def _unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text in "+-":
            op = self.tok.text
            self.i += 1
            self._enter()
            operand = self._unary()
            self.depth -= 1
            return Neg(operand) if op == "-" else operand
        return self._power()

    def _power(self) -> Node:
        base = self._atom()
        if self.tok.kind == "op" and self.tok.text == "^":
            self.i += 1
            self._enter()
            exponent = self._unary()
            self.depth -= 1
            literal = _literal_value(exponent)
            if literal is not None and abs(literal) > MAX_EXPONENT:
                raise _fail(self.text, f"exponent {literal:g} is out of range; "
                                       f"literal exponents must lie within ±{MAX_EXPONENT:g}")
            return BinOp("^", base, exponent)
        return base

    def _atom(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            return Num(tok.value)
        if tok.kind == "(":
            self.i += 1
            self._enter()
            node = self._expr()
            self.depth -= 1
            self._expect_close(tok)
            return node
        if tok.kind == "name":
            self.i += 1
            name = tok.text
            if name in FUNCTIONS:
                if self.tok.kind != "(":
                    raise _fail(self.text, f"function {name!r} at position {tok.pos + 1} needs its "
                                           f"argument in parentheses, e.g. {name}(x)")
                open_tok = self.tok
                self.i += 1
                self._enter()
                arg = self._expr()
                self.depth -= 1
                self._expect_close(open_tok)
                return Call(name, arg)
            if name in VARIABLES or name in CONSTANTS:
                if self.tok.kind == "(":
                    raise _fail(self.text, f"{name!r} at position {tok.pos + 1} is not a function; "
                                           f"write {name}*(...) to multiply")
                return Var(name) if name in VARIABLES else Num(CONSTANTS[name])
            raise _fail(self.text, f"unknown name {name!r} at position {tok.pos + 1}; "
                                   f"expected {_known_names()}")
        if tok.kind == "end":
            raise _fail(self.text, "ends too early; expected a number, x, y, '(' or a function")
        raise _fail(self.text, f"unexpected {self._describe(tok)}; "
                               "expected a number, x, y, '(' or a function")

    def _expect_close(self, open_tok: _Token) -> None:
        if self.tok.kind != ")":
            raise _fail(self.text, f"'(' at position {open_tok.pos + 1} is never closed; "
                                   f"found {self._describe(self.tok)}")
        self.i += 1


def _literal_value(node: Node) -> float | None:
    """The value of a literal exponent such as ``3``, ``-2`` or ``(1.5)``; None otherwise."""
    sign = 1.0
    while isinstance(node, Neg):
        sign, node = -sign, node.operand
    return sign * node.value if isinstance(node, Num) else None


# --------------------------------------------------------------------------- evaluation


def _eval_numpy(node: Node, env: dict[str, np.ndarray]) -> np.ndarray:
    if isinstance(node, Num):
        return np.float64(node.value)
    if isinstance(node, Var):
        return env[node.name]
    if isinstance(node, Neg):
        return -_eval_numpy(node.operand, env)
    if isinstance(node, Call):
        return FUNCTIONS[node.func][0](_eval_numpy(node.arg, env))
    left, right = _eval_numpy(node.left, env), _eval_numpy(node.right, env)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if node.op == "/":
        return np.divide(left, right)
    return np.power(left, right)


def _chain(outer: Any, inner: Any) -> Any:
    """outer * inner, with 0 where the inner derivative is exactly 0 (so 0 * inf stays 0)."""
    return np.where(inner == 0, 0.0, outer * inner)


def _eval_dual(node: Node, env: dict[str, np.ndarray]) -> tuple[Any, Any, Any]:
    """Forward-mode autodiff: each node gives (value, d/dx, d/dy) as NumPy float64."""
    if isinstance(node, Num):
        return np.float64(node.value), np.float64(0.0), np.float64(0.0)
    if isinstance(node, Var):
        one, zero = np.ones_like(env[node.name]), np.zeros_like(env[node.name])
        return (env[node.name], one, zero) if node.name == "x" else (env[node.name], zero, one)
    if isinstance(node, Neg):
        v, dx, dy = _eval_dual(node.operand, env)
        return -v, -dx, -dy
    if isinstance(node, Call):
        a, ax, ay = _eval_dual(node.arg, env)
        func, deriv, _ = FUNCTIONS[node.func]
        fa = func(a)
        fprime = deriv(a, fa)
        return fa, _chain(fprime, ax), _chain(fprime, ay)
    a, ax, ay = _eval_dual(node.left, env)
    if node.op == "^":
        literal = _literal_value(node.right)
        if literal is not None:  # d(a^c) = c a^(c-1) da
            fprime = literal * np.power(a, literal - 1.0)
            return np.power(a, literal), _chain(fprime, ax), _chain(fprime, ay)
        b, bx, by = _eval_dual(node.right, env)
        v = np.power(a, b)  # d(a^b) = a^b (b da / a + log(a) db)
        return (v, _chain(v * b / a, ax) + _chain(v * np.log(a), bx),
                _chain(v * b / a, ay) + _chain(v * np.log(a), by))
    b, bx, by = _eval_dual(node.right, env)
    if node.op == "+":
        return a + b, ax + bx, ay + by
    if node.op == "-":
        return a - b, ax - bx, ay - by
    if node.op == "*":
        return a * b, ax * b + a * bx, ay * b + a * by
    return a / b, (ax * b - a * bx) / (b * b), (ay * b - a * by) / (b * b)


def _eval_torch(node: Node, env: dict[str, Any]) -> Any:
    import torch

    if isinstance(node, Num):
        return torch.tensor(node.value, dtype=torch.float64)
    if isinstance(node, Var):
        return env[node.name]
    if isinstance(node, Neg):
        return -_eval_torch(node.operand, env)
    if isinstance(node, Call):
        return getattr(torch, FUNCTIONS[node.func][2])(_eval_torch(node.arg, env))
    left, right = _eval_torch(node.left, env), _eval_torch(node.right, env)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if node.op == "/":
        return left / right
    literal = _literal_value(node.right)
    if literal is not None:  # x^2 by a Python float keeps the gradient finite at x = 0
        return torch.pow(left, literal)
    return torch.pow(left, right)


def _to_text(node: Node, parent: int = 0) -> str:
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
        return f"{node.func}({_to_text(node.arg)})"
    if isinstance(node, Neg):
        text = "-" + _to_text(node.operand, 3)
        return f"({text})" if parent > 3 else text
    prec = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}[node.op]
    if node.op == "^":
        text = f"{_to_text(node.left, 5)}^{_to_text(node.right, 3)}"
    else:
        text = f"{_to_text(node.left, prec)} {node.op} {_to_text(node.right, prec + 1)}"
    return f"({text})" if parent > prec else text


_TEX_FUNCS = {"sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "exp": r"\exp", "log": r"\log",
              "ln": r"\ln", "tanh": r"\tanh", "sinh": r"\sinh", "cosh": r"\cosh", "atan": r"\arctan",
              "arctan": r"\arctan"}


def _to_latex(node: Node, parent: int = 0) -> str:
    """LaTeX for the tree, with the same precedence rules as :func:`_to_text`."""
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
        arg = _to_latex(node.arg)
        if node.func == "sqrt":
            return rf"\sqrt{{{arg}}}"
        if node.func == "abs":
            return rf"\left|{arg}\right|"
        return rf"{_TEX_FUNCS[node.func]}\left({arg}\right)"
    if isinstance(node, Neg):
        text = "-" + _to_latex(node.operand, 3)
        return rf"\left({text}\right)" if parent > 3 else text
    if node.op == "/":
        text = rf"\frac{{{_to_latex(node.left)}}}{{{_to_latex(node.right)}}}"
        return text
    prec = {"+": 1, "-": 1, "*": 2, "^": 4}[node.op]
    if node.op == "^":
        text = f"{{{_to_latex(node.left, 5)}}}^{{{_to_latex(node.right)}}}"
    elif node.op == "*":
        text = rf"{_to_latex(node.left, prec)} \cdot {_to_latex(node.right, prec + 1)}"
    else:
        text = f"{_to_latex(node.left, prec)} {node.op} {_to_latex(node.right, prec + 1)}"
    return rf"\left({text}\right)" if parent > prec else text


def _names(node: Node) -> set[str]:
    if isinstance(node, Var):
        return {node.name}
    if isinstance(node, Num):
        return set()
    if isinstance(node, (Neg, Call)):
        return _names(node.operand if isinstance(node, Neg) else node.arg)
    return _names(node.left) | _names(node.right)


def _float64_pair(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """``x`` and ``y`` as float64 arrays, and the shape they broadcast to (ValueError if they do not)."""
    x64 = np.asarray(x, dtype=np.float64)
    y64 = np.asarray(y, dtype=np.float64)
    return x64, y64, np.broadcast_shapes(x64.shape, y64.shape)


class Expression:
    """A parsed function ``f(x, y)``; evaluate it with NumPy or PyTorch, differentiate it.

    Build one with :func:`parse_expression`. Arithmetic is float64 throughout; invalid points
    (``log(-1)``, ``1/0``) give ``nan`` or ``inf`` rather than an exception.

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
        return _names(self.tree)

    def __call__(self, x: Any, y: Any) -> np.ndarray:
        """f at ``x, y`` (scalars or broadcastable arrays) -> float64 array of the broadcast shape."""
        x64, y64, shape = _float64_pair(x, y)
        with np.errstate(all="ignore"):
            value = _eval_numpy(self.tree, {"x": x64, "y": y64})
            return np.broadcast_to(np.asarray(value, dtype=np.float64), shape).copy()

    def torch(self, x: Any, y: Any) -> Any:
        """f at torch tensors ``x, y`` (float64), built from differentiable torch operations."""
        import torch

        value = _eval_torch(self.tree, {"x": x, "y": y})
        return value.expand(torch.broadcast_shapes(x.shape, y.shape))

    def value_and_grad(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Value and gradient by forward-mode autodiff (dual numbers) in NumPy; fast, vectorised.

        Parameters
        ----------
        x, y : float or array-like, broadcastable to one shape ``S``

        Returns
        -------
        (f, df/dx, df/dy) : three float64 arrays of shape ``S``
        """
        x64, y64, shape = _float64_pair(x, y)
        env = {"x": np.broadcast_to(x64, shape), "y": np.broadcast_to(y64, shape)}
        with np.errstate(all="ignore"):
            parts = _eval_dual(self.tree, env)
            return tuple(np.broadcast_to(np.asarray(p, dtype=np.float64), shape).copy() for p in parts)

    def gradient(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Value and gradient by torch autograd (reverse mode), the reference for checks.

        Parameters
        ----------
        x, y : float or array-like, broadcastable to one shape ``S``

        Returns
        -------
        (f, df/dx, df/dy) : three float64 arrays of shape ``S``
        """
        import torch

        x64, y64, shape = _float64_pair(x, y)
        tx = torch.tensor(np.broadcast_to(x64, shape).copy(), dtype=torch.float64, requires_grad=True)
        ty = torch.tensor(np.broadcast_to(y64, shape).copy(), dtype=torch.float64, requires_grad=True)
        value = self.torch(tx, ty)
        if not value.requires_grad:  # a constant: no graph to differentiate
            zeros = np.zeros(shape)
            return value.detach().numpy().copy(), zeros, zeros.copy()
        gx, gy = torch.autograd.grad(value.sum(), (tx, ty), allow_unused=True)
        gx = torch.zeros_like(tx) if gx is None else gx
        gy = torch.zeros_like(ty) if gy is None else gy
        return (value.detach().numpy().copy(), gx.numpy().copy(), gy.numpy().copy())

    def to_latex(self) -> str:
        """The expression in LaTeX, e.g. ``x^{2} + \\cos\\left(3 \\cdot x\\right)``."""
        return _to_latex(self.tree)

    def __str__(self) -> str:
        return _to_text(self.tree)

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
    return Expression(text, _Parser(text).parse())


def finite_difference_gradient(expr: Expression, x: Any, y: Any, h: float = 1e-6
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Central differences ``(f(x+h) - f(x-h)) / 2h`` in x and in y, evaluated with NumPy.

    Parameters
    ----------
    expr : Expression
    x, y : float or array-like, broadcastable to one shape ``S``
    h : float
        Step, default 1e-6 (error O(h^2) plus rounding of order eps/h).

    Returns
    -------
    (df/dx, df/dy) : two float64 arrays of shape ``S``
    """
    if not h > 0:
        raise InputError(f"h must be a positive step, got {h!r}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        gx = (expr(x + h, y) - expr(x - h, y)) / (2 * h)
        gy = (expr(x, y + h) - expr(x, y - h)) / (2 * h)
    return gx, gy

"""Tokens -> tree: a recursive-descent parser with bounded depth and bounded literal exponents.

Grammar (``^`` and ``**`` are both powers, right-associative, binding tighter than unary minus,
so ``-x^2`` is ``-(x^2)`` and ``2^3^2`` is ``2^9``)::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("-" | "+") unary | power
    power  := atom (("^" | "**") unary)?
    atom   := NUMBER | "x" | "y" | "pi" | "e" | FUNC "(" expr ")" | "(" expr ")"

Each rule is one method of :class:`Parser`, named after it.
"""

from __future__ import annotations

from collections.abc import Callable

from backproplab.errors import InputError
from backproplab.expr.lexer import Token, expression_error, tokenize
from backproplab.expr.nodes import BinOp, Call, Neg, Node, Num, Var, literal_value
from backproplab.expr.vocabulary import CONSTANTS, FUNCTIONS, MAX_DEPTH, MAX_EXPONENT, VARIABLES, known_names

__all__ = ["Parser", "parse_tree"]


def parse_tree(text: str) -> Node:
    """The tree of ``text``; InputError naming the problem and its 1-based position."""
    return Parser(text).parse()


class Parser:
    """Recursive descent over the token list; ``depth`` bounds the recursion."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _fail(self, message: str) -> InputError:
        return expression_error(self.text, message)

    def _describe(self, tok: Token) -> str:
        return "the end" if tok.kind == "end" else f"{tok.text!r} at position {tok.pos + 1}"

    def _take_op(self, ops: str) -> str | None:
        """The current operator if it is one of ``ops`` (then step past it); None otherwise."""
        if self.tok.kind == "op" and self.tok.text in ops:
            self.i += 1
            return self.tokens[self.i - 1].text
        return None

    def _nested(self, rule: Callable[[], Node]) -> Node:
        """``rule()`` one level deeper; InputError beyond :data:`MAX_DEPTH` levels."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._fail(f"nests deeper than {MAX_DEPTH} levels (at position {self.tok.pos + 1})")
        node = rule()
        self.depth -= 1
        return node

    def _left_associative(self, ops: str, operand: Callable[[], Node]) -> Node:
        """``operand (op operand)*`` folded to the left, so ``a - b - c`` is ``(a - b) - c``."""
        node = operand()
        while (op := self._take_op(ops)) is not None:
            node = BinOp(op, node, operand())
        return node

    def _parenthesised(self, open_tok: Token) -> Node:
        """The ``expr`` after ``open_tok`` (already taken) and its closing parenthesis."""
        node = self._nested(self._expr)
        if self.tok.kind != ")":
            raise self._fail(f"'(' at position {open_tok.pos + 1} is never closed; "
                             f"found {self._describe(self.tok)}")
        self.i += 1
        return node

    # grammar
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self._fail("is empty; expected a function of x and y such as 'x^2 + y^2'")
        node = self._expr()
        if self.tok.kind == ")":
            raise self._fail(f"unmatched ')' at position {self.tok.pos + 1}")
        if self.tok.kind != "end":
            raise self._fail(f"expected an operator before {self._describe(self.tok)} (write 2*x, not 2x)")
        return node

    def _expr(self) -> Node:
        return self._left_associative("+-", self._term)

    def _term(self) -> Node:
        return self._left_associative("*/", self._unary)

    def _unary(self) -> Node:
        op = self._take_op("+-")
        if op is None:
            return self._power()
        operand = self._nested(self._unary)
        return Neg(operand) if op == "-" else operand

    def _power(self) -> Node:
        base = self._atom()
        if self._take_op("^") is None:
            return base
        exponent = self._nested(self._unary)
        literal = literal_value(exponent)
        if literal is not None and abs(literal) > MAX_EXPONENT:
            raise self._fail(f"exponent {literal:g} is out of range; "
                             f"literal exponents must lie within ±{MAX_EXPONENT:g}")
        return BinOp("^", base, exponent)

    def _atom(self) -> Node:
        tok = self.tok
        if tok.kind in ("num", "(", "name"):
            self.i += 1
        if tok.kind == "num":
            return Num(tok.value)
        if tok.kind == "(":
            return self._parenthesised(tok)
        if tok.kind == "name":
            return self._name(tok)
        if tok.kind == "end":
            raise self._fail("ends too early; expected a number, x, y, '(' or a function")
        raise self._fail(f"unexpected {self._describe(tok)}; expected a number, x, y, '(' or a function")

    def _name(self, tok: Token) -> Node:
        """A function call, a variable or a constant (``tok``, the name, is already taken)."""
        name, where = tok.text, f"at position {tok.pos + 1}"
        if name in FUNCTIONS:
            if self.tok.kind != "(":
                raise self._fail(f"function {name!r} {where} needs its argument in parentheses, e.g. {name}(x)")
            self.i += 1
            return Call(name, self._parenthesised(self.tokens[self.i - 1]))
        if name not in VARIABLES and name not in CONSTANTS:
            raise self._fail(f"unknown name {name!r} {where}; expected {known_names()}")
        if self.tok.kind == "(":
            raise self._fail(f"{name!r} {where} is not a function; write {name}*(...) to multiply")
        return Var(name) if name in VARIABLES else Num(CONSTANTS[name])

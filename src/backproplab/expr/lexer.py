"""Text -> tokens: numbers, names, operators and parentheses, each with its position in the text.

Hand-written on purpose: text from a user never reaches ``eval``, ``exec``, ``compile`` or
:mod:`ast`. ``**`` becomes the power operator ``^``; ``−``, ``·`` and ``×`` as typed in course
notes read as ``-``, ``*`` and ``*``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from backproplab.errors import InputError

__all__ = ["Token", "tokenize", "expression_error"]

_ALIASES = {"\u2212": "-", "\u00b7": "*", "\u00d7": "*"}  # − · × as typed in course notes


@dataclass(frozen=True)
class Token:
    """One token; ``pos`` is 0-based, messages show it 1-based."""

    kind: str  # "num", "name", "op", "(", ")", "end"
    text: str
    pos: int
    value: float = 0.0


def expression_error(text: str, message: str) -> InputError:
    """The one-line error for a rejected expression: the text (shortened) and what is wrong."""
    shown = text if len(text) <= 60 else text[:57] + "..."
    return InputError(f"expression {shown!r}: {message}")


def _is_digit(text: str, i: int) -> bool:
    return i < len(text) and text[i].isascii() and text[i].isdigit()


def _skip_digits(text: str, i: int) -> int:
    while _is_digit(text, i):
        i += 1
    return i


def _number(text: str, start: int) -> tuple[Token, int]:
    """The number literal at ``start`` (digits, an optional fraction, an optional exponent), and its end."""
    i = _skip_digits(text, start)
    if i < len(text) and text[i] == ".":
        i = _skip_digits(text, i + 1)
    if i < len(text) and text[i] in "eE":
        j = i + 1
        if j < len(text) and text[j] in "+-":
            j += 1
        if _is_digit(text, j):
            i = _skip_digits(text, j)
    literal = text[start:i]
    if i < len(text) and text[i] == ".":
        raise expression_error(text, f"malformed number {text[start:i + 1]!r} at position {start + 1}")
    value = float(literal)
    if not math.isfinite(value):
        raise expression_error(text, f"number {literal!r} at position {start + 1} is too large for float64")
    return Token("num", literal, start, value), i


def _name(text: str, start: int) -> tuple[Token, int]:
    i = start
    while i < len(text) and text[i].isascii() and (text[i].isalnum() or text[i] == "_"):
        i += 1
    return Token("name", text[start:i], start), i


def _symbol(text: str, i: int) -> tuple[Token, int]:
    """An operator or a parenthesis at ``i`` (``**`` is read as ``^``), and its end."""
    ch = _ALIASES.get(text[i], text[i])
    if ch == "*" and i + 1 < len(text) and _ALIASES.get(text[i + 1], text[i + 1]) == "*":
        return Token("op", "^", i), i + 2
    if ch in "+-*/^":
        return Token("op", ch, i), i + 1
    if ch in "()":
        return Token(ch, ch, i), i + 1
    raise expression_error(text, f"unexpected character {text[i]!r} at position {i + 1}; "
                                 "expected numbers, x, y, + - * / ^ ** ( ) or a function name")


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, ending with one ``end`` token; InputError at the first bad character."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if _is_digit(text, i) or (ch == "." and _is_digit(text, i + 1)):
            token, i = _number(text, i)
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            token, i = _name(text, i)
        else:
            token, i = _symbol(text, i)
        tokens.append(token)
    tokens.append(Token("end", "", len(text)))
    return tokens

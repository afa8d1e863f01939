"""What an expression may contain (variables, constants, functions) and how large it may be.

:data:`FUNCTIONS` is the whitelist the parser accepts; each entry carries the NumPy function, its
derivative and the name of the matching torch function, so a new function is added in one line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["MAX_LENGTH", "MAX_DEPTH", "MAX_EXPONENT", "VARIABLES", "CONSTANTS", "FUNCTIONS", "known_names"]

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


def known_names() -> str:
    """Every name an expression may use, for error messages."""
    return (f"variables {', '.join(VARIABLES)}; constants {', '.join(CONSTANTS)}; "
            f"functions {', '.join(sorted(FUNCTIONS))}")

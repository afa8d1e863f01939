"""Values of a tree, with NumPy (vectorised float64) or with PyTorch (differentiable by autograd).

One tree walker serves both: a :class:`Backend` says how each library makes a constant, applies a
whitelisted function and raises to a power; ``+ - * /`` and unary minus are the operators both
libraries overload.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backproplab.expr.nodes import Call, Neg, Node, Num, Var, literal_value
from backproplab.expr.vocabulary import FUNCTIONS

__all__ = ["Backend", "NUMPY", "torch_backend", "evaluate"]

_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


@dataclass(frozen=True)
class Backend:
    """How one array library evaluates the leaves, the function calls and the powers of a tree."""

    constant: Callable[[float], Any]
    function: Callable[[str], Callable[[Any], Any]]  # a name in FUNCTIONS -> the library's function
    power: Callable[[Any, Any], Any]


NUMPY = Backend(constant=np.float64, function=lambda name: FUNCTIONS[name][0], power=np.power)


@functools.cache
def torch_backend() -> Backend:
    """The PyTorch backend (float64 constants, torch functions by their whitelisted names)."""
    import torch  # lazy: importing the parser (the CLI lists every lesson) must not load torch

    return Backend(constant=lambda value: torch.tensor(value, dtype=torch.float64),
                   function=lambda name: getattr(torch, FUNCTIONS[name][2]), power=torch.pow)


def evaluate(node: Node, env: dict[str, Any], backend: Backend) -> Any:
    """The value of ``node`` with ``x`` and ``y`` taken from ``env`` (arrays or tensors)."""
    if isinstance(node, Num):
        return backend.constant(node.value)
    if isinstance(node, Var):
        return env[node.name]
    if isinstance(node, Neg):
        return -evaluate(node.operand, env, backend)
    if isinstance(node, Call):
        return backend.function(node.func)(evaluate(node.arg, env, backend))
    left = evaluate(node.left, env, backend)
    if node.op != "^":
        return _ARITHMETIC[node.op](left, evaluate(node.right, env, backend))
    literal = literal_value(node.right)
    if literal is not None:  # x^2 by a Python float keeps torch's gradient finite at x = 0
        return backend.power(left, literal)
    return backend.power(left, evaluate(node.right, env, backend))

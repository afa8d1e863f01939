"""A safe parser for functions of ``x`` and ``y`` typed by a user, e.g. ``"x^2 + y^2 + cos(3*x)"``.

The gradient-descent lesson lets people pass their own function as text. Text from a user is
never handed to ``eval``, ``exec``, ``compile`` or :mod:`ast`. The modules, in the order text
flows through them:

- :mod:`~backproplab.expr.vocabulary`: the names an expression may use (variables, constants, the
  whitelisted :data:`FUNCTIONS` with their derivatives) and the size limits;
- :mod:`~backproplab.expr.lexer`: text -> tokens, by hand;
- :mod:`~backproplab.expr.parser`: tokens -> a tree of :mod:`~backproplab.expr.nodes`
  (:class:`Num`, :class:`Var`, :class:`Neg`, :class:`BinOp`, :class:`Call`), by recursive
  descent; the grammar is in its docstring;
- :mod:`~backproplab.expr.evaluate`: the tree's values, with NumPy or with PyTorch (one walker);
- :mod:`~backproplab.expr.derivative`: its gradient by forward-mode autodiff in NumPy;
- :mod:`~backproplab.expr.render`: the tree as canonical text and as LaTeX;
- :mod:`~backproplab.expr.expression`: :func:`parse_expression`, :class:`Expression` (all of the
  above behind one object), :func:`finite_difference_gradient` and :func:`finite_difference_rounding`.

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

from backproplab.expr.expression import (
    Expression,
    finite_difference_gradient,
    finite_difference_rounding,
    parse_expression,
)
from backproplab.expr.nodes import BinOp, Call, Neg, Node, Num, Var
from backproplab.expr.vocabulary import CONSTANTS, FUNCTIONS, MAX_DEPTH, MAX_EXPONENT, MAX_LENGTH, VARIABLES

__all__ = [
    "MAX_LENGTH", "MAX_DEPTH", "MAX_EXPONENT", "FUNCTIONS", "CONSTANTS", "VARIABLES",
    "Num", "Var", "Neg", "BinOp", "Call", "Node", "Expression", "parse_expression",
    "finite_difference_gradient",
    "finite_difference_rounding",
]

"""The gradient-descent lesson's search for the lowest point of f in a box.

A grid over the box, then L-BFGS-B (SciPy, forward-mode gradients) from the lowest grid minima, then
the torch Hessian at the best point, so the lesson checks the minimum the course quotes instead of
trusting it, and can say what kind of point a user's function has there.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backproplab.errors import InputError
from backproplab.expr import Expression, parse_expression

# Lazy imports, on purpose: torch, matplotlib, sklearn/scipy and the modules that load torch
# (backproplab.torchnn, backproplab.courses) are imported inside the functions that use them, so that
# importing this module (the CLI imports every lesson to list them) does not load torch.

BOX = ((-5.0, 5.0), (-5.0, 5.0))
"""Search box for the global minimum: ((x_lo, x_hi), (y_lo, y_hi))."""
DIVERGED = 1e12
"""A run whose |x| or |y| exceeds this (or that stops being finite) has diverged: it is frozen at nan."""
DIVERGED_TEXT = "1e12"


def hessian(f: Expression, x: float, y: float) -> np.ndarray:
    """2x2 Hessian of f at (x, y) by torch autograd (reverse over reverse); nan entries where undefined."""
    import torch

    def scalar(p: torch.Tensor) -> torch.Tensor:
        return f.torch(p[0], p[1])

    point = torch.tensor([x, y], dtype=torch.float64)
    return torch.autograd.functional.hessian(scalar, point).numpy()


def search_box(f: Expression, start: tuple[float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """:data:`BOX`, unless f is finite nowhere on it (``sqrt(x - 10)``): then the box of the same size
    centred on the start, where f is finite (a valid function was refused for a box no option moves)."""
    xs = np.linspace(BOX[0][0], BOX[0][1], 61)
    with np.errstate(all="ignore"):
        if np.isfinite(f(*np.meshgrid(xs, np.linspace(BOX[1][0], BOX[1][1], 61), indexing="ij"))).any():
            return BOX
    half = [(hi - lo) / 2 for lo, hi in BOX]
    return tuple((c - h, c + h) for c, h in zip(start, half, strict=True))


def find_minimum(f: Expression | str, box: tuple[tuple[float, float], tuple[float, float]] = BOX,
                 grid: int = 81, starts: int = 8) -> dict[str, Any]:
    """The lowest point of f in ``box``, found numerically.

    f is evaluated on a ``grid`` x ``grid`` lattice; from the ``starts`` lowest lattice points
    that are lower than their 8 neighbours, L-BFGS-B (SciPy) with forward-mode gradients refines
    each; the lowest result is checked with the torch Hessian.

    Returns
    -------
    dict with keys x, y, f, grad_norm (|∇f| there), hessian_eigenvalues (ascending, shape [2]: the
    full Hessian's, so f = x², flat along y, has a zero eigenvalue, as a valley should),
    on_boundary (True when the lowest point lies on the box's edge: f may have no minimum inside),
    starts (number of refined starting points).
    """
    from scipy.optimize import minimize

    f = f if isinstance(f, Expression) else parse_expression(f)
    (xlo, xhi), (ylo, yhi) = box
    if not (xlo < xhi and ylo < yhi):
        raise InputError(f"box must be ((x_lo, x_hi), (y_lo, y_hi)) with lo < hi, got {box!r}")
    xs = np.linspace(xlo, xhi, grid)
    ys = np.linspace(ylo, yhi, grid)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    Z = f(X, Y)
    Z = np.where(np.isfinite(Z), Z, np.inf)
    padded = np.pad(Z, 1, constant_values=np.inf)
    neighbours = np.stack([padded[1 + i:1 + i + grid, 1 + j:1 + j + grid]
                           for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)])
    is_min = np.isfinite(Z) & (Z <= neighbours.min(axis=0))
    candidates = np.argwhere(is_min)
    if candidates.size == 0:
        raise InputError(f"f = {f.text!r} is not finite anywhere on the search box {box}")
    order = np.argsort(Z[is_min])[:starts]

    def fun(p: np.ndarray) -> tuple[float, np.ndarray]:
        value, gx, gy = f.value_and_grad(p[0], p[1])
        if not np.isfinite(value):
            return math.inf, np.zeros(2)
        return float(value), np.array([float(gx), float(gy)])

    used = [i for i, name in enumerate(("x", "y")) if name in f.variables] or [0, 1]
    span = max(xhi - xlo, yhi - ylo)

    def edge(p: np.ndarray, axis: int | None = None) -> bool:
        """On the box's edge along a variable f uses (or along ``axis``)."""
        gaps = [(p[0] - xlo, xhi - p[0]), (p[1] - ylo, yhi - p[1])]
        return bool(min(min(gaps[i]) for i in (used if axis is None else [axis])) < 1e-6 * span)

    found = []
    for i, j in candidates[order]:
        res = minimize(fun, np.array([xs[i], ys[j]]), jac=True, method="L-BFGS-B",
                       bounds=[(xlo, xhi), (ylo, yhi)], options={"ftol": 1e-15, "gtol": 1e-12})
        if np.isfinite(res.fun):
            found.append((float(res.fun), edge(res.x), res.x))
    if not found:  # L-BFGS-B left every start (x^(1/3) at 0: an infinite gradient): the grid's lowest stands
        i, j = candidates[order[0]]
        found.append((float(Z[i, j]), edge(np.array([xs[i], ys[j]])), np.array([xs[i], ys[j]])))
    low = min(v for v, _, _ in found)
    # among equally low points (f = e^x y^2 is 0 on the whole line y = 0) prefer one inside the box,
    # away from its edge along every axis (f = x² is 0 on the whole line x = 0)
    ties = [r for r in found if r[0] <= low + 1e-12 * (1.0 + abs(low))]
    _, on_boundary, point = min(ties, key=lambda r: (r[1], any(edge(r[2], axis) for axis in (0, 1)), r[0]))
    bx, by = (float(v) for v in point)
    _, gx, gy = f.value_and_grad(bx, by)
    hess = hessian(f, bx, by)
    return {"x": bx, "y": by, "f": float(f(bx, by)), "grad_norm": float(np.hypot(gx, gy)),
            "hessian_eigenvalues": np.linalg.eigvalsh(0.5 * (hess + hess.T)) if np.isfinite(hess).all()
            else np.full(2, math.nan),
            "on_boundary": bool(on_boundary), "starts": int(min(len(candidates), starts))}

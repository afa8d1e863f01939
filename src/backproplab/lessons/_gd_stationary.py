"""What kind of point is it? Stationary points of f in a box, and a verdict on each that claims only
what was measured.

* :func:`find_stationary_points` solves ∇f = 0 by Newton's method from a grid of starts (Jacobian of
  ∇f by central differences of the forward-mode gradient), so saddles and maxima are found as well
  as minima — descent alone never stops at a saddle.
* :func:`classify` applies the second-derivative test only where |∇f| is numerically zero. Where the
  Hessian is singular, near-singular or undefined the test cannot tell; then f is sampled on two
  rings around the point (and along the Hessian's eigenvectors) and the verdict says what the
  samples show, not more.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backproplab.expr import Expression
from backproplab.lessons._gd_minimum import BOX, hessian
from backproplab.lessons._gd_partials import both_at_rest, curvature_scale, kinked, partials

SINGULAR_TOL = 1e-6
"""An eigenvalue with |λ| ≤ SINGULAR_TOL · max(max |λ|, f's curvature around the point) counts as zero:
the test cannot tell (``_gd_partials.curvature_scale``: 1e-8·(x² + y²), eigenvalues (2e-8, 2e-8), is
curved; x⁴ + y⁴ at (0, 0) is flat)."""
RING_RADII = (1e-2, 1e-1)
RING_ANGLES = 360


def _ring(f: Expression, x: float, y: float, directions: np.ndarray) -> dict[str, Any]:
    """f on rings of radii RING_RADII around (x, y), against f(x, y), to within rounding.

    ``directions`` [k, 2] are unit vectors sampled besides the evenly spaced angles.
    verdict: "higher" (every sample higher), "lower" (every one lower), "equal" (none lower, some equal
    to rounding), "mixed" (some lower, some higher) or "undefined" (f not finite at some sample; then
    also outside, how many, and inside, the verdict on the samples where f is finite, None if none is).
    """
    angles = 2 * np.pi * np.arange(RING_ANGLES) / RING_ANGLES
    unit = np.vstack([np.column_stack([np.cos(angles), np.sin(angles)]), directions, -directions])
    offsets = np.vstack([r * unit for r in RING_RADII])
    px, py = x + offsets[:, 0], y + offsets[:, 1]
    with np.errstate(all="ignore"):
        f0, values = float(f(x, y)), np.asarray(f(px, py), dtype=float)
    base = {"radii": RING_RADII, "samples": int(values.size)}
    finite = np.isfinite(values)
    if not (math.isfinite(f0) and finite.all()):
        inside = _ring_verdict(f0, px[finite], py[finite], values[finite])["verdict"] \
            if math.isfinite(f0) and finite.any() else None
        return {**base, "verdict": "undefined", "outside": int((~finite).sum()), "inside": inside}
    return {**base, **_ring_verdict(f0, px, py, values)}


def _ring_verdict(f0: float, px: np.ndarray, py: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    """verdict, lowest and equal of :func:`_ring` for finite samples ``values`` [n] at (px, py) [n]."""
    diff = values - f0
    tol = 8 * np.finfo(float).eps * max(abs(f0), float(np.max(np.abs(values))))
    lower, higher = diff < -tol, diff > tol
    k = int(np.argmin(diff))
    lowest = {"x": float(px[k]), "y": float(py[k]), "f": float(values[k])}
    if lower.any():
        verdict = "mixed" if higher.any() else "lower"
    else:
        verdict = "higher" if higher.all() else "equal"
    return {"verdict": verdict, "lowest": lowest, "equal": int((~lower & ~higher).sum())}


_DIRECTIONS = np.array([[1.0, 0.0], [0.0, 1.0], [math.sqrt(0.5), math.sqrt(0.5)], [math.sqrt(0.5), -math.sqrt(0.5)]])
"""Unit vectors u [4, 2] along which :func:`_kink` compares slopes: the axes and the diagonals."""


def _kink(f: Expression, x: float, y: float) -> bool:
    """True when f is continuous but not differentiable at (x, y), as |x| + |y| and √(x² + y²) at 0: its
    one-sided slopes along an axis or a diagonal fit no derivative (``_gd_partials.kinked``)."""
    return bool(kinked(f, x, y, _DIRECTIONS).any())


def classify(f: Expression, x: float, y: float) -> dict[str, Any]:
    """What kind of point (x, y) is.

    Returns
    -------
    dict with x, y, f, grad_norm, eigenvalues (the full 2x2 Hessian's, ascending, shape [2]; nan where
    undefined), kink (bool: f is not differentiable there, see :func:`_kink`) and kind: "domain edge"
    (f is finite on one side only along x or y, as √x at x = 0: ∇f does not exist there; also
    partials, see ``_gd_partials.partials``), "not differentiable" (a kink: ∇f is undefined, whatever
    autodiff reports), "not stationary", "strict minimum", "strict maximum", "saddle" or
    "inconclusive" (singular, near-singular or undefined Hessian); for "domain edge", "not
    differentiable" and "inconclusive" also ring (see ``_ring``: what f does on small rings around
    the point).
    """
    with np.errstate(all="ignore"):
        value, gx, gy = (float(v) for v in f.value_and_grad(x, y))
    grad = float(np.hypot(gx, gy))
    h = hessian(f, x, y)
    finite = bool(np.isfinite(h).all())
    eig, vec = np.linalg.eigh(0.5 * (h + h.T)) if finite else (np.full(2, math.nan), np.eye(2))
    kink = _kink(f, x, y)
    out = {"x": float(x), "y": float(y), "f": value, "grad_norm": grad, "eigenvalues": eig, "kink": kink}
    parts = partials(f, x, y)
    if any(p["status"] == "edge" for p in parts.values()):
        return {**out, "kind": "domain edge", "partials": parts, "ring": _ring(f, x, y, vec.T)}
    if kink:
        return {**out, "kind": "not differentiable", "ring": _ring(f, x, y, vec.T)}
    if math.isfinite(grad) and not both_at_rest(gx, gy, f, x, y):
        return {**out, "kind": "not stationary"}
    small = np.abs(eig) <= SINGULAR_TOL * max(curvature_scale(f, x, y), float(np.max(np.abs(eig)))) \
        if finite else None
    if not finite or small.any():
        return {**out, "kind": "inconclusive", "ring": _ring(f, x, y, vec.T)}
    kind = "strict minimum" if eig[0] > 0 else "strict maximum" if eig[-1] < 0 else "saddle"
    return {**out, "kind": kind}


def _newton(f: Expression, p: np.ndarray, iterations: int = 80) -> np.ndarray:
    """Newton's method on ∇f = 0 from every row of p [N, 2]; rows that fail become nan."""
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            _, gx, gy = f.value_and_grad(p[:, 0], p[:, 1])
            g = np.column_stack([gx, gy])
            h = 1e-5 * np.maximum(1.0, np.abs(p).max(axis=1))
            jac = np.empty((len(p), 2, 2))
            for i in range(2):
                e = np.zeros(2)
                e[i] = 1.0
                hi, lo = p + h[:, None] * e, p - h[:, None] * e
                _, ax, ay = f.value_and_grad(hi[:, 0], hi[:, 1])
                _, bx, by = f.value_and_grad(lo[:, 0], lo[:, 1])
                jac[:, :, i] = np.column_stack([ax - bx, ay - by]) / (2 * h[:, None])
            ok = np.isfinite(jac).all(axis=(1, 2)) & np.isfinite(g).all(axis=1)
            step = np.full_like(p, np.nan)
            if ok.any():
                step[ok] = (np.linalg.pinv(jac[ok], rcond=1e-12) @ g[ok][:, :, None])[:, :, 0]
            p = p - step
            p[~np.isfinite(p).all(axis=1) | (np.abs(p) > 1e6).any(axis=1)] = np.nan
    return p


def find_stationary_points(f: Expression, box: tuple = BOX, grid: int = 21,
                           limit: int = 64) -> dict[str, Any]:
    """Stationary points of f inside ``box``: Newton on ∇f = 0 from a ``grid`` x ``grid`` lattice.

    Returns
    -------
    dict with starts (number of starts), grid, points (list of :func:`classify` results, distinct,
    sorted by f, at most ``limit``), kinks (the points among them where f is not differentiable:
    autodiff's ∇f = 0 there is a convention, so they are not in points), edges (those on the edge of
    f's domain, where ∇f = 0 is a slope from one side only, not in points either), more (True when
    more than ``limit`` distinct points were found) and limit.
    """
    (xlo, xhi), (ylo, yhi) = box
    X, Y = np.meshgrid(np.linspace(xlo, xhi, grid), np.linspace(ylo, yhi, grid), indexing="ij")
    p = _newton(f, np.column_stack([X.ravel(), Y.ravel()]))
    inside = np.isfinite(p).all(axis=1) & (p[:, 0] >= xlo) & (p[:, 0] <= xhi) & (p[:, 1] >= ylo) & \
        (p[:, 1] <= yhi)
    p = p[inside]
    with np.errstate(all="ignore"):
        value, gx, gy = f.value_and_grad(p[:, 0], p[:, 1])
    keep = np.flatnonzero(both_at_rest(gx, gy, f, p[:, 0], p[:, 1])).tolist()
    distinct: list[np.ndarray] = []
    span = max(xhi - xlo, yhi - ylo)
    for i in sorted(keep, key=lambda i: float(value[i])):
        if all(np.max(np.abs(p[i] - q)) > 1e-4 * span for q in distinct):
            distinct.append(p[i])
    points = [classify(f, float(q[0]), float(q[1])) for q in distinct[:limit]]
    apart = ("not differentiable", "domain edge")
    return {"starts": grid * grid, "grid": grid, "points": [p for p in points if p["kind"] not in apart],
            "kinks": [p for p in points if p["kind"] == "not differentiable"],
            "edges": [p for p in points if p["kind"] == "domain edge"], "more": len(distinct) > limit, "limit": limit}


def downhill(f: Expression, x: float, y: float, reach: float = 0.5) -> dict[str, Any] | None:
    """f sampled along −∇f from (x, y), out to ``reach``: the lowest sample, and where f first stops being finite.

    Returns None where the gradient is zero or undefined; else dict with x, y, f, distance (of the lowest
    sample) and undefined_at (distance of the first non-finite sample, or None).
    """
    with np.errstate(all="ignore"):
        f0, gx, gy = (float(v) for v in f.value_and_grad(x, y))
        norm = math.hypot(gx, gy)
        if not (math.isfinite(norm) and norm > 0):
            return None
        t = np.geomspace(1e-9, reach, 200)
        px, py = x - t * gx / norm, y - t * gy / norm
        values = np.asarray(f(px, py), dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    values = np.where(np.isfinite(values), values, np.inf)
    k = int(np.argmin(values))
    if not values[k] < f0:
        return None
    return {"x": float(px[k]), "y": float(py[k]), "f": float(values[k]), "distance": float(t[k]),
            "undefined_at": float(t[bad[0]]) if bad.size else None}

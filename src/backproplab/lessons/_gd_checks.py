"""The gradient-descent lesson's checks of its own gradient: forward-mode autodiff against torch
autograd and against central differences, at points [N, 2].

Central differences carry rounding of order eps·|f|/h whatever f's slope: where f is large and its
slope small (1e6 + x² + y²) no step h lets them agree with any gradient to 1e-6. A point where they
miss the bound by no more than that rounding (:func:`~backproplab.expr.finite_difference_rounding`)
tells nothing either way: it is left out of the check and counted, and where every point is left
out the lesson says why in place of the claim. A point that misses by more still fails it.
"""

from __future__ import annotations

import math

import numpy as np

from backproplab.expr import Expression, finite_difference_gradient, finite_difference_rounding
from backproplab.lessons._gd_partials import num
from backproplab.lessons.result import Claim

TORCH_BOUND = 1e-10
"""Forward mode against torch autograd: max relative difference (both are exact up to rounding)."""
FD_BOUND = 1e-6
"""Autodiff against central differences at h = 1e-6 · max(1, |x|): max relative difference."""
FD_NAME = "autodiff gradient matches central finite differences (max relative difference)"


def gradient_checks(f: Expression, points: np.ndarray) -> dict[str, float]:
    """Max relative differences between forward mode, torch autograd and central differences.

    Returns dict: points (those where all three are finite), torch, fd (max over the points not left
    out; nan when all are), left_out (points whose difference lies within central differences'
    rounding), largest_f (the largest |f| next to a point left out, 0 when none is).
    """
    x, y = points[:, 0], points[:, 1]
    _, fx, fy = f.value_and_grad(x, y)
    _, tx, ty = f.gradient(x, y)
    nx, ny = finite_difference_gradient(f, x, y)
    rx, ry = finite_difference_rounding(f, x, y)
    with np.errstate(all="ignore"):
        values = np.abs(np.asarray(f(x, y), dtype=float))
    ok = np.isfinite(fx) & np.isfinite(fy) & np.isfinite(tx) & np.isfinite(ty) & np.isfinite(nx) & \
        np.isfinite(ny)
    if not ok.any():
        return {"points": 0, "torch": math.inf, "fd": math.inf, "left_out": 0, "largest_f": 0.0}
    fx, fy, tx, ty, nx, ny, rx, ry, values = (v[ok] for v in (fx, fy, tx, ty, nx, ny, rx, ry, values))
    scale = np.maximum(1.0, np.maximum(np.abs(fx), np.abs(fy)))
    torch_diff = np.max(np.maximum(np.abs(fx - tx), np.abs(fy - ty)) / scale)
    dx, dy, allowed = np.abs(fx - nx), np.abs(fy - ny), FD_BOUND * scale
    unresolved = ((dx > allowed) | (dy > allowed)) & (dx <= allowed + rx) & (dy <= allowed + ry)
    kept = ~unresolved
    fd_diff = float(np.max(np.maximum(dx, dy)[kept] / scale[kept])) if kept.any() else math.nan
    return {"points": int(ok.sum()), "torch": float(torch_diff), "fd": fd_diff, "left_out": int(unresolved.sum()),
            "largest_f": float(np.max(values[unresolved], initial=0.0))}


def gradient_claims(f: Expression, points: np.ndarray) -> tuple[list[Claim], list[str]]:
    """The two claims on the lab's gradient, and the words for a check that could not be made."""
    checks = gradient_checks(f, points)
    claims = [Claim.at_most("forward-mode gradient equals torch autograd (max relative difference)", checks["torch"],
                            TORCH_BOUND, f"{checks['points']} points")]
    left_out, checked = checks["left_out"], checks["points"] - checks["left_out"]
    rounding = (f"f's size (|f| up to {num(checks['largest_f'], 3)}) gives central differences a rounding error "
                f"(about 4·eps·|f|/h) above the relative {FD_BOUND:g} they are held to")
    if checked or not left_out:
        evidence = f"{checked} points, h = 1e-6 · max(1, |x|)"
        if left_out:
            evidence += f"; {left_out} left out, where {rounding}"
        claims.append(Claim.at_most(FD_NAME, checks["fd"], FD_BOUND, evidence))
        return claims, []
    return claims, [f"Central differences could not check the gradient at any of the {left_out} points: {rounding}. "
                    "Within that rounding they agree with the lab's gradient; the check against torch autograd "
                    "above still holds."]

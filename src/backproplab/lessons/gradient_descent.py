"""Gradient descent on f(x, y) = x² + y² + x(y + 2) + cos(3x), with a decaying step size.

The course's exercise: from (3, 2), ten steps of size 0.1 reach f = 1.29676 and stop in a local
minimum, while the global minimum is f ≈ −2.2807 at (−1.088, 0.544). Which step sizes get there, and
how fast?

The lesson

* runs the course's ten steps and checks the value it reaches;
* finds the global minimum numerically (a grid over a box, then L-BFGS-B from the lowest grid
  minima, then a Hessian check) instead of trusting the quoted numbers;
* sweeps the initial step η₀, the decay d of the schedule η_t = η₀·d^t (t counted from 0, not
  compounded from a decayed value) and the number of steps, and reports which settings reach the
  course's target f < −2 and which one is best;
* draws the contour plot with the paths of a too-small, a good and a too-large step.

Any function of x and y can be studied instead (``--expr "x^2 + 3*y^2"``): it goes through the
safe parser of :mod:`backproplab.lessons.expression` (never ``eval``), and its gradient comes from
forward-mode autodiff, checked against torch autograd and against finite differences. Claims are
about the course's function; for your own function the lesson reports *findings* instead, because
nothing is known in advance about it: where your run diverged (and the largest of η/10, η/100, …
that does not), whether the search found a stationary point in the box or f falls past its edge,
and what the Hessian says there (strict minimum, flat valley, saddle, or undefined at a kink). Only
the lab's own gradients are claimed, so the command exits 0 unless the input was invalid.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.errors import InputError
from backproplab.lessons._args import check_seed
from backproplab.lessons.expression import Expression, finite_difference_gradient, parse_expression
from backproplab.lessons.result import Claim, LessonResult

NAME = "gradient-descent"
TITLE = "Gradient descent with a decaying step size"
ORDER = 30

COURSE_EXPR = "x^2 + y^2 + x*(y + 2) + cos(3*x)"
"""The course's function, as text for the parser."""
COURSE_START = (3.0, 2.0)
COURSE_ETA = 0.1
COURSE_STEPS = 10
COURSE_VALUE_AFTER_10 = 1.29676
"""f after 10 steps of size 0.1 from (3, 2), as the course states it."""
COURSE_MINIMUM = (-1.088, 0.544, -2.2807)
"""(x, y, f) of the global minimum as the course quotes it (3-4 digits)."""
TARGET = -2.0
"""The course's target: get below this value of f."""
BOX = ((-5.0, 5.0), (-5.0, 5.0))
"""Search box for the global minimum: ((x_lo, x_hi), (y_lo, y_hi))."""

_DIVERGED = 1e12  # |x| or |y| beyond this: the run has left the function's region for good


def course_gradient(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """The closed-form gradient of the course's f: (2x + y + 2 − 3 sin 3x, 2y + x)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return 2 * x + y + 2 - 3 * np.sin(3 * x), 2 * y + x


def _as_expression(f: Expression | str) -> Expression:
    if isinstance(f, Expression):
        return f
    return parse_expression(f)


def _check_start(start: Sequence[float]) -> tuple[float, float]:
    try:
        values = [float(v) for v in start]
    except (TypeError, ValueError):
        raise InputError(f"start must be two numbers (x, y), got {start!r}") from None
    if len(values) != 2 or not all(math.isfinite(v) for v in values):
        raise InputError(f"start must be two finite numbers (x, y), got {start!r}")
    return values[0], values[1]


def _check_schedule(eta: float, decay: float, steps: int) -> tuple[float, float, int]:
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not (0 < eta < math.inf):
        raise InputError(f"eta must be a positive finite step size, got {eta!r}")
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not (0 < decay <= 1):
        raise InputError(f"decay must lie in (0, 1] (1 = constant step), got {decay!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= 100_000:
        raise InputError(f"steps must be an integer from 1 to 100000, got {steps!r}")
    return float(eta), float(decay), int(steps)


def step_sizes(eta0: float, decay: float, steps: int) -> np.ndarray:
    """The schedule η_t = η₀·d^t for t = 0 … steps−1 (from t, not compounded).

    Returns
    -------
    ndarray, shape [steps]
    """
    eta0, decay, steps = _check_schedule(eta0, decay, steps)
    return eta0 * decay ** np.arange(steps, dtype=np.float64)


def descend_many(f: Expression | str, start: Sequence[float], etas: Sequence[float],
                 decays: Sequence[float], steps: int) -> np.ndarray:
    """Run gradient descent for many (η₀, d) settings at once (vectorised, forward-mode gradients).

    Parameters
    ----------
    f : Expression or str
    start : (x, y)
    etas, decays : sequences of equal length N
        Setting i uses η_t = etas[i]·decays[i]^t.
    steps : int

    Returns
    -------
    ndarray, shape [steps + 1, N, 2]
        Positions; row 0 is the start. A run whose position leaves |x|, |y| < 1e12 or becomes
        non-finite is frozen at nan from then on (diverged).
    """
    f = _as_expression(f)
    x0, y0 = _check_start(start)
    etas = np.asarray(etas, dtype=np.float64)
    decays = np.asarray(decays, dtype=np.float64)
    if etas.shape != decays.shape or etas.ndim != 1:
        raise InputError(f"etas and decays must be 1-D of one length, got shapes {etas.shape} and "
                         f"{decays.shape}")
    for eta, decay in zip(etas, decays, strict=True):
        _check_schedule(float(eta), float(decay), int(steps))
    path = np.empty((steps + 1, etas.size, 2))
    x = np.full(etas.shape, x0)
    y = np.full(etas.shape, y0)
    path[0, :, 0], path[0, :, 1] = x, y
    with np.errstate(all="ignore"):
        for t in range(steps):
            _, gx, gy = f.value_and_grad(x, y)
            lr = etas * decays ** t
            x, y = x - lr * gx, y - lr * gy
            bad = ~(np.isfinite(x) & np.isfinite(y)) | (np.abs(x) > _DIVERGED) | (np.abs(y) > _DIVERGED)
            x[bad], y[bad] = np.nan, np.nan
            path[t + 1, :, 0], path[t + 1, :, 1] = x, y
    return path


def gradient_descent(f: Expression | str, start: Sequence[float] = COURSE_START, eta: float = COURSE_ETA,
                     decay: float = 1.0, steps: int = COURSE_STEPS) -> np.ndarray:
    """Gradient descent x_{t+1} = x_t − η₀·d^t·∇f(x_t) from ``start``.

    Parameters
    ----------
    f : Expression or str
        The function, e.g. ``"x^2 + y^2 + x*(y + 2) + cos(3*x)"``.
    start : (x, y)
    eta : float
        Initial step size η₀ > 0.
    decay : float
        d in (0, 1]; 1 keeps the step constant.
    steps : int

    Returns
    -------
    ndarray, shape [steps + 1, 2]
        The path, start included (nan after divergence).
    """
    eta, decay, steps = _check_schedule(eta, decay, steps)
    return descend_many(f, start, [eta], [decay], steps)[:, 0, :]


def _hessian(f: Expression, x: float, y: float) -> np.ndarray:
    """2x2 Hessian by torch autograd (reverse over reverse)."""
    import torch

    def scalar(p: torch.Tensor) -> torch.Tensor:
        return f.torch(p[0], p[1])

    point = torch.tensor([x, y], dtype=torch.float64)
    return torch.autograd.functional.hessian(scalar, point).numpy()


def find_minimum(f: Expression | str, box: tuple[tuple[float, float], tuple[float, float]] = BOX,
                 grid: int = 81, starts: int = 8) -> dict[str, Any]:
    """The lowest point of f in ``box``, found numerically.

    f is evaluated on a ``grid`` x ``grid`` lattice; from the ``starts`` lowest lattice points
    that are lower than their 8 neighbours, L-BFGS-B (SciPy) with forward-mode gradients refines
    each; the lowest result is checked with the torch Hessian.

    Returns
    -------
    dict with keys x, y, f, grad_norm (|∇f| there), hessian_eigenvalues (ascending, shape [k]: the
    Hessian restricted to the k variables f uses, so f = x² has the strict minimum it should),
    on_boundary (True when the lowest point lies on the box's edge: f may have no minimum inside),
    starts (number of refined starting points).
    """
    from scipy.optimize import minimize

    f = _as_expression(f)
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

    def edge(p: np.ndarray) -> bool:
        gaps = [(p[0] - xlo, xhi - p[0]), (p[1] - ylo, yhi - p[1])]
        return bool(min(min(gaps[i]) for i in used) < 1e-6 * span)

    found = []
    for i, j in candidates[order]:
        res = minimize(fun, np.array([xs[i], ys[j]]), jac=True, method="L-BFGS-B",
                       bounds=[(xlo, xhi), (ylo, yhi)], options={"ftol": 1e-15, "gtol": 1e-12})
        if np.isfinite(res.fun):
            found.append((float(res.fun), edge(res.x), res.x))
    if not found:
        raise InputError(f"f = {f.text!r}: no finite minimum found on the search box {box}")
    low = min(v for v, _, _ in found)
    # among equally low points (f = e^x y^2 is 0 on the whole line y = 0) prefer one inside the box
    ties = [r for r in found if r[0] <= low + 1e-12 * (1.0 + abs(low))]
    _, on_boundary, point = min(ties, key=lambda r: (r[1], r[0]))
    bx, by = (float(v) for v in point)
    _, gx, gy = f.value_and_grad(bx, by)
    hess = _hessian(f, bx, by)
    hess = hess[np.ix_(used, used)]
    return {"x": bx, "y": by, "f": float(f(bx, by)), "grad_norm": float(np.hypot(gx, gy)),
            "hessian_eigenvalues": np.linalg.eigvalsh(0.5 * (hess + hess.T)) if np.isfinite(hess).all()
            else np.full(len(used), math.nan),
            "on_boundary": bool(on_boundary), "starts": int(min(len(candidates), starts))}


def grid_search(f: Expression | str, start: Sequence[float], etas: Sequence[float],
                decays: Sequence[float], steps: Sequence[int], target: float = TARGET
                ) -> list[dict[str, Any]]:
    """Final f for every (η₀, d, steps) in the product of the three lists.

    Runs with the same (η₀, d) share one trajectory (a longer run continues the shorter one).

    Returns
    -------
    list of rows {eta0, decay, steps, x, y, f, reached} (``reached``: f < target), in grid order.
    """
    f = _as_expression(f)
    steps = sorted({int(s) for s in steps})
    pairs = [(float(e), float(d)) for e in etas for d in decays]
    path = descend_many(f, start, [p[0] for p in pairs], [p[1] for p in pairs], steps[-1])
    rows = []
    for k, (eta0, decay) in enumerate(pairs):
        for n in steps:
            x, y = path[n, k]
            value = float(f(x, y)) if np.isfinite(x) else math.nan
            rows.append({"eta0": eta0, "decay": decay, "steps": n, "x": float(x), "y": float(y),
                         "f": value, "reached": bool(np.isfinite(value) and value < target)})
    return rows


def _best(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    finite = [r for r in rows if math.isfinite(r["f"])]
    return min(finite, key=lambda r: (round(r["f"], 9), r["steps"], -r["eta0"])) if finite else None


def _gradient_checks(f: Expression, points: np.ndarray) -> dict[str, float]:
    """Max differences between forward-mode, torch autograd and central differences at points [N, 2]."""
    x, y = points[:, 0], points[:, 1]
    _, fx, fy = f.value_and_grad(x, y)
    _, tx, ty = f.gradient(x, y)
    nx, ny = finite_difference_gradient(f, x, y)
    ok = np.isfinite(fx) & np.isfinite(fy) & np.isfinite(tx) & np.isfinite(ty) & np.isfinite(nx) & \
        np.isfinite(ny)
    if not ok.any():
        return {"points": 0, "torch": math.inf, "fd": math.inf}
    fx, fy, tx, ty, nx, ny = (v[ok] for v in (fx, fy, tx, ty, nx, ny))
    scale = np.maximum(1.0, np.maximum(np.abs(fx), np.abs(fy)))
    torch_diff = np.max(np.maximum(np.abs(fx - tx), np.abs(fy - ty)) / scale)
    fd_diff = np.max(np.maximum(np.abs(fx - nx), np.abs(fy - ny)) / scale)
    return {"points": int(ok.sum()), "torch": float(torch_diff), "fd": float(fd_diff)}


_COLORS = {"too small": "tab:blue", "good": "tab:green", "too large": "tab:red"}


def _color(label: str) -> str | None:
    return next((c for k, c in _COLORS.items() if label.startswith(k)), None)


def _plot_paths(f: Expression, paths: dict[str, np.ndarray], minimum: dict[str, Any],
                start: tuple[float, float]) -> Any:
    """Contour map of f with the three paths; the legend sits below the map, never on it."""
    from matplotlib.figure import Figure

    pts = np.concatenate([p[np.isfinite(p).all(axis=1)] for p in paths.values()] +
                         [np.array([[minimum["x"], minimum["y"]], start])])
    pts = pts[(np.abs(pts) < 50).all(axis=1)]
    lo = pts.min(axis=0) - 1.0
    hi = pts.max(axis=0) + 1.0
    X, Y = np.meshgrid(np.linspace(lo[0], hi[0], 240), np.linspace(lo[1], hi[1], 200))
    with np.errstate(all="ignore"):
        Z = f(X, Y)
    fig = Figure(figsize=(7.2, 6.6), layout="constrained")
    ax = fig.add_subplot()
    finite = Z[np.isfinite(Z)]
    if finite.size and np.ptp(finite) > 0:
        cs = ax.contour(X, Y, Z, levels=np.unique(np.quantile(finite, np.linspace(0, 1, 30))),
                        cmap="viridis", linewidths=0.8)
        fig.colorbar(cs, ax=ax, label="f(x, y)")
    for label, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], "o-", ms=3.5, lw=1.5, label=label, color=_color(label))
    ax.plot(*start, "ks", ms=8, label=f"start ({start[0]:g}, {start[1]:g})")
    ax.plot(minimum["x"], minimum["y"], "*", color="gold", mec="k", ms=16,
            label=f"lowest point found, f = {minimum['f']:.4g}")
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="x", ylabel="y")
    ax.set_title(f"f(x, y) = {f.text}", fontsize=11)
    fig.legend(loc="outside lower center", ncols=2, fontsize=10, frameon=False)
    return fig


def _plot_values(f: Expression, paths: dict[str, np.ndarray], minimum: dict[str, Any],
                 target: float | None) -> Any:
    """f along each path: the gap f − f* on a log axis when f* is a true lower bound, else f itself."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 4.6), layout="constrained")
    ax = fig.add_subplot()
    with np.errstate(all="ignore"):
        values = {k: f(p[:, 0], p[:, 1]) for k, p in paths.items()}
    f_star = minimum["f"]
    finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
    gap = finite.size and finite.min() >= f_star - 1e-9 * (1 + abs(f_star)) and not minimum["on_boundary"]
    for label, v in values.items():
        shown = np.maximum(v - f_star, 1e-16) if gap else v
        ax.plot(np.arange(len(v)), shown, "o-", ms=3.5, lw=1.5, label=label, color=_color(label))
    if gap:
        ax.set_yscale("log")
        ax.set_ylabel("f(pₜ) − f*   (distance above the minimum)")
        if target is not None:
            ax.axhline(target - f_star, color="gray", ls=":", label=f"target f < {target:g}")
    else:
        ax.set_ylabel("f(pₜ)")
        ax.axhline(f_star, color="goldenrod", ls="--", label=f"lowest value in the box, {f_star:.4g}")
    ax.set_xlabel("step t")
    ax.grid(alpha=0.3)
    ax.set_title("How fast each step size goes down", fontsize=11)
    fig.legend(loc="outside lower center", ncols=2, fontsize=10, frameon=False)
    return fig


def _course_claims(f: Expression) -> tuple[list[Claim], list[dict[str, Any]]]:
    """The course's ten steps from (3, 2): the claim and the path table."""
    path = gradient_descent(f, COURSE_START, COURSE_ETA, 1.0, COURSE_STEPS)
    f10 = float(f(*path[-1]))
    claim = Claim.close_to(
        "10 steps of size 0.1 from (3, 2) reach f = 1.29676", f10, COURSE_VALUE_AFTER_10, 1e-4,
        f"ends at ({path[-1, 0]:.5f}, {path[-1, 1]:.5f}), a local minimum's basin")
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))} for t, p in enumerate(path)]
    return [claim], rows


def _gradient_claims(f: Expression, points: np.ndarray, is_course: bool) -> list[Claim]:
    """Forward mode against torch autograd and central differences (and the closed form, for the course)."""
    checks = _gradient_checks(f, points)
    claims = [
        Claim.at_most("forward-mode gradient equals torch autograd (max relative difference)", checks["torch"],
                      1e-10, f"{checks['points']} points"),
        Claim.at_most("autodiff gradient matches central finite differences (max relative difference)",
                      checks["fd"], 1e-6, f"{checks['points']} points, h = 1e-6")]
    if is_course:
        _, gx, gy = f.value_and_grad(points[:, 0], points[:, 1])
        cx, cy = course_gradient(points[:, 0], points[:, 1])
        diff = float(np.max(np.maximum(np.abs(gx - cx), np.abs(gy - cy))))
        claims.append(Claim.at_most("autodiff gradient equals (2x + y + 2 − 3 sin 3x, 2y + x) (max abs difference)",
                                    diff, 1e-12, f"{len(points)} points"))
    return claims


def _minimum_claims(minimum: dict[str, Any]) -> list[Claim]:
    """The course's global minimum, found numerically, against the numbers the course quotes."""
    mx, my, mf = COURSE_MINIMUM
    eig = minimum["hessian_eigenvalues"]
    return [
        Claim.close_to("global minimum value f*", minimum["f"], mf, 5e-4,
                       f"at ({minimum['x']:.5f}, {minimum['y']:.5f}), {minimum['starts']} starts"),
        Claim.close_to("global minimiser x*", minimum["x"], mx, 1e-3),
        Claim.close_to("global minimiser y*", minimum["y"], my, 1e-3),
        Claim.at_most("gradient norm at the minimum found", minimum["grad_norm"], 1e-6, "interior stationary point"),
        Claim.at_least("smallest Hessian eigenvalue at the minimum (positive: a true minimum)", float(eig[0]), 1e-9,
                       "eigenvalues " + ", ".join(f"{v:.4g}" for v in eig))]


def safer_step(f: Expression, start: tuple[float, float], eta: float, decay: float, steps: int) -> float | None:
    """The largest of η/10, η/100, …, η/10⁶ whose run neither diverges nor ends above its start."""
    etas = eta * 10.0 ** -np.arange(1, 7)
    path = descend_many(f, start, etas, np.full(etas.shape, decay), steps)
    with np.errstate(all="ignore"):
        f0, end = float(f(*start)), f(path[-1, :, 0], path[-1, :, 1])
    ok = np.isfinite(end) & (end <= f0)
    return float(etas[np.argmax(ok)]) if ok.any() else None


def run_findings(f: Expression, rows: list[dict[str, Any]], eta: float, decay: float) -> list[str]:
    """What a run did, in words: where it diverged (and a smaller step to try), or where it ended.

    ``rows`` is the run's table (t, eta_t, x, y, f), start included.
    """
    bad = next((r for r in rows if not (math.isfinite(r["x"]) and math.isfinite(r["f"]))), None)
    f0, last, steps = rows[0]["f"], rows[-1], len(rows) - 1
    if bad is not None or last["f"] > f0:
        safer = safer_step(f, (rows[0]["x"], rows[0]["y"]), eta, decay, steps)
        advice = f"try `--eta {eta / 10:g}`" if safer is None else \
            f"try `--eta {safer:g}`, the largest of η/10, η/100, … that goes down without diverging here"
    if bad is not None:
        eta_t = eta * decay ** (bad["t"] - 1)
        return [f"**Your run diverged at step {bad['t']}** (step size η = {eta_t:.3g}): x, y or f left the "
                f"floating-point range. The step is too large where f is steep; {advice}."]
    where = f"({last['x']:.6g}, {last['y']:.6g}), f = {last['f']:.6g}"
    if last["f"] > f0:
        return [f"**Your run went uphill**: f rose from {f0:.6g} to {last['f']:.6g} (ended at {where}). "
                f"The step overshoots; {advice}."]
    _, gx, gy = f.value_and_grad(last["x"], last["y"])
    grad = float(np.hypot(gx, gy))
    if math.isfinite(grad) and grad <= 1e-6 * max(1.0, abs(last["f"])):
        return [f"Your run reached a stationary point: {where}, |∇f| = {grad:.2g}."]
    return [f"Your run ended at {where} with |∇f| = {grad:.3g}: not yet a stationary point after {steps} "
            "steps. More steps (`--steps`) or a larger step size would go further."]


def minimum_findings(minimum: dict[str, Any], box: tuple = BOX) -> list[str]:
    """What the search for the lowest point in ``box`` found, in words (no pass/fail)."""
    at = f"({minimum['x']:.6g}, {minimum['y']:.6g})"
    grad, eig = minimum["grad_norm"], np.asarray(minimum["hessian_eigenvalues"], dtype=float)
    scale = max(1.0, abs(minimum["f"]))
    box_words = f"[{box[0][0]:g}, {box[0][1]:g}] × [{box[1][0]:g}, {box[1][1]:g}]"
    if minimum["on_boundary"] and not grad <= 1e-6 * scale:
        return [f"**No stationary point found** in the box {box_words}: the lowest value there, f = "
                f"{minimum['f']:.6g}, lies on its edge at {at}, where f still falls outward (|∇f| = {grad:.3g}). "
                "f may be unbounded below, or its minimum lies outside the box."]
    lines = [f"Lowest point found in the box {box_words}: f = {minimum['f']:.6g} at {at}"
             + (f", |∇f| = {grad:.2g}." if math.isfinite(grad) else
                ", where the gradient is undefined (a kink or a cusp).")]
    if not np.isfinite(eig).all():
        lines.append(f"**Hessian undefined** at {at}: f is not twice differentiable there, so the curvature "
                     "test cannot tell what kind of point it is.")
    elif eig[0] > 1e-9 * max(1.0, abs(eig[-1])):
        lines.append(f"A strict minimum: the Hessian's eigenvalues ({', '.join(f'{v:.4g}' for v in eig)}) are "
                     "all positive.")
    elif eig[0] >= -1e-9 * max(1.0, abs(eig[-1])):
        lines.append(f"**Hessian singular** there (eigenvalues {', '.join(f'{v:.4g}' for v in eig)}): f is flat "
                     "along one direction, so the minimum is not strict — a valley of equally low points.")
    else:
        lines.append(f"**A saddle point**, not a minimum: the Hessian has a negative eigenvalue ({eig[0]:.4g}).")
    return lines


def grid_findings(rows: list[dict[str, Any]], reached: list[dict[str, Any]], best: dict[str, Any] | None,
                  minimum: dict[str, Any], target_words: str) -> list[str]:
    """The sweep over (η₀, d, steps) in words: how many settings got there, how many diverged, the best."""
    diverged = [r for r in rows if not math.isfinite(r["f"])]
    text = f"{len(reached)} of {len(rows)} settings of (η₀, d, steps) reach {target_words}"
    if len(diverged) == len(rows):
        text += f"; every one diverged, even η₀ = {min(r['eta0'] for r in rows):g}: f is too steep at the start " \
                "for these steps (your own `--eta` can go smaller)"
    elif diverged:
        smallest = min(r["eta0"] for r in diverged)
        text += f"; {len(diverged)} diverged (the smallest η₀ that diverged: {smallest:g})"
    lines = [text + "."]
    if reached:
        first = reached[0]
        lines.append(f"Fewest steps: η₀ = {first['eta0']:g}, d = {first['decay']:g}, {first['steps']} steps → "
                     f"f = {first['f']:.6g}.")
    if best is not None:
        lower = " — lower than anything in the box: f keeps decreasing outside it" \
            if best["f"] < minimum["f"] - 1e-9 * (1 + abs(minimum["f"])) else ""
        lines.append(f"Lowest f reached: {best['f']:.6g} (η₀ = {best['eta0']:g}, d = {best['decay']:g}, "
                     f"{best['steps']} steps){lower}.")
    return lines


def _grid_settings(quick: bool) -> tuple[list[float], list[float], list[int]]:
    if quick:
        return [0.01, 0.05, 0.1, 0.15, 0.2, 0.4], [1.0, 0.95, 0.9], [10, 20, 50]
    return [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5], [1.0, 0.99, 0.95, 0.9, 0.8, 0.7], \
        [10, 20, 50, 100]


def _steps_to_target(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per η₀, one column per d: the fewest steps of the grid that reach the target (— if none)."""
    table: dict[float, dict[str, Any]] = {}
    for r in rows:
        row = table.setdefault(r["eta0"], {"eta0": r["eta0"]})
        key = f"d = {r['decay']:g}"
        if r["reached"] and not isinstance(row.get(key), int):
            row[key] = r["steps"]
        elif not math.isfinite(r["f"]):
            row.setdefault(key, "diverged")
        else:
            row.setdefault(key, "—")
    return list(table.values())


def _three_paths(f: Expression, start: tuple[float, float], fastest: dict[str, Any] | None,
                 is_course: bool) -> dict[str, np.ndarray]:
    """A too-small, a good and a too-large step for the pictures, 20 steps each.

    For the course: η₀ = 0.01, the grid's fastest setting, and 0.5. For your f: the constant step
    from 10⁻⁴ … 1 that ends lowest, a tenth of it, and the next larger one that ends higher or diverges.
    """
    if is_course:
        good = (fastest["eta0"], fastest["decay"]) if fastest else (COURSE_ETA, 1.0)
        settings = {"too small": (0.01, 1.0), "good": good, "too large": (0.5, 1.0)}
    else:
        etas = 10.0 ** np.arange(-4, 0.01, 0.25)
        ends = descend_many(f, start, etas, np.ones_like(etas), 20)[-1]
        with np.errstate(all="ignore"):
            final = np.where(np.isfinite(ends).all(axis=1), f(ends[:, 0], ends[:, 1]), np.inf)
        k = int(np.argmin(final)) if np.isfinite(final).any() else 0
        worse = [i for i in range(k + 1, len(etas)) if not final[i] <= final[k] + 1e-12 * abs(final[k])]
        large = float(etas[worse[0]]) if worse else 4 * float(etas[k])
        settings = {"too small": (float(etas[k]) / 10, 1.0), "good": (float(etas[k]), 1.0),
                    "too large": (large, 1.0)}
    return {f"{k} (η₀ = {e:.3g}" + (f", d = {d:g})" if d != 1 else ")"): gradient_descent(f, start, e, d, 20)
            for k, (e, d) in settings.items()}


def _check_run_inputs(expr: str | None, start: Sequence[float] | None, eta: float, decay: float,
                      steps: int) -> tuple[Expression, bool, tuple[float, float], float]:
    f = parse_expression(COURSE_EXPR if expr is None else expr)
    is_course = str(f) == str(parse_expression(COURSE_EXPR))
    start = COURSE_START if start is None else _check_start(start)
    _check_schedule(eta, decay, steps)
    with np.errstate(all="ignore"):
        f0 = float(f(*start))
    if not math.isfinite(f0):
        raise InputError(f"expression {f.text!r} is not finite at the start {start}: f = {f0}")
    return f, is_course, start, f0


def run(quick: bool = False, seed: int = 0, out: str | Path | None = None, expr: str | None = None,
        start: Sequence[float] | None = None, eta: float = COURSE_ETA, decay: float = 1.0,
        steps: int = COURSE_STEPS) -> LessonResult:
    """Run the lesson; returns claims, findings, tables (your run, the grid) and figures.

    For the course's f the lesson checks claims (the course's numbers). For your own function it
    reports *findings* instead — where your run diverged or ended, whether a stationary point was
    found, what the Hessian says — and claims only what the lab itself must get right (its gradients).

    Parameters
    ----------
    quick : bool
        A smaller grid of settings (same claims).
    seed : int
        Seed of the random points where gradients are checked.
    out : path, optional
        Directory to write ``gradient_descent.md`` into.
    expr : str, optional
        A function of x and y (safe parser); default the course's f.
    start, eta, decay, steps :
        Your own run: start point (default (3, 2)), η₀, d and number of steps.
    """
    seed = check_seed(seed)
    f, is_course, start, f0 = _check_run_inputs(expr, start, eta, decay, steps)
    eta, decay, steps = _check_schedule(eta, decay, steps)
    claims: list[Claim] = []
    tables: dict[str, list[dict[str, Any]]] = {}
    if is_course:
        claims, tables["course_path"] = _course_claims(f)
    points = np.vstack([np.array(start), np.random.default_rng(seed).uniform(-3, 3, size=(24, 2))])
    claims += _gradient_claims(f, points, is_course)
    minimum = find_minimum(f, BOX, grid=61 if quick else 121, starts=6 if quick else 12)
    if is_course:
        claims += _minimum_claims(minimum)
    etas, decays, step_list = _grid_settings(quick)
    grid_start = COURSE_START if is_course else start
    rows = grid_search(f, grid_start, etas, decays, step_list,
                       target=TARGET if is_course else minimum["f"] + 0.1 * (f0 - minimum["f"]))
    reached = sorted((r for r in rows if r["reached"]), key=lambda r: (r["steps"], r["f"]))
    best = _best(rows)
    target_words = f"f < {TARGET:g}" if is_course else "90% of the way down to the lowest point found"
    paths = _three_paths(f, grid_start, reached[0] if reached else best, is_course)
    if is_course:
        claims += _course_grid_claims(f, rows, reached, best, minimum, paths)
    user_rows = _user_run(f, start, eta, decay, steps)
    findings = run_findings(f, user_rows, eta, decay) + minimum_findings(minimum) + \
        grid_findings(rows, reached, best, minimum, target_words)
    if not (is_course and user_rows == _user_run(f, COURSE_START, COURSE_ETA, 1.0, COURSE_STEPS)):
        tables["your_run"] = user_rows
    tables.update(steps_to_target=_steps_to_target(rows), grid=rows, reaching_target=reached,
                  minimum=[_minimum_row(minimum)])
    markdown = _markdown(f, start, eta, decay, steps, findings)
    if out is not None:
        from backproplab.files import atomic_write_text

        atomic_write_text(Path(out) / "gradient_descent.md",
                          f"# {TITLE}\n\n{markdown}\n## Your run\n\n{_path_markdown(user_rows)}")
    return LessonResult(
        name=NAME, title=TITLE,
        params={"expr": f.text, "start": list(start), "eta": eta, "decay": decay, "steps": steps,
                "quick": quick, "seed": seed, "grid": {"eta0": etas, "decay": decays, "steps": step_list}},
        claims=claims, tables=tables,
        figures={"gd_contour_paths": _plot_paths(f, paths, minimum, grid_start),
                 "gd_values": _plot_values(f, paths, minimum, TARGET if is_course else None)},
        text={"print_summary": _summary(f, start, eta, decay, steps, user_rows, findings),
              "gradient_descent": markdown, **_captions(is_course)})


def _course_grid_claims(f: Expression, rows: list[dict[str, Any]], reached: list[dict[str, Any]],
                        best: dict[str, Any] | None, minimum: dict[str, Any],
                        paths: dict[str, np.ndarray]) -> list[Claim]:
    claims = [Claim.at_least(f"grid settings reaching f < {TARGET:g}", len(reached), 1, f"of {len(rows)} settings")]
    if best is not None:
        claims.append(Claim.close_to("best grid setting reaches the global minimum", best["f"], minimum["f"],
                                     1e-4 + 1e-6 * abs(minimum["f"]),
                                     f"eta0 = {best['eta0']:g}, d = {best['decay']:g}, {best['steps']} steps"))
    finals = {k.split(" (")[0]: float(f(*v[-1])) if np.isfinite(v[-1]).all() else math.inf for k, v in paths.items()}
    claims.append(Claim.holds(
        "after 20 steps the good step ends lowest, below the too-small and too-large ones",
        finals["good"] < min(finals["too small"], finals["too large"]),
        evidence=", ".join(f"{k}: {v:.4g}" for k, v in finals.items())))
    return claims


def _user_run(f: Expression, start: tuple[float, float], eta: float, decay: float,
              steps: int) -> list[dict[str, Any]]:
    path = gradient_descent(f, start, eta, decay, steps)
    with np.errstate(all="ignore"):
        return [{"t": t, "eta_t": (eta * decay ** t) if t < steps else None, "x": float(p[0]), "y": float(p[1]),
                 "f": float(f(*p)) if np.isfinite(p).all() else math.nan} for t, p in enumerate(path)]


def _minimum_row(minimum: dict[str, Any]) -> dict[str, Any]:
    eig = minimum["hessian_eigenvalues"]
    return {"x": minimum["x"], "y": minimum["y"], "f": minimum["f"], "grad_norm": minimum["grad_norm"],
            "hessian_min_eig": float(eig[0]), "hessian_max_eig": float(eig[-1]),
            "on_boundary": minimum["on_boundary"]}


def _captions(is_course: bool) -> dict[str, str]:
    what = "the course's f" if is_course else "your f"
    return {
        "caption:gd_contour_paths": f"Twenty steps of gradient descent on {what} from the start (■): a step too "
                                    "small crawls, a good one lands in the minimum (★), one too large bounces "
                                    "across the valley.",
        "caption:gd_values": "The same three runs step by step: how far above the lowest value each one is.",
    }


def _summary(f: Expression, start: tuple[float, float], eta: float, decay: float, steps: int,
             user_rows: list[dict[str, Any]], findings: list[str]) -> str:
    last = user_rows[-1]
    lines = [f"f(x, y) = {f.text}",
             f"your run: start ({start[0]:g}, {start[1]:g}), eta_t = {eta:g}·{decay:g}^t, {steps} steps "
             f"-> ({last['x']:.6g}, {last['y']:.6g}), f = {last['f']:.6g}", "findings:"]
    lines += ["  - " + text.replace("**", "").replace("`", "") for text in findings]
    return "\n".join(lines)


def _markdown(f: Expression, start: tuple[float, float], eta: float, decay: float, steps: int,
              findings: list[str]) -> str:
    lines = [f"$$f(x, y) = {f.to_latex()}$$", "",
             r"Update: $\mathbf{p}_{t+1} = \mathbf{p}_t - \eta_t \nabla f(\mathbf{p}_t)$ with "
             rf"$\eta_t = \eta_0 d^t$; your run: $\eta_0 = {eta:g}$, $d = {decay:g}$, {steps} steps from "
             rf"$({start[0]:g}, {start[1]:g})$.", "", "**What the runs found**", ""]
    lines += [f"- {text}" for text in findings]
    return "\n".join(lines) + "\n"


def _path_markdown(user_rows: list[dict[str, Any]]) -> str:
    lines = ["| t | η_t | x | y | f |", "|---|---|---|---|---|"]
    for r in user_rows:
        eta_t = "" if r["eta_t"] is None else f"{r['eta_t']:.4g}"
        lines.append(f"| {r['t']} | {eta_t} | {r['x']:.6f} | {r['y']:.6f} | {r['f']:.6f} |")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI options: ``--expr``, ``--start X Y``, ``--eta``, ``--decay``, ``--steps``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the docstring's layout
    parser.add_argument("--expr", default=None, metavar="TEXT",
                        help=f"a function of x and y (default the course's: {COURSE_EXPR!r}); "
                             "numbers, x, y, pi, e, + - * / ^ ( ) and sin cos tan exp log sqrt tanh abs ...")
    parser.add_argument("--start", type=float, nargs=2, default=None, metavar=("X", "Y"),
                        help="start point of your run (default 3 2)")
    parser.add_argument("--eta", type=float, default=COURSE_ETA, help="initial step size eta0 (default 0.1)")
    parser.add_argument("--decay", type=float, default=1.0,
                        help="schedule eta_t = eta0 * decay^t, decay in (0, 1] (default 1: constant)")
    parser.add_argument("--steps", type=int, default=COURSE_STEPS, help="number of steps (default 10)")

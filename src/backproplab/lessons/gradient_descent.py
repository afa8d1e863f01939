"""Gradient descent on f(x, y) = x² + y² + x(y + 2) + cos(3x), with a decaying step size.

The course's exercise: from (3, 2), ten steps of size 0.1 reach f = 1.29676 and stop in a local
minimum, while the global minimum is f ≈ −2.2807 at (−1.088, 0.544). The lesson

* runs the course's ten steps and checks the value it reaches;
* finds the global minimum numerically (a grid over a box, then L-BFGS-B from the lowest grid
  minima, then a Hessian check) instead of trusting the quoted numbers;
* sweeps the initial step η₀, the decay d of the schedule η_t = η₀·d^t (t counted from 0, not
  compounded from a decayed value) and the number of steps, and reports which settings reach the
  course's target f < −2 and which one is best;
* draws the contour plot with the paths of a too-small, a good and a too-large step.

Any function of x and y can be studied instead (``--expr "x^2 + 3*y^2"``): it goes through the
safe parser of :mod:`backproplab.lessons.expression` (never ``eval``), and its gradient comes from
forward-mode autodiff, checked against torch autograd and against finite differences.
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

    best = None
    for i, j in candidates[order]:
        res = minimize(fun, np.array([xs[i], ys[j]]), jac=True, method="L-BFGS-B",
                       bounds=[(xlo, xhi), (ylo, yhi)], options={"ftol": 1e-15, "gtol": 1e-12})
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    bx, by = (float(v) for v in best.x)
    _, gx, gy = f.value_and_grad(bx, by)
    hess = _hessian(f, bx, by)
    used = [i for i, name in enumerate(("x", "y")) if name in f.variables] or [0, 1]
    hess = hess[np.ix_(used, used)]
    span = max(xhi - xlo, yhi - ylo)
    gaps = [(bx - xlo, xhi - bx), (by - ylo, yhi - by)]
    on_boundary = min(min(gaps[i]) for i in used) < 1e-6 * span
    return {"x": bx, "y": by, "f": float(f(bx, by)), "grad_norm": float(np.hypot(gx, gy)),
            "hessian_eigenvalues": np.linalg.eigvalsh(0.5 * (hess + hess.T)),
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


def _plot_paths(f: Expression, paths: dict[str, np.ndarray], minimum: dict[str, Any],
                start: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    pts = np.concatenate([p[np.isfinite(p).all(axis=1)] for p in paths.values()] +
                         [np.array([[minimum["x"], minimum["y"]], start])])
    pts = pts[(np.abs(pts) < 50).all(axis=1)]
    lo = pts.min(axis=0) - 1.0
    hi = pts.max(axis=0) + 1.0
    xs = np.linspace(lo[0], hi[0], 240)
    ys = np.linspace(lo[1], hi[1], 200)
    X, Y = np.meshgrid(xs, ys)
    Z = f(X, Y)
    fig = Figure(figsize=(7.5, 5.5))
    ax = fig.add_subplot()
    finite = Z[np.isfinite(Z)]
    levels = np.quantile(finite, np.linspace(0, 1, 30)) if finite.size else 20
    levels = np.unique(levels) if not isinstance(levels, int) else levels
    cs = ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.8)
    fig.colorbar(cs, ax=ax, label="f(x, y)")
    colors = {"too small": "tab:blue", "good": "tab:green", "too large": "tab:red"}
    for label, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], "o-", ms=3, lw=1.3, label=label,
                color=next((c for k, c in colors.items() if label.startswith(k)), None))
    ax.plot(*start, "ks", ms=7, label=f"start ({start[0]:g}, {start[1]:g})")
    ax.plot(minimum["x"], minimum["y"], "*", color="gold", mec="k", ms=15,
            label=f"minimum f = {minimum['f']:.4f}")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"f(x, y) = {f.text}", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def _plot_values(f: Expression, paths: dict[str, np.ndarray], minimum: dict[str, Any]) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4))
    ax = fig.add_subplot()
    for label, path in paths.items():
        ax.plot(np.arange(len(path)), f(path[:, 0], path[:, 1]), "o-", ms=3, label=label)
    ax.axhline(minimum["f"], color="gold", ls="--", label="global minimum")
    ax.axhline(TARGET, color="gray", ls=":", label=f"target f < {TARGET:g}")
    ax.set_xlabel("step t")
    ax.set_ylabel("f")
    ax.set_yscale("symlog")
    ax.legend(fontsize=8)
    return fig


def run(quick: bool = False, seed: int = 0, out: str | Path | None = None, expr: str | None = None,
        start: Sequence[float] | None = None, eta: float = COURSE_ETA, decay: float = 1.0,
        steps: int = COURSE_STEPS) -> LessonResult:
    """Run the lesson; returns claims, tables (grid, settings reaching the target) and figures.

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
    text = COURSE_EXPR if expr is None else expr
    f = parse_expression(text)
    is_course = str(f) == str(parse_expression(COURSE_EXPR))
    start = COURSE_START if start is None else _check_start(start)
    eta, decay, steps = _check_schedule(eta, decay, steps)
    f0 = float(f(*start))
    if not math.isfinite(f0):
        raise InputError(f"expression {text!r} is not finite at the start {start}: f = {f0}")
    rng = np.random.default_rng(seed)
    claims: list[Claim] = []
    tables: dict[str, list[dict[str, Any]]] = {}

    # 1. the course's ten steps
    if is_course:
        course_path = gradient_descent(f, COURSE_START, COURSE_ETA, 1.0, COURSE_STEPS)
        f10 = float(f(*course_path[-1]))
        claims.append(Claim.close_to(
            "10 steps of size 0.1 from (3, 2) reach f = 1.29676", f10, COURSE_VALUE_AFTER_10, 1e-4,
            f"ends at ({course_path[-1, 0]:.5f}, {course_path[-1, 1]:.5f}), a local minimum's basin"))
        tables["course_path"] = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))}
                                 for t, p in enumerate(course_path)]

    # 2. gradients: forward mode vs torch autograd vs finite differences (vs closed form)
    points = np.vstack([np.array(start), rng.uniform(-3, 3, size=(24, 2))])
    checks = _gradient_checks(f, points)
    claims.append(Claim.at_most(
        "forward-mode gradient equals torch autograd (max relative difference)", checks["torch"], 1e-10,
        f"{checks['points']} points"))
    claims.append(Claim.at_most(
        "autodiff gradient matches central finite differences (max relative difference)", checks["fd"],
        1e-6, f"{checks['points']} points, h = 1e-6"))
    if is_course:
        _, gx, gy = f.value_and_grad(points[:, 0], points[:, 1])
        cx, cy = course_gradient(points[:, 0], points[:, 1])
        diff = float(np.max(np.maximum(np.abs(gx - cx), np.abs(gy - cy))))
        claims.append(Claim.at_most(
            "autodiff gradient equals (2x + y + 2 − 3 sin 3x, 2y + x) (max abs difference)", diff, 1e-12,
            f"{len(points)} points"))

    # 3. the global minimum, found numerically
    minimum = find_minimum(f, BOX, grid=61 if quick else 121, starts=6 if quick else 12)
    eig = minimum["hessian_eigenvalues"]
    if is_course:
        mx, my, mf = COURSE_MINIMUM
        claims.append(Claim.close_to("global minimum value f*", minimum["f"], mf, 5e-4,
                                     f"at ({minimum['x']:.5f}, {minimum['y']:.5f}), "
                                     f"{minimum['starts']} starts"))
        claims.append(Claim.close_to("global minimiser x*", minimum["x"], mx, 1e-3))
        claims.append(Claim.close_to("global minimiser y*", minimum["y"], my, 1e-3))
    claims.append(Claim.at_most("gradient norm at the minimum found", minimum["grad_norm"], 1e-6,
                                "on the box edge: f may be unbounded" if minimum["on_boundary"] else
                                "interior stationary point"))
    claims.append(Claim.at_least("smallest Hessian eigenvalue at the minimum (positive: a true minimum)",
                                 float(eig[0]), 1e-9, "eigenvalues " + ", ".join(f"{v:.4g}" for v in eig)))

    # 4. the grid over eta0, decay, steps
    if quick:
        etas, decays, step_list = [0.01, 0.05, 0.1, 0.15, 0.2, 0.4], [1.0, 0.95, 0.9], [10, 20, 50]
    else:
        etas = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]
        decays, step_list = [1.0, 0.99, 0.95, 0.9, 0.8, 0.7], [10, 20, 50, 100]
    grid_start = COURSE_START if is_course else start
    rows = grid_search(f, grid_start, etas, decays, step_list,
                       target=TARGET if is_course else minimum["f"] + 0.1 * (f0 - minimum["f"]))
    tables["grid"] = rows
    reached = sorted((r for r in rows if r["reached"]), key=lambda r: (r["steps"], r["f"]))
    tables["reaching_target"] = reached
    best = _best(rows)
    target_words = f"f < {TARGET:g}" if is_course else "90% of the way down to the minimum"
    claims.append(Claim.at_least(f"grid settings reaching {target_words}", len(reached), 1,
                                 f"of {len(rows)} settings"))
    if best is not None:
        claims.append(Claim.close_to("best grid setting reaches the global minimum", best["f"],
                                     minimum["f"], 1e-4 + 1e-6 * abs(minimum["f"]),
                                     f"eta0 = {best['eta0']:g}, d = {best['decay']:g}, "
                                     f"{best['steps']} steps"))

    # 5. three paths for the picture: too small, good, too large (constant steps)
    n_show = 20
    fastest = reached[0] if reached else best
    good_eta, good_decay = (fastest["eta0"], fastest["decay"]) if fastest else (eta, decay)
    small_eta = min(etas)
    large_eta = 0.5 if is_course else 4 * max(etas)
    paths = {
        "too small": gradient_descent(f, grid_start, small_eta, 1.0, n_show),
        "good": gradient_descent(f, grid_start, good_eta, good_decay, n_show),
        "too large": gradient_descent(f, grid_start, large_eta, 1.0, n_show),
    }
    settings = [(small_eta, 1.0), (good_eta, good_decay), (large_eta, 1.0)]
    labelled = {f"{k} (eta0 = {e:g}" + (f", d = {d:g})" if d != 1 else ")"): v
                for (k, v), (e, d) in zip(paths.items(), settings, strict=True)}
    finals = {k: float(f(*v[-1])) if np.isfinite(v[-1]).all() else math.inf for k, v in paths.items()}
    if is_course:
        claims.append(Claim.holds(
            f"after {n_show} steps the good step ends lowest, below the too-small and too-large ones",
            finals["good"] < min(finals["too small"], finals["too large"]),
            evidence=", ".join(f"{k}: {v:.4g}" for k, v in finals.items())))

    # 6. the user's own run
    user_path = gradient_descent(f, start, eta, decay, steps)
    user_rows = [{"t": t, "eta_t": (eta * decay ** t) if t < steps else None, "x": float(p[0]),
                  "y": float(p[1]), "f": float(f(*p)) if np.isfinite(p).all() else math.nan}
                 for t, p in enumerate(user_path)]
    tables["your_run"] = user_rows
    tables["minimum"] = [{"x": minimum["x"], "y": minimum["y"], "f": minimum["f"],
                          "grad_norm": minimum["grad_norm"], "hessian_min_eig": float(eig[0]),
                          "hessian_max_eig": float(eig[-1]), "on_boundary": minimum["on_boundary"]}]

    figures = {"gd_contour_paths": _plot_paths(f, labelled, minimum, grid_start),
               "gd_values": _plot_values(f, labelled, minimum)}

    last = user_rows[-1]
    summary = [
        f"f(x, y) = {f.text}",
        f"your run: start ({start[0]:g}, {start[1]:g}), eta_t = {eta:g}·{decay:g}^t, {steps} steps "
        f"-> ({last['x']:.6g}, {last['y']:.6g}), f = {last['f']:.6g}",
        f"global minimum in the box {BOX}: f = {minimum['f']:.6f} at ({minimum['x']:.6f}, "
        f"{minimum['y']:.6f})" + (" (on the box edge: f may be unbounded below)"
                                  if minimum["on_boundary"] else ""),
        f"grid: {len(rows)} settings, {len(reached)} reach {target_words}",
    ]
    if reached:
        first = reached[0]
        summary.append(f"fewest steps reaching it: eta0 = {first['eta0']:g}, d = {first['decay']:g}, "
                       f"{first['steps']} steps -> f = {first['f']:.6f}")
    if best is not None:
        summary.append(f"best setting: eta0 = {best['eta0']:g}, d = {best['decay']:g}, "
                       f"{best['steps']} steps -> f = {best['f']:.6f}")
    markdown = _markdown(f, start, eta, decay, steps, user_rows, minimum, reached, best, target_words)
    if out is not None:
        from backproplab.files import atomic_write_text

        atomic_write_text(Path(out) / "gradient_descent.md", markdown)
    return LessonResult(
        name=NAME, title=TITLE,
        params={"expr": f.text, "start": list(start), "eta": eta, "decay": decay, "steps": steps,
                "quick": quick, "seed": seed, "grid": {"eta0": etas, "decay": decays, "steps": step_list}},
        claims=claims, figures=figures, tables=tables,
        text={"print_summary": "\n".join(summary), "gradient_descent": markdown})


def _markdown(f: Expression, start: tuple[float, float], eta: float, decay: float, steps: int,
              user_rows: list[dict[str, Any]], minimum: dict[str, Any], reached: list[dict[str, Any]],
              best: dict[str, Any] | None, target_words: str) -> str:
    lines = [f"# {TITLE}", "", f"$$f(x, y) = {f.to_latex()}$$", "",
             r"Update: $\mathbf{p}_{t+1} = \mathbf{p}_t - \eta_t \nabla f(\mathbf{p}_t)$ with "
             rf"$\eta_t = \eta_0 d^t$, $\eta_0 = {eta:g}$, $d = {decay:g}$, from "
             rf"$({start[0]:g}, {start[1]:g})$.", "",
             "| t | η_t | x | y | f |", "|---|---|---|---|---|"]
    for r in user_rows:
        eta_t = "" if r["eta_t"] is None else f"{r['eta_t']:.4g}"
        lines.append(f"| {r['t']} | {eta_t} | {r['x']:.6f} | {r['y']:.6f} | {r['f']:.6f} |")
    lines += ["", f"Global minimum (numerical): $f^* = {minimum['f']:.6f}$ at "
                  f"$({minimum['x']:.6f}, {minimum['y']:.6f})$, "
                  f"$|\\nabla f| = {minimum['grad_norm']:.2e}$.", "",
              f"Settings reaching {target_words}: {len(reached)} (fewest steps first, at most 12 shown)."]
    if reached:
        lines += ["", "| η₀ | d | steps | x | y | f |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['eta0']:g} | {r['decay']:g} | {r['steps']} | {r['x']:.5f} | {r['y']:.5f} | {r['f']:.6f} |"
                  for r in reached[:12]]
        lines.append("")
    if best is not None:
        lines.append(f"Best: $\\eta_0 = {best['eta0']:g}$, $d = {best['decay']:g}$, {best['steps']} steps, "
                     f"$f = {best['f']:.6f}$.")
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

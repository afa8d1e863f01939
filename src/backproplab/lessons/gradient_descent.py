"""Gradient descent on f(x, y) = x² + y² + x(y + 2) + cos(3x), with a decaying step size.

The course's exercise: from (3, 2), ten steps of size 0.1 reach f = 1.29676 — still on their way
(|∇f| ≈ 0.31 there, not yet a stationary point) into a local minimum, f ≈ 1.24273 at (0.606, −0.303),
while the global minimum is f ≈ −2.2807 at (−1.088, 0.544). Which step sizes get there, and how fast?

The lesson

* runs the course's ten steps and checks the value it reaches;
* finds the global minimum numerically (a grid over a box, then L-BFGS-B from the lowest grid
  minima, then a Hessian check) instead of trusting the quoted numbers, and every stationary point
  in the box (Newton's method on ∇f = 0 from a grid of starts: minima, saddles and maxima);
* sweeps the initial step η₀, the decay d of the schedule η_t = η₀·d^t (t counted from 0, not
  compounded from a decayed value) and the number of steps, and reports which settings reach the
  course's target f < −2 and which one is best;
* draws the contour plot with the paths of a too-small, a good and a too-large step.

Any function of x and y can be studied instead (``--expr "x^2 + 3*y^2"``): it goes through the
safe parser of :mod:`backproplab.expr` (never ``eval``), and its gradient comes from
forward-mode autodiff, checked against torch autograd and against finite differences. Claims are
about the course's function; for your own function the lesson reports *findings* instead, because
nothing is known in advance about it: where your run diverged (|x| or |y| past 1e12, or x, y or f
no longer finite; and the largest of η/10, η/100, … that does not), whether the lowest point found
is stationary or f falls past the box's edge, and, only where ∇f = 0, what the Hessian says (strict
minimum, strict maximum, saddle). "∇f = 0" means each partial within 1e-6 of its own typical size just
around the point, not of |f|, so adding a constant to f or scaling it does not make a slope look like 0. Where the Hessian is singular or undefined the second-derivative
test cannot tell; f is then sampled on small rings around the point and the lesson says what the
samples show. Where ∂f/∂x or ∂f/∂y does not exist (a kink or a cusp, as √|x| all along x = 0, or the
edge of f's domain, as √x at x = 0) no |∇f| is printed: the lesson names that partial, f's one-sided
slopes there, and what autodiff's value there (a convention or a slope from one side, not a
derivative) does to the steps. Starts must have |x|, |y| ≤ 1e12. Only the lab's own gradients are
claimed, so the command exits 0 unless the input was invalid.
"""

from __future__ import annotations

import argparse
import errno
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backproplab.checks import check_seed, count_up_to, int_from_to, is_real
from backproplab.errors import InputError
from backproplab.expr import Expression, parse_expression
from backproplab.files import atomic_write_text, check_writable_dir
from backproplab.lessons import _gd_findings as words
from backproplab.lessons._gd_checks import gradient_claims
from backproplab.lessons._gd_minimum import DIVERGED, DIVERGED_TEXT, find_minimum, search_box
from backproplab.lessons._gd_plots import plot_paths, plot_values
from backproplab.lessons._gd_stationary import classify, downhill, find_stationary_points
from backproplab.lessons.result import Claim, LessonResult
from backproplab.scratch.optim import Exponential

# Lazy imports, on purpose: torch, matplotlib, sklearn/scipy and the modules that load torch
# (backproplab.torchnn, backproplab.courses) are imported inside the functions that use them, so that
# importing this module (the CLI imports every lesson to list them) does not load torch.

NAME = "gradient-descent"
TITLE = "Gradient descent with a decaying step size"
ORDER = 30

COURSE_EXPR = "x^2 + y^2 + x*(y + 2) + cos(3*x)"
"""The course's function, as text for the parser."""
COURSE_START = (3.0, 2.0)
COURSE_ETA = 0.1
COURSE_STEPS = 10
MAX_STEPS = 100_000
"""The most steps of your own run (``--steps``): the grid and the pictures do not depend on it, and
a run of 100,000 steps took 43 s on a shared 2-core machine (the default 10: 4 s)."""
_STEPS_WHY = "more is a typo: the course takes 10 and the lesson's grid at most 100"
COURSE_VALUE_AFTER_10 = 1.29676
"""f after 10 steps of size 0.1 from (3, 2), as the course states it."""
COURSE_MINIMUM = (-1.088, 0.544, -2.2807)
"""(x, y, f) of the global minimum as the course quotes it (3-4 digits)."""
TARGET = -2.0
"""The course's target: get below this value of f."""


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
    try:  # each a number: start="12" was read as (1, 2), and (True, 2) as (1, 2)
        if isinstance(start, (str, bytes)) or not all(is_real(v) for v in start):
            raise TypeError
        values = [float(v) for v in start]
    except TypeError:
        raise InputError(f"start must be two numbers (x, y), got {start!r}") from None
    if len(values) != 2 or not all(math.isfinite(v) for v in values):
        raise InputError(f"start must be two finite numbers (x, y), got {start!r}")
    if max(abs(v) for v in values) > DIVERGED:
        raise InputError(f"start (--start X Y) must have |x|, |y| <= {DIVERGED_TEXT}, where the lesson counts a run "
                         f"as diverged; got ({values[0]:g}, {values[1]:g})")
    return values[0], values[1]


def _check_schedule(eta: float, decay: float, steps: int) -> tuple[float, float, int]:
    if not is_real(eta) or not (0 < eta < math.inf):
        raise InputError(f"eta must be a positive finite step size, got {eta!r}")
    if not is_real(decay) or not (0 < decay <= 1):
        raise InputError(f"decay must lie in (0, 1] (1 = constant step), got {decay!r}")
    return float(eta), float(decay), count_up_to("steps", steps, MAX_STEPS, _STEPS_WHY)


def step_sizes(eta0: float, decay: float, steps: int) -> np.ndarray:
    """The schedule η_t = η₀·d^t for t = 0 … steps−1 (from t, not compounded).

    Returns
    -------
    ndarray, shape [steps]
    """
    eta0, decay, steps = _check_schedule(eta0, decay, steps)
    schedule = Exponential(eta0, decay)
    return np.array([schedule(t) for t in range(steps)], dtype=np.float64)


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
        non-finite is frozen at nan from then on (diverged), and so is one that reaches a point where f
        is not finite (it left f's domain: log(x) at x < 0, where the gradient 1/x is still finite).
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
    schedule = Exponential(etas, decays)  # one η_t per setting
    path = np.empty((steps + 1, etas.size, 2))
    x = np.full(etas.shape, x0)
    y = np.full(etas.shape, y0)
    path[0, :, 0], path[0, :, 1] = x, y
    with np.errstate(all="ignore"):
        for t in range(steps):
            value, gx, gy = f.value_and_grad(x, y)
            _freeze_outside_domain(path[t], x, y, value)
            lr = schedule(t)
            x, y = x - lr * gx, y - lr * gy
            bad = ~(np.isfinite(x) & np.isfinite(y)) | (np.abs(x) > DIVERGED) | (np.abs(y) > DIVERGED)
            x[bad], y[bad] = np.nan, np.nan
            path[t + 1, :, 0], path[t + 1, :, 1] = x, y
        _freeze_outside_domain(path[steps], x, y, f(x, y))
    return path


def _freeze_outside_domain(row: np.ndarray, x: np.ndarray, y: np.ndarray, value: Any) -> None:
    """Set to nan, in place, the runs whose f ``value`` [N] at (x, y) [N] is not finite: ``row`` [N, 2]
    (the positions just recorded) and x, y (so every later step is nan too)."""
    outside = ~np.broadcast_to(np.isfinite(value), x.shape)
    row[outside] = np.nan
    x[outside], y[outside] = np.nan, np.nan


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


def _course_claims(f: Expression) -> tuple[list[Claim], list[dict[str, Any]]]:
    """The course's ten steps from (3, 2): the claim and the path table."""
    path = gradient_descent(f, COURSE_START, COURSE_ETA, 1.0, COURSE_STEPS)
    f10 = float(f(*path[-1]))
    claim = Claim.close_to(
        "10 steps of size 0.1 from (3, 2) reach f = 1.29676", f10, COURSE_VALUE_AFTER_10, 1e-4,
        f"ends at ({path[-1, 0]:.5f}, {path[-1, 1]:.5f}), a local minimum's basin")
    rows = [{"t": t, "x": float(p[0]), "y": float(p[1]), "f": float(f(*p))} for t, p in enumerate(path)]
    return [claim], rows


def _gradient_claims(f: Expression, points: np.ndarray, is_course: bool) -> tuple[list[Claim], list[str]]:
    """Forward mode against torch autograd and central differences (``_gd_checks``), and the closed form
    for the course; with the words for a check that could not be made."""
    claims, notes = gradient_claims(f, points)
    if is_course:
        _, gx, gy = f.value_and_grad(points[:, 0], points[:, 1])
        cx, cy = course_gradient(points[:, 0], points[:, 1])
        diff = float(np.max(np.maximum(np.abs(gx - cx), np.abs(gy - cy))))
        claims.append(Claim.at_most("autodiff gradient equals (2x + y + 2 − 3 sin 3x, 2y + x) (max abs difference)",
                                    diff, 1e-12, f"{len(points)} points"))
    return claims, notes


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


def _grid_settings(quick: bool) -> tuple[list[float], list[float], list[int]]:
    if quick:
        return [0.01, 0.05, 0.1, 0.15, 0.2, 0.4], [1.0, 0.95, 0.9], [10, 20, 50]
    return [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5], [1.0, 0.99, 0.95, 0.9, 0.8, 0.7], \
        [10, 20, 50, 100]


def _three_paths(f: Expression, start: tuple[float, float], fastest: dict[str, Any] | None,
                 is_course: bool) -> dict[str, tuple[np.ndarray, float, float]]:
    """A too-small, a good and a too-large step for the pictures, 20 steps each.

    For the course: η₀ = 0.01, the grid's fastest setting, and 0.5. For your f: the constant step
    from 10⁻⁴ … 1 that ends lowest, a tenth of it, and the next larger one that ends higher or diverges.
    A run that diverges or leaves f's domain is nan from there on (:func:`descend_many`), so it is
    never the good one and its path is drawn only as far as f is finite.

    Returns
    -------
    dict label → (path [21, 2], η₀, d)
    """
    if is_course:
        good = (fastest["eta0"], fastest["decay"]) if fastest else (COURSE_ETA, 1.0)
        settings = {"too small": (0.01, 1.0), "good": good, "too large": (0.5, 1.0)}
    else:
        etas = 10.0 ** np.arange(-4, 0.01, 0.25)
        ends = descend_many(f, start, etas, np.ones_like(etas), 20)[-1]
        with np.errstate(all="ignore"):
            final = f(ends[:, 0], ends[:, 1])
        final = np.where(np.isfinite(final), final, np.inf)  # np.argmin takes nan for the lowest
        k = int(np.argmin(final)) if np.isfinite(final).any() else 0
        worse = [i for i in range(k + 1, len(etas)) if not final[i] <= final[k] + 1e-12 * abs(final[k])]
        large = float(etas[worse[0]]) if worse else 4 * float(etas[k])
        settings = {"too small": (float(etas[k]) / 10, 1.0), "good": (float(etas[k]), 1.0),
                    "too large": (large, 1.0)}
    return {f"{k} (η₀ = {e:.3g}" + (f", d = {d:g})" if d != 1 else ")"): (gradient_descent(f, start, e, d, 20), e, d)
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


def run(*, quick: bool = False, seed: int = 0, out: str | Path | None = None, expr: str | None = None,
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
        Directory to write ``gradient_descent.md`` (the page; a long run's first and last steps) and
        ``gradient_descent_path.csv`` (every step of your run) into.
    expr : str, optional
        A function of x and y (safe parser); default the course's f.
    start, eta, decay, steps :
        Your own run: start point (default (3, 2)), η₀, d and number of steps.
    """
    seed = check_seed(seed)
    if out is not None:
        check_writable_dir(out, "out")  # before the work, not after it (the CLI checks too)
    f, is_course, start, f0 = _check_run_inputs(expr, start, eta, decay, steps)
    eta, decay, steps = _check_schedule(eta, decay, steps)
    claims: list[Claim] = []
    tables: dict[str, list[dict[str, Any]]] = {}
    if is_course:
        claims, tables["course_path"] = _course_claims(f)
    points = np.vstack([np.array(start), np.random.default_rng(seed).uniform(-3, 3, size=(24, 2))])
    gradient_claims_made, gradient_notes = _gradient_claims(f, points, is_course)
    claims += gradient_claims_made
    box = search_box(f, start)
    minimum = find_minimum(f, box, grid=61 if quick else 121, starts=6 if quick else 12)
    if is_course:
        claims += _minimum_claims(minimum)
    etas, decays, step_list = _grid_settings(quick)
    grid_start = COURSE_START if is_course else start
    rows = grid_search(f, grid_start, etas, decays, step_list,
                       target=TARGET if is_course else minimum["f"] + 0.1 * (f0 - minimum["f"]))
    reached = sorted((r for r in rows if r["reached"]), key=lambda r: (r["steps"], r["f"]))
    best = _best(rows)
    target_words = f"f < {TARGET:g}" if is_course else "90% of the way down to the lowest point found"
    runs = _three_paths(f, grid_start, reached[0] if reached else best, is_course)
    paths = {label: path for label, (path, _, _) in runs.items()}
    if is_course:
        claims += _course_grid_claims(f, rows, reached, best, minimum, paths)
    user_rows = _user_run(f, start, eta, decay, steps)
    trouble = not math.isfinite(user_rows[-1]["f"]) or user_rows[-1]["f"] > f0
    safer = safer_step(f, start, eta, decay, steps) if trouble else None
    point, stationary = classify(f, minimum["x"], minimum["y"]), find_stationary_points(f, box, 21 if quick else 31)
    findings = gradient_notes + words.run_findings(f, user_rows, eta, decay, safer) + \
        words.minimum_findings(minimum, point, box, downhill(f, minimum["x"], minimum["y"])) + \
        words.stationary_findings(stationary, box) + \
        words.grid_findings(rows, reached, best, minimum, target_words, None if is_course else f0) + words.picture_findings(f, runs)
    if not (is_course and user_rows == _user_run(f, COURSE_START, COURSE_ETA, 1.0, COURSE_STEPS)):
        tables["your_run"] = user_rows
    tables.update(steps_to_target=words.steps_to_target(rows), grid=rows, reaching_target=reached,
                  minimum=[words.minimum_row(minimum, point)],
                  stationary_points=[words.point_row(p) for p in stationary["points"]])
    page_text = words.markdown(f, start, eta, decay, steps, findings)
    if out is not None:
        _write_out(Path(out), page_text, user_rows)
    return LessonResult(
        name=NAME, title=TITLE,
        params={"expr": f.text, "start": list(start), "eta": eta, "decay": decay, "steps": steps,
                "quick": quick, "seed": seed, "grid": {"eta0": etas, "decay": decays, "steps": step_list}},
        claims=claims, tables=tables,
        figures={"gd_contour_paths": plot_paths(f, paths, minimum, grid_start),
                 "gd_values": plot_values(f, paths, minimum, TARGET if is_course else None)},
        text={"print_summary": words.summary(f, start, eta, decay, steps, user_rows, findings),
              "gradient_descent": page_text, **words.captions(is_course)})


def _write_out(out: Path, page_text: str, user_rows: list[dict[str, Any]]) -> None:
    """``gradient_descent.md`` (the page and your run's table: a long run's first and last steps) and
    ``gradient_descent_path.csv`` (every step of your run). A file that cannot be written there (a
    folder in its way) is an :class:`InputError` naming ``out``."""
    try:
        atomic_write_text(out / "gradient_descent.md",
                          f"# {TITLE}\n\n{page_text}\n## Your run\n\n{words.path_markdown(user_rows)}")
        atomic_write_text(out / words.PATH_CSV, words.path_csv(user_rows))
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise
        where = err.filename if err.filename is not None else out
        raise InputError(f"out: could not write {str(where)!r} ({err.strerror or err}); move it away or "
                         "choose another --out") from None


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI options: ``--expr``, ``--start X Y``, ``--eta``, ``--decay``, ``--steps``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the docstring's layout
    parser.add_argument("--expr", default=None, metavar="TEXT",
                        help=f"a function of x and y (default the course's: {COURSE_EXPR!r}); "
                             "numbers, x, y, pi, e, + - * / ^ ( ) and sin cos tan exp log sqrt tanh abs ...")
    parser.add_argument("--start", type=float, nargs=2, default=None, metavar=("X", "Y"),
                        help=f"start point of your run, |x|, |y| <= {DIVERGED_TEXT} (default 3 2)")
    parser.add_argument("--eta", type=float, default=COURSE_ETA, help="initial step size eta0 (default 0.1)")
    parser.add_argument("--decay", type=float, default=1.0,
                        help="schedule eta_t = eta0 * decay^t, decay in (0, 1] (default 1: constant)")
    parser.add_argument("--steps", type=int_from_to(1, MAX_STEPS, _STEPS_WHY), default=COURSE_STEPS, metavar="N",
                        help=f"number of steps of your run, 1 to {MAX_STEPS} ({_STEPS_WHY}; default {COURSE_STEPS})")

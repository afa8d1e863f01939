"""Which partial derivatives of f exist at a point, from f's one-sided slopes along x and y.

Autodiff always answers with a number: along x = 0, √|x|'s chain rule gives ∂f/∂x = sign(0)·∞ = 0
(``abs``'s derivative is sign, 0 at 0, and the chain rule takes 0·∞ as 0), and √x's gives
1/(2√0) = inf. Neither is a derivative of f: √|x| rises on both sides of x = 0 ever more steeply
(one-sided slopes ∓1/√h: a cusp), and √x is not defined for x < 0 (the edge of its domain).
:func:`partials` tells these apart axis by axis, so the lesson names the partial that does not
exist instead of printing |∇f| as if f were differentiable there. The words for it are here too.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from backproplab.expr import Expression

SLOPE_STEPS = (1e-4, 1e-5)
"""h at which the one-sided slopes that are printed are taken (the last) and a cusp is told (both)."""
KINK_STEPS = (1e-4, 1e-5, 1e-7, 1e-9)
"""h at which :func:`kinked` compares one-sided slopes: a kink at a distance d from the point makes them
disagree only while h > d, so the steps go well below 1e-5 (|x| at x = 3e-6 is no kink at x = 3e-6)."""
EDGE_STEPS = (1e-4, 1e-6, 1e-9)
"""h, relative to |x| (absolute only where x = 0), at which f must be finite on one side only for the point
to be on the edge of f's domain: √x at x = 1e-10 is inside it, being finite at 1e-10 − 1e-19."""
EDGE_STEPS_TEXT = "1e-4, 1e-6 and 1e-9"
ROUNDING = 1e3 * float(np.finfo(float).eps)
"""A one-sided slope's rounding error is taken to be at most ROUNDING·|f|/h (a thousand ulps of f)."""
COORD_ROUNDING = 16 * float(np.finfo(float).eps)
"""... plus COORD_ROUNDING·|x|·(|∂f/∂x| + |slope|)/h, f's arguments rounded to ulps of x (sin(10x) at 1e11)."""
AXES = {"x": np.array([1.0, 0.0]), "y": np.array([0.0, 1.0])}


def num(value: float, digits: int = 6) -> str:
    """A number to ``digits`` significant digits, 0.19999999999999984 as 0.2 and −0.0 as 0 (−x² − y² at
    (0, 0) printed "f = -0")."""
    return f"{value + 0.0:.{digits}g}"


REST_TOL = 1e-6
"""A partial derivative at most REST_TOL of f's yardstick along its axis (:func:`yardstick`) counts as zero."""
YARD_RADII = (0.1, 0.01)
"""The yardstick's samples: p ± r·max(1, |x|) along x and p ± r·max(1, |y|) along y, r in YARD_RADII."""
YARD_FALLBACK_RADIUS = 1e-3
"""... and where f has no finite partial at any of them (a small domain), at this r."""


def _partials_around(f: Expression, x: np.ndarray, y: np.ndarray, radius_list: tuple[float, ...]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """|∂f/∂x| and |∂f/∂y| (nan where not finite) at the points p ± r·max(1, |x|)·e_x and
    p ± r·max(1, |y|)·e_y, r in ``radius_list``: two arrays of shape S + (4·len(radius_list),)."""
    offsets = np.array([s * r for r in radius_list for s in (1.0, -1.0)])
    dx = np.maximum(1.0, np.abs(x))[..., None] * offsets
    dy = np.maximum(1.0, np.abs(y))[..., None] * offsets
    zero = np.zeros_like(dx)
    px = x[..., None] + np.concatenate([dx, zero], axis=-1)
    py = y[..., None] + np.concatenate([zero, dy], axis=-1)
    with np.errstate(all="ignore"):
        _, gx, gy = f.value_and_grad(*np.broadcast_arrays(px, py))
    return tuple(np.where(np.isfinite(g), np.abs(g), np.nan) for g in (gx, gy))


def yardstick(f: Expression, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """How large ∂f/∂x, and ∂f/∂y, are just around (x, y): the median of each's finite sizes at the eight
    points p ± r·max(1, |x|) along x and p ± r·max(1, |y|) along y, r in YARD_RADII (at r =
    YARD_FALLBACK_RADIUS where none is finite; 1 where none is there either).

    The yardstick for "this partial is zero here". It is f's own: a constant added to f leaves it as it
    is and a factor scales it with ∇f, so 1e6 + x² + y² at (0.32, 0.21), |∇f| = 0.77, is not at rest,
    nor is 1e-8·(x² + y²) at (3, 2); a bound of 1e-6 · max(1, |f|) called both stationary. Each partial
    is measured against its own size, near the point, and the median passes over a few steep samples:
    a steep y (x² + 1e6·y²), a cusp across the point (1e6·√|x| + y², along y) or a wall on one side do not
    make a slope along the other axis look like 0. The samples go both ways because a partial can be 0
    all along its own axis (∂(xy)/∂x = y on y = 0, sin(x)·cos(y) at its saddles).
    x, y: floats or arrays of one shape S; returns two arrays of shape S (0-d for floats).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": no finite partial there
        near = [np.nanmedian(g, axis=-1) for g in _partials_around(f, x, y, YARD_RADII)]
        nearer = [np.nanmedian(g, axis=-1) for g in _partials_around(f, x, y, (YARD_FALLBACK_RADIUS,))]
    return tuple(np.where(np.isnan(a), np.where(np.isnan(b), 1.0, b), a) for a, b in zip(near, nearer, strict=True))


def curvature_scale(f: Expression, x: float, y: float) -> float:
    """How curved f is around (x, y), to tell a Hessian eigenvalue that is zero from one that is small:
    the larger over the two axes of the smaller of |∂f/∂axis(p ± r e)| / r, r = YARD_RADII[0]·max(1, |c|)
    (x⁴ + y⁴ at (0, 0): 0.04, so its difference-quotient eigenvalues 4e-10 are zero; 1e-8·(x² + y²):
    2e-8, its own eigenvalues). 0 where none of it is finite."""
    x_, y_ = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    gx, gy = _partials_around(f, x_, y_, YARD_RADII[:1])  # [x+r, x-r, y+r, y-r] for each partial
    own = np.concatenate([gx[:2] / (YARD_RADII[0] * max(1.0, abs(float(x)))),
                          gy[2:] / (YARD_RADII[0] * max(1.0, abs(float(y))))]).reshape(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "All-NaN slice": no finite slope along that axis
        scales = np.nanmin(own, axis=1)
    finite = scales[np.isfinite(scales)]
    return float(finite.max()) if finite.size else 0.0


def at_rest(grad: float, yard: float) -> bool:
    """Whether a partial derivative of size ``grad`` is zero where f's :func:`yardstick` along its axis is
    ``yard``: not above REST_TOL of it (nan too: nothing there carries the run further)."""
    return not grad > REST_TOL * float(yard)


def both_at_rest(gx: Any, gy: Any, f: Expression, x: Any, y: Any) -> Any:
    """Whether ∇f = (gx, gy) at (x, y) is zero: both partials finite and each at most REST_TOL of f's
    :func:`yardstick` along its axis. Floats give a bool, arrays of one shape S a bool array of shape S."""
    yx, yy = yardstick(f, x, y)
    gx, gy = np.asarray(gx, dtype=float), np.asarray(gy, dtype=float)
    rest = np.isfinite(gx) & np.isfinite(gy) & (np.abs(gx) <= REST_TOL * yx) & (np.abs(gy) <= REST_TOL * yy)
    return bool(rest) if rest.ndim == 0 else rest


def one_sided(f: Expression, x: float, y: float, directions: np.ndarray, h: float) -> dict[str, np.ndarray]:
    """f's one-sided slopes along each unit vector u of ``directions`` [k, 2] at (x, y), by the step
    actually taken: (p + hu) − p is not hu where h is below x's ulps (at x = 1e11, x + 1e-5 is
    x + 1.526e-5), and dividing by the nominal h made sin(x)·cos(y) there look like a kink.

    Returns dict of [k] arrays: up, down (the slopes ahead and behind), step (the step taken ahead),
    there, back (f at p + hu and p − hu), ahead, behind (f's changes).
    """
    with np.errstate(all="ignore"):
        f0 = float(f(x, y))
        out: dict[str, np.ndarray] = {}
        for name, s in (("there", 1.0), ("back", -1.0)):
            px, py = x + s * h * directions[:, 0], y + s * h * directions[:, 1]
            out[name] = np.asarray(f(px, py), dtype=float) * np.ones(len(directions))
            out["step" if s > 0 else "step_back"] = s * ((px - x) * directions[:, 0] + (py - y) * directions[:, 1])
        out["ahead"], out["behind"] = out["there"] - f0, f0 - out["back"]
        out["up"], out["down"] = out["ahead"] / out["step"], out["behind"] / out["step_back"]
    return out


def kinked(f: Expression, x: float, y: float, directions: np.ndarray) -> np.ndarray:
    """For each unit vector u of ``directions`` [k, 2]: True where f is continuous but has no derivative
    along u at (x, y) (shape [k]).

    The one-sided slopes (f(p + hu) − f(p))/h and (f(p) − f(p − hu))/h (h: the step taken, see
    :func:`one_sided`) are compared with each other and with ∇f·u (autodiff's gradient, whose 0 at a
    kink is a convention), at each h of :data:`KINK_STEPS`. A differentiable f's gaps shrink in
    proportion to h; a kink's do not (|x|: 2 at every h), and a cusp's grow (√|x|: 2/√h); a kink at a
    distance d from the point shows only while h > d. A pole within h of the point (1/x at x = −5e-6)
    is no kink: there f itself changes more at the smaller h, not less. Nor is a gap within rounding:
    where |f| is large (1e12 + x² + y²) f(p ± hu) − f(p) is a few ulps of f, and where |x| is large
    (sin(10x) at 1e11) f's arguments are rounded; such an h and the smaller ones cannot tell, and
    fewer than two h that can is no kink.
    """
    k = len(directions)
    with np.errstate(all="ignore"):
        f0, gx, gy = (float(v) for v in f.value_and_grad(x, y))
        slope = directions @ np.array([gx, gy])  # [k], nan where autodiff's gradient is not finite
        # where u moves x (y), f's arguments round to ulps of x (y): |x|·|∂f/∂x| of f's rounding, with
        # ∂f/∂x autodiff's and at least the slopes along u (along a diagonal, ∂f/∂x = 10 = −∂f/∂y for
        # sin(10x) + sin(10y) at (−1.7e8, 2.6e-6) where the slope along u is about 0)
        moved = (directions != 0) * np.abs([x, y]) * np.where(np.isfinite([gx, gy]), np.abs([gx, gy]), 0.0)
        verdict, usable, used = np.ones(k, dtype=bool), np.ones(k, dtype=bool), np.zeros(k, dtype=int)
        last_gap = last_move = None
        for h in KINK_STEPS:
            s = one_sided(f, x, y, directions, h)
            up, down = s["up"], s["down"]
            ref = np.where(np.isfinite(slope), slope, up)
            gap = np.maximum.reduce([np.abs(up - down), np.abs(up - ref), np.abs(down - ref)])
            move = np.maximum(np.abs(s["ahead"]), np.abs(s["behind"]))
            scale = np.maximum.reduce([np.ones(k), np.abs(up), np.abs(down)])
            coord = (moved + (directions != 0) * np.abs([x, y]) * scale[:, None]).sum(axis=1)
            noise = (ROUNDING * np.maximum.reduce([np.full(k, abs(f0)), np.abs(s["there"]), np.abs(s["back"])])
                     + COORD_ROUNDING * coord) / np.minimum(s["step"], s["step_back"])
            usable &= ~(noise > 1e-3 * scale)  # nan (f not finite) stays usable, and then fails below
            ok = gap > 1e-3 * scale
            if last_gap is not None:
                ok &= (gap > 0.5 * last_gap) & (move < 0.5 * last_move)
            verdict &= ok | ~usable
            used += usable
            last_gap, last_move = gap, move
    return verdict & (used >= 2)


def edge_steps(at: float) -> list[float]:
    """The h of :data:`EDGE_STEPS` for a point whose coordinate along the axis is ``at``: relative to |at|,
    absolute only at 0."""
    return [h * abs(at) if at != 0 else h for h in EDGE_STEPS]


def _edge(f: Expression, x: float, y: float, u: np.ndarray) -> str:
    """"+" where f is finite at (x, y) and ahead along u but not behind, at every h of
    :func:`edge_steps` (the edge of f's domain, the domain on the + side), "-" the other way round,
    "" otherwise."""
    with np.errstate(all="ignore"):
        if not math.isfinite(float(f(x, y))):
            return ""
        steps = edge_steps(float(x * u[0] + y * u[1]))
        ahead = [math.isfinite(float(f(x + h * u[0], y + h * u[1]))) for h in steps]
        behind = [math.isfinite(float(f(x - h * u[0], y - h * u[1]))) for h in steps]
    if all(ahead) and not any(behind):
        return "+"
    if all(behind) and not any(ahead):
        return "-"
    return ""


def partials(f: Expression, x: float, y: float) -> dict[str, dict[str, Any]]:
    """Whether ∂f/∂x and ∂f/∂y exist at (x, y), and what f's one-sided slopes there are.

    Returns
    -------
    dict "x", "y" → dict with status ("defined"; "undefined": a kink or a cusp along that axis, see
    :func:`kinked`, with one-sided slopes that differ; "edge": f is finite on one side only, see
    :func:`edge_steps`), at (the point's coordinate on that axis), autodiff (the lab's forward-mode
    partial there), right and left (the one-sided slopes (f(p + h e) − f(p))/h and (f(p) − f(p − h e))/h
    at h = 1e-5, h the step taken, see :func:`one_sided`; nan where f is not finite), cusp (for
    "undefined": the gap between them grows as h shrinks) and inside ("+" or "-": for "edge", the side
    on which f is defined).
    """
    with np.errstate(all="ignore"):
        _, gx, gy = (float(v) for v in f.value_and_grad(x, y))
    axes = np.array([AXES["x"], AXES["y"]])
    undefined = kinked(f, x, y, axes)
    (far, near) = (one_sided(f, x, y, axes, h) for h in SLOPE_STEPS)
    out = {}
    for i, (name, u) in enumerate(AXES.items()):
        right, left = float(near["up"][i]), float(near["down"][i])
        inside = _edge(f, x, y, u)
        # equal one-sided slopes are a derivative, whatever autodiff says: never "a kink"
        apart = not abs(right - left) <= 1e-3 * max(1.0, abs(right), abs(left))
        status = "edge" if inside else "undefined" if undefined[i] and apart else "defined"
        out[name] = {"status": status, "at": float(x if name == "x" else y), "autodiff": gx if name == "x" else gy,
                     "right": right, "left": left, "inside": inside,
                     "cusp": bool(abs(right - left) > 2 * abs(far["up"][i] - far["down"][i]))}
    return out


def on_line(f: Expression, x: float, y: float, axis: str) -> bool:
    """True when the partial along ``axis`` is undefined also at the points 0.01 and 0.1 either side of
    (x, y) across it (on the line x = x₀ for axis "x"): a line of kinks, not one point."""
    other = AXES["y" if axis == "x" else "x"]
    return all(partials(f, x + d * other[0], y + d * other[1])[axis]["status"] == "undefined"
               for d in (-0.1, -0.01, 0.01, 0.1))


# --- in words ----------------------------------------------------------------------------------------

_CONVENTION = "a convention (|x|' = sign(x) is 0 at 0, and the chain rule takes 0·∞ as 0), not a slope of f"
"""Why autodiff gives 0 where a partial does not exist; said only where it gave 0 (abs(x) + x at 0: 1)."""
_RULES = "what the formula's derivative rules give at a point where f has no derivative along {axis}"


def _other(axis: str, x: float, y: float) -> str:
    return f"with y held at {num(y)}" if axis == "x" else f"with x held at {num(x)}"


def edge_words(parts: dict[str, dict[str, Any]], x: float, y: float) -> str:
    """Where f's domain ends at (x, y), axis by axis ("" where it does not): "with y held at 0.5, f is
    finite for x ≥ 0 but not below it (…)"."""
    clauses = []
    for axis, p in parts.items():
        if p["status"] == "edge":
            sign, side = ("≥", "below") if p["inside"] == "+" else ("≤", "above")
            clauses.append(f"{_other(axis, x, y)}, f is finite for {axis} {sign} {num(p['at'])} but not {side} it "
                           f"(at {axis} {'−' if side == 'below' else '+'} h for h = {EDGE_STEPS_TEXT}"
                           f"{'' if p['at'] == 0 else f' times |{axis}|'})")
    return "; ".join(clauses)


def edge_ring_words(ring: dict[str, Any]) -> str:
    """What f did on the rings (``_gd_stationary._ring``) around a point on the edge of its domain,
    outside it and inside it ("" where no sample is outside, or none inside)."""
    if ring["verdict"] != "undefined" or ring.get("inside") is None:
        return ""
    inside = {"higher": "higher than at the point, as at a minimum on the edge of the domain",
              "lower": "lower than at the point, as at a maximum on the edge of the domain",
              "equal": "never lower than at the point, and equal to it at some samples",
              "mixed": "lower at some samples and higher at others"}[ring["inside"]]
    radii = " and ".join(f"{r:g}" for r in ring["radii"])
    return (f"Sampling f at {ring['samples']} points on rings of radius {radii} around it: {ring['outside']} lie "
            f"outside f's domain (f not finite there); at the other {ring['samples'] - ring['outside']}, f is "
            f"{inside}.")


def _what_f_does(axis: str, p: dict[str, Any]) -> str:
    """What f's one-sided slopes along ``axis`` say about moving that way."""
    right, left = p["right"], p["left"]
    if not (math.isfinite(right) and math.isfinite(left)):
        return ""
    if right > 0 > left:
        return f" f rises on both sides along {axis}, so along {axis} the run already sits at the bottom."
    if right < 0 < left:
        return (f" f falls on both sides along {axis} (a ridge): the run stays on it, where a start nudged off "
                f"{axis} = {num(p['at'])} would go downhill.")
    return f" f falls towards {'smaller' if right > 0 else 'larger'} {axis} on both sides."


def _held(axis: str, rows: list[dict[str, Any]]) -> str:
    """Since which step ``axis`` has had its last value (rows: the run's table)."""
    last, k = rows[-1][axis], len(rows) - 1
    while k > 0 and rows[k - 1][axis] == last:
        k -= 1
    return f"{axis} = {num(last)} since step {k}"


def _step_words(axis: str, p: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """What autodiff's value for a partial that does not exist does to the steps."""
    g = p["autodiff"]
    said = f"The lab's autodiff gives ∂f/∂{axis} = {num(g, 3)} there"
    if not math.isfinite(g):
        return f"{said}, so no step can be taken from there."
    why = (_CONVENTION if g == 0 else _RULES.format(axis=axis)) if p["status"] == "undefined" else \
        "its formula's value at the edge (at most the slope from inside)"
    move = f"so no step moves {axis}: {_held(axis, rows)}." if g == 0 else \
        f"so the steps along {axis} follow that value, not a derivative of f."
    return f"{said}, {why}, {move}"


def undefined_partials(f: Expression, rows: list[dict[str, Any]]) -> tuple[str, float, bool] | None:
    """What to say where a run ended on a point where ∂f/∂x or ∂f/∂y does not exist (a kink or cusp
    along an axis, or the edge of f's domain), in place of |∇f|; None where both exist.

    Returns
    -------
    (text, the length of the partials that do exist: what is left of the gradient there, and whether
    each of them is at rest)
    """
    last = rows[-1]
    x, y = last["x"], last["y"]
    parts = partials(f, x, y)
    if all(p["status"] == "defined" for p in parts.values()):
        return None
    text = [f"Your run ended at ({num(x)}, {num(y)}), f = {num(last['f'])}, where f has no gradient, so there is no "
            "|∇f| to report."]
    rest = []
    for axis, p in parts.items():
        if p["status"] == "undefined":
            across = "y" if axis == "x" else "x"
            line = f", as at every point checked on the line {axis} = {num(p['at'])} near it ({across} ± 0.01, ± 0.1)" \
                if on_line(f, x, y, axis) else ""
            kind = ", steeper as h shrinks (a cusp)" if p["cusp"] else " (a kink)"
            text.append(f"∂f/∂{axis} is undefined there{line}: f's one-sided slopes along {axis} are "
                        f"{num(p['left'], 3)} from the left and {num(p['right'], 3)} from the right at h = 1e-5"
                        f"{kind}. " + _step_words(axis, p, rows) + _what_f_does(axis, p))
        elif p["status"] == "edge":
            slope = p["right"] if p["inside"] == "+" else p["left"]
            text.append(f"It lies on the edge of f's domain: {edge_words({axis: p}, x, y)}, so ∂f/∂{axis} has no "
                        f"two-sided value there; from inside, f's slope along {axis} is {num(slope, 3)} at h = 1e-5. "
                        + _step_words(axis, p, rows))
        else:
            rest.append((axis, p["autodiff"]))
    grad = math.hypot(*(g for _, g in rest)) if rest else 0.0
    yards = dict(zip("xy", yardstick(f, x, y), strict=True))
    still = {axis: at_rest(abs(g), yards[axis]) for axis, g in rest}
    for axis, g in rest:
        text.append(f"Along {axis}, ∂f/∂{axis} = {num(g, 3)}: " + (
            f"along {axis} the run is at rest." if still[axis] else
            f"not yet at the bottom along {axis} after {len(rows) - 1} steps."))
    return " ".join(text), grad, all(still.values())


def edge_stop(f: Expression, rows: list[dict[str, Any]], stopped: int) -> str:
    """Why a run could take no step ``stopped`` (``rows``: its table), where the gradient at the row
    before is not finite because that point is on the edge of f's domain ("" where it is not)."""
    before = rows[stopped - 1]
    x, y = before["x"], before["y"]
    where = edge_words(partials(f, x, y), x, y)
    if not where:
        return ""
    with np.errstate(all="ignore"):
        _, gx, gy = (float(v) for v in f.value_and_grad(x, y))
    head = "started on the edge of f's domain" if stopped == 1 else \
        f"reached the edge of f's domain at step {stopped - 1}"
    return (f"**Your run {head}** and stopped at step {stopped}: ∇f = ({num(gx, 3)}, {num(gy, 3)}) at ({num(x)}, "
            f"{num(y)}) is not finite, so no step size can take a step from there. There, {where}: autodiff's ∇f is "
            "at most a slope from inside the domain, not a gradient."
            + (" Start inside the domain (`--start`)." if stopped == 1 else ""))

"""The gradient-descent lesson's words: findings on your own function, the summary, the Markdown.

For the course's function the lesson checks claims; for a function typed by a user nothing is known
in advance, so these functions describe what was measured (divergence, stationary points, the
Hessian's verdict, the sweep over step sizes) without calling anything a failure.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import numpy as np

from backproplab.expr import Expression
from backproplab.lessons._gd_minimum import BOX, DIVERGED, DIVERGED_TEXT
from backproplab.lessons._gd_partials import (
    both_at_rest,
    edge_ring_words,
    edge_stop,
    edge_words,
    undefined_partials,
)
from backproplab.lessons._gd_partials import num as _num
from backproplab.lessons._gd_stationary import classify

NOT_DIFFERENTIABLE = "a point where f is not differentiable (∇f undefined there)"


def run_findings(f: Expression, rows: list[dict[str, Any]], eta: float, decay: float,
                 safer: float | None = None) -> list[str]:
    """What a run did, in words: where it diverged (and a smaller step to try), or where it ended.

    ``rows`` is the run's table (t, eta_t, x, y, f), start included; ``safer`` a step size known to
    go down without diverging (see ``gradient_descent.safer_step``), suggested when the run fails.
    """
    bad = next((r for r in rows if not (math.isfinite(r["x"]) and math.isfinite(r["f"]))), None)
    f0, last, steps = rows[0]["f"], rows[-1], len(rows) - 1
    advice = f"try `--eta {eta / 10:g}`" if safer is None else \
        f"try `--eta {safer:g}`, the largest of η/10, η/100, … that goes down without diverging here"
    if bad is not None:
        eta_t = eta * decay ** (bad["t"] - 1)
        before = rows[bad["t"] - 1]
        _, gx, gy = f.value_and_grad(before["x"], before["y"])
        if not (math.isfinite(gx) and math.isfinite(gy)):  # sqrt(x) at x = 0: "try --eta 1e-10" could not help
            return [edge_stop(f, rows, bad["t"]) or
                    f"**Your run stopped at step {bad['t']}**: ∇f = ({_num(float(gx), 3)}, {_num(float(gy), 3)}) at "
                    f"({_num(before['x'])}, {_num(before['y'])}) is not finite, so no step size can take a step from "
                    "there; start where f is differentiable (`--start`)."]
        return [f"**Your run diverged at step {bad['t']}** (step size η = {_num(eta_t, 3)}): "
                f"{_why_diverged(f, rows[bad['t'] - 1], eta_t)}. The step is too large where f is steep; {advice}."]
    where = f"({_num(last['x'])}, {_num(last['y'])}), f = {_num(last['f'])}"
    if last["f"] > f0:
        return [f"**Your run went uphill**: f rose from {_num(f0)} to {_num(last['f'])} (ended at {where}). "
                f"The step overshoots; {advice}."]
    _, gx, gy = f.value_and_grad(last["x"], last["y"])
    grad = float(np.hypot(gx, gy))
    if both_at_rest(float(gx), float(gy), f, last["x"], last["y"]):
        point = classify(f, last["x"], last["y"])
        if point["kind"] == "not differentiable":
            return [f"Your run stopped at {where}, {NOT_DIFFERENTIABLE}: autodiff reports ∇f = 0 there by "
                    f"convention, so every step is 0. {_ring_words(point['ring'])}"]
        if point["kind"] == "domain edge":
            return [f"Your run stopped at {where}, on the edge of f's domain: "
                    f"{edge_words(point['partials'], last['x'], last['y'])}. ∇f needs f on every side, so it does not "
                    "exist there; autodiff's ∇f = 0 is at most the slope from inside, and with it every step is 0. "
                    + (edge_ring_words(point["ring"]) or _ring_words(point["ring"]))]
        return [f"Your run reached a stationary point: {where}, |∇f| = {_num(grad, 2)}." + _what_point(point)]
    undefined = undefined_partials(f, rows)
    if undefined is not None:
        text, grad = undefined[0] + " ", undefined[1]
        if undefined[2]:  # no partial left that would carry it further
            return [undefined[0]]
    else:
        text = f"Your run ended at {where} with |∇f| = {_num(grad, 3)}: not yet a stationary point after {steps} steps. "
    bounce = _bounces(rows) or _cycle(rows, _reversals(rows))
    if bounce:
        return [text + bounce]
    travelled = float(sum(math.hypot(b["x"] - a["x"], b["y"] - a["y"])
                          for a, b in zip(rows[:-1], rows[1:], strict=True)))
    return [text + _further(eta, decay, steps, grad, travelled, _reversals(rows))]


def _bounces(rows: list[dict[str, Any]]) -> str:
    """What to say when f failed to go down at some steps that moved the point ('' when f fell at each).

    Such a step jumped across the valley, past the point where f is lowest along the gradient: the
    step is too large there, so a larger one (the advice for a run that goes down all the way) would
    overshoot further; x² + y² at η = 1 jumps from (3, 2) to (−3, −2) and back with f = 13 for ever.
    """
    level = [(a, b) for a, b in zip(rows[:-1], rows[1:], strict=True)
             if b["f"] >= a["f"] and (b["x"], b["y"]) != (a["x"], a["y"])]
    if not level:
        return ""
    a, b = level[0]
    return (f"But f did not go down at {len(level)} of its {len(rows) - 1} steps (the first at step {b['t']}: "
            f"f = {_num(a['f'])} → {_num(b['f'])}): the step jumps across the valley instead of down into it, so a "
            "larger step would overshoot further. A smaller `--eta`, or a `--decay` below 1, lets it settle.")


def _reversals(rows: list[dict[str, Any]]) -> int:
    """How many steps went back against the one before: the two moves point apart (a negative dot
    product), or x or y zig-zags (its move changes sign at this step and at the one before or after).
    The earlier step had passed the lowest point along that line, so a larger one would have passed it
    further. x² + y² at η = 0.9 flips the sign of x and y at every step; |x| + |y| at η = 0.3 from
    (3, 2) flips y between 0.2 and −0.1 while x still falls, and the dot product of the whole moves,
    (−0.3, 0.3)·(−0.3, −0.3) = 0, missed it. One change of sign alone is a path that turns (the
    course's run turns once in y), not a zig-zag.
    """
    moves = [(b["x"] - a["x"], b["y"] - a["y"]) for a, b in zip(rows[:-1], rows[1:], strict=True)]
    pairs = list(zip(moves[:-1], moves[1:], strict=True))
    flips = [(False, False)] + [(u[0] * v[0] < 0, u[1] * v[1] < 0) for u, v in pairs] + [(False, False)]
    return sum(u[0] * v[0] + u[1] * v[1] < 0 or
               any(flips[k][i] and (flips[k - 1][i] or flips[k + 1][i]) for i in (0, 1))
               for k, (u, v) in enumerate(pairs, start=1))


def _cycle(rows: list[dict[str, Any]], reversals: int) -> str:
    """What to say when x or y is back, to rounding, where it was two steps before ('' when neither is).

    Its last two moves cancel: the coordinate jumps across the bottom and back by the same amount,
    so more steps repeat the bounce (|x| + |y| at η = 0.3 from (3, 2): y = 0.2, −0.1, 0.2, … for
    ever, where |y|'s slope is ±1 however near 0) and a larger step bounces further.
    """
    if len(rows) < 3:
        return ""
    a, b, c = rows[-3:]
    for name in ("x", "y"):
        jump = abs(c[name] - b[name])
        if jump > 0 and abs(c[name] - a[name]) <= 1e-9 * jump:
            return (f"But {name} bounces between {_num(b[name])} and {_num(c[name])} ({reversals} of its "
                    f"{len(rows) - 1} steps went back against the step before): each step jumps {_num(jump, 3)} across "
                    "the bottom and the next jumps back, so more steps (`--steps`) repeat the bounce instead of "
                    "going further, and a larger step bounces further. A smaller `--eta` makes the bounce "
                    "smaller; a `--decay` below 1 shrinks it step by step, so the run settles.")
    return ""


def _what_point(point: dict[str, Any]) -> str:
    """What kind of stationary point (a ``classify`` result) a run stopped on, where the Hessian can tell
    ('' where it cannot).

    Gradient descent halts wherever ∇f = 0, on a saddle or a maximum as well as a minimum (a start
    exactly there never moves), so stopping alone says nothing about being a minimum.
    """
    kind, eig = point["kind"], point["eigenvalues"]
    if kind == "strict minimum":
        return f" It is a strict minimum (Hessian eigenvalues ({_eig(eig)}), all positive), perhaps a local one."
    if kind in ("saddle", "strict maximum"):
        signs = "have both signs" if kind == "saddle" else "are all negative"
        return (f" But it is {'a saddle point' if kind == 'saddle' else 'a strict maximum'}, not a minimum: the "
                f"Hessian's eigenvalues ({_eig(eig)}) {signs}. ∇f = 0 there, so every step is 0: gradient "
                "descent stops on it when it started exactly there (or reached it along a line that leads in); "
                "a start nudged off it goes downhill.")
    return ""


def _further(eta: float, decay: float, steps: int, grad: float, travelled: float, reversals: int = 0) -> str:
    """What would go further: more steps, unless a decaying schedule has already spent its steps; a
    larger step too, unless the run zig-zags (``reversals`` steps went back against the one before).

    With η_t = η₀·dᵗ (d < 1) every step still to come after ``steps`` sums to η₀·dⁿ/(1 − d); at the
    present slope they move the point about that times |∇f|. When that is under 1% of the distance
    ``travelled`` so far, more steps barely move it whatever ``--steps`` says; only η₀ or d can help.
    """
    left = eta * decay ** steps / (1.0 - decay) if decay < 1.0 else math.inf
    if not left * grad < 0.01 * travelled:
        if reversals:
            return (f"More steps (`--steps`) would go further, but not a larger step: {reversals} of its {steps} "
                    "steps went back against the step before, across the valley, and a larger step jumps "
                    "further across it. A smaller `--eta`, or a `--decay` below 1, damps the zig-zag.")
        return "More steps (`--steps`) or a larger step size would go further."
    return (f"More steps would hardly move it: with the decay every step still to come sums to "
            f"η₀·dⁿ/(1 − d) = {eta:g}·{decay:g}^{steps}/(1 − {decay:g}) = {_num(left, 3)}, about {_num(left * grad, 3)} "
            "further at the present slope. The schedule spent its steps; a larger `--eta` or a `--decay` "
            "closer to 1 would go further.")


def _eig(eig: Any) -> str:
    return ", ".join(_num(v, 4) for v in np.asarray(eig, dtype=float))


def _ring_words(ring: dict[str, Any]) -> str:
    """What f did on the rings around a point where the second-derivative test cannot tell."""
    where = f"Sampling f at {ring['samples']} points on rings of radius {' and '.join(f'{r:g}' for r in ring['radii'])}" \
        " around it"
    low = ring.get("lowest")
    at = f"({_num(low['x'])}, {_num(low['y'])})" if low else ""
    return where + {
        "higher": ": f is higher than at the point at every sample, as at a strict minimum (samples cannot "
                  "rule out a thin curved valley between them).",
        "equal": f": f is never lower, and equal to its value there (to rounding) at {ring.get('equal')} samples, "
                 f"e.g. at {at}: what a valley of equally low points shows (a minimum, not a strict one).",
        "lower": ": f is lower than at the point at every sample, as at a strict maximum.",
        "mixed": f": f is lower at some samples (f = {_num(low['f'])} at {at}) and higher at others, so the point "
                 "is neither a minimum nor a maximum (a degenerate saddle)." if low else "",
        "undefined": ": f is not finite at some samples, so they cannot tell either.",
    }[ring["verdict"]]


def verdict(point: dict[str, Any]) -> str:
    """What kind of point a ``_gd_stationary.classify`` result is, in words: only what was measured."""
    at, eig = f"({_num(point['x'])}, {_num(point['y'])})", point["eigenvalues"]
    kind = point["kind"]
    if kind == "not stationary":
        return (f"**Not a stationary point**: |∇f| = {_num(point['grad_norm'], 3)} at {at}, so f still falls along −∇f "
                "and this is no minimum; the second-derivative test applies only where ∇f = 0.")
    if kind == "strict minimum":
        return f"A strict minimum: the Hessian's eigenvalues ({_eig(eig)}) are all positive."
    if kind == "strict maximum":
        return f"A strict maximum: the Hessian's eigenvalues ({_eig(eig)}) are all negative."
    if kind == "saddle":
        return f"**A saddle point**, not a minimum: the Hessian's eigenvalues ({_eig(eig)}) have both signs."
    if kind == "domain edge":
        return (f"**On the edge of f's domain** at {at}: {edge_words(point['partials'], point['x'], point['y'])}. "
                "∇f, which needs f on every side, does not exist there (autodiff's value is at most a slope from "
                "inside), so neither the gradient nor the second-derivative test can tell what kind of point it is. "
                + (edge_ring_words(point["ring"]) or _ring_words(point["ring"])))
    if kind == "not differentiable":
        head = (f"**f is not differentiable** at {at}: its one-sided slopes there fit no gradient (as |x| at 0: −1 on "
                "one side, 1 on the other), so ∇f is undefined there (autodiff's value is a convention) and it is "
                "not a stationary point; neither the gradient nor the second-derivative test can tell what kind "
                "of point it is.")
    elif not np.isfinite(eig).all():
        head = (f"**Hessian undefined** at {at}: f is not twice differentiable there, so the second-derivative "
                "test cannot tell what kind of point it is.")
    else:
        head = (f"**Hessian singular** there (eigenvalues {_eig(eig)}): with a zero eigenvalue the "
                "second-derivative test is inconclusive: a strict minimum (x⁴ + y⁴), a line of minima (x²) and a "
                "point that is no minimum at all (x³ + y²) all have one.")
    return head + " " + _ring_words(point["ring"])


def _why_diverged(f: Expression, before: dict[str, Any], eta_t: float) -> str:
    """Which of the lesson's divergence rules the step from the row ``before`` broke."""
    with np.errstate(all="ignore"):
        _, gx, gy = f.value_and_grad(before["x"], before["y"])
        x, y = before["x"] - eta_t * float(gx), before["y"] - eta_t * float(gy)
        value = float(f(x, y))
    if not (math.isfinite(x) and math.isfinite(y)):
        return "x or y stopped being a finite number (the gradient overflowed or is undefined there)"
    if max(abs(x), abs(y)) > DIVERGED:
        return (f"it jumped to ({_num(x, 3)}, {_num(y, 3)}), and the lesson counts a run as diverged once |x| or |y| "
                f"exceeds {DIVERGED_TEXT}")
    if not math.isfinite(value):
        return f"it jumped to ({_num(x)}, {_num(y)}), where f is not finite (f = {value})"
    return "x, y or f stopped being finite"


def minimum_findings(minimum: dict[str, Any], point: dict[str, Any], box: tuple = BOX,
                     down: dict[str, Any] | None = None) -> list[str]:
    """What the search for the lowest point in ``box`` found, in words (no pass/fail).

    ``point`` is ``_gd_stationary.classify`` at the lowest point; ``down`` is ``_gd_stationary.downhill``
    there (f sampled along −∇f), used where the point is not stationary.
    """
    at = f"({_num(minimum['x'])}, {_num(minimum['y'])})"
    grad = minimum["grad_norm"]
    box_words = f"[{box[0][0]:g}, {box[0][1]:g}] × [{box[1][0]:g}, {box[1][1]:g}]"
    if minimum["on_boundary"] and point["kind"] == "not stationary":
        return [f"**No minimum inside** the box {box_words}: the lowest value there, f = {_num(minimum['f'])}, "
                f"lies on its edge at {at}, where f still falls outward (|∇f| = {_num(grad, 3)}). f may be unbounded "
                "below, or its minimum lies outside the box."]
    tail = f", {NOT_DIFFERENTIABLE}." if point["kind"] == "not differentiable" else \
        ", on the edge of f's domain." if point["kind"] == "domain edge" else \
        f", |∇f| = {_num(grad, 2)}." if math.isfinite(grad) else ", where the gradient is undefined (a kink or a cusp)."
    lines = [f"Lowest point found in the box {box_words}: f = {_num(minimum['f'])} at {at}{tail}", verdict(point)]
    if point["kind"] == "not stationary" and down is not None:
        lines[-1] += (f" Along −∇f, f is lower a distance {_num(down['distance'], 3)} away: f = {_num(down['f'])} at "
                      f"({_num(down['x'])}, {_num(down['y'])})")
        lines[-1] += (f", and not finite {_num(down['undefined_at'], 3)} away (a pole or the edge of f's domain: the "
                      "search cannot pass it)." if down["undefined_at"] is not None else ".")
    return lines


_LABELS = {"strict minimum": "strict minima", "strict maximum": "strict maxima", "saddle": "saddle points",
           "higher": "where the Hessian test is inconclusive and f is higher on every ring sample",
           "equal": "where the Hessian test is inconclusive and f is never lower on the rings, equal at some "
                    "samples (a valley)",
           "lower": "where the Hessian test is inconclusive and f is lower on every ring sample",
           "mixed": "where the Hessian test is inconclusive and f is lower and higher on the rings (neither "
                    "minimum nor maximum)",
           "undefined": "where the Hessian test is inconclusive and f is not finite on the rings"}

_SINGULAR = {"strict minima": "strict minimum", "strict maxima": "strict maximum", "saddle points": "saddle point"}


def _near(value: float) -> float:
    """0 for a coordinate or value within 1e-12 of it (Newton leaves 1e-245 where the answer is 0)."""
    return 0.0 if abs(value) < 1e-12 else value


def stationary_findings(found: dict[str, Any], box: tuple = BOX) -> list[str]:
    """The stationary points Newton's method found in ``box`` (``_gd_stationary.find_stationary_points``)."""
    how = (f"Newton's method on ∇f = 0 from a {found['grid']} × {found['grid']} grid of starts in the box "
           f"[{box[0][0]:g}, {box[0][1]:g}] × [{box[1][0]:g}, {box[1][1]:g}]")
    kinks = found.get("kinks", [])
    stopped = "" if not kinks else (
        f" It stopped at {len(kinks)} {'point' if len(kinks) == 1 else 'points'} where f is not differentiable "
        "(∇f undefined there; autodiff's 0 is a convention, not a slope): "
        + ", ".join(f"({_near(p['x']):.4g}, {_near(p['y']):.4g}) f = {_near(p['f']):.6g}" for p in kinks[:3])
        + (", …." if len(kinks) > 3 else "."))
    edges = found.get("edges", [])
    stopped += "" if not edges else (
        f" It stopped at {len(edges)} {'point' if len(edges) == 1 else 'points'} on the edge of f's domain (∇f "
        "there is a slope from one side only): "
        + ", ".join(f"({_near(p['x']):.4g}, {_near(p['y']):.4g}) f = {_near(p['f']):.6g}" for p in edges[:3])
        + (", …." if len(edges) > 3 else "."))
    if not found["points"]:
        return [f"**No stationary point found** by {how}.{stopped}"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in found["points"]:
        groups.setdefault(p["ring"]["verdict"] if p["kind"] == "inconclusive" else p["kind"], []).append(p)
    parts = []
    for key, points in groups.items():
        shown = ", ".join(f"({_near(p['x']):.4g}, {_near(p['y']):.4g}) f = {_near(p['f']):.6g}" for p in points[:3])
        label, n = _LABELS[key], len(points)
        label = (f"point {label}" if n == 1 else f"points {label}") if label.startswith("where") else \
            (_SINGULAR.get(label, label) if n == 1 else label)
        parts.append(f"{n} {label}: {shown}" + (", …" if n > 3 else ""))
    more = f" (more than {found['limit']}: the {found['limit']} with the lowest f)" if found["more"] else ""
    return [f"Stationary points found by {how}{more}: " + "; ".join(parts) + "." + stopped]


def _kind(point: dict[str, Any]) -> str:
    """A classification in one word: strict minimum, saddle, …, or "<kind>: <ring verdict>"."""
    return f"{point['kind']}: {point['ring']['verdict']}" if "ring" in point else point["kind"]


def minimum_row(minimum: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    """The lowest point found (``_gd_minimum.find_minimum``) as a table row, with its ``classify`` kind."""
    eig = minimum["hessian_eigenvalues"]
    return {"x": minimum["x"], "y": minimum["y"], "f": minimum["f"], "grad_norm": minimum["grad_norm"],
            "hessian_min_eig": float(eig[0]), "hessian_max_eig": float(eig[-1]),
            "on_boundary": minimum["on_boundary"], "kind": _kind(point)}


def point_row(point: dict[str, Any]) -> dict[str, Any]:
    """A stationary point (a ``classify`` result) as a table row."""
    eig = point["eigenvalues"]
    return {"x": point["x"], "y": point["y"], "f": point["f"], "grad_norm": point["grad_norm"],
            "hessian_min_eig": float(eig[0]), "hessian_max_eig": float(eig[-1]), "kind": _kind(point)}


def grid_findings(rows: list[dict[str, Any]], reached: list[dict[str, Any]], best: dict[str, Any] | None,
                  minimum: dict[str, Any], target_words: str, start_f: float | None = None) -> list[str]:
    """The sweep over (η₀, d, steps) in words: how many settings got there, how many diverged, the best.
    ``start_f``: f at the sweep's start, when the target is a way down from it to the lowest point found;
    a start already there (Himmelblau's (3, 2)) or below it has no way down, and "0 of 240 settings
    reach 90% of the way down" said nothing true."""
    diverged = [r for r in rows if not math.isfinite(r["f"])]
    text = f"{len(reached)} of {len(rows)} settings of (η₀, d, steps) reach {target_words}"
    no_way_down = start_f is not None and not start_f > minimum["f"]
    if no_way_down:
        where = "already at" if start_f == minimum["f"] else f"already below (f = {_num(start_f)})"
        text = (f"The sweep's start is {where} the lowest point found in the box (f = {_num(minimum['f'])}), so its "
                f"{len(rows)} settings of (η₀, d, steps) have no way down to it to measure")
    if len(diverged) == len(rows):
        text += f"; every one diverged, even η₀ = {min(r['eta0'] for r in rows):g}: f is too steep at the start " \
                "for these steps (your own `--eta` can go smaller)"
    elif diverged:
        smallest = min(r["eta0"] for r in diverged)
        text += f"; {len(diverged)} diverged (the smallest η₀ that diverged: {smallest:g})"
    lines = [text + "."]
    if reached and not no_way_down:
        first = reached[0]
        lines.append(f"Fewest steps: η₀ = {first['eta0']:g}, d = {first['decay']:g}, {first['steps']} steps → "
                     f"f = {_num(first['f'])}.")
    if best is not None:
        lower = " — lower than anything in the box: f keeps decreasing outside it" \
            if best["f"] < minimum["f"] - 1e-9 * (1 + abs(minimum["f"])) else ""
        lines.append(f"Lowest f reached: {_num(best['f'])} (η₀ = {best['eta0']:g}, d = {best['decay']:g}, "
                     f"{best['steps']} steps){lower}.")
    return lines


def picture_findings(f: Expression, runs: dict[str, tuple[np.ndarray, float, float]]) -> list[str]:
    """One line for each run in the pictures that stops early (``runs``: label → (path [n, 2], η₀, d),
    nan from the step that diverged or left f's domain): where and why it stops, and how far it is drawn."""
    lines = []
    for label, (path, eta, decay) in runs.items():
        stopped = np.flatnonzero(~np.isfinite(path).all(axis=1))
        if not stopped.size:
            continue
        t = int(stopped[0])
        before = {"x": float(path[t - 1, 0]), "y": float(path[t - 1, 1])}
        why = _why_diverged(f, before, eta * decay ** (t - 1))
        what, after = ("left f's domain", "; that step size leaves the function's domain, so it is never taken "
                       "as the good one.") if "where f is not finite" in why else ("diverged", ".")
        lines.append(f"**The run \"{label}\" in the pictures {what} at step {t}**: {why}. Its path is drawn up to "
                     f"step {t - 1}{after}")
    return lines


def steps_to_target(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


def captions(is_course: bool) -> dict[str, str]:
    what = "the course's f" if is_course else "your f"
    return {
        "caption:gd_contour_paths": f"Twenty steps of gradient descent on {what} from the start (■): a step too "
                                    "small crawls, a good one lands in the minimum (★), one too large bounces "
                                    "across the valley.",
        "caption:gd_values": "The same three runs step by step: how far above the lowest value each one is.",
    }


def summary(f: Expression, start: tuple[float, float], eta: float, decay: float, steps: int,
             user_rows: list[dict[str, Any]], findings: list[str]) -> str:
    last = user_rows[-1]
    lines = [f"f(x, y) = {f.text}",
             f"your run: start ({start[0]:g}, {start[1]:g}), eta_t = {eta:g}·{decay:g}^t, {steps} steps "
             f"-> ({_num(last['x'])}, {_num(last['y'])}), f = {_num(last['f'])}", "findings:"]
    lines += ["  - " + text.replace("**", "").replace("`", "") for text in findings]
    return "\n".join(lines)


def markdown(f: Expression, start: tuple[float, float], eta: float, decay: float, steps: int,
              findings: list[str]) -> str:
    lines = [f"$$f(x, y) = {f.to_latex()}$$", "",
             r"Update: $\mathbf{p}_{t+1} = \mathbf{p}_t - \eta_t \nabla f(\mathbf{p}_t)$ with "
             rf"$\eta_t = \eta_0 d^t$; your run: $\eta_0 = {eta:g}$, $d = {decay:g}$, {steps} steps from "
             rf"$({start[0]:g}, {start[1]:g})$.", "", "**What the runs found**", ""]
    lines += [f"- {text}" for text in findings]
    return "\n".join(lines) + "\n"


PATH_CSV = "gradient_descent_path.csv"
"""Every step of your run (t, eta_t, x, y, f at full precision), beside the Markdown page."""
PATH_ROWS_WHOLE = 101
"""The Markdown table shows every row up to this many (100 steps, the grid's longest run) ..."""
PATH_HEAD = PATH_TAIL = 10
"""... and beyond it the first and the last rows, with one row saying how many it leaves out."""


def path_markdown(user_rows: list[dict[str, Any]]) -> str:
    """Your run as a Markdown table, one row per step, kept readable for a long run.

    Up to :data:`PATH_ROWS_WHOLE` rows (the start and 100 steps) every row is shown; beyond, the first
    :data:`PATH_HEAD` and the last :data:`PATH_TAIL`, and between them one row saying how many steps
    are left out and that :data:`PATH_CSV` holds them all.
    """
    lines = ["| t | η_t | x | y | f |", "|---|---|---|---|---|"]
    shown = user_rows
    if len(user_rows) > PATH_ROWS_WHOLE:
        shown = [*user_rows[:PATH_HEAD], None, *user_rows[-PATH_TAIL:]]
    for r in shown:
        if r is None:
            left = len(user_rows) - PATH_HEAD - PATH_TAIL
            lines.append(f"| … | {left:,} steps left out (t = {PATH_HEAD:,} to {len(user_rows) - PATH_TAIL - 1:,}); "
                         f"every step is in {PATH_CSV} | | | |")
            continue
        eta_t = "" if r["eta_t"] is None else _num(r["eta_t"], 4)
        lines.append(f"| {r['t']} | {eta_t} | {r['x'] + 0.0:.6f} | {r['y'] + 0.0:.6f} | {r['f'] + 0.0:.6f} |")
    return "\n".join(lines) + "\n"


def path_csv(user_rows: list[dict[str, Any]]) -> str:
    """Your run as CSV: a header ``t,eta_t,x,y,f``, then one row per step, floats at full precision
    (``repr``; ``nan`` after a divergence; ``eta_t`` empty on the last row, where no step is taken)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["t", "eta_t", "x", "y", "f"])
    for r in user_rows:
        writer.writerow([r["t"], "" if r["eta_t"] is None else repr(float(r["eta_t"])),
                         repr(r["x"]), repr(r["y"]), repr(r["f"])])
    return buf.getvalue()

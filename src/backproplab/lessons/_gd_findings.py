"""The gradient-descent lesson's words: findings on your own function, the summary, the Markdown.

For the course's function the lesson checks claims; for a function typed by a user nothing is known
in advance, so these functions describe what was measured (divergence, stationary points, the
Hessian's verdict, the sweep over step sizes) without calling anything a failure.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backproplab.expr import Expression
from backproplab.lessons._gd_minimum import BOX


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
             f"-> ({last['x']:.6g}, {last['y']:.6g}), f = {last['f']:.6g}", "findings:"]
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


def path_markdown(user_rows: list[dict[str, Any]]) -> str:
    lines = ["| t | η_t | x | y | f |", "|---|---|---|---|---|"]
    for r in user_rows:
        eta_t = "" if r["eta_t"] is None else f"{r['eta_t']:.4g}"
        lines.append(f"| {r['t']} | {eta_t} | {r['x']:.6f} | {r['y']:.6f} | {r['f']:.6f} |")
    return "\n".join(lines) + "\n"

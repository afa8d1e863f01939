"""The gradient-descent lesson's figures: paths on the contour map, and f along each path.

Legends sit below the axes so they never cover a curve; sizes and fonts are chosen to stay legible
when the report shows a figure 800 px wide.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backproplab.expr import Expression

# Lazy imports, on purpose: torch, matplotlib, sklearn/scipy and the modules that load torch
# (backproplab.torchnn, backproplab.courses) are imported inside the functions that use them, so that
# importing this module (the CLI imports every lesson to list them) does not load torch.

_COLORS = {"too small": "tab:blue", "good": "tab:green", "too large": "tab:red"}


def _color(label: str) -> str | None:
    return next((c for k, c in _COLORS.items() if label.startswith(k)), None)


def plot_paths(f: Expression, paths: dict[str, np.ndarray], minimum: dict[str, Any],
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


def plot_values(f: Expression, paths: dict[str, np.ndarray], minimum: dict[str, Any],
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

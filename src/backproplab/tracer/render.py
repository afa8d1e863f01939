"""A trace for reading: text for a terminal, Markdown with LaTeX, and the network drawn."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backproplab.tracer.checks import asked_value
from backproplab.tracer.network import Network
from backproplab.tracer.notation import Notation, _num
from backproplab.tracer.trace import Trace

LOSS_WORDS = {"half_squared_error": "½ Σ (y − ŷ)²", "squared_error": "Σ (y − ŷ)²", "mse": "mean (y − ŷ)²",
              "bce": "binary cross-entropy", "cross_entropy": "cross-entropy −Σ y log ŷ of a softmax"}


def heading(net: Network) -> tuple[str, str]:
    sizes = " → ".join([str(len(net.x))] + [f"{layer.units} {layer.activation}"
                                             for layer in net.layers])
    return sizes, LOSS_WORDS[net.loss]


def _titles(nt: Notation) -> dict[str, str]:
    """Section titles of the text trace, in the notation's index letters."""
    i, j = ("i", "j") if nt.kind == "global" else ("j", "k")
    return {"s": f"Forward pass: s_{i} = Σ_{j} w_{i}{j}·a_{j} + b_{i}, a_{i} = f(s_{i})", "loss": "Loss",
            "delta": "Backward pass: δ = ∂L/∂s (output: ∂L/∂ŷ·f′(s), or ŷ − y for softmax with "
                     "cross-entropy; hidden: f′(s)·Σ w·δ above)",
            "dw": f"Gradients: ∂L/∂w_{i}{j} = δ_{i}·a_{j}, ∂L/∂b_{i} = δ_{i}"}


def _description_note(nt: Notation) -> str:
    """A warning before a file's description under ``--notation layer``: its words are not renumbered.

    The description is free text; the bundled examples write unit numbers globally (w32 = from unit 2
    into unit 3), which under the layer numbering name other weights (w⁽¹⁾₃₂ is into the third hidden unit).
    """
    if nt.kind == "global":
        return ""
    return ("(The file's description, not renumbered: the bundled examples write it in the global numbering, "
            "inputs 1, 2, … then the hidden and output units in order, w_ij from unit j into unit i.) ")


def format_text(tr: Trace, ref_checked: bool = True) -> str:
    """The trace for a terminal: one line per quantity, with torch's value beside it."""
    net, nt = tr.network, tr.notation
    sizes, loss_words = heading(net)
    lines = [f"Network {net.name!r}: {sizes}; loss {loss_words}",
             f"  x = {net.x.tolist()}, y = {net.y.tolist()}", f"  Notation: {nt.describe()}"]
    if net.description:
        lines.append(f"  {_description_note(nt)}{net.description}")
    titles = _titles(nt)
    shown = set()
    for step in tr.steps:
        group = {"a": "s", "db": "dw"}.get(step.kind, step.kind)
        if group not in shown:
            shown.add(group)
            lines.append("")
            lines.append(titles[group])
        check = ""
        if ref_checked and math.isfinite(step.torch):
            check = f"   [torch {step.torch:.6g}]"
        lines.append(f"  {step.text()}{check}")
        if step.note:
            lines.append(f"    {step.note}")
    for ask in net.asks:
        value = asked_value(tr, ask)
        expect = "" if ask.expected is None else f" (expected {ask.expected:.6g})"
        lines.append(f"Asked: {ask.symbol(nt)} = {_num(value).strip('()')}{expect}")
    return "\n".join(lines)


def format_markdown(tr: Trace) -> str:
    """The trace as Markdown with LaTeX (``$$ … $$`` display maths)."""
    net, nt = tr.network, tr.notation
    sizes, loss_words = heading(net)
    lines = [f"## Backpropagation trace: `{net.name.replace('`', chr(39))}`", "",
             f"Architecture {sizes}; loss {loss_words}; "
             f"$x = ({', '.join(f'{v:g}' for v in net.x)})$, $y = ({', '.join(f'{v:g}' for v in net.y)})$. "
             f"Notation: {nt.describe()}.", ""]
    if net.description:
        lines += [_description_note(nt) + net.description.replace("$", r"\$"), ""]  # the user's text, not maths
    i, j = ("i", "j") if nt.kind == "global" else ("j", "k")
    titles = {"s": rf"### Forward pass: $s_{i} = \sum_{j} w_{{{i}{j}}} a_{j} + b_{i}$, $a_{i} = f(s_{i})$",
              "loss": "### Loss",
              "delta": rf"### Backward pass: $\delta_{i} = \partial L / \partial s_{i}$",
              "dw": rf"### Gradients: $\partial L/\partial w_{{{i}{j}}} = \delta_{i} a_{j}$, "
                    rf"$\partial L/\partial b_{i} = \delta_{i}$"}
    shown = set()
    for step in tr.steps:
        group = {"a": "s", "db": "dw"}.get(step.kind, step.kind)
        if group not in shown:
            shown.add(group)
            lines += ["", titles[group], ""]
        lines.append(f"$$ {step.tex()} $$")
        if step.note:
            lines += ["", step.note.replace("$", r"\$")]  # the next section starts with a blank line
    if net.asks:
        lines += ["", "### Asked", ""]
        for ask in net.asks:
            lines.append(f"$$ {ask.symbol(nt, tex=True)} = {asked_value(tr, ask):.6g} $$")
    return "\n".join(lines) + "\n"


MAX_LABELLED_UNITS = 12  # a network taller than this is drawn without numbers (they would overlap)


def figure(tr: Trace) -> Any:
    """The network drawn with a, δ per unit and ∂L/∂w per edge (colour: sign, width ∝ |gradient|).

    Edges are one LineCollection and units one scatter, so a large network draws in a second; the
    numbers are written only where they fit (at most ``MAX_LABELLED_UNITS`` units in a layer).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    net = tr.network
    sizes = [len(net.x)] + [layer.units for layer in net.layers]
    labelled = max(sizes) <= MAX_LABELLED_UNITS
    fig = Figure(figsize=(min(2.6 * len(sizes) + 1, 16.0), min(1.0 + 1.1 * max(sizes), 14.0)))
    ax = fig.add_subplot()
    ax.axis("off")
    pos = {(li, j): (li, (n - 1) / 2 - j) for li, n in enumerate(sizes) for j in range(n)}
    finite = [np.abs(g[np.isfinite(g)]) for g in tr.grad_w]  # an overflowing network has inf/nan gradients
    gmax = max((float(a.max()) for a in finite if a.size), default=0.0) or 1.0
    segments, colors, widths = [], [], []
    for li, g in enumerate(tr.grad_w, start=1):
        for (k, j), value in np.ndenumerate(g):  # g[k, j]: from unit k below into unit j
            (x0, y0), (x1, y1) = pos[(li - 1, k)], pos[(li, j)]
            segments.append([(x0, y0), (x1, y1)])
            colors.append("tab:red" if value > 0 else ("tab:blue" if value < 0 else "0.8"))
            # |value|/gmax first: at most 1 for a finite value, where 3·|value| overflowed near 1e308
            widths.append(0.5 + 3 * (abs(value) / gmax) if np.isfinite(value) else 3.5)
            if labelled:
                frac = 0.22 + 0.45 * j / max(1, g.shape[1] - 1)  # stagger labels of crossing edges
                ax.text(x0 + frac * (x1 - x0), y0 + frac * (y1 - y0), f"{value:.3g}", fontsize=7,
                        color=colors[-1], ha="center", va="center",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.add_collection(LineCollection(segments, colors=colors, linewidths=widths, zorder=1))
    xy = np.array(list(pos.values()))
    ax.scatter(xy[:, 0], xy[:, 1], s=1500 if labelled else 60, color="white", edgecolors="k", zorder=2)
    if labelled:
        for (li, j), (x, y) in pos.items():
            ax.text(x, y, _unit_label(tr, li, j), ha="center", va="center", fontsize=7, zorder=3)
    name = net.name if len(net.name) <= 40 else net.name[:39] + "…"
    ax.set_title(f"{name}: L = {tr.loss:.6g}; edges: ∂L/∂w (red > 0, blue < 0)", fontsize=9,
                 parse_math=False)  # a $ in the user's name is text, not mathtext
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-max(sizes) / 2 - 0.2, max(sizes) / 2 + 0.2)
    return fig


def _unit_label(tr: Trace, layer: int, j: int) -> str:
    """The text inside unit j (0-based) of ``layer``: x and its value, or a and δ (with the unit's number)."""
    if layer == 0:
        return f"x{j + 1}\n{tr.network.x[j]:.3g}"
    label = f"a={tr.a[layer - 1][j]:.3g}\nδ={tr.delta[layer - 1][j]:.3g}"
    if tr.notation.kind == "global":
        label = f"unit {tr.notation.unit(layer, j + 1)}\n{label}"
    return label

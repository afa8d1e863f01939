"""A trace for reading: text for a terminal, Markdown with LaTeX, and the network drawn."""

from __future__ import annotations

import functools
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
FONT_PT = 7.0  # the numbers in the figure
LINE_PT = 1.2 * 1.25 * FONT_PT  # one line of a unit's label: Matplotlib's line spacing 1.2 of a line's height
LABEL_PAD_PT = 2.0  # around an edge's number: its white box


def figure(tr: Trace) -> Any:
    """The network drawn with a, δ per unit and ∂L/∂w per edge (colour: sign, width ∝ |gradient|).

    Edges are one LineCollection and units one scatter, so a large network draws in a second; the
    numbers are written only where they fit (at most ``MAX_LABELLED_UNITS`` units in a layer; an edge's
    number that would cover another, the larger |∂L/∂w| first, is left off and the title says so). The
    circles are as large as the longest unit label needs, and each edge's number sits on its edge, in a
    white box, about a third of the way from its source unit (see :func:`_place_edge_labels`), clear of
    the circles: half-way, where edges cross, and beside the units, the numbers fell on each other.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    net = tr.network
    sizes = [len(net.x)] + [layer.units for layer in net.layers]
    labelled = max(sizes) <= MAX_LABELLED_UNITS
    pos = {(li, j): (li, (n - 1) / 2 - j) for li, n in enumerate(sizes) for j in range(n)}
    labels = {key: _unit_label(tr, *key) for key in pos} if labelled else {}
    radius = max((_circle_radius(text) for text in labels.values()), default=4.0)  # points
    height = max(1.0 + 1.1 * max(sizes), (2 * radius + 16) * (max(sizes) + 0.4) / (72 * 0.77))
    fig = Figure(figsize=(min(2.6 * len(sizes) + 1, 24.0), min(height, 16.0)))  # 8 layers: 2.6 in a column
    ax = fig.add_subplot()
    ax.axis("off")
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-max(sizes) / 2 - 0.2, max(sizes) / 2 + 0.2)
    finite = [np.abs(g[np.isfinite(g)]) for g in tr.grad_w]  # an overflowing network has inf/nan gradients
    gmax = max((float(a.max()) for a in finite if a.size), default=0.0) or 1.0
    segments, colors, widths, edge_labels = [], [], [], []
    for li, g in enumerate(tr.grad_w, start=1):
        for (k, j), value in np.ndenumerate(g):  # g[k, j]: from unit k below into unit j
            segments.append([pos[(li - 1, k)], pos[(li, j)]])
            colors.append("tab:red" if value > 0 else ("tab:blue" if value < 0 else "0.8"))
            # |value|/gmax first: at most 1 for a finite value, where 3·|value| overflowed near 1e308
            widths.append(0.5 + 3 * (abs(value) / gmax) if np.isfinite(value) else 3.5)
            edge_labels.append(f"{value:.3g}")
    ax.add_collection(LineCollection(segments, colors=colors, linewidths=widths, zorder=1))
    xy = np.array(list(pos.values()))
    ax.scatter(xy[:, 0], xy[:, 1], s=(2 * radius) ** 2 if labelled else 60, color="white", edgecolors="k",
               zorder=2)
    if labelled:
        for key, (x, y) in pos.items():
            ax.text(x, y, labels[key], ha="center", va="center", fontsize=FONT_PT, zorder=3, gid="unit")
        magnitudes = [abs(float(v)) if np.isfinite(v) else np.inf for g in tr.grad_w for v in g.reshape(-1)]
        places = _place_edge_labels(_points_per_unit(fig, ax), segments, edge_labels, radius, list(pos.values()),
                                    magnitudes)
        for place, text, color in zip(places, edge_labels, colors, strict=True):
            if place is not None:
                ax.text(*place, text, fontsize=FONT_PT, color=color, ha="center", va="center", zorder=3, gid="edge",
                        bbox={"boxstyle": f"square,pad={LABEL_PAD_PT / FONT_PT:.3f}", "fc": "white", "ec": "none"})
        shown = sum(place is not None for place in places)
    name = net.name if len(net.name) <= 40 else net.name[:39] + "…"
    some = f"\nnumbers on the {shown} of {len(segments)} edges where they fit, the largest |∂L/∂w| first; the " \
        "trace has them all" if labelled and shown < len(segments) else ""
    ax.set_title(f"{name}: L = {tr.loss:.6g}; edges: ∂L/∂w (red > 0, blue < 0){some}", fontsize=9,
                 parse_math=False)  # a $ in the user's name is text, not mathtext
    return fig


def _text_size(text: str) -> tuple[float, float]:
    """(width, height) in points of ``text`` at ``FONT_PT``, one line or several: the sum of its
    characters' widths (DejaVu Sans's digits are all one width), and a point more for kerning."""
    lines = text.split("\n")
    return max(sum(_char_width(ch) for ch in line) for line in lines) + 1.0, LINE_PT * len(lines)


@functools.lru_cache(maxsize=256)
def _char_width(ch: str) -> float:
    """The width in points of one character at ``FONT_PT``."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    return float(text_to_path.get_text_width_height_descent(f"{ch}", FontProperties(size=FONT_PT), ismath=False)[0])


def _circle_radius(text: str) -> float:
    """The radius in points of a circle that holds ``text`` (centred) with a margin."""
    width, height = _text_size(text)
    return max(float(np.hypot(width / 2, height / 2)) + 2.0, 12.0)


def _points_per_unit(fig: Any, ax: Any) -> tuple[float, float]:
    """How many points one data unit is across and up, for the axes' limits and place in the figure."""
    box = ax.get_position()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    width, height = fig.get_size_inches()
    return 72 * width * box.width / (x1 - x0), 72 * height * box.height / (y1 - y0)


# Where along an edge its number may go, as a fraction of the edge from its source, best first: about a
# third of the way (edges leaving one unit have fanned out, and they cross further on, half-way).
EDGE_FRACTIONS = (0.35, 0.3, 0.4, 0.25, 0.45, 0.2, 0.5, 0.55, 0.15, 0.6, 0.65, 0.7, 0.75, 0.8)
LABEL_GAP_PT = 3.0  # the least room between two edges' numbers


def _place_edge_labels(scale: tuple[float, float], segments: list, texts: list[str], radius: float,
                       centres: list[tuple[float, float]], weights: list[float]) -> list[tuple[float, float] | None]:
    """Where each edge's number goes (data coordinates), None for a number left off: on its edge, at the
    first fraction of ``EDGE_FRACTIONS`` where its box is clear of every circle (``radius`` points round
    ``centres``), of the numbers placed before it and of the other edges; else where it meets the fewest
    (a circle counts most, then a number, then an edge).

    Every number is placed so, edge by edge, unless one would then lie on a circle or on another number
    (60 edges from 6 inputs into 10 units drew their numbers on each other, none readable): then the
    numbers between two layers are placed again largest ``weights`` first, and one with no place clear of
    the circles and the numbers before it is left off.
    """
    pts = np.array(segments, dtype=float).reshape(-1, 4) * np.tile(scale, 2)  # x0, y0, x1, y1 in points
    circles = np.array(centres, dtype=float) * scale
    places = _place_in_order(pts, texts, radius, circles, range(len(texts)), drop=False)
    if any(place is None for place in places):
        order = sorted(range(len(texts)), key=lambda i: (pts[i, 0], -weights[i], i))
        places = _place_in_order(pts, texts, radius, circles, order, drop=True)
    return [None if place is None else (place[0] / scale[0], place[1] / scale[1]) for place in places]


def _place_in_order(pts: np.ndarray, texts: list[str], radius: float, circles: np.ndarray, order, *,
                    drop: bool) -> list:
    """:func:`_place_edge_labels`'s places, in points, for the numbers in ``order``. ``drop``: a number
    with no place clear of the circles and the numbers before it (with a gap) is None; else each goes
    where it meets the fewest, and all are None if one of them then lies on a circle or covers a number."""
    fracs = np.array(EDGE_FRACTIONS)[:, None]
    places: list = [None] * len(texts)
    boxes: dict[float, np.ndarray] = {}  # per gap between layers: its numbers' centre x, y, half width, half height
    for i in order:
        placed = boxes.setdefault(float(pts[i, 0]), np.zeros((0, 4)))
        width, height = _text_size(texts[i])
        half = np.array([width / 2 + LABEL_PAD_PT + 0.5, height / 2 + LABEL_PAD_PT])
        at = pts[i, :2] + fracs * (pts[i, 2:] - pts[i, :2])  # [fractions, 2]: the candidate centres
        lo, hi = at - half, at + half
        near = np.hypot(*(np.clip(circles[None], lo[:, None], hi[:, None]) - circles[None]).transpose(2, 0, 1))
        gaps = np.abs(at[:, None] - placed[None, :, :2]) - (half + placed[None, :, 2:])  # [fractions, numbers, 2]
        on_circle, on_number = np.sum(near < radius + 1, axis=1), np.sum((gaps < LABEL_GAP_PT).all(axis=2), axis=1)
        crossings = np.sum(_crosses(pts[(pts[:, 0] == pts[i, 0]) & (np.arange(len(pts)) != i)], lo, hi), axis=1)
        if drop:
            blocked = (on_circle > 0) | (on_number > 0)
            if blocked.all():
                continue
            best = int(np.argmin(np.where(blocked, np.inf, crossings)))
        else:
            best = int(np.argmin(100 * on_circle + 10 * on_number + crossings))  # the first of the cheapest
            # on a circle, or a number's white box on another's digits (the sizes are estimates: a point of
            # slack): place them again, dropping some
            if np.any(near[best] < radius) or np.any((gaps[best] < -(LABEL_PAD_PT + 1)).all(axis=1)):
                return [None] * len(texts)
        places[i] = tuple(at[best])
        boxes[float(pts[i, 0])] = np.vstack([placed, [*at[best], *half]])
    return places


def _crosses(segments: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """[boxes, segments]: which of ``segments`` [n, (x0, y0, x1, y1)] pass through which box (lower
    left corners ``lo``, upper right ``hi``, [boxes, 2]): Liang–Barsky clipping, the part of a segment
    inside a box is t in [t0, t1]."""
    x0, y0 = segments[None, :, 0], segments[None, :, 1]
    dx, dy = x0 - segments[None, :, 2], y0 - segments[None, :, 3]  # minus the direction: p of the sides
    shape = (len(lo), len(segments))
    t0, t1, inside = np.zeros(shape), np.ones(shape), np.ones(shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):  # a side parallel to the segment: p = 0
        for p, q in ((dx, x0 - lo[:, :1]), (-dx, hi[:, :1] - x0), (dy, y0 - lo[:, 1:]), (-dy, hi[:, 1:] - y0)):
            p = np.broadcast_to(p, shape)
            inside &= ~((p == 0) & (q < 0))
            r = q / p
            t0 = np.where(p < 0, np.maximum(t0, r), t0)
            t1 = np.where(p > 0, np.minimum(t1, r), t1)
    return inside & (t0 <= t1)


def _unit_label(tr: Trace, layer: int, j: int) -> str:
    """The text inside unit j (0-based) of ``layer``: x and its value, or a and δ (with the unit's number)."""
    if layer == 0:
        return f"x{j + 1}\n{tr.network.x[j]:.3g}"
    label = f"a={tr.a[layer - 1][j]:.3g}\nδ={tr.delta[layer - 1][j]:.3g}"
    if tr.notation.kind == "global":
        label = f"unit {tr.notation.unit(layer, j + 1)}\n{label}"
    return label

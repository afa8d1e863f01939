"""The network figure: every number readable, inside its circle or beside its edge, and no warning."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from backproplab.lessons import backprop_trace as bp
from backproplab.tracer.render import figure

pytestmark = pytest.mark.lessons


def test_a_finite_gradient_near_float64s_largest_draws_without_a_warning():
    """s₃ = 1e308·1 is finite, so is ∂L/∂w₃₁ = δ₃·x₁ = 1e308: the edge width 3·|∂L/∂w|/max overflowed
    to inf in 3·1e308 (a RuntimeWarning from the figure, and Matplotlib's own on an inf line width)."""
    net = bp.network_from_dict({
        "name": "huge", "input": [1.0, 1.0], "target": [0.0], "loss": "half_squared_error",
        "layers": [{"activation": "identity", "weights": [[1e308, 0.0]], "biases": [0.0]},
                   {"activation": "identity", "weights": [[1.0]], "biases": [0.0]}]})
    tr = bp.trace(net)
    assert tr.grad_w[0][0, 0] == 1e308 and tr.loss == float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = figure(tr)
        fig.savefig(io.BytesIO(), format="png", dpi=40)


def _drawn(tr):
    """The figure drawn by Agg, its renderer, and the circles: centres and radius in pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figure(tr)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    units = ax.collections[-1]
    centres = ax.transData.transform(units.get_offsets())
    radius = float(np.sqrt(units.get_sizes()[0])) / 2 * fig.dpi / 72
    return fig, canvas.get_renderer(), centres, radius


def _corners(extent) -> np.ndarray:
    return np.array([(extent.x0, extent.y0), (extent.x0, extent.y1), (extent.x1, extent.y0), (extent.x1, extent.y1)])


@pytest.mark.parametrize("notation", ["global", "layer"])
@pytest.mark.parametrize("example", sorted(bp.examples()))
def test_every_number_is_inside_its_circle_or_on_its_edge_clear_of_the_others(example, notation):
    """tanh-two-hidden's 'δ=-0.0173' ran out of unit 3's circle, and edge numbers sat on units: 0.0146
    on unit 3, −0.00867 on x1 (placed by the index of the unit an edge goes into, 22% to 67% of the way)."""
    fig, renderer, centres, radius = _drawn(bp.trace(bp.load_example(example), notation))
    ax = fig.axes[0]
    units = [t for t in ax.texts if t.get_gid() == "unit"]
    edges = [t for t in ax.texts if t.get_gid() == "edge"]
    assert len(units) == len(centres) and len(edges) == len(ax.collections[0].get_segments())
    for text in units:  # every corner of the text within the circle it is centred in
        corners = _corners(text.get_window_extent(renderer))
        centre = centres[np.argmin(np.hypot(*(centres - corners.mean(axis=0)).T))]
        assert np.hypot(*(corners - centre).T).max() < radius, (example, text.get_text())
    boxes = [text.get_bbox_patch().get_window_extent(renderer) for text in edges]
    segments = [ax.transData.transform(s) for s in ax.collections[0].get_segments()]
    for text, box, (p0, p1) in zip(edges, boxes, segments, strict=True):
        nearest = np.hypot(np.clip(centres[:, 0], box.x0, box.x1) - centres[:, 0],
                           np.clip(centres[:, 1], box.y0, box.y1) - centres[:, 1])
        assert nearest.min() > radius, (example, text.get_text(), "on a unit")
        centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
        along = float(np.dot(centre - p0, p1 - p0) / np.dot(p1 - p0, p1 - p0))
        assert 0 < along < 1 and np.linalg.norm(p0 + along * (p1 - p0) - centre) < 1.5, (text.get_text(), "off its edge")
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1:]), (example, edges[i].get_text(), "on another number")
    fig.clear()


def test_a_dense_network_draws_the_numbers_that_fit_largest_first_and_none_on_another():
    """6 → 10 → 8 → 4: 172 edges, whose numbers were all drawn, on each other (unreadable). Now a number
    that would lie on a circle or on another number is left off, the largest |∂L/∂w| of each gap placed
    first, and the title says how many are shown."""
    rng = np.random.default_rng(0)
    sizes, acts = [6, 10, 8, 4], ["tanh", "relu", "softmax"]
    net = bp.network_from_dict({
        "name": "dense", "input": rng.normal(size=6).round(2).tolist(), "target": [0, 1, 0, 0],
        "loss": "cross_entropy",
        "layers": [{"activation": act, "weights": rng.normal(0, 0.5, (n_out, n_in)).round(2).tolist(),
                    "biases": [0.1] * n_out} for n_in, n_out, act in zip(sizes[:-1], sizes[1:], acts, strict=True)]})
    tr = bp.trace(net)
    fig, renderer, centres, radius = _drawn(tr)
    ax = fig.axes[0]
    edges = [t for t in ax.texts if t.get_gid() == "edge"]
    assert 0 < len(edges) < 172 and f"numbers on the {len(edges)} of 172 edges where they fit" in ax.get_title()
    boxes = [text.get_bbox_patch().get_window_extent(renderer) for text in edges]
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1:]), edges[i].get_text()
        nearest = np.hypot(np.clip(centres[:, 0], a.x0, a.x1) - centres[:, 0], np.clip(centres[:, 1], a.y0, a.y1)
                           - centres[:, 1])
        assert nearest.min() > radius, edges[i].get_text()
    shown = {t.get_text() for t in edges}
    for g in tr.grad_w:  # each gap's largest |∂L/∂w| has its number
        assert f"{g.reshape(-1)[np.argmax(np.abs(g))]:.3g}" in shown
    fig.clear()
    for example in bp.examples():  # the bundled examples keep every number, and their titles one line
        small = figure(bp.trace(bp.load_example(example)))
        assert "\n" not in small.axes[0].get_title()
        small.clear()
    for seed in range(8):  # 4 → 4 places every number edge by edge; largest first left one off in 7 of 8
        rng = np.random.default_rng(seed)
        net = bp.network_from_dict({"name": "four", "input": rng.normal(size=4).round(2).tolist(), "target": [0.0] * 4,
                                    "loss": "half_squared_error", "layers": [{
                                        "activation": "identity", "weights": rng.normal(0, 0.5, (4, 4)).round(2).tolist(),
                                        "biases": [0.1] * 4}]})
        small = figure(bp.trace(net, "layer"))
        assert sum(t.get_gid() == "edge" for t in small.axes[0].texts) == 16, seed
        small.clear()

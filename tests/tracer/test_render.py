"""The network figure: every number readable, inside its circle or beside its edge, and no warning."""

from __future__ import annotations

import io
import warnings

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

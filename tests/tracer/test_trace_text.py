"""The trace's lines read in the order and form a student writes them by hand."""

from __future__ import annotations

import pytest

from backproplab.lessons import backprop_trace as bp

pytestmark = pytest.mark.lessons


def _lines(example: str) -> list[str]:
    return [line.strip() for line in bp.format_text(bp.trace(bp.load_example(example))).splitlines()]


def _first(lines: list[str], start: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(start))


def test_a_softmax_layer_prints_all_its_s_before_its_a():
    """a₅ = e^s₅/(e^s₅ + e^s₆ + e^s₇) substitutes s₆ and s₇: they must already be on the page."""
    lines = _lines("softmax-cross-entropy")
    last_s = max(_first(lines, f"s{n} =") for n in "₅₆₇")
    assert last_s < min(_first(lines, f"a{n} =") for n in "₅₆₇")
    # the hidden tanh layer keeps the unit-by-unit order: s₃, a₃, s₄, a₄
    assert [_first(lines, f"{q} =") for q in ("s₃", "a₃", "s₄", "a₄")] == sorted(
        _first(lines, f"{q} =") for q in ("s₃", "a₃", "s₄", "a₄"))


def test_an_identity_unit_is_written_once_with_its_value():
    """a₉ = s₉ = (−0.295347) = −0.295347 repeated the number in parentheses."""
    tr = bp.trace(bp.load_example("tanh-two-hidden"))
    a9 = next(st for st in tr.steps if st.kind == "a" and st.symbol == "a₉")
    assert a9.text() == "a₉ = s₉ = −0.295347"
    assert a9.tex() == "a_{9} = s_{9} = -0.295347"


def test_leaky_relu_example_says_the_delta_is_1_percent_of_the_signal_from_above():
    """A leaky unit with s < 0 does not 'pass 1% of its delta back': its own δ is 0.01·Σ w·δ."""
    net = bp.load_example("leaky-relu")
    assert "of its delta" not in net.description and "of its delta" not in bp.describe_examples()
    assert "δ4 = 0.01·w64·δ6" in net.description
    tr = bp.trace(net)
    w64, delta6 = net.layers[1].W[1, 0], tr.delta[1][0]  # W[k-1, j-1] is w_jk
    assert tr.s[0][1] < 0 and tr.delta[0][1] == pytest.approx(0.01 * w64 * delta6, rel=1e-15)

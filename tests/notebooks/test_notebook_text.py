"""What the notebooks' text says matches what their lessons measured (read, not executed: quick)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.lessons

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _markdown(name: str, heading: str) -> str:
    """The text of the markdown cell of notebook ``name`` that starts with ``heading``."""
    cells = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))["cells"]
    found = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
             and "".join(c["source"]).startswith(heading)]
    assert len(found) == 1, (name, heading, len(found))
    return found[0]


def test_digits_zero_init_blames_w2_not_relu_prime_at_zero():
    """The cell said "With all weights zero, ReLU'(0) = 0 and the hidden layer never moves"; the lesson's
    claim measures the real reason: W2 = 0, so the delta reaching W1 is 0 whatever relu'(0) is."""
    text = _markdown("digits.ipynb", "## Zero initialisation")
    assert "ReLU'(0) = 0 and" not in text
    assert "$W_2$ stays 0" in text and "whatever relu'(0) is" in text
    assert r"(\delta W_2^\top) \odot \mathrm{relu}'(s)" in text  # the lesson's row convention


def test_digits_states_its_row_convention_where_it_first_multiplies():
    text = _markdown("digits.ipynb", "## Depth")
    assert text.index("[in, out]") < text.index("W = W_1 W_2 W_3")


def test_activations_dead_relus_says_only_first_layer_units_stay_dead():
    """The cell said a dead unit is never brought back by gradient descent; the lesson's figure shows the
    dead fraction over all ReLUs falling (0.61 shifted, 0.50 after training on): deeper units revive."""
    text = _markdown("activations.ipynb", "## Dead ReLUs")
    assert "gradient descent never brings it back" not in text
    assert "a dead first-layer unit never comes back" in text.lower()
    assert "deeper" in text and "fixed data" in text

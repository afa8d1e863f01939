"""Every checked and hand-marked item of the five assignments carries the course's points, as
CONTRACTS.md states them item by item (A: 18 + 14 + 10 = 42; B: 100; C: 42)."""

from __future__ import annotations

import pytest

from backproplab.check.api import assignments

POINTS = {
    "purdue-numpy-ann": {"1.1": 3, "1.2": 1, "1.3": 1, "1.4": 1, "1.5": 2, "1.6": 3, "1.7": 2, "1.8": 1, "1.9": 2,
                         "1.10": 2},
    "purdue-pytorch-ann": {"2.1": 3, "2.2": 1, "2.3": 5, "2.4": 1, "2.5": 1, "2.6": 2, "2.7": 1},
    "purdue-pytorch-cnn": {"3.1": 6, "3.2": 2, "3.3": 2},
    # B: 1.1 (10) and 1.2 (15) are marked together by hand as "1"; 3.1 carries 0 points
    "jku-a7": {"3.2a": 10, "3.2b": 10, "3.2c": 20, "3.3": 10, "1": 25, "2": 25},
    # C: 1.1g,h and 1.6e-k carry no points ("—"), 1.2 carries 0
    "radboud-a1": {"1.1a": 1, "1.3a": 1, "1.3b": 1, "1.3e": 1, "1.3f,g": 2, "1.4": 2, "1.5a": 2, "1.5b": 3, "1.6": 17,
                   "1.1b-f": 5, "1.3d": 1, "1.7": 6},
}
TOTALS = {"purdue-numpy-ann": 18, "purdue-pytorch-ann": 14, "purdue-pytorch-cnn": 10, "jku-a7": 100,
          "radboud-a1": 42}


@pytest.mark.parametrize("name", sorted(POINTS))
def test_each_item_carries_the_contracts_points(name):
    a = assignments()[name]
    found = {i.id: i.points for i in a.items} | {m.id: m.points for m in a.manual}
    assert found == POINTS[name]
    assert sum(found.values()) == TOTALS[name]

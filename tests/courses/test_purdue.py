"""backproplab.courses.purdue: the course's contract in one place, and its numbers hold."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab import scratch, torchnn
from backproplab.courses import purdue


def test_the_references_are_the_project_classes():
    assert purdue.NumpyANN is scratch.NumpyANN
    assert purdue.PyTorchANN is torchnn.PyTorchANN and purdue.PyTorchCNN is torchnn.PyTorchCNN
    assert set(purdue.__all__) <= set(dir(purdue))

def test_the_numbers_the_checks_use():
    assert sum(purdue.POINTS.values()) == 42
    assert sum(v for k, v in purdue.POINTS.items() if k.startswith("1.")) == 18
    assert sum(v for k, v in purdue.POINTS.items() if k.startswith("2.")) == 14
    assert sum(v for k, v in purdue.POINTS.items() if k.startswith("3.")) == 10
    assert purdue.NumpyANN(784, 128, 10, 0.1, 0).W1[0, 0] == pytest.approx(purdue.W1_00_SEED_0, abs=1e-9)
    model = purdue.PyTorchCNN(10, 0)
    assert sum(p.numel() for p in model.parameters()) == purdue.CNN_PARAMETERS
    assert purdue.JUDGEMENTS == ("underfitting", "overfitting", "generalizing")
    assert purdue.TARGETS == {"NumpyANN": 0.77, "PyTorchANN": 0.80, "PyTorchCNN": 0.85}

def test_one_row_cross_entropy_through_the_course_module():
    p = np.array([0.7, 0.2, 0.1])
    y = np.array([1.0, 0.0, 0.0])
    assert purdue.NumpyANN(4, 3, 3)._cross_entropy(y, p) == pytest.approx(-np.log(0.7) / 3, rel=1e-14)

"""The course's references the checker compares against (CONTRACTS.md part A), in one place.

Everything comes from :mod:`backproplab.courses.purdue`: the three reference classes, the verdict
rule behind ``report_my_judgement``, the points per item and the accuracy targets of a full run.
"""

from __future__ import annotations

from backproplab.courses import purdue


def numpy_ann():
    """The reference ``NumpyANN`` (A1)."""
    return purdue.NumpyANN


def pytorch_ann():
    """The reference ``PyTorchANN`` (A2)."""
    return purdue.PyTorchANN


def pytorch_cnn():
    """The reference ``PyTorchCNN`` (A3)."""
    return purdue.PyTorchCNN


def points(item_id: str) -> int:
    """The course's points for a contract item, e.g. ``points("1.6") == 3``."""
    for key, value in purdue.POINTS.items():
        if key.split(" ", 1)[0] == item_id:
            return value
    raise KeyError(f"no item {item_id!r} in the Purdue contract")


def target(cls: str) -> float:
    """The test accuracy a full Fashion-MNIST run of ``cls`` must reach (1.10, 2.6, 3.2)."""
    return purdue.TARGETS[cls]

"""The course's reference classes the checker compares against (CONTRACTS.md part A).

They are looked up in :mod:`backproplab.courses.purdue`, where the course's names live; where that
package is not present yet, the engines' own contract-exact classes are the same objects.
"""

from __future__ import annotations


def numpy_ann():
    """The reference ``NumpyANN`` (A1)."""
    try:
        from backproplab.courses.purdue import NumpyANN
    except ImportError:
        from backproplab.scratch.numpy_ann import NumpyANN
    return NumpyANN


def pytorch_ann():
    """The reference ``PyTorchANN`` (A2)."""
    try:
        from backproplab.courses.purdue import PyTorchANN
    except ImportError:
        from backproplab.torchnn.models import PyTorchANN
    return PyTorchANN


def pytorch_cnn():
    """The reference ``PyTorchCNN`` (A3)."""
    try:
        from backproplab.courses.purdue import PyTorchCNN
    except ImportError:
        from backproplab.torchnn.models import PyTorchCNN
    return PyTorchCNN

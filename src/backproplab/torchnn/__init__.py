"""PyTorch side: the course's reference models, a fast seeded training loop, probes and a fit verdict.

* :mod:`~backproplab.torchnn.models`: ``ANN_sigmoid``, ``ANN_relu``, ``PyTorchANN``, ``PyTorchCNN``, ``MLP``.
* :mod:`~backproplab.torchnn.train`: ``fit``, ``evaluate``; ``History`` and ``plot_history`` (from
  :mod:`backproplab.history`, the same class the NumPy engine returns).
* :mod:`~backproplab.torchnn.checkpoint`: atomic, safely loaded checkpoints that resume exactly.
* :mod:`~backproplab.torchnn.probes`: ``GradientMagnitudes``, ``ActivationStats``, ``DeadUnits``.
* :mod:`~backproplab.torchnn.diagnose`: ``diagnose(history) -> Verdict``.
* :mod:`~backproplab.torchnn.distributed`: what ``fit`` uses under ``torchrun`` (DDP).
"""

from backproplab.torchnn.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from backproplab.torchnn.diagnose import Verdict, diagnose
from backproplab.torchnn.models import MLP, ANN_relu, ANN_sigmoid, PyTorchANN, PyTorchCNN, seeded_init
from backproplab.torchnn.probes import ActivationStats, DeadUnits, GradientMagnitudes, Probe
from backproplab.torchnn.train import History, evaluate, fit, make_optimizer, plot_history, resolve_device

__all__ = [
    "ANN_relu", "ANN_sigmoid", "ActivationStats", "DeadUnits", "GradientMagnitudes", "History", "MLP",
    "Probe", "PyTorchANN", "PyTorchCNN", "Verdict", "diagnose", "evaluate", "fit", "load_checkpoint",
    "make_optimizer", "plot_history", "read_checkpoint", "resolve_device", "save_checkpoint", "seeded_init",
]

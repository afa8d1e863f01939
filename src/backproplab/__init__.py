"""backproplab: a lab for learning and teaching neural networks.

Engines: :mod:`backproplab.scratch` (NumPy, from first principles) and :mod:`backproplab.torchnn`
(PyTorch reference models). Data: :mod:`backproplab.data`. Lessons: :mod:`backproplab.lessons`.
"""

__version__ = "0.1.0"

"""backproplab: a lab for learning and teaching neural networks.

Engines: :mod:`backproplab.scratch` (NumPy, from first principles) and :mod:`backproplab.torchnn`
(PyTorch reference models). Data: :mod:`backproplab.data`. Lessons: :mod:`backproplab.lessons`.
"""

import os as _os

# OpenMP worker threads that busy-wait between torch operations steal the cores from the thread doing
# the work when other processes share the machine: one epoch of the course MLP on 2 cores beside two busy
# processes took 80-131 s with libgomp's default (active) waiting and 4-5 s with passive waiting
# (benchmarks/contention.py measures the whole quick reproduce). The policy is read once, when torch
# starts its OpenMP runtime, so it is chosen here, before any backproplab module imports torch; a policy
# the user set wins. (Importing torch before backproplab keeps libgomp's default.)
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

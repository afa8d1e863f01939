"""The bench's bounds, in a module that loads nothing heavy: the CLI's parser reads them for ``--rounds``
(``backproplab --help`` must not wait for torch) and :func:`~backproplab.bench.run_bench` holds a call
from Python to the same ones."""

MAX_ROUNDS = 10
"""The most rounds: each round repeats every workload (about 3 minutes on 2 CPU cores)."""
ROUNDS_WHY = "each round takes about 3 minutes on 2 CPU cores; more would run for hours"

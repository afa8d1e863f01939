"""``backproplab bench``: our training loops timed against the references doing the same work.

* :func:`run_bench` (``backproplab.bench.runner``): every workload and its reference, alternating,
  median of the rounds → ``(rows, meta)``.
* :mod:`~backproplab.bench.workloads`: the timed epochs, one copy each (the ``benchmarks/`` scripts
  call them too).
* :func:`to_markdown`, :func:`to_json` (``backproplab.bench.table``): the table.

    rows, meta = run_bench("cpu", quick=True)
    print(to_markdown(rows, meta))
"""

from __future__ import annotations

import importlib
from typing import Any

from backproplab.bench.limits import MAX_ROUNDS

# Loaded on first use, on purpose: the runner and the table import torch, and the CLI's parser imports
# this package for MAX_ROUNDS (``backproplab --help`` must not wait for torch).
_HOMES = {"BenchSizes": "runner", "FULL": "runner", "QUICK": "runner", "run_bench": "runner",
          "Row": "table", "check_json_path": "table", "to_json": "table", "to_markdown": "table"}

__all__ = ["BenchSizes", "FULL", "MAX_ROUNDS", "QUICK", "Row", "check_json_path", "run_bench", "to_json",
           "to_markdown"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

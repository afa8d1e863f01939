"""``backproplab bench``: our training loops timed against the references doing the same work.

* :func:`run_bench` (``backproplab.bench.runner``): every workload and its reference, alternating,
  median of the rounds → ``(rows, meta)``.
* :mod:`~backproplab.bench.workloads`: the timed epochs, one copy each (the ``benchmarks/`` scripts
  call them too).
* :func:`to_markdown`, :func:`to_json` (``backproplab.bench.table``): the table.

    rows, meta = run_bench("cpu", quick=True)
    print(to_markdown(rows, meta))
"""

from backproplab.bench.runner import FULL, QUICK, BenchSizes, run_bench
from backproplab.bench.table import Row, check_json_path, to_json, to_markdown

__all__ = ["BenchSizes", "FULL", "QUICK", "Row", "check_json_path", "run_bench", "to_json", "to_markdown"]

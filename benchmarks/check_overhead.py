"""How long ``backproplab check`` spends per submission outside the student's own work.

Prints, for each assignment, on the correct fixture submission:

* **overhead**: starting the child process and importing the libraries and the student's file
  (a check with a single trivial item, minus that item's own time);
* **non-training checks**: every item except the Fashion-MNIST runs, end to end (child start,
  probes, reference and comparison).

Each is given as wall-clock seconds and as CPU seconds (this process and the graded children):
on a machine shared with other work the CPU figure is the one that says what an idle machine takes.

Goals on 2 cores: overhead ≤ 3 s, non-training checks ≤ 5 s per file. Run:
``python benchmarks/check_overhead.py [--rounds 3]`` (about a minute).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from backproplab.check import check

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "check" / "fixtures"
CASES = {  # assignment: (fixture folder, the cheapest item, the non-training items)
    "purdue-numpy-ann": ("numpy_ann", "1.2", [f"1.{i}" for i in range(1, 10)]),
    "purdue-pytorch-ann": ("pytorch_ann", "2.4", ["2.1", "2.2", "2.3", "2.4", "2.5"]),
    "purdue-pytorch-cnn": ("pytorch_cnn", "3.1", ["3.1"]),
}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the graded child processes)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(assignment: str, folder: Path, items: list[str]) -> tuple[float, float, float]:
    """Wall seconds, the items' own seconds, and CPU seconds (a fair figure on a busy machine)."""
    start, cpu = time.perf_counter(), _cpu()
    result = check(assignment, folder, items=items)
    wall = time.perf_counter() - start
    assert result.lost() == [], f"{assignment}: the correct fixture lost {result.lost()}"
    return wall, sum(it.seconds for it in result.items), _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timings per row; the median is shown")
    args = parser.parse_args()
    check("purdue-numpy-ann", FIXTURES / "numpy_ann" / "correct", items=["1.2"])  # warm caches
    print("| assignment | overhead wall (s) | overhead CPU (s) | non-training wall (s) | non-training CPU (s) | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
    for assignment, (kind, cheap, items) in CASES.items():
        folder = FIXTURES / kind / "correct"
        runs = [_timed(assignment, folder, [cheap]) for _ in range(args.rounds)]
        overhead = statistics.median(w - own for w, own, _ in runs)
        overhead_cpu = statistics.median(c - own for _, own, c in runs)
        full = [_timed(assignment, folder, items) for _ in range(args.rounds)]
        checks, checks_cpu = statistics.median(w for w, _, _ in full), statistics.median(c for _, _, c in full)
        print(f"| {assignment} | {overhead:.2f} | {overhead_cpu:.2f} | {checks:.2f} | {checks_cpu:.2f} | ≤ 3 / ≤ 5 |")


if __name__ == "__main__":
    main()

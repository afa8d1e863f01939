"""How long ``backproplab check`` spends per submission outside the student's own work.

Prints, for each assignment, on the correct fixture submission:

* **overhead**: starting the child process and importing the libraries and the student's file
  (a check with a single trivial item, minus that item's own time);
* **non-training checks**: every item except the Fashion-MNIST runs, end to end (child start,
  probes, reference and comparison).

Goals on 2 cores: overhead ≤ 3 s, non-training checks ≤ 5 s per file. Run:
``python benchmarks/check_overhead.py [--rounds 3]`` (about a minute).
"""

from __future__ import annotations

import argparse
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


def _timed(assignment: str, folder: Path, items: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    result = check(assignment, folder, items=items)
    wall = time.perf_counter() - start
    assert result.lost() == [], f"{assignment}: the correct fixture lost {result.lost()}"
    return wall, sum(it.seconds for it in result.items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timings per row; the median is shown")
    args = parser.parse_args()
    check("purdue-numpy-ann", FIXTURES / "numpy_ann" / "correct", items=["1.2"])  # warm caches
    print("| assignment | overhead (s) | non-training checks (s) | goal |")
    print("| --- | --- | --- | --- |")
    for assignment, (kind, cheap, items) in CASES.items():
        folder = FIXTURES / kind / "correct"
        overhead = statistics.median(w - own for w, own in (_timed(assignment, folder, [cheap])
                                                            for _ in range(args.rounds)))
        checks = statistics.median(_timed(assignment, folder, items)[0] for _ in range(args.rounds))
        print(f"| {assignment} | {overhead:.2f} | {checks:.2f} | ≤ 3 / ≤ 5 |")


if __name__ == "__main__":
    main()

"""How long ``backproplab check`` spends per submission outside the student's own work.

Prints, for each assignment, on the reference solution (a correct submission, the one `check --init --solution` hands out):

* **overhead**: a check with a single trivial item, minus that item's own time: a child forked
  from the fork server (which imported NumPy/torch once), limits, guard, the student's import,
  reading back the result; and, once per checker run, the **fork server start** (the libraries'
  import: for torch, seconds);
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

from backproplab.check import check, runner
from backproplab.check.processes import close_fork_servers, fork_server
from backproplab.check.templates.purdue import SOLUTIONS

CASES = {  # assignment: (the cheapest item, the non-training items)
    "purdue-numpy-ann": ("1.2", [f"1.{i}" for i in range(1, 10)]),
    "purdue-pytorch-ann": ("2.4", ["2.1", "2.2", "2.3", "2.4", "2.5"]),
    "purdue-pytorch-cnn": (None, ["3.1"]),  # no cheap item; its children are the ANN's kind
}


def _cpu() -> float:
    """CPU seconds of this process (the references, the comparisons, the bookkeeping)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _timed(assignment: str, folder: Path, items: list[str]) -> tuple[float, float, float]:
    """Wall seconds, the items' own seconds, and CPU seconds of this process plus the graded child
    (a fair figure on a busy machine)."""
    start, cpu = time.perf_counter(), _cpu()
    result = check(assignment, folder, items=items)
    wall = time.perf_counter() - start
    assert result.lost() == [], f"{assignment}: the reference solution lost {result.lost()}"
    child_cpu = max(it.cpu for it in result.items)  # one child ran them all: its total
    return wall, sum(it.seconds for it in result.items), _cpu() - cpu + child_cpu


def _fork_server_start(probes: Path) -> float:
    close_fork_servers()
    start = time.perf_counter()
    fork_server(probes, 300.0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timings per row; the median is shown")
    args = parser.parse_args()
    check("purdue-numpy-ann", SOLUTIONS, items=["1.2"])  # the checker's own imports
    child = Path(runner.__file__).with_name("child")
    print("fork server start, once per checker run: NumPy children "
          f"{_fork_server_start(child / 'numpy_probes.py'):.2f} s, torch children "
          f"{_fork_server_start(child / 'torch_probes.py'):.2f} s (wall)")
    print("| assignment | overhead wall (s) | overhead CPU (s) | non-training checks wall (s) | "
          "non-training checks CPU (s) | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
    for assignment, (cheap, items) in CASES.items():
        folder = SOLUTIONS  # the reference solutions: a correct submission of each file
        _timed(assignment, folder, items)  # the parent's reference inputs for this assignment, once
        if cheap is None:
            overhead = "as above (one fork server) | as above"
        else:
            runs = [_timed(assignment, folder, [cheap]) for _ in range(args.rounds)]
            overhead = (f"{statistics.median(w - own for w, own, _ in runs):.2f} | "
                        f"{statistics.median(c for _, _, c in runs):.2f}")
        full = [_timed(assignment, folder, items) for _ in range(args.rounds)]
        checks, checks_cpu = statistics.median(w for w, _, _ in full), statistics.median(c for _, _, c in full)
        print(f"| {assignment} | {overhead} | {checks:.2f} | {checks_cpu:.2f} | ≤ 3 / ≤ 5 |")


if __name__ == "__main__":
    main()

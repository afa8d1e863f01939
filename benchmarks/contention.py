"""``reproduce --quick`` alone and beside busy processes on the same cores: how much slower does it get?

Run: ``python benchmarks/contention.py [--busy 2] [--also-active]``. Prints the wall time of a quick
reproduce on an otherwise quiet machine, then beside ``--busy`` processes that spin on the CPU, and the
ratio loaded / idle. A fair share of 2 cores with two busy neighbours is 2-3x slower; more than that
means our threads fight the neighbours instead of sharing with them.

``--also-active`` runs the loaded case a second time with ``OMP_WAIT_POLICY=ACTIVE`` (OpenMP worker
threads busy-wait between torch operations, libgomp's behaviour when nothing is set), to show the
cause: spinning workers steal the core from the thread doing the work. backproplab sets
``OMP_WAIT_POLICY=PASSIVE`` unless the user chose a policy (see ``backproplab/__init__.py``).

The load average before and after each run is printed beside it: other work on a shared machine
moves these numbers, so compare ratios from one run of this script, not across runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time


def _spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def _reproduce_quick(env_extra: dict[str, str]) -> float:
    out = tempfile.mkdtemp(prefix="contention-")
    env = {**os.environ, **env_extra}
    command = [sys.executable, "-m", "backproplab", "reproduce", "--quick", "--out", out]
    start = time.perf_counter()
    try:
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return time.perf_counter() - start


def _timed(label: str, busy: int, env_extra: dict[str, str]) -> float:
    spinners = [multiprocessing.Process(target=_spin, args=(time.time() + 3600,), daemon=True)
                for _ in range(busy)]
    for p in spinners:
        p.start()
    before = os.getloadavg()[0]
    try:
        seconds = _reproduce_quick(env_extra)
    finally:
        for p in spinners:
            p.terminate()
            p.join()
    print(f"{label:<44} {seconds:7.1f} s   load {before:4.1f} -> {os.getloadavg()[0]:4.1f}", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=2, help="busy processes beside the loaded run (default 2)")
    parser.add_argument("--also-active", action="store_true",
                        help="also time the loaded run with OMP_WAIT_POLICY=ACTIVE (the cause)")
    args = parser.parse_args()
    print(f"reproduce --quick on {os.cpu_count()} cores; the ratio is loaded / idle", flush=True)
    idle = _timed("idle", 0, {})
    loaded = _timed(f"beside {args.busy} busy processes", args.busy, {})
    print(f"ratio loaded / idle: {loaded / idle:.2f}x (goal <= 3x)")
    if args.also_active:
        active = _timed(f"beside {args.busy} busy, OMP_WAIT_POLICY=ACTIVE", args.busy,
                        {"OMP_WAIT_POLICY": "ACTIVE"})
        print(f"ratio active-wait loaded / idle: {active / idle:.2f}x")


if __name__ == "__main__":
    main()

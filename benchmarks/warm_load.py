"""Warm load of both Fashion-MNIST splits (target: under 2 s), against a cold load that re-hashes.

Run: ``python benchmarks/warm_load.py [--repeats 5]``. Prints seconds for each and their ratio.
"Cold" decompresses, header-checks and SHA-256-hashes every file (what the first load does and
what every load would do without the verified-array cache); "warm" is what a later load costs.
"""

from __future__ import annotations

import argparse
import statistics
import time

from backproplab.data import fashion_mnist as fm
from backproplab.data import load_fashion_mnist


def _cold_both() -> float:
    start = time.perf_counter()
    for split in fm.SPLITS:
        for name in fm.FILES[split]:
            path, _ = fm._locate(name, None, False, None, None, fm.Limits(), False)
            fm._load_verified(name, path, fm.SHA256[name], rehash=True)
    return time.perf_counter() - start


def _warm_both() -> float:
    start = time.perf_counter()
    for split in fm.SPLITS:
        load_fashion_mnist(split, download=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    _warm_both()  # make sure the verified arrays exist (the first load writes them)
    cold = statistics.median(_cold_both() for _ in range(max(1, args.repeats // 2)))
    warm = statistics.median(_warm_both() for _ in range(args.repeats))
    print(f"cold load of both splits (decompress + verify): {cold:.3f} s")
    print(f"warm load of both splits:                       {warm:.3f} s  (target < 2 s: "
          f"{'ok' if warm < 2.0 else 'MISSED'})")
    print(f"cold / warm ratio: {cold / warm:.1f}x")
    print(f"cache: {fm.cache_dir() / 'verified'}")


if __name__ == "__main__":
    main()

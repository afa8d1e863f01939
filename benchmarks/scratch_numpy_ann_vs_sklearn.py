"""One epoch of NumpyANN(784, 128, 10) vs scikit-learn's MLPClassifier((128,), batch_size=64, max_iter=1).

Both train one pass over the Fashion-MNIST training images (pixels / 255) in minibatches of 64
with a fresh shuffle, computing the loss of every batch; each timing includes building the model.
scikit-learn keeps float32 input in float32, so the comparison is made in float32 (NumpyANN with
``dtype=np.float32``) and in float64 (NumpyANN's default, the course's). Timings alternate between
the two so both see the same machine load; the ratios of the medians and of the fastest rounds
are printed (on a machine shared with other work the fastest round is the steadier figure).

Differences that favour scikit-learn's side of the "same work": none we know of. It uses Adam
(slightly more arithmetic per step than SGD) and validates its input once.

    python benchmarks/scratch_numpy_ann_vs_sklearn.py
    python benchmarks/scratch_numpy_ann_vs_sklearn.py --threads 2 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from threadpoolctl import threadpool_limits

from backproplab.bench.workloads import numpy_ann_epoch, sklearn_mlp_epoch
from backproplab.data import fashion_mnist_flat


def ours(X, y, dtype, seed) -> tuple[float, float]:
    """backproplab.bench.workloads.numpy_ann_epoch (building the model included): (seconds, train accuracy)."""
    run = numpy_ann_epoch(X, y, hidden=128, dtype=dtype, seed=seed)
    return run.seconds, run.train_acc


def sklearn(X, y, seed) -> tuple[float, float]:
    """backproplab.bench.workloads.sklearn_mlp_epoch (building the model included): (seconds, accuracy)."""
    run = sklearn_mlp_epoch(X, y, hidden=128, seed=seed)
    return run.seconds, float(run.model.score(X[:5000], y[:5000]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both (default 1)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="use the first N training images")
    args = parser.parse_args()
    X32, y = fashion_mnist_flat("train", limit=args.limit)
    X64 = X32.astype(np.float64)
    print(f"workload: {X32.shape[0]} images, batch 64, one epoch, BLAS threads {args.threads}")
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for name, X, dtype in (("float32", X32, np.float32), ("float64", X64, np.float64)):
            a, b = [], []
            for r in range(args.rounds):
                a.append(ours(X, y, dtype, r)[0])
                b.append(sklearn(X, y, r)[0])
                print(f"  {name} round {r}: NumpyANN {a[-1]:.2f} s, MLPClassifier {b[-1]:.2f} s")
            o, s = statistics.median(a), statistics.median(b)
            print(f"{name}: NumpyANN {o:.2f} s, MLPClassifier {s:.2f} s, ratio = {o / s:.2f}x of medians, "
                  f"{min(a) / min(b):.2f}x of fastest rounds (goal <= 1.0x)")  # fmt: skip


if __name__ == "__main__":
    main()

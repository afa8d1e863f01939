"""One epoch of the 784-512-1024-512-10 ReLU MLP, batch 64, float32: backproplab.scratch vs torch (CPU).

Same work on both sides, from the same initial weights: Fashion-MNIST training images (pixels / 255), a fresh permutation per
epoch, forward, softmax cross-entropy, backward, one plain SGD step per batch (lr 0.01), and the
epoch's mean loss and accuracy accumulated on the side. Timings alternate between the engines
(ours, torch, ours, torch, ...) so both see the same machine load; the ratios of the medians and
of the fastest rounds are printed, for each BLAS/torch thread count asked for.

    python benchmarks/scratch_mlp_vs_torch.py                 # full epoch, 1 and 2 threads, 2 rounds
    python benchmarks/scratch_mlp_vs_torch.py --batches 200   # a shorter run
"""

from __future__ import annotations

import argparse
import statistics

import torch
from threadpoolctl import threadpool_limits

from backproplab.bench.workloads import MLP_SIZES, scratch_mlp_epoch, torch_mlp_epoch
from backproplab.data import fashion_mnist_flat

SIZES = list(MLP_SIZES)


def ours_epoch(X, y, threads: int, seed: int) -> tuple[float, float]:
    """backproplab.bench.workloads.scratch_mlp_epoch: (seconds, running train accuracy)."""
    run = scratch_mlp_epoch(X, y, sizes=SIZES, threads=threads, seed=seed)
    return run.seconds, run.train_acc


def torch_epoch(X: torch.Tensor, y: torch.Tensor, threads: int, seed: int) -> tuple[float, float]:
    """backproplab.bench.workloads.torch_mlp_epoch (same He weights): (seconds, running train accuracy)."""
    run = torch_mlp_epoch(X, y, sizes=SIZES, threads=threads, seed=seed)
    return run.seconds, run.train_acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=None, help="train on the first N*64 images only")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts to measure")
    parser.add_argument("--rounds", type=int, default=2, help="alternating timings per engine")
    args = parser.parse_args()

    X, y = fashion_mnist_flat("train")
    if args.batches:
        X, y = X[: args.batches * 64], y[: args.batches * 64]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    print(
        f"workload: {X.shape[0]} images, {-(-X.shape[0] // 64)} batches of 64, MLP {SIZES}, float32, SGD lr 0.01"
    )
    for threads in (int(t) for t in args.threads.split(",")):
        ours, theirs = [], []
        with threadpool_limits(limits=threads, user_api="blas"):
            for r in range(args.rounds):
                t, acc_o = ours_epoch(X, y, threads, seed=r)
                ours.append(t)
                t, acc_t = torch_epoch(Xt, yt, threads, seed=r)
                theirs.append(t)
                print(f"  threads {threads} round {r}: ours {ours[-1]:.2f} s (acc {acc_o:.3f}), "
                      f"torch {theirs[-1]:.2f} s (acc {acc_t:.3f})")  # fmt: skip
        o, t = statistics.median(ours), statistics.median(theirs)
        print(
            f"threads {threads}: ours {o:.2f} s, torch {t:.2f} s, ratio ours/torch = {o / t:.2f}x of medians, "
            f"{min(ours) / min(theirs):.2f}x of fastest rounds (goal <= 1.2x)"
        )


if __name__ == "__main__":
    main()

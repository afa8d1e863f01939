"""Acceptance run: NumpyANN(784, 128, 10, lr=0.1, seed=0) on Fashion-MNIST, batch 64, 10 epochs.

Pixels / 255 (float32 from ``fashion_mnist_flat``; the model computes in its own dtype, float64 by
default as in the course). Prints the test accuracy after every epoch, the first epoch reaching
0.85, the final figure and the wall time.

    python benchmarks/scratch_fashion_numpy_ann.py
    python benchmarks/scratch_fashion_numpy_ann.py --dtype float32 --threads 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from backproplab.data import fashion_mnist_flat
from backproplab.scratch import NumpyANN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args()
    X, y = fashion_mnist_flat("train")
    Xt, yt = fashion_mnist_flat("test")
    model = NumpyANN(784, 128, 10, lr=0.1, seed=0, dtype=np.dtype(args.dtype))
    start = time.perf_counter()
    history = model.train(X, y, Xt, yt, epochs=args.epochs, batch_size=64, blas_threads=args.threads)
    elapsed = time.perf_counter() - start
    for epoch, (loss, acc) in enumerate(zip(history["train_loss"], history["val_acc"], strict=True), 1):
        print(f"epoch {epoch:2d}: train loss {loss:.4f}, test accuracy {acc:.4f}")
    first = next((i + 1 for i, a in enumerate(history["val_acc"]) if a >= 0.85), None)
    final = model.accuracy(Xt, yt)
    print(
        f"NumpyANN(784,128,10,lr=0.1,seed=0) {args.dtype}: test accuracy after {args.epochs} epochs {final:.4f}, "
        f"best {max(history['val_acc']):.4f}, first >= 0.85 at epoch {first}; "
        f"{elapsed:.1f} s ({elapsed / args.epochs:.1f} s/epoch, evaluation included, BLAS threads {args.threads})"
    )


if __name__ == "__main__":
    main()

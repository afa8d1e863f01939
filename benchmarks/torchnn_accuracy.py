"""Full training runs on Fashion-MNIST that check the course models' accuracy targets.

    python benchmarks/torchnn_accuracy.py course      # ANN_relu vs ANN_sigmoid, one epoch (issue 5)
    python benchmarks/torchnn_accuracy.py ann         # PyTorchANN(784, 128, 10) ≥ 0.86 test accuracy
    python benchmarks/torchnn_accuracy.py cnn --epochs 5 --final-epochs 1 --checkpoint cnn.pt  # PyTorchCNN ≥ 0.91

``course``: one epoch, SGD lr 0.01 momentum 0.5, batch 64, ``torch.manual_seed(66)`` before each
model, batch order from ``fit``'s seeded permutation (seed 66; ``--order dataloader``: a
``DataLoader(shuffle=True)`` right after the seeded construction), mean |grad| of the first three Linear
layers recorded per batch (938 records a layer). Prints test accuracy, the number of records, the
first layer's mean |grad| for each network and their ratio.

``ann``/``cnn``: train on 55000 training images, validate on the other 5000 each epoch, then report
test accuracy on the 10000 test images and the fit verdict. ``--checkpoint`` with ``--resume``
continues an interrupted run.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from backproplab.data import fashion_mnist_tensors
from backproplab.torchnn import (
    ANN_relu,
    ANN_sigmoid,
    GradientMagnitudes,
    PyTorchANN,
    PyTorchCNN,
    diagnose,
    evaluate,
    fit,
)


def course(args) -> dict:
    X, y = fashion_mnist_tensors("train")
    Xt, yt = fashion_mnist_tensors("test")
    out = {}
    for cls in (ANN_relu, ANN_sigmoid):
        torch.manual_seed(66)
        model = cls(784, 10)
        probe = GradientMagnitudes(layers=3)
        t0 = time.perf_counter()
        if args.order == "fit":
            hist = fit(model, (X, y), epochs=1, batch_size=64, lr=0.01, momentum=0.5, seed=66, probes=[probe],
                       device=args.device, progress=args.progress)
            rec = hist.probes["grad_magnitudes"]
        else:
            rec = _dataloader_epoch(model, X, y, probe)
        seconds = time.perf_counter() - t0
        _, acc = evaluate(model, Xt, yt)
        g = {k: sum(v) / len(v) for k, v in rec.items()}
        out[cls.__name__] = {"test_acc": acc, "records": {k: len(v) for k, v in rec.items()},
                             "mean_abs_grad": g, "seconds": seconds}
        print(f"{cls.__name__}: test acc {acc:.4f}, records/layer {[len(v) for v in rec.values()]}, "
              f"mean |grad| fc1 {g['fc1']:.3e} fc2 {g['fc2']:.3e} fc3 {g['fc3']:.3e} ({seconds:.1f} s)",
              flush=True)
    ratio = out["ANN_relu"]["mean_abs_grad"]["fc1"] / out["ANN_sigmoid"]["mean_abs_grad"]["fc1"]
    out["fc1_grad_ratio_relu_over_sigmoid"] = ratio
    print(f"first-layer mean |grad|: ReLU / sigmoid = {ratio:.1f}×")
    print(f"targets: ANN_relu ≥ 0.80 -> {out['ANN_relu']['test_acc'] >= 0.80}; "
          f"ANN_sigmoid ≤ 0.40 -> {out['ANN_sigmoid']['test_acc'] <= 0.40}")
    return out


def _dataloader_epoch(model, X, y, probe) -> dict[str, list[float]]:
    """The course's batch order: DataLoader(shuffle=True) drawing its seed from the global RNG right
    after the seeded construction; the probe used standalone (CPU)."""
    from torch.utils.data import DataLoader, TensorDataset

    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    probe.attach(model)
    for xb, yb in DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    probe.remove()
    return probe.records


def full_run(args) -> dict:
    X, y = fashion_mnist_tensors("train")
    Xt, yt = fashion_mnist_tensors("test")
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    tr, va = perm[:-5000], perm[-5000:]
    if args.model == "ann":
        model, target = PyTorchANN(784, 128, 10, seed=args.seed), 0.86
        epochs = args.epochs or 10
    else:
        model, target = PyTorchCNN(num_classes=10, seed=args.seed), 0.91
        epochs = args.epochs or 4
    schedule = None
    if args.final_epochs:
        drop_at, factor = epochs - args.final_epochs, args.final_lr / args.lr

        def schedule(epoch: int) -> float:
            return factor if epoch >= drop_at else 1.0
    t0 = time.perf_counter()
    hist = fit(model, (X[tr], y[tr]), (X[va], y[va]), epochs=epochs, batch_size=args.batch_size,
               optimizer="adam", lr=args.lr, seed=args.seed, device=args.device, progress=args.progress,
               checkpoint=args.checkpoint, resume=args.resume, lr_schedule=schedule)
    seconds = time.perf_counter() - t0
    model.history = hist
    loss, acc = evaluate(model, Xt, yt)
    verdict = diagnose(hist)
    print(f"{type(model).__name__}: {epochs} epochs, batch {args.batch_size}, Adam lr {args.lr} "
          f"(last {args.final_epochs} at {args.final_lr if args.final_epochs else args.lr}): "
          f"test acc {acc:.4f} (target ≥ {target}: {acc >= target}), test loss {loss:.4f}; "
          f"{seconds:.0f} s total, per epoch {[round(t, 1) for t in hist.epoch_time]}")
    print(f"verdict: {verdict}")
    return {"model": type(model).__name__, "test_acc": acc, "test_loss": loss, "target": target,
            "epochs": epochs, "seconds": seconds, "history": hist.to_dict(), "verdict": str(verdict)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=["course", "ann", "cnn"])
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--order", choices=["fit", "dataloader"], default="fit",
                    help="course: batch order from fit's seeded permutation, or the course's DataLoader")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--final-epochs", type=int, default=0, help="train the last K epochs at --final-lr")
    ap.add_argument("--final-lr", type=float, default=1e-4)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--no-progress", dest="progress", action="store_false")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = course(args) if args.model == "course" else full_run(args)
    if args.json:
        from backproplab.files import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()

"""One epoch of ANN_relu with per-batch gradient recording, four ways, timed in one run.

1. course loop: what the course's notebook does: torchvision's FashionMNIST with ``ToTensor()`` and
   ``Normalize`` (per item: uint8 image -> PIL image -> float tensor -> normalised, written out in
   ``backproplab.bench.workloads.CourseFashionMNIST``), ``DataLoader(shuffle=True)``, ``.item()`` on
   each of the first three layers' mean |grad| after every batch;
2. item loop: the same loop shape over an already normalised tensor (per-item ``Dataset``,
   ``DataLoader``, ``.item()``), without the per-item transforms;
3. plain loop: the whole dataset as one tensor, a seeded permutation, slices, the three mean |grad|
   values kept as device tensors and read once at the end;
4. ``backproplab.torchnn.fit`` with ``GradientMagnitudes(layers=3)``.

All four train the same ANN_relu (``torch.manual_seed(66)``), one epoch, batch 64, SGD lr 0.01
momentum 0.5, on the same data. The loops run in rotating order for ``--rounds`` rounds (the machine
may be shared: the median per loop is what the ratios use). Goals on CPU: ``fit`` within 10 % of the
plain loop, and at least 1.3× faster than the course loop.

    python benchmarks/torchnn_fit_loop.py [--rounds 3] [--limit N] [--device auto] [--threads T]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from backproplab.bench import workloads
from backproplab.data import fashion_mnist_tensors, load_fashion_mnist
from backproplab.torchnn import ANN_relu, evaluate, fit, resolve_device

BATCH, LR, MOMENTUM, SEED = (workloads.ANN_BATCH, workloads.ANN_LR, workloads.ANN_MOMENTUM,
                             workloads.ANN_SEED)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    X, y = fashion_mnist_tensors("train", limit=args.limit)
    Xt, yt = fashion_mnist_tensors("test")
    images = torch.from_numpy(load_fashion_mnist("train")[0][:len(X)])  # raw uint8, for the course loop
    loops = {"course loop (PIL, ToTensor, Normalize per item; DataLoader; .item())":
             lambda: workloads.course_loop(images, y, device),
             "item loop (normalised tensor; DataLoader; .item())": lambda: workloads.item_loop(X, y, device),
             "plain tensor loop": lambda: workloads.plain_loop(X, y, device),
             "fit + GradientMagnitudes": lambda: workloads.fit_loop(X, y, device)}
    names = list(loops)
    # warm-up: first optimizer construction imports torch._dynamo; first kernels allocate
    fit(ANN_relu(784, 10), (X[:256], y[:256]), epochs=1, batch_size=BATCH, device=device, progress=False)
    times: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    info: dict[str, tuple[float, int, float]] = {}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            c0 = time.process_time()
            run = loops[name]()
            elapsed, model, grads = run.seconds, run.model, run.grads
            cpu[name].append(time.process_time() - c0)
            times[name].append(elapsed)
            if name not in info:
                _, acc = evaluate(model, Xt, yt)
                info[name] = (acc, len(grads[0]), sum(grads[0]) / len(grads[0]))
        print(f"round {r + 1}: " + ", ".join(f"{n.split(' (')[0]} {times[n][-1]:.2f} s" for n in names),
              flush=True)
    med = {n: statistics.median(times[n]) for n in names}
    print(f"\nANN_relu, one epoch on {len(X)} images, batch {BATCH}, SGD lr {LR} momentum {MOMENTUM}, "
          f"device {device}, torch threads {torch.get_num_threads()}, {args.rounds} rounds")
    med_cpu = {n: statistics.median(cpu[n]) for n in names}
    print("| loop | median wall s/epoch | min wall s | median CPU s | test acc | grad records/layer | mean abs grad fc1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in names:
        acc, count, g1 = info[n]
        print(f"| {n} | {med[n]:.2f} | {min(times[n]):.2f} | {med_cpu[n]:.2f} | {acc:.4f} | {count} | {g1:.3e} |")
    result = {}
    for label, table in (("wall", med), ("cpu", med_cpu)):
        course, item, plain, ours = (table[n] for n in names)
        result[label] = {"fit_vs_plain": ours / plain, "course_vs_fit": course / ours,
                         "course_vs_plain": course / plain, "item_vs_fit": item / ours}
        r = result[label]
        print(f"\n[{label} time] fit / plain loop = {r['fit_vs_plain']:.3f} (goal ≤ 1.10); "
              f"course loop / fit = {r['course_vs_fit']:.2f}× (goal ≥ 1.3× CPU, ≥ 2.5× GPU); "
              f"course / plain = {r['course_vs_plain']:.2f}×; item loop / fit = {r['item_vs_fit']:.2f}×")
    print("\n(CPU time is process time of all threads: on a shared machine it is the steadier measure.)")
    return result


if __name__ == "__main__":
    main()

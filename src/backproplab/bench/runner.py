"""``run_bench``: time every workload against its reference and build the table's rows."""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from backproplab.bench import workloads as W
from backproplab.bench.limits import MAX_ROUNDS, ROUNDS_WHY
from backproplab.bench.table import Row
from backproplab.checks import count_up_to
from backproplab.threads import check_threads

__all__ = ["BenchSizes", "FULL", "QUICK", "run_bench"]


@dataclass(frozen=True)
class BenchSizes:
    """Training images per workload (the first N of the training split) and the scaling series."""

    mlp: int
    ann: int
    loops: int
    cnn: int
    scale_batch: int
    scale_width: int
    test: int
    batch_sizes: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024)
    widths: tuple[int, ...] = (128, 256, 512, 1024)


FULL = BenchSizes(mlp=60_000, ann=60_000, loops=20_000, cnn=10_000, scale_batch=10_000, scale_width=20_000,
                  test=10_000)
"""The default run: full epochs for the two engine comparisons, subsets for the expensive rows."""

QUICK = BenchSizes(mlp=512, ann=512, loops=512, cnn=128, scale_batch=256, scale_width=256, test=500)
"""``--quick``: every row, on a few hundred images (seconds; for tests, not for figures)."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _call(fn: Callable[[], W.Run]) -> tuple[W.Run, float]:
    """``fn()`` and the process CPU seconds of the whole call (all threads; model building included)."""
    c0 = time.process_time()
    run = fn()
    return run, time.process_time() - c0


def _pair(ours: Callable[[], W.Run], reference: Callable[[], W.Run], rounds: int
          ) -> tuple[tuple[float, float, float, float], W.Run, W.Run]:
    """Alternate ``ours``/``reference`` for ``rounds`` rounds.

    Returns ``((ours wall, reference wall, ours CPU, reference CPU) medians, ours' first run,
    the reference's first run)``.
    """
    a, b, ac, bc, first_a, first_b = [], [], [], [], None, None
    for _ in range(rounds):
        ra, ca = _call(ours)
        rb, cb = _call(reference)
        a.append(ra.seconds)
        b.append(rb.seconds)
        ac.append(ca)
        bc.append(cb)
        first_a, first_b = first_a or ra, first_b or rb
    med = statistics.median
    return (med(a), med(b), med(ac), med(bc)), first_a, first_b


def run_bench(device: str | torch.device = "cpu", *, quick: bool = False, threads: int | None = 1,
              rounds: int = 1, seed: int = 0, sizes: BenchSizes | None = None,
              log: Callable[[str], None] | None = _stderr) -> tuple[list[Row], dict[str, Any]]:
    """Run every workload and its reference once per round; return ``(rows, meta)``.

    Parameters
    ----------
    device : "cpu", "cuda", "auto" or a torch.device
        Where the torch-side workloads (``fit`` and its loops, ``PyTorchCNN``) run. The NumPy engine,
        scikit-learn and the torch reference of the engine rows always run on the CPU.
    quick : bool
        Use :data:`QUICK` sizes (every row, tiny subsets) instead of :data:`FULL`.
    threads : int or None
        BLAS and torch intra-op threads for both sides (None: leave the libraries' defaults).
    rounds : int
        Timings per side, alternating ours/reference, 1 to :data:`~backproplab.bench.limits.MAX_ROUNDS`;
        the table shows the median.
    seed : int
        Seed of the engine rows' weights and batch orders.
    sizes : BenchSizes, optional
        Overrides ``quick``.
    log : callable(str) or None
        Progress lines (default: stderr).

    Returns
    -------
    rows : list of :class:`~backproplab.bench.table.Row`
    meta : dict (device, threads, rounds, seed, sizes, versions, total seconds)

    Raises
    ------
    InputError for a device that is not here (e.g. ``"cuda"`` without a GPU) or bad arguments.
    """
    from threadpoolctl import threadpool_limits

    from backproplab.torchnn import resolve_device

    dev = resolve_device(device)
    rounds = count_up_to("rounds", rounds, MAX_ROUNDS, ROUNDS_WHY)
    check_threads(threads)
    sz = sizes or (QUICK if quick else FULL)
    t_start = time.perf_counter()
    load_start = _load_average()
    old_threads = torch.get_num_threads()
    bench = _Bench(_load_data(sz), sz, dev, threads, rounds, seed, log or (lambda _m: None), t_start)
    rows: list[Row] = []
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api="blas") if threads is not None else contextlib.nullcontext():
            W.warm_up(dev)
            if dev.type != "cpu":
                W.warm_up(torch.device("cpu"))
            rows.append(_engine_comparison(bench))
            rows.append(_ann_comparison(bench))
            rows.extend(_loop_comparison(bench))
            rows.append(_cnn_comparison(bench))
            rows.extend(_scaling(bench))
    finally:
        torch.set_num_threads(old_threads)

    total = time.perf_counter() - t_start
    bench.step("done")
    meta = {
        "device": str(dev), "threads": threads, "rounds": rounds, "seed": seed, "quick": bool(quick and sizes is None),
        "sizes": {k: (list(v) if isinstance(v, tuple) else v) for k, v in sz.__dict__.items()},
        "test_samples": sz.test, "total_s": total, "python": platform.python_version(),
        "numpy": np.__version__, "torch": torch.__version__, "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "load_average_1min": [load_start, _load_average()],
    }
    return rows, meta


@dataclass(frozen=True)
class _Data:
    """The Fashion-MNIST slices every workload draws from: flat NumPy, flat torch, image tensors."""

    Xf: np.ndarray  # [n_train, 784] float32 in [0, 1]
    yf: np.ndarray  # [n_train] int64
    Xf_test: np.ndarray
    yf_test: np.ndarray
    Xf_t: torch.Tensor  # Xf, yf as tensors (shared memory)
    yf_t: torch.Tensor
    Xt: torch.Tensor  # [n_train, 1, 28, 28] float32, normalised
    yt: torch.Tensor
    Xt_test: torch.Tensor
    yt_test: torch.Tensor
    raw_images: torch.Tensor  # [sizes.loops, 28, 28] uint8, for the course loop


def _load_data(sz: BenchSizes) -> _Data:
    from backproplab.data import fashion_mnist_flat, fashion_mnist_tensors, load_fashion_mnist

    n_train = max(sz.mlp, sz.ann, sz.loops, sz.cnn, sz.scale_batch, sz.scale_width)
    Xf, yf = fashion_mnist_flat("train", limit=n_train)
    Xf_test, yf_test = fashion_mnist_flat("test", limit=sz.test)
    Xt, yt = fashion_mnist_tensors("train", limit=n_train)
    Xt_test, yt_test = fashion_mnist_tensors("test", limit=sz.test)
    raw_images = torch.from_numpy(load_fashion_mnist("train")[0][:sz.loops])  # uint8, for the course loop
    return _Data(Xf, yf, Xf_test, yf_test, torch.from_numpy(Xf), torch.from_numpy(yf), Xt, yt, Xt_test, yt_test,
                 raw_images)


@dataclass(frozen=True)
class _Bench:
    """What every part of a bench run shares: the data, the sizes and the run's settings."""

    data: _Data
    sz: BenchSizes
    dev: torch.device
    threads: int | None
    rounds: int
    seed: int
    say: Callable[[str], None]
    t_start: float

    def step(self, name: str) -> None:
        self.say(f"[bench {time.perf_counter() - self.t_start:6.1f} s] {name}")

    def flat_acc(self, run: W.Run) -> float:
        return W.test_accuracy(run.model, self.data.Xf_test, self.data.yf_test)

    def image_acc(self, run: W.Run) -> float:
        return W.test_accuracy(run.model, self.data.Xt_test, self.data.yt_test)


def _engine_row(b: _Bench, group: str, workload: str, n: int, layers: Sequence[int], batch: int) -> Row:
    """The NumPy engine's ``scratch.fit`` against the same MLP in a torch CPU loop."""
    d = b.data
    X, y, Xtt, ytt = d.Xf[:n], d.yf[:n], d.Xf_t[:n], d.yf_t[:n]
    t, ro, rr = _pair(
        lambda: W.scratch_mlp_epoch(X, y, sizes=layers, batch_size=batch, threads=b.threads, seed=b.seed),
        lambda: W.torch_mlp_epoch(Xtt, ytt, sizes=layers, batch_size=batch, threads=b.threads, seed=b.seed),
        b.rounds)
    return Row(group, workload, n, "NumPy engine (scratch.fit)", "torch CPU loop", t[0], t[1],
               b.flat_acc(ro), b.flat_acc(rr), "same He weights, SGD lr 0.01, float32", t[2], t[3])


def _mlp_name() -> str:
    return "-".join(map(str, W.MLP_SIZES))


def _engine_comparison(b: _Bench) -> Row:
    mlp = _mlp_name()
    b.step(f"NumPy engine vs torch CPU: MLP {mlp}, batch 64, {b.sz.mlp} images")
    return _engine_row(b, "engine", f"MLP {mlp} ReLU, 1 epoch, batch 64", b.sz.mlp, W.MLP_SIZES, 64)


def _ann_comparison(b: _Bench) -> Row:
    n, d = b.sz.ann, b.data
    b.step(f"NumpyANN vs MLPClassifier: 784-128-10, batch 64, {n} images")
    t, ro, rr = _pair(lambda: W.numpy_ann_epoch(d.Xf[:n], d.yf[:n], hidden=128, seed=b.seed),
                      lambda: W.sklearn_mlp_epoch(d.Xf[:n], d.yf[:n], hidden=128, seed=b.seed),
                      b.rounds)
    return Row("ann", "NumpyANN(784,128,10) vs MLPClassifier((128,)), 1 epoch, batch 64", n,
               "NumpyANN float32 (SGD lr 0.1)", "sklearn MLPClassifier (Adam)", t[0], t[1],
               b.flat_acc(ro), b.flat_acc(rr), "times include building the model", t[2], t[3])


def _loop_comparison(b: _Bench) -> list[Row]:
    """``torchnn.fit`` against a plain loop, the course's loop and a per-item loop (rotating order)."""
    n, d, dev = b.sz.loops, b.data, b.dev
    b.step(f"ANN_relu with gradient recording: fit, plain loop, course loop, item loop on {n} images ({dev})")
    loops = {"fit": lambda: W.fit_loop(d.Xt[:n], d.yt[:n], dev),
             "plain": lambda: W.plain_loop(d.Xt[:n], d.yt[:n], dev),
             "course": lambda: W.course_loop(d.raw_images[:n], d.yt[:n], dev),
             "item": lambda: W.item_loop(d.Xt[:n], d.yt[:n], dev)}
    times: dict[str, list[float]] = {k: [] for k in loops}
    cpu: dict[str, list[float]] = {k: [] for k in loops}
    runs: dict[str, W.Run] = {}
    names = list(loops)
    for rnd in range(b.rounds):
        k = rnd % len(names)
        for name in names[k:] + names[:k]:
            run, c = _call(loops[name])
            times[name].append(run.seconds)
            cpu[name].append(c)
            runs.setdefault(name, run)
    med = {k: statistics.median(v) for k, v in times.items()}
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    accs = {k: b.image_acc(runs[k]) for k in loops}
    work = "ANN_relu + per-batch mean abs grad of 3 layers, 1 epoch, batch 64"
    return [
        Row("loops", work, n, "backproplab.torchnn.fit", "plain in-memory tensor loop",
            med["fit"], med["plain"], accs["fit"], accs["plain"], f"device {dev}, SGD momentum 0.5",
            mcpu["fit"], mcpu["plain"]),
        Row("loops", work, n, "backproplab.torchnn.fit",
            "course loop (torchvision-style per-item PIL, ToTensor, Normalize + DataLoader)",
            med["fit"], med["course"], accs["fit"], accs["course"],
            f"device {dev}; fit time is the same measurement as the row above", mcpu["fit"], mcpu["course"]),
        Row("loops", work, n, "backproplab.torchnn.fit",
            "item loop (per-item Dataset over a normalised tensor + DataLoader)",
            med["fit"], med["item"], accs["fit"], accs["item"],
            f"device {dev}; the course's loop shape without its per-item transforms", mcpu["fit"], mcpu["item"]),
    ]


def _cnn_comparison(b: _Bench) -> Row:
    n, d, dev = b.sz.cnn, b.data, b.dev
    b.step(f"PyTorchCNN: fit vs plain loop on {n} images ({dev})")
    t, ro, rr = _pair(lambda: W.cnn_fit_epoch(d.Xt[:n], d.yt[:n], dev, seed=b.seed),
                      lambda: W.cnn_plain_epoch(d.Xt[:n], d.yt[:n], dev, seed=b.seed), b.rounds)
    return Row("cnn", "PyTorchCNN, 1 epoch, batch 64, Adam lr 1e-3", n, "backproplab.torchnn.fit",
               "plain in-memory tensor loop", t[0], t[1], b.image_acc(ro), b.image_acc(rr), f"device {dev}",
               t[2], t[3])


def _scaling(b: _Bench) -> list[Row]:
    """The engine row again over batch sizes, then over hidden widths."""
    mlp, rows = _mlp_name(), []
    for size in b.sz.batch_sizes:
        b.step(f"scaling: batch {size}, MLP {mlp}, {b.sz.scale_batch} images")
        rows.append(_engine_row(b, "scale-batch", f"scaling: MLP {mlp}, batch {size}", b.sz.scale_batch,
                                W.MLP_SIZES, size))
    for w in b.sz.widths:
        b.step(f"scaling: width {w}, MLP 784-{w}-10, {b.sz.scale_width} images")
        rows.append(_engine_row(b, "scale-width", f"scaling: MLP 784-{w}-10 (ANN-like), batch 64",
                                b.sz.scale_width, (784, w, 10), 64))
    return rows


def _load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): how shared the machine was."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None

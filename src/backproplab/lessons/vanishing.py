"""Vanishing gradients: the course's deep sigmoid and ReLU networks after one epoch.

``ANN_sigmoid`` and ``ANN_relu`` (784→512→1024→512→10, PyTorch's default initialisation) are built
after ``torch.manual_seed(66)`` and trained for one epoch on Fashion-MNIST by the course's own
functions, :func:`backproplab.courses.jku.train_and_test` with its ``train`` and ``test``: SGD with
learning rate 0.01 and momentum 0.5, batches of 64, the mean absolute gradient of each of the first
three Linear layers' weights recorded after every batch.

The course then asks which of five statements are true. This lesson does not answer from memory:
each statement is judged from a measurement, and the measurement is a claim.

(a) The sigmoid network performs poorly after one epoch — its test accuracy against 0.40.
(b) The sigmoid network's mean gradient magnitudes are significantly higher for *lower* layers,
    indicating vanishing gradients — the measured ratio first layer / third layer. Vanishing
    gradients means the layers near the input get *smaller* gradients, so if the ratio is below 1 the
    statement, as worded, is false.
(c) The sigmoid's derivative never exceeds 1/4 — its maximum, from autograd on a dense grid and on
    the trained network's own pre-activations.
(d) The ReLU network does much better than the sigmoid one after one epoch — the accuracy gap.
(e) Other activations train more stably because their derivatives are always larger than 1 — the
    smallest and largest derivative of ReLU, leaky ReLU, tanh, ELU and GELU (from autograd).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from backproplab.checks import check_seed
from backproplab.data import fashion_mnist_tensors, stratified_subset
from backproplab.errors import InputError
from backproplab.lessons.result import Claim, LessonResult

# Lazy imports, on purpose: torch, matplotlib, sklearn/scipy and the modules that load torch
# (backproplab.torchnn, backproplab.courses) are imported inside the functions that use them, so that
# importing this module (the CLI imports every lesson to list them) does not load torch.

NAME = "vanishing"
TITLE = "Vanishing gradients: a deep sigmoid network against a ReLU one, five statements judged"
ORDER = 70

__all__ = ["train_one_epoch", "derivative_range", "add_arguments", "run"]

#: The course's settings.
COURSE_SEED = 66
LR = 0.01
MOMENTUM = 0.5
BATCH = 64
#: Training images in --quick (a stratified subset); the full run uses all 60,000.
QUICK_TRAIN = 12000

#: Bounds of the claims (the same in both sizes; see ``run``'s params for the measured values).
POOR_ACCURACY = 0.40          # (a): "performs poorly" means at most this test accuracy
MUCH_BETTER = 0.30            # (d): "much better" means at least this many points of accuracy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The lesson's own option: the device of the two networks."""
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="device for the two networks (default auto)")


def _load(quick: bool, seed: int):
    X, y = fashion_mnist_tensors("train")
    Xt, yt = fashion_mnist_tensors("test")
    if quick:
        import torch

        idx = torch.from_numpy(stratified_subset(y, QUICK_TRAIN, seed))
        X, y = X[idx], y[idx]
    return X, y, Xt, yt


def train_one_epoch(kind: str, X, y, Xt, yt, device: str = "auto", seed: int = COURSE_SEED):
    """Build ``ANN_sigmoid`` or ``ANN_relu`` after ``torch.manual_seed(seed)``; one epoch of the course's
    :func:`backproplab.courses.jku.train_and_test` (SGD lr 0.01, momentum 0.5, batches of 64).

    Parameters
    ----------
    kind : {"sigmoid", "relu"}
    X : tensor [N, 1, 28, 28] float32 (course-normalised), y : tensor [N] int64
    Xt, yt : the test set, same layout
    device : "auto", "cpu" or "cuda"
    seed : the construction seed (the course's 66) and the seed of the batch order

    Returns
    -------
    model : the trained nn.Module
    result : backproplab.courses.jku.TrainTestResult; ``result.grads`` holds one mean |grad| per batch
        for each of ``result.layers`` (``fc1``, ``fc2``, ``fc3``)
    test_acc : float
    """
    from backproplab.courses import jku
    from backproplab.torchnn import resolve_device, seeded_init

    models = {"sigmoid": jku.ANN_sigmoid, "relu": jku.ANN_relu}
    if kind not in models:
        raise InputError(f"kind must be 'sigmoid' or 'relu', got {kind!r}")
    dev = resolve_device(device)
    with seeded_init(seed):
        model = models[kind](784, 10)
    model.to(dev)
    # the in-memory loader: the same train() as over a DataLoader, without collating 64 items a batch
    result = jku.train_and_test(
        model, {"lr": LR, "momentum": MOMENTUM, "epochs": 1},
        train_loader=jku.TensorLoader(X, y, BATCH, shuffle=True, seed=seed, device=dev),
        test_loader=jku.TensorLoader(Xt, yt, 2000, device=dev), plot=False, verbose=False)
    return model, result, float(result.test_acc[-1])


def derivative_range(name: str, lo: float = -20.0, hi: float = 20.0, points: int = 400001) -> tuple[float, float]:
    """Smallest and largest derivative of a torch activation on a grid over ``[lo, hi]`` (autograd).

    The grid includes 0 (``points`` odd over a symmetric range), where sigmoid' and tanh' peak.
    ``name`` is one of ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``, ``elu``, ``gelu``.
    """
    import torch

    funcs = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
             "leaky_relu": torch.nn.functional.leaky_relu, "elu": torch.nn.functional.elu,
             "gelu": torch.nn.functional.gelu}
    if name not in funcs:
        raise InputError(f"name must be one of {sorted(funcs)}, got {name!r}")
    z = torch.linspace(lo, hi, points, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(funcs[name](z).sum(), z)
    return float(grad.min()), float(grad.max())


def _hidden_preactivations(model, X):
    """Pre-activations of the three hidden layers for a batch ``X`` (no gradients)."""
    import torch

    with torch.no_grad():
        h = X.reshape(len(X), -1).to(next(model.parameters()).device)
        out = []
        for fc, act in ((model.fc1, model.act1), (model.fc2, model.act2), (model.fc3, model.act3)):
            z = fc(h)
            out.append(z)
            h = act(z)
    return out


# ------------------------------------------------------------------------------------------------


def run(*, quick: bool = False, seed: int = 0, device: str = "auto") -> LessonResult:
    """Train both networks one epoch, measure, judge the five statements; return the result.

    Parameters
    ----------
    quick : bool
        Train on a stratified subset of 12,000 images instead of 60,000 (the test set stays whole).
    seed : int
        Seed of the quick subset only: the networks use the course's seed 66 for construction and
        batch order in both sizes, so the full run is the course's run.
    device : "auto", "cpu" or "cuda"
    """
    seed = check_seed(seed)
    X, y, Xt, yt = _load(bool(quick), int(seed))
    runs = {}
    for kind in ("sigmoid", "relu"):
        start = time.perf_counter()
        model, res, acc = train_one_epoch(kind, X, y, Xt, yt, device=device)
        runs[kind] = {"model": model, "result": res, "test_acc": acc,
                      "grads": {name: np.asarray(g) for name, g in zip(res.layers, res.grads, strict=True)},
                      "seconds": time.perf_counter() - start}
    m = _measure(runs, Xt, len(X))
    claims, verdict = _claims(m)
    tables = _tables(runs, m, verdict)
    params = {
        "quick": bool(quick), "train_images": m["n_train"], "test_images": len(Xt), "epochs": 1,
        "optimizer": f"SGD lr={LR} momentum={MOMENTUM}", "batch_size": BATCH,
        "construction_seed": COURSE_SEED, "batch_order_seed": COURSE_SEED,
        "subset_seed": int(seed) if quick else None,
        "device": str(next(runs["relu"]["model"].parameters()).device),
        "bounds": {"(a) poor": f"test acc <= {POOR_ACCURACY}", "(d) much better": f"gap >= {MUCH_BETTER}",
                   "(b) vanishing": "fc1/fc3 < 1", "(c)": "max sigmoid' <= 1/4", "(e)": "min derivative <= 1"},
        "judged": {k: _tf(v) for k, v in verdict.items()},
    }
    figures = {"vanishing_gradients": _plot_gradients(runs, m["layers"]),
               "vanishing_derivatives": _plot_derivatives(m["others"], m["acc_sig"], m["acc_relu"])}
    text = {"summary": "Judged from the measurements: " + ", ".join(
        f"({k}) {_tf(v)}" for k, v in verdict.items()) + "."}
    timings = {f"train ANN_{kind}": r["seconds"] for kind, r in runs.items()}
    return LessonResult(NAME, TITLE, params=params, claims=claims, figures=figures, tables=tables, text=text,
                        timings=timings)


def _tf(flag: bool) -> str:
    return "TRUE" if flag else "FALSE"


def _measure(runs: dict, Xt, n_train: int) -> dict:
    """Every number the five statements are judged on, from the two runs and autograd."""
    import torch

    layers = list(runs["sigmoid"]["grads"])
    first, last = layers[0], layers[-1]
    mean_grad = {kind: {name: float(g.mean()) for name, g in r["grads"].items()} for kind, r in runs.items()}
    sig_min, sig_max = derivative_range("sigmoid")
    zs = _hidden_preactivations(runs["sigmoid"]["model"], Xt[:2000])
    relu_z = torch.cat([z.flatten() for z in _hidden_preactivations(runs["relu"]["model"], Xt[:2000])])
    relu_grad_values = (relu_z > 0).to(torch.float64)  # ReLU'(z): 1 where z > 0, else 0
    others = {name: derivative_range(name) for name in ("relu", "leaky_relu", "tanh", "elu", "gelu")}
    return {
        "layers": layers, "first": first, "n_train": n_train, "expected_records": math.ceil(n_train / BATCH),
        "mean_grad": mean_grad, "ratio": {k: mean_grad[k][first] / mean_grad[k][last] for k in runs},
        "acc_sig": runs["sigmoid"]["test_acc"], "acc_relu": runs["relu"]["test_acc"],
        "sig_min": sig_min, "sig_max": sig_max,
        "sig_net_max": max(float((torch.sigmoid(z) * (1 - torch.sigmoid(z))).max()) for z in zs),
        "others": others, "min_of_others": max(lo for lo, _ in others.values()),
        "relu_zero_frac": float((relu_grad_values == 0).double().mean()),
        "relu_above_one": float((relu_grad_values > 1).double().mean()),
        "records": [len(g) for r in runs.values() for g in r["grads"].values()],
    }


def _claims(m: dict) -> tuple[list[Claim], dict[str, bool]]:
    """The five statements judged from ``m`` (see :func:`_measure`), and their claims."""
    acc_sig, acc_relu, ratio, first = m["acc_sig"], m["acc_relu"], m["ratio"], m["first"]
    verdict = {"a": acc_sig <= POOR_ACCURACY, "b": ratio["sigmoid"] > 1.0,
               "c": m["sig_max"] <= 0.25 and m["sig_net_max"] <= 0.25,
               "d": acc_relu - acc_sig >= MUCH_BETTER, "e": m["min_of_others"] > 1.0}
    grads_text = ", ".join(f"{n} {m['mean_grad']['sigmoid'][n]:.3g}" for n in m["layers"])
    claims = [
        Claim.at_most(
            "(a) the sigmoid network performs poorly after one epoch (test accuracy)", acc_sig, POOR_ACCURACY,
            f"statement (a) {_tf(verdict['a'])}: test accuracy {acc_sig:.4f} after one epoch on {m['n_train']} images"),
        Claim.at_most(
            "(b) sigmoid network: the first layer gets SMALLER mean |grad| than the third (ratio fc1/fc3)",
            ratio["sigmoid"], 1.0,
            f"statement (b) {_tf(verdict['b'])} as worded (it says lower layers get higher gradients): mean "
            f"|grad| over {m['expected_records']} batches {grads_text}; ratio {ratio['sigmoid']:.3g} "
            f"(ReLU network: {ratio['relu']:.3g})"),
        Claim.at_most(
            "(c) the sigmoid's derivative never exceeds 1/4 (largest value measured)",
            max(m["sig_max"], m["sig_net_max"]), 0.25,
            f"statement (c) {_tf(verdict['c'])}: max sigmoid'(z) = {m['sig_max']:.6f} on [-20, 20] (autograd), "
            f"{m['sig_net_max']:.6f} on the trained network's hidden pre-activations; through three sigmoid "
            f"layers the σ' factors multiply to at most 0.25^3 = {0.25 ** 3:.4f} (the weights multiply in too, "
            "so this alone does not bound the gradient)"),
        Claim.at_least(
            "(d) the ReLU network does much better after one epoch (test accuracy gain over sigmoid)",
            acc_relu - acc_sig, MUCH_BETTER,
            f"statement (d) {_tf(verdict['d'])}: ReLU {acc_relu:.4f} vs sigmoid {acc_sig:.4f}"),
        Claim.at_most(
            "(e) other activations' derivatives are NOT always > 1 (largest of their minimum derivatives)",
            m["min_of_others"], 1.0,
            f"statement (e) {_tf(verdict['e'])}: "
            + "; ".join(f"{n}' in [{lo:.3g}, {hi:.3g}]" for n, (lo, hi) in m["others"].items())
            + f"; in the trained ReLU network {m['relu_zero_frac']:.1%} of hidden derivatives are 0 and "
              f"{m['relu_above_one']:.1%} exceed 1"),
        Claim.at_least(
            "ReLU network's first-layer gradient is larger than the sigmoid network's (ratio of mean |grad|)",
            m["mean_grad"]["relu"][first] / m["mean_grad"]["sigmoid"][first], 2.0,
            f"{first}: ReLU {m['mean_grad']['relu'][first]:.3g}, sigmoid {m['mean_grad']['sigmoid'][first]:.3g}"),
        Claim.holds(
            f"one gradient record per batch and layer ({m['expected_records']} batches of {BATCH})",
            all(n == m["expected_records"] for n in m["records"]), value=min(m["records"]),
            evidence=f"layers {', '.join(m['layers'])}; {m['n_train']} training images"),
    ]
    return claims, verdict


def _tables(runs: dict, m: dict, verdict: dict[str, bool]) -> dict[str, list[dict]]:
    statements = [
        ("a", "The sigmoid network performs poorly after one epoch.", f"test accuracy {m['acc_sig']:.4f}"),
        ("b", "The sigmoid network's mean gradient magnitudes are significantly higher for lower layers, "
              "indicating vanishing gradients.", f"fc1/fc3 mean |grad| ratio {m['ratio']['sigmoid']:.3g}"),
        ("c", "The derivative of the sigmoid never exceeds 1/4, one reason for vanishing gradients.",
         f"max sigmoid' {max(m['sig_max'], m['sig_net_max']):.6f}"),
        ("d", "The ReLU network does much better than the sigmoid one after one epoch.",
         f"accuracy gap {m['acc_relu'] - m['acc_sig']:+.4f}"),
        ("e", "Activations other than sigmoid train more stably because their derivatives are always "
              "larger than 1.", f"largest minimum derivative {m['min_of_others']:.3g}"),
    ]
    return {
        "statements": [{"statement": f"({k}) {s}", "measured": v, "judged": _tf(verdict[k])}
                       for k, s, v in statements],
        "networks": [{"network": f"ANN_{kind}", "test_acc": r["test_acc"],
                      "train_loss": r["result"].train_loss[-1], "train_acc": r["result"].train_acc[-1],
                      **{f"mean_abs_grad_{n}": m["mean_grad"][kind][n] for n in m["layers"]},
                      "ratio_first_to_third": m["ratio"][kind]} for kind, r in runs.items()],
        "derivatives": [{"activation": "sigmoid", "min": m["sig_min"], "max": m["sig_max"]}]
        + [{"activation": n, "min": lo, "max": hi} for n, (lo, hi) in m["others"].items()],
    }


# ------------------------------------------------------------------------------------------------
# figures (object API only)


def _plot_gradients(runs, layers):
    from matplotlib.figure import Figure

    from backproplab.courses.jku import plot_gradient_magnitudes

    fig = Figure(figsize=(12, 4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (kind, r) in zip(axes, runs.items(), strict=True):
        plot_gradient_magnitudes([r["grads"][name] for name in layers], layers, ax=ax,
                                 title=f"ANN_{kind}: test accuracy {r['test_acc']:.3f}")
        ax.set_title(ax.get_title(), fontsize=None)
    axes[1].set_ylabel("")
    fig.suptitle("One epoch, SGD lr 0.01 momentum 0.5, batch 64, seed 66: per-layer gradient per batch")
    fig.tight_layout()
    return fig


def _plot_derivatives(others, acc_sig, acc_relu):
    import torch
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.8))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    z = torch.linspace(-6, 6, 1201, dtype=torch.float64, requires_grad=True)
    funcs = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
             "leaky_relu": torch.nn.functional.leaky_relu, "elu": torch.nn.functional.elu,
             "gelu": torch.nn.functional.gelu}
    for name, f in funcs.items():
        (g,) = torch.autograd.grad(f(z).sum(), z)
        ax1.plot(z.detach().numpy(), g.numpy(), label=f"{name}'", lw=2 if name == "sigmoid" else 1)
    ax1.axhline(0.25, color="k", ls=":", lw=0.8)
    ax1.axhline(1.0, color="k", ls="--", lw=0.8)
    ax1.text(-6, 0.27, "1/4", fontsize=8)
    ax1.text(-6, 1.02, "1", fontsize=8)
    ax1.set(xlabel="z", ylabel="derivative (autograd)", title="activation derivatives")
    ax1.legend(fontsize=7, ncol=2)
    ax2.bar(["ANN_sigmoid", "ANN_relu"], [acc_sig, acc_relu], color=["#c44e52", "#55a868"])
    for i, a in enumerate((acc_sig, acc_relu)):
        ax2.text(i, a, f"{a:.3f}", ha="center", va="bottom")
    ax2.set(ylim=(0, 1), ylabel="test accuracy after one epoch")
    fig.tight_layout()
    return fig

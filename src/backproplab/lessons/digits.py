"""Digits: a 64-32-1 network written from scratch, what its knobs do, and why zeros fail.

The course's binary task on scikit-learn's 8x8 digits (digits 0-4 labelled 1, 5-9 labelled 0,
50/50 stratified split, standardised pixels), learned by a 64-32-1 network (ReLU hidden layer,
sigmoid output, binary cross-entropy) on the NumPy engine (:mod:`backproplab.scratch`) with plain
minibatch SGD.

The lesson measures everything it says:

* the network reaches validation accuracy >= 0.95 for five seeds (each seed its own split and
  initialisation), median >= 0.96;
* sweeps over the learning rate, the batch size and the hidden width, with curves;
* one layer (logistic regression), a stack of three *linear* layers (multiplied out into one
  linear layer, the outputs agree to rounding), and four layers;
* zero and constant initialisation: every hidden unit gets the same gradient and the units stay
  identical for the whole run (measured as the largest difference between any two units' weights).

Each of the course's closing questions (learning rate, batch size, depth, zero initialisation) gets
a claim whose verdict follows from these measurements.

Notation (the row convention, as the NumPy engine stores its weights): a batch is a matrix with one
example per row and a layer computes ``x·W + b`` with ``W`` of shape [in, out]. (The XOR and backprop
lessons write ``W x`` with ``W`` [out, in], the column convention: the same computation, transposed.)
So three linear layers multiply out to ``W1·W2·W3``, the gradient of ``W2`` is
``aᵀ·δ`` (``a`` the hidden outputs, ``δ`` the output delta) and the delta reaching ``W1`` is
``(δ·W2ᵀ) ⊙ relu'(s)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backproplab.checks import check_seed, following_seeds
from backproplab.errors import InputError
from backproplab.lessons._digits_plots import accuracy_floor as _accuracy_floor  # noqa: F401 - tests read it here
from backproplab.lessons._digits_plots import plot_depth, plot_init, plot_seeds, plot_sweeps
from backproplab.lessons.result import Claim, LessonResult, Step
from backproplab.scratch.network import Network, forward
from backproplab.scratch.threads import blas_threads

NAME = "digits"
TITLE = "Digits: a 64-32-1 network from scratch, its learning rate, batch size, depth and zero init"
ORDER = 60

__all__ = ["train_digits", "collapse_linear", "max_unit_difference", "five_seeds", "knob_sweeps",
           "depth_comparison", "symmetric_init", "run"]

#: The main configuration (64-32-1, ReLU then sigmoid, BCE, SGD).
LR = 0.3
BATCH = 32
HIDDEN = 32
EPOCHS = 20

#: Sweep values (full run; --quick keeps the three marked ones).
SWEEP_LR = (0.001, 0.01, 0.1, 0.3, 1.0, 3.0)
SWEEP_BATCH = (4, 8, 32, 128, 0)  # 0 = the whole training set (full-batch gradient descent)
SWEEP_WIDTH = (1, 2, 4, 8, 32, 128)
QUICK_LR = (0.001, 0.3, 3.0)
QUICK_BATCH = (8, 32, 0)
QUICK_WIDTH = (1, 4, 32)

#: The value of the symmetric (non-zero) constant initialisation.
CONSTANT = 0.1


def _data(seed: int):
    from backproplab.data import load_digits_binary

    return load_digits_binary(seed=seed, positive="0-4", train_fraction=0.5)


def _constant_init(value: float):
    def init(d_in: int, d_out: int, rng, dtype) -> np.ndarray:  # noqa: ARG001 - the init signature
        return np.full((d_in, d_out), value, dtype=dtype)

    return init


def train_digits(data, sizes=(64, HIDDEN, 1), activations=None, init=None, lr: float = LR,
                 batch_size: int = BATCH, epochs: int = EPOCHS, seed: int = 0):
    """Build and train one network on the digits task with the NumPy engine.

    Parameters
    ----------
    data : tuple ``(X_train [N, 64], y_train [N], X_val [M, 64], y_val [M])``
    sizes : widths, input first; the last must be 1 (sigmoid output, BCE loss)
    activations : one name per layer (default ReLU everywhere, sigmoid last)
    init : one initialiser per layer, name or callable (default He for hidden layers, Xavier last)
    lr : float, SGD step size
    batch_size : int; 0 means the whole training set (full-batch gradient descent)
    epochs : int
    seed : int, initial weights and batch order

    Returns
    -------
    network : backproplab.scratch.network.Network (trained)
    history : backproplab.history.History
    """
    from backproplab.scratch.optim import SGD
    from backproplab.scratch.train import fit

    X, y, Xv, yv = data
    sizes = list(sizes)
    n_layers = len(sizes) - 1
    if sizes[-1] != 1:
        raise InputError(f"sizes must end in 1 (one sigmoid output), got {sizes}")
    if activations is None:
        activations = ["relu"] * (n_layers - 1) + ["sigmoid"]
    if init is None:
        init = ["he"] * (n_layers - 1) + ["xavier"]
    network = Network.from_sizes(sizes, list(activations), list(init), seed=seed)
    batch = len(X) if batch_size == 0 else batch_size
    history = fit(network, X, y, epochs=epochs, batch_size=batch, optimizer=SGD(lr), loss="bce",
                  X_val=Xv, y_val=yv, seed=seed, progress=None)
    return network, history


def collapse_linear(network) -> tuple[np.ndarray, np.ndarray]:
    """Multiply out the identity-activation layers before a network's last layer.

    In the row convention (``x`` a row, ``W`` [in, out]): for ``a = x·W1 + b1``, ``a2 = a·W2 + b2``,
    ..., the composition is ``x·W + b`` with ``W = W1·W2·...·Wk`` and
    ``b = (...((b1·W2 + b2)·W3 + b3)...)``. The last layer's
    weights are included (its activation, e.g. the sigmoid, is applied afterwards).

    Returns
    -------
    W : array [d_in, d_out]
    b : array [d_out]
    """
    layers = network.layers
    for i, layer in enumerate(layers[:-1]):
        if layer.activation != "identity":
            raise InputError(f"collapse_linear needs identity activations before the last layer; "
                             f"layers[{i}] is {layer.activation!r}")
    W = layers[0].W.copy()
    b = layers[0].b.copy()
    for layer in layers[1:]:
        W = W @ layer.W
        b = b @ layer.W + layer.b
    return W, b


def max_unit_difference(W: np.ndarray, b: np.ndarray | None = None) -> float:
    """The largest difference between any two hidden units' incoming weights (and biases).

    ``W`` has one column per unit (shape ``[d_in, units]``). Zero means every unit is a copy of
    every other.
    """
    cols = W if b is None else np.vstack([W, np.reshape(b, (1, -1))])
    return float(np.max(cols.max(axis=1) - cols.min(axis=1))) if cols.shape[1] > 1 else 0.0


def _count_params(network) -> int:
    return int(sum(p.size for p in network.parameters()))


# ------------------------------------------------------------------------------------------------


def run(*, quick: bool = False, seed: int = 0) -> LessonResult:
    """Train the digits networks, sweep, compare depths and initialisations; return the result.

    Parameters
    ----------
    quick : bool
        Fewer sweep values and epochs (the five-seed claim keeps its full configuration).
    seed : int
        First of the five seeds; the sweeps and comparisons use this one.
    """
    seed = check_seed(seed)
    # BLAS on one thread: these matrices (at most 898 x 128) are too small to share out, and
    # threads only add synchronisation (measured: half the CPU time of the default).
    with blas_threads(1):
        return _run(bool(quick), int(seed))


#: Bounds of the lesson's claims (tests import them rather than restating them).
WORST_SEED_ACC = 0.95  # 64-32-1 validation accuracy, worst of five seeds, at least
MEDIAN_SEED_ACC = 0.96
"""... and the median, at least. One seed's accuracy is 0.969 ± 0.005 (seeds 0-69, lowest 0.960); the median
of five was held against 0.965, which --seed 99 (0.962) and 2 more of 66 starting seeds missed: a claim the
network keeps failed on the luck of the split. None of the 66 has a median under 0.96."""
SMALL_LR_GAP = 0.05  # the smallest rate lags the best by at least this (val accuracy)
LARGE_LR_LOSS_RATIO = 10.0  # the largest rate ends with at least this times the best rate's loss
BATCH_GAIN = 0.03  # batch 32 beats full batch by at least this, same epochs
DEPTH_GAIN = 0.03  # a ReLU hidden layer beats logistic regression by at least this
COLLAPSE_TOL = 1e-12  # three linear layers equal their product, to rounding
FOUR_LAYER_GAIN = 0.02  # four layers gain at most this over two
SYMMETRY_TOL = 1e-12  # constant init: the units' gradients and weights stay identical
ZERO_INIT_ACC = 0.6  # all-zero init: validation accuracy at most (a guess)


def _run(quick: bool, seed: int) -> LessonResult:
    """The lesson's four steps in order: :func:`five_seeds`, :func:`knob_sweeps`, :func:`depth_comparison`,
    :func:`symmetric_init`."""
    seeds = following_seeds(seed, 5)
    sweep_epochs = 10 if quick else 30
    lr_values = QUICK_LR if quick else SWEEP_LR
    batch_values = QUICK_BATCH if quick else SWEEP_BATCH
    width_values = QUICK_WIDTH if quick else SWEEP_WIDTH
    params: dict[str, Any] = {
        "quick": quick, "seeds": seeds, "architecture": "64-32-1, ReLU hidden, sigmoid output, BCE",
        "init": "He (hidden), Xavier (output)", "optimizer": f"SGD lr={LR}", "batch_size": BATCH,
        "epochs": EPOCHS, "sweep_epochs": sweep_epochs, "sweep_lr": list(lr_values),
        "sweep_batch": ["full" if b == 0 else b for b in batch_values], "sweep_width": list(width_values),
        "task": "scikit-learn digits, label 1 = digit 0-4, 50/50 stratified split, standardised",
    }
    data = _data(seed)  # the sweeps and comparisons use the first seed's split
    seeds_step = five_seeds(seeds)
    sweeps_step = knob_sweeps(data, seed, sweep_epochs, lr_values, batch_values, width_values)
    depth_step = depth_comparison(data, seed, sweep_epochs)
    init_step = symmetric_init(data, seed, sweep_epochs)
    result = LessonResult(NAME, TITLE, params=params)
    result.add(seeds_step, sweeps_step, depth_step, init_step)
    result.text["summary"] = _summary(seeds_step.data["finals"], sweeps_step.data["best_lr"],
                                      depth_step.data["acc"], init_step.data["constant"])
    return result


def five_seeds(seeds: list[int]) -> Step:
    """Step 1, the main 64-32-1 network on five seeds (each its own split and initialisation).

    Table ``seeds``, figure ``digits_seeds``; ``data["finals"]`` the final validation accuracies [5].
    """
    step = Step()
    seed_runs = []
    for s in seeds:
        _, hist = train_digits(_data(s), seed=s)
        seed_runs.append((s, hist))
    finals = np.array([h["val_acc"][-1] for _, h in seed_runs])
    step.tables["seeds"] = [{"seed": s, "train_loss": h["train_loss"][-1], "train_acc": h["train_acc"][-1],
                             "val_loss": h["val_loss"][-1], "val_acc": h["val_acc"][-1]} for s, h in seed_runs]
    listing = ", ".join(f"{a:.4f}" for a in finals)
    step.claims.append(Claim.at_least(f"64-32-1 validation accuracy, worst of {len(seeds)} seeds", finals.min(),
                                      WORST_SEED_ACC, f"after {EPOCHS} epochs, per seed: {listing}"))
    step.claims.append(Claim.at_least(f"64-32-1 validation accuracy, median of {len(seeds)} seeds",
                                      float(np.median(finals)), MEDIAN_SEED_ACC, f"per seed: {listing}"))
    step.figures["digits_seeds"] = plot_seeds(seed_runs)
    step.data["finals"] = finals
    return step


def knob_sweeps(data, seed: int, sweep_epochs: int, lr_values, batch_values, width_values) -> Step:
    """Step 2, one knob at a time: learning rate, batch size (0 = full batch), hidden width.

    ``data`` is ``(X_train, y_train, X_val, y_val)``. Table ``sweeps``, figure ``digits_sweeps``;
    ``data["best_lr"]`` the swept rate with the best final validation accuracy.
    """
    step = Step()
    n_train = len(data[0])
    sweeps: dict[str, list[tuple[Any, Any]]] = {"learning rate": [], "batch size": [], "hidden width": []}
    for lr in lr_values:
        _, h = train_digits(data, lr=lr, epochs=sweep_epochs, seed=seed)
        sweeps["learning rate"].append((lr, h))
    for bs in batch_values:
        _, h = train_digits(data, batch_size=bs, epochs=sweep_epochs, seed=seed)
        sweeps["batch size"].append((n_train if bs == 0 else bs, h))
    for width in width_values:
        _, h = train_digits(data, sizes=(64, width, 1), epochs=sweep_epochs, seed=seed)
        sweeps["hidden width"].append((width, h))
    rows = []
    for knob, runs in sweeps.items():
        for value, h in runs:
            batch = value if knob == "batch size" else BATCH
            rows.append({"knob": knob, "value": value, "updates_per_epoch": -(-n_train // batch),
                         "train_loss": h["train_loss"][-1], "val_acc": h["val_acc"][-1],
                         "best_val_acc": max(h["val_acc"])})
    step.tables["sweeps"] = rows
    step.figures["digits_sweeps"] = plot_sweeps(sweeps, sweep_epochs)
    step.data["best_lr"] = _sweep_claims(step.claims, sweeps, n_train, sweep_epochs)
    return step


def _sweep_claims(claims: list[Claim], sweeps, n_train: int, sweep_epochs: int) -> float:
    """Append the learning-rate and batch-size claims; return the best swept learning rate."""
    # learning rate: too small learns slowly, too large does not settle
    lr_runs = dict(sweeps["learning rate"])
    best_lr = max(lr_runs, key=lambda k: lr_runs[k]["val_acc"][-1])
    best_acc = lr_runs[best_lr]["val_acc"][-1]
    small, large = min(lr_runs), max(lr_runs)
    gap_small = best_acc - lr_runs[small]["val_acc"][-1]
    claims.append(Claim.at_least(
        f"learning rate: {small:g} is too small (val-accuracy gap to the best rate after {sweep_epochs} epochs)",
        gap_small, SMALL_LR_GAP,
        f"lr={small:g}: {lr_runs[small]['val_acc'][-1]:.4f}, best lr={best_lr:g}: {best_acc:.4f}"))
    loss_ratio = lr_runs[large]["train_loss"][-1] / max(lr_runs[best_lr]["train_loss"][-1], 1e-300)
    claims.append(Claim.at_least(
        f"learning rate: {large:g} is too large (final training loss / the best rate's)", loss_ratio,
        LARGE_LR_LOSS_RATIO,
        f"lr={large:g}: loss {lr_runs[large]['train_loss'][-1]:.4g}, val acc {lr_runs[large]['val_acc'][-1]:.4f}; "
        f"lr={best_lr:g}: loss {lr_runs[best_lr]['train_loss'][-1]:.4g}"))
    # batch size: with the same epochs, full-batch descent takes one step per epoch and lags
    b_runs = dict(sweeps["batch size"])
    full_acc, b32_acc = b_runs[n_train]["val_acc"][-1], b_runs[BATCH]["val_acc"][-1]
    claims.append(Claim.at_least(
        f"batch size: same {sweep_epochs} epochs, batch {BATCH} beats full batch (val-accuracy gain)",
        b32_acc - full_acc, BATCH_GAIN,
        f"batch {BATCH}: {b32_acc:.4f} ({-(-n_train // BATCH)} updates/epoch); full batch {n_train}: "
        f"{full_acc:.4f} (1 update/epoch)"))
    return best_lr


#: The depth comparison: label, layer sizes, activations, initialisations (None: the defaults).
DEPTH_SPECS = (
    ("one layer (logistic regression) 64-1", (64, 1), ["sigmoid"], ["xavier"]),
    ("three linear layers 64-32-32-1", (64, 32, 32, 1), ["identity", "identity", "sigmoid"],
     ["xavier", "xavier", "xavier"]),
    ("two layers 64-32-1 (ReLU)", (64, 32, 1), None, None),
    ("four layers 64-32-32-32-1 (ReLU)", (64, 32, 32, 32, 1), None, None),
)


def depth_comparison(data, seed: int, sweep_epochs: int) -> Step:
    """Step 3, depth: one layer, three linear layers (= one), two and four ReLU layers.

    Table ``depth``, figure ``digits_depth``; ``data["acc"]`` final validation accuracy by model.
    """
    step = Step()
    depth_runs = {}
    for label, sizes, acts, inits in DEPTH_SPECS:
        net, h = train_digits(data, sizes=sizes, activations=acts, init=inits, epochs=sweep_epochs, seed=seed)
        depth_runs[label] = (net, h)
    step.tables["depth"] = [{"model": label, "parameters": _count_params(net), "train_loss": h["train_loss"][-1],
                             "val_acc": h["val_acc"][-1]} for label, (net, h) in depth_runs.items()]
    acc = {label: h["val_acc"][-1] for label, (_, h) in depth_runs.items()}
    logistic, linear3, two, four = (label for label, *_ in DEPTH_SPECS)
    step.claims.append(Claim.at_least(
        "depth: a ReLU hidden layer beats one layer (val-accuracy gain over logistic regression)",
        acc[two] - acc[logistic], DEPTH_GAIN, f"64-32-1: {acc[two]:.4f}, logistic regression: {acc[logistic]:.4f}"))
    step.claims.append(_collapse_claim(depth_runs[linear3][0], data[2],
                                       f"the stack reaches {acc[linear3]:.4f}, logistic regression "
                                       f"{acc[logistic]:.4f}"))
    step.claims.append(Claim.at_most(
        "depth: four layers gain little over two on this task (val-accuracy gain)", acc[four] - acc[two],
        FOUR_LAYER_GAIN,
        f"four layers: {acc[four]:.4f} ({_count_params(depth_runs[four][0])} parameters), two layers: "
        f"{acc[two]:.4f} ({_count_params(depth_runs[two][0])} parameters)"))
    step.figures["digits_depth"] = plot_depth(depth_runs)
    step.data["acc"] = acc
    return step


def _collapse_claim(stack, X_val: np.ndarray, note: str) -> Claim:
    """Three linear layers multiplied out into one (W1·W2·W3) give the same outputs on ``X_val``."""
    W, b = collapse_linear(stack)
    p_stack = stack.predict(X_val)[:, 0]
    p_one = forward(X_val, [(W, b, "sigmoid")])[:, 0]
    z_stack = forward(X_val, [(layer.W, layer.b, "identity") for layer in stack.layers])[:, 0]
    diff = float(np.max(np.abs(p_stack - p_one)))
    same_pred = bool(np.array_equal(p_stack > 0.5, p_one > 0.5))
    return Claim.at_most(
        "depth: three linear layers equal one linear layer W1·W2·W3 (max |output difference|)", diff,
        COLLAPSE_TOL,
        f"over {len(p_stack)} validation digits; logits differ by at most "
        f"{float(np.max(np.abs(z_stack - (X_val @ W + b)[:, 0]))):.2e}; same predictions: {same_pred}; {note}")


def symmetric_init(data, seed: int, sweep_epochs: int) -> Step:
    """Step 4, zero and constant initialisation: the hidden units get one gradient and stay copies.

    Table ``initialisation``, figure ``digits_initialisation``; ``data["constant"]`` the
    constant-init row of the table.
    """
    step = Step()
    rows, nets = _init_runs(data, seed, sweep_epochs)
    step.tables["initialisation"] = rows
    by_init = {row["init"]: row for row in rows}
    const, zero, rand = by_init[f"constant {CONSTANT:g}"], by_init["all zeros"], by_init["He (random)"]
    step.claims.append(Claim.at_most(
        "zero init: every hidden unit gets the same gradient (max difference between units' dW1, constant init)",
        const["first_step_unit_gradient_spread"], SYMMETRY_TOL,
        f"constant {CONSTANT:g}: largest |dW1| {const['first_step_max_abs_dW1']:.3g}, yet units differ by "
        f"{const['first_step_unit_gradient_spread']:.3g}; He init: units' gradients differ by "
        f"{rand['first_step_unit_gradient_spread']:.3g}"))
    step.claims.append(Claim.at_most(
        "zero init: the hidden units stay identical through training (max difference between units' weights)",
        max(const["trained_unit_weight_spread"], zero["trained_unit_weight_spread"]), SYMMETRY_TOL,
        f"after {sweep_epochs} epochs: constant {CONSTANT:g} spread {const['trained_unit_weight_spread']:.3g} "
        f"(val acc {const['val_acc']:.4f}), all zeros spread {zero['trained_unit_weight_spread']:.3g}; "
        f"He init spread {rand['trained_unit_weight_spread']:.3g} (val acc {rand['val_acc']:.4f})"))
    step.claims.append(Claim.at_most(
        "zero init: with all weights 0 the ReLU layer never moves, the network guesses (val accuracy)",
        zero["val_acc"], ZERO_INIT_ACC,
        f"max |W1| after training {zero['trained_max_abs_W1']:.3g}: every hidden output is relu(0) = 0, so "
        "dL/dW2 = aᵀ·δ = 0 and W2 stays 0, and the delta reaching W1, (δ·W2ᵀ) ⊙ relu'(s), is 0 whatever "
        "relu'(0) is; "
        f"only the output bias learns. He init reaches {rand['val_acc']:.4f}"))
    step.figures["digits_initialisation"] = plot_init(nets)
    step.data["constant"] = const
    return step


def _init_runs(data, seed: int, sweep_epochs: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """For He, all-zero and constant init: the first step's gradients and the trained weights (rows, nets)."""
    X, y = data[0], data[1]
    init_specs = {
        "He (random)": None,
        "all zeros": ["zeros", "zeros"],
        f"constant {CONSTANT:g}": [_constant_init(CONSTANT), _constant_init(CONSTANT)],
    }
    rows, nets = [], {}
    for label, inits in init_specs.items():
        probe = Network.from_sizes([64, HIDDEN, 1], ["relu", "sigmoid"],
                                   inits if inits is not None else ["he", "xavier"], seed=seed)
        probe.loss_and_gradients(X, y, loss="bce")
        dW1 = probe.layers[0].dW
        first_grad_spread = max_unit_difference(dW1, probe.layers[0].db)
        first_grad_size = float(np.max(np.abs(dW1)))
        net, h = train_digits(data, init=inits, epochs=sweep_epochs, seed=seed)
        W1, b1 = net.layers[0].W, net.layers[0].b
        nets[label] = net
        rows.append({"init": label, "first_step_max_abs_dW1": first_grad_size,
                     "first_step_unit_gradient_spread": first_grad_spread,
                     "trained_unit_weight_spread": max_unit_difference(W1, b1),
                     "trained_max_abs_W1": float(np.max(np.abs(W1))), "val_acc": h["val_acc"][-1]})
    return rows, nets


def _summary(finals, best_lr, acc, const) -> str:
    return (f"64-32-1 on digits: validation accuracy {finals.min():.4f}-{finals.max():.4f} over 5 seeds "
            f"(median {np.median(finals):.4f}). Best swept learning rate {best_lr:g}. "
            + "; ".join(f"{k}: {v:.4f}" for k, v in acc.items())
            + f". Constant initialisation keeps all hidden units identical (spread "
              f"{const['trained_unit_weight_spread']:.3g}).")

"""Activations and their derivatives, the true/false facts about them, and dead ReLUs.

Every activation of :mod:`backproplab.scratch.functional` is plotted with its derivative and
checked against PyTorch (the function against ``torch``, the derivative against autograd). The
facts a course asks as true/false are measured on a grid: sigmoid′ peaks at 1/4 at 0, tanh′ peaks
at 1, ``tanh(x) = 2σ(2x) − 1``, ReLU′ is 0 or 1, leaky ReLU and ELU keep a gradient for negative
inputs.

A ReLU unit ``relu(w·x + b)`` is *dead* on a data set when ``w·x + b ≤ 0`` for every input ``x``
seen: it outputs 0 for all of them, so the gradient reaching ``w`` and ``b`` is 0 for all of them,
and gradient descent never moves its own ``w`` and ``b``. In the first layer, whose inputs are the
fixed data, that keeps it dead for good; a deeper unit's inputs change as the layers below it train,
so it can come back. The lesson trains a small network on two moons, then kills units twice — with a too-large learning rate, and by shifting the first layer's biases down —
and counts the dead units before and after with :class:`backproplab.torchnn.probes.DeadUnits`.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from backproplab.checks import check_seed, following_seeds, is_real
from backproplab.data.toy import moons
from backproplab.errors import InputError
from backproplab.lessons._activations_plots import activation_figure, dead_figure
from backproplab.lessons.result import Claim, LessonResult
from backproplab.scratch import functional as fn

# Lazy imports, on purpose: torch, matplotlib, sklearn/scipy and the modules that load torch
# (backproplab.torchnn, backproplab.courses) are imported inside the functions that use them, so that
# importing this module (the CLI imports every lesson to list them) does not load torch.

NAME = "activations"
TITLE = "Activations, their derivatives, and dead ReLUs"
ORDER = 40

__all__ = ["activation_table", "dead_by_condition", "dead_by_probe", "run"]

#: The alphas of leaky ReLU and ELU: functional's defaults (the torch table uses the same).
LEAKY_ALPHA = fn.LEAKY_RELU_ALPHA
ELU_ALPHA = fn.ELU_ALPHA

#: Bounds of the dead-ReLU claims (fractions of units that never fire on the training inputs).
HEALTHY_DEAD = 0.25
"""Healthy training: the median dead fraction of all ReLUs over :data:`BIG_LR_STARTS` starts, at most. One run
leaves 0.14 ± 0.03 dead (quick, 2,000 seeds; 0.27 for --seed 3297718511, one seed in about 2,000 over 0.25)."""
KILLED_DEAD = 0.5  # too large a learning rate, or biases shifted down: dead fraction, at least

BIG_LR_STARTS = 5
"""Starts (the healthy run's and the next seeds') trained at the healthy and at the too-large learning rate, on the
same data; each dead-fraction claim holds the median of their runs. At lr 5 one run's weights overflow (NaN within its first three epochs, genuine divergence: 1.8e4, then
1.6e22) in about one seed in thirty (4 of 140 quick runs, 3 of 80 full ones; --seed 245009909, 51, 53), so a
single run's "every weight stays finite" failed for those seeds; a finite run leaves 0.56-1.0 of the ReLUs dead
(mean 0.80). The claims hold the median over the five runs (an overflowed one counted as none dead) and a
majority of finite runs: both fail only when three of five go wrong, about one seed in 2,000."""
BIG_LR_FINITE = 3  # runs of BIG_LR_STARTS whose weights all stay finite, at least

DEFAULT_BIAS_SHIFT = 1.5
"""How far the first layer's biases are moved down by default. A shift of 1 killed 0.42-0.81 of the trained first
layer (mean 0.60, sd 0.06, full runs over 80 seeds), under the claim's 0.5 for one seed in twenty (--seed 24:
0.42 full, 0.45 quick; 13, 58, 2179419893); a shift of 1.5 kills 0.77-1.0 (mean 0.90, sd 0.04; quick: 0.80-1.0
over 140 seeds), while healthy training leaves at most 0.20 of it dead."""


def _grid(half_width: float = 6.0, step: float = 0.01) -> np.ndarray:
    """A symmetric float64 grid with 0 exactly on it."""
    k = int(round(half_width / step))
    return np.arange(-k, k + 1) * step


def activation_table(z: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Each activation on ``z`` [N], by the scratch engine and by torch (float64).

    Returns
    -------
    dict name -> {"f", "grad", "f_torch", "grad_torch"}, arrays [N]; the torch derivative is
    computed by autograd (``f(z).sum().backward()``).
    """
    import torch

    from backproplab.torchnn.functions import TORCH_ACTIVATIONS as torch_fns  # lazy: imports torch
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, (f, f_grad) in fn.ACTIVATIONS.items():
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        yt = torch_fns[name](zt)
        yt.sum().backward()
        out[name] = {"f": f(z), "grad": f_grad(z), "f_torch": yt.detach().numpy().copy(),
                     "grad_torch": zt.grad.numpy().copy()}
    return out


def dead_by_condition(layer: Any, X: Any) -> np.ndarray:
    """Which units of a ``Linear`` layer feeding a ReLU are dead on ``X``: ``w·x + b ≤ 0`` for every row.

    Parameters
    ----------
    layer : torch.nn.Linear
    X : tensor or array [N, in_features]

    Returns
    -------
    numpy bool array [out_features]
    """
    import torch

    Xt = torch.as_tensor(X, dtype=layer.weight.dtype)
    with torch.no_grad():
        pre = Xt @ layer.weight.T + layer.bias
    return (pre <= 0).all(dim=0).numpy()


def dead_by_probe(model: Any, X: Any) -> dict[str, float]:
    """Dead-unit fractions per ReLU module (and ``"all"``) by the DeadUnits probe, one pass over ``X``."""
    import torch

    from backproplab.torchnn import DeadUnits

    probe = DeadUnits().attach(model)
    try:
        with torch.no_grad():
            model(torch.as_tensor(X))
        return {k: v[0] for k, v in probe.flush().items()}
    finally:
        probe.remove()


def _fit(model: Any, X: Any, y: Any, lr: float, epochs: int, seed: int, batch_size: int = 20) -> list[float]:
    """Minibatch SGD on cross-entropy; the probe's dead fraction (all ReLUs) after every epoch."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
        history.append(dead_by_probe(model, X)["all"])
    return history


def _accuracy(model: Any, X: Any, y: Any) -> float:
    import torch

    with torch.no_grad():
        return float((model(X).argmax(dim=1) == y).double().mean())


MAX_SETTING = 1e30
"""The largest ``big_lr`` or ``bias_shift`` taken: beyond float32's range torch cannot even use it."""


def _check_number(value: Any, name: str, minimum: float, strict: bool) -> float:
    if not is_real(value) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    if value < minimum or (strict and value == minimum) or value > MAX_SETTING:
        raise InputError(f"{name} must be {'>' if strict else '>='} {minimum:g} and <= {MAX_SETTING:g}, got {value!r}")
    return float(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--big-lr`` and ``--bias-shift``: how the dead-ReLU demonstration kills units."""
    parser.add_argument("--big-lr", dest="big_lr", type=float, default=5.0,
                        help=f"the too-large learning rate (default 5; {BIG_LR_STARTS} networks train at it; the "
                             "larger it is, the more of them overflow before their units can be counted: about 1 "
                             "in 30 at 5, 1 in 5 at 8, 2 in 5 at 12; the finite-runs claim fails when 3 do)")
    parser.add_argument("--bias-shift", dest="bias_shift", type=float, default=DEFAULT_BIAS_SHIFT,
                        help=f"how far the first layer's biases are moved down (default {DEFAULT_BIAS_SHIFT:g})")


def run(*, quick: bool = False, seed: int = 0, big_lr: float = 5.0,
        bias_shift: float = DEFAULT_BIAS_SHIFT) -> LessonResult:
    """Run the activations lesson.

    Parameters
    ----------
    quick : bool
        Fewer training epochs in the dead-ReLU demonstration (same claims).
    seed : int
        Seed of the data, the initial weights and the minibatch order.
    big_lr : float
        The too-large learning rate (> 0) that kills units (:data:`BIG_LR_STARTS` networks are trained at it).
    bias_shift : float
        How far (> 0) the first layer's biases are moved down to kill units.
    """
    import matplotlib.figure

    big_lr = _check_number(big_lr, "big_lr", 0.0, strict=True)
    bias_shift = _check_number(bias_shift, "bias_shift", 0.0, strict=True)
    seed = check_seed(seed)
    result = LessonResult(NAME, TITLE, params={"quick": quick, "seed": seed, "big_lr": big_lr,
                                               "bias_shift": bias_shift})
    claims = result.claims

    # ---- 1. every activation and its derivative, against torch --------------------------------
    z = _grid()
    table = activation_table(z)
    rows = []
    for name, t in table.items():
        df = float(np.abs(t["f"] - t["f_torch"]).max())
        dg = float(np.abs(t["grad"] - t["grad_torch"]).max())
        rows.append({"activation": name, "max |f - torch|": df, "max |f' - autograd|": dg,
                     "f'(0)": float(t["grad"][len(z) // 2]), "max f'": float(t["grad"].max()),
                     "min f' for z < 0": float(t["grad"][z < 0].min())})
        claims.append(Claim.at_most(f"{name}: max |f - torch| and |f' - torch autograd| on [-6, 6]",
                                    max(df, dg), 1e-12))
    result.tables["activations_vs_torch"] = rows

    _facts(claims, z, table)

    # ---- 3. dead ReLUs -----------------------------------------------------------------------
    from backproplab.torchnn.threads import one_torch_thread

    with one_torch_thread():
        dead = _dead_relu_demo(quick, seed, big_lr, bias_shift)
    result.tables["dead_relus"] = dead["rows"]
    result.params.update(dead["params"])
    claims.extend(dead["claims"])

    # ---- figures -----------------------------------------------------------------------------
    result.figures["activations"] = activation_figure(matplotlib.figure.Figure(figsize=(12, 6)), z, table,
                                                      LEAKY_ALPHA, ELU_ALPHA)
    result.figures["dead_relus"] = dead_figure(matplotlib.figure.Figure(figsize=(12, 4)), dead)
    return result


def _facts(claims: list[Claim], z: np.ndarray, table: dict[str, dict[str, np.ndarray]]) -> None:
    """2. The true/false facts about each activation's derivative, by the scratch engine and autograd."""
    import torch

    sg, sgt = table["sigmoid"]["grad"], table["sigmoid"]["grad_torch"]
    claims.append(Claim.close_to("sigmoid' peaks at 1/4", sg.max(), 0.25, 1e-15,
                                 evidence=f"autograd's peak {sgt.max():.17g}"))
    claims.append(Claim.holds("sigmoid' peaks at z = 0", z[sg.argmax()] == 0.0 and z[sgt.argmax()] == 0.0,
                              value=float(z[sg.argmax()])))
    s = table["sigmoid"]["f"]
    claims.append(Claim.at_most("sigmoid'(z) = sigmoid(z)(1 - sigmoid(z)): max |difference|",
                                float(np.abs(sg - s * (1 - s)).max()), 1e-15))
    _sigmoid_chain(claims)
    tg, tgt = table["tanh"]["grad"], table["tanh"]["grad_torch"]
    claims.append(Claim.close_to("tanh' peaks at 1", tg.max(), 1.0, 0.0, evidence=f"autograd's peak {tgt.max()}"))
    claims.append(Claim.holds("tanh' peaks at z = 0", z[tg.argmax()] == 0.0 and z[tgt.argmax()] == 0.0,
                              value=float(z[tg.argmax()])))
    identity_gap = np.abs(fn.tanh(z) - (2 * fn.sigmoid(2 * z) - 1)).max()
    zt = torch.from_numpy(z)
    identity_gap_t = float((torch.tanh(zt) - (2 * torch.sigmoid(2 * zt) - 1)).abs().max())
    claims.append(Claim.at_most("tanh(z) = 2 sigmoid(2z) - 1: max |difference| (scratch and torch)",
                                max(float(identity_gap), identity_gap_t), 1e-15))
    claims.append(Claim.close_to("sigmoid is not zero-centred: its mean on a symmetric grid",
                                 float(s.mean()), 0.5, 1e-12,
                                 evidence=f"tanh's mean {float(table['tanh']['f'].mean()):.2g}"))
    rg, rgt = table["relu"]["grad"], table["relu"]["grad_torch"]
    values = sorted(set(rg.tolist()) | set(rgt.tolist()))
    claims.append(Claim.holds("ReLU' takes only the values 0 and 1 (scratch and autograd, 0 at z = 0)",
                              values == [0.0, 1.0] and rg[len(z) // 2] == 0.0 == rgt[len(z) // 2],
                              value=values))
    claims.append(Claim.at_most("ReLU' for every z < 0 (no gradient flows back)", float(rg[z < 0].max()), 0.0))
    lg, lgt = table["leaky_relu"]["grad"], table["leaky_relu"]["grad_torch"]
    claims.append(Claim.close_to(f"leaky ReLU' for z < 0 keeps a gradient of alpha = {LEAKY_ALPHA}",
                                 float(min(lg[z < 0].min(), lgt[z < 0].min())), LEAKY_ALPHA, 1e-15))
    eg, egt = table["elu"]["grad"], table["elu"]["grad_torch"]
    claims.append(Claim.close_to("ELU' for z < 0 stays positive: smallest value on [-6, 0) is alpha*e^-6",
                                 float(min(eg[z < 0].min(), egt[z < 0].min())), ELU_ALPHA * math.exp(-6),
                                 1e-15))


def _sigmoid_chain(claims: list[Claim], layers: int = 10, chains: int = 1000) -> None:
    """The vanishing-gradient bound, measured on chains a_l = σ(w_l·a_{l−1} + b_l) with torch autograd.

    d a_L / d a_0 = Π w_l·σ'(s_l): the σ' factors alone are at most (1/4)^L, whatever the weights;
    the gradient itself also carries every weight, and with w = 4, s = 0 it is (4·1/4)^L = 1.
    """
    import torch

    gen = torch.Generator().manual_seed(0)
    w = torch.empty(chains, layers, dtype=torch.float64).uniform_(-3, 3, generator=gen)
    b = torch.empty(chains, layers, dtype=torch.float64).uniform_(-1, 1, generator=gen)
    a = torch.zeros(chains, dtype=torch.float64, requires_grad=True)
    h, s_all = a, []
    for layer in range(layers):
        s = w[:, layer] * h + b[:, layer]
        s_all.append(s)
        h = torch.sigmoid(s)
    h.sum().backward()
    factors = torch.stack([torch.sigmoid(s) * (1 - torch.sigmoid(s)) for s in s_all]).prod(0).detach()
    claims.append(Claim.at_most(f"{layers} sigmoid layers: the product of their sigmoid' factors is at most "
                                f"(1/4)^{layers}", float(factors.max()), 0.25 ** layers,
                                evidence=f"largest over {chains} random chains (w in [-3, 3]); their gradients "
                                f"d a_{layers}/d a_0 = Π w·σ'(s) reach {float(a.grad.abs().max()):.3g}"))
    a0 = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    h = a0
    for _ in range(layers):
        h = torch.sigmoid(4.0 * h - 4.0 * h.detach())  # b_l = −4·a_{l−1}, so s_l = 0 and σ'(s_l) = 1/4
    h.backward()
    claims.append(Claim.close_to(f"... but the gradient through them also multiplies each weight: with w = 4 and "
                                 f"s = 0 in every layer it is (4·1/4)^{layers}", float(a0.grad), 1.0, 1e-12,
                                 evidence="torch autograd; vanishing needs |w·σ'(s)| < 1, which small weights "
                                 "and saturated units give"))


def _dead_relu_demo(quick: bool, seed: int, big_lr: float, bias_shift: float) -> dict[str, Any]:
    import torch

    from backproplab.torchnn import MLP, seeded_init

    epochs = 6 if quick else 15
    small_lr, sizes = 0.5, [2, 64, 64, 2]
    X_np, y_np = moons(200, noise=0.15, seed=seed)
    X = torch.tensor(X_np, dtype=torch.float32)
    y = torch.tensor(y_np)
    claims: list[Claim] = []

    def fresh():
        with seeded_init(seed):
            return MLP(sizes, "relu")

    # a healthy run
    model = fresh()
    init = dead_by_probe(model, X)
    init_dead = init["all"]
    healthy_hist = _fit(model, X, y, small_lr, epochs, seed)
    healthy = dead_by_probe(model, X)
    healthy_acc = _accuracy(model, X, y)
    healthy_all = [healthy["all"]] + [r["dead"]["all"] for r in _runs_from_starts(X, y, sizes, small_lr, epochs, seed, 1)]

    # the same start and the next seeds' starts, a too-large learning rate
    big_runs = _runs_from_starts(X, y, sizes, big_lr, epochs, seed)
    big_hist, big_dead, big_acc = big_runs[0]["hist"], big_runs[0]["dead"], big_runs[0]["acc"]

    # the healthy network, first-layer biases shifted down, then trained on
    sh = _shift_biases(model, fresh(), X, y, bias_shift, small_lr, epochs, seed)
    shifted, cond_mask, cond_after = sh["model"], sh["cond_mask"], sh["cond_after"]
    shift_dead, shift_acc, after_dead, after_acc = sh["dead"], sh["acc"], sh["after_dead"], sh["after_acc"]
    dead_grad, alive_grad, moved = sh["dead_grad"], sh["alive_grad"], sh["moved"]
    shift_hist, pre_before, pre_after = sh["hist"], sh["pre_before"], sh["pre_after"]

    # the probe and the condition agree, layer by layer, on every network whose weights are numbers
    # (an overflowed one has NaN pre-activations: "dead" means nothing there)
    agree = []
    compared = [net for net in [model, shifted] + [r["model"] for r in big_runs] if _finite(net)]
    for net in compared:
        probe_frac = dead_by_probe(net, X)["layers.1"]
        cond_frac = float(dead_by_condition(net.layers[0], X).mean())
        agree.append(abs(probe_frac - cond_frac))
    claims.append(Claim.at_most(f"DeadUnits probe == the condition max_x (w.x + b) <= 0 (first layer, {len(compared)} "
                                "networks): max |fraction difference|", max(agree), 0.0,
                                evidence="" if len(compared) == 2 + len(big_runs) else
                                f"{2 + len(big_runs) - len(compared)} lr {big_lr:g} network(s) overflowed: not compared"))
    claims.append(Claim.at_most(f"healthy training (lr {small_lr}, {epochs} epochs): dead fraction of all ReLUs, median "
                                f"of {len(healthy_all)} starts", float(np.median(healthy_all)), HEALTHY_DEAD,
                                evidence=f"per start {', '.join(f'{d:.0%}' for d in healthy_all)}; at the first, "
                                         f"{init_dead:.0%} were dead at initialisation; accuracy {healthy_acc:.0%}"))
    claims.extend(_big_lr_claims(big_runs, big_lr))
    claims.append(Claim.at_least(f"first-layer biases shifted down by {bias_shift:g}: first-layer dead fraction",
                                 shift_dead["layers.1"], KILLED_DEAD,
                                 evidence=f"was {healthy['layers.1']:.0%}; accuracy {healthy_acc:.0%} -> "
                                          f"{shift_acc:.0%}"))
    claims.append(Claim.at_most("a dead unit receives exactly zero gradient: max |dL/dw|, |dL/db| of dead units",
                                dead_grad, 0.0, evidence="no first-layer unit is left alive to compare"
                                if alive_grad is None else f"live units: max |dL/dw| = {alive_grad:.3g}"))
    claims.append(Claim.at_most(f"dead first-layer units stay dead: how far their weights moved in {epochs} more "
                                f"epochs of training", moved, 0.0,
                                evidence=f"{int(cond_mask.sum())} dead before, {int(cond_after.sum())} after"))
    claims.append(Claim.holds("no dead first-layer unit revived", bool(np.all(cond_after[cond_mask])),
                              value=int((cond_mask & ~cond_after).sum())))

    rows = [_dead_row(label, dead, acc) for label, dead, acc in (
        ("at initialisation", init, _accuracy(fresh(), X, y)),
        (f"trained, lr {small_lr}", healthy, healthy_acc),
        (f"trained, lr {big_lr:g}" + ("" if big_runs[0]["finite"] else " (overflowed)"), big_dead, big_acc),
        (f"trained, biases shifted by -{bias_shift:g}", shift_dead, shift_acc),
        (f"shifted, then {epochs} more epochs", after_dead, after_acc))]
    return {"rows": rows, "claims": claims, "healthy_hist": healthy_hist, "big_hist": big_hist,
            "shift_hist": shift_hist, "init_dead": init_dead, "pre_before": pre_before, "pre_after": pre_after,
            "small_lr": small_lr, "big_lr": big_lr, "bias_shift": bias_shift,
            "params": {"dead_relu_model": sizes, "dead_relu_epochs": epochs, "small_lr": small_lr,
                       "data": "moons(200, noise=0.15)"}}


def _finite(net: Any) -> bool:
    import torch

    return all(bool(torch.isfinite(p).all()) for p in net.parameters())


def _runs_from_starts(X: Any, y: Any, sizes: list[int], lr: float, epochs: int, seed: int,
                      first: int = 0) -> list[dict[str, Any]]:
    """Networks trained at ``lr`` on the same data from the starts ``first``, ..., :data:`BIG_LR_STARTS` − 1: start
    0 is the healthy run's (``seed``), start k seed ``seed + k`` (initialisation and batch order; wrapping to 0).

    Returns one dict per run: ``seed``, ``model``, ``hist`` (dead fraction per epoch), ``dead`` (the probe's
    fractions), ``acc`` and ``finite`` (every weight a number)."""
    from backproplab.torchnn import MLP, seeded_init

    runs = []
    for start in following_seeds(seed, BIG_LR_STARTS)[first:]:
        with seeded_init(start):
            net = MLP(sizes, "relu")
        hist = _fit(net, X, y, lr, epochs, start)
        runs.append({"seed": start, "model": net, "hist": hist, "dead": dead_by_probe(net, X),
                     "acc": _accuracy(net, X, y), "finite": _finite(net)})
    return runs


def _big_lr_claims(runs: list[dict[str, Any]], big_lr: float) -> list[Claim]:
    """The median dead fraction of the runs at ``big_lr`` (an overflowed run counted as none dead) and how many
    stayed finite."""
    counted = [r["dead"]["all"] if r["finite"] else 0.0 for r in runs]
    finite = sum(r["finite"] for r in runs)
    listing = "; ".join(f"seed {r['seed']}: " + (f"{r['dead']['all']:.0%} dead, accuracy {r['acc']:.0%}"
                                                 if r["finite"] else "overflowed") for r in runs)
    return [
        Claim.at_least(f"a too-large learning rate ({big_lr:g}) from the healthy run's start and {len(runs) - 1} "
                       f"others: dead fraction, median of {len(runs)} runs (an overflowed run counts as 0)",
                       float(np.median(counted)), KILLED_DEAD, evidence=listing),
        Claim.at_least(f"with learning rate {big_lr:g} the units mostly die rather than overflow: runs whose "
                       f"weights all stay finite (of {len(runs)})", finite, BIG_LR_FINITE,
                       evidence="an overflowed run diverged (its steps grew the weights without bound) instead of "
                                "leaving units dead; at lr 5 about one run in thirty does, within three epochs"),
    ]


def _dead_row(network: str, dead: dict[str, float], accuracy: float) -> dict[str, Any]:
    """One row of the dead-ReLU table: dead fractions (all ReLUs, first layer) and accuracy."""
    return {"network": network, "dead (all ReLUs)": dead["all"], "dead (first layer)": dead["layers.1"],
            "accuracy": accuracy}


def _shift_biases(model: Any, shifted: Any, X: Any, y: Any, bias_shift: float, small_lr: float, epochs: int,
                  seed: int) -> dict[str, Any]:
    """A copy (``shifted``, a fresh MLP) of the trained ``model`` with its first-layer biases moved
    down by ``bias_shift``: which units it kills, the gradient they get, and whether training revives them."""
    import torch

    first = model.layers[0]
    pre_before = (X @ first.weight.T + first.bias).detach().amax(dim=0).numpy()
    shifted.load_state_dict(model.state_dict())
    with torch.no_grad():
        shifted.layers[0].bias -= bias_shift
    pre_after = (X @ shifted.layers[0].weight.T + shifted.layers[0].bias).detach().amax(dim=0).numpy()
    shift_dead = dead_by_probe(shifted, X)
    shift_acc = _accuracy(shifted, X, y)
    cond_mask = dead_by_condition(shifted.layers[0], X)
    # the gradient a dead unit receives, on the whole data set
    shifted.zero_grad()
    torch.nn.functional.cross_entropy(shifted(X), y).backward()
    g = shifted.layers[0]
    dead_grad = float(max(g.weight.grad[cond_mask].abs().max(), g.bias.grad[cond_mask].abs().max())) \
        if cond_mask.any() else 0.0
    # None when the shift killed every first-layer unit: there is no live unit to measure
    alive_grad = float(g.weight.grad[~cond_mask].abs().max()) if (~cond_mask).any() else None
    w_dead_before = g.weight.detach()[cond_mask].clone()
    b_dead_before = g.bias.detach()[cond_mask].clone()
    shift_hist = _fit(shifted, X, y, small_lr, epochs, seed + 1)
    cond_after = dead_by_condition(shifted.layers[0], X)
    moved = float(max((shifted.layers[0].weight.detach()[cond_mask] - w_dead_before).abs().max(),
                      (shifted.layers[0].bias.detach()[cond_mask] - b_dead_before).abs().max())) \
        if cond_mask.any() else 0.0
    after_dead = dead_by_probe(shifted, X)
    after_acc = _accuracy(shifted, X, y)
    return {"model": shifted, "cond_mask": cond_mask, "cond_after": cond_after, "dead": shift_dead,
            "acc": shift_acc, "after_dead": after_dead, "after_acc": after_acc, "dead_grad": dead_grad,
            "alive_grad": alive_grad, "moved": moved, "hist": shift_hist, "pre_before": pre_before,
            "pre_after": pre_after}

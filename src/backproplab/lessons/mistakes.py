"""Common mistakes, demonstrated: each wrong version runs beside the right one, and the difference is measured.

The mistakes are the ones the course contracts warn about (docs/CONTRACTS.md):

1. a compounding step-size decay ηₜ = ηₜ₋₁·dᵗ instead of ηₜ = η₀·dᵗ (Radboud 1.1g,h);
2. the variance 2/d1 passed where He initialisation needs the std √(2/d1) (Radboud 1.5b);
3. fan-in √(2/d0) where the course's ``make_layer(100000, 2)`` assert needs fan-out √(2/d1);
4. forgetting the input channels when counting a conv layer's parameters (Purdue Q3.2(c), (e));
5. 6×5 for a 5×6 output: height and width swapped (Purdue Q3.1(b));
6. the naive binary cross-entropy, NaN or inf at the edges (Radboud 1.3f,g);
7. ``add_gradients(params, learning_rate)``: a step up the gradient (Radboud 1.6);
8. ``_cross_entropy`` with its arguments reversed (Purdue 1.4).

Each gets a two-row table (wrong, right), a claim with the measured consequence, and one sentence of why.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backproplab.checks import check_seed, following_seeds
from backproplab.lessons.gradient_descent import step_sizes
from backproplab.lessons.result import Claim, LessonResult
from backproplab.scratch import NumpyANN

# Lazy imports, on purpose: torch, matplotlib, sklearn/scipy and the modules that load torch
# (backproplab.torchnn, backproplab.courses) are imported inside the functions that use them, so that
# importing this module (the CLI imports every lesson to list them) does not load torch.

NAME = "mistakes"
TITLE = "Common mistakes, run beside the right version"
ORDER = 95

__all__ = ["compounding_step_sizes", "naive_bce", "cross_entropy", "run"]

#: The global minimum of the Radboud f (docs/CONTRACTS.md C 1.1b-f), the floor of the decay figure.
GLOBAL_MINIMUM = -2.2807097


def compounding_step_sizes(eta0: float, decay: float, steps: int) -> list[float]:
    """The *wrong* schedule ηₜ = ηₜ₋₁·dᵗ (η₀ first): ηₜ = η₀·d^(t(t+1)/2), far below η₀·dᵗ."""
    etas = [float(eta0)]
    for t in range(1, steps):
        etas.append(etas[-1] * decay ** t)
    return etas


def naive_bce(y, y_hat):
    """The *wrong* BCE: −mean(y log ŷ + (1 − y) log(1 − ŷ)) written straight out (NaN at 0·log 0)."""
    import torch

    return -(y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)).mean()


def cross_entropy(first: np.ndarray, second: np.ndarray, clip: float = 1e-12) -> float:
    """The contract's −(1/K) Σₖ first·log(clip(second)), averaged over rows: right as (y_true, y_pred)."""
    first, second = np.atleast_2d(first), np.atleast_2d(second)
    return float(np.mean(-np.sum(first * np.log(np.clip(second, clip, 1.0)), axis=1) / first.shape[1]))


def _two(wrong: dict[str, Any], right: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"version": "wrong", **wrong}, {"version": "right", **right}]


# -- 1. decay ---------------------------------------------------------------------------------------------
def _decay() -> tuple[list[Claim], list[dict], dict]:
    from backproplab.courses import radboud as r

    right_etas = step_sizes(0.2, 0.9, 10).tolist()
    wrong_etas = compounding_step_sizes(0.2, 0.9, 10)
    right, wrong = r.optimize_f(3, 2, 0.2, 10, decay=0.9), r.descend_f(3, 2, wrong_etas)
    curves = {name: [r.f(float(x), float(y)) for x, y in zip(run[3], run[4], strict=True)]
              for name, run in (("wrong: ηₜ = ηₜ₋₁·dᵗ", wrong), ("right: ηₜ = η₀·dᵗ", right))}
    rows = _two({"schedule": "ηₜ = ηₜ₋₁·dᵗ (compounding)", "last step size": wrong_etas[-1],
                 "f after 10 steps": float(wrong[2])},
                {"schedule": "ηₜ = η₀·dᵗ", "last step size": right_etas[-1], "f after 10 steps": float(right[2])})
    why = (f"compounding multiplies dᵗ onto an already decayed step, so ηₜ = η₀·d^(t(t+1)/2): the tenth step is "
           f"{wrong_etas[-1]:.2g} instead of {right_etas[-1]:.2g} and the descent stalls short of the minimum")
    claims = [Claim.close_to("decay: the compounding schedule ends at f = −2.1475 (η₀ 0.2, d 0.9, 10 steps from "
                             "(3, 2))", float(wrong[2]), -2.1475, 5e-5, why),
              Claim.close_to("decay: the right schedule ηₜ = η₀·dᵗ ends at f = −2.266296", float(right[2]),
                             -2.266296, 1e-6)]
    return claims, rows, curves


# -- 2, 3. initialisation ------------------------------------------------------------------------------
def _he_init(seed: int) -> tuple[list[Claim], list[dict], list[dict], dict]:
    import torch

    from backproplab.courses import radboud as r

    gen = torch.Generator().manual_seed(seed)
    width, depth = 256, 10
    h = {"wrong": torch.randn(512, width, generator=gen, dtype=torch.float64)}
    h["right"] = h["wrong"].clone()
    stds: dict[str, list[float]] = {"wrong": [], "right": []}
    for _ in range(depth):
        w, _, _ = r.make_layer(width, width, r.relu, dtype=torch.float64, generator=gen)
        for name, weight in (("right", w), ("wrong", w / math.sqrt(2 / width) * (2 / width))):
            h[name] = r.relu(h[name] @ weight)
            stds[name].append(float(h[name].std()))
    big, _, _ = r.make_layer(100000, 2, r.relu, dtype=torch.float64, generator=gen)
    big_std = float(big.std())  # fan-out √(2/2) = 1: the variance 2/2 is 1 too
    fan_in_std = float((big * math.sqrt(2 / 100000)).std())
    ratio = stds["wrong"][-1] / stds["right"][-1]
    variance_rows = _two(
        {"weight std at 256→256": 2 / width, f"activation std after {depth} ReLU layers": stds["wrong"][-1],
         "make_layer(100000, 2) std": big_std},
        {"weight std at 256→256": math.sqrt(2 / width), f"activation std after {depth} ReLU layers":
         stds["right"][-1], "make_layer(100000, 2) std": big_std})
    fan_rows = _two({"std formula": "√(2/d0) (fan-in)", "make_layer(100000, 2) std": fan_in_std,
                     "assert |std − 1| < 0.01": "fails" if abs(fan_in_std - 1) >= 0.01 else "passes"},
                    {"std formula": "√(2/d1) (fan-out)", "make_layer(100000, 2) std": big_std,
                     "assert |std − 1| < 0.01": "passes" if abs(big_std - 1) < 0.01 else "fails"})
    claims = [
        Claim.at_most(f"He init with the variance 2/d1 as the std: activations after {depth} ReLU layers of width "
                      f"{width} (std relative to the right init)", ratio, 1e-6,
                      f"std {stds['wrong'][-1]:.3g} against {stds['right'][-1]:.3g}: each layer scales the signal by "
                      f"√(2/d1) = {math.sqrt(2 / width):.3g} too little, so it vanishes geometrically"),
        Claim.close_to("He init: the course's make_layer(100000, 2) assert cannot catch variance-for-std (at d1 = 2 "
                       "both are 1): measured std", big_std, 1.0, 0.01),
        Claim.close_to("fan-in where the course's assert needs fan-out: make_layer(100000, 2) std = √(2/100000)",
                       fan_in_std, math.sqrt(2 / 100000), 1e-4,
                       f"{fan_in_std:.5f} fails `abs(std − 1) < 0.01`; the course scales by the output width d1, "
                       f"and at d0 = 100000, d1 = 2 the two fans differ {100000 // 2:,}-fold, the two stds "
                       f"√(2/d0) and √(2/d1) {math.sqrt(100000 / 2):.0f}-fold"),
    ]
    return claims, variance_rows, fan_rows, stds


# -- 4, 5. conv arithmetic --------------------------------------------------------------------------
def _conv() -> tuple[list[Claim], list[dict], list[dict]]:
    import torch
    from torch import nn

    def count(*layers: nn.Module) -> int:
        return int(sum(p.numel() for layer in layers for p in layer.parameters()))

    c_right = f"{count(nn.Conv2d(3, 1, 3))}/{count(nn.Conv2d(3, 1, 3, bias=False))}"
    c_wrong = f"{count(nn.Conv2d(1, 1, 3))}/{count(nn.Conv2d(1, 1, 3, bias=False))}"  # one channel assumed
    e_right = count(nn.Conv2d(1, 4, 6), nn.Conv2d(4, 3, 3))
    e_wrong = count(nn.Conv2d(1, 4, 6), nn.Conv2d(1, 3, 3))
    try:  # what a filter counted for one channel does with a colour image
        nn.Conv2d(1, 1, 3)(torch.zeros(1, 3, 12, 12))
        consequence = "ran"
    except RuntimeError as exc:
        consequence = "torch refuses: " + str(exc).split(",")[0][:80]
    channel_rows = _two({"Q3.2(c) with / without bias": c_wrong, "Q3.2(e)": e_wrong, "filter shape": "1×3×3"},
                        {"Q3.2(c) with / without bias": c_right, "Q3.2(e)": e_right, "filter shape": "3×3×3"})
    layer = nn.Conv2d(1, 1, 6, stride=2, padding=2)
    with torch.no_grad():
        right = tuple(layer(torch.zeros(1, 1, 10, 12)).shape[-2:])
        wrong = tuple(layer(torch.zeros(1, 1, 12, 10)).shape[-2:])
    try:
        torch.zeros(right) + torch.zeros(wrong)
        clash = "added"
    except RuntimeError as exc:
        clash = "adding them fails: " + str(exc).split(" at ")[0][:70]
    shape_rows = _two({"input read as": "12 high × 10 wide", "tensor": "[1, 1, 12, 10]",
                       "output": "×".join(map(str, wrong))},
                      {"input read as": "10 high × 12 wide", "tensor": "[1, 1, 10, 12]",
                       "output": "×".join(map(str, right))})
    claims = [
        Claim("conv counts without the input channels: Q3.2(c) wrong 10/9, torch 28/27", f"{c_wrong} vs {c_right}",
              "wrong 10/9 ≠ torch 28/27", c_wrong == "10/9" and c_right == "28/27",
              "each filter spans every input channel, 3·3·3 weights on a colour image; a 1-channel filter "
              f"on it: {consequence}"),
        Claim("conv counts without the input channels: Q3.2(e) wrong 178, torch 259", f"{e_wrong} vs {e_right}",
              "wrong 178 ≠ torch 259", (e_wrong, e_right) == (178, 259),
              "the second layer's three 3×3 filters each span the first layer's 4 channels: "
              "3·(9·4 + 1) = 111, not 30"),
        Claim("height and width swapped: 10×12 (height × width) read as 12×10 gives 6×5, torch's [N, C, H, W] "
              "gives 5×6",
              f"{wrong[0]}×{wrong[1]} vs {right[0]}×{right[1]}", "wrong 6×5 ≠ torch 5×6",
              (wrong, right) == ((6, 5), (5, 6)),
              f"tensors are [N, C, height, width], so 10×12 is 10 rows of 12; the two maps do not line up ({clash})"),
    ]
    return claims, channel_rows, shape_rows


# -- 6. naive BCE ------------------------------------------------------------------------------------------
def _bce() -> tuple[list[Claim], list[dict]]:
    import torch

    from backproplab.courses.radboud import bce_loss

    perfect = torch.tensor([0.0, 1.0])
    y_wrong, p_wrong = torch.tensor([0.0]), torch.tensor([1.0])
    naive = {"perfect": float(naive_bce(perfect, perfect)), "wrong": float(naive_bce(y_wrong, p_wrong))}
    fixed = {"perfect": float(bce_loss(perfect, perfect)), "wrong": float(bce_loss(y_wrong, p_wrong))}
    rows = _two({"formula": "−(y log ŷ + (1 − y) log(1 − ŷ))", "y = ŷ ∈ {0, 1} (perfect)": naive["perfect"],
                 "y = 0, ŷ = 1 (wrong)": naive["wrong"]},
                {"formula": "bce_loss: 0·log 0 = 0, log clamped", "y = ŷ ∈ {0, 1} (perfect)": fixed["perfect"],
                 "y = 0, ŷ = 1 (wrong)": fixed["wrong"]})
    claims = [
        Claim("naive BCE on perfect predictions gives NaN; bce_loss gives 0",
              f"naive {naive['perfect']}, fixed {fixed['perfect']:g}", "naive NaN, fixed 0",
              math.isnan(naive["perfect"]) and fixed["perfect"] == 0.0,
              "0·log 0 is 0·(−inf) = NaN in floating point; the fixed form takes y·log ŷ as 0 where y = 0 (xlogy)"),
        Claim("naive BCE on a confidently wrong prediction gives inf; bce_loss stays finite",
              f"naive {naive['wrong']}, fixed {fixed['wrong']:.4g}", "naive inf, fixed finite",
              math.isinf(naive["wrong"]) and math.isfinite(fixed["wrong"]),
              "log 0 = −inf; clamping ŷ and 1 − ŷ at float32's smallest normal number bounds the cost at 87.3"),
    ]
    return claims, rows


# -- 7. add_gradients with the wrong sign -------------------------------------------------------------------
DESCENT_STARTS = 5
"""Seeds the right call trains from (the lesson's seed and the next ones; the first also draws the figure). One
descent ends at a training loss 0.002-0.39 of its start for 197 of 200 seeds, but at 0.59, 0.97 and 1.03 for
--seed 3926619800, 1497631716 and 853011 (3 epochs, lr 0.2 from the course's wide init): one start in about 70
stalls, so the claim holds the median of five."""


def _train_losses(seed: int, sign: float, epochs: int) -> list[float]:
    """Training losses (start, then after each epoch) of the course's 64-32-1 digits network trained by
    ``add_gradients(params, sign * learning_rate)``, from ``seed``'s split, initialisation and batch order."""
    import torch

    from backproplab.courses import radboud as r

    x, y = r.digits_tensors(seed=seed)
    gen = torch.Generator().manual_seed(seed)
    params = r.enable_gradients([r.make_layer(64, 32, r.relu, generator=gen),
                                 r.make_layer(32, 1, r.sigmoid, generator=gen)])
    losses = [r.evaluate(params, x["train"], y["train"])[0]]
    for _ in range(epochs):
        order = torch.randperm(len(x["train"]), generator=gen)
        for start in range(0, len(order), r.BATCH_SIZE):
            idx = order[start:start + r.BATCH_SIZE]
            r.bce_loss(y["train"][idx], r.network(x["train"][idx], params)).backward()
            r.add_gradients(params, sign * r.LEARNING_RATE)
            r.clear_gradients(params)
        losses.append(r.evaluate(params, x["train"], y["train"])[0])
    return losses


def _ascent(seed: int, epochs: int = 3) -> tuple[list[Claim], list[dict], dict]:
    curves = {"wrong: add_gradients(params, learning_rate)": _train_losses(seed, 1.0, epochs),
              "right: add_gradients(params, −learning_rate)": _train_losses(seed, -1.0, epochs)}
    (wrong_name, wrong), (right_name, right) = curves.items()
    seeds = following_seeds(seed, DESCENT_STARTS)
    ratios = [right[-1] / right[0]] + [(lambda v: v[-1] / v[0])(_train_losses(s, -1.0, epochs)) for s in seeds[1:]]
    rows = _two({"call": wrong_name.split(": ")[1], "training loss at start": wrong[0],
                 f"after {epochs} epochs": wrong[-1]},
                {"call": right_name.split(": ")[1], "training loss at start": right[0],
                 f"after {epochs} epochs": right[-1]})
    why = "add_gradients computes θ + step·∇θ, and +∇θ points uphill: descent must pass −learning_rate"
    claims = [Claim.at_least(f"add_gradients(params, learning_rate) climbs: training loss after {epochs} epochs "
                             "relative to its start", wrong[-1] / wrong[0], 2.0,
                             f"{wrong[0]:.4f} → {wrong[-1]:.4f}; {why}"),
              Claim.at_most(f"add_gradients(params, −learning_rate) descends: training loss after {epochs} epochs "
                            f"relative to its start, median of {len(seeds)} seeds", float(np.median(ratios)), 0.5,
                            f"seed {seed}: {right[0]:.4f} → {right[-1]:.4f}; per seed "
                            + ", ".join(f"{s}: {q:.3g}" for s, q in zip(seeds, ratios, strict=True)))]
    return claims, rows, curves


# -- 8. _cross_entropy with its arguments reversed ---------------------------------------------------------
def _reversed_cross_entropy() -> tuple[list[Claim], list[dict], dict]:
    K = 10
    p_true = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 0.99])  # probability on the true class, the rest spread evenly
    P = np.full((len(p_true), K), 0.0) + ((1 - p_true) / (K - 1))[:, None]
    P[:, 0] = p_true
    Y = np.zeros_like(P)
    Y[:, 0] = 1.0
    right = np.array([cross_entropy(Y[i], P[i]) for i in range(len(P))])
    wrong = np.array([cross_entropy(P[i], Y[i]) for i in range(len(P))])
    wrong_7 = cross_entropy(P[0], Y[0], clip=1e-7)
    right_7 = cross_entropy(Y[0], P[0], clip=1e-7)
    state = np.random.get_state()  # the course's NumpyANN seeds NumPy's global generator: leave it as it was
    try:
        ann = NumpyANN(4, 3, K, 0.1, 0)
    finally:
        np.random.set_state(state)
    method = np.array([ann._cross_entropy(y_true=Y[i:i + 1], y_pred=P[i:i + 1]) for i in range(len(P))])
    spread = float(np.ptp(method / right) / np.mean(method / right))
    def row(call: str, values: np.ndarray, at_clip_7: float) -> dict[str, Any]:
        return {"call": call, **{f"p(true) = {p:g}": float(v) for p, v in zip(p_true, values, strict=True)},
                "p(true) = 0.1, clip 1e-7": at_clip_7}

    rows = _two(row("_cross_entropy(y_pred, y_true)", wrong, wrong_7),
                row("_cross_entropy(y_true, y_pred)", right, right_7))
    claims = [
        Claim("reversed _cross_entropy arguments: at the untrained network's uniform prediction the value depends "
              "on the log's clip constant (1e-12 vs 1e-7); the right order does not",
              f"{wrong[0]:.4f} vs {wrong_7:.4f} (right: {right[0]:.4f}, {right_7:.4f})",
              "wrong changes, right = log(10)/10", abs(wrong[0] - wrong_7) > 0.5 and abs(right[0] - right_7) < 1e-12
              and abs(right[0] - math.log(10) / 10) < 1e-12,
              "reversed, it takes log of the one-hot truth: log 0 is clipped to log 1e-12 = −27.6, so the loss is "
              "−(1/K)(1 − p)·log(clip), an artefact of the clip, silently finite instead of an error"),
        Claim.at_most("NumpyANN._cross_entropy(y_true=…, y_pred=…) follows the right order on every row (spread of "
                      "its ratio to −(1/K)Σ y log p)", spread, 1e-9,
                      "a constant ratio: the method's own normalisation; against the reversed order the ratio's "
                      f"spread is {float(np.ptp(method / wrong) / np.mean(method / wrong)):.3g} of its mean"),
    ]
    return claims, rows, {"p_true": p_true.tolist(), "wrong": wrong.tolist(), "right": right.tolist()}


# -- the lesson ------------------------------------------------------------------------------------------
def _plot(decay: dict, stds: dict, ascent: dict, ce: dict) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 7.5))
    (a, b), (c, d) = fig.subplots(2, 2)
    for name, values in decay.items():
        gap = np.asarray(values) - GLOBAL_MINIMUM
        a.plot(range(len(values)), gap, marker="o", ms=3, label=f"{name} (ends at f = {values[-1]:.4f})")
    a.set(yscale="log", xlabel="step", ylabel=f"f(x, y) − f* (f* = {GLOBAL_MINIMUM})",
          title="1. step-size decay, η₀ 0.2, d 0.9, from (3, 2)")
    for name, values in stds.items():
        b.plot(range(1, len(values) + 1), values, marker="o", ms=3,
               label={"wrong": "wrong: std = 2/d1 (the variance)", "right": "right: std = √(2/d1)"}[name])
    b.set(yscale="log", xlabel="ReLU layer (width 256)", ylabel="activation std",
          title="2. He init: the variance passed as the std")
    for name, values in ascent.items():
        c.plot(range(len(values)), values, marker="o", ms=3, label=name)
    c.set(xlabel="epoch", ylabel="training loss (BCE)", title="7. add_gradients: the sign of the step")
    d.plot(ce["p_true"], ce["wrong"], marker="o", ms=3, label="wrong: _cross_entropy(y_pred, y_true)")
    d.plot(ce["p_true"], ce["right"], marker="o", ms=3, label="right: _cross_entropy(y_true, y_pred)")
    d.set(xlabel="predicted probability of the true class", ylabel="loss (one row, 10 classes)",
          title="8. _cross_entropy's argument order")
    for ax in (a, b, c, d):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def run(*, quick: bool = False, seed: int = 0) -> LessonResult:
    """Run every mistake beside its right version; return claims, two-row tables and one figure.

    Parameters
    ----------
    quick : bool
        Accepted for the common signature; the demonstrations are small, so both sizes are the same.
    seed : int
        Seed of the random draws (initialisations, batch orders).
    """
    from backproplab.torchnn.models import seeded_init
    from backproplab.torchnn.threads import one_torch_thread

    seed = check_seed(seed)
    with one_torch_thread(), seeded_init(seed):  # layers built with torch's default init draw from the seed
        decay_claims, decay_rows, decay_curves = _decay()
        init_claims, variance_rows, fan_rows, stds = _he_init(seed)
        conv_claims, channel_rows, shape_rows = _conv()
        bce_claims, bce_rows = _bce()
        ascent_claims, ascent_rows, ascent_curves = _ascent(seed)
        ce_claims, ce_rows, ce_curve = _reversed_cross_entropy()
        figure = _plot(decay_curves, stds, ascent_curves, ce_curve)
    claims = decay_claims + init_claims + conv_claims + bce_claims + ascent_claims + ce_claims
    tables = {"1_decay": decay_rows, "2_he_variance_for_std": variance_rows, "3_fan_in_for_fan_out": fan_rows,
              "4_conv_input_channels": channel_rows, "5_height_width": shape_rows, "6_naive_bce": bce_rows,
              "7_add_gradients_sign": ascent_rows, "8_cross_entropy_order": ce_rows}
    return LessonResult(NAME, TITLE, params={"quick": bool(quick), "seed": seed}, claims=claims,
                        figures={"mistakes": figure}, tables=tables)

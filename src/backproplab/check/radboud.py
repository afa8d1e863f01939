"""``radboud-a1``: the Radboud deep-learning assignment 1 notebook (CONTRACTS.md part C; 30 points
checked, 12 by hand).

Every expected value comes from :mod:`backproplab.courses.radboud` run here on the inputs the child
got (the same seeds, the same tensors); the written items 1.1b–f, 1.3d and 1.7 are listed with
their reference answers for the marker.
"""

from __future__ import annotations

import numpy as np
import torch

from backproplab.check.assignment import Assignment, Context, Item, ManualItem
from backproplab.check.compare import SHUFFLED_APART, Bad, labels_moved
from backproplab.check.notebook_assignment import got, near, part, preparer
from backproplab.check.probes import PROBES
from backproplab.check.result import Assertion
from backproplab.check.runner import ProbeOutput
from backproplab.courses import radboud as ref

OPT_CALLS = ((3.0, 2.0, 0.1, 10), (-1.0, 0.5, 0.05, 7))
LR, EPOCH_SEED, FIT_SEED, FIT_LR, FIT_EPOCHS = 0.1, 5, 0, 0.2, 25  # seed 0: val acc 0.966 for the reference
LAYER_DIMS = ((100_000, 2), (400, 50))


def make_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240917)
    inp = {"rad.opt_calls": np.array(OPT_CALLS), "rad.x34": rng.standard_normal((3, 4)) * 3,
           "rad.bce_y": rng.integers(0, 2, 8).astype(np.float64), "rad.bce_yhat": rng.uniform(0.05, 0.95, 8),
           "rad.m1_x": rng.standard_normal(4), "rad.m1_w": rng.standard_normal(4), "rad.m1_b": rng.standard_normal(()),
           "rad.net_x": rng.standard_normal((5, 4)), "rad.layer_dims": np.array(LAYER_DIMS),
           "rad.add_step": np.array(-0.5), "rad.lr": np.array(LR), "rad.epoch_seed": np.array(EPOCH_SEED),
           "rad.fit_seed": np.array(FIT_SEED), "rad.fit_lr": np.array(FIT_LR), "rad.fit_epochs": np.array(FIT_EPOCHS)}
    for tag, dims in (("net2_", (4, 3, 2)), ("net1_", (4, 3, 1)), ("tr_", (64, 8, 1))):
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            inp[f"rad.{tag}w{i}"] = rng.standard_normal((a, b)) * np.sqrt(2 / b)
            inp[f"rad.{tag}b{i}"] = rng.standard_normal(b) * 0.1
            if tag == "tr_":
                inp[f"rad.g_w{i}"], inp[f"rad.g_b{i}"] = rng.standard_normal((a, b)), rng.standard_normal(b)
    x, y = ref.digits_tensors(dtype=torch.float64)
    for k in ("train", "val"):
        inp[f"rad.dig_x{k}"], inp[f"rad.dig_y{k}"] = x[k].numpy(), y[k].numpy()
    return inp


def fresh_inputs(rng: np.random.Generator, inp: dict) -> dict[str, np.ndarray]:
    """Drawn anew for each submission: the inputs of the values the feedback shows whole (optimize_f's
    second call, bce_loss's and model1's one number, and evaluate's loss and accuracy, which the training
    weights give), so an answer read off one run's feedback does not answer the next. The course's own
    call optimize_f(3, 2, 0.1, 10) stays."""
    start = np.round(rng.uniform(-1.5, 1.5, 2), 2)
    out = {"rad.opt_calls": np.array([OPT_CALLS[0], (start[0], start[1], 0.05, int(rng.integers(5, 11)))]),
           "rad.bce_y": rng.integers(0, 2, 8).astype(np.float64), "rad.bce_yhat": rng.uniform(0.05, 0.95, 8),
           "rad.m1_x": rng.standard_normal(4), "rad.m1_w": rng.standard_normal(4), "rad.m1_b": rng.standard_normal(())}
    for i, (a, b) in enumerate(((64, 8), (8, 1))):
        out[f"rad.tr_w{i}"] = rng.standard_normal((a, b)) * np.sqrt(2 / b)
        out[f"rad.tr_b{i}"] = rng.standard_normal(b) * 0.1
    return out


def _t(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))


def _layers(inp, tag: str, acts) -> list:
    return [(_t(inp[f"rad.{tag}w{i}"]), _t(inp[f"rad.{tag}b{i}"]), h) for i, h in enumerate(acts)]


def judge_optimize_f(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    checks = []
    for k, (x, y, step, steps) in enumerate(ctx.inputs["rad.opt_calls"].tolist()):
        steps = int(steps)
        call = f"optimize_f({x}, {y}, {step}, {steps})"
        want = ref.optimize_f(x, y, step, steps)
        if out.values.get(f"opt{k}.n") != 5:
            checks.append(Assertion(call, False, f"{call} returned {out.values.get(f'opt{k}.n')} values; expected "
                                                 "the tuple (x, y, f(x, y), x_hist, y_hist)"))
            continue
        checks.append(near(f"{call}: x, y, f", call, np.concatenate([got(out, f"opt{k}.{n}", call).reshape(-1)
                                                                    for n in "xyf"]),
                           [float(want[0]), float(want[1]), float(want[2])], 1e-6))
        x_hist, y_hist = got(out, f"opt{k}.x_hist", call), got(out, f"opt{k}.y_hist", call)
        lengths_right = x_hist.size == y_hist.size == steps + 1  # else the hint blamed lengths that were right
        checks.append(near(f"{call}: histories", call + " histories", np.concatenate([x_hist, y_hist]),
                           np.concatenate([want[3].numpy(), want[4].numpy()]), 1e-6,
                           "" if lengths_right else
                           f"the histories hold steps + 1 = {steps + 1} entries each, the start included"))
    return checks


def judge_sigmoid(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    x = ctx.inputs["rad.x34"]
    at100, at1000 = got(out, "at100", "sigmoid"), got(out, "at1000", "sigmoid")
    warned = out.values.get("warnings") or []
    return [Assertion("a tensor", bool(out.values.get("is_tensor")), "sigmoid(x [3, 4] float64 tensor) returned "
                      + ("a tensor" if out.values.get("is_tensor") else "something that is not a torch.Tensor"),
                      "the contract's sigmoid is tensor in, tensor out: keep torch operations, no .numpy() or floats"),
            near("values", "sigmoid(x [3, 4])", got(out, "values", "sigmoid"), ref.sigmoid(_t(x)).numpy(), 1e-6),
            near("sigmoid(0)", "sigmoid(tensor([0.]))", got(out, "at0", "sigmoid"), [0.5], 1e-7),
            Assertion("exactly 0 and 1 at ∓100 (float32)", at100.tolist() == [0.0, 1.0],
                      f"sigmoid(tensor([-100., 100.])) gave {at100.tolist()}; expected exactly [0.0, 1.0]"),
            Assertion("finite at ±1000, no warning", bool(np.isfinite(at1000).all()) and not warned,
                      f"sigmoid(tensor([-1000., 1000.])) gave {at1000.tolist()}" + (f", warning {warned[0]}" if warned
                                                                                     else ""),
                      "exp overflows for large |x|: use torch.sigmoid, or exp(-|x|) in both branches")]


def judge_relu(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    x = ctx.inputs["rad.x34"]
    return [near("values", "relu(x [3, 4])", got(out, "values", "relu"), ref.relu(_t(x)).numpy(), 1e-12),
            near("relu(0)", "relu(torch.zeros(3))", got(out, "at0", "relu"), [0, 0, 0], 0)]


def judge_bce(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    y, y_hat = _t(ctx.inputs["rad.bce_y"]), _t(ctx.inputs["rad.bce_yhat"])
    want = float(ref.bce_loss(y, y_hat))
    swapped = float(ref.bce_loss(y_hat, y))
    value = got(out, "value", "bce_loss")
    n = y.numel()
    if value.size == 1 and abs(float(value) - swapped) < 1e-6:
        hint = "the truth comes first: bce_loss(y, y_hat)"
    elif value.size == 1 and abs(float(value) - n * want) < 1e-6 * n:
        hint = f"the loss is summed over the {n} samples: the contract takes the mean (.mean(), not .sum())"
    else:
        hint = "the mean over samples of −(y log ŷ + (1 − y) log(1 − ŷ))"
    return [near("value", "bce_loss(y, y_hat) on 8 samples", value, want, 1e-6, hint),
            Assertion("a 0-d tensor", out.values.get("ndim") == 0 and bool(out.values.get("is_tensor")),
                      f"bce_loss returned a {'tensor' if out.values.get('is_tensor') else 'non-tensor'} of "
                      f"{out.values.get('ndim')} dimensions; expected a 0-d tensor (the mean)"),
            near("symmetric", "bce_loss(1 - y, 1 - y_hat)", got(out, "mirrored", "bce_loss"), want, 1e-6)]


def judge_bce_perfect(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    perfect, p32, wrong = (got(out, k, "bce_loss") for k in ("perfect", "perfect32", "wrong"))
    hint = "0·log 0 is NaN: take it as 0 (torch.xlogy), and clamp the logarithm's argument"
    return [near("0 on perfect predictions", "bce_loss(y, y) with y = [0, 1, 1, 0] (float64 and float32)",
                 np.concatenate([perfect.reshape(-1), p32.reshape(-1)]), [0.0, 0.0], 1e-5, hint),
            Assertion("finite on wrong predictions", bool(np.isfinite(wrong).all()),
                      f"bce_loss(y, 1 - y) gave {wrong.tolist()}; expected a large finite number",
                      "clamp the logarithm's argument away from 0")]


def judge_model1(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    i = ctx.inputs
    want = ref.model1(_t(i["rad.m1_x"]), _t(i["rad.m1_w"]), _t(i["rad.m1_b"]))
    value = got(out, "value", "model1")
    logit = float(_t(i["rad.m1_x"]) @ _t(i["rad.m1_w"]) + _t(i["rad.m1_b"]))
    hint = ("model1 returned x·w + b: apply the sigmoid, σ(x·w + b)" if value.size == 1
            and abs(float(value.reshape(-1)[0]) - logit) < 1e-6 else "")
    return [near("σ(x·w + b)", "model1(x) with the notebook's w [4] and b", value, want.numpy(), 1e-6, hint),
            Assertion("a 0-d output", out.values.get("ndim") == 0, f"model1(x) has {out.values.get('ndim')} "
                                                                   "dimensions; expected 0")]


def judge_network(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    x = _t(ctx.inputs["rad.net_x"])
    acts = (torch.relu, torch.sigmoid)
    return [near("two outputs", "network(x [5, 4], 4→3 relu → 2 sigmoid)", got(out, "two", "network"),
                 ref.network(x, _layers(ctx.inputs, "net2_", acts)).numpy(), 1e-6),
            near("one output, squeezed", "network(x [5, 4], 4→3 relu → 1 sigmoid)", got(out, "one", "network"),
                 ref.network(x, _layers(ctx.inputs, "net1_", acts)).numpy(), 1e-6,
                 "squeeze the last dimension when it is 1: shape [N], not [N, 1]")]


def judge_make_layer(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    checks = []
    for d0, d1 in LAYER_DIMS:
        v = out.values.get(f"{d0}x{d1}") or {}
        std, want = v.get("std", float("nan")), (2 / d1) ** 0.5
        call = f"make_layer({d0}, {d1}, relu)"
        hint = ("you passed the variance 2/d1 where the std belongs: multiply by sqrt(2 / d1)"
                if abs(std - 2 / d1) < 0.05 * (2 / d1) else "w ~ N(0, std²) with std = √(2/d1), the output width")
        checks.append(Assertion(f"{call}: std √(2/d1)", abs(std - want) < 0.05 * want + 4 / (d0 * d1) ** 0.5,
                                f"{call}: the std of w is {std:.4g}; expected {want:.4g}", hint))
        checks.append(Assertion(f"{call}: shapes, zero bias, the activation",
                                v.get("w_shape") == [d0, d1] and v.get("b_shape") == [d1] and v.get("b_abs") == 0
                                and bool(v.get("activation_kept")),
                                f"{call}: w {v.get('w_shape')}, b {v.get('b_shape')} (max |b| {v.get('b_abs')}), "
                                f"activation returned: {bool(v.get('activation_kept'))}; expected w [{d0}, {d1}], "
                                f"b zeros [{d1}], and the activation passed in"))
    return checks


def _reference_epoch(inp) -> tuple[list, tuple[float, float], tuple[float, float], list[float]]:
    """The reference's seeded epoch on the probe's 64 samples: the parameters after it, its two readings of
    "returns mean loss and accuracy" (the mean over the batches as they were trained; ``evaluate`` on the
    training set after the epoch, the same shuffled batches), and the losses over five epochs."""
    x, y = _t(inp["rad.dig_xtrain"])[:64], _t(inp["rad.dig_ytrain"])[:64]
    params = ref.enable_gradients(_layers(inp, "tr_", (torch.relu, torch.sigmoid)))
    params = [(w.detach().clone().requires_grad_(), b.detach().clone().requires_grad_(), h) for w, b, h in params]
    torch.manual_seed(EPOCH_SEED)
    first = ref.train_epoch(params, x, y, LR, 16)
    after = [t.detach().numpy().copy() for layer in params for t in layer[:2]]
    evaluated = ref.evaluate(params, x, y)
    return after, first, evaluated, [first[0]] + [ref.train_epoch(params, x, y, LR, 16)[0] for _ in range(4)]


def _epoch_returns(value: np.ndarray, during: tuple[float, float], after: tuple[float, float],
                   call: str, trained_right: bool = True) -> list[Assertion]:
    """train_epoch's (loss, accuracy) against both readings of the contract's "returns mean loss and
    accuracy": the mean over the epoch's batches as they were trained (the course's), or the loss and
    accuracy on the training set after the epoch; the second passes with a note that says so. When the
    epoch itself trained wrong (``trained_right`` False), the values follow from that, and the hint says
    so instead of blaming the averaging (no shuffle, no clear_gradients, a climb all drew that hint)."""
    name = "train_epoch: (mean loss, accuracy)"
    mean = near(name, call, value, list(during), 1e-6)
    if mean.passed:
        return [mean]
    late = near(name, call, value, list(after), 1e-6)
    fmt = lambda pair: f"({pair[0]:.6f}, {pair[1]:.6f})"  # noqa: E731
    if late.passed:
        return [late, Assertion(name, True, f"recognised as the loss and accuracy on the whole training set "
                                            f"after the epoch, {fmt(after)} (as evaluate(params, x_train, y_train) "
                                            f"gives them); the contract also allows the other reading, the mean "
                                            f"over the epoch's batches as they were trained, {fmt(during)}",
                                note=True)]
    return [Assertion(name, False, f"{mean.message.split('; expected')[0]}; expected either reading of the "
                                   f"contract within 1e-6: the mean over the epoch's batches as they were trained "
                                   f"{fmt(during)}, or the loss and accuracy on the training set after the epoch "
                                   f"{fmt(after)}",
                      "not the mean over the epoch's samples: sum loss·batch size and the number correct over "
                      "the batches, then divide by the number of samples (or return evaluate(params, x_train, "
                      "y_train) after the last batch)" if trained_right else
                      "the epoch trained differently from the reference (its parameters after the epoch differ, "
                      "above), so its losses differ too: mend the training step first")]


def _helpers(inp, out: ProbeOutput) -> list[Assertion]:
    layers = _layers(inp, "tr_", (torch.relu, torch.relu))
    step = float(inp["rad.add_step"])
    added = np.concatenate([got(out, f"added{i}.{n}", "add_gradients").reshape(-1) for i in range(2) for n in "wb"])
    want = np.concatenate([(layers[i][k].numpy() + step * inp[f"rad.g_{n}{i}"]).reshape(-1)
                           for i in range(2) for k, n in enumerate("wb")])
    return [near("add_gradients: θ ← θ + step·∇θ", f"add_gradients(params, {step}) with known gradients", added,
                 want, 1e-9, "θ + step·∇θ: the caller passes -learning_rate for a descent step")]


def judge_training(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    inp, v = ctx.inputs, out.values
    checks = part(out, "enable", "enable_gradients", lambda: Assertion(
        "enable_gradients", bool(v.get("enabled")), "enable_gradients(params): every w and b requires grad: "
        f"{bool(v.get('enabled'))}"))
    checks += part(out, "add", "add_gradients", lambda: _helpers(inp, out))
    checks += part(out, "clear", "clear_gradients", lambda: Assertion(
        "clear_gradients", bool(v.get("cleared")), f"clear_gradients(params): every gradient zero: {bool(v.get('cleared'))}"))
    x, y = _t(inp["rad.dig_xtrain"])[:64], _t(inp["rad.dig_ytrain"])[:64]
    want_eval = ref.evaluate(_layers(inp, "tr_", (torch.relu, torch.sigmoid)), x, y)
    checks += part(out, "evaluate", "evaluate", lambda: near(
        "evaluate: (loss, accuracy)", "evaluate(params, x [64, 64], y [64])", got(out, "eval", "evaluate"),
        list(want_eval), 1e-6))
    after, first, evaluated, losses = _reference_epoch(inp)
    call = f"torch.manual_seed({EPOCH_SEED}); train_epoch(params, x [64, 64], y [64], {LR}, 16)"
    def epoch() -> list[Assertion]:
        apart = labels_moved(x.numpy(), y.numpy(), out.arrays.get("pairs.X"), out.arrays.get("pairs.y"))
        params = near("train_epoch: the parameters after one seeded epoch", call, np.concatenate(
            [got(out, f"epoch{i}.{n}", "train_epoch").reshape(-1) for i in range(2) for n in "wb"]),
            np.concatenate([a.reshape(-1) for a in after]), 1e-6, SHUFFLED_APART.replace("X and y", "x_train and "
            "y_train") if apart else
            "shuffle with torch.randperm, one add_gradients(params, -learning_rate) per batch, then clear_gradients")
        returns = _epoch_returns(got(out, "epoch_returns", "train_epoch"), first, evaluated, call, params.passed)
        return [params, *returns, _falls(got(out, "epoch_losses", "train_epoch"), losses)]

    checks += part(out, "epoch", "train_epoch", epoch)
    checks += part(out, "fit", "fit", lambda: _fit_accuracy(got(out, "fit_val_pred", "fit"), inp["rad.dig_yval"]))
    return checks


def _fit_accuracy(predicted: np.ndarray, labels: np.ndarray) -> Assertion:
    """The validation accuracy of the parameters ``fit`` trained, from their predictions on the validation
    images (taken before ``fit`` ran) and the labels held here: a ``fit`` that overwrote ``y["val"]`` with its
    own predictions scored 17/17 when the child counted the hits."""
    call = f"fit(params 64-32-1 relu/sigmoid, x, y, {FIT_LR}, 16, {FIT_EPOCHS}) on digits"
    if predicted.shape != labels.shape:
        raise Bad(f"{call}: the trained parameters gave {predicted.size} validation predictions for {labels.size} "
                  "images")
    accuracy = float(np.mean((predicted > 0.5) == (labels > 0.5)))
    return Assertion("fit: validation accuracy ≥ 0.95", accuracy >= 0.95,
                     f"{call}: validation accuracy {accuracy:.4f}; expected ≥ 0.95")


def _falls(losses: np.ndarray, reference: list[float]) -> Assertion:
    ok = losses.shape == (5,) and bool(losses[-1] < losses[0])
    hint = "" if ok else ("the loss rises: add_gradients(params, learning_rate) climbs the gradient; a descent "
                          "step passes -learning_rate")
    return Assertion("the loss falls over five epochs", ok, f"train_epoch's losses over five epochs: "
                     f"{np.round(losses, 4).tolist()} (the reference's: {np.round(reference, 4).tolist()})", hint)


def _text(*lines: str) -> str:
    return "\n".join("  " + line for line in lines)


MANUAL = (
    ManualItem("1.1b-f", "tuning the step size", 5, lambda: _text(
        "from (3, 2) with step 0.1 the descent ends in the local minimum f = 1.24273 at (0.606, −0.303);",
        "the global minimum is f = −2.2807097 at (−1.088162, 0.544081);",
        "too small a step crawls, too large a step diverges.",
        f"(1.1g,h, no points: ηₜ = η₀·dᵗ with η₀ 0.2, d 0.9, 10 steps from (3, 2) gives f = "
        f"{float(ref.optimize_f(3.0, 2.0, 0.2, 10, decay=0.9)[2]):.6f})")),
    ManualItem("1.3d", "which activation for outputs in [0, 1]", 1, lambda: _text(
        "sigmoid: its range is (0, 1); ReLU is unbounded above.")),
    ManualItem("1.7", "questions", 6, lambda: _text(
        "too low a learning rate learns slowly, too high a rate oscillates or diverges;",
        "small minibatches give noisy gradients but many updates per epoch, large ones accurate gradients but few;",
        "zero weights keep every hidden unit identical (no symmetry breaking); zero biases are fine.")),
)

ASSIGNMENT = Assignment(
    name="radboud-a1", filename="radboud_a1.ipynb", module="radboud_a1", cls="", probes=PROBES["radboud-a1"],
    items=(
        Item("1.1a", "optimize_f: gradient descent, values and histories", 1, judge_optimize_f),
        Item("1.3a", "sigmoid: values, exactly 0/1 at ∓100, finite at ±1000", 1, judge_sigmoid),
        Item("1.3b", "relu", 1, judge_relu),
        Item("1.3e", "bce_loss(y, y_hat): value, 0-d, symmetric", 1, judge_bce),
        Item("1.3f,g", "bce_loss: 0 on perfect predictions, finite on wrong ones", 2, judge_bce_perfect),
        Item("1.4", "model1(x) = σ(x·w + b), 0-d", 2, judge_model1, uses=("1.3a",)),  # the student's sigmoid
        Item("1.5a", "network(x, params): layers in order, last dimension squeezed", 2, judge_network),
        Item("1.5b", "make_layer(d0, d1, activation): std √(2/d1), zero bias", 3, judge_make_layer),
        Item("1.6", "training on digits: gradient helpers, evaluate, train_epoch, fit ≥ 0.95", 17, judge_training),
    ),
    make_inputs=make_inputs, fresh_inputs=fresh_inputs, item_timeout=120.0,
    prepare=preparer("radboud-a1", ("w", "b"), fixed_cells=False),
    manual=MANUAL,
    alt_filenames=("radboud_a1.py",),
)

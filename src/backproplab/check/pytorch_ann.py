"""``purdue-pytorch-ann``: the items of CONTRACTS.md A2 (``pytorch_ann.py``, ``PyTorchANN``, 14 points).

Expected values come from :class:`backproplab.courses.purdue.PyTorchANN` built with the same
arguments and known weights, trained by its own ``train`` on the same batch (one SGD step).
"""

from __future__ import annotations

import numpy as np
import torch

from backproplab.check import torch_common as tc
from backproplab.check.assignment import Assignment, Context, FashionRun, Item
from backproplab.check.compare import array, close, guarded
from backproplab.check.probes import PROBES
from backproplab.check.references import points, target
from backproplab.check.result import Assertion
from backproplab.check.runner import ProbeOutput

INIT = (784, 64, 10, 0)
SMALL = (20, 16, 10, 5)
LR = 0.1


def reference(*args):
    from backproplab.check.references import pytorch_ann

    return pytorch_ann()(*args)


def make_inputs() -> dict[str, np.ndarray]:
    """Known weights (the reference's own seeded init), batches and labels (seeded; no expected values)."""
    rng = np.random.default_rng(20240612)
    inp = {"init.args": np.array(INIT), "init.attrs": np.array(["input_size", "hidden_size", "output_size", "seed"]),
           "small.args": np.array(SMALL), "train.lr": np.array(LR)}
    inp.update(tc.known_inputs(reference(*SMALL)))
    d, k = SMALL[0], SMALL[2]
    for key, n in (("X", 12), ("one.X", 24), ("val.X", 10), ("plot.X", 48)):
        inp[key] = rng.standard_normal((n, d)).astype(np.float32)
    for key, n in (("one.y", 24), ("val.y", 10), ("plot.y", 48)):
        inp[key] = rng.integers(0, k, n).astype(np.int64)
    inp["plot.epochs"], inp["plot.batch"] = np.array(3), np.array(16)
    inp.update(tc.batch_inputs(inp, 8))
    return inp


def fresh_inputs(rng: np.random.Generator, inp: dict) -> dict[str, np.ndarray]:
    """Drawn anew for each submission: the rows of 2.2 and 2.4, whose 12 labels the feedback shows a few
    at a time (fixed, they could be read off over a few submissions and handed back)."""
    return {"X": rng.standard_normal((12, SMALL[0])).astype(np.float32)}


def _known(ctx: Context):
    return tc.load_known(reference(*SMALL), ctx.inputs)


def judge_init(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    return tc.judge_init(ctx, out, reference(*INIT), f"PyTorchANN{INIT}")


def judge_forward(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    X = ctx.inputs["X"]
    with torch.no_grad():
        expected = _known(ctx).forward(torch.from_numpy(X)).double().numpy()
    return tc.judge_logits(ctx, out, expected, f"forward(X) with known weights, X {X.shape} float32")


def _validation_recorded(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    """A2 2.3 "records per-epoch train/validation loss": the validation loss recorded after one epoch from
    known weights is not the training rows' loss (validation curves drawn from X_train passed 2.3, 2.5 and
    2.7, the two curves alike). No check when the curves cannot be read, or the value is neither loss."""
    recorded = (out.values.get("one.recorded") or {}).get("val_loss")
    if not isinstance(recorded, list) or len(recorded) != 1:
        return []
    X, y, Xv, yv = (torch.from_numpy(ctx.inputs[key]) for key in ("one.X", "one.y", "val.X", "val.y"))
    model = _known(ctx)
    model.train(X, y, Xv, yv, 1, X.shape[0], LR)
    with torch.no_grad():
        train_loss, val_loss = (float(torch.nn.functional.cross_entropy(model.forward(a), b)) for a, b in
                                ((X, y), (Xv, yv)))
    got = float(recorded[0])
    on_train = bool(np.isclose(got, train_loss, rtol=1e-4) and not np.isclose(got, val_loss, rtol=1e-4))
    call = ("train(X_train, y_train, X_val, y_val, epochs=1, ...) from known weights, its recorded validation "
            "loss")
    return [Assertion("validation curves from X_val", not on_train, f"{call}: {got:.6g}; the trained model's loss "
                      f"is {val_loss:.6g} on X_val, {train_loss:.6g} on X_train",
                      "the validation loss recorded is the training rows': compute the validation curves on "
                      "X_val, y_val" if on_train else "")]


def judge_train(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    return (tc.judge_sgd_steps(ctx, out, lambda: _known(ctx), LR) + tc.judge_batches(ctx, out, lambda: _known(ctx), LR)
            + _validation_recorded(ctx, out))


def judge_predict(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    X = ctx.inputs["X"]
    with torch.no_grad():
        expected = _known(ctx).forward(torch.from_numpy(X)).argmax(dim=1).numpy()
    pred = out.arrays.get("pred")
    shape_hint = (f"predict returned scores of shape {pred.shape}: return their argmax over classes"
                  if pred is not None and pred.ndim == 2 else "")
    return guarded("predict(X)", lambda: close("predict(X) returns labels", f"predict(X) with known weights, "
                                               f"X {X.shape}", array(out, "pred", "predict(X)"), expected,
                                               rtol=0, atol=0, shape_hint=shape_hint))


def _side_by_side(ax: list[dict]) -> bool:
    return any(abs(a["box"][1] - b["box"][1]) < 0.05 and a["box"][0] < b["box"][0]
               for i, a in enumerate(ax) for b in ax[i + 1:]) or any(
               abs(a["box"][1] - b["box"][1]) < 0.05 and b["box"][0] < a["box"][0]
               for i, a in enumerate(ax) for b in ax[i + 1:])


def _same_series(recorded: list, drawn: list) -> bool:
    """A drawn line is a recorded series, or the series in percent (or a percentage as a fraction)."""
    a, b = np.asarray(recorded, dtype=float), np.asarray(drawn, dtype=float)
    return a.shape == b.shape and any(np.allclose(b, f * a, rtol=1e-5, atol=1e-8, equal_nan=True)
                                      for f in (1.0, 100.0, 0.01))


def _draws_the_record(out: ProbeOutput, figs: list[dict], call: str) -> list[Assertion]:
    """When the model's attributes hold the four per-epoch curves, the plot draws them (a plot of made-up
    lines, of the right length, passed); no check when they cannot be read there."""
    recorded = out.values.get("recorded") or {}
    if not figs or sorted(recorded) != ["train_acc", "train_loss", "val_acc", "val_loss"]:
        return []
    drawn = [line["y"] for f in figs for ax in f["axes"] for line in ax["lines"]]
    missing = [k for k, series in sorted(recorded.items()) if not any(_same_series(series, y) for y in drawn)]
    return [Assertion("draws the recorded curves", not missing, f"{call}: " + (
        "the lines are the curves train recorded" if not missing else f"no line is the recorded "
        f"{', '.join(missing)} ({'; '.join(f'{k} {recorded[k]}' for k in missing)})"),
        "" if not missing else "plot the per-epoch values train recorded (self.history), not other numbers")]


def judge_plot(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    epochs = int(ctx.inputs["plot.epochs"])
    figs = [f for f in out.values.get("figures") or [] if f["axes"]]
    call = f"plot_train_val_metrics() after train(..., epochs={epochs})"
    panels = max((f["axes"] for f in figs if _side_by_side(f["axes"])), key=len, default=[])
    full = [a for a in panels if sum(len(line["y"]) == epochs for line in a["lines"]) >= 2]
    checks = [Assertion("one figure", len(figs) == 1, f"{call} left {len(figs)} figures with axes open; the "
                        "contract draws one"),
              Assertion("two panels side by side", bool(panels), f"{call}: " + (f"{len(panels)} panels side by side"
                        if panels else "no two panels side by side (plt.subplots(1, 2))")),
              Assertion("train and validation curves per epoch", len(full) >= 2,
                        f"{call}: {len(full)} panels hold two curves of {epochs} points (train and validation); "
                        "the contract has two: loss and accuracy")]
    checks += _draws_the_record(out, figs, call)
    pngs = out.values.get("pngs") or []
    from backproplab.courses.purdue import METRICS_PNG

    checks.append(Assertion("saved figure", True, f"the method saved {pngs or 'no file'}; the course's run saves "
                            f"{METRICS_PNG} (not graded here)", note=True))
    return checks


FULL_RUN = FashionRun(n_train=50_000, n_val=10_000, n_test=10_000, epochs=10, batch_size=64, lr=0.1,
                      hidden=128, bound=target("PyTorchANN"))
QUICK_RUN = FashionRun(n_train=5_000, n_val=500, n_test=1_000, epochs=5, batch_size=64, lr=0.1,
                       hidden=64, bound=0.72)

ASSIGNMENT = Assignment(
    name="purdue-pytorch-ann", filename="pytorch_ann.py", module="pytorch_ann", cls="PyTorchANN",
    probes=PROBES["purdue-pytorch-ann"],
    items=(
        Item("2.1", "__init__: attributes, torch.manual_seed, self.model layout", points("2.1"), judge_init),
        Item("2.2", "forward: logits", points("2.2"), judge_forward,
             uses=("2.1",)),
        Item("2.3", "train: SGD on nn.CrossEntropyLoss, zero_grad per batch", points("2.3"), judge_train,
             uses=("2.1", "2.2")),
        Item("2.4", "predict: argmax labels", points("2.4"), judge_predict,
             uses=("2.2",)),
        Item("2.5", "plot_train_val_metrics: loss and accuracy side by side", points("2.5"), judge_plot,
             uses=("2.3",)),
        Item("2.6", f"run on Fashion-MNIST: test accuracy ≥ {target('PyTorchANN'):.2f}", points("2.6"),
             lambda ctx, out: tc.judge_fashion(ctx, out, "PyTorchANN"), training=True, uses=("2.3", "2.4")),
        Item("2.7", "report_my_judgement agrees with the curves", points("2.7"), tc.judge_judgement, training=True,
             after="2.6"),
    ),
    make_inputs=make_inputs, fresh_inputs=fresh_inputs, full_run=FULL_RUN, quick_run=QUICK_RUN, item_timeout=60.0,
    training_timeout=1200.0, memory_mb=8192, quick_training_timeout=180.0,
)

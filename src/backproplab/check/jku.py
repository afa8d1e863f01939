"""``jku-a7``: the JKU assignment 7 notebook (CONTRACTS.md part B; 50 points checked, 50 by hand).

Expected values come from :mod:`backproplab.courses.jku` here: ``ANN_sigmoid``/``ANN_relu`` built
after ``torch.manual_seed(66)`` and run on the first two normalised training images. ``train_and_test``
runs in the child with the probe's own ``train``, ``test`` and small loaders, which record how they
were called. Tasks 1 and 2 are written: listed with the reference answers a marker needs, Task 2's
for the network the notebook states (:mod:`backproplab.check.stated_network`), else the course example.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import torch

from backproplab.check.assignment import Assignment, Context, Item, ManualItem
from backproplab.check.notebook_assignment import got, near, part, preparer
from backproplab.check.probes import PROBES
from backproplab.check.result import Assertion
from backproplab.check.runner import ProbeOutput
from backproplab.errors import InputError

SEED = 66
HYPER = (0.05, 0.5, 2)  # lr, momentum, epochs for 3.2c's run in the child
ANSWERS = {"a_": True, "b_": False, "c_": True, "d_": True, "e_": False}
LINEARS = [(784, 512), (512, 1024), (1024, 512), (512, 10)]
#: The names the child gives the notebook's module itself (3.2c's train, test and loaders; a device).
SUPPLIED = ("train", "test", "train_loader", "test_loader", "device")


def signature_spec(fn) -> str:
    """``fn``'s parameters as JSON, ``[[name, kind, default], ...]`` (kind: :class:`inspect.Parameter`'s
    kind as an int; default: a JSON value, or ``{"empty": true}`` for none), from which the child builds
    stand-ins that take exactly the course's arguments (the child cannot import the lab)."""
    params = []
    for p in inspect.signature(fn).parameters.values():
        default = {"empty": True} if p.default is inspect.Parameter.empty else p.default
        params.append([p.name, int(p.kind), default])
    return json.dumps(params)


def make_inputs() -> dict[str, np.ndarray]:
    """The first two training images, normalised, [2, 1, 28, 28]; 256 images for 3.2c's loaders; the
    signatures of the course's ``train`` and ``test``, which the child's stand-ins take."""
    from backproplab.courses import jku
    from backproplab.data import fashion_mnist_tensors

    X, y = fashion_mnist_tensors("train")
    return {"jku.seed": np.array(SEED), "jku.images": X[:2].numpy().astype(np.float32),
            "jku.small_x": X[:256].reshape(256, -1).numpy().astype(np.float32),
            "jku.small_y": y[:256].numpy().astype(np.int64), "jku.hyper": np.array(HYPER, dtype=np.float64),
            "jku.train_signature": np.array(signature_spec(jku.train)),
            "jku.test_signature": np.array(signature_spec(jku.test))}


def _reference(cls: str, seed: int, d_out: int, images: np.ndarray) -> np.ndarray:
    from backproplab.courses import jku

    torch.manual_seed(seed)
    net = getattr(jku, cls)(784, d_out)
    net.eval()
    with torch.no_grad():
        return net(torch.from_numpy(images)).double().numpy()


UNFLATTENED = [(r"mat1 and mat2 shapes cannot be multiplied \(\d+x28 and 784x",
                "the images reach the first Linear as [N, 1, 28, 28]: flatten them to [N, 784] first "
                "(x.view(x.size(0), -1) in forward, or nn.Flatten())"),
               # torch.flatten(x) or x.view(-1): the two images became one row of 1568
               (r"mat1 and mat2 shapes cannot be multiplied \(1x\d+ and 784x",
                "the whole batch was flattened into one row: keep the batch dimension and flatten each image "
                "(torch.flatten(x, 1) or x.view(x.size(0), -1))")]
"""The errors of a forward that does not flatten the images one by one, and what to do about them."""

BUILD_ERRORS = UNFLATTENED + [(r"cannot assign module before Module.__init__\(\) call",
                               "call super().__init__() at the start of __init__, before creating the layers")]
""":data:`UNFLATTENED` and the error of an ``__init__`` that does not call ``nn.Module.__init__``."""


def _seeded(cls: str, value: np.ndarray, images: np.ndarray) -> Assertion:
    """The seeded outputs against the reference's; the hint names an activation after the last layer
    (the contract's output is the fourth Linear's, no activation: the loss takes the logits)."""
    want = _reference(cls, SEED, 10, images)
    act, other_act = ("sigmoid", "ReLU") if cls == "ANN_sigmoid" else ("ReLU", "sigmoid")
    other = "ANN_relu" if cls == "ANN_sigmoid" else "ANN_sigmoid"
    if value.shape == want.shape and np.allclose(value, _reference(other, SEED, 10, images), atol=1e-4, rtol=0):
        return near("seeded outputs", f"torch.manual_seed({SEED}); {cls}(784, 10) on the first two normalised "
                    "training images", value, want, 1e-4, f"the outputs are {other}'s: {cls} applies {other_act} "
                    f"where the contract has {act}, after each of the first three Linears")
    logits = torch.from_numpy(want)
    after = {"a softmax": torch.softmax(logits, 1), "a log-softmax": torch.log_softmax(logits, 1),
             "a sigmoid": torch.sigmoid(logits), "a ReLU": torch.relu(logits)}
    last = next((name for name, t in after.items() if value.shape == want.shape
                 and np.allclose(value, t.numpy(), atol=1e-4, rtol=0)), None)
    hint = (f"the outputs are {last} of the contract's: no activation after the fourth Linear, return its "
            "output (the loss applies the softmax)" if last else
            f"the layers must be created in the contract's order with PyTorch's default init, {act} after the "
            "first three, and the input flattened")
    return near("seeded outputs", f"torch.manual_seed({SEED}); {cls}(784, 10) on the first two normalised "
                "training images", value, want, 1e-4, hint)


def judge_ann(cls: str):
    def judge(ctx: Context, out: ProbeOutput) -> list[Assertion]:
        images = ctx.inputs["jku.images"]
        rows = out.values.get("layout") or []
        linears = [(r["in_features"], r["out_features"]) for r in rows if r["type"] == "Linear"]
        architecture = lambda: Assertion(  # noqa: E731
            "architecture", bool(out.values.get("is_module")) and linears == LINEARS,
            f"{cls}(784, 10) is {'an nn.Module' if out.values.get('is_module') else 'not an nn.Module'} with "
            f"Linear layers {linears}; the contract: exactly four, created in the order {LINEARS}")
        # the layers are read before the forward runs: a forward that fails (no flatten) costs the outputs, not
        # the architecture it has (four right Linears scored 0 / 10, a wrong order 3.33)
        checks = [architecture()] if "layout" in out.values else part(out, "seeded", "architecture", architecture,
                                                                      BUILD_ERRORS)
        checks += part(out, "seeded", "seeded outputs", lambda: _seeded(cls, got(out, "seeded", cls), images),
                       BUILD_ERRORS)
        checks += part(out, "d_out5", "d_out honoured", lambda: Assertion(
            "d_out honoured", got(out, "d_out5", cls).shape == (2, 5),
            f"{cls}(784, 5) on a [2, 1, 28, 28] batch gave shape {got(out, 'd_out5', cls).shape}; expected (2, 5)"),
            BUILD_ERRORS)
        return checks

    return judge


def judge_train_and_test(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    lr, momentum, epochs = ctx.inputs["jku.hyper"].tolist()
    v = out.values
    call = f"train_and_test(model, {{'lr': {lr}, 'momentum': {momentum}, 'epochs': {int(epochs)}}})"
    sgd = v.get("optimizer") == "SGD" and v.get("same_optimizer") and v.get("optimizes_model")
    fresh = v.get("optimizer") == "SGD" and not v.get("same_optimizer")
    # another optimizer (Adam has no "momentum"; the probe sends -1 for a setting the optimizer lacks)
    other = v.get("optimizer") not in ("SGD", "", None)
    checks = [Assertion("optim.SGD over model.parameters()", bool(sgd),
                        f"{call} passed train a {v.get('optimizer') or 'no optimizer'}"
                        + ("" if v.get("optimizes_model") else " not over exactly model.parameters()")
                        + (", a new one for each epoch" if fresh else ""),
                        "create the optimizer once, before the epoch loop: a new one each epoch starts its "
                        "momentum from zero again" if fresh else
                        "the contract builds optim.SGD(model.parameters(), lr, momentum)" if other else ""),
              Assertion("the dictionary's lr", abs(v.get("lr", -1) - lr) < 1e-12,
                        f"{call}: the optimizer's lr is {v.get('lr')}; expected {lr}",
                        "read the learning rate from hyperparameters['lr']"),
              Assertion("the dictionary's momentum", abs(v.get("momentum", -1) - momentum) < 1e-12,
                        f"{call}: " + (f"the {v['optimizer']} optimizer has no momentum setting"
                                       if other and v.get("momentum", -1) == -1 else
                                       f"the optimizer's momentum is {v.get('momentum')}") + f"; expected {momentum}",
                        "pass momentum=hyperparameters['momentum'] to optim.SGD")]
    n_train, n_test = len(v.get("train_epochs") or []), v.get("test_calls", 0)
    checks.append(Assertion("train once per epoch", n_train == epochs and bool(v.get("train_args_ok")),
                            f"{call} called train {n_train} times (epochs {v.get('train_epochs')}); expected "
                            f"{int(epochs)}, each as train(model, train_loader, optimizer, epoch)",
                            "train_loader and optimizer are swapped: the course's train takes (model, train_loader, "
                            "optimizer, epoch)" if v.get("train_swapped") else ""))
    checks.append(Assertion("test once per epoch", n_test == epochs and bool(v.get("test_args_ok")),
                            f"{call} called test(model, test_loader) {n_test} times"
                            + (f" (and test on another loader {v['other_test_calls']} times)"
                               if v.get("other_test_calls") else "") + f"; expected {int(epochs)}, once per epoch"))
    checks.append(_gradient_plot(call, v))
    return checks


def _draws(lines: list, series: list[float]) -> bool:
    """Some line is ``series``, or its natural or base-10 log (the magnitudes on a log axis drawn by hand)."""
    s = np.asarray(series, dtype=np.float64)
    forms = [s] + ([np.log(s), np.log10(s)] if s.size and np.all(s > 0) else [])
    return any(len(y) == len(s) and np.allclose(y, f, rtol=1e-6, atol=1e-12) for y in lines for f in forms)


def _gradient_plot(call: str, v: dict) -> Assertion:
    """The figure draws, for each of the three hidden layers, the mean |gradient| train returned over all
    the batches: as one line over the epochs, or one line per epoch, in one figure or one per layer (made-up
    lines of any length passed)."""
    name = "a plot of the three layers' gradient magnitudes"
    counts, drawn = v.get("line_counts") or [], v.get("drawn") or []
    epochs = [e for e in v.get("epoch_grads") or [] if len(e) == 3]
    # three lines in one figure, or (checked against what train returned, so made-up ones cannot pass) over several
    three = any(sum(fig) >= 3 for fig in counts) or (sum(c for fig in counts for c in fig) >= 3 and bool(epochs))
    if not three or not epochs:
        return Assertion(name, bool(three) and not epochs, f"{call} left {len(counts)} figure(s) with lines per "
                         f"axes {counts}; expected three lines (one per hidden layer), in one figure or several",
                         "plot the three lists train returned")
    missing = [k + 1 for k in range(3) if not _draws(drawn, [g for e in epochs for g in e[k]])
               and not all(_draws(drawn, e[k]) for e in epochs)]
    n = sum(len(e[0]) for e in epochs)
    return Assertion(name, not missing, f"{call}: " + ("each hidden layer's line is the mean |gradient| train "
                     f"returned over the {n} batches" if not missing else f"no line holds the {n} values train "
                     f"returned for hidden layer(s) {', '.join(map(str, missing))} over the {len(epochs)} epochs "
                     f"(lines of {[len(y) for y in drawn]} points)"),
                     "" if not missing else "keep the lists train returns in every epoch, extend one list per layer "
                     "with them, and plot those three lists")


def judge_answers(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    checks = []
    for name, want in ANSWERS.items():
        kind, value = out.values.get(f"{name}.type"), out.values.get(f"{name}.value")
        if kind == "undefined":
            checks.append(Assertion(name, False, f"{name} is not defined: not implemented"))
        elif kind == "dropped":
            checks.append(Assertion(name, False, value, "write each answer as a plain True or False"))
        elif kind != "bool":
            checks.append(Assertion(name, False, f"{name} is {value} ({kind}); each answer is a Python bool, "
                                                 "True or False"))
        else:
            checks.append(Assertion(name, value == repr(want), f"{name} = {value}", "" if value == repr(want)
                                    else "see the contract's reasoning for this statement"))
    return checks


def xor_reference() -> str:
    """Task 1's numbers: least squares on XOR without and with a bias, and a two-layer ReLU solution."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0], dtype=float)
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    Xb = np.hstack([X, np.ones((4, 1))])
    wb, *_ = np.linalg.lstsq(Xb, y, rcond=None)
    hidden = np.maximum(0, X @ np.ones((2, 2)) + np.array([0, -1]))
    out = hidden @ np.array([1, -2])
    return (f"  1.1 no w fits XOR through the origin (x2, x3 force w1 = w2 = 1, then x4 gives 2, not 0). Least "
            f"squares without bias: w = {np.round(w, 6).tolist()}, MSE {np.mean((X @ w - y) ** 2):.6f}; with a "
            f"bias: w = {np.round(wb, 6).tolist()}, MSE {np.mean((Xb @ wb - y) ** 2):.6f} (predicts 1/2 "
            "everywhere).\n"
            f"  1.2 W1 = [[1, 1], [1, 1]], b = (0, −1), W2 = (1, −2) with ReLU: outputs {out.tolist()}; hidden "
            f"points {hidden.tolist()} are linearly separable.")


def _traced(net) -> tuple[str, bool]:
    """The trace of ``net`` as indented text, and whether every number in it is finite."""
    from backproplab.tracer import format_text, trace

    tr = trace(net)
    finite = all(np.all(np.isfinite(v)) for v in [tr.loss, *tr.s, *tr.a, *tr.delta, *tr.grad_w, *tr.grad_b])
    return "\n".join("  " + line for line in format_text(tr).splitlines()), finite


def backprop_reference() -> str:
    """Task 2's numbers for the course example (the handed-out notebook's network): every s, a, δ
    and ∂L/∂w, traced by :mod:`backproplab.tracer`."""
    from backproplab.lessons.backprop_trace import load_example

    return _traced(load_example("course"))[0]


def backprop_for(source: Path, cells: list | None = None) -> tuple[str, list[str]]:
    """Task 2's numbers for the network the notebook states (:mod:`backproplab.check.stated_network`),
    else for the course example; and the notes saying which network that is and, when a stated
    block could not be used, what is wrong with it. The notebook is read as data, never run; ``cells``:
    its cells when already read (by the preparer), else ``source`` is read."""
    from backproplab.check.notebook import read_cells
    from backproplab.check.stated_network import Stated, same_numbers, stated_network
    from backproplab.lessons.backprop_trace import load_example

    try:
        cells = read_cells(source) if cells is None else cells
        stated = stated_network(cells, export=Path(source).suffix.lower() != ".ipynb")
    except InputError as err:
        stated = Stated(None, "", [f"the notebook could not be read for Task 2's network: {err}"])
    if stated.network is None:
        why = ("no network block in the notebook could be used" if stated.notes else "the notebook states "
               "no network for Task 2 (a ```yaml block in the Task 2 section, as in the handed-out question)")
        return backprop_reference(), [f"Task 2's network: the course example, as {why}"] + stated.notes
    if same_numbers(stated.network, load_example("course")):
        used = f"Task 2's network: the course example, as stated in {stated.where}"
        return backprop_reference(), [used] + stated.notes
    used = f"Task 2's network: the one stated in {stated.where} (numbers of its own, not the course example's)"
    text, finite = _traced(stated.network)
    overflow = [] if finite else ["its numbers overflow: some values below are inf or nan (weights or inputs "
                                  "near 1e308?)"]
    return text, [used] + stated.notes + overflow


ASSIGNMENT = Assignment(
    name="jku-a7", filename="jku_a7.ipynb", module="jku_a7", cls="", probes=PROBES["jku-a7"],
    items=(
        Item("3.2a", "ANN_sigmoid: four Linear 784→512→1024→512→d_out, sigmoid, seeded outputs", 10,
             judge_ann("ANN_sigmoid")),
        Item("3.2b", "ANN_relu: the same with ReLU, seeded outputs", 10, judge_ann("ANN_relu")),
        Item("3.2c", "train_and_test: SGD(lr, momentum), epochs × train and test, gradient plot", 20,
             judge_train_and_test),
        Item("3.3", "true/false answers a_ … e_ (Python bools)", 10, judge_answers),
    ),
    make_inputs=make_inputs, item_timeout=120.0, prepare=preparer("jku-a7", SUPPLIED),
    manual=(ManualItem("1", "XOR: linear least squares (1.1) and a two-layer network (1.2)", 25, xor_reference),
            ManualItem("2", "backpropagation by hand: every s, a, δ and ∂L/∂w32", 25, backprop_reference,
                       for_submission=backprop_for)),
    alt_filenames=("jku_a7.py",),
)

"""Judges shared by the PyTorch assignments (A2 ``PyTorchANN``, A3 ``PyTorchCNN``).

The reference model is built here with the same arguments as the student's, described with the
same :func:`~backproplab.check.child.torch_probes.layout`, given the same known weights and run on
the same inputs; the student's values came back from the child as arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from backproplab.check.assignment import Context
from backproplab.check.child.torch_probes import layout
from backproplab.check.compare import SHUFFLED_APART, Bad, array, close, guarded, labels_moved, ratio, summary
from backproplab.check.numpy_ann import judge_accuracy_run
from backproplab.check.result import Assertion
from backproplab.check.runner import ProbeOutput
from backproplab.courses.purdue import JUDGEMENTS


def known_inputs(ref: torch.nn.Module, prefix: str = "known.") -> dict[str, np.ndarray]:
    """A reference model's parameters as the probes' known weights (registration order)."""
    plist = [p.detach().cpu().numpy().copy() for p in ref.parameters()]
    out = {f"{prefix}p{i}": p for i, p in enumerate(plist)}
    out[f"{prefix}count"] = np.array(len(plist))
    return out


def load_known(ref: torch.nn.Module, inputs, prefix: str = "known.") -> torch.nn.Module:
    with torch.no_grad():
        for i, p in enumerate(ref.parameters()):
            p.copy_(torch.from_numpy(inputs[f"{prefix}p{i}"]))
    return ref


def _layout_text(rows: list[dict]) -> str:
    return " → ".join(r["type"] + (f"({r.get('in_features', r.get('in_channels'))}, "
                                   f"{r.get('out_features', r.get('out_channels'))})"
                                   if "in_features" in r or "in_channels" in r else "") for r in rows)


def layout_hint(got: list[dict], want: list[dict]) -> str:
    kinds = [r["type"] for r in got]
    if kinds and kinds[-1] in ("Softmax", "LogSoftmax"):
        return f"the model ends with {kinds[-1]}: leave it out, nn.CrossEntropyLoss applies log-softmax itself"
    if [r["type"] for r in want] == kinds:
        diff = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
        return f"layer {diff} is {got[diff]}; the contract's is {want[diff]}"
    missing = sorted({r["type"] for r in want} - set(kinds))
    if missing:
        return f"no {', '.join(missing)} layer: the contract's layout has one"
    extra = sorted(set(kinds) - {r["type"] for r in want})
    if extra:
        return f"a {', '.join(extra)} layer the contract's layout does not have: leave it out"
    return "the layers are not in the contract's order"


def judge_init(ctx: Context, out: ProbeOutput, ref: torch.nn.Module, call: str,
               model_named: bool = True) -> list[Assertion]:
    """Attributes, ``nn.Module`` with ``self.model`` a Sequential (``model_named=False``: an
    ``nn.Sequential`` under any name, where the contract does not name it), layout, parameter count,
    seeded weights."""
    attrs = [str(a) for a in ctx.inputs["init.attrs"].tolist()]
    got = {a: out.values.get(f"attr.{a}") for a in attrs}
    want = {a: getattr(ref, a) for a in attrs}
    checks = [Assertion("attributes", got == want, f"{call} set {got}; expected {want}")] if attrs else []
    if model_named:
        checks.append(Assertion("an nn.Module with self.model", bool(out.values.get("is_module"))
                                and out.values.get("model_type") == "Sequential",
                                f"{call}: nn.Module {bool(out.values.get('is_module'))}, self.model is "
                                f"{out.values.get('model_type')}; the contract has self.model = nn.Sequential(...)"))
    else:
        held = out.values.get("sequentials") or []
        checks.append(Assertion("an nn.Module holding an nn.Sequential", bool(out.values.get("is_module")) and bool(held),
                                f"{call}: nn.Module {bool(out.values.get('is_module'))}, nn.Sequential attributes "
                                f"{held or 'none'}; the contract builds the layers as one nn.Sequential"))
    got_layout, want_layout = out.values.get("layout") or [], layout(ref)
    ok = got_layout == want_layout
    checks.append(Assertion("layout", ok, f"{call} builds {_layout_text(got_layout)}; the contract: "
                            f"{_layout_text(want_layout)}", "" if ok else layout_hint(got_layout, want_layout)))
    n_want = sum(p.numel() for p in ref.parameters())
    n_got = out.values.get("n_params")
    checks.append(Assertion("parameter count", n_got == n_want, f"{call} has {n_got:,} parameters; the contract's "
                            f"layout has {n_want:,}" if isinstance(n_got, int) else f"{call}: no parameters"))
    ref_params = [p.detach().numpy() for p in ref.parameters()]
    same = len([k for k in out.arrays if k.startswith("init.p")]) == len(ref_params) and all(
        out.arrays[f"init.p{i}"].shape == w.shape and np.array_equal(out.arrays[f"init.p{i}"], w)
        for i, w in enumerate(ref_params))
    checks.append(Assertion("initial weights from the seed", same,
                            f"{call}: the initial weights " + ("equal" if same else "differ from")
                            + " those of torch.manual_seed(seed) followed by the contract's layers",
                            "" if same or not ok else "call torch.manual_seed(seed) before creating the layers, "
                            "and create them in the contract's order"))
    return checks


def judge_logits(ctx: Context, out: ProbeOutput, expected: np.ndarray, call: str) -> list[Assertion]:
    soft = torch.softmax(torch.from_numpy(expected), dim=1).numpy()
    hints = [(lambda g, e: np.allclose(g, soft, atol=1e-5), "forward returned probabilities (a softmax): return "
              "the logits, nn.CrossEntropyLoss applies the softmax"),
             (lambda g, e: np.allclose(g, np.log(soft), atol=1e-5), "forward returned log-probabilities: return "
              "the logits")]
    return guarded("forward(X)", lambda: close("forward(X) returns logits", call, array(out, "logits", "forward(X)"),
                                               expected, rtol=1e-4, atol=1e-5, hints=hints))


def _trained(ctx: Context, make_reference: Callable[[], torch.nn.Module], lr: float,
             epochs: int) -> list[np.ndarray]:
    ref = make_reference()
    X, y = torch.from_numpy(ctx.inputs["one.X"]), torch.from_numpy(ctx.inputs["one.y"])
    Xv, yv = torch.from_numpy(ctx.inputs["val.X"]), torch.from_numpy(ctx.inputs["val.y"])
    ref.train(X, y, Xv, yv, epochs, X.shape[0], lr)
    return [p.detach().numpy().astype(np.float64) for p in ref.parameters()]


def _flat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([a.reshape(-1).astype(np.float64) for a in arrays])


def _wrong_steps(ctx: Context, make_reference: Callable[[], torch.nn.Module], lr: float, epochs: int = 2, *,
                 accumulate: bool = False, eval_mode: bool = False, reduction: str = "mean",
                 key: str = "one") -> np.ndarray:
    """The weights after ``epochs`` steps on one batch done wrongly, for the hints: a later step's gradient
    added to the earlier ones' (no ``zero_grad``), the second step taken in evaluation mode, or the loss
    summed over the batch (``reduction="sum"``) instead of nn.CrossEntropyLoss's default mean. The batch is
    ``one.``'s, or (``key="batches"``) one of the ``batches.`` run's batches, all alike."""
    ref = make_reference()
    rows = int(ctx.inputs["batches.batch"]) if key == "batches" else None
    X, y = torch.from_numpy(ctx.inputs[f"{key}.X"][:rows]), torch.from_numpy(ctx.inputs[f"{key}.y"][:rows])
    optimizer = torch.optim.SGD(ref.model.parameters(), lr=lr)
    for epoch in range(1, epochs + 1):
        torch.nn.Module.train(ref, not (eval_mode and epoch == 2))
        if epoch == 1 or not accumulate:
            optimizer.zero_grad()
        torch.nn.functional.cross_entropy(ref.forward(X), y, reduction=reduction).backward()
        optimizer.step()
    return _flat([p.detach().numpy() for p in ref.parameters()])


def _step_ratio(got: np.ndarray, expected: np.ndarray) -> float | None:
    """The factor ``got ≈ r · expected`` of two weight changes, to the float32 weights' rounding (``ratio``'s
    1e-6 fit is for float64 values)."""
    denom = float(expected @ expected)
    r = float(got @ expected) / denom if denom else 0.0
    return r if denom and np.allclose(got, r * expected, rtol=1e-3, atol=1e-6) else None


def _sgd_step(ctx: Context, out: ProbeOutput, make_reference: Callable[[], torch.nn.Module], lr: float,
              tag: str, epochs: int, one_ok: bool | None, setting: str) -> Assertion:
    want = _trained(ctx, make_reference, lr, epochs)
    got = [array(out, f"{tag}p{i}", f"parameter {i} after train") for i in range(len(want))]
    if any(g.shape != w.shape for g, w in zip(got, want, strict=True)):
        raise Bad("the parameters after train do not have the contract's shapes")
    before = _flat([ctx.inputs[f"known.p{i}"] for i in range(len(want))])
    n = ctx.inputs["one.X"].shape[0]
    call = (f"train(X_train, y_train, X_val, y_val, epochs={epochs}, batch_size={n}, learning_rate={lr}) on "
            f"{n} rows (one batch per epoch) from known weights{setting}")
    g_ref = before - _flat(want)

    def factor(g, e):
        return ratio(before - g, g_ref)

    def second_step_like(**wrong) -> Callable[[np.ndarray, np.ndarray], bool]:
        return lambda g, e: one_ok is True and np.allclose(g, _wrong_steps(ctx, make_reference, lr, **wrong),
                                                           rtol=1e-4, atol=1e-6)

    def like(weights: Callable[[], np.ndarray]) -> Callable[[np.ndarray, np.ndarray], bool]:
        return lambda g, e: np.allclose(g, weights(), rtol=1e-4, atol=1e-6)

    def momentum(g) -> float | None:
        """β when the second step added β × the first (SGD with momentum β: the weights end β × step 1 short)."""
        beta = _step_ratio(_flat(want) - g, before - _flat(_trained(ctx, make_reference, lr, 1)))
        return beta if beta is not None and 0 < beta < 1 else None

    hints = [(lambda g, e: np.array_equal(g, before), "train did not change the weights"),
             (lambda g, e: factor(g, e) is not None and np.isclose(factor(g, e), -1, rtol=1e-3),
              "the update went uphill: loss.backward() then optimizer.step() with SGD descends"),
             (like(lambda: _flat(_trained(ctx, make_reference, lr, epochs + 1))),
              f"train ran {epochs + 1} epochs for epochs={epochs}: loop for _ in range(epochs), one epoch more "
              "is an off-by-one"),
             (like(lambda: _wrong_steps(ctx, make_reference, lr, epochs, reduction="sum")),
              f"the step is that of the loss summed over the batch ({n}× the mean's on the first step): the "
              "contract's nn.CrossEntropyLoss() takes the mean (its default reduction), not reduction='sum'"),
             (second_step_like(accumulate=True), "the first step is right, the second is not: call "
              "optimizer.zero_grad() before each backward (gradients accumulate)"),
             (second_step_like(eval_mode=True), "the first step is right, the second ran in evaluation mode "
              "(BatchNorm on its running statistics): after validating, switch back with nn.Module.train(self, "
              "True) (self.train is the course's method)"),
             (lambda g, e: labels_moved(ctx.inputs["one.X"], ctx.inputs["one.y"], out.arrays.get(f"{tag}pairs.X"),
                                        out.arrays.get(f"{tag}pairs.y")), SHUFFLED_APART),
             (lambda g, e: one_ok is True and momentum(g) is not None, lambda g, e: f"the first step is right, the "
              f"second adds {momentum(g):.3g}× the first: SGD with momentum={momentum(g):.3g}; the contract's "
              "torch.optim.SGD(self.model.parameters(), lr=learning_rate) has none"),
             (lambda g, e: one_ok is None and (_step_ratio(before - g, g_ref) or 0) > 0, lambda g, e: f"the step is "
              f"{_step_ratio(before - g, g_ref):.3g}× the contract's, a rate of {_step_ratio(before - g, g_ref) * lr:.3g}"
              f" for learning_rate={lr}, or a loss scaled: pass lr=learning_rate to torch.optim.SGD, not a rate "
              "of your own, and use nn.CrossEntropyLoss() as it is"),
             (lambda g, e: one_ok is None and np.allclose(before - g, lr * g_ref / (np.abs(g_ref) + 1e-8 * lr),
                                                          rtol=1e-3, atol=1e-6),
              "each weight moved by learning_rate against its gradient's sign: Adam's first step; the contract "
              "uses torch.optim.SGD(self.model.parameters(), lr=learning_rate)"),
             (lambda g, e: one_ok is True, "the first step is right, the second is not: each epoch repeats the "
              "first one's step (optimizer.zero_grad() before each backward, the model in training mode)"),
             (lambda g, e: True, "not what torch.optim.SGD(self.model.parameters(), lr=learning_rate) on "
              "nn.CrossEntropyLoss (mean over the batch) does in one step per batch")]
    return close(f"weights after {epochs} epoch(s)", call, _flat(got), _flat(want), rtol=1e-4, atol=1e-6,
                 hints=hints)


def judge_sgd_steps(ctx: Context, out: ProbeOutput, make_reference: Callable[[], torch.nn.Module], lr: float,
                    setting: str = "") -> list[Assertion]:
    """``train`` for one and two epochs of one batch from known weights (the probe's ``one.``/``two.``
    parameters) against ``make_reference()`` (a fresh reference with the same weights) trained alike.
    ``setting`` is said after the call (e.g. ", dropout off")."""
    one = guarded("one SGD step", lambda: _sgd_step(ctx, out, make_reference, lr, "one.", 1, None, setting))
    two = guarded("two SGD steps", lambda: _sgd_step(ctx, out, make_reference, lr, "two.", 2, one[0].passed,
                                                     setting))
    return one + two


#: The batches of the epoch that ``judge_batches`` trains: its rows are one row repeated, so every row
#: order makes the same batches (shuffling stays accepted) while one step per epoch, or one
#: ``zero_grad`` per epoch, gives other weights than one step per batch.
BATCHES = 3


def batch_inputs(inputs: dict[str, np.ndarray], batch: int) -> dict[str, np.ndarray]:
    """``batches.X``/``batches.y``: the first row and label of ``one.`` repeated ``BATCHES × batch`` times."""
    n = BATCHES * batch
    return {"batches.X": np.repeat(inputs["one.X"][:1], n, axis=0), "batches.y": np.repeat(inputs["one.y"][:1], n),
            "batches.batch": np.array(batch)}


def judge_batches(ctx: Context, out: ProbeOutput, make_reference: Callable[[], torch.nn.Module], lr: float,
                  setting: str = "") -> list[Assertion]:
    """``train`` for one epoch of ``BATCHES`` batches from known weights (the probe's ``batches.``
    parameters) against ``make_reference()`` trained alike: one step per batch, a ``zero_grad`` each."""
    b = int(ctx.inputs["batches.batch"])
    n = ctx.inputs["batches.X"].shape[0]
    call = (f"train(X_train, y_train, X_val, y_val, epochs=1, batch_size={b}, learning_rate={lr}) on {n} rows "
            f"({BATCHES} batches; the rows are alike, so any order makes the same batches) from known "
            f"weights{setting}")

    def check() -> Assertion:
        if "batches!" in out.values:
            raise Bad(f"{call} raised {out.values['batches!']}")
        ref = make_reference()
        X, y = torch.from_numpy(ctx.inputs["batches.X"]), torch.from_numpy(ctx.inputs["batches.y"])
        Xv, yv = torch.from_numpy(ctx.inputs["val.X"]), torch.from_numpy(ctx.inputs["val.y"])
        ref.train(X, y, Xv, yv, 1, b, lr)
        want = [p.detach().numpy().astype(np.float64) for p in ref.parameters()]
        got = [array(out, f"batches.p{i}", f"parameter {i} after train") for i in range(len(want))]
        if any(g.shape != w.shape for g, w in zip(got, want, strict=True)):
            raise Bad("the parameters after train do not have the contract's shapes")

        def like(steps: int, accumulate: bool = False) -> Callable[[np.ndarray, np.ndarray], bool]:
            return lambda g, e: np.allclose(g, _wrong_steps(ctx, make_reference, lr, steps, accumulate=accumulate,
                                                             key="batches"), rtol=1e-4, atol=1e-6)

        hints = [(like(1), f"train took one SGD step in an epoch of {BATCHES} batches (the whole set at once, or "
                           "only one batch): loop over the minibatches of batch_size rows, with zero_grad, forward, "
                           "loss, backward and step for each"),
                 (like(BATCHES, accumulate=True), "optimizer.zero_grad() ran once per epoch, so each batch's "
                  "gradient added to the earlier ones': call it before every batch's backward")]
        hints += [(like(k), f"train took {k} SGD steps in an epoch of {BATCHES} batches: one per minibatch of "
                            "batch_size rows") for k in (BATCHES - 1, BATCHES + 1, 2 * BATCHES)]
        result = close("one step per batch", call, _flat(got), _flat(want), rtol=1e-4, atol=1e-6, hints=hints)
        rows = out.values.get("batches.rows")
        # no batch seen at all (a forward through layer.forward or F.linear, past the hook): cannot tell
        if result.passed and isinstance(rows, list) and rows and rows.count(b) < BATCHES:
            seen = ", ".join(map(str, rows)) or "none"
            return Assertion("one step per batch", False, f"{call}: the weights match, but the forward passes "
                             f"that trained saw batches of {seen} rows, not {BATCHES} of {b}",
                             "each step's forward, loss and backward take that minibatch's rows "
                             "(X_train[i:i + batch_size]), not the whole training set")
        return result

    return guarded("one step per batch", check)


def judge_fashion(ctx: Context, out: ProbeOutput, cls: str) -> list[Assertion]:
    run = ctx.run
    args = f"784, {run.hidden}, 10, {run.seed}" if cls == "PyTorchANN" else f"10, {run.seed}"
    return judge_accuracy_run(ctx, out, f"{cls}({args}).train(..., epochs={run.epochs}, batch_size="
                                        f"{run.batch_size}, learning_rate={run.lr})")


def _normalised(curves: dict) -> dict:
    out = dict(curves)
    for key in ("train_acc", "val_acc"):
        if key in out and max(out[key], default=0) > 1.5:  # recorded in percent
            out[key] = [v / 100 for v in out[key]]
    return out


def judge_judgement(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    """``report_my_judgement()`` is one of the three words, and agrees with our verdict on the student's curves."""
    from backproplab.courses.purdue import diagnose, judgement

    answer, kind = out.values.get("answer"), out.values.get("answer_type")
    word = Assertion("one of the three words", kind == "str" and answer in JUDGEMENTS,
                     f"report_my_judgement() returned {answer if kind != 'str' else repr(answer)}; the contract "
                     f"returns exactly one of {', '.join(map(repr, JUDGEMENTS))}")
    curves = _normalised(out.values.get("curves") or {})
    needed = ("train_loss", "train_acc", "val_loss", "val_acc")
    if not all(k in curves for k in needed):  # the answer is still graded as a word
        return [word, Assertion("agrees with our verdict", False, f"could not read your per-epoch curves (found "
                                f"{sorted(curves) or 'none'} in the model's attributes and its plot); keep train/val "
                                "loss and accuracy per epoch, e.g. in self.history")]
    numbers = ", ".join(f"{k} {summary(float(curves[k][-1]))}" for k in needed)
    where = f"your curves (read from your {out.values.get('source')}; last epoch: {numbers})"
    unlike = _not_this_training(ctx, out, float(curves["val_acc"][-1]))
    if unlike:
        return [word, Assertion("agrees with our verdict", False, f"{where} are not those of the training "
                                f"graded here: {unlike}; the judgement must be read from the curves the "
                                "training recorded")]
    verdict = diagnose({k: curves[k] for k in needed})
    ours = judgement(verdict)
    agree = Assertion("agrees with our verdict", answer == ours,
                      f"on {where} our verdict is {ours!r} ({verdict.label}: {verdict.explanation}); "
                      f"report_my_judgement() returned {answer!r}")
    return [word, agree]


#: How far the recorded last validation accuracy may be from the trained model's own (a model that
#: validated in training mode, its dropout on, records a somewhat lower accuracy than it has).
VAL_ACC_SLACK = 0.1


def _not_this_training(ctx: Context, out: ProbeOutput, recorded: float) -> str:
    """Why the recorded curves cannot be the graded training's ('' when they can, or when the model's
    own validation accuracy is unknown): their last validation accuracy is far from the model's."""
    pred = getattr(out, "arrays", {}).get("val_pred")
    labels = getattr(ctx, "val_labels", None)
    if pred is None or labels is None or pred.reshape(-1).shape != labels.shape:
        return ""
    actual = float(np.mean(pred.reshape(-1) == labels))
    if np.isfinite(recorded) and abs(recorded - actual) <= VAL_ACC_SLACK:
        return ""
    return (f"their last validation accuracy is {summary(recorded)}, while the trained model labels "
            f"{actual:.1%} of the {labels.size:,} validation images right")

"""``purdue-numpy-ann``: the items of CONTRACTS.md A1 (``numpy_ann.py``, class ``NumpyANN``, 18 points).

Every expected value comes from :class:`backproplab.courses.purdue.NumpyANN` (the reference) run
here on the inputs the student's probes got; the finite-difference gradient of 1.6 is of the
contract's loss, computed here too. The likely causes are the contract's common mistakes.
"""

from __future__ import annotations

import numpy as np

from backproplab.check.assignment import Assignment, Context, FashionRun, Item
from backproplab.check.compare import (
    SHUFFLED_APART,
    Bad,
    array,
    close,
    guarded,
    labels_moved,
    number,
    ratio,
    summary,
)
from backproplab.check.numpy_ann_inputs import (
    BATCHES,
    INIT,
    LR,
    PARAMS,
    SMALL,
    _known,
    fresh_inputs,
    make_inputs,
    reference_class,
)
from backproplab.check.probes import PROBES
from backproplab.check.references import points, target
from backproplab.check.result import Assertion
from backproplab.check.runner import ProbeOutput
from backproplab.scratch import functional as F


# ------------------------------------------------------------------------------------------------
# 1.1 __init__
# ------------------------------------------------------------------------------------------------
def _scale_name(got: np.ndarray, want: np.ndarray, fan_in: int) -> str | None:
    """For W = 0.01·randn scaled by another factor (the right draws, the wrong scale): the known
    initialisation it is, as ' (= √(2/fan_in), He initialisation)', or '' if none; None if not a scale."""
    r = ratio(got, want) if got.shape == want.shape else None
    if r is None or r <= 0 or np.isclose(r, 1) or np.isclose(r, 100):
        return None
    known = {"√(2/fan_in), He initialisation": np.sqrt(2 / fan_in),
             "√(1/fan_in), Xavier/LeCun initialisation": np.sqrt(1 / fan_in)}
    return next((f" (= {k}, fan_in = {fan_in})" for k, v in known.items() if np.isclose(0.01 * r, v, rtol=1e-4)), "")


def _init_hints(name: str, sizes, seed: int) -> list:
    rs = np.random.RandomState(seed)
    fan_in = sizes[0] if name == "W1" else sizes[1]
    w2_first = 0.01 * rs.randn(sizes[1], sizes[2])
    w1_second = 0.01 * rs.randn(sizes[0], sizes[1])
    swapped = w1_second if name == "W1" else w2_first
    return [
        (lambda g, e: g.shape == swapped.shape and np.allclose(g, swapped),
         "W1 and W2 were drawn in the wrong order: the contract draws W1 first, then W2"),
        (lambda g, e: np.allclose(g, 100 * e), f"{name} is 100× the expected one: multiply randn by 0.01"),
        (lambda g, e: _scale_name(g, e, fan_in) is not None,
         lambda g, e: f"{name} is randn × {0.01 * ratio(g, e):.3g}{_scale_name(g, e, fan_in)}: the contract "
                      "multiplies randn by 0.01"),
        (lambda g, e: abs(g.std() / e.std() - 1) < 0.3,
         f"{name} was not drawn with np.random.seed + 0.01·randn (another generator such as "
         "np.random.default_rng, or draws made before it)"),
    ]


def judge_init(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    R = reference_class()
    checks: list[Assertion] = []
    for cfg, (sizes, lr, seed) in INIT.items():
        ref = R(*sizes, lr, seed)
        call = f"NumpyANN({sizes[0]}, {sizes[1]}, {sizes[2]}, lr={lr}, seed={seed})"
        got = [out.values.get(f"{cfg}.{a}") for a in ("input_size", "hidden_size", "output_size", "lr")]
        want = [ref.input_size, ref.hidden_size, ref.output_size, ref.lr]
        checks.append(Assertion(f"{call}: attributes", got == want,
                                f"{call} set input_size, hidden_size, output_size, lr = {got}; expected {want}"))
        for name in PARAMS:
            if out.values.get(f"{cfg}.{name}.missing"):
                checks.append(Assertion(f"{call}.{name}", False, f"{call} has no attribute self.{name}"))
                continue
            hints = _init_hints(name, sizes, seed) if name.startswith("W") else []
            shape_hint = (f"{name} must have shape {getattr(ref, name).shape}"
                          + (": np.zeros((1, n)), 2-D" if name.startswith("b") else ""))
            checks += guarded(f"{call}.{name}", lambda name=name, call=call, hints=hints, sh=shape_hint, ref=ref, cfg=cfg:
                              close(f"{call}.{name}", f"{call}.{name}", array(out, f"{cfg}.{name}", f"{call}.{name}"),
                                    getattr(ref, name), rtol=1e-12, atol=0, hints=hints, shape_hint=sh))
        checks.append(_dtypes(out, cfg, call, ref))
    return checks


def _dtypes(out: ProbeOutput, cfg: str, call: str, ref) -> Assertion:
    """W1, b1, W2, b2 have the reference's dtype (float64 from np.random.randn and np.zeros)."""
    got = {n: str(out.arrays[f"{cfg}.{n}"].dtype) for n in PARAMS if f"{cfg}.{n}" in out.arrays}
    want = {n: str(np.asarray(getattr(ref, n)).dtype) for n in PARAMS}
    wrong = {n: d for n, d in got.items() if d != want[n]}
    return Assertion(f"{call}: dtypes", len(got) == len(PARAMS) and not wrong,
                     f"{call}: W1, b1, W2, b2 have dtypes {got}; expected {want}",
                     f"{', '.join(wrong)} changed dtype: keep np.random.randn's and np.zeros's float64" if wrong else "")


# ------------------------------------------------------------------------------------------------
# 1.2–1.4 the pieces
# ------------------------------------------------------------------------------------------------
def judge_relu(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    x = ctx.inputs["relu.x"]
    expected = reference_class()(*SMALL, LR, 3)._relu(x.copy())
    hints = [(lambda g, e: np.array_equal(g, (x > 0).astype(float)), "_relu returned the derivative (x > 0), "
              "not max(0, x)")]
    checks = guarded("_relu", lambda: close("_relu", f"_relu(x) with x of shape {x.shape} (negatives, zeros, "
                                            "±1e-300)", array(out, "relu", "_relu(x)"), expected, rtol=0, atol=0,
                                            hints=hints, shape_hint="_relu must keep the shape of x"))
    changed = bool(out.values.get("changed_input"))
    return checks + [Assertion("leaves x unchanged", not changed, "_relu(x) " + (
        "changed x in place" if changed else "left x as it was"), "_relu changed its argument (x[x < 0] = 0): "
        "_forward's stored z1 then equals a1; return a new array, np.maximum(0, x)" if changed else "")]


def judge_relu_grad(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    x = ctx.inputs["relu_grad.x"]
    expected = reference_class()(*SMALL, LR, 3)._relu_grad(x.copy())
    zero = x == 0
    hints = [
        (lambda g, e: np.all(g[zero] == 1) and np.array_equal(g[~zero], e[~zero]),
         "_relu_grad(0) returned 1; the contract takes 0 at x = 0 (x > 0, not x >= 0)"),
        (lambda g, e: np.array_equal(g, np.maximum(x, 0)), "_relu_grad returned max(0, x), the ReLU itself"),
        (lambda g, e: np.array_equal(g[np.abs(x) >= 1e-6], e[np.abs(x) >= 1e-6]),
         "tiny positive inputs (down to 5e-324) must give 1: compare with 0 exactly, no threshold"),
    ]
    return guarded("_relu_grad", lambda: close(
        "_relu_grad at 0, ±tiny and random x", "_relu_grad(x) with x holding 0, -0, ±2.2e-308, ±5e-324, "
        "±1e-300, ±1e-8, ±1 and random values", array(out, "grad", "_relu_grad(x)"), expected, rtol=0, atol=0,
        hints=hints, shape_hint="_relu_grad must keep the shape of x"))


def _ce_row(ctx: Context, out: ProbeOutput, r: int, ref) -> Assertion:
    yt, yp = ctx.inputs[f"ce.true{r}"], ctx.inputs[f"ce.pred{r}"]
    expected = float(ref._cross_entropy(yt.copy(), yp.copy()))
    got = number(out, f"row{r}", "_cross_entropy(y_true, y_pred)")
    call = f"_cross_entropy(y_true, y_pred) on one row (true class {int(yt.argmax())}, y_pred {summary(yp)})"
    k = yt.shape[1]
    hints = [(lambda g, e: f"swap{r}" in out.values and np.isclose(out.values[f"swap{r}"], e),
              "_cross_entropy looks like it takes (y_pred, y_true); the contract's order is (y_true, y_pred)"),
             (lambda g, e: np.isclose(g, k * e), f"your value is {k}× the expected one: the contract divides the "
                                                  f"sum by the number of classes n = {k}"),
             (lambda g, e: np.isclose(g, -e), "the sign is flipped: the loss is −(1/n) Σ y·log ŷ ≥ 0")]
    return close(f"_cross_entropy row {r}", call, np.asarray(got), np.asarray(expected), rtol=1e-6, hints=hints)


def _ce_batch_note(ctx: Context, out: ProbeOutput, ref) -> Assertion:
    yt, yp = ctx.inputs["ce.batch_true"], ctx.inputs["ce.batch_pred"]
    rows = np.array([float(ref._cross_entropy(yt[i:i + 1].copy(), yp[i:i + 1].copy())) for i in range(len(yt))])
    value = out.values.get("batch")
    if not isinstance(value, float):
        found = f"the call raised {out.values.get('batch!', 'nothing readable')}"
    else:
        conventions = {"the mean over rows of the one-row values (as the reference)": rows.mean(),
                       "the sum over rows of the one-row values": rows.sum()}
        found = next((name for name, v in conventions.items() if np.isclose(value, v, rtol=1e-6)),
                     f"{value:.6g}, neither the mean ({rows.mean():.6g}) nor the sum ({rows.sum():.6g}) over rows")
    return Assertion("batch convention", True, f"_cross_entropy on a batch of 4 rows gives {found}; the contract "
                     "is silent on batches, so this never costs points", note=True)


def judge_cross_entropy(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    ref = reference_class()(*SMALL, LR, 3)
    checks: list[Assertion] = []
    for r in range(int(ctx.inputs["ce.rows"])):
        checks += guarded(f"_cross_entropy row {r}", lambda r=r: _ce_row(ctx, out, r, ref))
    return checks + [_ce_batch_note(ctx, out, ref)]


# ------------------------------------------------------------------------------------------------
# 1.5 _forward, 1.6 _backward
# ------------------------------------------------------------------------------------------------
def judge_forward(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    X = ctx.inputs["X"]
    ref = _known(ctx.inputs)
    expected = ref._forward(X.copy(), True)
    call = f"_forward(X, True) with known weights and X of shape {X.shape}"
    hints = [(lambda g, e: np.allclose(g.sum(axis=0), 1), "the columns sum to 1: take the softmax over each row "
              "(axis=1, keepdims=True)"),
             (lambda g, e: np.allclose(g, np.asarray(ref.z2)), "_forward returned the logits z2: return softmax(z2)")]
    checks = guarded("_forward(X, True)", lambda: close("_forward(X, True) returns a2", call,
                                                        array(out, "ret", "_forward(X, True)"), expected, hints=hints))
    for name in ("z1", "a1", "z2", "a2"):
        if f"self.{name}" not in out.arrays:
            checks.append(Assertion(f"self.{name}", False, f"after {call} there is no self.{name}: with training=True "
                                    "_forward must keep z1, a1, z2, a2 on self under these names"))
        else:
            checks += guarded(f"self.{name}", lambda name=name: close(
                f"self.{name}", f"self.{name} after {call}", out.arrays[f"self.{name}"], np.asarray(getattr(ref, name))))
    checks += guarded("_forward(X, False)", lambda: close(
        "_forward(X, False) returns a2", "_forward(X, False) with the same weights",
        array(out, "ret_eval", "_forward(X, False)"), expected, hints=hints))
    return checks


def _loss(params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> float:
    """The loss whose gradient the contract's backward pass computes: mean over rows of −Σ y log a2."""
    a1 = F.relu(X @ params["W1"] + params["b1"])
    return F.raw_softmax_cross_entropy(a1 @ params["W2"] + params["b2"], Y)


def _fd_check(before: dict, got: dict, X: np.ndarray, Y: np.ndarray, lr: float, call: str) -> Assertion:
    """The student's step, read as −lr × gradient, against central differences of the contract's loss."""
    rng = np.random.default_rng(0)
    worst_rel, where = 0.0, ""
    for name in PARAMS:
        flat_idx = rng.choice(before[name].size, size=min(8, before[name].size), replace=False)
        for fi in flat_idx:
            idx = np.unravel_index(int(fi), before[name].shape)
            numeric = 0.0
            for sign in (1, -1):
                p = {k: v.copy() for k, v in before.items()}
                p[name][idx] += sign * 1e-6
                numeric += sign * _loss(p, X, Y) / 2e-6
            implied = (before[name][idx] - got[name][idx]) / lr
            rel = abs(implied - numeric) / max(abs(numeric), 1e-5)
            if not np.isfinite(rel) or rel > worst_rel:
                worst_rel, where = rel, (f"d{name}[{', '.join(map(str, idx))}]: your step implies {implied:.6g}, "
                                         f"finite differences give {numeric:.6g}")
            if not np.isfinite(rel):
                break
    ok = bool(np.isfinite(worst_rel) and worst_rel < 1e-4)
    return Assertion("update = −lr × finite-difference gradient", ok,
                     f"{call}: largest relative error {worst_rel:.2g} (bound 1e-4) over 32 sampled derivatives"
                     + ("" if ok else f"; at {where}"))


#: Learning rates a student may write into _backward in place of self.lr (1.0 is the hint above it).
WRITTEN_RATES = (0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.001)


def step_hints(name: str, before: np.ndarray, m: int, lr: float, expected_after: np.ndarray) -> list:
    """Likely causes for a wrong update of one parameter, read from the implied gradient."""
    g_ref = (before - expected_after) / lr

    def factor(got, want):
        return ratio((before - got) / lr, g_ref)

    def near(value, target):
        return value is not None and np.isclose(value, target, rtol=1e-4)

    return [
        (lambda g, e: np.array_equal(g, before), f"_backward did not change {name}: update it in place, "
                                                  f"self.{name} -= self.lr * d{name}"),
        (lambda g, e: near(factor(g, e), m), f"your d{name} is {m}× the expected one: divide by the number of "
                                             f"samples (m = {m})"),
        (lambda g, e: near(factor(g, e), 1 / m), f"your d{name} is 1/{m} of the expected one: divided by the "
                                                 "number of samples twice"),
        (lambda g, e: near(factor(g, e), -1), "the update went uphill: θ ← θ − lr·dθ, not θ + lr·dθ, with "
                                              "dz2 = a2 − y_true, not y_true − a2"),
        (lambda g, e: near(factor(g, e), 1 / lr), f"the step ignores the learning rate: θ ← θ − lr·dθ with lr = "
                                                  f"self.lr = {lr}"),
        *[(lambda g, e, r=r: near(factor(g, e), r / lr), f"the step used lr = {r:g}, not self.lr = {lr}: a learning "
                                                         "rate written into the code; use self.lr")
          for r in WRITTEN_RATES],
    ]


def _reference_steps(ctx: Context, X: np.ndarray, Y: np.ndarray, steps: int):
    """The reference network from the known weights after ``steps`` SGD steps on the batch (X, Y)."""
    ref = _known(ctx.inputs)
    for _ in range(steps):
        ref._forward(X.copy(), True)
        ref._backward(X.copy(), Y.copy())
    return ref


def _extra_epoch_hints(ctx: Context, X: np.ndarray, Y: np.ndarray) -> dict[str, list]:
    """Per parameter, the hint for ``train(..., epochs=1, ...)`` on one batch that ran a second epoch
    (``range(epochs + 1)``): its parameters are those of two reference steps on the batch."""
    ref = _reference_steps(ctx, X, Y, 2)
    text = "train ran 2 epochs for epochs=1: loop for _ in range(epochs), one epoch more is an off-by-one"
    after = {name: np.asarray(getattr(ref, name), dtype=float).copy() for name in PARAMS}
    return {name: [(lambda g, e, two=after[name]: np.allclose(g, two, rtol=1e-6, atol=1e-10), text)]
            for name in PARAMS}


def _w2_updated_first_hints(ctx: Context, X: np.ndarray, Y: np.ndarray) -> dict[str, list]:
    """For W1 and b1, the hint for a ``_backward`` that updated W2 before computing dz1 from it: their step
    then follows dz1 = (dz2·W2_newᵀ) ⊙ relu′(z1) (W2 and b2 themselves come out right)."""
    ref = _known(ctx.inputs)
    ref._forward(X.copy(), True)
    m, W1, b1, W2 = X.shape[0], ref.W1, ref.b1, ref.W2
    dz2 = ref.a2 - Y
    w2_new = W2 - LR * (ref.a1.T @ dz2 / m)
    dz1 = (dz2 @ w2_new.T) * (ref.z1 > 0)
    wrong = {"W1": W1 - LR * (X.T @ dz1 / m), "b1": b1 - LR * dz1.sum(axis=0, keepdims=True) / m}
    text = ("dz1 was computed with W2 already updated: compute every gradient (dW2, db2, dz1, dW1, db1) from the "
            "stored values first, then update the parameters")
    return {name: [(lambda g, e, w=w: np.allclose(g, w, rtol=1e-6, atol=1e-10), text)] for name, w in wrong.items()}


def compare_step(ctx: Context, out: ProbeOutput, X: np.ndarray, Y: np.ndarray, call: str,
                 extra_hints: dict[str, list] | None = None) -> list[Assertion]:
    """The student's parameters after ``call`` against one reference SGD step on (X, Y), plus FD;
    ``extra_hints``: more likely causes per parameter name, tried after the step's own."""
    ref = _known(ctx.inputs)
    before = {n: ctx.inputs[f"known.{n}"] for n in PARAMS}
    ref._forward(X.copy(), True)
    ref._backward(X.copy(), Y.copy())
    order = _w2_updated_first_hints(ctx, X, Y)
    extra_hints = {n: (extra_hints or {}).get(n, []) + order.get(n, []) for n in PARAMS}
    checks: list[Assertion] = []
    got: dict[str, np.ndarray] = {}
    for name in PARAMS:
        exp = np.asarray(getattr(ref, name), dtype=float)

        def one(name=name, exp=exp):
            got[name] = array(out, name, f"self.{name} after {call}")
            return close(f"{name} after the step", f"self.{name} after {call}", got[name], exp, rtol=1e-6,
                         atol=1e-10, hints=step_hints(name, before[name], X.shape[0], LR, exp)
                         + (extra_hints or {}).get(name, []))

        checks += guarded(f"{name} after the step", one)
    if len(got) == len(PARAMS) and all(got[n].shape == before[n].shape for n in PARAMS):
        checks.append(_fd_check(before, got, X, Y, LR, call))
    else:
        checks.append(Assertion("update = −lr × finite-difference gradient", False,
                                "not all four parameters came back with their shapes, so no gradient to check"))
    return checks


def judge_backward(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    X, Y = ctx.inputs["bwd.X"], ctx.inputs["bwd.Y"]
    checks = compare_step(ctx, out, X, Y, f"_forward(X, True), then self.z1, a1, z2, a2 set to the reference's "
                                          f"(1.6 grades _backward alone); _backward(X, y_true) with X {X.shape}, "
                                          f"lr {LR}")
    if "returned" in out.values:
        checks.append(Assertion("return value", True, f"_backward returned a {out.values['returned']}; the "
                                "contract returns nothing (not graded)", note=True))
    return checks


# ------------------------------------------------------------------------------------------------
# 1.7 train, 1.8 predict, 1.9 accuracy, 1.10 Fashion-MNIST
# ------------------------------------------------------------------------------------------------
def judge_train(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    X, Y = ctx.inputs["train.X"], ctx.inputs["train.Y"]
    n = X.shape[0]
    checks = compare_step(ctx, out, X, Y, f"train(X_train, y_train, X_val, y_val, epochs=1, batch_size={n}) on "
                                          f"{n} rows (one batch)", _extra_epoch_hints(ctx, X, Y))
    if labels_moved(X, Y, out.arrays.get("pairs.X"), out.arrays.get("pairs.Y")):  # seen at _backward
        for check in checks:
            check.hint = check.hint or ("" if check.passed else SHUFFLED_APART)
    epochs = int(ctx.inputs["train.epochs"])
    hist = out.values.get("history") or {}
    ok = bool(hist.get("per_epoch"))
    call = f"train(..., epochs={epochs}, batch_size={int(ctx.inputs['train.batch'])})"
    checks.append(Assertion("returns the per-epoch history", ok,
                            f"{call} returned a {hist.get('type', '?')}" + ("" if ok else f" with no entry of {epochs} "
                                                          "values (one per epoch); the contract returns the history")))
    if ok:
        checks.append(_history_holds_validation(call, hist))
    return checks + guarded("one step per batch", lambda: _batches(ctx, out))


def _steps_on_one_batch(ctx: Context, steps: int) -> np.ndarray:
    """The reference's parameters after ``steps`` SGD steps on one of the batches (all alike)."""
    b = int(ctx.inputs["batches.batch"])
    ref = _reference_steps(ctx, ctx.inputs["batches.X"][:b], ctx.inputs["batches.Y"][:b], steps)
    return np.concatenate([np.ravel(getattr(ref, name)) for name in PARAMS])


def _batches(ctx: Context, out: ProbeOutput) -> Assertion:
    """``train`` for one epoch of ``BATCHES`` batches: one ``_forward``/``_backward`` step per batch."""
    X, Y, b = ctx.inputs["batches.X"], ctx.inputs["batches.Y"], int(ctx.inputs["batches.batch"])
    call = (f"train(X_train, y_train, X_val, y_val, epochs=1, batch_size={b}) on {X.shape[0]} rows ({BATCHES} "
            "batches; the rows are alike, so any order makes the same batches) from known weights")
    if "batches!" in out.values:
        raise Bad(f"{call} raised {out.values['batches!']}")
    ref = _known(ctx.inputs)
    ref.train(X.copy(), Y.copy(), ctx.inputs["X"].copy(), ctx.inputs["Y"].copy(), 1, b)
    want = np.concatenate([np.ravel(getattr(ref, name)) for name in PARAMS])
    got = [array(out, f"batches.{name}", f"self.{name} after train") for name in PARAMS]
    if any(g.size != np.size(getattr(ref, name)) for g, name in zip(got, PARAMS, strict=True)):
        raise Bad(f"the parameters after {call} do not have the contract's shapes")

    def like(steps: int):
        return lambda g, e: np.allclose(g, _steps_on_one_batch(ctx, steps), rtol=1e-6, atol=1e-10)

    hints = [(like(1), f"train took one step in an epoch of {BATCHES} batches (the whole set at once, or only one "
                       "batch): loop over the minibatches of batch_size rows, _forward(batch, True) then "
                       "_backward(batch, y_batch) for each")]
    hints += [(like(k), f"train took {k} steps in an epoch of {BATCHES} batches: one per minibatch of batch_size "
                        "rows") for k in (BATCHES - 1, BATCHES + 1, 2 * BATCHES)]
    result = close("one step per batch", call, np.concatenate([g.ravel() for g in got]), want, rtol=1e-6,
                   atol=1e-10, hints=hints)
    rows = out.values.get("batches.rows")
    if result.passed and isinstance(rows, list) and rows and rows.count(b) < BATCHES:
        return Assertion("one step per batch", False, f"{call}: the weights match, but _backward was handed "
                         f"batches of {', '.join(map(str, rows))} rows, not {BATCHES} of {b}",
                         "each step's _forward and _backward take that minibatch's rows (X_train[i:i + batch_size])"
                         ", not the whole training set")
    return result


def _history_holds_validation(call: str, hist: dict) -> Assertion:
    """The history's last epoch holds the trained model's validation loss (a list of the right length made
    up of anything passed before). The accuracy is not required: a history built with a wrong
    ``accuracy`` would lose 1.7 as well as 1.9."""
    ends = [e for e in hist.get("ends") or [] if isinstance(e, int | float)]
    losses = [v for v in hist.get("val_losses") or [] if isinstance(v, int | float)]
    found = not losses or any(abs(e - v) <= 1e-6 + 1e-4 * abs(v) for e in ends for v in losses)
    shown = ", ".join(f"{e:.6g}" for e in ends[:8]) or "no numbers"
    return Assertion("the history holds the validation loss", found,
                     "" if found else f"after {call}, the history's last epoch holds {shown}, but not the model's "
                     f"validation loss {losses[0]:.6g} on X_val (the contract records it after each epoch, with "
                     "_cross_entropy)")


def judge_predict(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    X = ctx.inputs["X2"]
    expected = _known(ctx.inputs)._forward(X.copy(), False)
    shape_hint = ""
    pred = out.arrays.get("pred")
    if pred is not None and pred.ndim == 1:
        shape_hint = "predict returned labels; the contract returns the probabilities [N, classes]"
    checks = guarded("predict(X)", lambda: close("predict(X)", f"predict(X) with known weights, X {X.shape}",
                                                array(out, "pred", "predict(X)"), expected, shape_hint=shape_hint))
    if out.values.get("a2_changed"):
        checks.append(Assertion("stores nothing", False, "predict(X) changed self.a2: it must call "
                                "_forward(X, training=False), which stores nothing"))
    return checks


def judge_accuracy(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    """``accuracy`` on the same rows with two label sets (their accuracies differ)."""
    X = ctx.inputs["X2"]
    hints = [(lambda g, e: np.isclose(g, 100 * e), "accuracy returned a percentage; the contract returns a "
              "fraction in [0, 1]"),
             (lambda g, e: np.isclose(g, X.shape[0] * e), f"accuracy returned the number of right labels: divide "
              f"it by the number of samples ({X.shape[0]} here)")]
    checks: list[Assertion] = []
    for key, labels in (("acc", "Y2"), ("acc_b", "Y2b")):
        Y = ctx.inputs[labels]
        expected = float(_known(ctx.inputs).accuracy(X.copy(), Y.copy()))
        call = f"accuracy(X, y_true) with known weights, X {X.shape}, one-hot y_true ({labels})"
        checks += guarded(f"accuracy(X, {labels})", lambda key=key, call=call, expected=expected, labels=labels: close(
            f"accuracy(X, {labels})", call, np.asarray(number(out, key, "accuracy(X, y_true)")),
            np.asarray(expected), rtol=1e-9, hints=hints))
    return checks


def judge_accuracy_run(ctx: Context, out: ProbeOutput, call: str) -> list[Assertion]:
    """Test accuracy of the student's own training run against the run's bound."""
    run = ctx.run
    pred = array(out, "test_pred", "predict(X_test)").reshape(-1)
    if pred.shape != ctx.test_labels.shape:
        raise Bad(f"predict(X_test) gave {pred.shape[0]} labels for {ctx.test_labels.shape[0]} test images")
    acc = float(np.mean(pred == ctx.test_labels))
    scope = "quick subset" if ctx.quick else "the full data"
    return [Assertion("test accuracy", acc >= run.bound,
                      f"{call} on {scope} ({run.describe()}): test accuracy {acc:.4f}, bound {run.bound}")]


def judge_fashion(ctx: Context, out: ProbeOutput) -> list[Assertion]:
    run = ctx.run
    return judge_accuracy_run(ctx, out, f"NumpyANN(784, {run.hidden}, 10, lr={run.lr}, seed={run.seed}).train(...)")


FULL_RUN = FashionRun(n_train=50_000, n_val=10_000, n_test=10_000, epochs=10, batch_size=64, lr=0.1,
                      hidden=128, bound=target("NumpyANN"))
QUICK_RUN = FashionRun(n_train=5_000, n_val=500, n_test=1_000, epochs=5, batch_size=64, lr=0.2,
                       hidden=64, bound=0.70)


ASSIGNMENT = Assignment(
    name="purdue-numpy-ann", filename="numpy_ann.py", module="numpy_ann", cls="NumpyANN",
    probes=PROBES["purdue-numpy-ann"],
    items=(
        Item("1.1", "__init__: attributes, np.random.seed + 0.01·randn, zero biases", points("1.1"), judge_init),
        Item("1.2", "_relu", points("1.2"), judge_relu),
        Item("1.3", "_relu_grad (0 at x = 0)", points("1.3"), judge_relu_grad),
        Item("1.4", "_cross_entropy(y_true, y_pred)", points("1.4"), judge_cross_entropy),
        Item("1.5", "_forward(x, training)", points("1.5"), judge_forward,
             uses=("1.2",)),
        Item("1.6", "_backward(X, y_true): gradients and the SGD update", points("1.6"), judge_backward,
             uses=("1.3",)),
        Item("1.7", "train: one SGD step per batch, per-epoch history", points("1.7"), judge_train,
             uses=("1.5", "1.6")),
        Item("1.8", "predict: probabilities, stores nothing", points("1.8"), judge_predict,
             uses=("1.5",)),
        Item("1.9", "accuracy", points("1.9"), judge_accuracy,
             uses=("1.8",)),
        Item("1.10", f"run on Fashion-MNIST: test accuracy ≥ {target('NumpyANN')}", points("1.10"), judge_fashion,
             training=True, uses=("1.7", "1.9")),
    ),
    make_inputs=make_inputs, fresh_inputs=fresh_inputs, full_run=FULL_RUN, quick_run=QUICK_RUN, item_timeout=60.0,
    training_timeout=900.0, quick_training_timeout=120.0,
)

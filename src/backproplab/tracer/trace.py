"""The forward and backward pass of a :class:`~backproplab.tracer.network.Network`, unit by unit:
every s, a, δ, ∂L/∂w and ∂L/∂b as arrays and as printable steps.

The activations, their derivatives and the losses with their gradients are
:mod:`backproplab.scratch.functional`'s; the weights are in its [inputs, units] layout (``W[k-1, j-1]``
is the course's w_jk, from unit k into unit j).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backproplab.scratch import functional as F
from backproplab.tracer.network import Network
from backproplab.tracer.notation import (
    Notation,
    Step,
    _act_strings,
    _deriv_strings,
    _deriv_symbol,
    _loss_step,
    _num,
    _tnum,
    bce_from_logits_form,
)


def _activate(name: str, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, f'(s)) by backproplab.scratch.functional; for softmax f' is not elementwise (returns NaN:
    the output delta of softmax with cross-entropy is a − y, see :func:`_trace`)."""
    if name == "softmax":
        return np.asarray(F.softmax(s, axis=-1), dtype=np.float64), np.full_like(s, np.nan, dtype=np.float64)
    f, fprime = F.get_activation(name)
    return np.asarray(f(s), dtype=np.float64), np.asarray(fprime(s), dtype=np.float64)


@dataclass
class Trace:
    """Every quantity of one forward and backward pass, as arrays and as printable steps.

    Attributes
    ----------
    s, a, delta : lists over layers 1..L of arrays [units]
    grad_w, grad_b : lists over layers of arrays [inputs, units] (the layout of ``Layer.W``) and [units]
    loss : float
    steps : list of Step, in the order a student writes them
    notation : the Notation the steps are written in
    """

    network: Network
    s: list[np.ndarray]
    a: list[np.ndarray]
    delta: list[np.ndarray]
    grad_w: list[np.ndarray]
    grad_b: list[np.ndarray]
    loss: float
    steps: list[Step]
    notation: Notation


def notation_for(net: Network, kind: str = "global") -> Notation:
    """The :class:`Notation` of ``kind`` for ``net``'s layer sizes."""
    return Notation(kind, [len(net.x)] + [layer.units for layer in net.layers])


def loss_value(net: Network, s_out: np.ndarray, yhat: np.ndarray) -> tuple[float, np.ndarray]:
    """(L, ∂L/∂ŷ) for the output's pre-activations ``s_out`` and activations ``yhat`` [n_out].

    Every loss is :mod:`~backproplab.scratch.functional`'s. Cross-entropy and binary cross-entropy
    are computed from the pre-activations (their output delta comes from s too, see
    :func:`output_delta`), so ∂L/∂ŷ is not used and is returned as NaN; the squared errors are
    ``half_mse`` scaled: ½Σ is n·half_mse, Σ is 2n·half_mse, mean is 2·half_mse.

    Binary cross-entropy of a sigmoid output a = σ(s), from s. With log σ(s) = −log(1 + e^−s) and
    log(1 − σ(s)) = −s − log(1 + e^−s)::

        L = −[y log σ(s) + (1 − y) log(1 − σ(s))] = (1 − y)·s + log(1 + e^−s) = log(1 + e^s) − y·s
          = max(s, 0) − y·s + log(1 + e^−|s|)     (no overflow, no log 0)
        ∂L/∂s = σ(s) − y                           (the δ of the output unit, mean over n outputs: /n)

    which is torch's ``BCEWithLogitsLoss``. The probability form breaks once σ(s) rounds to 0 or 1:
    for s = 40, y = 0, σ(40) = 1.0 in float64 and log(1 − 1) = −inf; torch's ``BCELoss`` clamps
    the log at −100 (L = 100, not the true 40 + 4e-18) and its gradient (a − y)/max(a(1 − a), 1e-12)
    ·σ′(s) = 1e12·4.2e-18 = 4.2e-6 (not the true σ(40) − 0 = 1). A teaching trace prints the loss of
    the network, so it computes both from s, for every s, and says so when the form it prints changes.
    """
    y, n = net.y, len(net.y)
    with np.errstate(all="ignore"):
        if net.loss == "bce":
            return F.raw_bce_with_logits(s_out, y), np.full(n, np.nan)
        if net.loss == "cross_entropy":
            return F.raw_softmax_cross_entropy(s_out[None, :], y[None, :]), np.full(n, np.nan)
        scale = {"half_squared_error": n, "squared_error": 2 * n, "mse": 2}[net.loss]
        return scale * F.raw_half_mse(yhat, y), scale * F.raw_half_mse_grad(yhat, y)


def output_delta(net: Network, s_out: np.ndarray, yhat: np.ndarray) -> np.ndarray | None:
    """δ = ∂L/∂s of the output layer where the loss gives it from s directly, else None (then
    δ = ∂L/∂ŷ·f′(s)): softmax with cross-entropy ŷ − y (summed over classes), sigmoid with binary
    cross-entropy (σ(s) − y)/n (mean over the n outputs; see :func:`loss_value`)."""
    if net.loss == "cross_entropy":
        return F.softmax_cross_entropy_delta(yhat, net.y) + 0.0
    if net.loss == "bce":
        return F.raw_bce_with_logits_grad(s_out, net.y) + 0.0
    return None


def trace(net: Network, notation: str = "global") -> Trace:
    """Forward and backward pass of ``net``, unit by unit, with printable steps.

    Parameters
    ----------
    net : Network
    notation : ``"global"`` (units numbered through the network, as the JKU course) or ``"layer"``
        (numbered within each layer, the layer in a superscript); see :class:`Notation`.

    Returns
    -------
    Trace
        Overflowing or saturating numbers give inf/nan in the trace (and fail the torch checks)
        rather than a NumPy warning.
    """
    nt = notation_for(net, notation)
    with np.errstate(all="ignore"):
        s_all, a_all, steps = _forward(net, nt)
        loss, dyhat = loss_value(net, s_all[-1], a_all[-1])
        loss_step, dparts = _loss_step(net, nt, loss, s_all[-1], a_all[-1])
        steps.append(loss_step)
        delta = _backward(net, nt, s_all, a_all, dyhat, dparts, steps)
        grad_w, grad_b = _gradients(net, nt, a_all, delta, steps)
    return Trace(net, s_all, a_all, delta, grad_w, grad_b, loss, steps, nt)


def _forward(net: Network, nt: Notation) -> tuple[list[np.ndarray], list[np.ndarray], list[Step]]:
    """s and a of every layer, and their steps: s_j = Σ_k w_jk a_k + b_j, a_j = f(s_j).

    Unit by unit (s₃, a₃, s₄, a₄, …), except a softmax layer: each of its a's is written with every s of
    the layer, so all its s's come first (s₅, s₆, s₇, then a₅, a₆, a₇).
    """
    steps: list[Step] = []
    s_all, a_all = [], []
    a_prev = net.x
    for li, layer in enumerate(net.layers, start=1):
        s = a_prev @ layer.W + layer.b
        a, _ = _activate(layer.activation, s)
        a_steps = []
        for j in range(1, len(s) + 1):
            terms, subs = [], []
            for k in range(1, len(a_prev) + 1):
                (W, TW), (A, TA) = nt.w(li, j, k), nt.a(li - 1, k)
                terms.append((f"{W}·{A}", f"{TW} {TA}"))
                subs.append((f"{_num(layer.W[k - 1, j - 1])}·{_num(a_prev[k - 1])}",
                             rf"{_tnum(layer.W[k - 1, j - 1])} \cdot {_tnum(a_prev[k - 1])}"))
            terms.append(nt.b(li, j))
            subs.append((_num(layer.b[j - 1]), _tnum(layer.b[j - 1])))
            S, TS = nt.s(li, j)
            steps.append(Step("s", S, " + ".join(t for t, _ in terms), " + ".join(t for t, _ in subs),
                              float(s[j - 1]), TS, " + ".join(t for _, t in terms), " + ".join(t for _, t in subs),
                              index=(li, j)))
            A, TA = nt.a(li, j)
            ft, fs, tft, tfs = _act_strings(layer.activation, nt, li, j, s)
            a_steps.append(Step("a", A, ft, fs, float(a[j - 1]), TA, tft, tfs, index=(li, j)))
            if layer.activation != "softmax":
                steps.append(a_steps.pop())
        steps += a_steps  # a softmax layer's a's, after all its s's
        s_all.append(s)
        a_all.append(a)
        a_prev = a
    return s_all, a_all, steps


def _backward(net: Network, nt: Notation, s_all: list[np.ndarray], a_all: list[np.ndarray], dyhat: np.ndarray,
              dparts: list[tuple], steps: list[Step]) -> list[np.ndarray]:
    """δ = ∂L/∂s of every layer, top down, appending their steps.

    Output: δ_j = ∂L/∂ŷ_j · f'(s_j), or :func:`output_delta` (softmax with cross-entropy, sigmoid with
    binary cross-entropy: from s); below: δ_k = f'(s_k) Σ_j w_jk δ_j over the units j of the layer above.
    The output's steps are written as ∂L/∂ŷ·f′(s) (for bce (ŷ − y)/(ŷ(1 − ŷ))·ŷ(1 − ŷ)), or whole,
    ŷ − y, for softmax and for bce whose ŷ prints as 0 or 1 (see :func:`_whole_output_delta`).
    """
    L = len(net.layers)
    delta: list[np.ndarray] = [np.zeros(0)] * L
    whole = _whole_output_delta(net, a_all[-1])  # the output's δ strings are whole, not ∂L/∂ŷ·f′(s)
    for li in range(L, 0, -1):
        layer = net.layers[li - 1]
        s, a = s_all[li - 1], a_all[li - 1]
        _, fprime = _activate(layer.activation, s)
        direct = output_delta(net, s, a) if li == L else None
        if direct is not None:
            delta[li - 1] = direct
        else:
            upstream = dyhat if li == L else net.layers[li].W @ delta[li]
            delta[li - 1] = upstream * fprime + 0.0  # + 0.0 turns -0.0 into 0.0 for printing
        for j in range(1, len(s) + 1):
            D, TD = nt.delta(li, j)
            if li == L and whole:
                up_f, up_s, tup_f, tup_s = dparts[j - 1]
                steps.append(Step("delta", D, up_f, up_s, float(delta[li - 1][j - 1]), TD, tup_f, tup_s,
                                  index=(li, j)))
                continue
            if li == L:
                up_f, up_s, tup_f, tup_s = dparts[j - 1]
            else:
                up_f, up_s, tup_f, tup_s = _upstream_strings(net, nt, li, j, delta[li])
            dsym, tdsym = _deriv_symbol(nt, layer.activation, li, j)
            dval, tdval = _deriv_strings(layer.activation, float(s[j - 1]), float(a[j - 1]))
            steps.append(Step("delta", D, f"{up_f}·{dsym}", f"{up_s}·{dval}", float(delta[li - 1][j - 1]), TD,
                              rf"{tup_f} \cdot {tdsym}", rf"{tup_s} \cdot {tdval}", index=(li, j)))
    return delta


def _whole_output_delta(net: Network, yhat: np.ndarray) -> bool:
    """Whether the output δ steps are written whole (``dparts`` of :func:`_loss_step` are δ itself)."""
    return net.loss == "cross_entropy" or (net.loss == "bce" and bce_from_logits_form(yhat))


def _upstream_strings(net: Network, nt: Notation, li: int, j: int, delta_above: np.ndarray) -> tuple[str, ...]:
    """(text formula, text substituted, tex formula, tex substituted) of Σ_m w_mj δ_m above unit j of ``li``."""
    above = net.layers[li].W  # [units of li, units above]: above[j - 1, m] is w_mj
    syms = [(nt.w(li + 1, m, j), nt.delta(li + 1, m)) for m in range(1, above.shape[1] + 1)]
    up_f = " + ".join(f"{w}·{d}" for (w, _), (d, _) in syms)
    tup_f = " + ".join(f"{tw} {td}" for (_, tw), (_, td) in syms)
    up_s = " + ".join(f"{_num(above[j - 1, m])}·{_num(delta_above[m])}" for m in range(above.shape[1]))
    tup_s = " + ".join(rf"{_tnum(above[j - 1, m])} \cdot {_tnum(delta_above[m])}" for m in range(above.shape[1]))
    return f"({up_f})", f"({up_s})", rf"\left({tup_f}\right)", rf"\left({tup_s}\right)"


def _gradients(net: Network, nt: Notation, a_all: list[np.ndarray], delta: list[np.ndarray],
               steps: list[Step]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """∂L/∂w_jk = δ_j a_k and ∂L/∂b_j = δ_j of every layer, appending their steps."""
    grad_w, grad_b = [], []
    for li in range(1, len(net.layers) + 1):
        a_prev = net.x if li == 1 else a_all[li - 2]
        d = delta[li - 1]
        grad_w.append(np.outer(a_prev, d) + 0.0)  # [inputs, units], as W
        grad_b.append(d.copy())
        for j in range(1, len(d) + 1):
            D, TD = nt.delta(li, j)
            for k in range(1, len(a_prev) + 1):
                (G, TG), (A, TA) = nt.grad_w(li, j, k), nt.a(li - 1, k)
                steps.append(Step("dw", G, f"{D}·{A}", f"{_num(d[j - 1])}·{_num(a_prev[k - 1])}",
                                  float(d[j - 1] * a_prev[k - 1]) + 0.0, TG, f"{TD} {TA}",
                                  rf"{_tnum(d[j - 1])} \cdot {_tnum(a_prev[k - 1])}", index=(li, j, k)))
            G, TG = nt.grad_b(li, j)
            steps.append(Step("db", G, D, "", float(d[j - 1]), TG, TD, "", index=(li, j)))
    return grad_w, grad_b

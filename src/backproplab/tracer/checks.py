"""Checks of a trace that share no code with it: torch autograd and central finite differences."""

from __future__ import annotations

from typing import Any

import numpy as np

from backproplab.tracer.network import Ask, Network
from backproplab.tracer.trace import Trace, _activate, loss_value


def torch_reference(net: Network) -> dict[str, Any]:
    """The same pass in torch (float64, autograd): s, a, loss, δ = ∂L/∂s, ∂L/∂W, ∂L/∂b.

    The loss uses torch's own functions (``mse_loss``; ``binary_cross_entropy_with_logits`` and
    ``cross_entropy`` on the output's pre-activations, the quantities the trace computes), so the
    check does not share code with :func:`trace`.
    """
    import torch  # lazy (heavy): the trace itself runs without torch
    import torch.nn.functional as TF

    from backproplab.torchnn.functions import torch_activation

    a = torch.tensor(net.x, dtype=torch.float64)
    Ws, bs, ss, As = [], [], [], []
    for layer in net.layers:
        W = torch.tensor(layer.W, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(layer.b, dtype=torch.float64, requires_grad=True)
        s = a @ W + b
        s.retain_grad()
        a = torch_activation(layer.activation)(s)
        Ws.append(W), bs.append(b), ss.append(s), As.append(a)
    y = torch.tensor(net.y, dtype=torch.float64)
    if net.loss == "bce":  # from the logits, as the trace computes it (BCEWithLogitsLoss)
        loss = TF.binary_cross_entropy_with_logits(ss[-1], y)
    elif net.loss == "cross_entropy":  # from the logits, with probability targets
        loss = TF.cross_entropy(ss[-1].unsqueeze(0), y.unsqueeze(0))
    elif net.loss == "half_squared_error":
        loss = 0.5 * TF.mse_loss(a, y, reduction="sum")
    elif net.loss == "squared_error":
        loss = TF.mse_loss(a, y, reduction="sum")
    else:
        loss = TF.mse_loss(a, y)
    loss.backward()
    return {"s": [t.detach().numpy() + 0.0 for t in ss], "a": [t.detach().numpy() + 0.0 for t in As],
            "loss": float(loss.detach()), "delta": [t.grad.numpy() + 0.0 for t in ss],
            "grad_w": [t.grad.numpy() + 0.0 for t in Ws], "grad_b": [t.grad.numpy() + 0.0 for t in bs]}


def finite_difference_weights(net: Network, h: float = 1e-6) -> list[np.ndarray]:
    """∂L/∂W of every layer by central differences of the loss (NumPy forward passes).

    For each layer, every copy of the network with one weight moved by ±h runs forward as one
    batch (row r of the batch: weight r moved), so a large network takes a fraction of a second.
    """
    with np.errstate(all="ignore"):  # a network whose sums overflow gives inf/nan here, as in the trace
        return _finite_differences(net, h)


def _finite_differences(net: Network, h: float) -> list[np.ndarray]:
    grads = []
    a_below = net.x  # the input to the layer being perturbed (unchanged by its own weights)
    for li, layer in enumerate(net.layers):
        fan_in, units = layer.W.shape
        count = fan_in * units
        moves = np.zeros((count, fan_in, units))
        moves.reshape(count, -1)[np.arange(count), np.arange(count)] = h
        values = []
        for sign in (1, -1):
            s = a_below @ (layer.W + sign * moves) + layer.b  # [fan_in*units, units]
            a, _ = _activate(layer.activation, s)
            for above in net.layers[li + 1:]:
                s = a @ above.W + above.b
                a, _ = _activate(above.activation, s)
            values.append(np.array([loss_value(net, s_r, a_r)[0] for s_r, a_r in zip(s, a, strict=True)]))
        grads.append(((values[0] - values[1]) / (2 * h)).reshape(fan_in, units))
        a_below, _ = _activate(layer.activation, a_below @ layer.W + layer.b)
    return grads


def max_abs_diff(ours: list[np.ndarray], ref: list[np.ndarray]) -> tuple[float, int]:
    """The largest |ours − ref| over all arrays (NaN where an operand is NaN or both are one infinity:
    such a check fails, it does not warn) and how many numbers were compared."""
    with np.errstate(invalid="ignore"):
        diffs = [np.max(np.abs(o - r)) for o, r in zip(ours, ref, strict=True)]
    return float(max(diffs)), int(sum(o.size for o in ours))


def check_trace(tr: Trace, ref: dict[str, Any] | None = None) -> dict[str, tuple[float, int]]:
    """Max |ours − torch| and count for s, a, loss, delta, grad_w, grad_b; fills ``Step.torch``."""
    ref = torch_reference(tr.network) if ref is None else ref
    out = {key: max_abs_diff(getattr(tr, key), ref[key]) for key in ("s", "a")}
    out["loss"] = (abs(tr.loss - ref["loss"]), 1)
    out.update({key: max_abs_diff(getattr(tr, key), ref[key]) for key in ("delta", "grad_w", "grad_b")})
    for step in tr.steps:
        if step.kind == "loss":
            step.torch = ref["loss"]
        elif step.kind in ("s", "a", "delta", "db"):
            key = {"db": "grad_b"}.get(step.kind, step.kind)
            step.torch = float(ref[key][step.index[0] - 1][step.index[1] - 1])
        elif step.kind == "dw":
            li, j, k = step.index
            step.torch = float(ref["grad_w"][li - 1][k - 1, j - 1])
    return out


def asked_value(tr: Trace, ask: Ask) -> float:
    """The value of an asked gradient in a trace."""
    if ask.source is None:
        return float(tr.grad_b[ask.layer - 1][ask.to - 1])
    return float(tr.grad_w[ask.layer - 1][ask.source - 1, ask.to - 1])

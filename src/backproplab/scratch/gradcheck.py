"""Gradient checks, two independent ways: central finite differences, and PyTorch autograd.

* :func:`check_gradients` compares the network's backprop gradients with central differences
  ``(L(p + eps) - L(p - eps)) / (2 eps)`` computed in float64, entry by entry, deterministically.
* :func:`compare_with_torch` builds the same network in PyTorch (same weights, activations, loss and
  batch, float64) and compares every backprop gradient with autograd's.

Both return a :class:`GradCheckReport` (edunn style): a failing check names the parameter, the
index, the analytic and the numeric value and the relative error; a passing one says how many
derivatives it checked.

The relative error of one entry is ``|a - n| / max(|a|, |n|, floor)``: ``floor`` (default 1e-8)
keeps entries whose true derivative is 0 (a dead ReLU unit, say) from dividing by 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from backproplab.errors import InputError
from backproplab.scratch._checks import check_positive
from backproplab.scratch.functional import loss_and_grad
from backproplab.scratch.network import Network
from backproplab.scratch.train import prepare_targets

FLOOR = 1e-8


def _check_floor(floor) -> float:
    return check_positive(floor, "floor", minimum=0.0)


def relative_errors(a, b, floor: float = FLOOR) -> np.ndarray:
    """Element-wise ``|a - b| / max(|a|, |b|, floor)``, shape of the (broadcast) inputs.

    Equal entries have error 0 whatever ``floor`` (``floor=0``, a pure relative error, gave 0/0 = NaN,
    a failure, for two exact zeros); a NaN in either input gives NaN (a failure).
    """
    floor = _check_floor(floor)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    diff = np.abs(a - b)
    denom = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
    return np.divide(diff, denom, out=np.zeros(diff.shape), where=diff != 0)


def relative_error(a, b, floor: float = FLOOR) -> float:
    """The largest element-wise relative error ``|a - b| / max(|a|, |b|, floor)`` (0.0 for equal arrays)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"b must have the shape of a {a.shape}, got {b.shape}")
    if a.size == 0:
        return 0.0
    return float(relative_errors(a, b, floor).max())


@dataclass
class ParamCheck:
    """The check of one parameter array: its worst entry and whether every entry passed."""

    name: str
    shape: tuple[int, ...]
    n_checked: int
    max_rel_error: float
    index: tuple[int, ...]
    analytic: float
    numeric: float
    passed: bool

    def __str__(self) -> str:
        head = f"{self.name} {self.shape}: "
        detail = (
            f"index {self.index}: analytic {self.analytic:.12g}, {self.reference_name} {self.numeric:.12g}, "
            f"relative error {self.max_rel_error:.3g}"
        )
        if self.passed:
            return head + f"ok, {self.n_checked} derivatives, max relative error {self.max_rel_error:.3g}"
        return head + "FAILED at " + detail

    reference_name: str = "numeric"


@dataclass
class GradCheckReport:
    """Result of a gradient check over every parameter of a network."""

    method: str
    tol: float
    checks: list[ParamCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def __bool__(self) -> bool:
        return self.passed

    @property
    def n_checked(self) -> int:
        return sum(c.n_checked for c in self.checks)

    @property
    def max_rel_error(self) -> float:
        return max((c.max_rel_error for c in self.checks), default=0.0)

    def failures(self) -> list[ParamCheck]:
        return [c for c in self.checks if not c.passed]

    def per_parameter(self) -> dict[str, float]:
        """``{parameter name: max relative error}``."""
        return {c.name: c.max_rel_error for c in self.checks}

    def __str__(self) -> str:
        lines = [str(c) for c in self.checks]
        if self.passed:
            summary = (
                f"gradient check ({self.method}) passed: {self.n_checked} derivatives checked, "
                f"max relative error {self.max_rel_error:.3g} < {self.tol:g}"
            )
        else:
            summary = (
                f"gradient check ({self.method}) FAILED for {len(self.failures())} of {len(self.checks)} "
                f"parameters (tolerance {self.tol:g})"
            )
        return "\n".join([summary, *("  " + line for line in lines)])

    def raise_if_failed(self) -> GradCheckReport:
        """Raise AssertionError with the report's text when any parameter failed; else return self."""
        if not self.passed:
            raise AssertionError(str(self))
        return self


def _prepare(network: Network, X, y, loss: str) -> tuple[Network, np.ndarray, np.ndarray]:
    if not isinstance(network, Network):
        raise InputError(f"network must be a backproplab.scratch.Network, got {type(network).__name__}")
    # a float64 network is checked as it is (its parameters are restored exactly after each
    # perturbation; its dW/db are overwritten); a float32 one through a float64 copy
    net64 = network if network.dtype == np.float64 else network.astype(np.float64)
    X = network.check_inputs(X, dtype=np.float64)
    t = prepare_targets(y, loss, X.shape[0], network.d_out, np.float64)
    return net64, X, t


def analytic_gradients(network: Network, X, y, loss: str = "softmax_cross_entropy") -> list[np.ndarray]:
    """Backprop gradients of the mean ``loss`` on the batch, in float64, aligned with ``parameters()``."""
    net64, X, t = _prepare(network, X, y, loss)
    return _analytic(net64, X, t, loss)


def _analytic(net64: Network, X: np.ndarray, t: np.ndarray, loss: str) -> list[np.ndarray]:
    out = net64._forward(X)
    _, grad = loss_and_grad(loss, out, t)
    net64.backward(grad)
    return [g.copy() for g in net64.gradients()]


def numerical_gradients(
    network: Network, X, y, loss: str = "softmax_cross_entropy", eps: float = 1e-6, order: int = 2
) -> list[np.ndarray]:
    """Central-difference gradients of the mean ``loss`` on the batch, in float64.

    For every entry ``p`` of every parameter, the other entries held fixed:

    * ``order=2``: ``(L(p + eps) - L(p - eps)) / (2 eps)``, error ``O(eps**2)``;
    * ``order=4``: ``(8 (L(p + eps) - L(p - eps)) - (L(p + 2 eps) - L(p - 2 eps))) / (12 eps)``,
      error ``O(eps**4)``.

    A float32 network is copied to float64 first; a float64 one is used as it is, every
    perturbed entry restored exactly (its ``dW``/``db`` are left as the analytic gradients).

    Returns
    -------
    list of float64 arrays aligned with ``network.parameters()``.
    """
    eps = check_positive(eps, "eps")
    if order not in (2, 4):
        raise InputError(f"order must be 2 or 4, got {order!r}")
    net64, X, t = _prepare(network, X, y, loss)
    return _numerical(net64, X, t, loss, eps, order)


def _numerical(
    net64: Network, X: np.ndarray, t: np.ndarray, loss: str, eps: float, order: int = 2
) -> list[np.ndarray]:
    def value_at(p: np.ndarray, idx: tuple, x: float) -> float:
        p[idx] = x
        return loss_and_grad(loss, net64._forward(X), t)[0]

    result = []
    for p in net64.parameters():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = float(p[idx])
            if order == 2:
                g[idx] = (value_at(p, idx, old + eps) - value_at(p, idx, old - eps)) / (2.0 * eps)
            else:
                g[idx] = (
                    8.0 * (value_at(p, idx, old + eps) - value_at(p, idx, old - eps))
                    - (value_at(p, idx, old + 2 * eps) - value_at(p, idx, old - 2 * eps))
                ) / (12.0 * eps)
            p[idx] = old
        result.append(g)
    return result


def _report(method, reference_name, names, analytic, reference, tol, floor) -> GradCheckReport:
    report = GradCheckReport(method=method, tol=tol)
    for name, a, r in zip(names, analytic, reference, strict=True):
        err = relative_errors(a, r, floor)
        flat = int(np.argmax(err))
        idx = tuple(int(i) for i in np.unravel_index(flat, a.shape))
        worst = float(err.flat[flat])
        report.checks.append(
            ParamCheck(
                name=name,
                shape=tuple(a.shape),
                n_checked=int(a.size),
                max_rel_error=worst,
                index=idx,
                analytic=float(a[idx]),
                numeric=float(r[idx]),
                passed=bool(worst < tol),
                reference_name=reference_name,
            )
        )
    return report


def check_gradients(
    network: Network,
    X,
    y,
    loss: str = "softmax_cross_entropy",
    eps: float | None = None,
    tol: float = 1e-6,
    floor: float = FLOOR,
    order: int = 4,
) -> GradCheckReport:
    """Compare backprop with central differences for every entry of every parameter (float64).

    Why fourth order by default: the two-point difference's rounding error is about
    ``|L| * 2**-52 / eps``, some 1e-10 at ``eps = 1e-6``, so an entry whose derivative is 1e-5 cannot
    be checked below a relative error of 1e-5 with it, and deep networks have such entries. The
    four-point stencil with ``eps = 1e-4`` has truncation error ``O(eps**4)`` and rounding error
    about 1e-12: every entry of the 4-layer test networks then agrees within 3e-7.

    Parameters
    ----------
    network : Network (a float32 one is checked through a float64 copy)
    X : array (N, d_in); y : targets for ``loss`` (see :func:`~backproplab.scratch.train.fit`)
    loss : a name in ``LOSSES``
    eps : finite-difference step (default 1e-4 for ``order=4``, 1e-6 for ``order=2``)
    order : 2 or 4, the stencil of :func:`numerical_gradients`
    tol : an entry passes when its relative error is below ``tol``
    floor : the smallest denominator of the relative error

    Returns
    -------
    GradCheckReport; ``print(report)`` shows one line per parameter.
    """
    if order not in (2, 4):
        raise InputError(f"order must be 2 or 4, got {order!r}")
    eps = check_positive((1e-4 if order == 4 else 1e-6) if eps is None else eps, "eps")
    tol = check_positive(tol, "tol")
    floor = _check_floor(floor)
    net64, X, t = _prepare(network, X, y, loss)
    analytic = _analytic(net64, X, t, loss)
    numeric = _numerical(net64, X, t, loss, eps, order)
    return _report(
        f"central differences, order {order}, eps {eps:g}",
        "numeric",
        network.parameter_names(),
        analytic,
        numeric,
        tol,
        floor,
    )


def torch_gradients(network: Network, X, y, loss: str = "softmax_cross_entropy"):
    """The same network, batch and loss in PyTorch (float64): ``(loss value, [grad per parameter])``.

    Weights are copied from ``network`` (W stays ``(d_in, d_out)``, the forward is ``x @ W + b``);
    activations are ``torch.sigmoid``, ``torch.tanh``, ``torch.relu``, ``F.leaky_relu`` (0.01),
    ``F.elu`` (1.0); losses are ``F.cross_entropy``, ``F.binary_cross_entropy``,
    ``F.binary_cross_entropy_with_logits`` and ``0.5 * F.mse_loss``, all with mean reduction.
    """
    import torch  # lazy, as below: torch is heavy and only these two checks need it
    import torch.nn.functional as F

    from backproplab.torchnn.functions import torch_activation

    net64, X, t = _prepare(network, X, y, loss)
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in net64.parameters()]
    a = torch.tensor(X, dtype=torch.float64)
    for i, layer in enumerate(net64.layers):
        z = a @ params[2 * i] + params[2 * i + 1]
        a = torch_activation(layer.activation)(z)
    target = torch.tensor(t, dtype=torch.float64)
    if loss == "softmax_cross_entropy":
        value = F.cross_entropy(a, target)
    elif loss == "bce":
        value = F.binary_cross_entropy(a, target)
    elif loss == "bce_with_logits":
        value = F.binary_cross_entropy_with_logits(a, target)
    else:
        value = 0.5 * F.mse_loss(a, target)
    value.backward()
    return float(value.item()), [p.grad.numpy().copy() for p in params]


def compare_with_torch(
    network: Network,
    X,
    y,
    loss: str = "softmax_cross_entropy",
    tol: float = 1e-8,
    floor: float = FLOOR,
) -> GradCheckReport:
    """Compare every backprop gradient with PyTorch autograd on the same network and batch (float64).

    Independent of :func:`check_gradients`: no finite differences here. Returns a
    :class:`GradCheckReport` whose reference values are autograd's; the loss values are compared
    too (a ``"loss"`` entry).
    """
    tol = check_positive(tol, "tol")
    floor = _check_floor(floor)
    net64, X64, t = _prepare(network, X, y, loss)
    ours_value = loss_and_grad(loss, net64._forward(X64), t)[0]
    analytic = _analytic(net64, X64, t, loss)
    torch_value, reference = torch_gradients(network, X, y, loss)
    report = _report("torch autograd", "autograd", network.parameter_names(), analytic, reference, tol, floor)
    err = relative_error(np.array([ours_value]), np.array([torch_value]), floor)
    report.checks.insert(
        0, ParamCheck("loss", (), 1, err, (), ours_value, torch_value, err < tol, reference_name="autograd")
    )
    return report

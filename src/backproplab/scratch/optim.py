"""Stochastic gradient descent with momentum / Nesterov, and step-size schedules.

A schedule is any callable ``schedule(t) -> float`` giving the step size at step ``t = 0, 1, 2, ...``.
The ones here compute ``eta_t`` **from t** in closed form; none multiplies the previous step size
by a factor (compounding), so ``exponential(eta0, d)(10) == eta0 * d**10`` exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from backproplab.errors import InputError
from backproplab.scratch._checks import check_positive


def _check_t(t) -> int:
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
        raise InputError(f"t must be a non-negative integer step, got {t!r}")
    return int(t)


@dataclass(frozen=True)
class Constant:
    """``eta_t = eta0``."""

    eta0: float

    def __call__(self, t: int) -> float:
        _check_t(t)
        return self.eta0


@dataclass(frozen=True)
class Exponential:
    """``eta_t = eta0 * d**t`` (computed from t; never compounded step on step).

    ``eta0`` and ``d`` may also be NumPy arrays of one shape: then ``eta_t`` is an array, one step
    size per schedule (the gradient-descent lesson runs many settings at once this way).
    """

    eta0: float
    d: float

    def __call__(self, t: int) -> float:
        return self.eta0 * self.d ** _check_t(t)


@dataclass(frozen=True)
class StepDecay:
    """``eta_t = eta0 * drop**(t // every)``: the step size falls by ``drop`` every ``every`` steps."""

    eta0: float
    drop: float
    every: int

    def __call__(self, t: int) -> float:
        return self.eta0 * self.drop ** (_check_t(t) // self.every)


@dataclass(frozen=True)
class InverseTime:
    """``eta_t = eta0 / (1 + k t)`` (the 1/t schedule)."""

    eta0: float
    k: float

    def __call__(self, t: int) -> float:
        return self.eta0 / (1.0 + self.k * _check_t(t))


def constant(eta0: float) -> Constant:
    """The constant schedule ``eta_t = eta0``."""
    return Constant(check_positive(eta0, "eta0"))


def exponential(eta0: float, d: float) -> Exponential:
    """The exponential schedule ``eta_t = eta0 * d**t``, ``0 < d <= 1``."""
    d = check_positive(d, "d")
    if d > 1:
        raise InputError(f"d must be in (0, 1] for a decaying schedule, got {d!r}")
    return Exponential(check_positive(eta0, "eta0"), d)


def step_decay(eta0: float, drop: float, every: int) -> StepDecay:
    """Step decay ``eta_t = eta0 * drop**(t // every)``, ``0 < drop <= 1``, ``every >= 1``."""
    drop = check_positive(drop, "drop")
    if drop > 1:
        raise InputError(f"drop must be in (0, 1], got {drop!r}")
    return StepDecay(
        check_positive(eta0, "eta0"), drop, check_positive(every, "every", integer=True, minimum=1)
    )


def inverse_time(eta0: float, k: float) -> InverseTime:
    """The 1/t schedule ``eta_t = eta0 / (1 + k t)``, ``k >= 0``."""
    return InverseTime(check_positive(eta0, "eta0"), check_positive(k, "k", minimum=0.0))


class SGD:
    """Stochastic gradient descent, plain, with classical momentum, or with Nesterov momentum.

    Update of each parameter ``p`` with gradient ``g`` at step ``t`` (PyTorch's formulation, so the
    trajectories equal ``torch.optim.SGD``'s):

    * plain: ``p -= eta_t * g``
    * momentum: ``v = mu * v + g``; ``p -= eta_t * v``
    * Nesterov: ``v = mu * v + g``; ``p -= eta_t * (g + mu * v)``

    Parameters
    ----------
    lr : float > 0
        The step size when no ``schedule`` is given.
    momentum : float in [0, 1)
    nesterov : bool
        Needs ``momentum > 0``.
    schedule : callable ``t -> eta_t`` or None
        When given it sets the step size, overriding ``lr``.
    per : "step" or "epoch"
        What ``t`` counts: optimizer steps (the default) or epochs (``fit`` calls :meth:`end_epoch`).

    The optimizer is not bound to arrays: :meth:`step` takes the parameter and gradient lists, and
    keeps one velocity buffer per position in the list.
    """

    def __init__(
        self,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        schedule: Callable[[int], float] | None = None,
        per: str = "step",
    ) -> None:
        self.lr0 = check_positive(lr, "lr")
        momentum = check_positive(momentum, "momentum", minimum=0.0)
        if momentum >= 1:
            raise InputError(f"momentum must be in [0, 1), got {momentum!r}")
        if nesterov and momentum == 0:
            raise InputError("nesterov=True needs momentum > 0, got momentum=0")
        if schedule is not None and not callable(schedule):
            raise InputError(f"schedule must be a callable t -> step size, got {schedule!r}")
        if per not in ("step", "epoch"):
            raise InputError(f"per must be 'step' or 'epoch', got {per!r}")
        self.momentum = momentum
        self.nesterov = bool(nesterov)
        self.schedule = schedule
        self.per = per
        self.t = 0  # steps (or epochs) taken
        self._velocity: list[np.ndarray] | None = None
        self._scratch: list[np.ndarray] | None = None

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr0}, momentum={self.momentum}, nesterov={self.nesterov}, "
            f"schedule={self.schedule!r}, per={self.per!r})"
        )

    @property
    def lr(self) -> float:
        """The step size the next :meth:`step` will use."""
        if self.schedule is None:
            return self.lr0
        eta = float(self.schedule(self.t))
        if not np.isfinite(eta) or eta <= 0:
            raise InputError(f"schedule must return a finite step size > 0, got {eta!r} at t={self.t}")
        return eta

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Update ``params`` in place from ``grads`` (aligned lists of arrays)."""
        if len(params) != len(grads):
            raise InputError(f"grads must align with params ({len(params)} arrays), got {len(grads)}")
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            # NumPy would broadcast a (d,) or (1, d) gradient over a (k, d) parameter without a word; one
            # value for a one-value parameter (a float for a (1,) array) is the same update
            if np.shape(g) != np.shape(p) and not np.size(g) == np.size(p) == 1:
                raise InputError(f"grads[{i}] must have the shape of params[{i}] {np.shape(p)}, got {np.shape(g)}")
        eta = self.lr
        mu = self.momentum
        if mu == 0:
            # p -= eta * g through one reused buffer per parameter: no temporaries per step
            if self._scratch is None or [s.shape for s in self._scratch] != [p.shape for p in params]:
                self._scratch = [np.empty_like(p) for p in params]
            for p, g, tmp in zip(params, grads, self._scratch, strict=True):
                np.multiply(g, p.dtype.type(eta), out=tmp)
                p -= tmp
        else:
            if self._velocity is None or [v.shape for v in self._velocity] != [p.shape for p in params]:
                self._velocity = [np.zeros_like(p) for p in params]
            for p, g, v in zip(params, grads, self._velocity, strict=True):
                v *= mu
                v += g
                if self.nesterov:
                    p -= p.dtype.type(eta) * (g + p.dtype.type(mu) * v)
                else:
                    p -= p.dtype.type(eta) * v
        if self.per == "step":
            self.t += 1

    def end_epoch(self) -> None:
        """Advance ``t`` when the schedule counts epochs (``per="epoch"``); no-op otherwise."""
        if self.per == "epoch":
            self.t += 1

    def reset(self) -> None:
        """Forget velocities and restart the schedule at t = 0."""
        self.t = 0
        self._velocity = None
        self._scratch = None

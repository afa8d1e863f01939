"""A verdict on a training run from its learning curves: the rule is written down, not guessed.

:func:`diagnose` reads the last epochs of a :class:`~backproplab.history.History` (either engine's, or its
``to_dict()``) and returns a :class:`Verdict` whose label is one of ``"not converged"``,
``"overfitting"``, ``"underfitting"`` or ``"generalizing well"``, with a one-line explanation that
cites the numbers the rule looked at.

:func:`judgement` turns a verdict into the course's one word (CONTRACTS.md A2.7/A3.3): exactly one
of ``"underfitting"``, ``"overfitting"``, ``"generalizing"``; the :class:`Verdict` keeps the reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from backproplab.errors import InputError

__all__ = ["Verdict", "diagnose", "judgement", "LABELS", "JUDGEMENTS"]

LABELS = ("underfitting", "overfitting", "generalizing well", "not converged")
#: The course's three words, the only values ``report_my_judgement()`` returns.
JUDGEMENTS = ("underfitting", "overfitting", "generalizing")
#: How each :data:`LABELS` entry reads in the course's words. "not converged" (still improving in
#: the last epoch, a single epoch, or a diverged run) is underfitting: the model does not yet fit
#: its training data as well as it could.
_COURSE_WORD = {"underfitting": "underfitting", "overfitting": "overfitting",
                "generalizing well": "generalizing", "not converged": "underfitting"}


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`diagnose`.

    Attributes
    ----------
    label : str
        One of :data:`LABELS`.
    explanation : str
        One line citing the numbers behind the label.
    evidence : dict
        The numbers themselves (final accuracies, gap, last-epoch changes ...).
    """

    label: str
    explanation: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.label}: {self.explanation}"


def _series(history: Any, key: str) -> list[float]:
    value = history.get(key) if isinstance(history, dict) else getattr(history, key, None)
    return [float(v) for v in (value or [])]


def _diverged(tl: list[float], vl: list[float], ev: dict[str, Any]) -> Verdict | None:
    for name, series in (("training", tl), ("validation", vl)):
        for i, v in enumerate(series):
            if not math.isfinite(v):
                return Verdict("not converged", f"the {name} loss is {v} at epoch {i + 1}: training diverged "
                               "(try a smaller learning rate)", ev)
    return None


def _overfitting(tl, ta, vl, va, gap_tol: float, val_rise_tol: float, ev: dict[str, Any]) -> Verdict | None:
    """Rule 2 of :func:`diagnose` (adds the validation-loss minimum and rise to ``ev``)."""
    T = len(tl)
    gap = ta[-1] - va[-1]
    m = min(range(T), key=lambda i: vl[i])
    rise = (vl[-1] - vl[m]) / vl[m] if vl[m] > 0 else 0.0
    ev.update(val_loss_min=vl[m], val_loss_min_epoch=m + 1, val_loss_rise=rise)
    if gap > gap_tol:
        return Verdict("overfitting", f"train accuracy {ta[-1]:.3f} vs validation {va[-1]:.3f}: gap "
                       f"{gap:.3f} > {gap_tol:.3f}", ev)
    if m < T - 1 and rise > val_rise_tol and tl[-1] < tl[m]:
        return Verdict("overfitting", f"validation loss rose from its minimum {vl[m]:.4f} (epoch {m + 1}) "
                       f"to {vl[-1]:.4f} (+{rise:.0%} > {val_rise_tol:.0%}) while training loss fell "
                       f"{tl[m]:.4f} → {tl[-1]:.4f}", ev)
    return None


def diagnose(history: Any, *, gap_tol: float = 0.05, val_rise_tol: float = 0.10, min_train_acc: float = 0.80,
             acc_tol: float = 0.01, loss_tol: float = 0.05) -> Verdict:
    """Label a run from its per-epoch curves.

    The rule, applied in this order to the final epoch ``T`` (validation curves when present):

    1. **not converged** if any loss is NaN/inf (training diverged).
    2. **overfitting** (needs validation) if the accuracy gap ``train_acc[T] - val_acc[T] > gap_tol``
       (0.05), or the validation loss ended more than ``val_rise_tol`` (10 %) above its minimum,
       reached at an earlier epoch ``m``, while the training loss kept falling
       (``train_loss[T] < train_loss[m]``).
    3. **not converged** if there is only one epoch, or the last epoch still improved things a lot:
       the monitored accuracy (validation, else training) rose by more than ``acc_tol`` (0.01), or
       the training loss fell by more than ``loss_tol`` (5 %) of its previous value.
    4. **underfitting** if the curves have flattened but ``train_acc[T] < min_train_acc`` (0.80):
       the model does not even fit its training data.
    5. **generalizing well** otherwise: high training accuracy, small gap, flat curves.

    Parameters
    ----------
    history : History or dict
        Needs ``train_loss`` and ``train_acc`` (``val_loss``/``val_acc`` optional), one value per
        epoch.
    gap_tol, val_rise_tol, min_train_acc, acc_tol, loss_tol : float
        The thresholds above.

    Returns
    -------
    Verdict

    Raises
    ------
    InputError when the lists disagree in length or the accuracies are NaN (a model without classes).
    """
    tl, ta = _series(history, "train_loss"), _series(history, "train_acc")
    vl, va = _series(history, "val_loss"), _series(history, "val_acc")
    if not tl or len(ta) != len(tl):
        raise InputError(f"history must have train_loss and train_acc with one value per epoch, got "
                         f"{len(tl)} losses and {len(ta)} accuracies")
    if any(math.isnan(a) for a in ta + va):  # "generalizing well: train accuracy nan" said nothing true
        raise InputError("diagnose reads accuracies, and this history's are NaN: its model has no classes to "
                         "pick (one output, or a loss such as half_mse); judge it by its losses instead")
    has_val = bool(vl) and len(vl) == len(tl) and len(va) == len(tl)
    T = len(tl)
    ev: dict[str, Any] = {"epochs": T, "train_loss": tl[-1], "train_acc": ta[-1]}
    if has_val:
        ev.update(val_loss=vl[-1], val_acc=va[-1], gap=ta[-1] - va[-1])

    # 1. diverged, 2. overfitting
    verdict = _diverged(tl, vl if has_val else [], ev)
    if verdict is None and has_val:
        verdict = _overfitting(tl, ta, vl, va, gap_tol, val_rise_tol, ev)
    if verdict is not None:
        return verdict

    # 3. still improving
    monitored, which = (va, "validation") if has_val else (ta, "training")
    if T < 2:
        return Verdict("not converged", f"only 1 epoch: {which} accuracy {monitored[-1]:.3f}, training loss "
                       f"{tl[-1]:.4f}; no trend to judge yet, train longer", ev)
    acc_gain = monitored[-1] - monitored[-2]
    loss_drop = (tl[-2] - tl[-1]) / tl[-2] if tl[-2] > 0 else 0.0
    ev.update(last_acc_gain=acc_gain, last_loss_drop=loss_drop)
    if acc_gain > acc_tol or loss_drop > loss_tol:
        return Verdict("not converged", f"still improving in the last epoch: {which} accuracy "
                       f"{monitored[-2]:.3f} → {monitored[-1]:.3f} ({acc_gain:+.3f}, limit {acc_tol}), training "
                       f"loss {tl[-2]:.4f} → {tl[-1]:.4f} ({0.0 - loss_drop:+.1%}, limit {loss_tol:.0%})", ev)

    # 4. underfitting
    if ta[-1] < min_train_acc:
        return Verdict("underfitting", f"curves have flattened (last-epoch {which} accuracy {acc_gain:+.3f}) "
                       f"but training accuracy is only {ta[-1]:.3f} < {min_train_acc:.2f}", ev)

    # 5. generalizing well
    tail = f", validation {va[-1]:.3f} (gap {ta[-1] - va[-1]:.3f} ≤ {gap_tol:.2f})" if has_val else ""
    return Verdict("generalizing well", f"train accuracy {ta[-1]:.3f}{tail}, curves flat in the last epoch "
                   f"({which} accuracy {acc_gain:+.3f}, training loss {0.0 - loss_drop:+.1%})", ev)


def judgement(verdict_or_history: Verdict | Any) -> str:
    """The course's word for a run: ``"underfitting"``, ``"overfitting"`` or ``"generalizing"``.

    Parameters
    ----------
    verdict_or_history : Verdict, or a history :func:`diagnose` accepts

    Returns
    -------
    str, one of :data:`JUDGEMENTS`: ``generalizing well`` → ``generalizing``; ``not converged``
    (still improving, one epoch, or diverged) → ``underfitting``; the other two unchanged.
    """
    verdict = verdict_or_history if isinstance(verdict_or_history, Verdict) else diagnose(verdict_or_history)
    return _COURSE_WORD[verdict.label]

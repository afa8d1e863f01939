"""One divergence policy for both engines' ``fit`` (and ``NumpyANN.train``): what a NaN/inf loss does.

The policy
----------
On a non-finite training loss ``fit`` **stops**; puts the model's parameters (and buffers), the
optimizer's state (momentum, step counts, schedule position) and, on the torch side, the RNGs back to
**the start of the failing epoch**; and raises :class:`~backproplab.errors.NonFiniteError` naming the
epoch, the batch (``batch B of N``) and the first layer or parameter that went non-finite (attributes
``epoch``, ``batch``, ``n_batches``, ``layer``, and ``history``: the epochs completed before, which
the restored state matches row for row).

Why the start of the epoch, and not the last good batch: it is the one state the run can name and
continue from. The error's history ends there, a checkpoint of it exists (the torch ``fit`` writes
one when it writes checkpoints at all), and ``fit(..., resume=True)`` with a smaller learning rate
picks it up exactly; a mid-epoch state has no history row, no checkpoint and no batch order to resume
with. It costs one snapshot per epoch and nothing per batch, where going back to the last batch with
a finite loss needs a replay, and buys little: those parameters may already sit on the edge that the
next step fell off. Finding
*where* it went wrong is a separate, diagnostic matter: the NumPy engine reads its layers at the
failing batch; the torch engine, which reads no value back per batch, replays the epoch from the
snapshot (:mod:`backproplab.torchnn.replay`).

The mechanics, once: a loop raises :class:`Diverged` from the epoch it was training; the loop's
:class:`EpochRollback` (built by each engine from its own save/restore/locate functions) turns it into
the error after locating and restoring, in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backproplab.errors import NonFiniteError

__all__ = ["Diverged", "EpochRollback", "nonfinite_error"]


class Diverged(Exception):
    """Raised inside a training loop: the loss went non-finite at ``batch`` (1-based) of ``n_batches``.

    ``value`` is the non-finite loss when the loop saw it (None when only an epoch's sum was read).
    ``parameters``: the losses were finite, but the step of the epoch's last batch made the parameters
    non-finite (no loss of this epoch shows it, so the loop checks the parameters once at its end).
    """

    def __init__(self, batch: int, n_batches: int, value: float | None = None, *, parameters: bool = False):
        super().__init__(batch, n_batches, value)
        self.batch, self.n_batches, self.value, self.parameters = batch, n_batches, value, parameters


@dataclass
class EpochRollback:
    """The policy's mechanics for one ``fit`` call: a snapshot per epoch, and what a divergence does.

    Parameters
    ----------
    save : () -> snapshot
        Copies the state the policy restores (parameters, optimizer, RNGs); called at each epoch start.
    restore : (snapshot) -> None
        Puts that state back.
    locate : (snapshot, Diverged) -> str
        Names the first non-finite layer or parameter; called before ``restore``. If it raises
        (a replay out of memory, a user loss raising), the error says "not located (...)" and the
        state is restored all the same.
    after_restore : (epoch, snapshot, history) -> str, optional
        E.g. writes a checkpoint of the restored state; returns a note for the message ("" for none).
        If it raises (e.g. OSError), the NonFiniteError is still returned, its message saying so.
    """

    save: Callable[[], Any]
    restore: Callable[[Any], None]
    locate: Callable[[Any, Diverged], str]
    after_restore: Callable[[int, Any, Any], str] | None = None
    snapshot: Any = None

    def start_epoch(self) -> None:
        """Keep the state at the start of this epoch (once per epoch: nothing per batch)."""
        self.snapshot = self.save()

    def fail(self, div: Diverged, epoch: int, history: Any = None) -> NonFiniteError:
        """Locate, restore the epoch's start, run ``after_restore``; return the error to raise.

        ``epoch`` is 1-based; ``history`` the run's history (the epochs before this one). The restore
        always runs; an exception from ``locate`` or ``after_restore`` becomes words in the message.
        """
        try:
            where = self.locate(self.snapshot, div)
        except Exception as exc:  # a diagnostic only: a failing replay (OOM, a raising loss) must not
            where = f"not located ({type(exc).__name__}: {exc})"  # hide the divergence or skip the restore
        finally:
            self.restore(self.snapshot)
        note = ""
        if self.after_restore is not None:
            try:
                note = self.after_restore(epoch, self.snapshot, history)
            except Exception as exc:  # e.g. OSError writing the checkpoint: reported, not raised instead
                note = f"; writing that state failed ({type(exc).__name__}: {exc})"
        return nonfinite_error(div, epoch, where, note, history)


def nonfinite_error(div: Diverged, epoch: int, where: str, note: str = "", history: Any = None) -> NonFiniteError:
    """The error both engines raise, in the same words, for a loss (or an update: ``div.parameters``) that
    went NaN/inf in ``epoch`` (1-based)."""
    value = "" if div.value is None else f" ({div.value})"
    at = f"epoch {epoch}, batch {div.batch} of {div.n_batches}"
    what = f"the parameters became non-finite in the update of {at}" if div.parameters else \
        f"training loss became non-finite{value} at {at}"
    err = NonFiniteError(
        f"{what}; first non-finite: {where}; the parameters and optimizer state are restored to the start of "
        f"epoch {epoch}, the last good state{note}; try a smaller learning rate")
    err.epoch, err.batch, err.n_batches, err.layer, err.history = epoch, div.batch, div.n_batches, where, history
    return err

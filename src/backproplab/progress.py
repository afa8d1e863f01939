"""Progress of training loops: one setting for a whole run, one bar, one line per epoch.

Every training loop (``torchnn.fit``, ``scratch.fit``, ``NumpyANN.train``, the course's ``train``)
reports through :class:`LoopProgress`, in one of three forms:

``"bar"``
    a tqdm bar on stderr: epoch k/n, batch b/m, the running mean loss, elapsed time and ETA. Inside
    ``reproduce`` it sits one row below the lesson bar (and keeps that bar's clock moving); outside,
    each finished epoch's line stays above it.
``"lines"``
    one line per epoch on stderr (``epoch k/n: loss …, acc …, (… s)``): what a log file or CI shows.
``"off"``
    nothing.

Which form: a loop's ``progress`` argument says whether it may report (``False``: never), and the
setting of the run says how. ``reproduce`` and the ``backproplab`` command set it for everything
they call, with :func:`progress_mode`, so lessons need not pass a flag down::

    with progress_mode("on"):      # a bar on a terminal, lines otherwise
        lesson.run(...)

=========================  =====================  ==========================
``progress`` argument      no setting (library)   setting ``on/bar/lines/off``
=========================  =====================  ==========================
``False``                  off                    off
``True``                   bar                    the setting's form
``None``                   off                    the setting's form
=========================  =====================  ==========================

So a library call keeps its own default (``fit`` shows a bar, ``NumpyANN.train`` does not) until a
run turns progress on. Loops shorter than the setting's ``delay`` (2 s by default) show nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from backproplab.errors import InputError

__all__ = ["SETTINGS", "DELAY_S", "progress_mode", "nested", "resolve", "LoopProgress", "epoch_line"]

SETTINGS = ("on", "bar", "lines", "off")
"""What :func:`progress_mode` accepts; ``"on"`` means a bar on a terminal and lines otherwise."""

DELAY_S = 2.0
"""Seconds a loop runs before it shows anything (a shorter loop stays quiet)."""

REFRESH_S = 0.5
"""Seconds between two redraws of a bar (the loss is read from the device only then)."""

Form = Literal["bar", "lines", "off"]


@dataclass(frozen=True)
class _Setting:
    mode: str
    delay: float
    stream: Any


_SETTING: contextvars.ContextVar[_Setting | None] = contextvars.ContextVar("backproplab_progress", default=None)
_PARENTS: contextvars.ContextVar[tuple[Any, ...]] = contextvars.ContextVar("backproplab_progress_parents",
                                                                           default=())


@contextlib.contextmanager
def progress_mode(mode: str | bool, *, delay: float = DELAY_S, stream: Any = None) -> Iterator[None]:
    """Set how the training loops called inside the block report progress.

    Parameters
    ----------
    mode : "on", "bar", "lines", "off" (or True for "on", False for "off")
    delay : float >= 0
        Seconds a loop runs before its bar or first line appears.
    stream : file, optional
        Where bars and lines go (default: ``sys.stderr`` at the time of writing).
    """
    if isinstance(mode, bool):
        mode = "on" if mode else "off"
    if mode not in SETTINGS:
        raise InputError(f"progress mode must be one of {list(SETTINGS)}, got {mode!r}")
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not (delay >= 0 and math.isfinite(delay)):
        raise InputError(f"delay must be a finite number of seconds >= 0, got {delay!r}")
    token = _SETTING.set(_Setting(mode, float(delay), stream))
    try:
        yield
    finally:
        _SETTING.reset(token)


@contextlib.contextmanager
def nested(parent: Any) -> Iterator[None]:
    """Bars made inside the block sit one row below ``parent`` (a tqdm bar) and refresh it as they draw."""
    token = _PARENTS.set((*_PARENTS.get(), parent))
    try:
        yield
    finally:
        _PARENTS.reset(token)


def _stream() -> Any:
    setting = _SETTING.get()
    return setting.stream if setting is not None and setting.stream is not None else sys.stderr


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed file
        return False


def resolve(progress: bool | None) -> Form:
    """The form a loop given ``progress`` reports in, under the current setting (see the module's table)."""
    if progress is not None and not isinstance(progress, bool):
        raise InputError(f"progress must be True, False or None (the run's setting decides), got {progress!r}")
    setting = _SETTING.get()
    if progress is False:
        return "off"
    if setting is None:
        return "bar" if progress else "off"
    if setting.mode == "on":
        return "bar" if _is_terminal(_stream()) else "lines"
    return setting.mode  # type: ignore[return-value]


def epoch_line(epoch: int, epochs: int | None, loss: float, acc: float | None, seconds: float,
               **extra: float) -> str:
    """``"epoch 3/10: loss 0.4312 acc 0.8451  val_loss … val_acc …  (12.3 s)"``."""
    line = f"epoch {epoch}{f'/{epochs}' if epochs is not None else ''}: loss {loss:.4f}"
    if acc is not None:
        line += f" acc {acc:.4f}"
    if extra:
        line += "  " + " ".join(f"{key} {value:.4f}" for key, value in extra.items())
    return line + f"  ({seconds:.1f} s)"


def _write(text: str, stream: Any) -> None:
    from tqdm import tqdm

    tqdm.write(text, file=stream)  # clears and redraws any bar on the way
    with contextlib.suppress(AttributeError, ValueError, OSError):
        stream.flush()


class LoopProgress:
    """The progress of one training loop; use it as a context manager around the loop.

    Call :meth:`start_epoch` at the top of each epoch, :meth:`step` after each batch and
    :meth:`end_epoch` with the epoch's numbers. Nothing is drawn before ``delay`` seconds, and a bar
    is redrawn at most every :data:`REFRESH_S` seconds, so ``step`` costs a clock read per batch and
    the ``loss`` callable (which may read a device tensor) is called only when a bar is drawn.

    Parameters
    ----------
    progress : bool or None
        The loop's own argument (see :func:`resolve`).
    epochs : int, optional
        The loop's last epoch (1-based); None when the caller trains one epoch at a time.
    batches : int, optional
        Batches per epoch; None when unknown (an iterable without ``len``).
    first_epoch : int
        The first epoch this call runs (1-based; later after a resume).
    desc : str
        Shown before ``epoch`` in the bar and the lines (e.g. the model's class name).
    """

    def __init__(self, progress: bool | None, *, epochs: int | None, batches: int | None,
                 first_epoch: int = 1, desc: str = "") -> None:
        self.form: Form = resolve(progress)
        setting = _SETTING.get()
        self.delay = setting.delay if setting is not None else DELAY_S
        self.stream = _stream()
        self.parents = _PARENTS.get()
        self.epochs, self.batches, self.first_epoch, self.desc = epochs, batches, first_epoch, desc
        self.epoch, self.batch, self.done = first_epoch, 0, 0
        self.t0 = self._epoch_t0 = time.perf_counter()
        self._next_draw = self.t0 + self.delay
        self._bar: Any = None
        self._pending: list[str] = []
        self._lines_shown = False

    def __enter__(self) -> LoopProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start_epoch(self, epoch: int) -> None:
        """Epoch ``epoch`` (1-based) begins."""
        self.epoch, self.batch = epoch, 0
        self._epoch_t0 = time.perf_counter()

    def step(self, n: int = 1, loss: float | Callable[[], float] | None = None) -> None:
        """``n`` more batches are done; ``loss`` is the epoch's running mean loss (or a callable giving it)."""
        if self.form != "bar":
            return
        self.batch += n
        self.done += n
        now = time.perf_counter()
        if now >= self._next_draw:
            self._draw(loss, now)

    def end_epoch(self, loss: float, acc: float | None = None, seconds: float | None = None,
                  **extra: float) -> None:
        """The epoch's line (``seconds``: by default since :meth:`start_epoch`): printed in the ``lines`` form, and in the ``bar`` form outside ``reproduce``
        (a nested bar keeps the lesson's log short). Lines wait until the loop has run ``delay`` seconds."""
        if self.form == "off" or (self.form == "bar" and self.parents):
            return
        now = time.perf_counter()
        if seconds is None:
            seconds = now - self._epoch_t0
        line = epoch_line(self.epoch, self.epochs, loss, acc, seconds, **extra)
        self._pending.append(f"{self.desc} {line}" if self.desc else line)
        if self._lines_shown or now - self.t0 >= self.delay:
            self._lines_shown = True
            for text in self._pending:
                _write(text, self.stream)
            self._pending.clear()

    def close(self) -> None:
        """Remove the bar (a loop shorter than ``delay`` never showed one, nor its lines)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._pending.clear()

    def _draw(self, loss: float | Callable[[], float] | None, now: float) -> None:
        epochs = f"/{self.epochs}" if self.epochs is not None else ""
        batches = f"/{self.batches}" if self.batches is not None else ""
        head = f"{self.desc} " if self.desc else ""
        desc = f"{head}epoch {self.epoch}{epochs} batch {self.batch}{batches}"
        if self._bar is None:
            self._bar = self._make_bar(desc)
        self._bar.set_description_str(desc, refresh=False)
        value = loss() if callable(loss) else loss
        if value is not None:
            self._bar.set_postfix_str(f"loss {value:.4f}", refresh=False)
        self._bar.n = self.done if self._whole_run() else self.batch
        self._bar.refresh()
        for parent in self.parents:  # the lesson bar's clock moves while this loop runs
            parent.refresh()
        self._next_draw = now + REFRESH_S

    def _whole_run(self) -> bool:
        return self.epochs is not None and self.batches is not None

    def _make_bar(self, desc: str) -> Any:
        from tqdm import tqdm

        total = None
        if self._whole_run():
            total = self.batches * max(1, self.epochs - self.first_epoch + 1)
        elif self.batches is not None:
            total = self.batches
        fmt = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]" if total is not None \
            else "{desc} [{elapsed}{postfix}]"
        n = self.done if self._whole_run() else self.batch
        # delay: no drawing before _draw has set the loss; then as any bar (close clears it)
        bar = tqdm(total=total, desc=desc, initial=n, file=self.stream, position=len(self.parents), leave=False,
                   dynamic_ncols=True, unit="batch", bar_format=fmt, delay=math.inf)
        bar.delay = 0
        # elapsed and rate (hence ETA) count from the start of the loop, not from the first drawing
        bar.initial = 0
        bar.start_t = bar._time() - (time.perf_counter() - self.t0)
        return bar

"""What ``backproplab reproduce`` shows while it runs, and how it stops: the console and the signals.

:class:`Log` draws the lesson bar and one line per lesson on stderr and prints the verdict on stdout;
:class:`Interrupts` turns SIGTERM and SIGINT into a clean stop with a partial report (see
:mod:`backproplab.report.reproduce` for the rules).
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from backproplab.lessons.result import yes_no_reading
from backproplab.progress import resolve

if TYPE_CHECKING:
    from backproplab.report.document import ReproduceOutcome

__all__ = ["Log", "Interrupts", "lesson_line", "fmt"]


def fmt(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return str(value)


def lesson_line(name: str, entry: dict, seconds: float) -> str:
    if entry["status"] == "error":
        return f"{name}: ERROR {entry['error']['type']}: {entry['error']['message']} ({seconds:.1f} s)"
    n = len(entry["claims"])
    ok = sum(c["passed"] for c in entry["claims"])
    return f"{name}: {ok} of {n} claims pass ({seconds:.1f} s)"


class Log:
    """tqdm bar and lines on stderr, verdict on stdout; silent when ``enabled`` is False."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None

    def bar(self, total: int, initial: int, width: int) -> Any:
        from tqdm import tqdm

        # a bar only on a terminal: in a log, the lines say which lessons ran (and loops add one per epoch)
        self._bar = tqdm(total=total, initial=initial, unit="lesson", file=sys.stderr,
                         disable=not self.enabled or resolve(True) != "bar", dynamic_ncols=True, leave=False,
                         bar_format="{desc:<" + str(width) + "} {bar} {n_fmt}/{total_fmt} lessons [{elapsed}]")
        return self._bar

    def line(self, text: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None and not self._bar.disable:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def verdict(self, outcome: ReproduceOutcome, stopped_by: str | None, hint: str,
                done: tuple[int, int] = (0, 0), kept: Iterable[str] = ()) -> None:
        """Print the verdict; ``done`` is (lessons this run finished, lessons it was asked to run)."""
        if not self.enabled:
            return
        self._bar = None
        doc = outcome.results
        s = doc["summary"]
        head = f"{s['claims_passed']} of {s['claims']} claims pass"
        if not outcome.complete:
            head = (f"INCOMPLETE ({stopped_by or 'interrupted'}): {done[0]} of {done[1]} "
                    f"lessons done, {head} so far")
        lines = [f"backproplab reproduce: {head}"]
        for c in outcome.failed_claims:
            reading = yes_no_reading(c["value"], c["bound"], False, fmt)  # failed_claims: all failed
            lines.append(f"  FAIL {c['lesson']}: {c['name']}: "
                         + (reading or f"{fmt(c['value'])} (bound {c['bound']})"))
        kept = list(kept)
        if kept:
            lines.append(f"not reached, so the report keeps their earlier results: {', '.join(kept)}")
        lines.append(f"report: {outcome.html_path}")
        if not outcome.complete:
            lines.append(f"continue with: {hint}")
        print("\n".join(lines), flush=True)


class Interrupts:
    """While active: SIGTERM stops the running lesson at once (its results are dropped); SIGINT sets
    ``requested`` so the lesson finishes, and a second SIGINT stops it at once. Either way the run
    then writes a partial report. Inside :meth:`held` a signal is only recorded."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.requested: str | None = None
        self._holding = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        first = self.requested is None
        name = signal.Signals(signum).name
        self.requested = self.requested or name
        if self._holding:
            return
        if signum == signal.SIGTERM:
            print(f"\nbackproplab: {name} received: stopping the current lesson now (its results are dropped), "
                  f"then writing a partial report", file=sys.stderr, flush=True)
            raise KeyboardInterrupt
        if not first:
            raise KeyboardInterrupt
        print(f"\nbackproplab: {name} received: finishing the current lesson, then writing a "
              f"partial report (send it again to stop at once)", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Record signals without raising while the block runs (the report is being moved in)."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


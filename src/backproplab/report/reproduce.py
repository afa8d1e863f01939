"""``backproplab reproduce``: run every lesson, keep what it measured, write the report.

The report directory (``--out``, default ``./backproplab-report``) receives::

    index.html       self-contained page: claims first, then each lesson's figures and tables
    summary.md       the headline and the claims that failed
    results.json     parameters, claims, tables, versions, device (format: report/schema.py)
    figures/<lesson>/<figure>.png
    .backproplab-report   marker: this directory holds a report of ours and may be rewritten

Reliability rules (see report/outdir.py for the directory's):

* The new report is assembled in ``out/.backproplab-staging`` and moved into place by renames only
  when it is done (or when a signal stopped the run: then it is a partial report, marked
  incomplete). Until then, and whenever the run fails (a full disk, a crash), ``out`` holds the
  earlier report exactly as it was.
* SIGTERM stops the running lesson at once (its results are dropped); SIGINT lets it finish and a
  second SIGINT stops it. Either way the lessons done so far are written as a partial report.
  ``resume=True`` skips the lessons already done and reuses their saved results, so a resumed run's
  ``results.json`` equals an uninterrupted one's apart from ``"timings"``.
* ``only`` into an earlier report refreshes the named lessons and keeps the others; ``"runs"`` in
  ``results.json`` says which settings produced which lessons.
* ``out`` is never written when it holds anything other than an earlier report, unless ``force``;
  files backproplab did not write are never deleted. An earlier report's figures are read back
  only when they are ours (named as we name them, listed in our manifest, inside ``out/figures``).
* A lesson that raises is recorded as a failed lesson with its error; the others still run.

Where things are: the run loop is here; one lesson's run and its figures in
:mod:`~backproplab.report.lesson_run`; the ``results.json`` document, the summary and the writing in
:mod:`~backproplab.report.document`; the progress lines and the signal handling in
:mod:`~backproplab.report.signals`; the report directory's safety in :mod:`~backproplab.report.outdir`.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from backproplab.checks import check_seed
from backproplab.errors import InputError
from backproplab.progress import nested, progress_mode
from backproplab.report.document import (
    ReproduceOutcome,
    RunDocument,
    failed_claims,
    make_outcome,
    versions,
    write_report,
)
from backproplab.report.lesson_run import accepts, run_lesson, slug
from backproplab.report.outdir import MARKER, OutDir, Stage, inspect_out, remove_our_temporaries
from backproplab.report.signals import Interrupts, Log, lesson_line
from backproplab.threads import check_threads, run_threads

__all__ = ["MARKER", "ReproduceOutcome", "reproduce", "select_lessons", "failed_claims", "resume_command",
           "versions"]

DEVICES = ("auto", "cpu", "cuda")


def reproduce(quick: bool = False, out: str | os.PathLike = "backproplab-report",
              only: Iterable[str] | None = None, device: str = "auto", seed: int = 0,
              force: bool = False, resume: bool = False, *,
              lessons: Mapping[str, ModuleType] | None = None, progress: bool = True,
              threads: int | None = None) -> ReproduceOutcome:
    """Run the lessons, check their claims and write the report into ``out``.

    Parameters
    ----------
    quick : bool
        Ask every lesson for its quick variant (subsets, fewer epochs; same claims).
    out : path
        Report directory; created if missing. The new report is assembled in ``out/.backproplab-staging``
        and moved into place when done: until then (and if the run fails, e.g. on a full disk) the
        earlier report stays as it was. Files backproplab did not write are never deleted.
    only : iterable of str, optional
        Run only these lessons (in registry order); unknown names raise :class:`InputError`. Into an
        earlier report, the named lessons are refreshed and the others kept (``results.json``'s
        ``"runs"`` says which settings produced which lessons).
    device : {"auto", "cpu", "cuda"} or "cuda:N"
        Passed to lessons whose ``run`` accepts ``device``; ``"auto"`` means CUDA when available.
    seed : int
        Passed to every lesson.
    force : bool
        Write into ``out`` even when it holds files that are not an earlier report (they are left
        alone; one at a place the report writes is still refused).
    resume : bool
        Continue the report in ``out``: selected lessons recorded there as done are not run again
        (their saved results are reused; lessons that raised are run again). quick, seed and device
        must match the earlier run's; the selection may differ (e.g. a lesson added since).
    lessons : mapping name -> module, optional
        The lessons to choose from (default :func:`backproplab.lessons.registry`).
    progress : bool
        Show a progress bar and one line per lesson on stderr, and the verdict on stdout; the
        lessons' training loops show their bars below it (one line per epoch when stderr is not a
        terminal; see :mod:`backproplab.progress`).
    threads : int, optional
        At most this many torch and BLAS threads for the whole run (recorded in ``settings``);
        None: every core (see :mod:`backproplab.threads`).

    Returns
    -------
    ReproduceOutcome
    """
    seed = _check_arguments(quick, seed, device, threads)
    if lessons is None:
        import backproplab.lessons as lesson_package

        lessons = lesson_package.registry()
    selected = select_lessons(lessons, only)
    out = Path(out)
    state = inspect_out(out, force, names=[slug(name) for name in selected])
    resolved = _resolve_device(device, selected.values())
    settings = {"quick": quick, "seed": seed, "device": resolved, "lessons": list(selected)}
    if threads is not None:
        settings["threads"] = threads
    _check_previous(state, settings, resume=resume, merge=only is not None)
    log = Log(progress)
    if state.foreign:
        log.line(f"leaving {len(state.foreign)} file(s) that backproplab did not write in {out} as they are: "
                 + ", ".join(state.foreign[:3]) + (", ..." if len(state.foreign) > 3 else ""))
    if out.is_dir():
        remove_our_temporaries(out, state.ours)  # left by a run that was killed
    hint = resume_command(settings, out, with_only=list(selected) != list(lessons))
    with Stage(out) as stage, Interrupts(log) as interrupts, run_threads(threads), progress_mode(progress):
        run = RunDocument(settings, selected, lessons, state, stage, resume=resume, merge=only is not None)
        stopped_by = _run_lessons(run, log, interrupts, quick=quick, seed=seed, device=resolved)
        with interrupts.held():  # no signal stops the run half-way through moving the report in
            complete = stopped_by is None and run.all_ran()
            done = (len(selected) - len(run.pending()), len(selected))
            if not complete:
                run.keep_earlier_for_pending()
            document = run.document()
            if complete and (unfinished := _unreached(document, settings, out, lessons)):  # --only into a stopped report
                complete, (hint, done) = False, unfinished
            final = write_report(stage.path, document, run.timings, hint)
            stage.commit(state.ours)
    result = make_outcome(out, final, complete=complete)
    log.verdict(result, stopped_by, hint, done=done, kept=run.kept_at_stop)
    return result


def _unreached(document: dict, settings: dict, out: Path,
               registry: Mapping[str, ModuleType]) -> tuple[str, tuple[int, int]] | None:
    """The lessons an earlier, stopped run never reached, kept by ``--only`` as pending: None when there are
    none, else the command that runs them and (lessons done, lessons). The run said "N of N claims pass"
    for it. The command is ``--resume`` over the report's lessons: the hint repeated this run's ``--only``
    and could not finish the report; without ``--only`` it ran every lesson of the registry, also those
    the report never held (``--only xor --only conv`` stopped, then ``--only conv``: ``--resume`` ran ten)."""
    unreached = [name for name, entry in document["lessons"].items() if entry["status"] == "pending"]
    if not unreached:
        return None
    total = len(document["lessons"])
    held = [name for name in registry if name in document["lessons"]]
    hint = resume_command({**settings, "lessons": held}, out, with_only=held != list(registry))
    return hint, (total - len(unreached), total)


def _check_arguments(quick: Any, seed: Any, device: Any, threads: Any) -> int:
    check_threads(threads)
    if not isinstance(quick, bool):
        raise InputError(f"quick must be True or False, got {quick!r}")
    seed = check_seed(seed)
    if not isinstance(device, str) or not (device in DEVICES or re.fullmatch(r"cuda:\d+", device)):
        raise InputError(f"device must be one of {list(DEVICES)} or 'cuda:N', got {device!r}")
    return seed


def _check_previous(state: OutDir, settings: dict, *, resume: bool, merge: bool) -> None:
    """Refuse --resume or --only when the earlier report cannot be read back, or --resume when its
    settings differ."""
    if state.problem is not None and (resume or merge):
        flag = "--resume" if resume else "--only"
        raise InputError(f"{'resume' if resume else 'only'}: cannot continue the earlier report: {state.problem}; "
                         f"run without {flag} to replace it, or choose another --out")
    if not resume or state.previous is None:
        return
    old = state.previous["settings"]
    # a lesson's results depend on these; which other lessons run alongside it does not matter
    differ = [f"{key} {old.get(key)!r} then, {settings[key]!r} now" for key in ("quick", "seed", "device")
              if old.get(key) != settings[key]]
    if differ:
        raise InputError("resume: the settings differ from the earlier run's (" + "; ".join(differ)
                         + "); pass the same --quick/--seed/--device, or run without --resume")


def _run_lessons(run: RunDocument, log: Log, interrupts: Interrupts, **kwargs: Any) -> str | None:
    """Run the lessons still pending; return what stopped the run early (a signal's name), or None."""
    for name, missing in run.figures_left_out.items():
        log.line(f"{name}: kept from the earlier report without its figure(s) {', '.join(missing)}, which are "
                 "missing from it or not ours (run --only " + name + " to make them again)")
    todo = run.pending()
    reused = len(run.selected) - len(todo)
    if reused:
        log.line(f"resuming: {reused} of {len(run.selected)} lessons already done in {run.stage.out}")
    with log.bar(total=len(run.selected), initial=reused, width=max(map(len, run.selected))) as bar, nested(bar):
        for name in todo:
            if interrupts.requested:
                return interrupts.requested
            bar.set_description_str(name)
            t0 = time.perf_counter()
            try:
                entry, parts = run_lesson(run.selected[name], name, run.stage.path, **kwargs)
            except KeyboardInterrupt:
                log.line(f"{name}: interrupted; its results are dropped")
                return interrupts.requested or "KeyboardInterrupt"
            seconds = round(time.perf_counter() - t0, 3)
            run.record(name, entry, seconds, parts)
            log.line(lesson_line(name, entry, seconds))
            bar.update(1)
    if interrupts.requested and run.pending():
        return interrupts.requested
    return None


def select_lessons(lessons: Mapping[str, ModuleType], only: Iterable[str] | None) -> dict[str, ModuleType]:
    """The lessons to run, in registry order: all of them, or those named in ``only``."""
    if not lessons:
        raise InputError("no lessons are registered: backproplab.lessons holds no lesson module")
    if only is None:
        return dict(lessons)
    if isinstance(only, str):
        only = [only]
    wanted = list(only)
    if not wanted:
        raise InputError(f"only must name at least one lesson of {list(lessons)}, got an empty list")
    unknown = [name for name in wanted if name not in lessons]
    if unknown:
        raise InputError(f"only: unknown lesson {', '.join(map(repr, unknown))}; "
                         f"expected one of {list(lessons)}")
    return {name: module for name, module in lessons.items() if name in wanted}


def _resolve_device(device: str, modules: Iterable[ModuleType]) -> str:
    if device == "cpu":
        return device
    if not any(accepts(m.run, "device") for m in modules):
        return "cpu"  # no lesson uses a device: the run is a CPU run whatever was asked
    import torch

    available = torch.cuda.is_available()
    if device == "auto":
        return "cuda" if available else "cpu"
    if not available:
        raise InputError(f"device: {device!r} was requested but torch.cuda.is_available() is False; "
                         f"use --device cpu or --device auto")
    return device


def resume_command(settings: Mapping[str, Any], out: Path, with_only: bool = True) -> str:
    """The shell command that continues a run with these ``settings`` in ``out``."""
    parts = ["backproplab reproduce --resume", f"--out {shlex.quote(str(out))}"]
    if settings["quick"]:
        parts.append("--quick")
    parts += [f"--seed {settings['seed']}", f"--device {settings['device'].split(':')[0]}"]
    if settings.get("threads") is not None:
        parts.append(f"--threads {settings['threads']}")
    if with_only:
        parts += [f"--only {name}" for name in settings["lessons"]]
    return " ".join(parts)


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
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import backproplab.lessons as lesson_package
from backproplab import __version__
from backproplab.checks import check_seed
from backproplab.errors import InputError
from backproplab.files import atomic_open, atomic_write_bytes, atomic_write_text, safe_stem
from backproplab.lessons.result import LessonResult, plain
from backproplab.progress import nested, progress_mode, resolve
from backproplab.report.html import render_html
from backproplab.report.markdown import render_summary
from backproplab.report.outdir import MARKER, OutDir, Stage, inspect_out, remove_our_temporaries
from backproplab.report.schema import FORMAT
from backproplab.threads import check_threads, run_threads

# Lazy imports, on purpose: torch (heavy) only to describe the machine, tqdm only for a terminal.

__all__ = ["MARKER", "ReproduceOutcome", "reproduce", "select_lessons", "failed_claims", "resume_command",
           "versions"]

DEVICES = ("auto", "cpu", "cuda")



@dataclass
class ReproduceOutcome:
    """What :func:`reproduce` did.

    Attributes
    ----------
    passed : bool
        The run is complete, no lesson raised, and every claim passed.
    complete : bool
        False when the run was interrupted before every lesson was done.
    out : Path
        The report directory.
    results_path, html_path, summary_path : Path
        ``out/results.json``, ``out/index.html``, ``out/summary.md``.
    failed_claims : list of dict
        One ``{"lesson", "name", "value", "bound", "evidence"}`` per failed claim (a lesson that
        raised contributes one, named ``"lesson runs to completion"``).
    n_claims, n_passed : int
        Claim counts over the lessons that ran.
    results : dict
        The ``results.json`` document.
    """

    passed: bool
    complete: bool
    out: Path
    results_path: Path
    html_path: Path
    summary_path: Path
    failed_claims: list[dict[str, Any]] = field(default_factory=list)
    n_claims: int = 0
    n_passed: int = 0
    results: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def interrupted(self) -> bool:
        """True when a signal or KeyboardInterrupt stopped the run before the last lesson."""
        return not self.complete


# --------------------------------------------------------------------------------------------
# the run


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
        lessons = lesson_package.registry()
    selected = select_lessons(lessons, only)
    out = Path(out)
    state = inspect_out(out, force, names=[_slug(name) for name in selected])
    resolved = _resolve_device(device, selected.values())
    settings = {"quick": quick, "seed": seed, "device": resolved, "lessons": list(selected)}
    if threads is not None:
        settings["threads"] = threads
    _check_previous(state, settings, resume=resume, merge=only is not None)
    log = _Log(progress)
    if state.foreign:
        log.line(f"leaving {len(state.foreign)} file(s) that backproplab did not write in {out} as they are: "
                 + ", ".join(state.foreign[:3]) + (", ..." if len(state.foreign) > 3 else ""))
    if out.is_dir():
        remove_our_temporaries(out, state.ours)  # left by a run that was killed
    hint = resume_command(settings, out, with_only=list(selected) != list(lessons))
    with Stage(out) as stage, _Interrupts(log) as interrupts, run_threads(threads), progress_mode(progress):
        run = _Run(settings, selected, lessons, state, stage, resume=resume, merge=only is not None)
        stopped_by = _run_lessons(run, log, interrupts, quick=quick, seed=seed, device=resolved)
        with interrupts.held():  # no signal stops the run half-way through moving the report in
            complete = stopped_by is None and run.all_ran()
            done = len(selected) - len(run.pending())
            if not complete:
                run.keep_earlier_for_pending()
            final = _write_report(stage.path, run.document(), run.timings, hint)
            stage.commit(state.ours)
    outcome = _outcome(out, final, complete=complete)
    log.verdict(outcome, stopped_by, hint, done=(done, len(selected)), kept=run.kept_at_stop)
    return outcome


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
        raise InputError("resume: the settings differ from the interrupted run's (" + "; ".join(differ)
                         + "); pass the same --quick/--seed/--device, or run without --resume")


def _run_lessons(run: _Run, log: _Log, interrupts: _Interrupts, **kwargs: Any) -> str | None:
    """Run the lessons still pending; return what stopped the run early (a signal's name), or None."""
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
                entry, parts = _run_lesson(run.selected[name], name, run.stage.path, **kwargs)
            except KeyboardInterrupt:
                log.line(f"{name}: interrupted; its results are dropped")
                return interrupts.requested or "KeyboardInterrupt"
            seconds = round(time.perf_counter() - t0, 3)
            run.record(name, entry, seconds, parts)
            log.line(_lesson_line(name, entry, seconds))
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


# --------------------------------------------------------------------------------------------
# one lesson


def _accepts(func: Any, name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _slug(name: str) -> str:
    """A lesson's or figure's file name (schema.NAME_PATTERN, with room for a ``-N`` suffix)."""
    return safe_stem(name, 100)


def _run_lesson(module: ModuleType, name: str, out: Path, *, quick: bool, seed: int,
                device: str) -> tuple[dict, dict[str, float]]:
    """Run one lesson and save its figures: (its entry, its part timings in seconds).

    An exception becomes a failed-lesson entry (and no part timings).
    """
    title = str(getattr(module, "TITLE", name))
    kwargs: dict[str, Any] = {"quick": quick, "seed": seed}
    if _accepts(module.run, "device"):
        kwargs["device"] = device
    fig_dir = out / "figures" / _slug(name)
    shutil.rmtree(fig_dir, ignore_errors=True)
    result = None
    try:
        result = module.run(**kwargs)
        if not isinstance(result, LessonResult):
            raise TypeError(f"{module.__name__}.run() returned {type(result).__name__}, expected LessonResult")
        figures = _save_figures(result.figures, fig_dir, out)
        entry = {
            "title": result.title or title,
            "status": "done",
            "passed": result.passed,
            "params": plain(result.params),
            "claims": [c.to_dict() for c in result.claims],
            "tables": plain(result.tables),
            "text": {str(k): str(v) for k, v in result.text.items()},
            "figures": figures,
            "error": None,
        }
        parts = {str(k): round(float(v), 3) for k, v in result.timings.items()}
        # round-trip through JSON so a reused (resumed) entry and a fresh one are identical
        return json.loads(_dumps(entry, default=str)), parts
    except _WriteFailed as err:  # the disk, not the lesson: the run stops, the earlier report stays
        shutil.rmtree(fig_dir, ignore_errors=True)
        raise err.error from None
    except Exception as err:  # noqa: BLE001 - a failing lesson is reported, and the run goes on
        shutil.rmtree(fig_dir, ignore_errors=True)
        return _error_entry(title, err), {}
    finally:
        if result is not None and isinstance(result, LessonResult):
            result.close_figures()


def _save_figures(figures: Mapping[str, Any], fig_dir: Path, out: Path) -> dict[str, str]:
    saved: dict[str, str] = {}
    used: set[str] = set()
    for fig_name, fig in figures.items():
        stem = _slug(fig_name)
        base, k = stem, 2
        while stem in used:
            stem, k = f"{base}-{k}", k + 1
        used.add(stem)
        path = fig_dir / f"{stem}.png"
        try:
            if isinstance(fig, (str, os.PathLike)):
                atomic_write_bytes(path, Path(fig).read_bytes())
            else:
                with atomic_open(path, "wb") as handle:
                    fig.savefig(handle, format="png", dpi=110, bbox_inches="tight")
        except OSError as err:
            if err.filename == str(path) or err.filename == path:
                raise _WriteFailed(err) from err
            raise
        saved[str(fig_name)] = path.relative_to(out).as_posix()
    return saved


class _WriteFailed(Exception):
    """Writing the report's own file failed (a full disk, say): not the lesson's fault, so the run stops."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _error_entry(title: str, err: BaseException) -> dict:
    message = " ".join(str(err).split()) or type(err).__name__
    return {
        "title": title,
        "status": "error",
        "passed": False,
        "params": {},
        "claims": [{"name": "lesson runs to completion", "value": f"{type(err).__name__}: {message}",
                    "bound": "no exception", "passed": False,
                    "evidence": "the lesson raised; see its section for the traceback"}],
        "tables": {},
        "text": {},
        "figures": {},
        "error": {"type": type(err).__name__, "message": message,
                  "traceback": "".join(traceback.format_exception(type(err), err, err.__traceback__))},
    }


# --------------------------------------------------------------------------------------------
# the document


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Versions of Python and the libraries the results depend on (None when not installed)."""
    return {"backproplab": __version__, "python": platform.python_version(),
            "numpy": _version("numpy"), "torch": _version("torch"),
            "matplotlib": _version("matplotlib"), "scikit-learn": _version("scikit-learn")}


def _resolve_device(device: str, modules: Iterable[ModuleType]) -> str:
    if device == "cpu":
        return device
    if not any(_accepts(m.run, "device") for m in modules):
        return "cpu"  # no lesson uses a device: the run is a CPU run whatever was asked
    import torch

    available = torch.cuda.is_available()
    if device == "auto":
        return "cuda" if available else "cpu"
    if not available:
        raise InputError(f"device: {device!r} was requested but torch.cuda.is_available() is False; "
                         f"use --device cpu or --device auto")
    return device


def _new_document(settings: dict, selected: Mapping[str, ModuleType]) -> dict:
    return {
        "format": FORMAT,
        "complete": False,
        "passed": False,
        "settings": copy.deepcopy(settings),
        "runs": [],
        "versions": versions(),
        "summary": {},
        "lessons": {name: {"title": str(getattr(m, "TITLE", name)), "status": "pending", "passed": False,
                           "params": {}, "claims": [], "tables": {}, "text": {}, "figures": {},
                           "error": None}
                    for name, m in selected.items()},
    }


def _summarise(doc: dict) -> None:
    lessons = doc["lessons"].values()
    claims = [c for e in lessons for c in e["claims"]]
    n_pass = sum(c["passed"] for c in claims)
    complete = all(e["status"] != "pending" for e in lessons)
    failed_lessons = sum(not e["passed"] for e in lessons if e["status"] != "pending")
    doc["complete"] = complete
    doc["passed"] = complete and failed_lessons == 0 and n_pass == len(claims)
    doc["summary"] = {"lessons": len(doc["lessons"]),
                      "lessons_done": sum(e["status"] != "pending" for e in lessons),
                      "lessons_failed": failed_lessons,
                      "claims": len(claims), "claims_passed": n_pass, "claims_failed": len(claims) - n_pass}


def _dumps(doc: Any, default: Any = None) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False, default=default) + "\n"


def _write_report(out: Path, doc: dict, timings: dict, resume_hint: str) -> dict:
    """Write index.html, summary.md and (last) results.json; return the full document."""
    _summarise(doc)
    total = sum(timings["lessons"].values())
    full = {**doc, "timings": {"total_s": round(total, 3), "lessons": dict(timings["lessons"]),
                               "parts": {k: dict(v) for k, v in timings["parts"].items()}}}
    full = json.loads(_dumps(full))  # plain JSON values only: what a reader of results.json sees
    atomic_write_text(out / "index.html", render_html(full, out, resume_hint=resume_hint))
    atomic_write_text(out / "summary.md", render_summary(full, resume_hint=resume_hint))
    atomic_write_text(out / "results.json", _dumps(full))
    return full


def failed_claims(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{"lesson", "name", "value", "bound", "evidence"}`` for every failed claim in ``doc``."""
    return [{"lesson": lesson, "name": c["name"], "value": c["value"], "bound": c["bound"],
             "evidence": c.get("evidence", "")}
            for lesson, entry in doc["lessons"].items() for c in entry["claims"] if not c["passed"]]


def _outcome(out: Path, doc: dict, complete: bool) -> ReproduceOutcome:
    return ReproduceOutcome(passed=doc["passed"] and complete, complete=complete, out=out,
                            results_path=out / "results.json", html_path=out / "index.html",
                            summary_path=out / "summary.md", failed_claims=failed_claims(doc),
                            n_claims=doc["summary"]["claims"], n_passed=doc["summary"]["claims_passed"],
                            results=doc)


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


class _Run:
    """The document a run builds: this run's lessons, and what it keeps of the earlier report.

    ``origin`` maps each lesson kept from an earlier run (``--only`` into an earlier report) to the
    settings that produced it; ``document()`` turns that into ``results.json``'s ``"runs"``.
    """

    def __init__(self, settings: dict, selected: Mapping[str, ModuleType], registry: Mapping[str, ModuleType],
                 state: OutDir, stage: Stage, *, resume: bool, merge: bool) -> None:
        self.settings, self.selected, self.stage = settings, selected, stage
        self.doc = _new_document(settings, selected)
        self.timings: dict[str, Any] = {"total_s": 0.0, "lessons": {}, "parts": {}}
        self.origin: dict[str, dict] = {}
        self.kept_at_stop: list[str] = []
        self._ran: set[str] = set()
        self._previous, self._ours = state.previous, state.ours
        for name, entry in (state.previous or {}).get("lessons", {}).items():
            if name in selected:
                if resume and entry["status"] == "done" and self._same(self._made_by(name)):
                    self._keep(name, entry, this_run=True)  # resumed: it counts as this run's
            elif merge:
                self._keep(name, entry, this_run=False)
        lessons = self.doc["lessons"]
        order = [n for n in registry if n in lessons] + [n for n in lessons if n not in registry]
        self.doc["lessons"] = {name: lessons[name] for name in order}

    _KEYS = ("quick", "seed", "device")

    def _made_by(self, name: str) -> dict:
        """The settings of the earlier run that produced lesson ``name``."""
        previous = self._previous
        runs = previous.get("runs") or [{**previous["settings"], "lessons": list(previous["lessons"])}]
        made = next((r for r in runs if name in r["lessons"]), previous["settings"])
        return {k: made[k] for k in self._KEYS}

    def _same(self, settings: Mapping[str, Any]) -> bool:
        return all(settings[k] == self.settings[k] for k in self._KEYS)

    def _keep(self, name: str, entry: dict, *, this_run: bool) -> bool:
        """Take the earlier report's entry for ``name`` (and its figures, only safe ones of ours)."""
        if not self._adopt(entry["figures"].values(), self._ours):
            return False
        self.doc["lessons"][name] = entry
        if this_run:
            self._ran.add(name)
        else:
            self.origin[name] = self._made_by(name)
        timings = self._previous["timings"]
        if timings["lessons"].get(name) is not None:
            self.timings["lessons"][name] = timings["lessons"][name]
        if timings.get("parts", {}).get(name):
            self.timings["parts"][name] = timings["parts"][name]
        return True

    def keep_earlier_for_pending(self) -> None:
        """After a stop: a lesson this run did not reach keeps the earlier report's result for it
        (labelled as an earlier run's), so stopping a run never loses what the report held."""
        for name in self.pending():
            entry = (self._previous or {}).get("lessons", {}).get(name)
            if entry is not None and entry["status"] != "pending" and self._keep(name, entry, this_run=False):
                self.kept_at_stop.append(name)

    def _adopt(self, figures: Iterable[str], ours: set[str]) -> bool:
        """Bring these figures of the earlier report into the stage; all or none."""
        done: list[str] = []
        for rel in figures:
            if not self.stage.adopt(rel, ours):
                for taken in done:
                    (self.stage.path / taken).unlink()
                return False
            done.append(rel)
        return True

    def pending(self) -> list[str]:
        return [name for name in self.selected if name not in self._ran and name not in self.origin]

    def all_ran(self) -> bool:
        return not self.pending()

    def record(self, name: str, entry: dict, seconds: float, parts: dict[str, float]) -> None:
        self.doc["lessons"][name] = entry
        self._ran.add(name)
        self.timings["lessons"][name] = seconds
        if parts:
            self.timings["parts"][name] = parts

    def document(self) -> dict:
        """The document with ``"runs"``: which settings produced which lessons (this run's first)."""
        keys = ("quick", "seed", "device")
        runs = [{**{k: self.settings[k] for k in keys},
                 "lessons": [n for n in self.doc["lessons"] if n not in self.origin]}]
        for name in self.doc["lessons"]:
            if name in self.origin:
                group = next((r for r in runs[1:] if all(r[k] == self.origin[name][k] for k in keys)), None)
                if group is None:
                    runs.append(group := {**self.origin[name], "lessons": []})
                group["lessons"].append(name)
        self.doc["runs"] = runs
        return self.doc


# --------------------------------------------------------------------------------------------
# progress and signals


def _fmt(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return str(value)


def _lesson_line(name: str, entry: dict, seconds: float) -> str:
    if entry["status"] == "error":
        return f"{name}: ERROR {entry['error']['type']}: {entry['error']['message']} ({seconds:.1f} s)"
    n = len(entry["claims"])
    ok = sum(c["passed"] for c in entry["claims"])
    return f"{name}: {ok} of {n} claims pass ({seconds:.1f} s)"


class _Log:
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
            lines.append(f"  FAIL {c['lesson']}: {c['name']}: {_fmt(c['value'])} (bound {c['bound']})")
        kept = list(kept)
        if kept:
            lines.append(f"not reached, so the report keeps their earlier results: {', '.join(kept)}")
        lines.append(f"report: {outcome.html_path}")
        if not outcome.complete:
            lines.append(f"continue with: {hint}")
        print("\n".join(lines), flush=True)


class _Interrupts:
    """While active: SIGTERM stops the running lesson at once (its results are dropped); SIGINT sets
    ``requested`` so the lesson finishes, and a second SIGINT stops it at once. Either way the run
    then writes a partial report. Inside :meth:`held` a signal is only recorded."""

    def __init__(self, log: _Log) -> None:
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

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

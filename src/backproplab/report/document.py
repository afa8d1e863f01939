"""The ``results.json`` document of ``backproplab reproduce``: building it, summing it up, writing it.

:class:`RunDocument` is the document one run builds (its own lessons, and what it keeps of an earlier
report); :func:`write_report` writes ``index.html``, ``summary.md`` and ``results.json`` from it;
:class:`ReproduceOutcome` is what :func:`~backproplab.report.reproduce.reproduce` returns.
"""

from __future__ import annotations

import copy
import json
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from backproplab.files import atomic_write_text
from backproplab.report.outdir import OutDir, Stage
from backproplab.report.schema import FORMAT

__all__ = ["ReproduceOutcome", "RunDocument", "versions", "new_document", "write_report", "failed_claims",
           "make_outcome", "dumps"]


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


class RunDocument:
    """The document a run builds: this run's lessons, and what it keeps of the earlier report.

    ``origin`` maps each lesson kept from an earlier run (``--only`` into an earlier report) to the
    settings that produced it; ``document()`` turns that into ``results.json``'s ``"runs"``.
    """

    def __init__(self, settings: dict, selected: Mapping[str, ModuleType], registry: Mapping[str, ModuleType],
                 state: OutDir, stage: Stage, *, resume: bool, merge: bool) -> None:
        self.settings, self.selected, self.stage = settings, selected, stage
        self.doc = new_document(settings, selected)
        self.timings: dict[str, Any] = {"total_s": 0.0, "lessons": {}, "parts": {}}
        self.origin: dict[str, dict] = {}
        self.kept_at_stop: list[str] = []
        self.figures_left_out: dict[str, list[str]] = {}  # kept lessons' figures that could not be brought back
        self._ran: set[str] = set()
        self._previous, self._ours = state.previous, state.ours
        for name, entry in (state.previous or {}).get("lessons", {}).items():
            if name in selected:
                if resume and entry["status"] == "done" and self._same(self._made_by(name)):
                    self._keep(name, entry, this_run=True)  # resumed: it counts as this run's
            elif merge:  # its figures that cannot be brought back (removed by hand) are left out, not the lesson
                self._keep(name, entry, this_run=False, partial=True)
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

    def _keep(self, name: str, entry: dict, *, this_run: bool, partial: bool = False) -> bool:
        """Take the earlier report's entry for ``name`` (and its figures, only safe ones of ours): all of
        them, or (``partial``: a lesson ``--only`` does not run) those that can be, the entry listing only
        those; ``--only backprop`` dropped a lesson, and deleted its other figures, for one missing figure."""
        if partial:
            figures = {key: rel for key, rel in entry["figures"].items() if self._adopt([rel], self._ours)}
            if len(figures) < len(entry["figures"]):
                self.figures_left_out[name] = sorted(set(entry["figures"]) - set(figures))
                entry = {**entry, "figures": figures}
        elif not self._adopt(entry["figures"].values(), self._ours):
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


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    """Versions of Python and the libraries the results depend on (None when not installed)."""
    from backproplab import __version__

    return {"backproplab": __version__, "python": platform.python_version(),
            "numpy": _version("numpy"), "torch": _version("torch"),
            "matplotlib": _version("matplotlib"), "scikit-learn": _version("scikit-learn")}


def new_document(settings: dict, selected: Mapping[str, ModuleType]) -> dict:
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


def dumps(doc: Any, default: Any = None) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False, default=default) + "\n"


def write_report(out: Path, doc: dict, timings: dict, resume_hint: str) -> dict:
    """Write index.html, summary.md and (last) results.json; return the full document."""
    from backproplab.report.html import render_html
    from backproplab.report.markdown import render_summary

    _summarise(doc)
    total = sum(timings["lessons"].values())
    full = {**doc, "timings": {"total_s": round(total, 3), "lessons": dict(timings["lessons"]),
                               "parts": {k: dict(v) for k, v in timings["parts"].items()}}}
    full = json.loads(dumps(full))  # plain JSON values only: what a reader of results.json sees
    atomic_write_text(out / "index.html", render_html(full, out, resume_hint=resume_hint))
    atomic_write_text(out / "summary.md", render_summary(full, resume_hint=resume_hint))
    atomic_write_text(out / "results.json", dumps(full))
    return full


def failed_claims(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``{"lesson", "name", "value", "bound", "evidence"}`` for every failed claim in ``doc``."""
    return [{"lesson": lesson, "name": c["name"], "value": c["value"], "bound": c["bound"],
             "evidence": c.get("evidence", "")}
            for lesson, entry in doc["lessons"].items() for c in entry["claims"] if not c["passed"]]


def make_outcome(out: Path, doc: dict, complete: bool) -> ReproduceOutcome:
    return ReproduceOutcome(passed=doc["passed"] and complete, complete=complete, out=out,
                            results_path=out / "results.json", html_path=out / "index.html",
                            summary_path=out / "summary.md", failed_claims=failed_claims(doc),
                            n_claims=doc["summary"]["claims"], n_passed=doc["summary"]["claims_passed"],
                            results=doc)


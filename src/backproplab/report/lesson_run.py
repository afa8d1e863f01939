"""Run one lesson for ``backproplab reproduce``: its ``results.json`` entry and its saved figures.

A lesson that raises becomes a failed-lesson entry (the run goes on); a report file that cannot be
written (a full disk) stops the run, since that is not the lesson's fault.
"""

from __future__ import annotations

import inspect
import json
import shutil
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from backproplab.files import safe_stem
from backproplab.lessons.result import LessonResult, plain
from backproplab.report.document import dumps

__all__ = ["accepts", "slug", "run_lesson", "save_figures", "WriteFailed", "error_entry"]


def accepts(func: Any, name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def slug(name: str) -> str:
    """A lesson's or figure's file name (schema.NAME_PATTERN, with room for a ``-N`` suffix)."""
    return safe_stem(name, 100)


def run_lesson(module: ModuleType, name: str, out: Path, *, quick: bool, seed: int,
                device: str) -> tuple[dict, dict[str, float]]:
    """Run one lesson and save its figures: (its entry, its part timings in seconds).

    An exception becomes a failed-lesson entry (and no part timings).
    """
    title = str(getattr(module, "TITLE", name))
    kwargs: dict[str, Any] = {"quick": quick, "seed": seed}
    if accepts(module.run, "device"):
        kwargs["device"] = device
    fig_dir = out / "figures" / slug(name)
    shutil.rmtree(fig_dir, ignore_errors=True)
    result = None
    try:
        result = module.run(**kwargs)
        if not isinstance(result, LessonResult):
            raise TypeError(f"{module.__name__}.run() returned {type(result).__name__}, expected LessonResult")
        figures = save_figures(result, fig_dir, out)
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
        return json.loads(dumps(entry, default=str)), parts
    except WriteFailed as err:  # the disk, not the lesson: the run stops, the earlier report stays
        shutil.rmtree(fig_dir, ignore_errors=True)
        raise err.error from None
    except Exception as err:  # noqa: BLE001 - a failing lesson is reported, and the run goes on
        shutil.rmtree(fig_dir, ignore_errors=True)
        return error_entry(title, err), {}
    finally:
        if result is not None and isinstance(result, LessonResult):
            result.close_figures()


def save_figures(result: LessonResult, fig_dir: Path, out: Path) -> dict[str, str]:
    """The lesson's figures saved (or, given as files, copied) into ``fig_dir``: name -> path relative
    to ``out``. Writing them failing is :class:`WriteFailed`; reading a lesson's file, the lesson's fault."""
    try:
        paths = result.save_figures(fig_dir, copy_files=True)
    except OSError as err:
        if err.filename is not None and Path(err.filename).parent == fig_dir:
            raise WriteFailed(err) from err
        raise
    return {name: path.relative_to(out).as_posix() for name, path in paths.items()}


class WriteFailed(Exception):
    """Writing the report's own file failed (a full disk, say): not the lesson's fault, so the run stops."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def error_entry(title: str, err: BaseException) -> dict:
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


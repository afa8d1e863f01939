"""Lessons: each module exposes ``run(*, quick=False, seed=0, **its own options) -> LessonResult``.

A lesson module registers itself by defining module-level ``NAME`` (its CLI subcommand),
``TITLE``, ``ORDER`` (position in ``reproduce``) and ``run``; optionally
``add_arguments(parser)`` for lesson-specific CLI options, whose values are passed to ``run`` as
keyword arguments. The CLI passes only the options ``run`` declares (``out`` only to a lesson that
writes files itself; the CLI saves the figures of every lesson), ``reproduce`` only ``quick``,
``seed`` and, where declared, ``device``. A lesson may also define ``early_output(options)``:
given the parsed options as a dict, the text its command prints instead of running (a listing, a
starter file), None to run, or an error for a request that conflicts with other options.
:func:`registry` finds them, so adding a lesson never edits this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from backproplab.lessons.result import Claim, LessonResult

__all__ = ["Claim", "LessonResult", "registry", "get_lesson"]

_SKIP = {"result"}


def registry() -> dict[str, ModuleType]:
    """CLI name -> lesson module, in ``reproduce`` order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name in _SKIP or info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "NAME") and callable(getattr(module, "run", None)):
            found.append(module)
    found.sort(key=lambda m: (getattr(m, "ORDER", 100), m.NAME))
    return {m.NAME: m for m in found}


def get_lesson(name: str) -> ModuleType:
    """The lesson module called ``name``; ValueError naming the known lessons otherwise."""
    lessons = registry()
    if name not in lessons:
        raise ValueError(f"unknown lesson {name!r}; expected one of {sorted(lessons)}")
    return lessons[name]

"""The checker's Python API: :func:`check` one submission, :func:`check_batch` many.

>>> from backproplab.check import check
>>> result = check("purdue-numpy-ann", "alice/numpy_ann.py", quick=True)   # doctest: +SKIP
>>> result.score, result.max_score, result.lost()                          # doctest: +SKIP
(16.0, 18, ['1.6'])
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from backproplab.check.assignment import Assignment, grade
from backproplab.check.locate import Found, linked, named_as_another, own_file
from backproplab.check.outputs import BATCH_MANIFEST, terminal_text
from backproplab.check.result import ItemResult, SubmissionResult
from backproplab.check.runner import Limits
from backproplab.checks import short_repr
from backproplab.errors import InputError

COMPOSITE = {"purdue": ("purdue-numpy-ann", "purdue-pytorch-ann", "purdue-pytorch-cnn")}


def assignments() -> dict[str, Assignment]:
    """The single-file assignments by name."""
    from backproplab.check import jku, numpy_ann, pytorch_ann, pytorch_cnn, radboud

    return {a.name: a for a in (numpy_ann.ASSIGNMENT, pytorch_ann.ASSIGNMENT, pytorch_cnn.ASSIGNMENT,
                                jku.ASSIGNMENT, radboud.ASSIGNMENT)}


def names() -> list[str]:
    """Every assignment ``check`` accepts, the composite ``purdue`` last."""
    return list(assignments()) + list(COMPOSITE)


def parts(name: str) -> list[Assignment]:
    """The single-file assignments behind ``name`` (one, or three for ``purdue``)."""
    table = assignments()
    if name in table:
        return [table[name]]
    if name in COMPOSITE:
        return [table[n] for n in COMPOSITE[name]]
    raise InputError(f"assignment must be one of {', '.join(names())}; got {name!r}")


def describe(name: str) -> str:
    """The assignment's items and points, one line each (``check --list``)."""
    lines = []
    for a in parts(name):
        what = f"class {a.cls}" if a.cls else "notebook"
        lines.append(f"{a.name}: {a.filename}, {what}, {a.points:g} points checked")
        lines += [f"  {it.id:<5} {it.points:>2g}  {it.title}" for it in a.items]
        lines += [f"  {m.id:<5} {m.points:>2g}  {m.title} (marked by hand)" for m in a.manual]
    return "\n".join(lines)


def _locate(a: Assignment, folder: Path) -> Found:
    """``a``'s file in ``folder``, never another assignment's file (by its name)."""
    others = tuple(n for b in assignments().values() if b is not a for n in (b.filename, *b.alt_filenames))
    return a.locate(folder, others)


def _owner(a: Assignment, filename: str) -> str:
    """The other assignment whose file ``filename`` is by name ('' when none is)."""
    return next((b.name for b in assignments().values() if b is not a and filename in (b.filename, *b.alt_filenames)),
                "")


def _holds(folder: Path, name: str) -> bool:
    return any(_locate(a, folder).holds for a in parts(name))


def _loose(folder: Path, name: str) -> list[Path]:
    """The notebooks that make ``folder`` a submission though none has the handed-out name (e.g. the
    template left at the top of a batch folder); [] when one has it, or when none is there."""
    loose: list[Path] = []
    for a in parts(name):
        found = _locate(a, folder)
        if found.path is not None and found.path.name in (a.filename, *a.alt_filenames):
            return []
        loose += found.candidates
    return sorted(set(loose))


def _in_folder(name: str, folder: Path) -> tuple[list[Path], list[Path]]:
    """``[folder]`` when it is one submission, else its student folders (the rule: :func:`submissions`),
    with the loose top-level notebooks passed over for the student folders ([] when none)."""
    held = _holds(folder, name)
    loose = _loose(folder, name) if held else []
    if held and not loose:
        return [folder], []
    folders = _student_folders(folder)
    subs = [d for d in folders if _holds(d, name)]
    if not subs:
        if held:
            return [folder], []
        raise _nothing_to_grade(name, folder, folders)
    # a student folder with nothing to grade is a student all the same: 0 and the reason in the gradebook
    # (it was left out without a word; an earlier run's --out folder, with its manifest, is no student)
    return [d for d in folders if d in subs or not (d / BATCH_MANIFEST).exists()], loose


def _nothing_to_grade(name: str, folder: Path, folders: list[Path]) -> InputError:
    """The error for a PATH that holds nothing to grade as ``name``, itself or in its folders: what another
    assignment's file there is, when there is one ("holds no notebook" was said of a folder of jku_a7.ipynb
    files graded as radboud-a1)."""
    wrong = [(d, f) for d in (folder, *folders) for a in parts(name) if (f := _locate(a, d).foreign)]
    if not wrong:
        return InputError(f"PATH {folder} holds no {_what(name)}, nor folders that do")
    said = "; ".join(f"{'it' if d == folder else terminal_text(d.name, one_line=True)} {f}" for d, f in wrong[:3])
    more = f"; and {len(wrong) - 3} more folder(s) alike" if len(wrong) > 3 else ""
    return InputError(f"PATH {folder} has nothing to grade as {name}: {said}{more} (another assignment's file is "
                      "never graded as this one's: check it as its own assignment)")


def _refuse_if_all_foreign(name: str, files: list[Path]) -> None:
    """Refuse files that all bear other assignments' names: there is nothing to grade as ``name`` (a batch
    with other files grades each such file 0, its reason in the gradebook, as it does such a folder)."""
    if len(parts(name)) > 1:
        return  # purdue grades a folder of its three files: check_arguments says so
    said = []
    for path in files:
        found = None if path.is_symlink() else _source(parts(name)[0], path)
        if found is None or not found.foreign:
            return
        said.append(found.problem)
    more = f"; and {len(said) - 1} more file(s) alike" if len(said) > 1 else ""
    raise InputError(f"PATH {said[0]}{more}")


def passed_over(name: str, paths: Sequence[str | Path]) -> str:
    """The line that names the notebooks at the top of a folder of student folders that grading ``paths``
    passes over (:func:`submissions`: a template left beside the student folders), '' when none. The
    caller says it once the grading starts: :func:`submissions` printed it, before the outputs were
    checked, also when the run was then refused."""
    paths = [Path(p) for p in paths]
    if len(paths) != 1 or not paths[0].is_dir():
        return ""
    folder = paths[0]
    subs, loose = _in_folder(name, folder)
    if not loose:
        return ""
    names = ", ".join(terminal_text(p.name, one_line=True) for p in loose)
    return terminal_text(f"{folder}: grading its {len(subs)} student folder(s); not graded, at its top: {names} "
                         f"(no student's folder; a notebook named {parts(name)[0].filename} there would make "
                         f"{folder} one submission)")


def _student_folders(folder: Path) -> list[Path]:
    """The folders in ``folder``, without hidden ones (``.ipynb_checkpoints``) and macOS's ``__MACOSX``; a
    link to a folder is among them (a student's, not graded: :func:`check` never grades what it holds)."""
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith((".", "__MACOSX")))


def _what(name: str) -> str:
    if all(a.is_notebook for a in parts(name)):
        return "notebook (.ipynb of any name, or its .py export)"
    return " or ".join(n for a in parts(name) for n in (a.filename, *a.alt_filenames))


def submissions(name: str, paths: Sequence[str | Path]) -> list[tuple[str, Path]]:
    """``(student, path)`` for each submission: several PATHs, or one folder of student folders,
    make a batch; one file, or one folder holding the assignment's file, is one submission (for a
    notebook assignment: a folder holding any notebook, unless that notebook lacks the handed-out
    name and the folder's folders hold notebooks: then those are the students, and the loose
    notebook is not graded: :func:`passed_over` names it). A student is named by the folder, or by the
    file's name when several PATHs are files in one folder."""
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.exists():
            raise InputError(f"PATH {p} does not exist")
    if len(paths) == 1 and paths[0].is_dir():
        paths = _in_folder(name, paths[0])[0]
    elif not any(p.is_dir() for p in paths):
        _refuse_if_all_foreign(name, paths)
    shared = Counter(p.parent.resolve() for p in paths if not p.is_dir())
    return [(p.name if p.is_dir() else p.stem if shared[p.parent.resolve()] > 1 else p.parent.name or p.stem, p)
            for p in paths]


def _missing(assignment: Assignment, problem: str) -> list[ItemResult]:
    return [ItemResult(it.id, it.title, it.points, error=problem) for it in assignment.items]


def _source(a: Assignment, path: Path) -> Found:
    """The file to grade for ``a`` at ``path`` (a file given directly, or found in a folder)."""
    if path.is_dir():
        return _locate(a, path)
    owner = "" if path.is_symlink() else _owner(a, path.name)
    return named_as_another(path, owner, a.name, a.filename) if owner else own_file(path)


def check_arguments(assignment: str, path: str | Path, *, timeout: float | None = None,
                    items: Sequence[str] | None = None) -> frozenset[str] | None:
    """Refuse with an :class:`InputError` what is wrong with a check's arguments rather than with the
    submission (a missing path, a file a notebook assignment cannot grade, a timeout that is not
    positive, an unknown item id), before anything is read; returns the item ids to grade (None: all)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"path {path} does not exist")
    if timeout is not None and not timeout > 0:
        raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if assignment in COMPOSITE and not path.is_dir():  # one file was graded as all three parts: 18 / 42
        raise InputError(f"PATH {path}: {assignment} grades a folder holding its {len(COMPOSITE[assignment])} files; "
                         f"for one file name its part ({', '.join(COMPOSITE[assignment])})")
    for a in parts(assignment):
        if not path.is_dir() and a.is_notebook and path.suffix.lower() not in (".ipynb", ".py"):
            raise InputError(f"PATH {path}: {a.name} grades a notebook, .ipynb (any name) or its .py export; "
                             f"got a {path.suffix or 'file without a suffix'}")
        if not path.is_dir() and not a.is_notebook and path.suffix.lower() != ".py":  # a .zip was read as Python
            raise InputError(f"PATH {path}: {a.name} grades a Python file ({a.filename}); got a "
                             f"{path.suffix or 'file without a suffix'} (unpack an archive first)")
    if items is None:
        return None
    only = frozenset(str(i) for i in items)
    unknown = only - {it.id for a in parts(assignment) for it in a.items}
    if unknown:
        raise InputError(f"items must be item ids of {assignment}; got unknown {sorted(unknown)}")
    return only


def check(assignment: str, path: str | Path, *, quick: bool = False, timeout: float | None = None,
          limits: Limits | None = None, student: str = "", items: Sequence[str] | None = None,
          others: Sequence[str | Path] = (), outputs: Sequence[str | Path] = ()) -> SubmissionResult:
    """Grade one submission.

    Parameters
    ----------
    assignment : ``"purdue-numpy-ann"``, ``"purdue-pytorch-ann"``, ``"purdue-pytorch-cnn"``,
        ``"purdue"`` (a folder with all three files), ``"jku-a7"`` or ``"radboud-a1"`` (a notebook,
        ``.ipynb`` or its ``.py`` export)
    path : the file (a notebook: ``.ipynb`` or ``.py`` of any name), or a folder holding it (a
        notebook of any name: :mod:`backproplab.check.locate`)
    quick : train the accuracy items on a documented subset with a lower bound (said in the result)
    timeout : wall-clock seconds per item (default: each item's own, longer for training items)
    limits : memory, file size, processes, output cap (:class:`~backproplab.check.runner.Limits`)
    items : grade only these item ids (e.g. ``["1.6"]``); default all
    others : other submissions (files or folders) the student's code may not read: in a batch, the
        classmates' (:func:`check_batch` passes them)
    outputs : the checker's own outputs (a gradebook folder, ``--json`` and ``--gradescope`` files), which
        the student's code may not read either: an earlier run's records there hold the expected values

    Returns
    -------
    SubmissionResult with one :class:`ItemResult` per contract item (score, assertions, feedback).

    Raises
    ------
    InputError for the arguments (:func:`check_arguments`); OSError or ValueError for a submission that
    cannot be read or prepared at all (over a size bound, not a notebook), which :func:`check_batch` and
    ``backproplab check`` grade as :func:`not_graded`.
    """
    path = Path(path)
    only = check_arguments(assignment, path, timeout=timeout, items=items)
    start = time.perf_counter()
    if path.is_symlink():  # a student's folder linked to the reference solution, or to a classmate's folder
        found = linked(path)
        missing = [r for a in parts(assignment) for r in _missing(a, found.item_error) if only is None or r.id in only]
        return SubmissionResult(assignment, student or path.name, str(path), missing, quick=quick,
                                messages=[found.problem])
    results: list[SubmissionResult] = []
    for a in parts(assignment):
        if only is not None and not only & {it.id for it in a.items}:
            continue
        found = _source(a, path)
        if found.path is None:
            missing = [r for r in _missing(a, found.item_error) if only is None or r.id in only]
            results.append(SubmissionResult(a.name, student or path.name, str(path), missing, quick=quick,
                                            messages=[found.problem]))
            continue
        results.append(grade(a, found.path, quick=quick, timeout=timeout, limits=limits, student=student,
                             only=only, others=[Path(o) for o in others], outputs=[Path(o) for o in outputs]))
    if len(results) == 1:
        return results[0]
    messages = [m for r in results for m in r.messages]
    return SubmissionResult(assignment, student or path.name, str(path), [i for r in results for i in r.items],
                            quick=quick, seconds=time.perf_counter() - start, messages=messages)


def not_graded(assignment: str, student: str, path: str | Path, why: str, *, items: Sequence[str] | None = None,
               quick: bool = False) -> SubmissionResult:
    """The result of a submission the checker could not grade at all (a notebook over a limit, a file it
    cannot read): every item (of ``items``, when given) scores 0 with ``why`` as its error, and ``why`` is
    the result's message, so a gradebook row or a Gradescope ``results.json`` says it to the student."""
    failed = [ItemResult(it.id, it.title, it.points, error=why)
              for a in parts(assignment) for it in a.items if items is None or it.id in items]
    return SubmissionResult(assignment, student, str(path), failed, quick=quick, messages=[why])


#: The most submissions graded at once: each job is its own child processes with torch loaded and an
#: assignment's memory limit (up to 16 GiB for the CNN), so more is a typo that would exhaust the machine.
MAX_JOBS = 64
JOBS_WHY = "each job is its own processes with torch; more would exhaust memory"


def check_batch(assignment: str, paths: Sequence[str | Path], *, jobs: int = 1, quick: bool = False,
                timeout: float | None = None, limits: Limits | None = None, items: Sequence[str] | None = None,
                progress: bool = True, on_result: Callable[[SubmissionResult], None] | None = None,
                outputs: Sequence[str | Path] = ()) -> list[SubmissionResult]:
    """Grade many submissions, ``jobs`` at a time (each in its own child processes), in order; ``outputs``
    as in :func:`check`.

    A submission that breaks the checker's own handling (an unreadable file) is reported in its
    record and never stops the batch.
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= MAX_JOBS:
        raise InputError(f"jobs must be an integer from 1 to {MAX_JOBS} ({JOBS_WHY}), got {short_repr(jobs)}")
    subs = submissions(assignment, paths)
    parts(assignment)[0].inputs  # build the inputs once, before threads share them  # noqa: B018
    loose = passed_over(assignment, paths)
    if loose:
        print(loose, file=sys.stderr)

    def one(sub: tuple[str, Path]) -> SubmissionResult:
        student, path = sub
        try:
            return check(assignment, path, quick=quick, timeout=timeout, limits=limits, student=student, items=items,
                         others=[p for _, p in subs if p != path], outputs=outputs)
        except (OSError, ValueError) as err:
            why = f"not graded: {err}"
        except Exception as err:  # noqa: BLE001 - one submission that breaks the checker never stops the batch
            why = f"not graded: the checker failed on this submission ({type(err).__name__}: {err})"
        return not_graded(assignment, student, path, why, items=items, quick=quick)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(subs), desc=f"check {assignment}", unit="student", disable=not progress, leave=False)
    results: list[SubmissionResult] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for res in pool.map(one, subs):
            results.append(res)
            bar.update(1)
            if on_result is not None:
                on_result(res)
    bar.close()
    return results

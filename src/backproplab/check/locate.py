"""Which file in a student's folder is the submission: fixed names for the Purdue files, any name for
a notebook.

A notebook assignment takes, in a folder: the canonical name (``jku_a7.ipynb``, then its ``.py``
export ``jku_a7.py``) when it is there; else the one ``.ipynb`` there, whatever its name
(``A7_smith.ipynb``, ``Assignment 1.ipynb``); else, with no ``.ipynb`` at all, the one ``.py`` file
that is a notebook's export (it has ``# %%`` or ``# In[ ]:`` cell markers). Several candidates and
none canonical: nothing is guessed, and :attr:`Found.problem` says which files are there. Hidden
files (``.name``, macOS's ``._name``), Jupyter's ``*-checkpoint.ipynb`` copies and another
assignment's file (``radboud_a1.ipynb`` when grading ``jku-a7``) are never candidates.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from backproplab.check.notebook import EXPORT_MARKER

_EXPORT_MARKER = re.compile(EXPORT_MARKER.encode("ascii"), re.M)
#: Bytes of a ``.py`` file read to tell a notebook's export (cell markers) from other code.
EXPORT_PROBE_BYTES = 65_536


@dataclass(frozen=True)
class Found:
    """What a folder holds for an assignment: the file to grade (None when none can be chosen), the
    candidates seen (several when the choice is ambiguous), and why none was chosen; ``foreign`` says
    what it holds instead when that is another assignment's file ("holds jku_a7.ipynb, not
    radboud_a1.ipynb (the radboud-a1 notebook)"), '' otherwise."""

    path: Path | None
    candidates: tuple[Path, ...] = ()
    problem: str = ""
    brief: str = ""
    foreign: str = ""

    @property
    def item_error(self) -> str:
        """What each item of a submission that was not graded says (``problem`` said once elsewhere)."""
        return self.brief or self.problem

    @property
    def holds(self) -> bool:
        """Whether the folder holds a submission at all (a chosen file, or an ambiguous choice)."""
        return self.path is not None or bool(self.candidates)


def is_notebook_file(path: Path) -> bool:
    """``.ipynb`` (any case), or a ``.py`` file with notebook cell markers in its first 64 KiB."""
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        return True
    if suffix != ".py":
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(EXPORT_PROBE_BYTES)
    except OSError:
        return False
    return _EXPORT_MARKER.search(head) is not None


def _files(folder: Path) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if not p.name.startswith(".") and not p.name.endswith("-checkpoint.ipynb")
            and p.is_file()]


def own_file(path: Path) -> Found:
    """``path`` to grade, unless it is a symbolic link or lies in a folder that is one: a link can point at
    any file on the grading machine (the reference solution installed with the lab scored 18/18 that way,
    or a classmate's file), so it is not graded, and the problem says so."""
    if path.is_symlink():
        return linked(path)
    folder = Path(os.path.abspath(path)).parent
    try:
        followed = path.resolve().parent != folder.parent.resolve() / folder.name
    except (OSError, RuntimeError):  # a loop of links: nothing of its own to grade either
        followed = True
    shown = path.parent if path.parent.name not in ("", "..") else folder
    return linked(shown, graded=path) if followed else Found(path, (path,))


def linked(link: Path, graded: Path | None = None) -> Found:
    """Not graded: ``link`` (the submission itself, or the folder ``graded`` lies in) is a symbolic link,
    which is never followed; :attr:`Found.brief` says so once per item, :attr:`Found.problem` with where
    it points."""
    try:
        target = f" to {str(link.readlink())!r}"
    except OSError:
        target = ""
    what = "folder" if link.is_dir() else "file"
    where = f"{graded} lies in {link}, which" if graded is not None else str(link)
    return Found(None, (graded or link,), brief=f"not graded: {link.name} is a symbolic link",
                 problem=f"{where} is a symbolic link{target}: not graded, as a link can point at any file on "
                         f"this machine (a classmate's, the reference solution); grade a copy of the {what} itself")


def find_fixed(folder: Path, names: tuple[str, ...]) -> Found:
    """The first of ``names`` in ``folder`` (a Purdue file's fixed name)."""
    for name in names:
        if (Path(folder) / name).is_file():
            return own_file(Path(folder) / name)
    return Found(None, problem=f"{' or '.join(names)} not found in {folder}")


def _another_assignments(folder: Path, theirs: list[Path], canonical: str, assignment: str) -> Found:
    """Not graded: ``folder`` holds only another assignment's files (``theirs``), which it says, rather than
    that it holds no notebook (it holds one: jku_a7.ipynb, graded as radboud-a1)."""
    names = [p.name for p in theirs]
    shown = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    held = f"holds {shown}, not {canonical} (the {assignment or 'handed-out'} notebook)"
    return Found(None, foreign=held, brief=f"not graded: the folder {held}", problem=(
        f"{folder} {held}: not graded, as another assignment's file is never graded as this one's; "
        "check it as its own assignment"))


def named_as_another(path: Path, owner: str, assignment: str, canonical: str) -> Found:
    """Not graded: the file ``path``, given by itself, bears another assignment's file name (``owner``'s):
    ``check radboud-a1 jku_a7.ipynb`` graded the JKU notebook item by item as "defines no make_layer"."""
    held = f"{path.name} is {owner}'s file name, not {assignment}'s ({canonical})"
    return Found(None, (path,), foreign=held, brief=f"not graded: {held}", problem=(
        f"{path}: {held}; not graded, as another assignment's file is never graded as this one's: check it as "
        f"{owner} (backproplab check {owner} {path})"))


def find_notebook(folder: Path, canonical: tuple[str, ...], others: tuple[str, ...] = (),
                  assignment: str = "") -> Found:
    """The notebook to grade in ``folder`` (see the module docstring); a file named as another
    assignment's (``others``: ``radboud_a1.ipynb`` when grading ``jku-a7``) is never a candidate, and
    when it is all the folder holds, the problem names it and ``assignment``'s notebook."""
    folder = Path(folder)
    fixed = find_fixed(folder, canonical)
    if fixed.path is not None or fixed.candidates:
        return fixed
    every = _files(folder)
    files = [p for p in every if p.name not in others]
    notebooks = [p for p in files if p.suffix.lower() == ".ipynb"]
    if not notebooks:
        notebooks = [p for p in files if p.suffix.lower() == ".py" and is_notebook_file(p)]
    if len(notebooks) == 1:
        return own_file(notebooks[0])
    theirs = [p for p in every if p.name in others]
    if not notebooks and theirs:
        return _another_assignments(folder, theirs, canonical[0], assignment)
    if not notebooks:
        return Found(None, problem=f"no notebook in {folder}: expected {canonical[0]}, or one .ipynb of any "
                                   "name, or its .py export (with # %% or # In[ ]: cell markers)")
    shown = ", ".join(repr(p.name) for p in notebooks[:6]) + (f" and {len(notebooks) - 6} more"
                                                               if len(notebooks) > 6 else "")
    brief = f"not graded: {len(notebooks)} notebooks in the folder and none is named {canonical[0]}"
    return Found(None, tuple(notebooks), brief=brief, problem=(
        f"{len(notebooks)} notebooks in {folder} ({shown}) and none is named {canonical[0]}: not graded, "
        f"as the checker does not guess; keep only the one to grade, or name it {canonical[0]} (several "
        "students' notebooks in one folder: pass each file as a PATH)"))

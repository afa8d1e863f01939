"""Starter files an instructor hands out, and the reference solutions (``backproplab check --init``).

A notebook is a list of :class:`CellSpec`: text cells, run-this code cells (working on the lab's
data layer), and graded cells. A graded cell's starter is generated from the course reference's
signature and docstring (:func:`stub_function`, :func:`stub_class`) with the body
``# YOUR CODE HERE`` / ``raise NotImplementedError()``; its solution is the reference filled in.
Every cell has a fixed ID, the same in the starter and the solution, which the checker compares with
the submission's (the JKU rule: no cell added or removed, no ID changed).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backproplab.errors import InputError

EMPTY_BODY = "# YOUR CODE HERE\nraise NotImplementedError()"


@dataclass(frozen=True)
class CellSpec:
    """One cell: ``id``, ``kind`` (``markdown``/``code``), its text, and for a graded cell the
    starter (a function making it) and the solution text."""

    id: str
    kind: str
    text: str = ""
    starter: Callable[[], str] | None = None
    solution: str = ""

    @property
    def graded(self) -> bool:
        return self.starter is not None

    def source(self, solution: bool) -> str:
        if not self.graded:
            return self.text
        return self.solution.strip() if solution else self.starter()


def _indent(text: str, pad: str = "    ") -> str:
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def _without(doc: str, dropped: list[str]) -> str:
    """The docstring without the entries of parameters the stub leaves out (and their indented lines)."""
    out, skipping = [], False
    for line in doc.splitlines():
        head = line.split(":")[0].replace(" ", "")
        if line and not line.startswith(" ") and any(n in head.split(",") for n in dropped):
            skipping = True
            continue
        if skipping and line.startswith(" "):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out)


def _docstring(obj, dropped: list[str] = ()) -> str:
    own = obj.__doc__ if not isinstance(obj, type) else (inspect.getdoc(obj) or "")
    doc = _without(inspect.cleandoc(own), list(dropped)) if own else ""
    if not doc:
        return ""
    return f'"""{doc}\n"""' if "\n" in doc else f'"""{doc}"""'


def stub_function(fn: Callable, params: list[str] | None = None, name: str | None = None, indent: str = "",
                  defaults: bool = True) -> str:
    """``def name(params):`` with the reference's docstring and a ``NotImplementedError`` body.

    ``params``: the parameter names the course's signature has (default: the reference's positional
    ones, with their defaults); keyword-only extras of the reference are left out. ``defaults=False``:
    the reference's defaults are left out too, where the course's signature has none.
    """
    sig = inspect.signature(fn)
    kept = []
    for p in sig.parameters.values():
        if (params is None and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)) or (params and p.name in params):
            kept.append(p.replace(annotation=p.empty, **({} if defaults else {"default": p.empty})))
    header = f"def {name or fn.__name__}({', '.join(str(p) for p in kept)}):"
    dropped = [n for n in sig.parameters if n not in {p.name for p in kept}]
    doc = _docstring(fn, dropped)
    body = _indent((doc + "\n" if doc else "") + EMPTY_BODY)
    return _indent(header + "\n" + body, indent) if indent else header + "\n" + body


def stub_class(cls: type, bases: str, methods: dict[str, list[str] | None], doc_from: type | None = None,
               defaults: bool = True) -> str:
    """``class Name(bases):`` with the reference's docstring and one stub per method in ``methods``
    (``defaults``: as :func:`stub_function`'s)."""
    parts = [f"class {cls.__name__}({bases}):", _indent(_docstring(doc_from or cls))]
    for method, params in methods.items():
        parts.append("")
        parts.append(stub_function(getattr(cls, method), params, indent="    ", defaults=defaults))
    return "\n".join(parts)


def notebook_cells(assignment: str) -> list[CellSpec]:
    """The cells of a notebook assignment (``jku-a7``, ``radboud-a1``)."""
    from backproplab.check.templates import jku, radboud

    table = {"jku-a7": jku.CELLS, "radboud-a1": radboud.CELLS}
    if assignment not in table:
        raise InputError(f"assignment must be jku-a7 or radboud-a1 for a notebook, got {assignment!r}")
    return table[assignment]()


def expected_ids(assignment: str) -> list[str]:
    """The IDs of the handed-out notebook's cells, in order."""
    return [c.id for c in notebook_cells(assignment)]


def notebook(assignment: str, solution: bool = False):
    """The notebook (an ``nbformat`` node): starter, or with ``solution`` the reference filled in."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for spec in notebook_cells(assignment):
        make = nbformat.v4.new_code_cell if spec.kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(spec.source(solution))
        cell["id"] = spec.id
        if spec.graded:
            cell.metadata["backproplab"] = {"graded": True}
        nb.cells.append(cell)
    return nb


PURDUE_FILES = {"purdue-numpy-ann": "numpy_ann.py", "purdue-pytorch-ann": "pytorch_ann.py",
                "purdue-pytorch-cnn": "pytorch_cnn.py"}
NOTEBOOK_FILES = {"jku-a7": "jku_a7.ipynb", "radboud-a1": "radboud_a1.ipynb"}


def init(assignment: str, folder: str | Path, solution: bool = False) -> list[Path]:
    """Write the starter files of ``assignment`` (or ``purdue``: all three) into ``folder``; returns them.

    Nothing is overwritten: a file already there is an :class:`InputError` before anything is written.
    """
    import nbformat

    from backproplab.check.templates import purdue
    from backproplab.files import atomic_write_text

    names = list(PURDUE_FILES) if assignment == "purdue" else [assignment]
    for name in names:
        if name not in PURDUE_FILES and name not in NOTEBOOK_FILES:
            raise InputError(f"ASSIGNMENT must be one of {', '.join([*PURDUE_FILES, 'purdue', *NOTEBOOK_FILES])}; "
                             f"got {assignment!r}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"DIR {folder} exists and is not a folder")
    targets = [folder / (PURDUE_FILES.get(n) or NOTEBOOK_FILES[n]) for n in names]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise InputError(f"DIR already holds {', '.join(existing)}; --init does not overwrite: remove it or choose "
                         "another DIR")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        if name in PURDUE_FILES:
            text = purdue.source(name, solution)
            written.append(atomic_write_text(folder / PURDUE_FILES[name], text))
        else:
            text = nbformat.writes(notebook(name, solution))
            written.append(atomic_write_text(folder / NOTEBOOK_FILES[name], text))
    return written

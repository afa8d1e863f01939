"""A notebook submission as the checker reads it: its cells, its structure, and the module it grades.

The rule (docs/checking.md, "Notebooks"): from every code cell, in order, the checker keeps only the
top-level statements that *define* something — ``import``/``from … import`` (each wrapped so that a
package the grader lacks, e.g. torchvision, costs nothing until used), ``def``, ``class``, and
assignments of literal values (``a_ = True``, ``lr = 0.01``). Everything else at the top level of a
cell — calls (loading data, ``train_and_test(...)``, plotting), loops, ``raise``, IPython magics and
shell lines — is skipped, so no cell downloads data or trains for minutes. ``from __future__``
imports go to the top of the module (each feature once); a cell whose kept statements do not compile
is reported and left out, so that it cannot take the other cells with it. The kept statements, copied
verbatim, make a Python module that the child process imports; the graded objects are then taken
from it by name, and the course's helpers (``train``, ``test``, the loaders) are given to it there.

Nothing here executes the student's code: the notebook is parsed with :mod:`nbformat` and :mod:`ast`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from backproplab.errors import InputError

#: Largest notebook the checker reads (bytes); outputs with images make notebooks big.
MAX_NOTEBOOK_BYTES = 20_000_000
#: A ``.py`` export's cell marker line (``# %%``, ``# In[3]:``); :mod:`backproplab.check.locate` uses it too.
EXPORT_MARKER = r"^# (?:%%|In\[[ 0-9]*\]:)"
_MARKER = re.compile(EXPORT_MARKER)


@dataclass(frozen=True)
class Cell:
    """One cell: its ID ('' in a ``.py`` export), kind (``code``/``markdown``/``raw``) and source."""

    id: str
    kind: str
    source: str


@dataclass
class Extracted:
    """The module made from a notebook, and what the checker says about the notebook."""

    source: str
    messages: list[str] = field(default_factory=list)
    defined: list[str] = field(default_factory=list)


def read_cells(path: Path) -> list[Cell]:
    """The cells of an ``.ipynb`` (via nbformat) or of a ``.py`` export (``# %%`` or ``# In[ ]:`` cells)."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise InputError(f"notebook {path} is {size:,} bytes; the checker reads at most {MAX_NOTEBOOK_BYTES:,}")
    if path.suffix.lower() == ".ipynb":
        import nbformat

        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception as err:  # noqa: BLE001 - nbformat raises many kinds for a broken file
            raise InputError(f"notebook {path} could not be read as a Jupyter notebook: {err}") from err
        return [Cell(str(c.get("id", "")), c.cell_type, c.source) for c in nb.cells]
    text = path.read_text(encoding="utf-8", errors="replace")
    cells, current = [], []
    for line in text.splitlines():
        if _MARKER.match(line):
            if any(s.strip() for s in current):
                cells.append(Cell("", "code", "\n".join(current)))
            current = []
        else:
            current.append(line)
    if any(s.strip() for s in current):
        cells.append(Cell("", "code", "\n".join(current)))
    return cells


def structure_messages(cells: list[Cell], expected_ids: list[str], is_export: bool) -> list[str]:
    """What differs from the handed-out notebook's cells (the JKU rule: no cell added or removed,
    no ID changed); an empty list when nothing does."""
    if is_export:
        return ["a .py export carries no cell IDs: the notebook's cell structure was not checked "
                "(hand in the .ipynb for that)"]
    got = [c.id for c in cells]
    if not any(got):
        same = len(cells) == len(expected_ids)
        return [f"the notebook has no cell IDs (saved by a Jupyter before nbformat 4.5?): compared by count only, "
                f"{len(cells)} cells against the handed-out {len(expected_ids)}"
                + ("" if same else " — cell structure changed: cells were added or removed")]
    removed = [i for i in expected_ids if i not in got]
    added = [i for i in got if i not in expected_ids]
    out = []
    if removed:
        out.append(f"cell structure changed: {len(removed)} cell(s) of the handed-out notebook are missing "
                   f"(IDs {', '.join(removed)}); cells must not be removed and IDs must not change")
    if added:
        out.append(f"cell structure changed: {len(added)} cell(s) were added or had their ID changed "
                   f"(IDs {', '.join(a or '(none)' for a in added)}); cells must not be added")
    kept = [i for i in got if i in expected_ids]
    if not removed and not added and kept != expected_ids:
        out.append("cell structure changed: the cells are not in the handed-out order")
    elif kept != [i for i in expected_ids if i in got]:
        out.append("cell structure changed: the remaining cells are not in the handed-out order")
    return out


def _literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _kept(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom):
        return True
    if isinstance(stmt, ast.Assign):
        return all(isinstance(t, ast.Name) for t in stmt.targets) and _literal(stmt.value)
    if isinstance(stmt, ast.AnnAssign):
        return isinstance(stmt.target, ast.Name) and stmt.value is not None and _literal(stmt.value)
    return False


def _names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [stmt.name]
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)]
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id]
    return []


def _clean(source: str) -> str:
    """IPython magics and shell lines (``%matplotlib``, ``!pip``) become comments; ast cannot read them."""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _statement(stmt: ast.stmt, text: str) -> str:
    segment = ast.get_source_segment(text, stmt, padded=False) or ""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and stmt.decorator_list:
        first = min(d.lineno for d in stmt.decorator_list)
        segment = "\n".join(text.splitlines()[first - 1:stmt.end_lineno])
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        return f"try:\n    {segment}\nexcept ImportError:\n    pass"
    return segment


def _is_future(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"


def _compile_error(kept: list[ast.stmt], futures: set[str]) -> SyntaxError | None:
    """What the compiler (not only the parser) says about a cell's kept statements, under the ``from
    __future__`` features of the notebook so far and the cell's own (placed first, as in the module);
    None when they compile."""
    features = sorted(futures | {a.name for s in kept if _is_future(s) for a in s.names})
    head = ast.parse(f"from __future__ import {', '.join(features)}").body if features else []
    try:
        compile(ast.Module(head + [s for s in kept if not _is_future(s)], []), "<cell>", "exec", dont_inherit=True)
    except SyntaxError as err:
        return err
    except (ValueError, RecursionError, MemoryError) as err:
        return SyntaxError(f"{type(err).__name__}: {err}")
    return None


def extract(cells: list[Cell]) -> Extracted:
    """The module of the kept statements (see the module's docstring), cell by cell, with messages
    naming the cells that could not be parsed and those whose top-level code was skipped. ``from
    __future__`` imports are hoisted to the top of the module (each feature once): they must come first."""
    parts, messages, defined, skipped = [], [], [], []
    unset: list[str] = []
    futures: set[str] = set()
    for n, cell in enumerate(cells, start=1):
        if cell.kind != "code":
            continue
        label = f"cell {n}" + (f" (id {cell.id})" if cell.id else "")
        text = _clean(cell.source)
        try:
            tree = ast.parse(text)
        except SyntaxError as err:
            messages.append(f"{label} has a syntax error (line {err.lineno}: {err.msg}); nothing it defines "
                            "could be graded")
            continue
        except (ValueError, RecursionError, MemoryError) as err:  # null bytes, absurd nesting
            messages.append(f"{label} could not be parsed ({type(err).__name__}); nothing it defines could be graded")
            continue
        kept = [s for s in tree.body if _kept(s)]
        err = _compile_error(kept, futures)
        if err is not None:
            messages.append(f"{label} has a syntax error (line {err.lineno}: {err.msg}); nothing it defines "
                            "could be graded")
            continue
        if len(kept) < len(tree.body):
            skipped.append(str(n))
            unset += [t.id for s in tree.body if not _kept(s) and isinstance(s, ast.Assign)
                      for t in s.targets if isinstance(t, ast.Name)]
        futures |= {a.name for s in kept if _is_future(s) for a in s.names}
        kept = [s for s in kept if not _is_future(s)]
        if kept:
            parts.append(f"# --- {label}")
            parts += [_statement(s, text) for s in kept]
            defined += [name for s in kept for name in _names(s)]
    if skipped:
        messages.append(f"top-level code that defines nothing (data loading, training runs, plots) was not run "
                        f"in cells {', '.join(skipped)}")
    unset = sorted(set(unset) - set(defined))
    if unset:
        messages.append(f"not defined when grading (assigned by code that was not run): {', '.join(unset[:12])}; "
                        "a graded function must not use them")
    head = [f"from __future__ import {', '.join(sorted(futures))}"] if futures else []
    head.append("# made by backproplab check from the notebook's code cells")
    return Extracted("\n".join(head + parts) + "\n", messages, defined)

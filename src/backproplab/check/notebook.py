"""A notebook submission as the checker reads it: its cells, its structure, and the module it grades.

The rule (docs/checking.md, "Notebooks"): from every code cell, in order, the checker keeps only the
top-level statements that *define* something — ``import``/``from … import`` (each wrapped so that a
package the grader lacks, e.g. torchvision, costs nothing until used), ``def``, ``class``, and
assignments of side-effect-free values: literals, names and attribute chains of what is defined,
lambdas, operators on those, never a call (:mod:`backproplab.check.notebook_rule`; a non-literal one
is wrapped too, its failure noted in ``__backproplab_failed__``; so is every ``def`` and ``class``, and one
whose decorators, defaults, annotations, bases or class body read a name no kept statement defines is
dropped, its reason noted). Everything else at the top level of a
cell — calls (loading data, ``train_and_test(...)``, plotting), loops, ``raise``, IPython magics and
shell lines — is skipped, so no cell downloads data or trains for minutes. ``from __future__``
imports go to the top of the module (each feature once); a cell whose kept statements do not compile
is reported and left out, so that it cannot take the other cells with it. The kept statements, copied
verbatim, make a Python module (with ``__backproplab_dropped__``: each name only a skipped statement
assigns, and why the rule skipped it) that the child process imports; the graded objects are then taken
from it by name, and the course's helpers (``train``, ``test``, the loaders) are given to it there.

Nothing here executes the student's code: the notebook is parsed with :mod:`nbformat` and :mod:`ast`.
"""

from __future__ import annotations

import ast
import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from backproplab.check import notebook_rule as rule
from backproplab.check.notebook_rule import defines
from backproplab.check.runner import MAX_SOURCE_BYTES
from backproplab.errors import InputError
from backproplab.files import read_regular

#: Largest notebook the checker reads (bytes); outputs with images make notebooks big.
MAX_NOTEBOOK_BYTES = 20_000_000
#: Most cells a notebook may have; the handed-out ones have under 50.
MAX_CELLS = 5_000
#: Most characters of code a notebook's code cells may hold together: the bytes a ``.py`` submission may have.
MAX_CODE_CHARS = MAX_SOURCE_BYTES
#: Most top-level statements of all code cells together (the handed-out notebooks have a few hundred).
MAX_STATEMENTS = 20_000
#: Most notes on single cells (a syntax error, a definition not kept) listed; the others are counted.
MAX_CELL_NOTES = 20
_CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: The file name the checker parses and compiles a student's cells under. What the compiler warns about them
#: (``x is 1``: 'SyntaxWarning: "is" with a literal') is the student's business, not the instructor's: it
#: went to the checker's terminal, a line for each (up to one per statement, for each student of a batch),
#: naming no student. A filter on this name (the warnings' module) keeps them out, and only them; it is put
#: back in place whenever a notebook is read (``warnings.catch_warnings`` and pytest restore the filters).
CELL_FILE = "<backproplab notebook cell>"
_QUIET = ("ignore", None, Warning, re.compile(re.escape(CELL_FILE)), 0)
#: A ``.py`` export's cell marker line (``# %%``, ``# In[3]:``); :mod:`backproplab.check.locate` uses it too.
EXPORT_MARKER = r"^# (?:%%|In\[[ 0-9]*\]:)"
_MARKER = re.compile(EXPORT_MARKER)
#: Held while the checker's own process parses a submission (a notebook turned into a module, a Purdue
#: file's method signatures: :mod:`backproplab.check.signatures`). CPython 3.11 keeps the depth counter
#: of its syntax-tree conversion in one place for all threads, so two threads parsing at once (``check
#: --jobs 2``) can fail with "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905).
AST_LOCK = threading.Lock()
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: Names a module has when it is loaded, besides the builtins.
_MODULE_NAMES = frozenset({"__file__", "__builtins__", "__cached__", "__backproplab_failed__",
                           "__backproplab_dropped__"})


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


def shown_id(cell_id: object) -> str:
    """A cell's ID as the checker shows and compares it: as it is when nbformat's rule allows it (1 to 64 of
    ``A-Z a-z 0-9 - _``), else its ``repr`` cut to 64 characters. nbformat only logs a wrong ID, and one
    holding a newline, written into the comment over the cell's code in the module the child imports,
    made the line after it top-level code that ran on import, past the rule."""
    text = str(cell_id)
    if not text or _CELL_ID.fullmatch(text):
        return text
    shown = repr(text[:64])
    return shown + "…" if len(text) > 64 else shown


def _notebook(path: Path) -> dict:
    """The notebook's JSON as nbformat reads it (version 4), after its cells were counted (nbformat's
    checks took 27 s and 560 MB for 180,000 cells) and without what the checker never reads (outputs,
    metadata: 330,000 empty outputs in one cell took 12 s and 670 MB, a million metadata keys 6 s and
    820 MB); :class:`InputError` naming what is wrong."""
    import json

    import nbformat

    data = read_regular(path, MAX_NOTEBOOK_BYTES)
    try:
        raw = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as err:  # invalid UTF-8 is a ValueError too
        raise InputError(f"notebook {path} could not be read as a Jupyter notebook: {type(err).__name__}: "
                         f"{str(err)[:200]}") from err
    sheets = raw.get("worksheets") if isinstance(raw, dict) else None  # version 3 keeps its cells in worksheets
    lists = [raw] + (sheets if isinstance(sheets, list) else []) if isinstance(raw, dict) else []
    count = sum(len(x["cells"]) for x in lists if isinstance(x, dict) and isinstance(x.get("cells"), list))
    if count > MAX_CELLS:
        raise InputError(f"notebook {path} has {count:,} cells; the checker reads at most {MAX_CELLS:,} "
                         "(the handed-out notebook has under 50)")
    try:
        return nbformat.reads(json.dumps(_unread_left_out(raw)), as_version=4)
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds for a broken file
        raise InputError(f"notebook {path} could not be read as a Jupyter notebook: {str(err)[:200]}") from err


_UNREAD = {"outputs": [], "metadata": {}, "attachments": {}}


def _emptied(cells: list) -> list:
    return [{k: _UNREAD.get(k, v) for k, v in c.items()} if isinstance(c, dict) else c for c in cells]


def _unread_left_out(raw: object) -> object:
    """A notebook's JSON with its outputs, metadata and attachments emptied (valid, never read by the checker),
    version 4's and version 3's (100,000 empty outputs, 300 KB, took 86 s and 3.6 GB); other JSON as it is."""
    if isinstance(raw, dict) and raw.get("nbformat") == 4 and isinstance(raw.get("cells"), list):
        return {**raw, "metadata": {}, "cells": _emptied(raw["cells"])}
    if isinstance(raw, dict) and raw.get("nbformat") == 3 and isinstance(raw.get("worksheets"), list):
        sheets = [{**w, "metadata": {}, "cells": _emptied(w["cells"])}
                  if isinstance(w, dict) and isinstance(w.get("cells"), list) else w for w in raw["worksheets"]]
        return {**raw, "metadata": {}, "worksheets": sheets}
    return raw


def read_cells(path: Path) -> list[Cell]:
    """The cells of an ``.ipynb`` (via nbformat) or of a ``.py`` export (``# %%`` or ``# In[ ]:`` cells)."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise InputError(f"notebook {path} is {size:,} bytes; the checker reads at most {MAX_NOTEBOOK_BYTES:,}")
    if path.suffix.lower() == ".ipynb":
        cells = []
        for n, c in enumerate(_notebook(path).cells, start=1):  # nbformat.read does not refuse every malformed cell
            if not isinstance(c.get("cell_type"), str) or not isinstance(c.get("source"), str):
                raise InputError(f"notebook {path} could not be read as a Jupyter notebook: cell {n} has no "
                                 "cell_type or no source text")
            cells.append(Cell(shown_id(c.get("id", "")), c["cell_type"], c["source"]))
        return cells
    text = read_regular(path, MAX_NOTEBOOK_BYTES).decode("utf-8", errors="replace")
    cells, current = [], []
    for line in text.splitlines():
        if _MARKER.match(line):
            if any(s.strip() for s in current):
                cells.append(Cell("", "code", "\n".join(current)))
            current = []
            if len(cells) >= MAX_CELLS:  # 2,500,000 cells of a comment each took 12.5 s and 740 MB to refuse
                raise InputError(f"notebook {path} has over {MAX_CELLS:,} cells; the checker reads at most "
                                 f"{MAX_CELLS:,} (the handed-out notebook has under 50)")
        else:
            current.append(line)
    if any(s.strip() for s in current):
        cells.append(Cell("", "code", "\n".join(current)))
    return cells


def structure_messages(cells: list[Cell], expected_ids: list[str], is_export: bool, fixed: bool = True) -> list[str]:
    """What differs from the handed-out notebook's cells; an empty list when nothing does. ``fixed``: the
    assignment forbids adding or removing cells and changing IDs (JKU's rule), and the notes say so;
    otherwise (Radboud) they say that the change is allowed and noted for the marker only."""
    if is_export:
        return ["a .py export carries no cell IDs: the notebook's cell structure was not checked "
                "(hand in the .ipynb for that)"]
    rule = ("this assignment's rule: cells must not be added or removed, and their IDs must not change" if fixed
            else "this assignment allows that: noted for the marker only, the items are graded by name")
    got = [c.id for c in cells]
    if not any(got):
        same = len(cells) == len(expected_ids)
        return [f"the notebook has no cell IDs (saved by a Jupyter before nbformat 4.5?): compared by count only, "
                f"{len(cells)} cells against the handed-out {len(expected_ids)}"
                + ("" if same else f" — cell structure changed: cells were added or removed ({rule})")]
    removed = [i for i in expected_ids if i not in got]
    added = [i for i in got if i not in expected_ids]
    out = []
    if removed:
        out.append(f"cell structure changed: {len(removed)} cell(s) of the handed-out notebook are missing "
                   f"(IDs {', '.join(_listed(removed, MAX_CELL_NOTES))})")
    if added:
        out.append(f"cell structure changed: {len(added)} cell(s) were added or had their ID changed "
                   f"(IDs {', '.join(_listed([a or '(none)' for a in added], MAX_CELL_NOTES))})")
    kept = [i for i in got if i in expected_ids]
    if not removed and not added and kept != expected_ids:
        out.append("cell structure changed: the cells are not in the handed-out order")
    elif kept != [i for i in expected_ids if i in got]:
        out.append("cell structure changed: the remaining cells are not in the handed-out order")
    return out[:-1] + [f"{out[-1]}; {rule}"] if out else out


def _clean(source: str) -> str:
    """IPython magics and shell lines (``%matplotlib``, ``!pip``) become comments; ast cannot read them."""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


class _Text:
    """A cleaned cell's text (:func:`_clean`: its lines end in ``\n`` only), split into lines once, with the
    source of a statement of its syntax tree. :func:`ast.get_source_segment` splits the whole text again
    on each call, a character at a time: a cell of 20,000 one-line calls took 490 s to read, and one of a
    single 5 MB line 470 s."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self._encoded: dict[int, bytes] = {}

    def _line(self, k: int) -> bytes:
        """Line ``k`` (from 0) in UTF-8, the unit of the tree's column offsets; each line encoded once."""
        if k not in self._encoded:
            self._encoded[k] = self.lines[k].encode("utf-8")
        return self._encoded[k]

    def segment(self, node: ast.AST, first_line_only: bool = False) -> str:
        """The source of ``node``, as ``ast.get_source_segment(text, node)`` gives it ('' without positions);
        ``first_line_only``: only its first line."""
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        start, end = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if None in (first, last, start, end) or not 1 <= first <= last <= len(self.lines):
            return ""
        if first == last:
            return self._line(first - 1)[start:end].decode("utf-8", errors="replace")
        head = self._line(first - 1)[start:].decode("utf-8", errors="replace")
        if first_line_only:
            return head
        tail = self._line(last - 1)[:end].decode("utf-8", errors="replace")
        return "\n".join([head, *self.lines[first:last - 1], tail])

    def rows(self, first: int, last: int) -> str:
        """Lines ``first`` to ``last`` (from 1, both included), whole."""
        return "\n".join(self.lines[first - 1:last])


def _statement(stmt: ast.stmt, text: _Text) -> str:
    segment = text.segment(stmt)
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and stmt.decorator_list:
        segment = text.rows(min(d.lineno for d in stmt.decorator_list), stmt.end_lineno)
    if isinstance(stmt, ast.Import | ast.ImportFrom):  # a package the grader lacks, or the lab itself (refused)
        return _recorded(_indented(segment), defines(stmt), f"`{_first_line(stmt, text)}`", "ImportError")
    return segment


def _indented(source: str) -> str:
    return "\n".join("    " + line if line.strip() else line for line in source.splitlines())


def _recorded(body: str, names: list[str], where: str, catch: str = "Exception") -> str:
    """``body`` (indented) in a ``try`` whose failure leaves ``names`` undefined, with the reason (``where``,
    the error's type and message) kept in ``__backproplab_failed__``, instead of failing the whole module."""
    return (f"try:\n{body}\nexcept {catch} as __backproplab_error:\n"
            f"    __backproplab_failed__.update(dict.fromkeys({names!r}, {where!r} + ': ' + "
            "type(__backproplab_error).__name__ + ': ' + str(__backproplab_error)[:200]))")


def _is_future(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"


def _compile_error(kept: list[ast.stmt], futures: set[str]) -> SyntaxError | None:
    """What the compiler (not only the parser) says about a cell's kept statements, under the ``from
    __future__`` features of the notebook so far and the cell's own (placed first, as in the module);
    None when they compile."""
    features = sorted(futures | {a.name for s in kept if _is_future(s) for a in s.names})
    head = ast.parse(f"from __future__ import {', '.join(features)}").body if features else []
    try:
        compile(ast.Module(head + [s for s in kept if not _is_future(s)], []), CELL_FILE, "exec", dont_inherit=True)
    except SyntaxError as err:
        return err
    except (ValueError, RecursionError, MemoryError) as err:
        return SyntaxError(f"{type(err).__name__}: {err}")
    return None


def _guarded(stmt: ast.stmt, label: str) -> str:
    """A kept assignment whose value is not a literal (``sigmoid = torch.sigmoid``, a lambda), wrapped so
    that its failure (a package the grader lacks) leaves its names undefined, with the reason kept in
    ``__backproplab_failed__``, instead of failing the whole module."""
    return _recorded(_indented(ast.unparse(stmt)), defines(stmt), label)


def _guarded_definition(stmt: ast.stmt, text: _Text, label: str) -> str:
    """A kept ``def`` or ``class`` (code runs when it is defined: a decorator, a default value, a class body),
    wrapped so that its failure leaves only its name undefined, with the reason kept in
    ``__backproplab_failed__``, instead of failing the whole module. The source is indented as it is, unless
    that would change it (a string over several lines); then the statement is written out by :mod:`ast`."""
    body = _indented(_statement(stmt, text))
    made = _recorded(body, defines(stmt), label)
    try:
        wrapper = ast.parse(made, CELL_FILE).body[0]
    except SyntaxError:
        wrapper = ast.parse(made.replace(body, "    pass", 1), CELL_FILE).body[0]
    if ast.dump(wrapper.body[0]) == ast.dump(stmt):
        return made
    wrapper.body = [stmt]
    return ast.unparse(wrapper)


def _read_globally(source: str) -> set[str]:
    """The global names the functions, lambdas and classes of ``source`` read (not their parameters or locals)."""
    import symtable

    try:
        tables = symtable.symtable(source, CELL_FILE, "exec").get_children()
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names: set[str] = set()
    while tables:
        table = tables.pop()
        names |= {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
        tables += table.get_children()
    return names


@dataclass
class _Module:
    """The module being made, cell by cell (:func:`extract`)."""

    parts: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    defined: list[str] = field(default_factory=list)
    known: set[str] = field(default_factory=set)
    futures: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    lazy: bool = False  # annotations are not evaluated (``from __future__ import annotations``, any cell)

    def add(self, tree: ast.Module, text: _Text, n: int, label: str) -> None:
        """The kept statements of one parsed cell (the rule of :mod:`backproplab.check.notebook_rule`)."""
        known, kept, dropped, unkept = set(self.known), [], {}, []
        for stmt in tree.body:
            if not rule.kept(stmt, known):
                why = f"`{_first_line(stmt, text)}` ({label}): {rule.why_dropped(stmt, known)}"
                dropped.update(dict.fromkeys(rule.binds(stmt), why))
            elif unread := self.unreadable(stmt, known, dropped):
                dropped.update(dict.fromkeys(rule.defines(stmt), f"`{_first_line(stmt, text)}` ({label}): {unread}"))
                unkept.append(f"{', '.join(rule.defines(stmt))} ({label}) was not kept: {unread}")
            else:
                kept.append(stmt)
                known.update(rule.defines(stmt))
        err = _compile_error(kept, self.futures)
        if err is not None:
            self.messages.append(f"{label} has a syntax error (line {err.lineno}: {err.msg}); nothing it defines "
                                 "could be graded")
            return
        code = [s for s in kept if not _is_future(s)]
        parts = [_guarded(s, label) if isinstance(s, ast.Assign | ast.AnnAssign) and not rule.literal(s.value)
                 else _guarded_definition(s, text, label) if isinstance(s, _DEFINITIONS)
                 else _statement(s, text) for s in code]  # before any change: a RecursionError leaves all as it was
        self.known, self.dropped = known, {**self.dropped, **dropped}
        self.messages += unkept
        if len(kept) + len(unkept) < len(tree.body):
            self.skipped.append(str(n))
        self.futures |= {a.name for s in kept if _is_future(s) for a in s.names}
        if code:
            self.parts += [f"# --- {label}", *parts]
            self.defined += [name for s in code if not isinstance(s, ast.Import | ast.ImportFrom)
                             for name in rule.defines(s)]

    def unreadable(self, stmt: ast.stmt, known: set[str], dropped: dict[str, str]) -> str:
        """Why defining ``stmt`` (a kept ``def`` or ``class``) would fail: the names its decorators, default
        values, annotations, bases or class body read that no kept statement before it defines, each with
        the part that reads it and the statement the rule dropped; '' when there are none."""
        reads = rule.definition_reads(stmt, self.lazy)
        unset = {name: part for name, part in reads.items() if name not in known and name not in rule.BUILTINS
                 and name not in _MODULE_NAMES}
        if not unset:
            return ""
        dropped = {**self.dropped, **dropped}
        said = [f"{part} reads `{name}`, which " + (f"the checker did not keep ({dropped[name].replace(rule.NO_CALLS, '')})" if name in dropped
                                                     else "no statement kept before it defines")
                for name, part in list(unset.items())[:3]]
        names, it = ", ".join(_listed([f"`{name}`" for name in unset], 5)), "it" if len(unset) == 1 else "them"
        argument = f", or pass {it} as an argument instead of a default value" \
            if "a default value" in unset.values() else ""
        return (f"{'; '.join(said)}. Defining it would fail when the notebook is loaded: define {names} in a cell "
                f"the checker keeps (at the top level, without calls){argument}")


def _first_line(stmt: ast.stmt, text: _Text) -> str:
    line = text.segment(stmt, first_line_only=True).strip().splitlines()[:1]
    line = line[0] if line else type(stmt).__name__
    return line if len(line) <= 60 else line[:59] + "…"


def _parse(cells: list[Cell]) -> list[tuple[int, str, _Text, ast.Module | str]]:
    """Each code cell's number, label, cleaned text and syntax tree (or what stops it from being parsed);
    :class:`InputError` for a notebook past :data:`MAX_CODE_CHARS` or :data:`MAX_STATEMENTS` (its syntax trees
    would take the checker's memory: 1.1 MB of imports took 2 GB)."""
    code = sum(len(cell.source) for cell in cells if cell.kind == "code")
    if code > MAX_CODE_CHARS:
        raise InputError(f"the notebook's code cells hold {code:,} characters; the checker reads at most "
                         f"{MAX_CODE_CHARS:,} (as many as a .py submission may have)")
    parsed: list[tuple[int, str, _Text, ast.Module | str]] = []
    statements = 0
    for n, cell in enumerate(cells, start=1):
        if cell.kind != "code":
            continue
        label = f"cell {n}" + (f" (id {cell.id})" if cell.id else "")
        text = _Text(_clean(cell.source))
        try:
            parsed.append((n, label, text, ast.parse(text.text, CELL_FILE)))
        except SyntaxError as err:
            parsed.append((n, label, text, f"{label} has a syntax error (line {err.lineno}: {err.msg}); nothing it "
                                           "defines could be graded"))
        except (ValueError, RecursionError, MemoryError) as err:  # null bytes, absurd nesting
            parsed.append((n, label, text, f"{label} could not be parsed ({type(err).__name__}); nothing it defines "
                                           "could be graded"))
        statements += len(parsed[-1][3].body) if isinstance(parsed[-1][3], ast.Module) else 0
        if statements > MAX_STATEMENTS:
            raise InputError(f"the notebook's code cells hold over {MAX_STATEMENTS:,} top-level statements (past "
                             f"{label}); the checker reads at most {MAX_STATEMENTS:,}")
    return parsed


def _listed(items: list[str], most: int) -> list[str]:
    """The first ``most`` of ``items``, then how many more there are."""
    return items if len(items) <= most else [*items[:most], f"{len(items) - most:,} more"]


def extract(cells: list[Cell], supplied: tuple[str, ...] = ()) -> Extracted:
    """The module of the kept statements (see the module's docstring), cell by cell, with messages
    naming the cells that could not be parsed, those whose top-level code was skipped, and the names
    the notebook's functions read that only a skipped statement assigns (less ``supplied``, the names
    the checker gives the module itself, e.g. Radboud's ``w`` and ``b``). ``from __future__`` imports
    are hoisted to the top of the module (each feature once): they must come first."""
    with AST_LOCK:
        if _QUIET not in warnings.filters:
            warnings.filterwarnings("ignore", module=re.escape(CELL_FILE))
        return _extract(cells, supplied)


def _extract(cells: list[Cell], supplied: tuple[str, ...]) -> Extracted:
    parsed = _parse(cells)
    made = _Module(lazy=any(_is_future(s) and any(a.name == "annotations" for a in s.names)
                            for _, _, _, tree in parsed if isinstance(tree, ast.Module) for s in tree.body))
    for n, label, text, tree in parsed:
        if isinstance(tree, str):
            made.messages.append(tree)
            continue
        try:
            made.add(tree, text, n, label)
        except RecursionError:  # valid Python nested past the rule's reach (`x = ----…-1`, 600 deep): the grade stopped
            made.messages.append(f"{label} could not be read (an expression nested too deeply, RecursionError); "
                                 "nothing it defines could be graded")
    messages = made.messages[:MAX_CELL_NOTES]
    if len(made.messages) > MAX_CELL_NOTES:
        messages.append(f"{len(made.messages) - MAX_CELL_NOTES:,} more notes like these on other cells were left "
                        "out")
    if made.skipped:
        messages.append(f"top-level code that defines nothing (data loading, training runs, plots) was not run "
                        f"in cells {', '.join(_listed(made.skipped, MAX_CELL_NOTES))}")
    dropped = {k: v for k, v in made.dropped.items() if k not in made.known}
    body = "\n".join(made.parts)
    source = _module_source(body, made.futures, dropped)
    unset = sorted(set(dropped) & _read_globally(body) - set(supplied))
    if unset:
        groups: dict[str, list[str]] = {}
        for name in unset:
            groups.setdefault(dropped[name], []).append(name)
        messages.append("not defined when grading, yet read by the notebook's functions: "
                        + "; ".join(f"{', '.join(_listed(names, 10))}, as {why}"
                                    for why, names in list(groups.items())[:4])
                        + ("; …" if len(groups) > 4 else "") + ". A graded function must not use them: define "
                        "them at the top level of a cell without calls, or pass them as arguments")
    return Extracted(source, messages, made.defined)


def _module_source(body: str, futures: set[str], dropped: dict[str, str]) -> str:
    """The module the child imports: the ``from __future__`` imports, ``dropped`` (each name only a skipped
    statement assigns, with why), then ``body``; :class:`InputError` when it is past what the child takes
    (a wrapper and a reason per statement made 21.8 MB of 1.1 MB of imports, and 3.1 MB of 20,000 calls)."""
    size = len(body.encode("utf-8", errors="replace")) + sum(len(k) + len(v) + 8 for k, v in dropped.items())
    if size <= MAX_SOURCE_BYTES:
        head = [f"from __future__ import {', '.join(sorted(futures))}"] if futures else []
        head += ["# made by backproplab check from the notebook's code cells", "__backproplab_failed__ = {}",
                 f"__backproplab_dropped__ = {dropped!r}"]
        source = "\n".join(head + [body]) + "\n"
        size = len(source.encode("utf-8", errors="replace"))
        if size <= MAX_SOURCE_BYTES:
            return source
    raise InputError(f"the module made of the notebook's kept statements (with the reasons for the {len(dropped):,} "
                     f"names it leaves undefined) would be about {size:,} bytes; the checker grades at most "
                     f"{MAX_SOURCE_BYTES:,} (as for a .py submission)")

"""What the checker's own process does with a submission, in-process and without the child's limits:
reading a notebook (its size, cells, code and IDs), and what it writes from student-named things (the
gradebook, the records, the terminal). Each hostile input is refused with a clear message for that
submission alone, in bounded time and memory; the big inputs are made just past a limit lowered here."""

from __future__ import annotations

import ast
import json

import pytest

from backproplab.check import notebook
from backproplab.check.notebook import Cell, extract, read_cells
from backproplab.errors import InputError


def _notebook(path, cells: list[dict]) -> str:
    """A version 4.5 notebook of ``cells`` (dicts with ``source`` and maybe ``id``, ``cell_type``) at ``path``."""
    full = [{"cell_type": c.get("cell_type", "code"), "id": c.get("id", f"c{k}"), "metadata": {},
             "source": c["source"], **({"outputs": [], "execution_count": None}
                                       if c.get("cell_type", "code") == "code" else {})}
            for k, c in enumerate(cells)]
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": full}))
    return str(path)


def test_a_cells_text_is_split_once_not_once_per_statement(monkeypatch):
    """``ast.get_source_segment`` splits the whole cell again, a character at a time, for each statement it is
    asked about: a 100 KB notebook of 20,000 one-line calls in one cell took 487 s of the checker's CPU (and
    one cell of a single 5 MB line 470 s). The checker now splits a cell once; the segments are the same."""
    split = []
    original = ast.get_source_segment
    monkeypatch.setattr(ast, "get_source_segment",
                        lambda source, node, **kw: split.append(len(source)) or original(source, node, **kw))
    cell = "import os\n" + "f()\n" * 500 + "x = 1  # " + "A" * 100_000 + "\n@staticmethod\ndef g():\n    return 'é'\n"
    made = extract([Cell("a", "code", cell)])
    assert sum(split) <= 2 * len(cell), f"the cell's {len(cell):,} characters were split {sum(split):,} times over"
    assert "def g():" in made.source and made.defined == ["x", "g"]

    text = notebook._Text(notebook._clean("x = 'é' ; y = '日本'\n@dec(1,\n  2)\ndef f(a='ü'):\n"
                                          "    return '''a\n  b'''\nclass C: pass\n"))
    nodes = [n for n in ast.walk(ast.parse(text.text)) if hasattr(n, "lineno")]
    assert len(nodes) > 10
    for node in nodes:
        assert text.segment(node) == original(text.text, node), ast.dump(node)


def test_a_cell_id_cannot_add_top_level_code_to_the_module(tmp_path):
    """nbformat only logs a cell ID outside its rule; one holding a newline was written as it is into the
    comment over the cell's code in the module the child imports, so the line after the newline was top-level
    code that ran when the module was loaded, past the keep rule (a training run, a download)."""
    path = _notebook(tmp_path / "a.ipynb", [{"id": "x\nINJECTED = 'ran at import'\n",
                                             "source": "def f():\n    return 1"},
                                            {"id": "fine-id_2", "source": "y = 2"}])
    cells = read_cells(path)
    assert [c.id for c in cells] == [repr("x\nINJECTED = 'ran at import'\n"), "fine-id_2"]
    namespace: dict = {}
    exec(compile(extract(cells).source, "made", "exec", dont_inherit=True), namespace)
    assert "INJECTED" not in namespace and namespace["f"]() == 1 and namespace["y"] == 2
    long = read_cells(_notebook(tmp_path / "b.ipynb", [{"id": "é" * 1000, "source": "z = 3"}]))[0].id
    assert len(long) < 80 and long.endswith("…")


def test_too_many_cells_are_refused_before_nbformat_reads_them(tmp_path, monkeypatch):
    """nbformat's checks of a notebook of 180,000 empty cells (19 MB) took 27 s and 560 MB, and the structure
    note then listed every added ID (1.5 MB of text in the table and the record). The cells are counted first."""
    import nbformat

    monkeypatch.setattr(notebook, "MAX_CELLS", 10)
    monkeypatch.setattr(nbformat, "reads", lambda *a, **k: pytest.fail("nbformat read a notebook past the bound"))
    path = _notebook(tmp_path / "many.ipynb", [{"source": ""} for _ in range(11)])
    with pytest.raises(InputError, match=r"many.ipynb has 11 cells; the checker reads at most 10 "):
        read_cells(path)
    (tmp_path / "many.py").write_text("# %%\n#\n" * 10)  # a .py export: 10 cells, read
    assert len(read_cells(tmp_path / "many.py")) == 10
    (tmp_path / "many.py").write_text("# %%\n#\n" * 11)
    with pytest.raises(InputError, match=r"many.py has over 10 cells; the checker reads at most 10 "):
        read_cells(tmp_path / "many.py")


def test_outputs_and_metadata_are_not_handed_to_nbformat(tmp_path, monkeypatch):
    """nbformat converts and checks every output and metadata key, which the checker never reads: 330,000 empty
    outputs in one cell (19 MB) took 12 s and 670 MB, a million metadata keys 6 s and 820 MB. They are left
    out before nbformat reads the notebook; the cells read are the same."""
    import nbformat

    from backproplab.check.templates import expected_ids

    handed = []
    reads = nbformat.reads
    monkeypatch.setattr(nbformat, "reads", lambda text, *a, **k: handed.append(text) or reads(text, *a, **k))
    path = tmp_path / "big.ipynb"
    _notebook(path, [{"source": "x = 1"}, {"cell_type": "markdown", "source": "# Task 2"}])
    nb = json.loads(path.read_text())
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "out"}] * 1000
    nb["cells"][1]["metadata"] = {f"k{i}": [1, 2] for i in range(1000)}
    nb["metadata"] = {"kernelspec": {"name": "python3", "display_name": "Python 3"}, "big": list(range(1000))}
    path.write_text(json.dumps(nb))
    cells = read_cells(path)
    assert [(c.id, c.kind, c.source) for c in cells] == [("c0", "code", "x = 1"), ("c1", "markdown", "# Task 2")]
    assert len(handed) == 1 and len(handed[0]) < 1000, len(handed[0])
    assert all(notebook.shown_id(i) == i for a in ("jku-a7", "radboud-a1") for i in expected_ids(a))


def test_a_version_3_notebooks_outputs_and_metadata_are_not_handed_to_nbformat(tmp_path, monkeypatch):
    """A version 3 notebook keeps its cells in worksheets, which were handed to nbformat whole: 100,000 empty
    outputs (300 KB) took 86 s and 3.6 GB to convert and check. They are left out as in version 4."""
    import nbformat

    handed = []
    reads = nbformat.reads
    monkeypatch.setattr(nbformat, "reads", lambda text, *a, **k: handed.append(text) or reads(text, *a, **k))
    code = {"cell_type": "code", "input": "x = 1", "language": "python", "metadata": {f"k{i}": 1 for i in range(500)},
            "outputs": [{"output_type": "stream", "stream": "stdout", "text": "out"}] * 1000}
    nb = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "v3", "big": list(range(1000))},
          "worksheets": [{"metadata": {}, "cells": [code, {"cell_type": "markdown", "source": "# Task 2",
                                                           "metadata": {}}]}]}
    path = tmp_path / "v3.ipynb"
    path.write_text(json.dumps(nb))
    cells = read_cells(path)
    assert [(c.kind, c.source) for c in cells] == [("code", "x = 1"), ("markdown", "# Task 2")]
    assert len(handed) == 1 and len(handed[0]) < 1000, len(handed[0])


def test_a_notebook_past_the_code_or_statement_bounds_is_refused_clearly(monkeypatch):
    """1.1 MB of imports in one cell (100,000 statements) took 2 GB of the checker's memory: the code cells'
    characters and top-level statements are bounded, and a notebook past either is refused, saying which."""
    monkeypatch.setattr(notebook, "MAX_CODE_CHARS", 100)
    with pytest.raises(InputError, match="code cells hold 101 characters; the checker reads at most 100"):
        extract([Cell("a", "code", "x = 1\n" * 10), Cell("b", "markdown", "text " * 100),
                 Cell("c", "code", "y" * 41)])
    monkeypatch.setattr(notebook, "MAX_STATEMENTS", 5)
    extract([Cell("a", "code", "import os\n" * 3), Cell("b", "code", "x = 1\ny = 2")])  # 5: read
    with pytest.raises(InputError, match=r"over 5 top-level statements \(past cell 2 \(id b\)\)"):
        extract([Cell("a", "code", "import os\n" * 3), Cell("b", "code", "x = 1\ny = 2\nz = 3")])


def test_the_module_made_stays_small_and_is_refused_when_it_would_not(monkeypatch):
    """``n0, …, n4999 = [u0, …, u4999]`` (a 68 KB notebook) dropped 5,000 names, each with a reason listing all
    5,000 unknown names: a module of 170 MB and 1.2 GB of the checker's memory (quadratic: 20,000 would take
    the machine's). A reason names five; a module past what the child takes is refused, naming why, instead of
    failing later on a temporary file's name."""
    k = 2000
    cell = ", ".join(f"n{i}" for i in range(k)) + " = [" + ", ".join(f"u{i}" for i in range(k)) + "]"
    made = extract([Cell("a", "code", cell)])
    assert len(made.source) < 200 * k, len(made.source)
    assert "its value uses u0, u1, u2, u3, u4 and 1995 more, which no statement kept" in made.source
    monkeypatch.setattr(notebook, "MAX_SOURCE_BYTES", 1000)
    with pytest.raises(InputError, match=r"kept statements \(with the reasons for the 2,000 names it leaves "
                                         r"undefined\) would be about [0-9,]+ bytes; the checker grades at most 1,000"):
        extract([Cell("a", "code", cell)])


def test_notes_on_many_cells_are_counted_not_listed(tmp_path, monkeypatch):
    """A notebook of 180,000 cells each with a syntax error had 180,000 notes (21 MB of text) for the table,
    the record and Gradescope's output; the notes and the ID lists stop at 20, the rest counted."""
    made = extract([Cell(f"i{k}", "code", "(" if k % 2 else "f()") for k in range(60)])
    assert sum("syntax error" in m for m in made.messages) == 20
    assert "10 more notes like these on other cells were left out" in made.messages
    assert any(m.endswith("was not run in cells 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, "
                          "37, 39, 10 more") for m in made.messages), made.messages
    wide = extract([Cell("a", "code", "def f(" + ", ".join(f"a{i}=u{i}" for i in range(1000)) + "): pass")])
    assert "define `u0`, `u1`, `u2`, `u3`, `u4`, 995 more in a cell" in wide.messages[0]
    assert max(len(m) for m in wide.messages) < 1000
    found = notebook.structure_messages([Cell(f"new{k}", "code", "") for k in range(30)], ["a", "b"], False)
    assert "(IDs new0, new1," in found[1] and "new19, 10 more)" in found[1] and "new29" not in found[1]


def test_a_broken_notebook_says_so_briefly(tmp_path):
    """Invalid UTF-8, JSON nested 100,000 deep, and a non-JSON file: one short error naming the notebook."""
    cases = {"utf8.ipynb": b'{"cells": ["\xff\xfe"]}', "deep.ipynb": b"[" * 100_000 + b"]" * 100_000,
             "text.ipynb": b"x" * 100_000}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=f"notebook .*{name} could not be read as a Jupyter notebook") as err:
            read_cells(tmp_path / name)
        assert len(str(err.value)) < 400 + len(str(tmp_path)), name


def test_what_the_compiler_warns_about_a_cell_stays_out_of_the_checkers_terminal():
    """``x is 1`` or ``assert (x, "why")`` in a student's function made the checker's compile print
    '<cell>:3: SyntaxWarning: "is" with a literal' on the instructor's terminal, one line for each, for each
    student of a batch, naming no one. They are the student's, and are left out; other warnings still show."""
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        made = extract([Cell("a", "code", "def f(x):\n    assert (x, 'why')\n    return x is 1\n" * 3)])
        warnings.warn_explicit("another", SyntaxWarning, "elsewhere.py", 1)
    assert made.defined == ["f"] * 3
    assert [str(w.message) for w in seen] == ["another"]


NASTY = ["=HYPERLINK(\"http://evil.example\",\"grades\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR",
         "bob", "a" * 250, "Alice", "alice", "CON", "../../etc/passwd", "caf\udce9", "张三", "李四", "x\x1b[2Jred"]


def _results(students: list[str]):
    from backproplab.check.result import ItemResult, SubmissionResult

    return [SubmissionResult("jku-a7", s, f"/subs/{s}", [ItemResult("3.3", "answers", 10, error="not graded: x")])
            for s in students]


def test_the_gradebook_holds_no_formula_and_is_always_written(tmp_path):
    """A student folder named ``=HYPERLINK(…)`` (or ``+cmd…``, ``-2+3``, ``@SUM(…)``) was a live formula once
    the gradebook was opened in a spreadsheet; one not in UTF-8 (``caf\\xe9``, as a zip made on Windows unpacks)
    stopped the batch at the gradebook ('utf-8' codec can't encode '\\udce9'): nothing was written."""
    import csv

    from backproplab.check.outputs import write_batch

    write_batch(tmp_path / "out", _results(NASTY))
    rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open(encoding="utf-8")))
    students = [row["student"] for row in rows]
    assert students[:6] == ["'=HYPERLINK(\"http://evil.example\",\"grades\")", "'+cmd|' /C calc'!A0", "'-2+3",
                            "'@SUM(A1:A9)", "'\\tTAB", "'\\rCR"]
    assert students[6:] == ["bob", "a" * 250, "Alice", "alice", "CON", "../../etc/passwd", "caf\\udce9", "张三",
                            "李四", "x\\x1b[2Jred"]
    assert [row["path"] for row in rows][:2] == ["/subs/=HYPERLINK(\"http://evil.example\",\"grades\")",
                                                 "/subs/+cmd|' /C calc'!A0"]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())


def test_every_student_has_a_record_of_their_own(tmp_path):
    """A 250-character folder name made a record name the file system refused (File name too long) after the
    whole batch was graded: the later records were never written. ``Alice`` and ``alice`` are one file where
    case does not count (macOS, Windows); ``CON`` is a device there. Students whose names have no letter in A-Z
    got ``student``, ``student_``, ``student__``, …"""
    from backproplab.check.outputs import MAX_RECORD_NAME, record_names, write_batch

    paths = write_batch(tmp_path / "out", _results(NASTY))
    records = [p for p in paths if p.parent.name == "records"]
    assert len(records) == len(NASTY) and all(p.parent == tmp_path / "out" / "records" for p in records)
    names = [p.stem for p in records]
    assert len({n.casefold() for n in names}) == len(NASTY)
    assert all(len(n) <= MAX_RECORD_NAME for n in names)
    assert names[7].startswith("a" * 80) and names[8:11] == ["Alice", "alice-2", "CON_"]
    assert names[13:15] == ["student", "student-2"] and names[11] == "etc_passwd"
    assert [json.loads(p.read_text())["student"] for p in records] == NASTY
    assert record_names(["x"] * 300)[-1] == "x-300"


def test_what_the_terminal_shows_of_a_student_stays_on_their_line(tmp_path, capsys, monkeypatch):
    """The batch summary and an error line printed student folder and file names as they were: a newline in
    a name made a line of its own (``eve   50 ∕ 50   lost: -``), a name not in UTF-8 stopped the batch before
    its gradebook where the terminal's encoding is strict, and ``check jku-a7 alice/`` with a notebook named
    ``\\x1b]2;…\\x07\\x1b[2J….ipynb`` set the window's title and cleared the screen on its error line."""
    import os

    from backproplab.check import cli as check_cli
    from backproplab.cli import main

    names = ["eve\n                           50 ∕ 50   lost: -", "caf\udce9", "x\x1b[2Jy"]  # no "/" in a name
    for name in names:
        os.makedirs(os.fsencode(tmp_path / "batch" / name))
        (tmp_path / "batch" / name / "a.ipynb").write_text("{}")
    monkeypatch.setattr(check_cli, "check_batch", lambda assignment, paths, **kw: _results([p.name for p in paths]))
    assert main(["check", "jku-a7", str(tmp_path / "batch"), "--out", str(tmp_path / "out")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and lines[0].startswith("caf\\udce9 ") and lines[2].startswith("eve\\n      ")
    assert lines[4].startswith("x\\x1b[2Jy ") and not any("\x1b" in line or "\udce9" in line for line in lines)

    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "x\x1b]2;TITLE\x07\x1b[2J\n.ipynb").write_text("{not json")
    assert main(["check", "jku-a7", str(tmp_path / "one")]) == 1  # graded 0, with why
    out = capsys.readouterr().out
    assert "\x1b" not in out and "x\\x1b]2;TITLE\\x07\\x1b[2J\\n.ipynb could not be read" in out


def test_a_submission_refused_whole_still_gets_a_gradescope_results_json(tmp_path, monkeypatch, capsys):
    """A notebook past a bound was one error line and exit 2 without results.json: Gradescope then shows the
    student only "the autograder failed". The results.json now scores every item 0 and says why, and the
    terminal shows the same grade (exit 1, as for any submission short of full marks)."""
    from backproplab.check.api import parts
    from backproplab.cli import main

    monkeypatch.setattr(notebook, "MAX_CELLS", 10)
    sub = tmp_path / "submission"
    sub.mkdir()
    _notebook(sub / "radboud_a1.ipynb", [{"source": ""} for _ in range(11)])
    results = tmp_path / "results" / "results.json"
    results.parent.mkdir()
    assert main(["check", "radboud-a1", str(sub), "--gradescope", str(results)]) == 1
    assert "radboud_a1.ipynb has 11 cells; the checker reads at most 10" in capsys.readouterr().out
    doc = json.loads(results.read_text(encoding="utf-8"))
    items = [it for a in parts("radboud-a1") for it in a.items]
    assert doc["score"] == 0 and doc["max_score"] == sum(it.points for it in items) > 0
    assert [t["number"] for t in doc["tests"]] == [it.id for it in items]
    assert all(t["score"] == 0 and "has 11 cells" in t["output"] for t in doc["tests"])
    assert doc["output"].startswith("not graded: ") and "has 11 cells" in doc["output"]


@pytest.mark.parametrize("make", ["symbolic link", "over the size bound"])
def test_a_submission_graded_alone_or_in_a_batch_is_refused_alike(tmp_path, monkeypatch, capsys, make):
    """A symbolic link scored 0 / 18 (exit 1) and repeated its reason under every item; a file over the
    size bound was one error line and exit 2, as if the command were wrong. Both now score 0 with the
    reason said once, alone as in a batch; an unknown --item is the command's mistake (exit 2)."""
    from backproplab.check import runner
    from backproplab.cli import main

    monkeypatch.setattr(runner, "MAX_SOURCE_BYTES", 100)
    for student in ("alice", "bob"):
        (tmp_path / student).mkdir()
    (tmp_path / "elsewhere.py").write_text("x = 1\n")
    if make == "symbolic link":
        (tmp_path / "alice" / "numpy_ann.py").symlink_to(tmp_path / "elsewhere.py")
    else:
        (tmp_path / "alice" / "numpy_ann.py").write_text("x = 1\n" * 40)
    (tmp_path / "bob" / "numpy_ann.py").write_text("x = 1\n")
    reason = "is a symbolic link" if make == "symbolic link" else "is over 100 bytes"

    assert main(["check", "purdue-numpy-ann", str(tmp_path / "alice"), "--json", str(tmp_path / "a.json")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("purdue-numpy-ann — alice: 0 / 18\n") and "[1.1]" not in out  # no block per item
    rows = out.splitlines()[2:]
    assert len(rows) == 11 and all("not graded" in row for row in rows[:10]) and reason in rows[10]
    record = json.loads((tmp_path / "a.json").read_text())
    assert record["score"] == 0 and all(reason in it["error"] for it in record["items"])

    assert main(["check", "purdue-numpy-ann", str(tmp_path / "alice"), str(tmp_path / "bob"),
                 "--out", str(tmp_path / "batch")]) == 1
    alice = capsys.readouterr().out.splitlines()[:2]
    assert alice[0].startswith("alice ") and "0 / 18" in alice[0] and "not graded: " in alice[1]

    assert main(["check", "purdue-numpy-ann", str(tmp_path / "alice"), str(tmp_path / "bob"), "--item", "9"]) == 2
    assert "unknown ['9']" in capsys.readouterr().err

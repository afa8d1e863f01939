"""A notebook is graded whatever its name: given directly, or as the one notebook in a student's folder
(the canonical name first when there are several; several and none canonical is reported, not
guessed), in batches with odd folder and file names too."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from backproplab.check import check, submissions
from backproplab.check.jku import ASSIGNMENT as JKU
from backproplab.check.outputs import safe_name
from backproplab.check.radboud import ASSIGNMENT as RADBOUD
from backproplab.errors import InputError

NOTEBOOK = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
EXPORT = "#!/usr/bin/env python\n# coding: utf-8\n\n# In[ ]:\n\n\na_ = True\n"


def _write(path, names: dict[str, str]):
    path.mkdir(parents=True, exist_ok=True)
    for name, text in names.items():
        (path / name).write_text(text)
    return path


def test_the_one_notebook_in_a_folder_whatever_its_name(tmp_path):
    one = _write(tmp_path / "a", {"A7_smith.ipynb": NOTEBOOK, "notes.txt": "", "helpers.py": "x = 1\n"})
    assert JKU.locate(one).path == one / "A7_smith.ipynb"
    spaced = _write(tmp_path / "b", {"Assignment 7 – Zoë.IPYNB": NOTEBOOK})
    assert JKU.locate(spaced).path == spaced / "Assignment 7 – Zoë.IPYNB"
    both = _write(tmp_path / "c", {"A7.ipynb": NOTEBOOK, "A7.py": EXPORT})  # the notebook, not its export
    assert JKU.locate(both).path == both / "A7.ipynb"
    export = _write(tmp_path / "d", {"my export.py": EXPORT, "helpers.py": "def f():\n    pass\n"})
    assert JKU.locate(export).path == export / "my export.py"  # helpers.py has no cell markers


def test_the_canonical_name_wins_and_copies_are_not_candidates(tmp_path):
    many = _write(tmp_path / "a", {"draft.ipynb": NOTEBOOK, "jku_a7.ipynb": NOTEBOOK, "final.ipynb": NOTEBOOK})
    assert JKU.locate(many).path == many / "jku_a7.ipynb"
    alt = _write(tmp_path / "b", {"draft.ipynb": NOTEBOOK, "jku_a7.py": EXPORT})
    assert JKU.locate(alt).path == alt / "jku_a7.py"
    copies = _write(tmp_path / "c", {"A7.ipynb": NOTEBOOK, "._A7.ipynb": "mac", "A7-checkpoint.ipynb": NOTEBOOK})
    _write(copies / ".ipynb_checkpoints", {"A7-checkpoint.ipynb": NOTEBOOK})
    assert JKU.locate(copies).path == copies / "A7.ipynb"
    handout = _write(tmp_path / "d", {"radboud_a1.ipynb": NOTEBOOK, "numpy_ann.py": "x = 1\n"})
    assert check("jku-a7", handout).messages[0].startswith(  # another assignment's file is not ours
        f"{handout} holds numpy_ann.py and radboud_a1.ipynb, not jku_a7.ipynb (the jku-a7 notebook): not graded")
    assert RADBOUD.locate(_write(handout, {"A1.ipynb": NOTEBOOK})).path == handout / "radboud_a1.ipynb"


def test_several_notebooks_none_canonical_are_reported_not_guessed(tmp_path):
    two = _write(tmp_path / "carol", {"A7 draft.ipynb": NOTEBOOK, "A7 final.ipynb": NOTEBOOK})
    found = JKU.locate(two)
    assert found.path is None and found.holds
    assert found.problem.startswith(f"2 notebooks in {two} ('A7 draft.ipynb', 'A7 final.ipynb') and none is "
                                    "named jku_a7.ipynb: not graded")
    result = check("jku-a7", two)  # no child process is started for it
    assert result.score == 0 and result.student == "carol" and result.messages == [found.problem]
    assert all(it.error == "not graded: 2 notebooks in the folder and none is named jku_a7.ipynb"
               for it in result.items)
    empty = _write(tmp_path / "dan", {"helpers.py": "x = 1\n"})
    assert "no notebook in" in JKU.locate(empty).problem and not JKU.locate(empty).holds


def test_what_a_path_means_with_any_names(tmp_path):
    root = tmp_path / "class"
    zoe = _write(root / "Zoë Müller", {"Assignment 7.ipynb": NOTEBOOK})
    bob = _write(root / "bob smith", {"A7_bob.py": EXPORT})
    carol = _write(root / "carol", {"a.ipynb": NOTEBOOK, "b.ipynb": NOTEBOOK})
    _write(root / ".ipynb_checkpoints", {"x-checkpoint.ipynb": NOTEBOOK})
    _write(root / "__MACOSX" / "alice", {"._A7.ipynb": NOTEBOOK, "A7.ipynb": NOTEBOOK})
    _write(root / "notes", {"todo.txt": ""})
    # a folder with nothing to grade is a student too (0, and why): it was left out of the gradebook silently
    assert submissions("jku-a7", [root]) == [("Zoë Müller", zoe), ("bob smith", bob), ("carol", carol),
                                             ("notes", root / "notes")]
    assert submissions("jku-a7", [zoe]) == [("Zoë Müller", zoe)]  # a folder holding a notebook is one student
    flat = _write(tmp_path / "downloads", {"smith_A7.ipynb": NOTEBOOK, "jones_A7.ipynb": NOTEBOOK})
    files = sorted(flat.iterdir())
    assert submissions("jku-a7", files) == [("jones_A7", files[0]), ("smith_A7", files[1])]
    assert submissions("jku-a7", [files[0]]) == [("downloads", files[0])]
    with pytest.raises(InputError, match=r"holds no notebook \(.ipynb of any name, or its .py export\)"):
        submissions("jku-a7", [root / "notes"])
    (tmp_path / "A7.pdf").write_text("%PDF")
    with pytest.raises(InputError, match="grades a notebook, .ipynb \\(any name\\) or its .py export; got a .pdf"):
        check("jku-a7", tmp_path / "A7.pdf")
    (tmp_path / "subs.zip").write_bytes(b"PK\x03\x04\x00")  # was read as Python: 18 rows of null-byte errors
    with pytest.raises(InputError, match=r"grades a Python file \(numpy_ann.py\); got a .zip \(unpack an archive"):
        check("purdue-numpy-ann", tmp_path / "subs.zip")


def test_a_folder_of_another_assignments_notebook_says_what_it_holds(tmp_path):
    """A student folder holding jku_a7.ipynb, graded as radboud-a1, was said to hold no notebook: it holds one,
    of another assignment, and the feedback names it and the notebook expected."""
    batch = tmp_path / "batch"
    alice = _write(batch / "alice", {"A1_alice.ipynb": NOTEBOOK})
    bob = _write(batch / "bob", {"jku_a7.ipynb": NOTEBOOK, "notes.txt": ""})
    assert submissions("radboud-a1", [batch]) == [("alice", alice), ("bob", bob)]
    held = "holds jku_a7.ipynb, not radboud_a1.ipynb (the radboud-a1 notebook)"
    result = check("radboud-a1", bob)  # no child process is started for it
    assert result.score == 0 and result.messages == [
        f"{bob} {held}: not graded, as another assignment's file is never graded as this one's; check it as its "
        "own assignment"]
    assert {it.error for it in result.items} == {f"not graded: the folder {held}"}
    with pytest.raises(InputError) as one:
        submissions("radboud-a1", [bob])
    assert str(one.value) == (f"PATH {bob} has nothing to grade as radboud-a1: it {held} (another assignment's "
                              "file is never graded as this one's: check it as its own assignment)")
    shutil.rmtree(alice)
    _write(batch / "carol", {"jku_a7.py": EXPORT})
    with pytest.raises(InputError) as every:  # the whole class handed in jku-a7: the batch was 'holds no notebook'
        submissions("radboud-a1", [batch])
    assert str(every.value) == (
        f"PATH {batch} has nothing to grade as radboud-a1: bob {held}; carol holds jku_a7.py, not radboud_a1.ipynb "
        "(the radboud-a1 notebook) (another assignment's file is never graded as this one's: check it as its own "
        "assignment)")


def test_a_file_given_by_its_path_under_another_assignments_name_is_not_graded(tmp_path):
    """``check radboud-a1 jku_a7.ipynb`` graded the JKU notebook item by item ("defines no make_layer", 0/30),
    though a folder holding it was refused: the file alone is refused alike, naming the command to use."""
    jku = _write(tmp_path / "bob", {"jku_a7.ipynb": NOTEBOOK}) / "jku_a7.ipynb"
    said = (f"{jku}: jku_a7.ipynb is jku-a7's file name, not radboud-a1's (radboud_a1.ipynb); not graded, as "
            f"another assignment's file is never graded as this one's: check it as jku-a7 (backproplab check jku-a7 "
            f"{jku})")
    with pytest.raises(InputError) as one:
        submissions("radboud-a1", [jku])
    assert str(one.value) == f"PATH {said}"
    result = check("radboud-a1", jku)  # the API grades nothing of it either
    assert result.score == 0 and result.messages == [said]
    assert {it.error for it in result.items} == {"not graded: jku_a7.ipynb is jku-a7's file name, not radboud-a1's "
                                                 "(radboud_a1.ipynb)"}
    mine = _write(tmp_path / "alice", {"A1.ipynb": NOTEBOOK}) / "A1.ipynb"
    assert submissions("radboud-a1", [jku, mine]) == [("bob", jku), ("alice", mine)]  # a batch grades it 0
    purdue = _write(tmp_path / "carol", {"pytorch_ann.py": "x = 1\n"}) / "pytorch_ann.py"
    with pytest.raises(InputError, match=r"pytorch_ann.py is purdue-pytorch-ann's file name, not "
                                         r"purdue-numpy-ann's \(numpy_ann.py\)"):
        submissions("purdue-numpy-ann", [purdue])
    assert submissions("jku-a7", [jku]) == [("bob", jku)]  # its own assignment takes it


@pytest.mark.slow
def test_a_batch_with_odd_names_and_a_folder_of_two_notebooks(tmp_path, capsys):
    """Grades radboud-a1's sigmoid and relu items (1.3a, 1.3b) of five students with --jobs 2."""
    from backproplab.check.notebook import read_cells
    from backproplab.check.templates import init
    from backproplab.cli import main

    init("radboud-a1", tmp_path / "sol", solution=True)
    init("radboud-a1", tmp_path / "start")
    sol, start = tmp_path / "sol" / "radboud_a1.ipynb", tmp_path / "start" / "radboud_a1.ipynb"
    subs = tmp_path / "submissions"
    shutil.copy(sol, _write(subs / "Zoë Müller", {}) / "Assignment 1 (final).ipynb")
    export = "\n\n".join(f"# %%\n{c.source}" for c in read_cells(sol) if c.kind == "code")
    _write(subs / "bob smith", {"A1_bob.py": export, "helpers.py": "x = 1\n"})
    shutil.copy(sol, _write(subs / "carol", {}) / "draft.ipynb")
    shutil.copy(start, subs / "carol" / "final.ipynb")
    shutil.copy(sol, _write(subs / "dave", {}) / "radboud_a1.ipynb")
    shutil.copy(start, subs / "dave" / "scratch.ipynb")  # the canonical name wins
    shutil.copy(start, _write(subs / "eve", {}) / "A1.ipynb")
    out = tmp_path / "results"
    code = main(["check", "radboud-a1", str(subs), "--jobs", "2", "--item", "1.3a", "--item", "1.3b",
                 "--out", str(out)])
    assert code == 1
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open(encoding="utf-8"))}
    assert {s: rows[s]["total"] for s in rows} == {"Zoë Müller": "2", "bob smith": "2", "carol": "0",
                                                   "dave": "2", "eve": "0"}
    carol = json.loads((out / "records" / f"{safe_name('carol')}.json").read_text())
    assert "2 notebooks in" in carol["messages"][0] and "'draft.ipynb', 'final.ipynb'" in carol["messages"][0]
    zoe = json.loads((out / "records" / f"{safe_name('Zoë Müller')}.json").read_text())
    assert zoe["student"] == "Zoë Müller" and zoe["path"].endswith("Assignment 1 (final).ipynb")
    eve = json.loads((out / "records" / "eve.json").read_text())
    assert "not implemented" in eve["items"][0]["error"]
    printed = capsys.readouterr().out
    assert printed.count("lost:") == 5 and "2 notebooks in" in printed  # and why carol was not graded


@pytest.mark.parametrize("marker, is_one", [("# %%", True), ("# %% [markdown]", True), ("# In[ ]:", True),
                                            ("# In[12]:", True), ("#%%", False), ("# In[x]:", False)])
def test_finding_an_export_and_splitting_it_use_one_marker(tmp_path, marker, is_one):
    """The folder rule (``locate``) and the reader (``notebook.read_cells``) share one cell-marker rule."""
    from backproplab.check import locate, notebook

    assert locate._EXPORT_MARKER.pattern == notebook.EXPORT_MARKER.encode("ascii")
    path = tmp_path / "a.py"
    path.write_text(f"a_ = 1\n{marker}\nb_ = 2\n")
    assert locate.is_notebook_file(path) is is_one
    assert len(notebook.read_cells(path)) == (2 if is_one else 1)


def test_a_stray_notebook_at_the_top_of_a_batch_does_not_hide_the_students(tmp_path, capsys):
    """The template left next to the student folders used to make the batch folder one submission."""
    from backproplab.check.api import passed_over

    batch = tmp_path / "batch"
    alice = _write(batch / "alice", {"A7_alice.ipynb": NOTEBOOK})
    bob = _write(batch / "bob", {"A7_bob.ipynb": NOTEBOOK})
    assert submissions("jku-a7", [batch]) == [("alice", alice), ("bob", bob)]
    assert capsys.readouterr().err == ""
    _write(batch, {"jku_a7_template.ipynb": NOTEBOOK, "notes.ipynb": NOTEBOOK})
    assert submissions("jku-a7", [batch]) == [("alice", alice), ("bob", bob)]
    assert capsys.readouterr().err == ""  # said by whoever grades them (passed_over), not on finding them
    assert passed_over("jku-a7", [batch]) == (
        f"{batch}: grading its 2 student folder(s); not graded, at its top: jku_a7_template.ipynb, notes.ipynb "
        f"(no student's folder; a notebook named jku_a7.ipynb there would make {batch} one submission)")
    assert passed_over("jku-a7", [alice]) == passed_over("jku-a7", [alice, bob]) == ""
    # the handed-out name at the top: the folder is one submission (its subfolders are the student's own)
    _write(batch, {"jku_a7.ipynb": NOTEBOOK})
    assert submissions("jku-a7", [batch]) == [("batch", batch)]
    # one student's folder with a notebook of any name and no notebooks below stays one submission
    assert submissions("jku-a7", [alice]) == [("alice", alice)] and capsys.readouterr().err == ""


def test_the_loose_notebook_line_is_said_only_when_the_batch_is_graded(tmp_path, capsys, monkeypatch):
    """'batch: graded its 2 student folder(s); not graded, at its top: …' came before the outputs were checked,
    also when the run was then refused (nothing graded at all); now it comes once nothing can refuse it."""
    from backproplab.check import cli as check_cli
    from backproplab.check.api import not_graded
    from backproplab.cli import main

    batch = tmp_path / "batch"
    for student in ("alice", "bob"):
        _write(batch / student, {f"A7_{student}.ipynb": NOTEBOOK})
    _write(batch, {"template.ipynb": NOTEBOOK})
    graded = []

    def fake_batch(assignment, paths, **kwargs):
        graded.extend(paths)
        return [not_graded(assignment, p.name, p, "not graded: test", items=kwargs["items"]) for p in paths]

    monkeypatch.setattr(check_cli, "check_batch", fake_batch)
    (tmp_path / "afile").write_text("x")
    assert main(["check", "jku-a7", str(batch), "--item", "3.2a", "--out", str(tmp_path / "afile")]) == 2
    err = capsys.readouterr().err
    assert "out must be a directory" in err and "student folder(s)" not in err and graded == []
    assert main(["check", "jku-a7", str(batch), "--item", "3.2a", "--out", str(tmp_path / "grades")]) == 1
    err = capsys.readouterr().err
    assert f"{batch}: grading its 2 student folder(s); not graded, at its top: template.ipynb" in err
    assert graded == [batch / "alice", batch / "bob"]
